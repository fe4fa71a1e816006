"""This machine's GEMM peak, and the share of it each shape's training step achieves.

numpy's float32 matrix product of two n x n matrices costs :math:`2 n^3` FLOPs; its best rate
(n = 2048 by default) is the most any numpy program can hope for. A training step's *model*
FLOPs (:func:`benchmarks._common.model_flops`) divided by its time is the rate it achieves;
their quotient says how much of the machine the step uses. The GEMM and the steps take turns
(A B A B ...), so both see the same machine.

Run ``python -m benchmarks.blas_peak`` (``--help`` for the options).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigpt.allocator import keep_freed_memory

from ._common import (
    GIGA,
    SHAPES,
    SMOKE,
    Shape,
    base_parser,
    fmt,
    import_torch,
    interleave,
    machine_info,
    markdown_table,
    median_ms,
    model_flops,
    thread_label,
    threads,
    write_report,
)
from . import train_step

GEMM_SIZES = (512, 1024, 2048)
SMOKE_GEMM_SIZES = (64,)
REPEATS = {"tiny": 20, "small": 10, "medium": 5}
SMOKE_REPEATS = 2
PEAK_SIZE_REPEATS = 5


def gemm(n: int, seed: int = 0) -> Callable[[], np.ndarray]:
    """A function that multiplies two fixed float32 n x n matrices into a fixed output."""
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    out = np.empty((n, n), dtype=np.float32)
    return lambda: np.matmul(a, b, out=out)


def gemm_gflops(n: int, seconds: np.ndarray) -> float:
    """GFLOP/s of an n x n x n product from its timings (median).

    Examples
    --------
    >>> gemm_gflops(1000, np.array([1.0, 2.0, 3.0]))
    1.0
    """
    return 2 * n**3 / float(np.median(seconds)) / GIGA


def run(shapes: Sequence[Shape], thread_counts: Sequence[int], sizes: Sequence[int],
        repeats: dict[str, int], gemm_repeats: int, torch: Any = None,
        step_rows: Sequence[dict[str, Any]] | None = None,
        ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Measure the GEMM rate per size, then each shape's achieved model FLOP/s.

    The step times are the medians of :func:`benchmarks.train_step.run` (each library in
    its own processes); pass ``step_rows`` from a run already made to reuse them.

    Returns
    -------
    gemm_rows : list of dict
        ``threads``, ``n``, ``gflops``.
    step_rows : list of dict
        ``shape``, ``threads``, ``peak`` (GFLOP/s of the n = max(sizes) GEMM), ``minigpt``
        and ``torch`` (achieved model GFLOP/s; NaN without torch), ``share`` (minigpt /
        peak) and ``torch_share``.
    """
    if step_rows is None:
        step_rows = train_step.run(shapes, thread_counts, repeats, torch)
    gemm_rows, out = [], []
    n_peak = max(sizes)
    for n_threads in thread_counts:
        with threads(n_threads):
            for n in sizes:
                t = interleave({"gemm": gemm(n)}, gemm_repeats)
                gemm_rows.append({"threads": thread_label(n_threads), "n": n,
                                  "gflops": gemm_gflops(n, t["gemm"])})
        peak = gemm_rows[-1]["gflops"]
        for shape in shapes:
            r = next(r for r in step_rows if r["shape"] == shape.name and r["phase"] == "step"
                     and r["threads"] == thread_label(n_threads))
            flops = model_flops(shape.config, shape.batch)
            mine = flops / (r["minigpt_ms"] / 1e3) / GIGA
            theirs = flops / (r["torch_ms"] / 1e3) / GIGA
            out.append({"shape": shape.name, "threads": thread_label(n_threads),
                        "model_gflop": flops / GIGA, "peak": peak, "minigpt": mine,
                        "torch": theirs, "share": mine / peak, "torch_share": theirs / peak})
    return gemm_rows, out


def main(argv: Sequence[str] | None = None,
         step_rows: Sequence[dict[str, Any]] | None = None,
         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Parse the options, run, print the tables and write ``blas_peak.md``; ``step_rows``
    reuses the step times of a :mod:`~benchmarks.train_step` run."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--sizes", type=int, nargs="+", default=list(GEMM_SIZES),
                        help="GEMM sizes n (default 512 1024 2048); the largest is the peak")
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the minigpt command does; see minigpt.allocator
    torch = import_torch(not args.no_torch)
    shapes = [SMOKE] if args.smoke else [SHAPES[s] for s in args.shapes]
    sizes = SMOKE_GEMM_SIZES if args.smoke else args.sizes
    repeats = {s.name: SMOKE_REPEATS if args.smoke else REPEATS[s.name] for s in shapes}
    gemm_rows, step_rows = run(shapes, args.threads, sizes, repeats,
                               SMOKE_REPEATS if args.smoke else PEAK_SIZE_REPEATS, torch,
                               step_rows)

    gemm_table = markdown_table(
        ["threads", "n", "GFLOP/s"],
        [[r["threads"], r["n"], fmt(r["gflops"], 1)] for r in gemm_rows])
    step_table = markdown_table(
        ["shape", "threads", "model GFLOP / step", f"GEMM n={max(sizes)} GFLOP/s",
         "minigpt GFLOP/s", "share of peak", "torch GFLOP/s", "torch share"],
        [[r["shape"], r["threads"], fmt(r["model_gflop"], 3), fmt(r["peak"], 1),
          fmt(r["minigpt"], 1), fmt(r["share"]), fmt(r["torch"], 1), fmt(r["torch_share"])]
         for r in step_rows])
    blocks = ["float32 throughout; medians; a step is forward, backward and AdamW.",
              "\n".join(f"- {line}" for line in machine_info(torch)),
              "numpy GEMM (`np.matmul` of two n x n matrices, 2 n^3 FLOPs):", gemm_table,
              "Training step, model FLOPs (6 N + 12 L T d per token) per second, from the "
              "median step times of train_step (each library in its own processes), against "
              "the largest GEMM's rate:", step_table]
    print("\n\n".join(blocks[1:]))
    path = write_report(args.out, "blas_peak", "GEMM peak and achieved model FLOP/s", blocks)
    print(f"\nwrote {path}")
    return gemm_rows, step_rows


if __name__ == "__main__":
    main()
