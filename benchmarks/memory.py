"""Peak memory of a training step against what the mathematics requires.

A training step must hold, at its peak, the parameters, their gradients, AdamW's two
moments, and the activations the backward pass needs. The last are counted from the
model's equations (:func:`activation_bytes`), independently of minigpt's code; the table
puts beside them what minigpt's forward cache actually keeps and the peak that
``tracemalloc`` sees (numpy reports its array buffers to it) over one step.

Run ``python -m benchmarks.memory`` (``--help`` for the options).
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from minigpt import GPT, GPTConfig, count_params
from minigpt.allocator import keep_freed_memory
from minigpt.nn import cross_entropy_forward
from minigpt.optim import AdamW

from ._common import (
    LEARNING_RATE,
    MIB,
    SHAPES,
    SMOKE,
    Shape,
    base_parser,
    fmt,
    machine_info,
    make_batch,
    make_model,
    markdown_table,
    threads,
    write_report,
)

ID_BYTES = np.dtype(np.int64).itemsize


def activation_bytes(config: GPTConfig, batch: int, itemsize: int = 4) -> int:
    """Bytes of the activations a backward pass needs, counted from the model's equations.

    Parameters
    ----------
    config : GPTConfig
    batch : int
        B; sequences are ``config.n_ctx`` = T long.
    itemsize : int
        Bytes per float (4 for float32).

    Returns
    -------
    int

    Notes
    -----
    Each linear map needs its input, each LayerNorm its normalized input and one
    :math:`1/\\sigma` per row, GELU its input, softmax its output, the cross-entropy its
    probabilities, the embedding and the loss their ids. Per block, in floats:

    .. math:: \\underbrace{2 (BTC + BT)}_{\\text{2 LayerNorms}}
        + \\underbrace{BTC + 3BTC + BHT^2 + BTC}_{\\text{qkv input, q k v, pattern, heads}}
        + \\underbrace{BTC + 2 BTF}_{\\text{MLP input, pre and post}}
        = 8BTC + 2BTF + BHT^2 + 2BT

    plus :math:`2BTC + BT` for the final LayerNorm and the unembedding's input,
    :math:`BTV` probabilities and :math:`2BT` int64 ids (inputs and targets).

    Examples
    --------
    >>> cfg = GPTConfig(vocab_size=5, n_ctx=2, n_layer=1, n_head=1, d_model=3, d_ff=4)
    >>> activation_bytes(cfg, batch=1, itemsize=1)
    128
    """
    B, T, C = batch, config.n_ctx, config.d_model
    H, F, V = config.n_head, config.d_ff, config.vocab_size
    per_block = 8 * B * T * C + 2 * B * T * F + B * H * T * T + 2 * B * T
    floats = config.n_layer * per_block + 2 * B * T * C + B * T + B * T * V
    return floats * itemsize + 2 * B * T * ID_BYTES


def _arrays(obj: Any) -> Iterator[np.ndarray]:
    """Every ndarray inside nested tuples, lists and NamedTuples."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _arrays(item)


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def kept_bytes(model: GPT, idx: np.ndarray, targets: np.ndarray) -> int:
    """Bytes of the distinct arrays that minigpt's forward and loss caches keep for backward.

    Views count once (by the array that owns the memory); the parameters, which the caches
    reference but do not own, are left out.
    """
    logits, cache = model._forward(idx, keep=True)
    _, ce_cache = cross_entropy_forward(logits, targets)
    params = {id(_root(p)) for p in model.params.values()}
    roots = {id(r): r for r in map(_root, _arrays((cache, ce_cache))) if id(r) not in params}
    return sum(r.nbytes for r in roots.values())


def peak_step_bytes(shape: Shape) -> tuple[int, int]:
    """Peak traced bytes during one training step, and the bytes traced just before it.

    Both include the parameters and the optimizer's state, which are allocated (after
    ``tracemalloc.start``) together with the model and the optimizer.
    """
    idx, targets = make_batch(shape)
    gc.collect()
    tracemalloc.start()
    try:
        model = make_model(shape)
        opt = AdamW(model.params, lr=LEARNING_RATE)

        def step() -> None:
            _, grads = model.loss_and_grads(idx, targets)
            opt.step(grads)

        step()  # the first step makes anything made once
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, before


def run(shapes: Sequence[Shape]) -> list[dict[str, Any]]:
    """One row per shape: analytic sizes, what minigpt keeps, and the measured peak (bytes).

    Memory does not depend on the thread count; one BLAS thread keeps the run short on a
    busy machine.
    """
    rows = []
    with threads(1):
        for shape in shapes:
            rows.append(_measure(shape))
    return rows


def _measure(shape: Shape) -> dict[str, Any]:
    """The row of :func:`run` for one shape."""
    itemsize = np.dtype(np.float32).itemsize
    params = count_params(shape.config) * itemsize
    acts = activation_bytes(shape.config, shape.batch, itemsize)
    analytic = 4 * params + acts  # parameters, gradients, two moments, activations
    kept = kept_bytes(make_model(shape), *make_batch(shape))
    peak, before = peak_step_bytes(shape)
    return {"shape": shape.name, "params": params, "activations": acts, "analytic": analytic,
            "kept": kept, "before": before, "peak": peak, "ratio": peak / analytic}


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parse the options, run, print the table and write ``memory.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the minigpt command does; see minigpt.allocator
    shapes = [SMOKE] if args.smoke else [SHAPES[s] for s in args.shapes]
    rows = run(shapes)

    def mib(x: float) -> str:
        return fmt(x / MIB, 2)

    table = markdown_table(
        ["shape", "params MiB", "activations MiB (analytic)", "minigpt cache MiB",
         "analytic total MiB", "before step MiB", "peak MiB", "peak / analytic"],
        [[r["shape"], mib(r["params"]), mib(r["activations"]), mib(r["kept"]),
          mib(r["analytic"]), mib(r["before"]), mib(r["peak"]), fmt(r["ratio"])]
         for r in rows])
    blocks = ["float32. *analytic total* = parameters + gradients + two AdamW moments "
              "(4 x params) + the activations the backward needs (counted from the "
              "equations). *minigpt cache* is what minigpt's forward actually keeps. "
              "*before step* is everything traced between steps (parameters, moments, "
              "the optimizer's scratch buffer); *peak* is tracemalloc's peak over one "
              "training step, all included.",
              "\n".join(f"- {line}" for line in machine_info()),
              table]
    print("\n\n".join(blocks[1:]))
    path = write_report(args.out, "memory", "Peak memory of a training step", blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
