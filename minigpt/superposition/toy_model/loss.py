"""The toy model's loss: importance-weighted squared error, forward and backward.

:func:`toy_loss_and_grads` chains the model of ``model.py`` and this loss into the loss
and gradients of one batch, what each Adam step of ``training.py`` needs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .model import toy_backward, toy_forward


class ToyLossCache(NamedTuple):
    """The weighted residual :math:`I \\odot (x' - x)`, all the loss's derivative needs."""

    weighted_diff: np.ndarray  # (B, n)


def importance_mse_forward(x_hat: np.ndarray, x: np.ndarray,
                           importance: np.ndarray) -> tuple[float, ToyLossCache]:
    """Importance-weighted squared error, summed over features, averaged over the batch.

    Parameters
    ----------
    x_hat, x : ndarray, shape (B, n)
        Reconstruction and target.
    importance : ndarray, shape (n,)

    Returns
    -------
    loss : float
    cache : ToyLossCache

    Notes
    -----
    .. math::
        L = \\frac{1}{B} \\sum_b \\sum_i I_i (x_{bi} - x'_{bi})^2, \\qquad
        \\frac{\\partial L}{\\partial x'_{bi}} = \\frac{2}{B} I_i (x'_{bi} - x_{bi})

    Examples
    --------
    >>> loss, _ = importance_mse_forward(np.zeros((2, 2)), np.ones((2, 2)), np.array([1.0, 0.5]))
    >>> loss
    1.5
    """
    diff = x_hat - x                                   # (B, n)
    weighted = diff * importance
    return float(np.sum(weighted * diff)) / x.shape[0], ToyLossCache(weighted)


def importance_mse_backward(dloss: float, cache: ToyLossCache) -> np.ndarray:
    """Gradient of :func:`importance_mse_forward` with respect to ``x_hat``, shape (B, n)."""
    weighted = cache.weighted_diff
    # fwd: L = sum(I (x_hat - x)^2) / B  =>  dx_hat = 2 I (x_hat - x) / B
    return weighted * weighted.dtype.type(2.0 * dloss / weighted.shape[0])


def toy_loss_and_grads(params: dict[str, np.ndarray], x: np.ndarray,
                       importance: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Loss of the toy model on a batch and the gradients of ``w`` and ``b``.

    Parameters
    ----------
    params : dict
        ``"w"`` shape (m, n) and ``"b"`` shape (n,).
    x : ndarray, shape (B, n)
    importance : ndarray, shape (n,)

    Returns
    -------
    loss : float
    grads : dict
        Same keys and shapes as ``params``.

    Examples
    --------
    >>> from minigpt.superposition import init_toy_params
    >>> params = init_toy_params(4, 2, seed=0, dtype=np.float64)
    >>> loss, grads = toy_loss_and_grads(params, np.eye(4), np.ones(4))
    >>> grads["w"].shape, grads["b"].shape
    ((2, 4), (4,))
    """
    x_hat, cache = toy_forward(x, params["w"], params["b"])
    loss, loss_cache = importance_mse_forward(x_hat, x, importance)
    dx_hat = importance_mse_backward(1.0, loss_cache)
    _, dw, db = toy_backward(dx_hat, cache)
    return loss, {"w": dw, "b": db}
