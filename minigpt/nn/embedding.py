"""Embedding lookup: token ids become vectors by selecting rows of a table."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class EmbeddingCache(NamedTuple):
    """What :func:`embedding_backward` needs: the ids (where to scatter) and the table's shape."""

    idx: np.ndarray  # (...) int
    table_shape: tuple[int, int]  # (V, C)


def embedding_forward(idx: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, EmbeddingCache]:
    r"""Look up one row of ``table`` per id.

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
    .. math:: \text{out}_p = \text{table}_{\text{idx}_p}

    The lookup equals multiplying a one-hot row by the table, so its gradient
    (:func:`embedding_backward`) scatters back:

    .. math:: d\text{table}_v = \sum_{p:\ \text{idx}_p = v} d\text{out}_p

    Examples
    --------
    >>> out, _ = embedding_forward(np.array([[0, 2, 2]]), np.eye(3))
    >>> out.shape
    (1, 3, 3)
    """
    out = table[idx]  # (...) -> (..., C)
    return out, EmbeddingCache(idx, table.shape)


def embedding_backward(dout: np.ndarray, cache: EmbeddingCache) -> np.ndarray:
    r"""Scatter-add the output gradient back onto the rows that were read.

    Parameters
    ----------
    dout : ndarray, shape (..., C)
    cache : EmbeddingCache

    Returns
    -------
    dtable : ndarray, shape (V, C)
        A repeated id accumulates the gradient of every position that read it.

    Notes
    -----
    .. math:: \text{out}_p = \text{table}_{\text{idx}_p}

    .. math:: d\text{table}_v = \sum_{p:\ \text{idx}_p = v} d\text{out}_p

    ``np.add.at`` adds every row even when an id repeats (``dtable[idx] += dout`` would
    keep only one of them).
    """
    idx, (V, C) = cache
    dtable = np.zeros((V, C), dtype=dout.dtype)
    # fwd: out[p] = table[idx[p]]  =>  dtable[idx[p]] += dout[p], repeats accumulate
    np.add.at(dtable, idx.reshape(-1), dout.reshape(-1, C))  # (N,), (N, C) -> (V, C)
    return dtable
