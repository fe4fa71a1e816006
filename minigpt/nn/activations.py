"""The MLP's nonlinearities: ReLU (the video's AND gate) and GELU (what GPT-2/3 use).

Each forward keeps what its derivative is written in: ReLU keeps only where it was positive
(its slope is 1 there and 0 elsewhere); both GELUs keep the input ``x``, since their slope
is a function of ``x`` that the output alone does not determine.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .special import erfc

# Python floats, so that they take the dtype of the array they meet (float32 stays float32).
GELU_C = math.sqrt(2.0 / math.pi)  # sqrt(2/pi), the tanh approximation's scale
GELU_A = 0.044715  # the cubic coefficient of the tanh approximation
INV_SQRT2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class ReluCache(NamedTuple):
    """Where the input was positive: the derivative is 1 there, 0 elsewhere."""

    active: np.ndarray  # (...) bool


class GeluCache(NamedTuple):
    """The input, because GELU's derivative depends on ``x`` itself."""

    x: np.ndarray  # (...)


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, ReluCache]:
    r"""Rectified linear unit: clip negatives to zero.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    y : ndarray, same shape
    cache : ReluCache

    Notes
    -----
    .. math:: y = \max(x, 0)

    .. math:: dx = dy \odot [x > 0]

    With a bias of -1 in front, a neuron whose row is M + J outputs 1 for "Michael Jordan"
    (2 - 1) and 0 for "Michael Phelps" (max(1 - 1, 0)): an AND gate.

    Examples
    --------
    >>> relu_forward(np.array([-1.0, 0.0, 2.0]))[0]
    array([0., 0., 2.])
    """
    active = x > 0
    return x * active, ReluCache(active)


def relu_backward(dy: np.ndarray, cache: ReluCache) -> np.ndarray:
    r"""Gradient of :func:`relu_forward`: pass ``dy`` where the input was positive.

    Parameters
    ----------
    dy : ndarray, any shape
    cache : ReluCache

    Returns
    -------
    dx : ndarray, shape of ``dy``

    Notes
    -----
    .. math:: y = \max(x, 0)

    .. math:: dx = dy \odot [x > 0]

    The slope at exactly 0 is taken as 0, as in PyTorch.
    """
    # fwd: y = x * [x > 0]  =>  dx = dy * [x > 0]
    return dy * cache.active


def gelu_forward(x: np.ndarray) -> tuple[np.ndarray, GeluCache]:
    r"""GELU in the tanh approximation used by GPT-2 and GPT-3.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    y : ndarray, same shape and dtype
    cache : GeluCache

    Notes
    -----
    .. math:: y = \tfrac12 x \left(1 + \tanh u\right), \quad u = c\,(x + a x^3),
        \quad c = \sqrt{2/\pi},\ a = 0.044715

    .. math:: \frac{dy}{dx} = \tfrac12 (1 + \tanh u) + \tfrac12 x (1 - \tanh^2 u)\,
        c\,(1 + 3 a x^2)

    It differs from the exact :func:`gelu_exact_forward` by less than 5e-4 everywhere.
    :func:`gelu_forward_fast` computes the same in one buffer.

    References
    ----------
    Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)", 2016.

    Examples
    --------
    >>> np.round(gelu_forward(np.array([-3.0, 0.0, 1.0]))[0], 4)
    array([-0.0036,  0.    ,  0.8412])
    """
    t = np.tanh(GELU_C * (x + GELU_A * x**3))  # tanh(u)
    return 0.5 * x * (1 + t), GeluCache(x)


def gelu_backward(dy: np.ndarray, cache: GeluCache) -> np.ndarray:
    r"""Gradient of :func:`gelu_forward`.

    Parameters
    ----------
    dy : ndarray, any shape
    cache : GeluCache

    Returns
    -------
    dx : ndarray, shape of ``dy``

    Notes
    -----
    .. math:: y = \tfrac12 x (1 + t), \quad t = \tanh u, \quad u = c\,(x + a x^3)

    .. math:: dx = dy \left(\tfrac12 (1 + t) + \tfrac12 x (1 - t^2)\, c\,(1 + 3 a x^2)\right)

    using :math:`\tanh' = 1 - \tanh^2`. :func:`gelu_backward_fast` computes the same in two
    buffers.
    """
    x = cache.x
    t = np.tanh(GELU_C * (x + GELU_A * x**3))
    # fwd: y = 0.5 x (1 + t), t = tanh(u)  =>  dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) du/dx
    dudx = GELU_C * (1 + 3 * GELU_A * x * x)
    return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dudx)


def gelu_forward_fast(x: np.ndarray) -> tuple[np.ndarray, GeluCache]:
    r""":func:`gelu_forward`, with every step written into the one array it returns.

    The same function to rounding (tested in float64), without a fresh array per operator:
    an elementwise pass costs its memory traffic, and the plain form's temporaries cost
    more than its arithmetic. The model's MLP runs this form; with
    :func:`gelu_backward_fast` it bought 1.02-1.09x per training step
    (``benchmarks/results/ablation.md``).

    Parameters
    ----------
    x : ndarray, any shape
        Not modified.

    Returns
    -------
    y : ndarray, same shape and dtype
    cache : GeluCache

    Notes
    -----
    .. math:: y = \tfrac12 x (1 + \tanh u), \qquad u = x\,(c + c\,a\,x^2)

    :math:`u = c\,(x + a x^3)` regrouped so that it is built in place, without a power.
    The backward is :func:`gelu_backward_fast`.

    Examples
    --------
    >>> x = np.linspace(-4, 4, 9)
    >>> bool(np.allclose(gelu_forward_fast(x)[0], gelu_forward(x)[0], rtol=1e-14, atol=0))
    True
    """
    y = _tanh_u(x)  # tanh(u), in the buffer that becomes y
    y += 1
    y *= x
    y *= 0.5  # y = 0.5 x (1 + tanh u)
    return y, GeluCache(x)


def gelu_backward_fast(dy: np.ndarray, cache: GeluCache) -> np.ndarray:
    r""":func:`gelu_backward`, in two buffers instead of one fresh array per operator.

    The same derivative to rounding (tested in float64), regrouped so that each step
    writes into ``t`` or ``dx``. The model's MLP runs this form.

    Parameters
    ----------
    dy : ndarray, any shape
        Not modified.
    cache : GeluCache

    Returns
    -------
    dx : ndarray, shape of ``dy``

    Notes
    -----
    .. math:: y = \tfrac12 x (1 + t), \quad t = \tanh u, \quad u = c\,(x + a x^3)

    .. math:: dx = dy\, (1 + t) \left(\tfrac12 + \tfrac12 x (1 - t)\, c\,(1 + 3 a x^2)\right)

    which is :func:`gelu_backward`'s formula with :math:`1 - t^2 = (1 - t)(1 + t)`.

    Examples
    --------
    >>> x, dy = np.linspace(-4, 4, 9), np.ones(9)
    >>> _, cache = gelu_forward(x)
    >>> bool(np.allclose(gelu_backward_fast(dy, cache), gelu_backward(dy, cache), rtol=1e-14))
    True
    """
    x = cache.x
    c, a = GELU_C, GELU_A
    t = _tanh_u(x)
    np.subtract(1, t, out=t)  # 1 - t
    dx = x * x
    dx *= 1.5 * c * a
    dx += 0.5 * c  # 0.5 du/dx = 0.5 c (1 + 3 a x^2)
    dx *= x
    dx *= t
    dx += 0.5  # 0.5 + 0.5 x (1 - t) du/dx
    np.subtract(2, t, out=t)  # 1 + t
    dx *= t
    dx *= dy
    return dx


def _tanh_u(x: np.ndarray) -> np.ndarray:
    """``tanh(c (x + a x^3))``, the inner part of the tanh GELU, in one fresh array."""
    t = x * x
    t *= GELU_C * GELU_A
    t += GELU_C
    t *= x  # u = c (x + a x^3), written as x (c + c a x^2): no power, no temporaries
    return np.tanh(t, out=t)


def gelu_exact_forward(x: np.ndarray) -> tuple[np.ndarray, GeluCache]:
    r"""GELU as defined: the input times the standard normal CDF of the input.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    y : ndarray, same shape and dtype
    cache : GeluCache

    Notes
    -----
    .. math:: y = x\,\Phi(x) = \tfrac12 x \operatorname{erfc}(-x / \sqrt2)

    .. math:: \frac{dy}{dx} = \Phi(x) + x\,\varphi(x), \quad
        \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}

    ``erfc`` (not ``1 + erf``) keeps the left tail accurate; see :mod:`minigpt.nn.special`.

    Examples
    --------
    >>> np.round(gelu_exact_forward(np.array([-3.0, 0.0, 1.0]))[0], 4)
    array([-0.004 ,  0.    ,  0.8413])
    """
    phi_cdf = 0.5 * erfc(-x * INV_SQRT2)  # Phi(x)
    return x * phi_cdf, GeluCache(x)


def gelu_exact_backward(dy: np.ndarray, cache: GeluCache) -> np.ndarray:
    r"""Gradient of :func:`gelu_exact_forward`.

    Parameters
    ----------
    dy : ndarray, any shape
    cache : GeluCache

    Returns
    -------
    dx : ndarray, shape of ``dy``

    Notes
    -----
    .. math:: y = x\,\Phi(x)

    .. math:: dx = dy \left(\Phi(x) + x\,\varphi(x)\right), \quad
        \varphi(x) = \Phi'(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}
    """
    x = cache.x
    phi_cdf = 0.5 * erfc(-x * INV_SQRT2)  # Phi(x)
    phi_pdf = INV_SQRT_2PI * np.exp(-0.5 * x * x)  # phi(x), the standard normal density
    # fwd: y = x Phi(x)  =>  dy/dx = Phi(x) + x phi(x)
    return dy * (phi_cdf + x * phi_pdf)


ActivationPair = tuple[Callable[[np.ndarray], tuple[np.ndarray, Any]], Callable[..., np.ndarray]]

# What the MLP runs, by name. GELU runs its in-place forms: the same numbers to rounding,
# and they pay (1.02-1.09x per training step, benchmarks/results/ablation.md).
ACTIVATIONS: dict[str, ActivationPair] = {
    "gelu": (gelu_forward_fast, gelu_backward_fast),
    "gelu_exact": (gelu_exact_forward, gelu_exact_backward),
    "relu": (relu_forward, relu_backward),
}
