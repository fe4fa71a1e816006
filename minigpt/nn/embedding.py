"""Embedding lookup: token ids become vectors by selecting rows of a table."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class EmbeddingCache(NamedTuple):
    """What :func:`embedding_backward` needs: the ids (where to scatter) and the table's shape."""

    idx: np.ndarray  # (...) int
    table_shape: tuple[int, int]  # (V, C)


def embedding_forward(idx: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, EmbeddingCache]:
    """Look up one row of ``table`` per id.

    Parameters
    ----------
    idx : ndarray of int, any shape (...)
        Ids in ``[0, V)``; checked by the model at its boundary.
    table : ndarray, shape (V, C)

    Returns
    -------
    out : ndarray, shape (..., C)
        ``out[..., :] = table[idx[...], :]``.
    cache : EmbeddingCache

    Notes
    -----
    The lookup equals multiplying a one-hot row by the table, so its gradient scatters back:

    .. math:: \\frac{\\partial L}{\\partial \\text{table}_v} = \\sum_{p: \\text{idx}_p = v}
        \\frac{\\partial L}{\\partial \\text{out}_p}

    Examples
    --------
    >>> out, _ = embedding_forward(np.array([[0, 2, 2]]), np.eye(3))
    >>> out.shape
    (1, 3, 3)
    """
    out = table[idx]  # (...) -> (..., C)
    return out, EmbeddingCache(idx, table.shape)


def embedding_backward(dout: np.ndarray, cache: EmbeddingCache) -> np.ndarray:
    """Scatter-add the output gradient back onto the rows that were read.

    Parameters
    ----------
    dout : ndarray, shape (..., C)
    cache : EmbeddingCache

    Returns
    -------
    dtable : ndarray, shape (V, C)
        A repeated id accumulates the gradient of every position that read it.
    """
    idx, (V, C) = cache
    ids = idx.reshape(-1)  # (N,)
    rows = dout.reshape(-1, C)  # (N, C)
    # fwd: out[p] = table[idx[p]]  =>  dtable[idx[p]] += dout[p], repeats accumulate.
    # Sorting puts the positions of each id side by side; reduceat then sums each run
    # (in the original order, as np.add.at would, but several times faster).
    order = np.argsort(ids, kind="stable")  # (N,)
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.diff(sorted_ids, prepend=-1))  # (U,) first position of each id
    dtable = np.zeros((V, C), dtype=dout.dtype)
    dtable[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)  # (U, C)
    return dtable
