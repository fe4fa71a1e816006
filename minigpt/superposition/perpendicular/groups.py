"""Vectors that lie on nearly the same line, parallel or antiparallel.

The video's loss is an L1 penalty on overlaps, and it walks towards putting many vectors
on few perpendicular lines (see :func:`~minigpt.superposition.nearly_perpendicular`);
:func:`parallel_groups` finds those lines, tile by tile as in ``loss.py``.
"""

from __future__ import annotations

import numpy as np

from .._common import _check_finite_array, _check_int, _check_real
from .loss import DEFAULT_BLOCK, _tiles

PARALLEL_COS = 0.9          # |cos| above this: two vectors share a line (about 26 degrees)


def parallel_groups(v: np.ndarray, min_abs_cos: float = PARALLEL_COS, *,
                    block: int = DEFAULT_BLOCK) -> np.ndarray:
    """Group the vectors that lie on nearly the same line (parallel or antiparallel).

    Parameters
    ----------
    v : ndarray, shape (n, d)
        Nonzero vectors.
    min_abs_cos : float
        Two vectors are linked when :math:`|\\cos\\theta| >` this, in [0.5, 1).
    block : int
        Tile side.

    Returns
    -------
    ndarray of int64, shape (n,)
        Group label of each vector, 0 .. K-1, numbered in order of each group's first
        vector: the connected components of the links.

    Notes
    -----
    Links are collected tile by tile (the threshold of at least 0.5 keeps them few unless
    the vectors really crowd together), then every vector repeatedly takes the smallest
    label among itself and its linked neighbours, with pointer jumping
    (``label = label[label]``), until nothing changes.

    Examples
    --------
    >>> v = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.01], [0.02, 1.0]])
    >>> parallel_groups(v)
    array([0, 1, 0, 1])
    """
    _check_finite_array("v", v, 2)
    min_abs_cos = _check_real("min_abs_cos", min_abs_cos, 0.5, 1.0, low_open=False)
    block = _check_int("block", block)
    n = v.shape[0]
    norms = np.linalg.norm(v.astype(np.float64), axis=1, keepdims=True)    # (n, 1)
    if np.any(norms == 0.0):
        raise ValueError(f"v must have nonzero rows, got {np.count_nonzero(norms == 0.0)} "
                         f"zero rows")
    u = v.astype(np.float64) / norms                                        # (n, d)
    src, dst = [], []
    for a0, a1, e0, e1 in _tiles(n, block):
        linked = np.abs(u[a0:a1] @ u[e0:e1].T) > min_abs_cos                # (ba, be)
        if a0 == e0:
            linked = np.triu(linked, k=1)
        i, j = np.nonzero(linked)
        src.append(i + a0)
        dst.append(j + e0)
    i, j = np.concatenate(src), np.concatenate(dst)                         # (n_links,)
    labels = np.arange(n)
    while True:
        new = labels.copy()
        smaller = np.minimum(labels[i], labels[j])
        np.minimum.at(new, i, smaller)
        np.minimum.at(new, j, smaller)
        new = new[new]                                                      # pointer jumping
        if np.array_equal(new, labels):
            break
        labels = new
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)
