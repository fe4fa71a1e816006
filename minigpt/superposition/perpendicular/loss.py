"""The video's loss on n vectors and its gradient, computed tile by tile.

The Gram matrix :math:`G = V V^T` is never stored: :func:`perpendicular_loss_and_grad`
walks over the tiles on or above its diagonal (``_tiles``, also used by ``angles.py``
and ``groups.py`` to measure the result) and keeps only a few of them at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .._common import _check_finite_array, _check_int, _check_real

DEFAULT_CUTOFF = 0.01       # |G_ij - delta_ij| below this costs nothing
DEFAULT_BLOCK = 1000        # tile side: 1000 x 1000 float32 = 4 MB


def _tiles(n: int, block: int) -> Iterator[tuple[int, int, int, int]]:
    """Row and column ranges ``(a0, a1, e0, e1)`` of the tiles on or above the diagonal."""
    for a0 in range(0, n, block):
        for e0 in range(a0, n, block):
            yield a0, min(a0 + block, n), e0, min(e0 + block, n)


def perpendicular_loss_and_grad(v: np.ndarray, cutoff: float = DEFAULT_CUTOFF, *,
                                block: int = DEFAULT_BLOCK) -> tuple[float, np.ndarray]:
    """The video's loss on n vectors and its gradient, computed tile by tile.

    Parameters
    ----------
    v : ndarray, shape (n, d)
        The vectors, one per row; float32 or float64 (the gradient has the same dtype).
    cutoff : float
        c, the deviation from :math:`\\delta_{ij}` that is free.
    block : int
        Tile side; memory is :math:`O(\\text{block}^2)`, independent of n.

    Returns
    -------
    loss : float
    dv : ndarray, shape (n, d)

    Notes
    -----
    With :math:`G = V V^T`, summing over *all* ordered pairs (i, j), diagonal included:

    .. math::
        L = \\sum_{i,j} \\max\\left(|G_{ij} - \\delta_{ij}| - c,\\, 0\\right)
            + n \\sum_i (G_{ii} - 1)^2

    Off the diagonal the hinge charges :math:`|\\cos|`-like overlaps beyond c, each pair
    twice. On the diagonal the same hinge charges :math:`|\\|v_i\\|^2 - 1|` beyond c, and
    the second term adds a steep quadratic pull of every squared norm towards 1.
    Backward: with :math:`S = \\partial L / \\partial G`,

    .. math::
        S_{ij} = \\operatorname{sign}(G_{ij} - \\delta_{ij})\\,
                 [\\,|G_{ij} - \\delta_{ij}| > c\\,] + 2n\\,\\delta_{ij}(G_{ii} - 1),
        \\qquad
        \\frac{\\partial L}{\\partial V} = (S + S^T) V = 2 S V

    because :math:`dG = dV\\,V^T + V\\,dV^T` and S is symmetric (G is). In tiles: a
    diagonal tile adds :math:`S_{AA} V_A` to rows A; an off-diagonal tile adds
    :math:`S_{AE} V_E` to rows A and :math:`S_{AE}^T V_A` to rows E (the tile below the
    diagonal it stands for); the sum is doubled at the end. The hinge has no derivative
    at :math:`|G_{ij} - \\delta_{ij}| = c`; the value 0 is used there, as autograd does.

    The hinge's loss is read off S without another pass over the tile:
    :math:`\\sum \\max(|g| - c, 0) = \\langle S, G - I \\rangle - c \\cdot \\#\\{S \\ne 0\\}`.

    Examples
    --------
    >>> v = np.array([[1.0, 0.0], [0.6, 0.8]])    # unit vectors with cos = 0.6
    >>> loss, dv = perpendicular_loss_and_grad(v, cutoff=0.1)
    >>> round(loss, 6), dv.shape                  # two ordered pairs: 2 * (0.6 - 0.1)
    (1.0, (2, 2))
    """
    _check_finite_array("v", v, 2)
    cutoff = _check_real("cutoff", cutoff, 0.0, math.inf, low_open=False)
    block = _check_int("block", block)
    n, d = v.shape
    dt = v.dtype.type
    c = dt(cutoff)
    size = min(block, n)
    g_buf = np.empty(size * size, dtype=v.dtype)          # one tile of G - I
    s_buf = np.empty(size * size, dtype=v.dtype)          # one tile of S
    pos_buf = np.empty(size * size, dtype=bool)
    neg_buf = np.empty(size * size, dtype=bool)
    t_buf = np.empty(size * d, dtype=v.dtype)             # one tile's S @ V
    dv = np.zeros_like(v)                                 # (n, d)
    loss = 0.0
    for a0, a1, e0, e1 in _tiles(n, block):
        ba, be = a1 - a0, e1 - e0
        va, ve = v[a0:a1], v[e0:e1]                       # (ba, d), (be, d)
        g = np.matmul(va, ve.T, out=g_buf[:ba * be].reshape(ba, be))   # (ba, be)
        on_diag = a0 == e0
        if on_diag:
            idx = np.arange(ba)
            g[idx, idx] -= dt(1.0)                        # G - I
        pos = np.greater(g, c, out=pos_buf[:ba * be].reshape(ba, be))
        neg = np.less(g, -c, out=neg_buf[:ba * be].reshape(ba, be))
        s = s_buf[:ba * be].reshape(ba, be)
        np.copyto(s, pos)
        np.subtract(s, neg, out=s)                        # sign(G - I) [|G - I| > c]
        hinge = float(np.vdot(s, g)) - cutoff * int(np.count_nonzero(pos) + np.count_nonzero(neg))
        if on_diag:
            r = g[idx, idx]                               # (ba,) G_ii - 1
            loss += hinge + n * float(np.dot(r, r))
            s[idx, idx] += dt(2 * n) * r                  # fwd: n (G_ii - 1)^2  =>  2n (G_ii - 1)
            t = np.matmul(s, va, out=t_buf[:ba * d].reshape(ba, d))
            dv[a0:a1] += t
        else:
            loss += 2.0 * hinge                           # the mirrored tile below the diagonal
            t = np.matmul(s, ve, out=t_buf[:ba * d].reshape(ba, d))
            dv[a0:a1] += t
            t = np.matmul(s.T, va, out=t_buf[:be * d].reshape(be, d))
            dv[e0:e1] += t
    dv *= dt(2.0)                                         # fwd: G = V V^T  =>  dV = 2 S V
    return loss, dv
