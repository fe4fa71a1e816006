"""Softmax over the last axis, in the numerically stable form."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class SoftmaxCache(NamedTuple):
    """The backward is written in terms of the output, so only ``y`` is kept."""

    y: np.ndarray  # (..., N)


def softmax_forward(x: np.ndarray) -> tuple[np.ndarray, SoftmaxCache]:
    r"""Exponentiate and normalize the last axis so each row sums to one.

    Parameters
    ----------
    x : ndarray, shape (..., N)
        May contain ``-inf`` (masked entries) as long as each row has a finite entry.

    Returns
    -------
    y : ndarray, shape (..., N)
    cache : SoftmaxCache

    Notes
    -----
    .. math:: y_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \quad m = \max_j x_j

    Subtracting the row max changes nothing mathematically and keeps ``exp`` from
    overflowing. The backward (:func:`softmax_backward`):

    .. math:: dx_i = y_i \left(dy_i - \sum_j dy_j\, y_j\right)

    Examples
    --------
    >>> y, _ = softmax_forward(np.array([[0.0, np.log(3.0)]]))
    >>> y
    array([[0.25, 0.75]])
    """
    # stable: exp of (x - row max) is at most 1
    y = x - x.max(axis=-1, keepdims=True)  # the one fresh array: exp and the division run in it
    np.exp(y, out=y)
    y /= y.sum(axis=-1, keepdims=True)
    return y, SoftmaxCache(y)


def softmax_backward(dy: np.ndarray, cache: SoftmaxCache) -> np.ndarray:
    r"""Gradient of :func:`softmax_forward`.

    Parameters
    ----------
    dy : ndarray, shape (..., N)
    cache : SoftmaxCache

    Returns
    -------
    dx : ndarray, shape (..., N)

    Notes
    -----
    .. math:: y_i = \frac{e^{x_i}}{\sum_j e^{x_j}}

    Its Jacobian is :math:`\partial y_i / \partial x_k = y_i ([i = k] - y_k)`, so

    .. math:: dx_i = \sum_k dy_k\, y_k ([k = i] - y_i) = y_i \left(dy_i - \sum_k dy_k\, y_k\right)

    written with the output only: the forward keeps ``y``, not ``x``.
    """
    (y,) = cache
    # fwd: y = exp(x) / sum(exp(x))  =>  dx = y * (dy - <dy, y>) row by row
    dy_dot_y = np.vecdot(dy, y)[..., None]  # (..., 1)
    dx = dy - dy_dot_y
    dx *= y
    return dx


def softmax_forward_inplace(x: np.ndarray) -> tuple[np.ndarray, SoftmaxCache]:
    r""":func:`softmax_forward`, computed in the memory of ``x``.

    For a caller that does not need ``x`` afterwards (attention's scores): the same
    operations in the same order as :func:`softmax_forward`, so the same numbers, without
    allocating a second array of the size of ``x``. Attention uses it; the in-place
    attention steps together bought 1.02-1.08x per training step
    (``benchmarks/results/ablation.md``).

    Parameters
    ----------
    x : ndarray, shape (..., N)
        Overwritten with the result.

    Returns
    -------
    y : ndarray, shape (..., N)
        ``x`` itself, now holding ``softmax_forward(x)[0]``.
    cache : SoftmaxCache

    Notes
    -----
    .. math:: y_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \quad m = \max_j x_j

    The backward is :func:`softmax_backward_inplace` (or :func:`softmax_backward`).

    Examples
    --------
    >>> x = np.array([[0.0, np.log(3.0)], [1.0, -np.inf]])
    >>> y, _ = softmax_forward_inplace(x.copy())
    >>> bool(np.array_equal(y, softmax_forward(x)[0]))
    True
    """
    x -= x.max(axis=-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x, SoftmaxCache(x)


def softmax_backward_inplace(dy: np.ndarray, cache: SoftmaxCache) -> np.ndarray:
    r""":func:`softmax_backward`, computed in the memory of ``dy``.

    The same operations in the same order, so the same numbers; ``dy`` is overwritten with
    ``dx`` and returned. For a caller that owns ``dy`` and needs it no more (attention's
    gradient of its pattern).

    Parameters
    ----------
    dy : ndarray, shape (..., N)
        Overwritten with the result.
    cache : SoftmaxCache

    Returns
    -------
    dx : ndarray, shape (..., N)
        ``dy`` itself, now holding ``softmax_backward(dy, cache)``.

    Notes
    -----
    .. math:: y_i = \frac{e^{x_i}}{\sum_j e^{x_j}}

    .. math:: dx_i = y_i \left(dy_i - \sum_k dy_k\, y_k\right)

    Examples
    --------
    >>> y, cache = softmax_forward(np.array([[0.0, 1.0, 2.0]]))
    >>> dy = np.array([[1.0, -1.0, 0.5]])
    >>> bool(np.array_equal(softmax_backward_inplace(dy.copy(), cache), softmax_backward(dy, cache)))
    True
    """
    (y,) = cache
    dy_dot_y = np.vecdot(dy, y)[..., None]  # (..., 1)
    dy -= dy_dot_y
    dy *= y
    return dy
