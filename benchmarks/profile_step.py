"""Where a training step's time goes, op by op (cProfile).

Each op of :mod:`minigpt.nn` is a Python function whose body is a few numpy calls, so the
profiler's *self* time of a function is the time of that op's own numpy work (GEMMs,
elementwise passes), and its *cumulative* time adds the ops it calls (attention calls
``linear_forward`` twice, for instance). numpy's operators (``@``, ``*``) do not show up
on their own; reductions and ``reduceat`` do.

Run ``python -m benchmarks.profile_step`` (``--help`` for the options).
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from minigpt.allocator import keep_freed_memory
from minigpt.optim import AdamW

from ._common import (
    LEARNING_RATE,
    MS_PER_S,
    SHAPES,
    SMOKE,
    Shape,
    base_parser,
    fmt,
    machine_info,
    make_batch,
    make_model,
    markdown_table,
    thread_label,
    threads,
    write_report,
)

STEPS = 3
MIN_SHARE = 0.003  # rows below this share of the step are summed into "everything else"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _label(func: tuple[str, int, str]) -> str:
    """``minigpt/nn/linear.py:linear_backward`` for Python code, numpy's name for builtins."""
    filename, _, name = func
    if filename == "~":  # a builtin: cProfile writes "<method 'reduce' of ...>"
        return name.strip("<>{}")
    path = Path(filename)
    try:
        path = path.resolve().relative_to(PACKAGE_ROOT)
    except ValueError:
        parts = path.parts
        path = Path(*parts[parts.index("site-packages") + 1:]) if "site-packages" in parts \
            else Path(path.name)
    return f"{path.as_posix()}:{name}"


def profile(shape: Shape, n_threads: int | None, steps: int) -> tuple[list[dict[str, Any]], float]:
    """Profile ``steps`` training steps (after one warm-up step).

    Returns
    -------
    rows : list of dict
        ``function``, ``calls`` per step, ``self_ms`` and ``cum_ms`` per step, ``share``
        (self time over the step time), largest self time first.
    step_ms : float
        Mean step time under the profiler.
    """
    model = make_model(shape)
    opt = AdamW(model.params, lr=LEARNING_RATE)
    idx, targets = make_batch(shape)

    def step() -> None:
        _, grads = model.loss_and_grads(idx, targets)
        opt.step(grads)

    with threads(n_threads):
        step()
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        profiler.enable()
        for _ in range(steps):
            step()
        profiler.disable()
        step_ms = (time.perf_counter() - t0) / steps * MS_PER_S
    stats = pstats.Stats(profiler).stats  # {func: (cc, ncalls, tottime, cumtime, callers)}
    rows = [{"function": _label(func), "calls": ncalls / steps,
             "self_ms": tottime / steps * MS_PER_S, "cum_ms": cumtime / steps * MS_PER_S}
            for func, (_, ncalls, tottime, cumtime, _) in stats.items()]
    for r in rows:
        r["share"] = r["self_ms"] / step_ms
    rows.sort(key=lambda r: -r["self_ms"])
    return rows, step_ms


def table(rows: Sequence[dict[str, Any]], step_ms: float) -> str:
    """The profile as a markdown table; small rows are summed into one."""
    shown = [r for r in rows if r["share"] >= MIN_SHARE]
    rest = sum(r["self_ms"] for r in rows if r["share"] < MIN_SHARE)
    body = [[r["function"], fmt(r["calls"], 0), fmt(r["self_ms"], 2), fmt(100 * r["share"], 1),
             fmt(r["cum_ms"], 2)] for r in shown]
    body.append(["everything else", "", fmt(rest, 2), fmt(100 * rest / step_ms, 1), ""])
    return markdown_table(["function", "calls / step", "self ms / step", "self % of step",
                           "cumulative ms / step"], body)


def main(argv: Sequence[str] | None = None) -> tuple[list[dict[str, Any]], float]:
    """Parse the options, profile, print the table and write ``profile_step.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.set_defaults(threads=[2])
    parser.add_argument("--shape", choices=list(SHAPES), default="medium")
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the minigpt command does; see minigpt.allocator
    shape = SMOKE if args.smoke else SHAPES[args.shape]
    n_threads = args.threads[0]
    rows, step_ms = profile(shape, n_threads, 1 if args.smoke else args.steps)
    blocks = [f"cProfile of {1 if args.smoke else args.steps} training steps (forward, backward, "
              f"AdamW) of the {shape.name} shape ({shape.label}), float32, "
              f"{thread_label(n_threads)} BLAS threads: {fmt(step_ms, 1)} ms per step under "
              "the profiler. *self* is the time spent in the function's own numpy calls.",
              "\n".join(f"- {line}" for line in machine_info()),
              table(rows, step_ms)]
    print("\n\n".join(blocks))
    name = "profile_step" if shape.name in ("medium", SMOKE.name) else f"profile_step_{shape.name}"
    path = write_report(args.out, name, f"Profile of a {shape.name} training step", blocks)
    print(f"\nwrote {path}")
    return rows, step_ms


if __name__ == "__main__":
    main()
