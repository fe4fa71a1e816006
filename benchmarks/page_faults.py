"""Page faults: a training step with the C library's default allocator, and with freed memory kept.

A step allocates its activations afresh and frees them at its end. glibc's ``malloc`` hands
large freed blocks back to the kernel, and the next step's arrays then start on fresh pages,
each zero-filled by the kernel on its first write (a minor page fault).
:func:`minigpt.allocator.keep_freed_memory` keeps them with the process instead. The setting
lasts for the whole process, so each way runs in a fresh process of its own, the two taking
turns; each reports its median step time and its minor page faults per step
(``getrusage``), and the table their ratio.

Run ``python -m benchmarks.page_faults`` (``--help`` for the options).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigpt.allocator import keep_freed_memory

from ._common import (
    ALL_SHAPES,
    MS_PER_S,
    SHAPES,
    SMOKE,
    Shape,
    base_parser,
    fmt,
    machine_info,
    markdown_table,
    per_round,
    run_worker,
    thread_label,
    threads,
    write_report,
)
from .train_step import minigpt_phases

MODES = ("default", "kept")
REPEATS = {"tiny": 30, "small": 10, "medium": 4}
ROUNDS = 2
SMOKE_REPEATS = 2


def worker(mode: str, shape: Shape, n: int, repeats: int) -> dict[str, list[float]]:
    """In this process: time ``repeats`` training steps (after two untimed ones) with the
    allocator as ``mode`` says; returns ``seconds`` and ``faults`` per step."""
    if mode == "kept":
        keep_freed_memory()
    with threads(n):
        step = minigpt_phases(shape)["step"]
        step()
        step()
        seconds, faults = [], []
        for _ in range(repeats):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            t0 = time.perf_counter()
            step()
            seconds.append(time.perf_counter() - t0)
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return {"seconds": seconds, "faults": faults}


def run(shapes: Sequence[Shape], thread_counts: Sequence[int], repeats: dict[str, int],
        rounds: int = ROUNDS) -> list[dict[str, Any]]:
    """One dict per (shape, threads): ``<mode>_ms`` (median step) and ``<mode>_faults``
    (median minor faults per step) for both modes, and ``speedup`` = default / kept."""
    rows = []
    for shape in shapes:
        calls = per_round(repeats[shape.name], rounds)
        for n in thread_counts:
            got: dict[str, dict[str, list[float]]] = {m: {"seconds": [], "faults": []}
                                                      for m in MODES}
            for _ in range(rounds):
                for mode in MODES:
                    got_now = run_worker("page_faults", mode, "--shapes", shape.name,
                                         "--threads", str(n), "--repeats", str(calls))
                    for key, values in got_now.items():
                        got[mode][key] += values
            row: dict[str, Any] = {"shape": shape.name, "threads": thread_label(n)}
            for mode in MODES:
                row[f"{mode}_ms"] = float(np.median(got[mode]["seconds"])) * MS_PER_S
                row[f"{mode}_faults"] = float(np.median(got[mode]["faults"]))
            row["speedup"] = row["default_ms"] / row["kept_ms"]
            rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parse the options, run, print the table and write ``page_faults.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", choices=list(ALL_SHAPES), default=list(SHAPES))
    parser.add_argument("--repeats", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=MODES, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(args.worker, ALL_SHAPES[args.shapes[0]], args.threads[0],
                                args.repeats)))
        return []
    shapes = [SMOKE] if args.smoke else [SHAPES[s] for s in args.shapes]
    repeats = {s.name: SMOKE_REPEATS if args.smoke else REPEATS[s.name] for s in shapes}
    rows = run(shapes, args.threads, repeats)
    table = markdown_table(
        ["shape", "threads", "default ms", "default faults / step", "kept ms",
         "kept faults / step", "speedup"],
        [[r["shape"], r["threads"], fmt(r["default_ms"]), fmt(r["default_faults"], 0),
          fmt(r["kept_ms"]), fmt(r["kept_faults"], 0), fmt(r["speedup"])] for r in rows])
    blocks = ["minigpt's training step (forward, backward, AdamW), float32, each allocator "
              "setting in fresh processes taking turns; medians. *default*: glibc as it "
              "comes; *kept*: after `minigpt.allocator.keep_freed_memory()`.",
              "\n".join(f"- {line}" for line in machine_info()),
              table]
    print("\n\n".join(blocks[1:]))
    path = write_report(args.out, "page_faults", "Page faults: default allocator vs freed "
                        "memory kept", blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
