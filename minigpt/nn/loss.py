"""Cross-entropy of next-token prediction, straight from the logits."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class CrossEntropyCache(NamedTuple):
    """What :func:`cross_entropy_backward` needs."""

    probs: np.ndarray  # (N, V) softmax of the logits: the gradient is probs - onehot
    targets: np.ndarray  # (N,) the right ids (ignored rows hold 0)
    weight: np.ndarray  # (N,) 1/n for counted rows, 0 for ignored ones
    shape: tuple[int, ...]  # the logits' original shape (..., V)


def cross_entropy_forward(
    logits: np.ndarray, targets: np.ndarray, ignore_index: int | None = None
) -> tuple[float, CrossEntropyCache]:
    r"""Mean negative log-probability of the target ids.

    Parameters
    ----------
    logits : ndarray, shape (..., V)
    targets : ndarray of int, shape (...)
        Ids in ``[0, V)``, or ``ignore_index``.
    ignore_index : int or None
        Targets equal to this are left out of the mean (e.g. padding, or prompt tokens).

    Returns
    -------
    loss : float
    cache : CrossEntropyCache

    Raises
    ------
    ValueError
        If every target is ignored (the mean would be 0/0).

    Notes
    -----
    With the log-sum-exp taken stably (:math:`m = \max_v z_v`) over the n counted rows:

    .. math:: L = -\frac1n \sum_p \left(z_{p,t_p} - m_p - \log\sum_v e^{z_{p,v} - m_p}\right)

    .. math:: \frac{\partial L}{\partial z_{p,v}} = \frac1n\left(\operatorname{softmax}(z_p)_v
        - [v = t_p]\right)

    Examples
    --------
    >>> loss, _ = cross_entropy_forward(np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=int))
    >>> round(loss, 6) == round(float(np.log(4)), 6)
    True
    """
    V = logits.shape[-1]
    z = logits.reshape(-1, V)  # (N, V)
    t = targets.reshape(-1)  # (N,)
    counted = np.ones(t.shape, dtype=bool) if ignore_index is None else t != ignore_index
    n = int(counted.sum())
    if n == 0:
        raise ValueError(f"every target equals ignore_index={ignore_index}; nothing to average")
    t = np.where(counted, t, 0)
    rows = np.arange(z.shape[0])
    # stable: subtract each row's max before exponentiating
    shifted = z - z.max(axis=-1, keepdims=True)  # (N, V)
    exp = np.exp(shifted)  # (N, V)
    sum_exp = exp.sum(axis=-1)  # (N,)
    logp_target = shifted[rows, t] - np.log(sum_exp)  # (N,)
    loss = -float(np.sum(logp_target, where=counted)) / n
    probs = exp / sum_exp[:, None]  # (N, V) the softmax, kept for the backward
    weight = counted.astype(logits.dtype) / logits.dtype.type(n)  # (N,)
    return loss, CrossEntropyCache(probs, t, weight, logits.shape)


def cross_entropy_backward(dloss: float, cache: CrossEntropyCache) -> np.ndarray:
    r"""Gradient of :func:`cross_entropy_forward` with respect to the logits.

    Parameters
    ----------
    dloss : float
        dL_total/dloss; 1.0 when the cross-entropy is the whole objective.
    cache : CrossEntropyCache

    Returns
    -------
    dlogits : ndarray, shape (..., V)

    Notes
    -----
    .. math:: L = -\frac1n \sum_p \log \operatorname{softmax}(z_p)_{t_p}

    .. math:: \frac{\partial L}{\partial z_{p,v}} = \frac1n \left(\operatorname{softmax}(z_p)_v
        - [v = t_p]\right)

    zero for ignored rows, all times ``dloss``.
    """
    probs, t, weight, shape = cache
    # fwd: loss = mean over counted rows of -(z_t - logsumexp(z))  =>  (softmax - onehot) / n
    dz = probs.copy()  # (N, V)
    dz[np.arange(dz.shape[0]), t] -= 1
    dz *= (weight * probs.dtype.type(dloss))[:, None]
    return dz.reshape(shape)
