"""Causal multi-head self-attention: how information moves between positions.

In the video's example, attention is what carries "Michael" into the vector at the
"Jordan" position, so that the MLP there can ask "is this Michael Jordan?".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .linear import LinearCache, linear_backward, linear_forward
from .softmax import SoftmaxCache, softmax_backward_inplace, softmax_forward_inplace

Tap = Callable[[str, np.ndarray], np.ndarray]  # (point name, value) -> value to use


def causal_mask(T: int, window: int | None = None, n_past: int = 0) -> np.ndarray:
    """Which positions each position may attend to.

    Parameters
    ----------
    T : int
        Number of query positions.
    window : int or None
        ``None``: dense causal, position t sees 0 .. t. An int w: locally banded causal,
        position t sees t - w + 1 .. t (GPT-3's sparse layers).
    n_past : int, default 0
        Keys already cached before these queries (incremental decoding): the queries sit at
        positions ``n_past .. n_past + T - 1`` and the keys at ``0 .. n_past + T - 1``.

    Returns
    -------
    allowed : ndarray of bool, shape (T, n_past + T)
        ``allowed[i, s]`` is True when query i may read key s.

    Examples
    --------
    >>> causal_mask(4, window=2).astype(int)
    array([[1, 0, 0, 0],
           [1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """
    t = np.arange(n_past, n_past + T)[:, None]  # (T, 1) query positions
    s = np.arange(n_past + T)[None, :]  # (1, n_past + T) key positions
    allowed = s <= t
    if window is not None:
        allowed &= s > t - window
    return allowed


def attend(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, allowed: np.ndarray, tap: Tap | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Masked scaled dot-product attention of every head: scores, mask, softmax, weighted sum.

    The kernel that :func:`attention_forward` (training) and :func:`attention_decode`
    (generation with cached keys and values) share.

    Parameters
    ----------
    q : ndarray, shape (B, H, T, D)
        Queries of the T new positions.
    k, v : ndarray, shape (B, H, S, D)
        Keys and values of the S positions they may read (S = T in training, the cached
        positions plus the new ones when decoding).
    allowed : ndarray of bool, shape (T, S)
        Which key each query may read (:func:`causal_mask`); every row allows at least one.
    tap : callable, optional
        ``tap("pattern", att)`` sees the pattern and returns the one to use.

    Returns
    -------
    att : ndarray, shape (B, H, T, S)
        The attention pattern; each row sums to 1.
    y : ndarray, shape (B, T, H * D)
        Each head's weighted sum of values, heads side by side (ready for ``w_out``).

    Notes
    -----
    Per head, with :math:`M` = 0 where allowed and :math:`-\infty` elsewhere:

    .. math:: A = \operatorname{softmax}\!\left(\frac{Q K^T}{\sqrt{D}} + M\right), \qquad Y = A V

    Examples
    --------
    >>> q = k = v = np.ones((1, 1, 3, 2))
    >>> att, y = attend(q, k, v, causal_mask(3))
    >>> att[0, 0]
    array([[1.        , 0.        , 0.        ],
           [0.5       , 0.5       , 0.        ],
           [0.33333333, 0.33333333, 0.33333333]])
    >>> y.shape
    (1, 3, 2)
    """
    B, H, T, D = q.shape  # batch, heads, queries, head width
    scores = q @ k.transpose(0, 1, 3, 2)  # (B, H, T, D) @ (B, H, D, S) -> (B, H, T, S)
    scores *= 1.0 / math.sqrt(D)
    np.copyto(scores, -np.inf, where=~allowed)  # future (and out-of-band) keys get weight 0
    att, _ = softmax_forward_inplace(scores)  # (B, H, T, S), in the scores' memory
    if tap is not None:
        att = tap("pattern", att)
    y = np.empty((B, T, H, D), dtype=q.dtype)  # heads side by side, filled by the matmul
    np.matmul(att, v, out=y.transpose(0, 2, 1, 3))  # (B, H, T, S) @ (B, H, S, D) -> (B, H, T, D)
    return att, y.reshape(B, T, H * D)


def _split_heads(qkv: np.ndarray, n_head: int) -> np.ndarray:
    """The fused projection's output (B, T, 3C) as q, k, v stacked: (3, B, H, T, D), a view."""
    B, T, C3 = qkv.shape
    D = C3 // (3 * n_head)
    return qkv.reshape(B, T, 3, n_head, D).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, D)


class AttentionCache(NamedTuple):
    """What :func:`attention_backward` needs."""

    qkv: LinearCache  # x and w_qkv, for the fused projection's backward
    q: np.ndarray  # (B, H, T, D) for dk
    k: np.ndarray  # (B, H, T, D) for dq
    v: np.ndarray  # (B, H, T, D) for datt
    att: np.ndarray  # (B, H, T, T) the attention pattern, for dv and the softmax backward
    out: LinearCache  # merged heads and w_out, for the output projection's backward


def attention_forward(
    x: np.ndarray,
    w_qkv: np.ndarray,
    b_qkv: np.ndarray,
    w_out: np.ndarray,
    b_out: np.ndarray,
    n_head: int,
    window: int | None = None,
    tap: Tap | None = None,
) -> tuple[np.ndarray, AttentionCache]:
    r"""Causal multi-head self-attention with one fused q, k, v projection.

    Parameters
    ----------
    x : ndarray, shape (B, T, C)
    w_qkv : ndarray, shape (3C, C)
        Rows 0..C-1 make queries, C..2C-1 keys, 2C..3C-1 values.
    b_qkv : ndarray, shape (3C,)
    w_out : ndarray, shape (C, C)
    b_out : ndarray, shape (C,)
    n_head : int
        H; each head has width D = C / H.
    window : int or None
        Band width for locally banded attention (see :func:`causal_mask`).
    tap : callable, optional
        ``tap("pattern", att)`` sees the attention pattern (B, H, T, T) and returns the
        pattern to use (the model's hooks read and patch activations through it).

    Returns
    -------
    y : ndarray, shape (B, T, C)
    cache : AttentionCache

    Notes
    -----
    Per head, with the causal mask :math:`M` (0 where allowed, :math:`-\infty` elsewhere),
    computed by :func:`attend`:

    .. math:: A = \operatorname{softmax}\!\left(\frac{Q K^T}{\sqrt{D}} + M\right), \qquad
        Y = A V

    and the heads are concatenated and projected by ``w_out``. The backward
    (:func:`attention_backward`):

    .. math:: dA = dY\,V^T,\ dV = A^T dY,\ dS = \operatorname{softmax}'(dA),\
        dQ = dS\,K / \sqrt D,\ dK = dS^T Q / \sqrt D

    References
    ----------
    Vaswani et al., "Attention Is All You Need", 2017. Brown et al., "Language Models are
    Few-Shot Learners", 2020 (alternating dense and locally banded layers).

    Examples
    --------
    >>> B, T, C, H = 2, 5, 8, 2
    >>> y, cache = attention_forward(rng.standard_normal((B, T, C)), rng.standard_normal((3 * C, C)),
    ...                              np.zeros(3 * C), rng.standard_normal((C, C)), np.zeros(C), H)
    >>> y.shape, cache.att.shape
    ((2, 5, 8), (2, 2, 5, 5))
    """
    B, T, C = x.shape  # batch, time, channels
    qkv, qkv_cache = linear_forward(x, w_qkv, b_qkv)  # (B, T, 3C)
    q, k, v = _split_heads(qkv, n_head)  # 3 x (B, H, T, D), views
    att, y = attend(q, k, v, causal_mask(T, window), tap)  # (B, H, T, T), (B, T, C)
    out, out_cache = linear_forward(y, w_out, b_out)  # (B, T, C)
    return out, AttentionCache(qkv_cache, q, k, v, att, out_cache)


def attention_backward(
    dout: np.ndarray, cache: AttentionCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of :func:`attention_forward`, in the reverse order of its steps.

    Parameters
    ----------
    dout : ndarray, shape (B, T, C)
    cache : AttentionCache

    Returns
    -------
    dx : ndarray, shape (B, T, C)
    dw_qkv : ndarray, shape (3C, C)
    db_qkv : ndarray, shape (3C,)
    dw_out : ndarray, shape (C, C)
    db_out : ndarray, shape (C,)

    Notes
    -----
    Per head, the forward was :math:`S = Q K^T / \sqrt D + M`, :math:`A = \operatorname{softmax}(S)`,
    :math:`Y = A V`. Backwards, with the softmax's backward row by row:

    .. math::
        dA = dY\,V^T, \qquad dV = A^T dY, \qquad
        dS = A \odot \left(dA - \operatorname{rowsum}(dA \odot A)\right)

    .. math::
        dQ = dS\,K / \sqrt D, \qquad dK = dS^T Q / \sqrt D

    Masked entries have :math:`A = 0`, so they pass no gradient. The output and the fused
    q, k, v projections go through :func:`~minigpt.nn.linear_backward`.
    """
    qkv_cache, q, k, v, att, out_cache = cache
    B, H, T, D = q.shape
    # fwd: out = y @ w_out.T + b_out
    dy, dw_out, db_out = linear_backward(dout, out_cache)  # (B, T, C)
    dy = dy.reshape(B, T, H, D).transpose(0, 2, 1, 3)  # (B, H, T, D)
    # fwd: q, k, v = split(qkv)  =>  dqkv = concatenate(dq, dk, dv). Instead of stacking them
    # afterwards, dq, dk, dv are views into one (B, T, 3C) array that the matmuls below
    # write into (with the in-place softmax: 1.02-1.08x per step, benchmarks/results/ablation.md).
    dqkv = np.empty((B, T, 3 * H * D), dtype=q.dtype)
    dq, dk, dv = _split_heads(dqkv, H)  # 3 x (B, H, T, D), views
    # fwd: y = att @ v  =>  datt = dy @ v^T, dv = att^T @ dy
    datt = dy @ v.transpose(0, 1, 3, 2)  # (B, H, T, D) @ (B, H, D, T) -> (B, H, T, T)
    np.matmul(att.transpose(0, 1, 3, 2), dy, out=dv)  # (B, H, T, T) @ (B, H, T, D) -> (B, H, T, D)
    # fwd: att = softmax(scores); masked entries have att = 0, so they get no gradient
    dscores = softmax_backward_inplace(datt, SoftmaxCache(att))  # (B, H, T, T), in datt's memory
    # fwd: scores = q @ k^T * scale  =>  dq = dscores @ k * scale, dk = dscores^T @ q * scale
    dscores *= 1.0 / math.sqrt(D)
    np.matmul(dscores, k, out=dq)  # (B, H, T, T) @ (B, H, T, D) -> (B, H, T, D)
    np.matmul(dscores.transpose(0, 1, 3, 2), q, out=dk)  # (B, H, T, D)
    dx, dw_qkv, db_qkv = linear_backward(dqkv, qkv_cache)  # (B, T, C)
    return dx, dw_qkv, db_qkv, dw_out, db_out


def attention_decode(
    x: np.ndarray,
    w_qkv: np.ndarray,
    b_qkv: np.ndarray,
    w_out: np.ndarray,
    b_out: np.ndarray,
    n_head: int,
    k_cache: np.ndarray,
    v_cache: np.ndarray,
    n_past: int,
    window: int | None = None,
) -> np.ndarray:
    r"""Attention for new positions that reuses the keys and values of earlier ones.

    The inference-only twin of :func:`attention_forward` used by generation (a KV cache):
    the new tokens' keys and values are written into the caches, and their queries attend
    over everything cached so far through the same kernel, :func:`attend`. Given the same
    inputs it computes the same numbers, to rounding.

    Parameters
    ----------
    x : ndarray, shape (B, T, C)
        The new positions (T = the whole prompt at first, then 1 per generated token).
    w_qkv, b_qkv, w_out, b_out, n_head, window
        As in :func:`attention_forward`.
    k_cache, v_cache : ndarray, shape (B, H, n_ctx, D)
        Keys and values of positions ``0 .. n_past - 1``; filled in place for the new ones.
    n_past : int
        How many positions are already cached.

    Returns
    -------
    y : ndarray, shape (B, T, C)

    Notes
    -----
    Each new token costs :math:`O(n_{past} \cdot C)` instead of recomputing all
    :math:`O(n_{past}^2 C)` attention of the prefix.

    Examples
    --------
    >>> B, T, C, H = 1, 4, 6, 2
    >>> w = [rng.standard_normal((3 * C, C)), np.zeros(3 * C), rng.standard_normal((C, C)), np.zeros(C)]
    >>> x = rng.standard_normal((B, T, C))
    >>> k_cache, v_cache = np.zeros((2, B, H, 8, C // H))
    >>> first = attention_decode(x[:, :3], *w, H, k_cache, v_cache, n_past=0)
    >>> last = attention_decode(x[:, 3:], *w, H, k_cache, v_cache, n_past=3)
    >>> full, _ = attention_forward(x, *w, H)
    >>> bool(np.allclose(np.concatenate([first, last], axis=1), full))
    True
    """
    B, T, C = x.shape
    end = n_past + T
    qkv, _ = linear_forward(x, w_qkv, b_qkv)  # (B, T, 3C)
    q, k, v = _split_heads(qkv, n_head)  # 3 x (B, H, T, D), views
    k_cache[:, :, n_past:end] = k  # the new keys and values join the cached ones
    v_cache[:, :, n_past:end] = v
    _, y = attend(q, k_cache[:, :, :end], v_cache[:, :, :end],  # keys (B, H, end, D)
                  causal_mask(T, window, n_past))  # y (B, T, C)
    out, _ = linear_forward(y, w_out, b_out)  # (B, T, C)
    return out
