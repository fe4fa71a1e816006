"""Generating text: decoding with a key/value cache, and choosing each next token.

::

    prompt (B,T) -> decode (all T at once: prefill) -> logits of the last position (B,V)
                 -> sample_logits -> next token -> decode (one token, over the cache) -> ...

:func:`generate` is what :meth:`minigpt.GPT.generate` runs. :func:`decode` passes new tokens
through the model's blocks with :func:`minigpt.nn.attention_decode`, which appends their
keys and values to per-layer caches instead of recomputing the past. :func:`sample_logits`
picks a token from logits: greedy, temperature, top-k and nucleus (top-p).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import NonFiniteError, check_float, check_idx, check_int
from .block import block_forward
from .nn import layernorm_forward

# ``GPT`` in the annotations is :class:`minigpt.GPT`, named but not imported: the model
# imports this module (for its ``generate`` method), so the imports run one way only.

KVCache = list[tuple[np.ndarray, np.ndarray]]  # per layer: keys, values (B, H, n_ctx, D)


def check_sampling_args(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise a clear error for sampling settings outside their ranges."""
    check_float("temperature", temperature, 0)
    if top_k is not None:
        check_int("top_k", top_k, minimum=1)
    if top_p is not None:
        check_float("top_p", top_p, 0, 1, low_open=True)


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


def decode(model: GPT, idx: np.ndarray, kv: KVCache, n_past: int) -> np.ndarray:
    """Logits of the last of the new tokens ``idx``, filling the key/value caches.

    Parameters
    ----------
    model : GPT
    idx : ndarray of int64, shape (B, T)
        New tokens (already checked), at positions ``n_past .. n_past + T - 1``.
    kv : list of (ndarray, ndarray)
        Each layer's key and value caches, shape (B, H, n_ctx, D); positions
        ``< n_past`` hold the past, the new positions are written here.
    n_past : int
        How many positions the caches already hold.

    Returns
    -------
    logits : ndarray, shape (B, V)
        The scores of the token that follows the last new one.
    """
    p = model.params
    T = idx.shape[1]
    x = p["tok_emb"][idx] + p["pos_emb"][n_past:n_past + T]  # (B, T, C)
    for i in range(model.config.n_layer):
        x, _ = block_forward(p, model.config, i, x, kv[i], n_past)
    h, _ = layernorm_forward(x[:, -1], p["ln_f.gain"], p["ln_f.bias"])  # (B, C)
    return h @ p["tok_emb"].T  # (B, C) @ (C, V) -> (B, V)


def generate(
    model: GPT,
    idx: Any,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> np.ndarray:
    """Continue token sequences, one token at a time, with a key/value cache.

    Parameters
    ----------
    model : GPT
    idx : array_like of int, shape (B, T) or (T,)
        The prompts, ``T <= n_ctx``.
    max_new_tokens : int
        How many tokens to append.
    temperature : float, default 1.0
        ``0`` is greedy decoding (always the most likely token); any positive value,
        however small, samples (see :func:`sample_logits`).
    top_k : int or None
        Sample only among the k most likely tokens.
    top_p : float or None
        Nucleus sampling: only among the most likely tokens that hold ``top_p`` of the
        probability.
    seed : int or None
        Seeds the sampling.

    Returns
    -------
    ndarray of int64, shape (B, T + max_new_tokens) or (T + max_new_tokens,)
        The prompts followed by the generated tokens.

    Raises
    ------
    NonFiniteError
        If the model's logits are NaN or infinite (e.g. weights ruined by a diverged
        training run), instead of sampling from them.

    Notes
    -----
    The prompt is run once (prefill) and every layer keeps its keys and values; each
    new token then runs through the model alone, attending over the cache. When the
    sequence outgrows ``n_ctx`` (learned positions end there), the cache is rebuilt from
    the last ``n_ctx // 2`` tokens and decoding continues: a sliding window that
    re-runs half a context every ``n_ctx // 2`` tokens.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> model = GPT(GPTConfig(vocab_size=16, n_ctx=8, n_layer=1, n_head=2, d_model=8))
    >>> generate(model, np.array([1, 2, 3]), max_new_tokens=10, temperature=0).shape
    (13,)
    """
    idx2 = check_idx(idx, model.config.vocab_size, model.config.n_ctx)
    max_new_tokens = check_int("max_new_tokens", max_new_tokens, minimum=0)
    check_sampling_args(temperature, top_k, top_p)
    cfg = model.config
    rng = np.random.default_rng(seed)
    B, T0 = idx2.shape
    out = np.empty((B, T0 + max_new_tokens), dtype=np.int64)  # (B, T0 + new)
    out[:, :T0] = idx2
    cache_shape = (B, cfg.n_head, cfg.n_ctx, cfg.d_head)  # (B, H, n_ctx, D) per layer
    kv = [(np.empty(cache_shape, model.dtype), np.empty(cache_shape, model.dtype))
          for _ in range(cfg.n_layer)]
    logits = decode(model, idx2, kv, 0)  # prefill: the whole prompt at once
    n_cached = T0
    for n in range(T0, T0 + max_new_tokens):
        check_finite_logits(model, logits, n - T0)
        out[:, n] = sample_logits(logits, rng, temperature, top_k, top_p)
        if n + 1 == out.shape[1]:
            break
        if n_cached == cfg.n_ctx:  # no position left: slide, keeping the newest half
            keep = max(cfg.n_ctx // 2, 1)
            logits = decode(model, out[:, n + 1 - keep:n + 1], kv, 0)
            n_cached = keep
        else:
            logits = decode(model, out[:, n:n + 1], kv, n_cached)
            n_cached += 1
    return out[0] if np.ndim(idx) == 1 else out


def check_finite_logits(model: GPT, logits: np.ndarray, n_done: int) -> None:
    """Raise :class:`NonFiniteError` if the logits (B, V) hold NaN or inf.

    The argmax of a row of NaNs is 0, so without this check a broken model would
    "generate" token 0 forever and look as if it worked.
    """
    if np.isfinite(logits).all():
        return
    n_bad = sum(int(np.count_nonzero(~np.isfinite(p))) for p in model.params.values())
    cause = (f"{n_bad:,} of the model's {model.n_params:,} weights are NaN or infinite"
             if n_bad else f"the weights are finite but overflow {np.dtype(model.dtype).name}")
    raise NonFiniteError(f"the logits for new token {n_done + 1} are not finite: {cause}")
