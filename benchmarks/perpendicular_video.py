"""The video's "nearly perpendicular" experiment at its full size, run once and kept.

3Blue1Brown's experiment takes 10,000 random unit vectors in 100 dimensions and runs 250
Adam steps (learning rate 0.01) on a loss that penalizes every dot product beyond 0.01.
:func:`minigpt.superposition.nearly_perpendicular` does exactly that; at this size it takes
minutes, too long for the book's build, so this script runs it once and writes what it
measured, with the date, the machine and the command, to
``minigpt/data/perpendicular_video.json``, which ships with the package
(:func:`minigpt.data.load_perpendicular_video`). Chapter 11 of the book reads it beside the
smaller run it computes live.

Run ``python -m benchmarks.perpendicular_video`` (``--help`` for the options; ``--smoke``
runs a tiny instance in a second and writes nowhere unless ``--out`` is given).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from minigpt.superposition import nearly_perpendicular
from minigpt.superposition.perpendicular import DEFAULT_D, DEFAULT_N, DEFAULT_STEPS

REPO = Path(__file__).resolve().parents[1]
RESULT_FILE = REPO / "minigpt" / "data" / "perpendicular_video.json"  # ships with the package
HIST_BIN_DEG = 0.5  # the stored histograms: pair counts per half degree from 0 to 180
SMOKE_N, SMOKE_D, SMOKE_STEPS = 200, 10, 20


def histogram(stats: Any, bin_deg: float = HIST_BIN_DEG) -> list[int]:
    """Pair counts per ``bin_deg`` from 0 to 180 degrees, summed from the fine histogram."""
    _, counts = stats.binned(0.0, 180.0, bin_deg)
    return [int(c) for c in counts]


def cpu_model() -> str:
    """The processor's model name from ``/proc/cpuinfo`` (Linux), else what platform says."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """Where the run happened: processor, cores, Python, numpy and its BLAS."""
    config = np.show_config(mode="dicts")
    blas = config.get("Build Dependencies", {}).get("blas", {})
    return {"machine": platform.machine(), "processor": cpu_model(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": f"{blas.get('name', '?')} {blas.get('version', '')}"
            .strip()}


def run(n: int, d: int, steps: int, seed: int, command: str) -> dict[str, Any]:
    """Run the experiment and return the record this script writes.

    Returns
    -------
    dict
        ``date`` (UTC, ISO 8601), ``command``, ``machine`` (:func:`machine`), ``result``
        (:meth:`~minigpt.superposition.PerpendicularResult.to_dict`, with the loss of
        every step), and ``histogram_bin_deg`` with ``histogram_before`` and
        ``histogram_after``: pair counts per bin from 0 to 180 degrees.
    """
    started = datetime.datetime.now(datetime.timezone.utc)
    result = nearly_perpendicular(n=n, d=d, steps=steps, seed=seed, progress=sys.stderr.isatty())
    return {"date": started.isoformat(timespec="seconds"), "command": command,
            "machine": machine(), "result": result.to_dict(),
            "histogram_bin_deg": HIST_BIN_DEG,
            "histogram_before": histogram(result.before),
            "histogram_after": histogram(result.after)}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse the options, run, print the verdict and write the JSON record."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perpendicular_video",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="vectors (video: 10,000)")
    parser.add_argument("--d", type=int, default=DEFAULT_D, help="dimensions (video: 100)")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="Adam steps (video: 250)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true",
                        help=f"a tiny run ({SMOKE_N} vectors in {SMOKE_D} dimensions)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"where to write the record (default {RESULT_FILE.name} in "
                             f"minigpt/data; none with --smoke)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n, args.d, args.steps = SMOKE_N, SMOKE_D, SMOKE_STEPS
    command = "python -m benchmarks.perpendicular_video" + "".join(
        f" {a}" for a in (sys.argv[1:] if argv is None else argv))
    record = run(args.n, args.d, args.steps, args.seed, command)
    print(record["result"]["verdict"])
    out = args.out if args.out is not None else (None if args.smoke else RESULT_FILE)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        tmp.replace(out)  # atomic: a reader never sees half a file
        print(f"wrote {out}")
    return record


if __name__ == "__main__":
    main()
