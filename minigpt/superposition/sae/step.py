"""What one SAE training step is made of: loss and gradients, and the unit-norm decoder.

:func:`sae_loss_and_grads` chains ``autoencoder.py`` and ``loss.py``;
:func:`project_decoder_grad` and :func:`normalize_decoder` keep the decoder's columns
unit length across the Adam step. The loop that runs the steps is in ``training.py``.
"""

from __future__ import annotations

import numpy as np

from .autoencoder import sae_backward, sae_forward
from .loss import sae_loss_backward, sae_loss_forward


def sae_loss_and_grads(params: dict[str, np.ndarray], x: np.ndarray, scale: float,
                       l1: float = 0.0, k: int | None = None
                       ) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
    """Loss of an SAE on a batch, the gradients of its four parameters, and the latents.

    Parameters
    ----------
    params : dict
        ``w_enc`` (m, d), ``b_enc`` (m,), ``w_dec`` (d, m), ``b_dec`` (d,).
    x : ndarray, shape (B, d)
    scale : float
        See :func:`sae_loss_forward`.
    l1 : float
    k : int or None

    Returns
    -------
    loss : float
    grads : dict
        Same keys and shapes as ``params`` (the raw gradient; see
        :func:`project_decoder_grad`).
    z : ndarray, shape (B, m)

    Examples
    --------
    >>> from minigpt.superposition import data_scale, init_sae
    >>> x = np.random.default_rng(0).standard_normal((8, 4))
    >>> loss, grads, z = sae_loss_and_grads(init_sae(4, 6, dtype=np.float64), x, data_scale(x), 0.1)
    >>> grads["w_dec"].shape, z.shape
    ((4, 6), (8, 6))
    """
    (x_hat, z), cache = sae_forward(x, params["w_enc"], params["b_enc"], params["w_dec"],
                                    params["b_dec"], k)
    loss, loss_cache = sae_loss_forward(x, x_hat, z, scale, l1)
    dx_hat, dz = sae_loss_backward(1.0, loss_cache)
    _, dw_enc, db_enc, dw_dec, db_dec = sae_backward(dx_hat, dz, cache)
    return loss, {"w_enc": dw_enc, "b_enc": db_enc, "w_dec": dw_dec, "b_dec": db_dec}, z


def project_decoder_grad(w_dec: np.ndarray, dw_dec: np.ndarray) -> np.ndarray:
    """Remove from each column's gradient its component along the (unit) column.

    Parameters
    ----------
    w_dec : ndarray, shape (d, m)
        Unit columns.
    dw_dec : ndarray, shape (d, m)

    Returns
    -------
    ndarray, shape (d, m)

    Notes
    -----
    .. math:: g_j \\leftarrow g_j - (g_j \\cdot w_j)\\, w_j

    A step along :math:`w_j` would only change the column's length, which the
    renormalization after the step undoes; removing it leaves the part that turns the
    column. Adam rescales coordinates, so its step is not exactly perpendicular: hence the
    renormalization as well.

    Examples
    --------
    >>> project_decoder_grad(np.eye(2), np.array([[3.0, 1.0], [2.0, 5.0]]))
    array([[0., 1.],
           [2., 0.]])
    """
    along = np.sum(dw_dec * w_dec, axis=0)                             # (m,)
    return dw_dec - w_dec * along


def normalize_decoder(w_dec: np.ndarray) -> None:
    """Scale each column of ``w_dec`` (d, m) to unit norm, in place.

    Examples
    --------
    >>> w = np.array([[3.0, 0.0], [4.0, 2.0]])
    >>> normalize_decoder(w); w
    array([[0.6, 0. ],
           [0.8, 1. ]])
    """
    w_dec /= np.maximum(np.linalg.norm(w_dec, axis=0), np.finfo(w_dec.dtype).tiny)
