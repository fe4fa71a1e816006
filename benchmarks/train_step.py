"""Training-step time: minigpt against PyTorch eager on the same weights, shapes and threads.

For each shape (tiny, small, medium) and thread count, three phases are timed:

* ``forward``: logits for a batch, no gradient kept (``GPT.forward`` / ``torch.no_grad``);
* ``forward+backward``: the loss and every parameter's gradient;
* ``step``: forward, backward and an AdamW update, i.e. one training step, as
  :func:`minigpt.train.train` takes it: with more than one thread, the gradients come from
  :func:`minigpt.train.data_parallel_grads` where :func:`minigpt.train.data_parallel_pays`
  says so (the table's ``step`` rows name which), from ``loss_and_grads`` otherwise.

Each library runs in a process of its own, and the processes take turns (minigpt, torch,
minigpt, torch), so that a busy machine slows both alike. Sharing one process would make
each library pay for the other: after every call, OpenBLAS's and PyTorch's worker threads
keep spinning for a while and take the cores the other library's next call needs, and one
library's memory use changes when the C library hands the other's freed memory back to the
kernel. Every process calls :func:`minigpt.allocator.keep_freed_memory` first, as the
``minigpt`` command does (PyTorch's step time does not change with it).

The ratio minigpt / torch (below 1: minigpt is faster) is taken between medians of the
same run. Without torch, minigpt is timed alone.

Run ``python -m benchmarks.train_step`` (``--help`` for the options).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigpt import GPT
from minigpt.allocator import keep_freed_memory
from minigpt.optim import AdamW
from minigpt.train import data_parallel_grads, data_parallel_pays

from ._common import (
    ALL_SHAPES,
    LEARNING_RATE,
    SHAPES,
    SMOKE,
    WEIGHT_DECAY,
    Shape,
    TorchGPT,
    base_parser,
    fmt,
    import_torch,
    interleave,
    machine_info,
    make_batch,
    make_model,
    markdown_table,
    median_ms,
    per_round,
    run_worker,
    thread_label,
    threads,
    write_report,
)

PHASES = ("forward", "forward+backward", "step")
REPEATS = {"tiny": 30, "small": 16, "medium": 8}  # timed calls of each phase and library
ROUNDS = 2  # processes per library and (shape, threads), taking turns
SMOKE_REPEATS = 2
HEADERS = ["shape", "threads", "phase", "minigpt ms", "torch ms", "minigpt / torch",
           "ratio of fastest runs"]


def splits_batch(shape: Shape, n_threads: int | None) -> bool:
    """Whether train() takes this shape's steps with data_parallel_grads at ``n_threads``
    BLAS threads (never at one: the user asked for one core)."""
    return n_threads != 1 and data_parallel_pays(make_model(shape).config, shape.batch,
                                                 shape.seq)


def minigpt_phases(shape: Shape, n_threads: int | None = None) -> dict[str, Callable[[], Any]]:
    """The three timed phases of minigpt for a shape, as functions of no arguments."""
    model = make_model(shape)
    opt = AdamW(model.params, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    idx, targets = make_batch(shape)
    grads_of = data_parallel_grads if splits_batch(shape, n_threads) else GPT.loss_and_grads

    def step() -> None:
        _, grads = grads_of(model, idx, targets)
        opt.step(grads)

    return {"forward": lambda: model.forward(idx),
            "forward+backward": lambda: model.loss_and_grads(idx, targets),
            "step": step}


def torch_phases(torch: Any, shape: Shape, attention: str = "sdpa") -> dict[str, Callable[[], Any]]:
    """The same three phases in PyTorch, on a copy of minigpt's initial weights."""
    ref = TorchGPT(torch, shape.config, make_model(shape).params, attention)
    opt = ref.optimizer()
    idx, targets = (torch.from_numpy(a) for a in make_batch(shape))

    def forward() -> None:
        with torch.no_grad():
            ref.logits(idx)

    def forward_backward() -> None:
        opt.zero_grad(set_to_none=True)
        ref.loss(idx, targets).backward()

    def step() -> None:
        forward_backward()
        opt.step()

    return {"forward": forward, "forward+backward": forward_backward, "step": step}


def initial_losses(torch: Any, shape: Shape) -> tuple[float, float]:
    """Both libraries' loss on the shape's batch at the same initial weights."""
    model = make_model(shape)
    idx, targets = make_batch(shape)
    loss, _ = model.loss_and_grads(idx, targets)
    ref = TorchGPT(torch, shape.config, model.params)
    with torch.no_grad():
        tloss = ref.loss(torch.from_numpy(idx), torch.from_numpy(targets)).item()
    return loss, tloss


def worker(library: str, shape: Shape, n: int, repeats: int, attention: str) -> dict[str, list[float]]:
    """Time the phases of one library in this process: ``repeats`` calls of each, after one
    untimed call; returns phase -> seconds of every timed call."""
    keep_freed_memory()
    torch = import_torch() if library == "torch" else None
    with threads(n, torch):
        fns = (minigpt_phases(shape, n) if library == "minigpt"
               else torch_phases(torch, shape, attention))
        return {phase: interleave({phase: fns[phase]}, repeats)[phase].tolist() for phase in PHASES}


def run(shapes: Sequence[Shape], thread_counts: Sequence[int], repeats: dict[str, int],
        torch: Any = None, attention: str = "sdpa", rounds: int = ROUNDS) -> list[dict[str, Any]]:
    """Time every (shape, threads, phase); one dict per row of the table.

    Each row has ``shape``, ``threads``, ``phase``, ``minigpt_ms`` and ``torch_ms`` (medians;
    NaN without torch), ``ratio`` = minigpt_ms / torch_ms, and ``ratio_min``, the same
    ratio between the fastest call of each: a cross-check that a burst of load from other
    processes, which can hold up a two-thread run many times over, does not move.
    """
    libraries = ["minigpt"] + (["torch"] if torch is not None else [])
    rows = []
    for shape in shapes:
        calls = per_round(repeats[shape.name], rounds)
        for n in thread_counts:
            t: dict[str, dict[str, list[float]]] = {lib: {p: [] for p in PHASES} for lib in libraries}
            for _ in range(rounds):
                for lib in libraries:
                    times = run_worker("train_step", lib, "--shapes", shape.name, "--threads",
                                       str(n), "--repeats", str(calls), "--torch-attention",
                                       attention)
                    for phase, seconds in times.items():
                        t[lib][phase] += seconds
            for phase in PHASES:
                mine = np.array(t["minigpt"][phase])
                theirs = np.array(t["torch"][phase]) if torch is not None else np.array([np.nan])
                m, tt = median_ms(mine), median_ms(theirs)
                split = phase == "step" and splits_batch(shape, n)
                rows.append({"shape": shape.name, "threads": thread_label(n), "phase": phase,
                             "data_parallel": split,
                             "minigpt_ms": m, "torch_ms": tt, "ratio": m / tt,
                             "ratio_min": float(mine.min() / theirs.min())})
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows of :func:`run` as a markdown table."""
    return markdown_table(HEADERS, [
        [r["shape"], r["threads"], r["phase"] + (" (data parallel)" if r["data_parallel"] else ""),
         fmt(r["minigpt_ms"]), fmt(r["torch_ms"]),
         fmt(r["ratio"]), fmt(r["ratio_min"])] for r in rows])


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parse the options, run, print the table and write ``train_step.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", choices=list(ALL_SHAPES), default=list(SHAPES))
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed calls per phase and library (default: 30 / 15 / 7 by shape)")
    parser.add_argument("--torch-attention", choices=["sdpa", "explicit"], default="sdpa",
                        help="PyTorch's fused attention kernel, or its four explicit steps")
    parser.add_argument("--worker", choices=["minigpt", "torch"], default=None,
                        help=argparse.SUPPRESS)  # one library, one shape: timings as JSON
    args = parser.parse_args(argv)
    if args.worker is not None:
        shape = ALL_SHAPES[args.shapes[0]]
        times = worker(args.worker, shape, args.threads[0], args.repeats, args.torch_attention)
        print(json.dumps(times))
        return []
    torch = import_torch(not args.no_torch)
    shapes = [SMOKE] if args.smoke else [SHAPES[s] for s in args.shapes]
    default = SMOKE_REPEATS if args.smoke else None
    repeats = {s.name: args.repeats or default or REPEATS[s.name] for s in shapes}
    rows = run(shapes, args.threads, repeats, torch, args.torch_attention)

    blocks = ["Median milliseconds per call, the two libraries interleaved in one run; "
              "float32; a ratio below 1 means minigpt is faster. The last column divides "
              "the fastest call of each library instead of the medians.",
              "\n".join(f"- {line}" for line in machine_info(torch)),
              "- shapes: " + "; ".join(f"{s.name} = {s.label}" for s in shapes),
              f"- torch attention: {args.torch_attention}; repeats: "
              + ", ".join(f"{k} {v}" for k, v in repeats.items()),
              table(rows)]
    if torch is not None:
        checks = [[s.name, *(f"{x:.6f}" for x in initial_losses(torch, s))] for s in shapes]
        blocks += ["Same weights, same loss (at initialisation):",
                   markdown_table(["shape", "minigpt loss", "torch loss"], checks)]
    print("\n\n".join(blocks[1:]))
    path = write_report(args.out, "train_step", "Training step: minigpt vs PyTorch eager", blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
