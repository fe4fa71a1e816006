"""One transformer block: a pre-LayerNorm residual block, its forward and, right under it,
its backward.

::

    x (B,T,C) -> x + attn(ln1(x)) -> x + mlp(ln2(x)) -> x (B,T,C)

    attention moves information between positions; the MLP looks facts up

Every named activation of the block passes through a *tap*, ``tap(name, value) -> value``
(:data:`Tap`): :func:`no_tap`, the identity, when nothing is hooked, otherwise the function
that :func:`minigpt.hooks.make_tap` builds to record or replace activations. The forward
also runs over a key/value cache, for decoding one token at a time
(:func:`minigpt.generation.decode`). :class:`minigpt.GPT` stacks ``n_layer`` of these blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .config import GPTConfig
from .nn import (
    attention_backward,
    attention_decode,
    attention_forward,
    layernorm_backward,
    layernorm_forward,
    mlp_backward,
    mlp_forward,
)

Tap = Callable[[str, np.ndarray], np.ndarray]


def no_tap(name: str, value: np.ndarray) -> np.ndarray:
    """The identity hook point used when nothing is hooked."""
    return value


def prefixed(tap: Tap | None, prefix: str) -> Tap | None:
    """``tap`` with ``prefix`` put before every name (an op's ``pattern`` becomes
    ``blocks.0.attn.pattern``); ``None`` stays ``None``."""
    return None if tap is None else (lambda name, value: tap(prefix + name, value))


class BlockCache(NamedTuple):
    """The caches of one block's four steps, in forward order."""

    ln1: Any
    attn: Any
    ln2: Any
    mlp: Any


def block_forward(
    params: dict[str, np.ndarray], config: GPTConfig, i: int, x: np.ndarray,
    kv: tuple[np.ndarray, np.ndarray] | None = None, n_past: int = 0, tap: Tap | None = None,
) -> tuple[np.ndarray, BlockCache]:
    """Block i: attention, then the MLP, each added to the residual stream x.

    Parameters
    ----------
    params : dict of str to ndarray
        The model's parameters; the block reads those named ``blocks.{i}.*``.
    config : GPTConfig
    i : int
        Which block.
    x : ndarray, shape (B, T, C)
        The residual stream coming in.
    kv : (ndarray, ndarray), optional
        For decoding: this layer's key and value caches, shape (B, H, n_ctx, D). Attention
        then runs over the ``n_past`` cached positions and the T new ones, whose keys and
        values it writes into the caches; the backward cache is not kept.
    n_past : int, default 0
        How many positions the caches already hold (with ``kv`` only).
    tap : callable, optional
        ``tap(name, value) -> value`` for every hook point of the block (see
        :func:`minigpt.hooks.hook_names`); the identity when ``None``.

    Returns
    -------
    x : ndarray, shape (B, T, C)
        The residual stream going out.
    cache : BlockCache
        What :func:`block_backward` needs (its attention cache ``None`` with ``kv``).

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> model = GPT(GPTConfig(vocab_size=16, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    >>> x = np.zeros((1, 3, 8), dtype=np.float32)
    >>> y, cache = block_forward(model.params, model.config, 0, x)
    >>> y.shape
    (1, 3, 8)
    """
    p, b = params, f"blocks.{i}."
    t = no_tap if tap is None else tap
    x = t(b + "resid_pre", x)
    h, ln1 = layernorm_forward(x, p[b + "ln1.gain"], p[b + "ln1.bias"])
    a, attn = _attention(params, config, i, h, kv, n_past, prefixed(tap, b + "attn."))
    a = t(b + "attn_out", a)
    x = t(b + "resid_mid", x + a)  # residual: attention's output is added to the stream
    h, ln2 = layernorm_forward(x, p[b + "ln2.gain"], p[b + "ln2.bias"])
    m, mlp = mlp_forward(h, p[b + "mlp.w_up"], p[b + "mlp.b_up"], p[b + "mlp.w_down"],
                         p[b + "mlp.b_down"], config.activation, tap=prefixed(tap, b + "mlp."))
    m = t(b + "mlp_out", m)
    x = t(b + "resid_post", x + m)  # residual: the MLP's output is added to the stream
    return x, BlockCache(ln1, attn, ln2, mlp)


def block_backward(
    i: int, dx: np.ndarray, cache: BlockCache, grads: dict[str, np.ndarray],
    act_grads: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Backward through block i, in exactly the reverse order of :func:`block_forward`.

    Parameters
    ----------
    i : int
        Which block.
    dx : ndarray, shape (B, T, C)
        dL/d(the block's output).
    cache : BlockCache
        From :func:`block_forward` (without ``kv``).
    grads : dict of str to ndarray
        Receives the gradients of the block's parameters, ``blocks.{i}.*``.
    act_grads : dict of str to ndarray, optional
        When given, receives the gradients of the block's residual-stream activations
        (``resid_pre``, ``attn_out``, ``resid_mid``, ``mlp_out``, ``resid_post``).

    Returns
    -------
    ndarray, shape (B, T, C)
        dL/d(the block's input).
    """
    b = f"blocks.{i}."
    if act_grads is not None:  # x_out = x_mid + m: both receive dx unchanged
        act_grads[b + "resid_post"] = act_grads[b + "mlp_out"] = dx
    # fwd: x_out = x_mid + mlp(ln2(x_mid))
    dh, grads[b + "mlp.w_up"], grads[b + "mlp.b_up"], grads[b + "mlp.w_down"], \
        grads[b + "mlp.b_down"] = mlp_backward(dx, cache.mlp)
    dx_branch, grads[b + "ln2.gain"], grads[b + "ln2.bias"] = layernorm_backward(dh, cache.ln2)
    dx = dx + dx_branch  # the residual splits the gradient: straight path + MLP path
    if act_grads is not None:
        act_grads[b + "resid_mid"] = act_grads[b + "attn_out"] = dx
    # fwd: x_mid = x_in + attn(ln1(x_in))
    dh, grads[b + "attn.w_qkv"], grads[b + "attn.b_qkv"], grads[b + "attn.w_out"], \
        grads[b + "attn.b_out"] = attention_backward(dx, cache.attn)
    dx_branch, grads[b + "ln1.gain"], grads[b + "ln1.bias"] = layernorm_backward(dh, cache.ln1)
    dx = dx + dx_branch  # straight path + attention path
    if act_grads is not None:
        act_grads[b + "resid_pre"] = dx
    return dx


def _attention(
    params: dict[str, np.ndarray], config: GPTConfig, i: int, h: np.ndarray,
    kv: tuple[np.ndarray, np.ndarray] | None, n_past: int, tap: Tap | None,
) -> tuple[np.ndarray, Any]:
    """Block i's attention over the whole sequence h (B, T, C), keeping its cache; or,
    with ``kv`` (this layer's key and value caches), over the ``n_past`` cached positions
    and the new ones, which it appends (no backward cache then)."""
    p, b = params, f"blocks.{i}.attn."
    w = (p[b + "w_qkv"], p[b + "b_qkv"], p[b + "w_out"], p[b + "b_out"])
    if kv is None:
        return attention_forward(h, *w, config.n_head, config.layer_window(i), tap=tap)
    return attention_decode(h, *w, config.n_head, *kv, n_past, config.layer_window(i)), None
