"""Layer normalization: each row rescaled to zero mean and unit variance, then gain and bias."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

LN_EPS = 1e-5  # GPT-2 / GPT-3 and PyTorch's default


class LayerNormCache(NamedTuple):
    """What :func:`layernorm_backward` needs."""

    x_hat: np.ndarray  # (..., C) the normalized input, used for dgain and dx
    rstd: np.ndarray  # (..., 1) 1 / sqrt(var + eps), the scale applied to each row
    gain: np.ndarray  # (C,) multiplies the incoming gradient


def layernorm_forward(
    x: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float = LN_EPS
) -> tuple[np.ndarray, LayerNormCache]:
    r"""Normalize the last axis of ``x``, then apply a learned gain and bias.

    Parameters
    ----------
    x : ndarray, shape (..., C)
    gain, bias : ndarray, shape (C,)
    eps : float, default 1e-5

    Returns
    -------
    y : ndarray, shape (..., C)
    cache : LayerNormCache

    Notes
    -----
    .. math::
        \mu = \frac{1}{C}\sum_c x_c, \quad \sigma^2 = \frac{1}{C}\sum_c (x_c - \mu)^2,
        \quad \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \quad y = g \odot \hat x + b

    With :math:`d\hat x = g \odot dy`:

    .. math::
        dx = \text{rstd} \left(d\hat x - \overline{d\hat x} - \hat x\,
        \overline{d\hat x \odot \hat x}\right)

    where the bars are means over the last axis.

    Examples
    --------
    >>> y, _ = layernorm_forward(np.array([[1.0, 2.0, 3.0]]), np.ones(3), np.zeros(3))
    >>> np.round(y, 4)
    array([[-1.2247,  0.    ,  1.2247]])
    """
    mu = x.mean(axis=-1, keepdims=True)  # (..., 1)
    xc = x - mu
    var = np.mean(xc * xc, axis=-1, keepdims=True)  # (..., 1), biased, as in the papers
    rstd = 1.0 / np.sqrt(var + x.dtype.type(eps))  # (..., 1)
    x_hat = xc * rstd
    y = x_hat * gain + bias
    return y, LayerNormCache(x_hat, rstd, gain)


def layernorm_backward(
    dy: np.ndarray, cache: LayerNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of :func:`layernorm_forward` with respect to ``x``, ``gain``, ``bias``.

    Parameters
    ----------
    dy : ndarray, shape (..., C)
    cache : LayerNormCache

    Returns
    -------
    dx : ndarray, shape (..., C)
    dgain, dbias : ndarray, shape (C,)

    Notes
    -----
    .. math:: \hat x = (x - \mu)\,\text{rstd}, \quad \text{rstd} = \frac{1}{\sqrt{\sigma^2 + \epsilon}},
        \quad y = g \odot \hat x + b

    .. math::
        dg = \sum_{\text{rows}} dy \odot \hat x, \qquad db = \sum_{\text{rows}} dy, \qquad
        dx = \text{rstd} \left(d\hat x - \overline{d\hat x} - \hat x\,
        \overline{d\hat x \odot \hat x}\right)

    with :math:`d\hat x = g \odot dy` and bars for means over the last axis: the two mean
    terms are the paths through :math:`\mu` and :math:`\sigma^2`, which depend on every
    entry of the row.
    """
    x_hat, rstd, gain = cache
    C = x_hat.shape[-1]
    # fwd: y = gain * x_hat + bias  =>  dgain, dbias summed over all rows
    dgain = (dy * x_hat).reshape(-1, C).sum(axis=0)  # (C,)
    dbias = dy.reshape(-1, C).sum(axis=0)  # (C,)
    dx_hat = dy * gain
    # fwd: x_hat = (x - mu) * rstd, with mu and rstd themselves functions of x
    # =>  dx = rstd * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat))
    dx = rstd * (
        dx_hat
        - dx_hat.mean(axis=-1, keepdims=True)
        - x_hat * np.mean(dx_hat * x_hat, axis=-1, keepdims=True)
    )
    return dx, dgain, dbias
