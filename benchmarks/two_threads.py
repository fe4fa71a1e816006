"""Two cores, one training step: where the second core goes.

With two BLAS threads, numpy's matrix products use both cores, but its elementwise passes
(LayerNorm, GELU, softmax, AdamW) run on one. Meanwhile OpenBLAS's idle worker spins for a
while after each product (about 0.1 s by default) before it sleeps. This script times one
training step (``loss_and_grads`` + AdamW, float32) per shape in several ways:

- ``2 BLAS threads``: numpy's default, the baseline;
- ``1 BLAS thread``: for reference;
- ``timeout 2^k``: the baseline with ``OPENBLAS_THREAD_TIMEOUT=k``: OpenBLAS's workers
  spin for :math:`2^k` CPU cycles (the library's default is :math:`2^{28}`) before they
  sleep. The library reads it when it loads, so only a fresh process can change it;
- ``2 BLAS threads in linear only``: one BLAS thread, raised to two inside the linear layers
  (their GEMMs) with threadpoolctl, the model's functions wrapped here;
- ``data parallel``: :func:`minigpt.train.data_parallel_grads`: two Python threads each
  take half the batch with one BLAS thread each (numpy releases the GIL inside its loops),
  the gradients weighted by token counts and added;
- ``torch``: PyTorch eager at two threads, for the minigpt / torch ratio.

Each variant runs in a process of its own (as :mod:`~benchmarks.train_step` explains,
sharing a process makes each pay for the others' threads and memory), and the processes
take turns, round after round, so that load from elsewhere slows them all alike. A table
row gives the median step time, its ratio to the baseline and to torch, and the process's
CPU seconds per wall-clock second (2 means both cores busy, spinning included).

Run ``python -m benchmarks.two_threads`` (``--help`` for the options).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from minigpt.allocator import keep_freed_memory
from minigpt.optim import AdamW
from minigpt.train import data_parallel_grads

from ._common import (
    ALL_SHAPES,
    LEARNING_RATE,
    REPO,
    SHAPES,
    SMOKE,
    WEIGHT_DECAY,
    Shape,
    base_parser,
    fmt,
    import_torch,
    machine_info,
    make_batch,
    make_model,
    markdown_table,
    median_ms,
    per_round,
    threads,
    write_report,
)
from .train_step import torch_phases

BASELINE = "2 BLAS threads"
ONE_THREAD = "1 BLAS thread"
LINEAR_ONLY = "2 BLAS threads in linear only"
DATA_PARALLEL = "data parallel"
TORCH = "torch"
TIMEOUT_ENV = "OPENBLAS_THREAD_TIMEOUT"
TIMEOUTS = (4, 20)  # 2^4 cycles: sleep at once; 2^20 cycles: ~0.4 ms at 2.6 GHz
REPEATS = {"tiny": 45, "small": 15, "medium": 15}  # timed steps per variant, all rounds
ROUNDS = 3  # processes per variant and shape, taking turns
SMOKE_REPEATS, SMOKE_ROUNDS = 2, 1
LINEAR_USERS = ("minigpt.model", "minigpt.nn.attention", "minigpt.nn.mlp")  # call linear_*
HEADERS = ["shape", "variant", "step ms", "/ 2 BLAS threads", "minigpt / torch", "CPU / wall"]


def timeout_variant(k: int) -> str:
    """The name of the variant with ``OPENBLAS_THREAD_TIMEOUT=k``.

    Examples
    --------
    >>> timeout_variant(4)
    'timeout 2^4'
    """
    return f"timeout 2^{k}"


def variants(n_threads: int, torch: bool) -> list[str]:
    """Every variant measured, in the order the processes take turns.

    Examples
    --------
    >>> variants(2, torch=False)  # doctest: +NORMALIZE_WHITESPACE
    ['2 BLAS threads', '1 BLAS thread', 'timeout 2^4', 'timeout 2^20',
     '2 BLAS threads in linear only', 'data parallel']
    """
    names = [BASELINE, ONE_THREAD, *(timeout_variant(k) for k in TIMEOUTS), LINEAR_ONLY,
             DATA_PARALLEL]
    if n_threads != 2:  # the names say "2": keep them true
        names = [n.replace("2 BLAS", f"{n_threads} BLAS") for n in names]
    return names + ([TORCH] if torch else [])


def variant_env(variant: str) -> dict[str, str]:
    """The environment of a variant's process: ``OPENBLAS_THREAD_TIMEOUT`` for the timeout
    variants, removed for every other (so the library's default holds).

    Examples
    --------
    >>> variant_env("timeout 2^4")[TIMEOUT_ENV]
    '4'
    >>> TIMEOUT_ENV in variant_env("data parallel")
    False
    """
    env = {k: v for k, v in os.environ.items() if k != TIMEOUT_ENV}
    if variant.startswith("timeout 2^"):
        env[TIMEOUT_ENV] = variant.removeprefix("timeout 2^")
    return env


# ---------------------------------------------------------------------- the levers


def _blas_controllers() -> list[Any]:
    """threadpoolctl's controllers of the loaded BLAS libraries ([] without threadpoolctl)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return []
    return ThreadpoolController().select(user_api="blas").lib_controllers


@contextlib.contextmanager
def blas_in_linear_only(n_inside: int, n_outside: int = 1) -> Iterator[None]:
    """Run the block with ``n_outside`` BLAS threads, ``n_inside`` inside the linear layers.

    ``linear_forward`` and ``linear_backward`` (every weight GEMM) are wrapped where
    :mod:`minigpt.model`, :mod:`minigpt.nn.attention` and :mod:`minigpt.nn.mlp` call them,
    and restored on exit. The attention's batched products run at ``n_outside``. A switch
    calls ``openblas_set_num_threads`` directly (about a microsecond), not threadpoolctl's
    ``limit``, which re-reads every library's state. Without threadpoolctl nothing changes.
    """
    import importlib

    libs = _blas_controllers()

    def set_threads(n: int) -> None:
        for lib in libs:
            lib.set_num_threads(n)

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            set_threads(n_inside)
            try:
                return fn(*args, **kwargs)
            finally:
                set_threads(n_outside)
        return wrapped

    modules = [importlib.import_module(m) for m in LINEAR_USERS]
    saved = [(m, name, getattr(m, name)) for m in modules
             for name in ("linear_forward", "linear_backward")]
    before = [lib.num_threads for lib in libs]
    try:
        for m, name, fn in saved:
            setattr(m, name, wrap(fn))
        set_threads(n_outside)
        yield
    finally:
        for m, name, fn in saved:
            setattr(m, name, fn)
        for lib, n in zip(libs, before):
            lib.set_num_threads(n)


def minigpt_step(shape: Shape, data_parallel_threads: int | None = None) -> Callable[[], None]:
    """A training step (loss, gradients, AdamW) of minigpt on the shape's batch; with
    ``data_parallel_threads``, the gradients come from :func:`data_parallel_grads`."""
    model = make_model(shape)
    opt = AdamW(model.params, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    idx, targets = make_batch(shape)

    def step() -> None:
        if data_parallel_threads is None:
            _, grads = model.loss_and_grads(idx, targets)
        else:
            _, grads = data_parallel_grads(model, idx, targets, data_parallel_threads)
        opt.step(grads)

    return step


@contextlib.contextmanager
def variant_setting(variant: str, n_threads: int, torch: Any = None) -> Iterator[None]:
    """The thread setting a variant's steps run under."""
    if variant == ONE_THREAD:
        with threads(1):
            yield
    elif variant.endswith("in linear only"):
        with blas_in_linear_only(n_threads):
            yield
    elif variant == DATA_PARALLEL:  # data_parallel_grads sets one BLAS thread itself
        yield
    else:  # the baseline, the timeout variants and torch
        with threads(n_threads, torch):
            yield


def worker(variant: str, shape: Shape, n_threads: int, repeats: int) -> dict[str, list[float]]:
    """Time ``repeats`` steps of one variant in this process, after one untimed step.

    Returns
    -------
    dict
        ``wall`` and ``cpu``: seconds of every timed step, by the clock and by the process's
        CPU time (all its threads).
    """
    keep_freed_memory()
    torch = import_torch() if variant == TORCH else None
    if variant == TORCH and torch is None:
        raise RuntimeError("the torch variant needs PyTorch")
    with variant_setting(variant, n_threads, torch):
        if variant == TORCH:
            step = torch_phases(torch, shape)["step"]
        else:
            step = minigpt_step(shape, n_threads if variant == DATA_PARALLEL else None)
        step()  # warm up: allocations, thread pools
        wall, cpu = [], []
        for _ in range(repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            step()
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
    return {"wall": wall, "cpu": cpu}


def run_variant(variant: str, shape: Shape, n_threads: int, repeats: int) -> dict[str, list[float]]:
    """Run :func:`worker` in a fresh process with the variant's environment."""
    cmd = [sys.executable, "-m", "benchmarks.two_threads", "--worker", variant,
           "--shapes", shape.name, "--threads", str(n_threads), "--repeats", str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False,
                          env=variant_env(variant))
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.splitlines()[-1])


def run(shapes: Sequence[Shape], names: Sequence[str], n_threads: int, repeats: dict[str, int],
        rounds: int = ROUNDS) -> list[dict[str, Any]]:
    """Time every (shape, variant), the variants' processes taking turns; one dict per row.

    Each row has ``shape``, ``variant``, ``ms`` (median step), ``vs_baseline`` (ms over the
    first variant's ms), ``vs_torch`` (NaN without the torch variant) and ``cpu_per_wall``
    (total CPU seconds over total wall seconds of the timed steps).
    """
    rows = []
    for shape in shapes:
        calls = per_round(repeats[shape.name], rounds)
        t = {v: {"wall": [], "cpu": []} for v in names}
        for _ in range(rounds):
            for v in names:
                for key, seconds in run_variant(v, shape, n_threads, calls).items():
                    t[v][key] += seconds
        ms = {v: median_ms(np.array(t[v]["wall"])) for v in names}
        base, ref = ms[names[0]], ms.get(TORCH, float("nan"))
        for v in names:
            rows.append({"shape": shape.name, "variant": v, "ms": ms[v],
                         "vs_baseline": ms[v] / base,
                         "vs_torch": float("nan") if v == TORCH else ms[v] / ref,
                         "cpu_per_wall": sum(t[v]["cpu"]) / sum(t[v]["wall"])})
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows of :func:`run` as a markdown table."""
    return markdown_table(HEADERS, [
        [r["shape"], r["variant"], fmt(r["ms"]), fmt(r["vs_baseline"]), fmt(r["vs_torch"]),
         fmt(r["cpu_per_wall"])] for r in rows])


def uptime() -> str:
    """The load averages over 1, 5 and 15 minutes, e.g. ``"1.3 0.8 1.0"``."""
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parse the options, run, print the table and write ``two_threads.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", choices=list(ALL_SHAPES), default=list(SHAPES))
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed steps per variant and shape (default: 45 / 15 / 15)")
    parser.add_argument("--rounds", type=int, default=None,
                        help=f"processes per variant and shape, taking turns (default {ROUNDS})")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # one variant
    args = parser.parse_args(argv)
    n_threads = max(args.threads)  # the cores the levers compete for
    if args.worker is not None:
        print(json.dumps(worker(args.worker, ALL_SHAPES[args.shapes[0]], n_threads,
                                args.repeats)))
        return []
    torch = import_torch(not args.no_torch)
    shapes = [SMOKE] if args.smoke else [SHAPES[s] for s in args.shapes]
    default = SMOKE_REPEATS if args.smoke else None
    repeats = {s.name: args.repeats or default or REPEATS[s.name] for s in shapes}
    rounds = args.rounds or (SMOKE_ROUNDS if args.smoke else ROUNDS)
    names = variants(n_threads, torch is not None)
    load_before = uptime()
    rows = run(shapes, names, n_threads, repeats, rounds)
    load_after = uptime()

    blocks = [f"Median milliseconds per training step (loss_and_grads + AdamW, float32), "
              f"{n_threads} threads, every variant in processes of its own taking turns "
              f"({rounds} rounds). `/ {names[0]}` below 1: faster than the baseline; "
              "`CPU / wall`: CPU seconds of the process per second of the step.",
              "\n".join(f"- {line}" for line in machine_info(torch)),
              f"- load average (1, 5, 15 min) at the start: {load_before}; at the end: "
              f"{load_after}",
              "- shapes: " + "; ".join(f"{s.name} = {s.label}" for s in shapes),
              "- timed steps per variant: " + ", ".join(f"{k} {v}" for k, v in repeats.items()),
              table(rows)]
    print("\n\n".join(blocks[1:]))
    path = write_report(args.out, "two_threads", "Two threads: the second core", blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
