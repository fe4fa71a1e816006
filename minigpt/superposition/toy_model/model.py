"""The toy model, forward and backward: compress n features to m dimensions and rebuild them.

:func:`toy_forward` and :func:`toy_backward` are an op pair in the style of
:mod:`minigpt.nn`; :func:`init_toy_params` makes the starting weights. The loss that
trains it is in ``loss.py``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._common import _check_int


# ---- the loss: importance-weighted squared error, forward and backward
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

class ToyCache(NamedTuple):
    """What :func:`.toy_backward` needs: the inputs of both products and the ReLU mask."""

    x: np.ndarray       # (B, n) for dW through h = x W^T, and nothing else
    w: np.ndarray       # (m, n) for dh and dx
    h: np.ndarray       # (B, m) for dW through pre = h W
    active: np.ndarray  # (B, n) bool, where pre > 0: ReLU's slope

def toy_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ToyCache]:
    """Compress features to m dimensions and rebuild them: ``relu((x @ w.T) @ w + b)``.

    Parameters
    ----------
    x : ndarray, shape (B, n)
    w : ndarray, shape (m, n)
        Column i is feature i's hidden direction.
    b : ndarray, shape (n,)

    Returns
    -------
    x_hat : ndarray, shape (B, n)
    cache : ToyCache

    Notes
    -----
    .. math:: h = x W^T, \\qquad x' = \\operatorname{ReLU}(h W + b)

    (per example: :math:`x' = \\operatorname{ReLU}(W^T W x + b)`). The same W encodes and
    decodes, so :math:`(W^T W)_{ij} = W_i \\cdot W_j` is how much feature j leaks into
    feature i's reconstruction; the bias and the ReLU can filter small leaks out.

    Examples
    --------
    >>> x_hat, _ = toy_forward(np.eye(3), np.eye(2, 3), np.zeros(3))
    >>> x_hat                       # two features pass, the third has no direction
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 0.]])
    """
    h = x @ w.T                                        # (B, n) @ (n, m) -> (B, m)
    pre = h @ w + b                                    # (B, m) @ (m, n) -> (B, n)
    active = pre > 0
    return pre * active, ToyCache(x, w, h, active)

def toy_backward(dx_hat: np.ndarray, cache: ToyCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`toy_forward`: ``(dx, dw, db)``.

    Parameters
    ----------
    dx_hat : ndarray, shape (B, n)
    cache : ToyCache

    Returns
    -------
    dx : ndarray, shape (B, n)
    dw : ndarray, shape (m, n)
    db : ndarray, shape (n,)

    Notes
    -----
    W is used twice, so its gradient has two parts:

    .. math::
        \\delta = dx' \\odot [hW + b > 0], \\quad
        db = \\textstyle\\sum_B \\delta, \\quad
        dh = \\delta W^T, \\quad
        dW = h^T \\delta + dh^T x, \\quad
        dx = dh\\, W

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, w, b = rng.random((4, 3)), rng.standard_normal((2, 3)), np.zeros(3)
    >>> y, cache = toy_forward(x, w, b)
    >>> [g.shape for g in toy_backward(np.ones_like(y), cache)]
    [(4, 3), (2, 3), (3,)]
    """
    x, w, h, active = cache
    dpre = dx_hat * active                             # fwd: x_hat = relu(pre)
    db = dpre.sum(axis=0)                              # fwd: pre = h @ w + b
    dw_decode = h.T @ dpre                             # (m, B) @ (B, n) -> (m, n)
    dh = dpre @ w.T                                    # (B, n) @ (n, m) -> (B, m)
    dw_encode = dh.T @ x                               # fwd: h = x @ w.T  =>  dw = dh^T x
    dx = dh @ w                                        # (B, m) @ (m, n) -> (B, n)
    return dx, dw_decode + dw_encode, db

def init_toy_params(n: int, m: int, *, seed: int = 0,
                    dtype: type = np.float32) -> dict[str, np.ndarray]:
    """Xavier-normal ``w`` of shape (m, n) and zero ``b`` of shape (n,).

    Examples
    --------
    >>> p = init_toy_params(5, 2)
    >>> p["w"].shape, p["b"].shape, p["w"].dtype
    ((2, 5), (5,), dtype('float32'))
    """
    n, m = _check_int("n", n), _check_int("m", m)
    rng = np.random.default_rng(seed)
    std = math.sqrt(2.0 / (n + m))                     # Glorot & Bengio 2010, normal form
    return {"w": (rng.standard_normal((m, n)) * std).astype(dtype), "b": np.zeros(n, dtype=dtype)}
