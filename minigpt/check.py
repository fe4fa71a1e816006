r"""The proof of every gradient in minigpt, runnable from the installed package.

:func:`check_gradients` runs :func:`minigpt.gradcheck` in float64 on every op pair of
:mod:`minigpt.nn` and on a whole model's :meth:`~minigpt.GPT.loss_and_grads`, and returns one
:class:`CheckRow` per check: the worst error, the tolerance, and whether it passed. The
``minigpt check`` command prints them as a table; the test suite asserts that every row
passes.

Each op is checked with the trick of the test suite: a fixed random upstream gradient
:math:`dy` turns the op's output into the scalar :math:`L = \sum y \odot dy`, whose
gradient is exactly what ``op_backward(dy, cache)`` returns. Every entry of every input is
nudged (the inputs are small), so a wrong entry anywhere is found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .config import GPTConfig
from .finite_diff import DEFAULT_RTOL, gradcheck
from .nn import (
    attention_backward,
    attention_forward,
    cross_entropy_backward,
    cross_entropy_forward,
    embedding_backward,
    embedding_forward,
    gelu_backward,
    gelu_backward_fast,
    gelu_exact_backward,
    gelu_exact_forward,
    gelu_forward,
    gelu_forward_fast,
    layernorm_backward,
    layernorm_forward,
    linear_backward,
    linear_forward,
    mlp_backward,
    mlp_forward,
    relu_backward,
    relu_forward,
    softmax_backward,
    softmax_backward_inplace,
    softmax_forward,
    softmax_forward_inplace,
)

# The shapes of the op checks: small, so every entry is nudged, and B, T > 1 so that sums
# over rows are exercised.
B, T, C, H, F, V = 2, 3, 4, 2, 8, 5
WINDOW = 2  # band width of the banded-attention check (< T, so the band cuts)
RELU_KINK_GAP = 1e-2  # inputs this close to ReLU's kink at 0 are moved off it
# The whole-model check: both attention kinds (alternating), GELU, tied embeddings.
MODEL = GPTConfig(vocab_size=11, n_ctx=6, n_layer=2, n_head=2, d_model=8,
                  attention="alternating", local_window=3)
MODEL_BATCH = 2
WEIGHT_STD = 0.3  # larger than GPT-2's 0.02, so no gradient is tiny enough to hide below the floor


@dataclass(frozen=True)
class CheckRow:
    """One finite-difference check: an op (or the model) and what it scored.

    Attributes
    ----------
    op : str
        What was checked, e.g. ``"layernorm"`` or ``"GPT.loss_and_grads"``.
    max_error : float
        The worst mixed relative error over every checked entry (see :func:`minigpt.gradcheck`).
    tolerance : float
        The largest error that passes.
    n_checked : int
        How many gradient entries were compared.
    ok : bool
        ``max_error <= tolerance``.
    """

    op: str
    max_error: float
    tolerance: float
    n_checked: int
    ok: bool


class Problem(NamedTuple):
    """One gradient claim to check: ``grads`` should be the gradient of ``f`` at ``inputs``."""

    f: Callable[..., Any]  # f(*inputs) -> scalar, or an array weighted by dy
    inputs: list[np.ndarray]  # float64, nudged in place by the check
    grads: list[np.ndarray]  # the backward's answer, one per input
    dy: np.ndarray | None  # the upstream gradient when f returns an array


def _op(forward: Callable[..., tuple[np.ndarray, Any]], backward: Callable[..., Any],
        inputs: list[np.ndarray], rng: np.random.Generator, **kwargs: Any) -> Problem:
    """The problem of an op pair: its backward of a random ``dy`` against ``sum(y * dy)``."""
    y, cache = forward(*inputs, **kwargs)
    dy = rng.standard_normal(y.shape)
    grads = backward(dy, cache)
    grads = [grads] if isinstance(grads, np.ndarray) else list(grads)[: len(inputs)]
    return Problem(lambda *x: forward(*x, **kwargs)[0], inputs, grads, dy)


def _attention_weights(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.standard_normal((3 * C, C)) * 0.5, rng.standard_normal(3 * C) * 0.1,
            rng.standard_normal((C, C)) * 0.5, rng.standard_normal(C) * 0.1]


def _off_kink(x: np.ndarray) -> np.ndarray:
    """``x`` with entries near 0 moved to 0.5: finite differences across a kink are wrong."""
    return np.where(np.abs(x) < RELU_KINK_GAP, 0.5, x)


def _softmax_inplace_forward(x: np.ndarray) -> tuple[np.ndarray, Any]:
    return softmax_forward_inplace(x.copy())  # a copy: the check nudges x and reads it again


def _softmax_inplace_backward(dy: np.ndarray, cache: Any) -> np.ndarray:
    return softmax_backward_inplace(dy.copy(), cache)


def _cross_entropy(rng: np.random.Generator) -> Problem:
    logits = rng.standard_normal((B, T, V)) * 2
    targets = rng.integers(0, V, size=(B, T))
    targets[0, 0] = -1  # one ignored target
    _, cache = cross_entropy_forward(logits, targets, ignore_index=-1)
    dlogits = cross_entropy_backward(1.0, cache)
    return Problem(lambda z: cross_entropy_forward(z, targets, ignore_index=-1)[0],
                   [logits], [dlogits], None)


def _embedding(rng: np.random.Generator) -> Problem:
    idx = rng.integers(0, V, size=(B, 2 * T))  # more positions than rows: ids repeat
    return _op(lambda table: embedding_forward(idx, table), embedding_backward,
               [rng.standard_normal((V, C))], rng)


def _model(rng: np.random.Generator) -> Problem:
    """A float64 GPT's loss and gradients, every parameter entry nudged."""
    from .model import GPT  # the model imports nn; imported here, only when checked

    model = GPT(MODEL, seed=0, dtype=np.float64)
    for p in model.params.values():
        p += rng.standard_normal(p.shape) * WEIGHT_STD  # gains stay near 1, nothing tiny
    idx = rng.integers(0, MODEL.vocab_size, size=(MODEL_BATCH, MODEL.n_ctx))
    targets = rng.integers(0, MODEL.vocab_size, size=(MODEL_BATCH, MODEL.n_ctx))
    _, grads = model.loss_and_grads(idx, targets)
    names = list(model.params)

    def loss(*params: np.ndarray) -> float:  # params are model.params' own arrays, nudged
        return cross_entropy_forward(model.forward(idx), targets)[0]

    return Problem(loss, [model.params[n] for n in names], [grads[n] for n in names], None)


CHECKS: dict[str, Callable[[np.random.Generator], Problem]] = {
    "linear": lambda rng: _op(linear_forward, linear_backward, [
        rng.standard_normal((B, T, C)), rng.standard_normal((F, C)), rng.standard_normal(F)], rng),
    "embedding": _embedding,
    "layernorm": lambda rng: _op(layernorm_forward, layernorm_backward, [
        rng.standard_normal((B, T, C)), 1 + 0.5 * rng.standard_normal(C),
        rng.standard_normal(C)], rng),
    "relu": lambda rng: _op(relu_forward, relu_backward,
                            [_off_kink(rng.standard_normal((B, T, F)))], rng),
    "gelu": lambda rng: _op(gelu_forward, gelu_backward, [2 * rng.standard_normal((B, T, F))], rng),
    "gelu_fast": lambda rng: _op(gelu_forward_fast, gelu_backward_fast,
                                 [2 * rng.standard_normal((B, T, F))], rng),
    "gelu_exact": lambda rng: _op(gelu_exact_forward, gelu_exact_backward,
                                  [2 * rng.standard_normal((B, T, F))], rng),
    "softmax": lambda rng: _op(softmax_forward, softmax_backward,
                               [2 * rng.standard_normal((B, T, V))], rng),
    "softmax_inplace": lambda rng: _op(_softmax_inplace_forward, _softmax_inplace_backward,
                                       [2 * rng.standard_normal((B, T, V))], rng),
    "attention": lambda rng: _op(attention_forward, attention_backward, [
        rng.standard_normal((B, T, C)), *_attention_weights(rng)], rng, n_head=H),
    "attention (banded)": lambda rng: _op(attention_forward, attention_backward, [
        rng.standard_normal((B, T, C)), *_attention_weights(rng)], rng, n_head=H, window=WINDOW),
    "mlp (gelu)": lambda rng: _op(mlp_forward, mlp_backward, [
        rng.standard_normal((B, T, C)), rng.standard_normal((F, C)), rng.standard_normal(F),
        rng.standard_normal((C, F)), rng.standard_normal(C)], rng, activation="gelu"),
    "mlp (relu)": lambda rng: _op(mlp_forward, mlp_backward, [
        rng.standard_normal((B, T, C)), rng.standard_normal((F, C)), rng.standard_normal(F),
        rng.standard_normal((C, F)), rng.standard_normal(C)], rng, activation="relu"),
    "cross_entropy": _cross_entropy,
    "GPT.loss_and_grads": _model,
}
"""Every check, by the name its row shows: ``name -> (rng -> Problem)``."""


def check_gradients(seed: int = 0, ops: Iterable[str] | None = None,
                    rtol: float = DEFAULT_RTOL) -> list[CheckRow]:
    """Check every backward of :mod:`minigpt.nn` and the model's gradients by finite differences.

    Parameters
    ----------
    seed : int, default 0
        Seed of the random inputs, weights and upstream gradients.
    ops : iterable of str, optional
        Names from :data:`CHECKS` to run (all when ``None``), in the order of :data:`CHECKS`.
    rtol : float, default 1e-6
        The tolerance of :func:`minigpt.gradcheck` (its absolute floor is the default).

    Returns
    -------
    list of CheckRow
        One row per check, each with every entry of every input compared in float64.

    Raises
    ------
    ValueError
        If ``ops`` names a check that does not exist.

    Examples
    --------
    >>> rows = check_gradients(ops=["layernorm", "attention"])
    >>> [(row.op, row.ok) for row in rows]
    [('layernorm', True), ('attention', True)]
    """
    names = list(CHECKS) if ops is None else list(ops)
    unknown = sorted(set(names) - set(CHECKS))
    if unknown:
        raise ValueError(f"unknown checks {unknown}; expected names from {list(CHECKS)}")
    rows = []
    for name in (n for n in CHECKS if n in names):
        rng = np.random.default_rng(seed)
        problem = CHECKS[name](rng)
        result = gradcheck(problem.f, problem.inputs, problem.grads, dy=problem.dy, rtol=rtol)
        rows.append(CheckRow(name, result.max_error, rtol, result.n_checked, result.ok))
    return rows


def format_check_table(rows: list[CheckRow]) -> str:
    """Render :func:`check_gradients` rows as a text table, one line per check.

    Examples
    --------
    >>> print(format_check_table([CheckRow("linear", 3.1e-10, 1e-06, 120, True),
    ...                           CheckRow("GPT.loss_and_grads", 2e-3, 1e-06, 1896, False)]))
    op                  worst error  tolerance  entries  result
    linear                  3.1e-10      1e-06      120  OK
    GPT.loss_and_grads      2.0e-03      1e-06     1896  NOT OK
    """
    width = max([len("op"), *(len(r.op) for r in rows)]) + 2
    lines = [f"{'op':<{width}}{'worst error':>11}  {'tolerance':>9}  {'entries':>7}  result"]
    for r in rows:
        lines.append(f"{r.op:<{width}}{r.max_error:>11.1e}  {r.tolerance:>9.0e}  "
                     f"{r.n_checked:>7}  {'OK' if r.ok else 'NOT OK'}")
    return "\n".join(lines)

