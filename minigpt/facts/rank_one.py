"""The rank-one update that stores one new key -> value pair in an MLP's down-projection.

ROME (Meng et al. 2022) reads an MLP's down-projection ``W`` as a key-value memory. To make
it map a key ``k*`` to a value ``v*`` while disturbing the other keys as little as possible,
it changes ``W`` by one outer product: the smallest change in the metric of the keys'
covariance ``C``. :func:`rank_one_update` is that step; :mod:`minigpt.facts.edit` (the
athletes) and :mod:`minigpt.facts.rome` (any fact) both edit through it.
"""

from __future__ import annotations

import numpy as np


def rank_one_update(w_down: np.ndarray, b_down: np.ndarray, key: np.ndarray, value: np.ndarray,
                    C: np.ndarray) -> np.ndarray:
    """The new down-projection that maps ``key`` to ``value``, changed in rank one.

    Parameters
    ----------
    w_down : ndarray, shape (C_model, F)
    b_down : ndarray, shape (C_model,)
    key : ndarray, shape (F,)
    value : ndarray, shape (C_model,)
    C : ndarray, shape (F, F)
        Key covariance (symmetric positive definite).

    Returns
    -------
    ndarray, shape (C_model, F)

    Notes
    -----
    Minimizing :math:`\\sum_j \\|W' k_j - W k_j\\|^2` over the corpus keys subject to
    :math:`W' k^* + b = v^*` gives

    .. math:: W' = W + \\frac{(v^* - W k^* - b)\\,(C^{-1} k^*)^T}{k^{*T} C^{-1} k^*}

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W, k, v = rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal(3)
    >>> W2 = rank_one_update(W, np.zeros(3), k, v, np.eye(5))
    >>> bool(np.allclose(W2 @ k, v)), int(np.linalg.matrix_rank(W2 - W))
    (True, 1)
    """
    c_inv_k = np.linalg.solve(C, key)  # (F,) C^-1 k*
    residual = value - (w_down @ key + b_down)  # (C_model,) what the memory must add
    return w_down + np.outer(residual, c_inv_k) / (key @ c_inv_k)
