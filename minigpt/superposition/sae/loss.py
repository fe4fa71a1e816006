"""The SAE's loss, forward and backward: normalized squared error plus an L1 penalty.

The error is divided by :func:`data_scale`, the data's spread, so that 1 means "no better
than the mean" and one lambda suits data of any scale. ``training.py`` chains it with the
autoencoder of ``autoencoder.py``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class SAELossCache(NamedTuple):
    """What :func:`.sae_loss_backward` needs."""

    diff: np.ndarray     # (B, d) x_hat - x
    scale: float         # v, the data's mean squared distance from its mean
    l1: float            # lambda
    z_shape: tuple[int, int]


def sae_loss_forward(x: np.ndarray, x_hat: np.ndarray, z: np.ndarray, scale: float,
                     l1: float = 0.0) -> tuple[float, SAELossCache]:
    """Normalized squared error plus an L1 penalty on the latents.

    Parameters
    ----------
    x, x_hat : ndarray, shape (B, d)
    z : ndarray, shape (B, m)
        Latents, nonnegative.
    scale : float
        v > 0: the mean squared distance of the data from its mean, :func:`data_scale`.
    l1 : float
        lambda >= 0.

    Returns
    -------
    loss : float
    cache : SAELossCache

    Notes
    -----
    .. math::
        L = \\frac{1}{B v} \\sum_b \\|x_b - \\hat x_b\\|^2
          + \\frac{\\lambda}{B \\sqrt v} \\sum_b \\|z_b\\|_1

    The first term is the normalized MSE: 1 for the best constant guess (the mean), so
    :math:`1 - L_{mse}` is the explained variance. v is one number for the whole data set,
    not per batch, so it is a constant of the loss. Dividing the L1 term by
    :math:`\\sqrt v` (latents scale like x) makes the loss independent of the data's
    units, so one lambda suits data of any scale. Gradients:
    :math:`d\\hat x = 2(\\hat x - x)/(Bv)` and :math:`dz = \\lambda / (B\\sqrt v)` (z >= 0).

    Examples
    --------
    >>> loss, _ = sae_loss_forward(np.ones((2, 3)), np.zeros((2, 3)), np.ones((2, 4)), 3.0, 0.5)
    >>> round(loss, 6) == round(1.0 + 0.5 * 4 / 3 ** 0.5, 6)
    True
    """
    B = x.shape[0]
    diff = x_hat - x                                                   # (B, d)
    mse = float(np.sum(diff * diff)) / (B * scale)
    penalty = l1 * float(np.sum(z)) / (B * math.sqrt(scale)) if l1 else 0.0
    return mse + penalty, SAELossCache(diff, scale, l1, z.shape)


def sae_loss_backward(dloss: float, cache: SAELossCache) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of :func:`sae_loss_forward` with respect to ``x_hat`` and ``z``.

    Returns
    -------
    dx_hat : ndarray, shape (B, d)
    dz : ndarray, shape (B, m)
        The same value everywhere: the L1 slope (active latents only pass it on).
    """
    diff, scale, l1, z_shape = cache
    t = diff.dtype.type
    B = diff.shape[0]
    # fwd: mse = sum(diff^2) / (B v)  =>  dx_hat = 2 diff / (B v)
    dx_hat = diff * t(2.0 * dloss / (B * scale))
    # fwd: penalty = lambda sum(z) / (B sqrt v)  =>  dz = lambda / (B sqrt v)
    dz = np.full(z_shape, t(dloss * l1 / (B * math.sqrt(scale))), dtype=diff.dtype)
    return dx_hat, dz


def data_scale(x: np.ndarray) -> float:
    """v, the mean squared distance of the rows of x from their mean.

    Examples
    --------
    >>> data_scale(np.array([[0.0, 0.0], [2.0, 0.0]]))
    1.0
    """
    centred = x - x.mean(axis=0)                                       # (N, d)
    return float(np.mean(np.sum(centred * centred, axis=1)))
