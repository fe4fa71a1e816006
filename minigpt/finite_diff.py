"""Finite-difference gradient checking: the proof behind every backward in minigpt.

A backward pass is a claim: "this is dL/dx". :func:`gradcheck` tests the claim the
slow, obvious way. For each checked entry it nudges the input by ``+eps`` and ``-eps``,
evaluates the scalar function twice, and compares the central difference with the
analytic gradient.

To check an op with a non-scalar output ``y = op(x)``, reduce it with a fixed random
upstream gradient ``dy``: ``L = sum(y * dy)``. Then ``dL/dx`` is exactly what
``op_backward(dy, cache)`` must return. Pass ``dy=dy`` and let ``f`` return ``y`` itself:
the difference ``y(x + eps) - y(x - eps)`` is then taken before the sum, so rounding
error stays at the scale of the outputs that changed rather than of the whole sum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

DEFAULT_EPS = 1e-5
DEFAULT_RTOL = 1e-6
# Below this magnitude, gradients are compared on an absolute scale (see `gradcheck` Notes).
DEFAULT_FLOOR = 1e-3


class GradcheckResult(NamedTuple):
    """What :func:`gradcheck` found.

    Attributes
    ----------
    ok : bool
        ``max_error <= rtol``.
    max_error : float
        The worst mixed relative error over all checked entries.
    input : int
        Which input (position in ``inputs``) holds the worst entry.
    index : tuple of int
        Where in that input the worst entry is.
    analytic : float
        The analytic gradient there.
    numeric : float
        The central-difference estimate there.
    n_checked : int
        How many entries were compared.
    """

    ok: bool
    max_error: float
    input: int
    index: tuple[int, ...]
    analytic: float
    numeric: float
    n_checked: int


def _as_float64_inputs(inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    arrays = []
    for i, x in enumerate(inputs):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"inputs[{i}] must be a numpy array, got {type(x).__name__}")
        if x.dtype != np.float64:
            raise TypeError(
                f"inputs[{i}] must be float64 (finite differences in float32 are too coarse), "
                f"got {x.dtype}"
            )
        arrays.append(x)
    return arrays


def numerical_gradient(
    f: Callable[..., float | np.ndarray],
    inputs: Sequence[np.ndarray],
    which: int,
    index: tuple[int, ...],
    eps: float = DEFAULT_EPS,
    dy: np.ndarray | None = None,
) -> float:
    r"""Central difference of ``f(*inputs)`` with respect to one entry of one input.

    Parameters
    ----------
    f : callable
        ``f(*inputs) -> float``, a scalar function of float64 arrays; or, with ``dy``,
        ``f(*inputs) -> ndarray`` of the shape of ``dy``.
    inputs : sequence of ndarray
        Float64 arrays; ``inputs[which][index]`` is nudged in place and restored.
    which : int
        Position of the input to differentiate.
    index : tuple of int
        The entry of that input.
    eps : float
        Step size.
    dy : ndarray, optional
        Weights of the outputs: the derivative of ``sum(f(*inputs) * dy)`` is estimated.

    Returns
    -------
    float
        :math:`(f(x + \epsilon e) - f(x - \epsilon e)) / (2 \epsilon)`, with the
        difference dotted with ``dy`` when given.

    Examples
    --------
    >>> x = np.array([3.0])
    >>> round(numerical_gradient(lambda x: float(x[0] ** 2), [x], 0, (0,)), 6)
    6.0
    """
    x = inputs[which]
    old = x[index]
    try:
        x[index] = old + eps
        f_plus = np.array(f(*inputs), dtype=np.float64)  # a copy: f may reuse its buffers
        x[index] = old - eps
        f_minus = np.array(f(*inputs), dtype=np.float64)
    finally:
        x[index] = old
    diff = f_plus - f_minus
    if dy is not None:
        diff = np.sum(diff * dy)  # difference first, then the weighted sum
    return float(diff) / (2 * eps)


def gradcheck(
    f: Callable[..., float],
    inputs: Sequence[np.ndarray],
    grads: Sequence[np.ndarray],
    *,
    dy: np.ndarray | None = None,
    eps: float = DEFAULT_EPS,
    rtol: float = DEFAULT_RTOL,
    floor: float = DEFAULT_FLOOR,
    n_samples: int | None = None,
    seed: int = 0,
) -> GradcheckResult:
    r"""Compare analytic gradients with central finite differences, in float64.

    Parameters
    ----------
    f : callable
        ``f(*inputs) -> float``: a scalar function of the arrays in ``inputs``. It must be
        deterministic and must read the arrays when called (they are nudged in place).
        With ``dy``, ``f`` returns an array ``y`` and the checked scalar is ``sum(y * dy)``.
    inputs : sequence of ndarray
        The float64 arrays to differentiate with respect to.
    grads : sequence of ndarray
        The analytic gradients ``dL/d inputs[i]``, one per input, same shapes.
    dy : ndarray, optional
        Upstream gradient for an ``f`` with array output (see the module docstring).
    eps : float, default 1e-5
        Finite-difference step.
    rtol : float, default 1e-6
        Pass when every entry's error is at most ``rtol``.
    floor : float, default 1e-3
        Magnitude below which errors are measured on an absolute scale.
    n_samples : int or None
        Check at most this many randomly chosen entries per input (all when ``None``);
        useful for large weight matrices.
    seed : int
        Seed for choosing the sampled entries.

    Returns
    -------
    GradcheckResult
        ``ok``, the worst error, where it occurred and both values there.

    Raises
    ------
    TypeError
        If an input is not a float64 array.
    ValueError
        If the number or shapes of ``grads`` do not match ``inputs``.

    Notes
    -----
    Each checked entry gets the error

    .. math::
        e = \frac{|g_{analytic} - g_{numeric}|}{\max(|g_{analytic}|, |g_{numeric}|, \text{floor})}

    so it is a relative error for gradients larger than ``floor`` and an absolute error
    (scaled by ``1/floor``) for tiny ones. A purely relative test fails on correct code:
    query/key gradients at initialisation are about 1e-7, while the central difference of a
    loss of size ~1 carries a rounding error of about :math:`10^{-16} / \epsilon \approx
    10^{-11}` and a truncation error of order :math:`\epsilon^2`. With the defaults, a
    gradient under 1e-3 must be right to 1e-9 absolute, a larger one to 1e-6 relative.

    Examples
    --------
    >>> from minigpt.nn import gelu_forward, gelu_backward
    >>> x, dy = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    >>> y, cache = gelu_forward(x)
    >>> result = gradcheck(lambda x: gelu_forward(x)[0], [x], [gelu_backward(dy, cache)], dy=dy)
    >>> result.ok, result.n_checked
    (True, 24)
    """
    arrays = _as_float64_inputs(inputs)
    if len(grads) != len(arrays):
        raise ValueError(f"expected one gradient per input ({len(arrays)}), got {len(grads)}")
    rng = np.random.default_rng(seed)
    worst = GradcheckResult(True, 0.0, 0, (), 0.0, 0.0, 0)
    n_checked = 0
    for which, (x, g) in enumerate(zip(arrays, grads)):
        g = np.asarray(g)
        if g.shape != x.shape:
            raise ValueError(
                f"grads[{which}] must have the shape of inputs[{which}] {x.shape}, got {g.shape}"
            )
        flat = np.arange(x.size)
        if n_samples is not None and x.size > n_samples:
            flat = rng.choice(x.size, size=n_samples, replace=False)
        for k in flat:
            index = tuple(int(i) for i in np.unravel_index(k, x.shape))
            numeric = numerical_gradient(f, arrays, which, index, eps, dy)
            analytic = float(g[index])
            error = abs(analytic - numeric) / max(abs(analytic), abs(numeric), floor)
            n_checked += 1
            if error >= worst.max_error:
                worst = GradcheckResult(True, error, which, index, analytic, numeric, 0)
    return worst._replace(ok=bool(worst.max_error <= rtol), n_checked=n_checked)
