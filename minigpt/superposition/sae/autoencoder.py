"""The sparse autoencoder's forward and backward: encode to sparse latents, decode back.

An op pair in the style of :mod:`minigpt.nn`, built from two linear layers
(:func:`minigpt.nn.linear_forward`) and a ReLU or TopK mask between them. The loss that
trains it is in ``loss.py``; ``training.py`` chains the two.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ...nn import linear_backward, linear_forward
from ...nn.linear import LinearCache
from .._common import _check_int


def _check_k(k: Any, m: int) -> int | None:
    if k is None:
        return None
    k = _check_int("k", k)
    if k > m:
        raise ValueError(f"k must be at most the number of latents m = {m}, got k = {k}")
    return k


class SAECache(NamedTuple):
    """What :func:`.sae_backward` needs."""

    enc: LinearCache     # x - b_dec and w_enc, for dw_enc and dx
    active: np.ndarray   # (B, m) bool: pre > 0 (and among the top k): dz/dpre
    dec: LinearCache     # z and w_dec, for dw_dec and dz


def sae_forward(x: np.ndarray, w_enc: np.ndarray, b_enc: np.ndarray, w_dec: np.ndarray,
                b_dec: np.ndarray, k: int | None = None
                ) -> tuple[tuple[np.ndarray, np.ndarray], SAECache]:
    """Encode to sparse latents and decode back.

    Parameters
    ----------
    x : ndarray, shape (B, d)
    w_enc : ndarray, shape (m, d)
        Row j is the direction latent j reads.
    b_enc : ndarray, shape (m,)
    w_dec : ndarray, shape (d, m)
        Column j is the direction latent j writes (unit norm in training).
    b_dec : ndarray, shape (d,)
        Pre-decoder bias: subtracted before encoding, added after decoding.
    k : int or None
        ``None``: ReLU latents. An int: TopK latents, only the k largest pre-activations of
        each row survive (then ReLU).

    Returns
    -------
    (x_hat, z) : ndarrays, shapes (B, d) and (B, m)
        Reconstruction and latents.
    cache : SAECache

    Notes
    -----
    .. math::
        \\text{pre} = (x - b_{dec}) W_{enc}^T + b_{enc}, \\quad
        z = \\text{pre} \\odot a, \\quad \\hat x = z W_{dec}^T + b_{dec}

    where :math:`a = [\\text{pre} > 0]` for ReLU, and also requires pre to be among its
    row's k largest for TopK. Ties at the k-th value are broken by ``np.argpartition``.

    Examples
    --------
    >>> d, m = 3, 5
    >>> (x_hat, z), _ = sae_forward(np.ones((2, d)), np.ones((m, d)), np.zeros(m),
    ...                             np.ones((d, m)), np.zeros(d), k=2)
    >>> x_hat.shape, z.shape, (z > 0).sum(axis=1)
    ((2, 3), (2, 5), array([2, 2]))
    """
    m = w_enc.shape[0]
    pre, enc_cache = linear_forward(x - b_dec, w_enc, b_enc)           # (B, m)
    active = pre > 0
    if k is not None and k < m:
        top = np.argpartition(pre, m - k, axis=1)[:, m - k:]           # (B, k) the k largest
        in_top = np.zeros_like(active)
        np.put_along_axis(in_top, top, True, axis=1)
        active &= in_top
    z = np.where(active, pre, pre.dtype.type(0))                       # (B, m)
    x_hat, dec_cache = linear_forward(z, w_dec, b_dec)                 # (B, d)
    return (x_hat, z), SAECache(enc_cache, active, dec_cache)


def sae_backward(dx_hat: np.ndarray, dz: np.ndarray, cache: SAECache
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`sae_forward`, given the gradients of both outputs.

    Parameters
    ----------
    dx_hat : ndarray, shape (B, d)
    dz : ndarray, shape (B, m)
        dL/dz from anything that reads the latents directly (the L1 penalty).
    cache : SAECache

    Returns
    -------
    dx : ndarray, shape (B, d)
    dw_enc : ndarray, shape (m, d)
    db_enc : ndarray, shape (m,)
    dw_dec : ndarray, shape (d, m)
    db_dec : ndarray, shape (d,)

    Notes
    -----
    .. math::
        dz_{tot} = dz + d\\hat x\\, W_{dec}, \\quad d\\text{pre} = dz_{tot} \\odot a, \\quad
        db_{dec} = \\textstyle\\sum_B d\\hat x - \\sum_B d\\text{pre}\\, W_{enc}

    :math:`b_{dec}` appears twice, added at the output and subtracted at the input, so its
    gradient has two parts. TopK's mask is piecewise constant: away from ties the
    derivative through it is the mask itself.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, w_enc = rng.standard_normal((4, 3)), rng.standard_normal((6, 3))
    >>> w_dec = rng.standard_normal((3, 6))
    >>> (x_hat, z), cache = sae_forward(x, w_enc, np.zeros(6), w_dec, np.zeros(3))
    >>> [g.shape for g in sae_backward(np.ones_like(x_hat), np.zeros_like(z), cache)]
    [(4, 3), (6, 3), (6,), (3, 6), (3,)]
    """
    enc_cache, active, dec_cache = cache
    # fwd: x_hat = z @ w_dec.T + b_dec
    dz_dec, dw_dec, db_dec_out = linear_backward(dx_hat, dec_cache)    # (B, m)
    # fwd: z = where(active, pre, 0)
    dpre = np.where(active, dz + dz_dec, dz.dtype.type(0))             # (B, m)
    # fwd: pre = (x - b_dec) @ w_enc.T + b_enc
    dxc, dw_enc, db_enc = linear_backward(dpre, enc_cache)             # (B, d)
    # fwd: xc = x - b_dec  =>  dx = dxc, db_dec gets -sum(dxc)
    return dxc, dw_enc, db_enc, dw_dec, db_dec_out - dxc.sum(axis=0)
