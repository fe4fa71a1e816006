"""Run every benchmark, then compare the results with the performance targets.

``python -m benchmarks`` (or ``python -m benchmarks.run_all``) runs, in order,
:mod:`~benchmarks.train_step`, :mod:`~benchmarks.blas_peak`, :mod:`~benchmarks.generate`,
:mod:`~benchmarks.memory`, :mod:`~benchmarks.page_faults`, :mod:`~benchmarks.blas_threads`,
:mod:`~benchmarks.profile_step` (the medium step, then the tiny one),
:mod:`~benchmarks.bpe_encode` (the tokenizer on long words),
:mod:`~benchmarks.two_threads` (ways to use the second core in a training step),
:mod:`~benchmarks.hf_gpt2` (GPT-2 small against ``transformers``) and
:mod:`~benchmarks.fact_tools` (the fact tools on a GPT-2-small-shaped model), each writing its
markdown table to ``benchmarks/results``, and writes ``targets.md``: every target, the value
this run measured, and whether it was met. ``--smoke`` runs a tiny version of each in seconds.

The targets (ratios from one run, 2 threads, float32):

- training step minigpt / PyTorch eager: <= 0.5 at tiny, <= 0.9 at small, <= 1.0 at medium;
- model FLOP/s of the medium step >= 70% of the numpy GEMM peak;
- KV-cache generation >= 5x faster than recomputing, 256 new tokens, small shape;
- peak training memory <= 1.5 x (activations + parameters + gradients + optimizer state);
- greedy generation with GPT-2 small >= 2x ``transformers``' tokens/s, and >= 85% of the
  bound that memory bandwidth sets (every weight read once per token).
- a causal trace of a 10-token prompt on a GPT-2-small-shaped model <= 120 s.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from . import (
    blas_peak,
    blas_threads,
    bpe_encode,
    fact_tools,
    generate,
    hf_gpt2,
    memory,
    page_faults,
    profile_step,
    train_step,
    two_threads,
)
from ._common import base_parser, fmt, markdown_table, write_report

TARGET_THREADS = "2"
STEP_RATIO_TARGETS = {"tiny": 0.5, "small": 0.9, "medium": 1.0}
FLOP_SHARE_TARGET = 0.70
KV_SPEEDUP_TARGET = 5.0
MEMORY_RATIO_TARGET = 1.5
HF_GEN_SPEEDUP_TARGET = 2.0
HF_GEN_LIMIT_TARGET = 0.85


def _find(rows: Sequence[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    """The first row that matches; a row measured at the default thread count (no
    threadpoolctl) stands in for any thread count."""
    for r in rows:
        if all(r.get(k) == v or (k == "threads" and r.get(k) == "default")
               for k, v in match.items()):
            return r
    return None


def targets(step_rows: Sequence[dict[str, Any]], peak_rows: Sequence[dict[str, Any]],
            gen_rows: Sequence[dict[str, Any]], mem_rows: Sequence[dict[str, Any]],
            hf_rows: Sequence[dict[str, Any]] = (),
            threads: str = TARGET_THREADS,
            fact_rows: Sequence[dict[str, Any]] = ()) -> list[list[str]]:
    """One row per target: what, the bound, the measured value, whether it is met, a note.

    A target whose measurement is missing (a shape not run, torch absent) reads
    ``not measured``. The step-time rows note the ratio between the fastest runs too.
    """
    out = []

    def add(what: str, bound: str, value: float | None, ok: bool | None,
            note: str = "") -> None:
        if value is None or ok is None or value != value:  # NaN: not measured
            out.append([what, bound, "not measured", "-", note])
        else:
            out.append([what, bound, fmt(value), "yes" if ok else "no", note])

    for shape, bound in STEP_RATIO_TARGETS.items():
        r = _find(step_rows, shape=shape, threads=threads, phase="step")
        ratio = None if r is None else r["ratio"]
        note = "" if r is None else f"fastest runs: {fmt(r.get('ratio_min', float('nan')))}"
        note += "; data parallel" if r is not None and r.get("data_parallel") else ""
        add(f"step time minigpt / torch, {shape}", f"<= {bound}", ratio,
            None if ratio is None else ratio <= bound, note)
    r = _find(peak_rows, shape="medium", threads=threads)
    share = None if r is None else r["share"]
    add("medium model FLOP/s / GEMM peak", f">= {FLOP_SHARE_TARGET}", share,
        None if share is None else share >= FLOP_SHARE_TARGET)
    r = _find(gen_rows, threads=threads)
    speedup = None if r is None else r["speedup"]
    add("KV cache speedup, small, 256 new tokens", f">= {KV_SPEEDUP_TARGET}", speedup,
        None if speedup is None else speedup >= KV_SPEEDUP_TARGET)
    for r in mem_rows:
        add(f"peak memory / analytic, {r['shape']}", f"<= {MEMORY_RATIO_TARGET}", r["ratio"],
            r["ratio"] <= MEMORY_RATIO_TARGET)
    r = _find(hf_rows, threads=threads)
    speedup = None if r is None else r.get("gen_speedup")
    add("GPT-2 small generation, minigpt / transformers tok/s", f">= {HF_GEN_SPEEDUP_TARGET}",
        speedup, None if speedup is None else speedup >= HF_GEN_SPEEDUP_TARGET,
        "" if r is None else f"same tokens: {r.get('same_tokens', '-')}")
    share = None if r is None else r["minigpt_share_of_limit"]
    add("GPT-2 small generation / bandwidth limit", f">= {HF_GEN_LIMIT_TARGET}", share,
        None if share is None else share >= HF_GEN_LIMIT_TARGET,
        "" if r is None else f"limit {fmt(r['limit_tps'], 1)} tok/s")
    r = _find(fact_rows, step="causal trace", threads=threads)
    seconds = None if r is None else r["seconds"]
    add("causal trace s, GPT-2 small shape, 10 tokens", f"<= {fact_tools.TRACE_TARGET_S:.0f}",
        seconds, None if seconds is None else seconds <= fact_tools.TRACE_TARGET_S)
    return out


def main(argv: Sequence[str] | None = None) -> list[list[str]]:
    """Run all benchmarks with the shared options and write ``targets.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    shared = (["--smoke"] if args.smoke else []) + ["--out", str(args.out)]
    shared += ["--no-torch"] if args.no_torch else []
    threads = ["--threads", *map(str, args.threads)]
    t0 = time.perf_counter()
    results = {}
    runs = [("train_step", train_step, threads), ("blas_peak", blas_peak, threads),
            ("generate", generate, threads), ("memory", memory, []),
            ("page_faults", page_faults, threads),
            ("blas_threads", blas_threads, threads),
            ("profile_step", profile_step, ["--threads", TARGET_THREADS]),
            ("hf_gpt2", hf_gpt2, ["--threads", TARGET_THREADS]),
            ("fact_tools", fact_tools, ["--threads", TARGET_THREADS])]
    if not args.smoke:  # the tiny step too: its time is mostly fixed costs, not FLOPs
        runs.append(("profile_step_tiny", profile_step,
                     ["--threads", TARGET_THREADS, "--shape", "tiny", "--steps", "20"]))
    runs.append(("bpe_encode", bpe_encode, []))
    runs.append(("two_threads", two_threads, ["--threads", TARGET_THREADS]))
    for name, module, extra in runs:
        print(f"\n===== {name} =====\n", flush=True)
        if module is blas_peak:  # the step times just measured: no second run of them
            results[name] = module.main(shared + extra, step_rows=results["train_step"])
        else:
            results[name] = module.main(shared + extra)
    minutes = (time.perf_counter() - t0) / 60
    fact_rows = [] if args.smoke else results["fact_tools"]  # the smoke model is not GPT-2's
    rows = targets(results["train_step"], results["blas_peak"][1], results["generate"],
                   results["memory"], results["hf_gpt2"], fact_rows=fact_rows)
    table = markdown_table(["target", "bound", "measured (medians)", "met", "note"], rows)
    blocks = [f"All ratios from this one run ({fmt(minutes, 1)} minutes), "
              f"{TARGET_THREADS} threads, float32. Details in the other files of this folder.",
              table]
    print("\n===== targets =====\n\n" + "\n\n".join(blocks))
    path = write_report(args.out, "targets", "Performance targets", blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
