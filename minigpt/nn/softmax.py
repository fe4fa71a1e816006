"""Softmax over the last axis, in the numerically stable form."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class SoftmaxCache(NamedTuple):
    """The backward is written in terms of the output, so only ``y`` is kept."""

    y: np.ndarray  # (..., N)


def softmax_forward(x: np.ndarray) -> tuple[np.ndarray, SoftmaxCache]:
    """Exponentiate and normalize the last axis so each row sums to one.

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
    .. math:: y_i = \\frac{e^{x_i - m}}{\\sum_j e^{x_j - m}}, \\quad m = \\max_j x_j

    Subtracting the row max changes nothing mathematically and keeps ``exp`` from
    overflowing. The backward:

    .. math:: dx_i = y_i \\left(dy_i - \\sum_j dy_j\\, y_j\\right)

    Examples
    --------
    >>> y, _ = softmax_forward(np.array([[0.0, np.log(3.0)]]))
    >>> y
    array([[0.25, 0.75]])
    """
    # stable: exp of (x - row max) is at most 1
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    y = z / z.sum(axis=-1, keepdims=True)
    return y, SoftmaxCache(y)


def softmax_backward(dy: np.ndarray, cache: SoftmaxCache) -> np.ndarray:
    """Gradient of :func:`softmax_forward`.

    Parameters
    ----------
    dy : ndarray, shape (..., N)
    cache : SoftmaxCache

    Returns
    -------
    dx : ndarray, shape (..., N)
    """
    (y,) = cache
    # fwd: y = exp(x) / sum(exp(x))  =>  dx = y * (dy - <dy, y>) row by row
    return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))
