"""Linear layer: ``y = x @ w.T + b``, the matrix-vector product of the video.

The weight is stored ``(d_out, d_in)``: row ``j`` of ``w`` is the direction that output ``j``
measures. In the MLP this makes row i of ``w_up`` "the question neuron i asks" and column i of
``w_down`` "the direction neuron i adds".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class LinearCache(NamedTuple):
    """What :func:`linear_backward` needs: ``x`` for ``dw``, ``w`` for ``dx``."""

    x: np.ndarray  # (..., d_in)
    w: np.ndarray  # (d_out, d_in)


def linear_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None
) -> tuple[np.ndarray, LinearCache]:
    r"""Apply an affine map to the last axis.

    Parameters
    ----------
    x : ndarray, shape (..., d_in)
    w : ndarray, shape (d_out, d_in)
    b : ndarray, shape (d_out,), optional

    Returns
    -------
    y : ndarray, shape (..., d_out)
    cache : LinearCache

    Notes
    -----
    .. math:: y = x W^T + b

    .. math:: dx = dy\, W, \qquad dW = \sum_{\text{rows}} dy^T x, \qquad
        db = \sum_{\text{rows}} dy

    In numpy the whole op is ``x @ w.T + b``. For a 3-D ``x`` that product calls BLAS once
    per leading index, so the code first views ``x`` as one (N, d_in) matrix: one GEMM
    (1.06-1.15x per training step, ``benchmarks/results/ablation.md``).

    Examples
    --------
    >>> x, w, b = np.ones((2, 5, 3)), np.ones((4, 3)), np.zeros(4)
    >>> y, cache = linear_forward(x, w, b)
    >>> y.shape
    (2, 5, 4)
    """
    d_out, d_in = w.shape
    # y = x @ w.T + b, as one GEMM over all N rows of x (see Notes)
    y = x.reshape(-1, d_in) @ w.T  # (N, d_in) @ (d_in, d_out) -> (N, d_out)
    if b is not None:
        y += b
    return y.reshape(*x.shape[:-1], d_out), LinearCache(x, w)


def linear_backward(
    dy: np.ndarray, cache: LinearCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of :func:`linear_forward`.

    Parameters
    ----------
    dy : ndarray, shape (..., d_out)
        dL/dy.
    cache : LinearCache

    Returns
    -------
    dx : ndarray, shape (..., d_in)
    dw : ndarray, shape (d_out, d_in)
    db : ndarray, shape (d_out,)
        Returned even when the forward had no bias; the caller may ignore it.

    Notes
    -----
    .. math:: y = x W^T + b

    .. math:: dx = dy\, W, \qquad dW = \sum_{\text{rows}} dy^T x, \qquad
        db = \sum_{\text{rows}} dy

    The sums run over every leading axis of ``x`` (batch and time): each row used the same
    ``W`` and ``b``.
    """
    x, w = cache
    d_out, d_in = w.shape
    dy2 = dy.reshape(-1, d_out)  # (N, d_out), N = all leading axes
    # fwd: y = x @ w.T  =>  dx = dy @ w
    dx = (dy2 @ w).reshape(x.shape)  # (N, d_out) @ (d_out, d_in) -> (..., d_in)
    # fwd: y = x @ w.T  =>  dw = dy^T @ x, summed over every row
    dw = dy2.T @ x.reshape(-1, d_in)  # (d_out, N) @ (N, d_in) -> (d_out, d_in)
    # fwd: y += b  =>  db = sum of dy over rows
    db = dy2.sum(axis=0)  # (d_out,)
    return dx, dw, db
