"""Choosing the next token from logits: greedy, temperature, top-k and nucleus (top-p)."""

from __future__ import annotations

import numpy as np


def check_sampling_args(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise a clear error for sampling settings outside their ranges."""
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be None or an int >= 1, got {top_k!r}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must be None or in (0, 1], got {top_p}")


def sample_logits(
    logits: np.ndarray,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> np.ndarray:
    """Pick one token id per row of ``logits``.

    Parameters
    ----------
    logits : ndarray, shape (B, V)
    rng : numpy.random.Generator
    temperature : float, default 1.0
        Divides the logits before the softmax; ``0`` means greedy (argmax). Any positive
        value works, however small (even ``1e-320``): as it goes to 0 the distribution
        becomes greedy, the most likely tokens sharing all the probability.
    top_k : int or None
        Keep only the k most likely tokens.
    top_p : float or None
        Keep the smallest set of most likely tokens whose probabilities add up to at least
        ``top_p`` (nucleus sampling; the most likely token is always kept).

    Returns
    -------
    ids : ndarray of int64, shape (B,)

    Raises
    ------
    ValueError
        If a logit is NaN or ``+inf``, or a row has no finite logit (``-inf`` masks a
        token; NaN would silently pick token 0).

    Notes
    -----
    Each row's largest logit is subtracted *before* dividing by the temperature, so every
    scaled logit is ``<= 0`` and the largest is exactly 0: a tiny temperature sends the
    others to ``-inf`` (probability 0) instead of overflowing to ``inf - inf = NaN``.

    Examples
    --------
    >>> logits = np.array([[0.0, 3.0, 1.0]])
    >>> sample_logits(logits, np.random.default_rng(0), temperature=0)
    array([1])
    >>> sample_logits(logits, np.random.default_rng(0), top_k=1)
    array([1])
    """
    check_sampling_args(temperature, top_k, top_p)
    logits = np.asarray(logits, dtype=np.float64)  # (B, V); float64: sampling is not the hot path
    row_max = logits.max(axis=-1, keepdims=True)  # (B, 1); NaN if the row holds a NaN
    if not np.isfinite(row_max).all():
        raise ValueError(f"logits must be numbers or -inf with a finite maximum in every row, "
                         f"got row maxima {row_max[~np.isfinite(row_max)][:5].tolist()}")
    if temperature == 0:
        return logits.argmax(axis=-1).astype(np.int64)
    with np.errstate(over="ignore"):  # overflow to -inf is the right limit: probability 0
        z = (logits - row_max) / temperature  # (B, V), every entry <= 0, the largest 0
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.partition(z, -top_k, axis=-1)[:, -top_k][:, None]  # (B, 1) k-th largest
        z = np.where(z < kth, -np.inf, z)
    probs = np.exp(z)  # no overflow: z <= 0
    probs /= probs.sum(axis=-1, keepdims=True)
    if top_p is not None and top_p < 1:
        order = np.argsort(-probs, axis=-1)  # (B, V) most likely first
        sorted_p = np.take_along_axis(probs, order, axis=-1)
        before = np.cumsum(sorted_p, axis=-1) - sorted_p  # mass of the strictly more likely
        drop_sorted = before >= top_p  # already enough mass without this token
        drop = np.zeros_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, axis=-1)
        probs[drop] = 0
        probs /= probs.sum(axis=-1, keepdims=True)
    u = rng.random((probs.shape[0], 1))  # (B, 1) one uniform draw per row
    ids = (probs.cumsum(axis=-1) < u).sum(axis=-1)  # inverse-CDF sampling
    return np.minimum(ids, probs.shape[-1] - 1).astype(np.int64)
