"""The GPT: embeddings, a stack of pre-LayerNorm residual blocks, a tied unembedding.

::

    idx (B,T) -> tok_emb[idx] + pos_emb[:T] -> [block] x n_layer -> ln_f -> @ tok_emb.T -> logits (B,T,V)

    block:  x = x + attn(ln1(x))    attention moves information between positions
            x = x + mlp(ln2(x))     the MLP looks facts up

Every arrow is an op pair from :mod:`minigpt.nn`, the block's in :mod:`minigpt.block`;
:meth:`GPT.loss_and_grads` runs them forward, keeps their caches, and runs their backwards
in exactly the reverse order.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ._checks import (
    NonFiniteError,  # noqa: F401
    check_idx,
    check_logits_to_keep,
    check_targets,
    check_token_ids,  # noqa: F401
)
from .block import BlockCache, Tap, block_backward, block_forward, no_tap, prefixed  # noqa: F401
from .config import GPTConfig, param_shapes
from .generation import generate
from .hooks import (
    BLOCK_HOOK_POINTS,  # noqa: F401
    RESIDUAL_POINTS,  # noqa: F401
    Hook,
    activation_grads,
    hook_names,
    make_tap,
    run_with_cache,
)
from .nn import (
    cross_entropy_backward,
    cross_entropy_forward,
    embedding_backward,
    embedding_forward,
    layernorm_backward,
    layernorm_forward,
    linear_backward,
    linear_forward,
)

__all__ = ["GPT", "BlockCache", "ModelCache", "NonFiniteError", "check_token_ids", "init_params"]

INIT_STD = 0.02  # GPT-2's initial weight scale
DTYPES = (np.float32, np.float64)


class ModelCache(NamedTuple):
    """Everything :meth:`GPT.backward` needs from a forward pass."""

    tok: Any  # embedding lookup (the ids)
    T: int  # sequence length, to place the position-embedding gradient
    blocks: list[BlockCache]
    ln_f: Any
    unembed: Any  # the tied unembedding's linear cache


def init_params(
    config: GPTConfig, rng: np.random.Generator, dtype: Any = np.float32
) -> dict[str, np.ndarray]:
    """Fresh parameters with GPT-2's initialisation.

    Parameters
    ----------
    config : GPTConfig
    rng : numpy.random.Generator
    dtype : {numpy.float32, numpy.float64}

    Returns
    -------
    dict of str to ndarray
        Keys and shapes of :func:`minigpt.config.param_shapes`.

    Notes
    -----
    Weights and embeddings :math:`\\sim \\mathcal N(0, 0.02^2)`; the two projections that
    write into the residual stream (``attn.w_out``, ``mlp.w_down``) are further scaled by
    :math:`1/\\sqrt{2 n_{layer}}`, since 2 n_layer of them add up along it. Biases 0,
    LayerNorm gains 1.

    Examples
    --------
    >>> p = init_params(GPTConfig(16, 8, 2, 2, 8), np.random.default_rng(0))
    >>> p["blocks.1.mlp.w_down"].shape, p["blocks.1.mlp.w_down"].dtype
    ((8, 32), dtype('float32'))
    """
    residual_std = INIT_STD / np.sqrt(2 * config.n_layer)
    params = {}
    for name, shape in param_shapes(config).items():
        if name.endswith(".gain"):
            params[name] = np.ones(shape, dtype=dtype)
        elif name.endswith((".bias", ".b_qkv", ".b_out", ".b_up", ".b_down")):
            params[name] = np.zeros(shape, dtype=dtype)
        else:
            std = residual_std if name.endswith((".w_out", ".w_down")) else INIT_STD
            params[name] = (rng.standard_normal(shape, dtype=dtype) * dtype(std)).astype(dtype)
    return params


class GPT:
    """A GPT-2/GPT-3 style language model in numpy, with hand-written backprop.

    Parameters
    ----------
    config : GPTConfig
    seed : int or None, default 0
        Seeds the initialisation (ignored when ``params`` is given).
    dtype : {numpy.float32, numpy.float64}, default float32
        The model computes in this dtype; float64 is for gradient checks.
    params : dict of str to ndarray, optional
        Use these weights instead of a fresh initialisation (checked against the config's
        shapes, converted to ``dtype``).

    Attributes
    ----------
    config : GPTConfig
    params : dict of str to ndarray
        Named as in :func:`minigpt.config.param_shapes`; the optimizer updates them in place.

    Examples
    --------
    >>> cfg = GPTConfig(vocab_size=64, n_ctx=32, n_layer=2, n_head=4, d_model=32)
    >>> model = GPT(cfg, seed=0)
    >>> idx = np.zeros((3, 10), dtype=np.int64)
    >>> model.forward(idx).shape
    (3, 10, 64)
    >>> loss, grads = model.loss_and_grads(idx, idx)
    >>> grads["blocks.0.mlp.w_up"].shape
    (128, 32)
    """

    def __init__(
        self,
        config: GPTConfig,
        seed: int | None = 0,
        dtype: Any = np.float32,
        params: dict[str, np.ndarray] | None = None,
    ) -> None:
        if not isinstance(config, GPTConfig):
            raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
        dtype = np.dtype(dtype).type
        if dtype not in DTYPES:
            raise TypeError(f"dtype must be float32 or float64, got {np.dtype(dtype).name}")
        self.config = config
        self.dtype = dtype
        if params is None:
            self.params = init_params(config, np.random.default_rng(seed), dtype)
        else:
            self.params = _checked_params(config, params, dtype)

    @property
    def n_params(self) -> int:
        """The number of parameters (equals :func:`minigpt.count_params` of the config)."""
        return sum(p.size for p in self.params.values())

    # --------------------------------------------------- the model: forward, backward, loss

    def _forward(
        self, idx: np.ndarray, keep: bool, tap: Tap | None = None,
        logits_to_keep: int | None = None,
    ) -> tuple[np.ndarray, ModelCache | None]:
        """Logits for validated ids (B, T); keep the caches only when ``keep``. With
        ``logits_to_keep = k`` (inference only), unembed the last k positions alone."""
        p = self.params
        t = no_tap if tap is None else tap
        B, T = idx.shape  # batch, time
        tok, tok_cache = embedding_forward(idx, p["tok_emb"])  # (B, T, C)
        x = t("embed", tok + p["pos_emb"][:T])  # (B, T, C), positions broadcast over the batch
        blocks = []
        for i in range(self.config.n_layer):
            x, cache = block_forward(p, self.config, i, x, tap=tap)
            if keep:
                blocks.append(cache)
        h, ln_f = layernorm_forward(x, p["ln_f.gain"], p["ln_f.bias"])
        h = t("ln_f", h)
        if logits_to_keep is not None:  # only the last k positions are read: unembed those
            h = h[:, T - logits_to_keep:]  # (B, k, C)
        logits, unembed = linear_forward(h, p["tok_emb"])  # tied: (B, k, C) -> (B, k, V), k = T
        if not keep:
            return logits, None
        return logits, ModelCache(tok_cache, T, blocks, ln_f, unembed)

    def forward(self, idx: Any, hooks: dict[str, Hook] | None = None,
                logits_to_keep: int | None = None) -> np.ndarray:
        """Next-token logits, for inference (no backward cache is kept).

        Parameters
        ----------
        idx : array_like of int, shape (B, T) or (T,)
            Token ids in ``[0, vocab_size)``, ``T <= n_ctx``.
        hooks : dict of str to callable, optional
            ``{name: fn}`` for names of :meth:`hook_names` (see :mod:`minigpt.hooks`): ``fn(value)`` sees the
            activation (always batched, (B, ...)) and may return a replacement of the same
            shape (patching, ablation) or ``None`` to leave it unchanged.
        logits_to_keep : int, optional
            Unembed only the last k positions, k in ``[1, T]``: the result is
            ``forward(idx)[..., T - k:, :]`` without computing the other positions' V
            scores each (the largest matmul when one only reads the last position).

        Returns
        -------
        logits : ndarray, shape (B, T, V) or (T, V)
            ``logits[..., t, :]`` scores the token that follows position t; with
            ``logits_to_keep=k``, shape (B, k, V) or (k, V) for the last k positions.

        Raises
        ------
        TypeError
            If ``idx`` is not integer.
        ValueError
            If its rank is not 1 or 2, an id is out of range, or T > n_ctx; or for an
            unknown hook name or a replacement of the wrong shape.
        """
        squeeze = np.ndim(idx) == 1
        tap = None if not hooks else make_tap(self, hooks, {}, ())
        idx2 = check_idx(idx, self.config.vocab_size, self.config.n_ctx)
        k = check_logits_to_keep(logits_to_keep, idx2.shape[1])
        logits, _ = self._forward(idx2, keep=False, tap=tap, logits_to_keep=k)
        return logits[0] if squeeze else logits

    def backward(
        self, dlogits: np.ndarray, cache: ModelCache,
        act_grads: dict[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """Gradients of all parameters given dL/dlogits and the forward's cache.

        Parameters
        ----------
        dlogits : ndarray, shape (B, T, V)
        cache : ModelCache
            From the forward pass that produced the logits.
        act_grads : dict, optional
            If given, filled with the gradients of the residual-stream activations
            (``embed``, ``blocks.{i}.resid_pre/attn_out/resid_mid/mlp_out/resid_post``,
            ``ln_f``), each (B, T, C).

        Returns
        -------
        dict of str to ndarray
            Keyed like :attr:`params`.
        """
        p = self.params
        grads: dict[str, np.ndarray] = {}
        # fwd: logits = h @ tok_emb.T
        dh, dtok_out, _ = linear_backward(dlogits, cache.unembed)  # (B, T, C), (V, C)
        if act_grads is not None:
            act_grads["ln_f"] = dh
        # fwd: h = ln_f(x)
        dx, grads["ln_f.gain"], grads["ln_f.bias"] = layernorm_backward(dh, cache.ln_f)
        for i in reversed(range(self.config.n_layer)):
            dx = block_backward(i, dx, cache.blocks[i], grads, act_grads)
        if act_grads is not None:
            act_grads["embed"] = dx
        # fwd: x = tok_emb[idx] + pos_emb[:T]
        dpos = np.zeros_like(p["pos_emb"])  # (n_ctx, C); positions >= T got no gradient
        dpos[: cache.T] = dx.sum(axis=0)
        grads["pos_emb"] = dpos
        # tok_emb is used twice (lookup and unembedding), so its two gradients add
        grads["tok_emb"] = embedding_backward(dx, cache.tok) + dtok_out
        return {name: grads[name] for name in p}  # the order of params

    def loss_and_grads(
        self, idx: Any, targets: Any, ignore_index: int | None = None
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Mean next-token cross-entropy and its gradient for every parameter.

        Parameters
        ----------
        idx : array_like of int, shape (B, T) or (T,)
        targets : array_like of int, same shape as ``idx``
            The id that should follow each position, or ``ignore_index``.
        ignore_index : int or None
            Targets equal to this do not count.

        Returns
        -------
        loss : float
            Mean cross-entropy over the counted targets.
        grads : dict of str to ndarray
            dloss/dparam, keyed and shaped like :attr:`params`.

        Raises
        ------
        TypeError
            For ids or targets that are not integers.
        ValueError
            For a target outside ``[0, vocab_size)`` that is not ``ignore_index``, or
            targets of another shape than ``idx``.
        """
        idx2 = check_idx(idx, self.config.vocab_size, self.config.n_ctx)
        targets2 = check_targets(targets, idx, idx2, self.config.vocab_size, ignore_index)
        logits, cache = self._forward(idx2, keep=True)
        loss, ce_cache = cross_entropy_forward(logits, targets2, ignore_index)
        dlogits = cross_entropy_backward(1.0, ce_cache)
        return loss, self.backward(dlogits, cache)

    __call__ = forward

    # -------------------------------------------------------------------- hooks, generation
    # The code lives in minigpt.hooks and minigpt.generation; these methods call it.

    def hook_names(self) -> list[str]:
        """Every activation that hooks can reach: :func:`minigpt.hooks.hook_names`."""
        return hook_names(self)

    def run_with_cache(
        self, idx: Any, names: Any = None, hooks: dict[str, Hook] | None = None,
        logits_to_keep: int | None = None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits and the activations asked for: :func:`minigpt.hooks.run_with_cache`."""
        return run_with_cache(self, idx, names, hooks, logits_to_keep)

    def activation_grads(
        self, idx: Any, targets: Any, names: Any, hooks: dict[str, Hook] | None = None,
        ignore_index: int | None = None,
    ) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and dloss/d(residual activations): :func:`minigpt.hooks.activation_grads`."""
        return activation_grads(self, idx, targets, names, hooks, ignore_index)

    def generate(
        self, idx: Any, max_new_tokens: int, temperature: float = 1.0,
        top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
    ) -> np.ndarray:
        """Continue token sequences with a key/value cache: :func:`minigpt.generation.generate`."""
        return generate(self, idx, max_new_tokens, temperature, top_k, top_p, seed)


def _checked_params(
    config: GPTConfig, params: dict[str, np.ndarray], dtype: Any
) -> dict[str, np.ndarray]:
    """Check given weights against the config's shapes; return them in ``dtype``."""
    shapes = param_shapes(config)
    missing, unexpected = sorted(set(shapes) - set(params)), sorted(set(params) - set(shapes))
    if missing or unexpected:
        raise ValueError(f"params do not match the config: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}")
    out = {}
    for name, shape in shapes.items():
        value = np.asarray(params[name])
        if value.shape != shape:
            raise ValueError(f"params[{name!r}] must have shape {shape}, got {value.shape}")
        out[name] = np.ascontiguousarray(value, dtype=dtype)
    return out
