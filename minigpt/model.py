"""The GPT: embeddings, a stack of pre-LayerNorm residual blocks, a tied unembedding.

::

    idx (B,T) -> tok_emb[idx] + pos_emb[:T] -> [block] x n_layer -> ln_f -> @ tok_emb.T -> logits (B,T,V)

    block:  x = x + attn(ln1(x))    attention moves information between positions
            x = x + mlp(ln2(x))     the MLP looks facts up

Every arrow is an op pair from :mod:`minigpt.nn`; :meth:`GPT.loss_and_grads` runs them
forward, keeps their caches, and runs their backwards in exactly the reverse order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .config import GPTConfig, param_shapes
from .sampling import check_sampling_args, sample_logits
from .nn import (
    attention_backward,
    attention_decode,
    attention_forward,
    cross_entropy_backward,
    cross_entropy_forward,
    embedding_backward,
    embedding_forward,
    layernorm_backward,
    layernorm_forward,
    linear_backward,
    linear_forward,
    mlp_backward,
    mlp_forward,
)

INIT_STD = 0.02  # GPT-2's initial weight scale
DTYPES = (np.float32, np.float64)
# hook points inside each block, in forward order (see GPT.hook_names)
BLOCK_HOOK_POINTS = ("resid_pre", "attn.pattern", "attn_out", "resid_mid", "mlp.pre",
                     "mlp.post", "mlp_out", "resid_post")
RESIDUAL_POINTS = ("resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post")
Hook = Callable[[np.ndarray], "np.ndarray | None"]
Tap = Callable[[str, np.ndarray], np.ndarray]


class NonFiniteError(FloatingPointError):
    """The model's numbers (a loss, gradients, weights or logits) stopped being finite."""


def _no_tap(name: str, value: np.ndarray) -> np.ndarray:
    """The identity hook point used when nothing is hooked."""
    return value


class BlockCache(NamedTuple):
    """The caches of one block's four steps, in forward order."""

    ln1: Any
    attn: Any
    ln2: Any
    mlp: Any


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

    # ------------------------------------------------------------------ checks at the boundary

    def _check_idx(self, idx: Any, name: str = "idx") -> np.ndarray:
        """Validate token ids and return them as an int64 (B, T) array."""
        idx = check_token_ids(idx, self.config.vocab_size, name)
        if idx.ndim not in (1, 2):
            raise ValueError(f"{name} must have shape (T,) or (B, T), got shape {idx.shape}")
        idx2 = idx.reshape(1, -1) if idx.ndim == 1 else idx  # (B, T)
        T = idx2.shape[1]
        if T > self.config.n_ctx:
            raise ValueError(f"sequence length must be <= n_ctx={self.config.n_ctx}, got {T}")
        return idx2

    def _check_targets(
        self, targets: Any, idx: Any, idx2: np.ndarray, ignore_index: int | None
    ) -> np.ndarray:
        """Validate next-token targets for ``idx`` and return them shaped like ``idx2`` (B, T).

        Every target must be an integer id in ``[0, vocab_size)`` or equal ``ignore_index``.
        """
        targets = np.asarray(targets)
        if targets.shape != np.shape(idx):
            raise ValueError(
                f"targets must have the shape of idx {np.shape(idx)}, got {targets.shape}"
            )
        if targets.dtype == bool or not np.issubdtype(targets.dtype, np.integer):
            raise TypeError(f"targets must hold integer token ids, got dtype {targets.dtype}")
        targets2 = targets.reshape(idx2.shape)  # (B, T)
        counted = targets2 if ignore_index is None else targets2[targets2 != ignore_index]
        if counted.size and (counted.min() < 0 or counted.max() >= self.config.vocab_size):
            bad = int(counted.min()) if counted.min() < 0 else int(counted.max())
            raise ValueError(
                f"targets must be in [0, {self.config.vocab_size}) or ignore_index, got {bad}"
            )
        return targets2.astype(np.int64, copy=False)

    # ------------------------------------------------------------------ forward

    def _block_forward(
        self, i: int, x: np.ndarray, kv: tuple[np.ndarray, np.ndarray] | None = None,
        n_past: int = 0, tap: Tap | None = None,
    ) -> tuple[np.ndarray, BlockCache]:
        """One pre-LayerNorm residual block: attention, then the MLP, each added to x.

        With ``kv`` (this layer's key and value caches), attention reuses the ``n_past``
        cached positions instead of recomputing them, and no attention cache is returned.
        With ``tap``, every hook point of the block passes through ``tap(name, value)``.
        """
        p, cfg = self.params, self.config
        b = f"blocks.{i}."
        t = _no_tap if tap is None else tap
        x = t(b + "resid_pre", x)
        h, ln1 = layernorm_forward(x, p[b + "ln1.gain"], p[b + "ln1.bias"])
        attn_w = (p[b + "attn.w_qkv"], p[b + "attn.b_qkv"], p[b + "attn.w_out"], p[b + "attn.b_out"])
        if kv is None:
            a, attn = attention_forward(h, *attn_w, cfg.n_head, cfg.layer_window(i),
                                        tap=None if tap is None else
                                        (lambda name, v: tap(b + "attn." + name, v)))
        else:
            a, attn = attention_decode(h, *attn_w, cfg.n_head, *kv, n_past, cfg.layer_window(i)), None
        a = t(b + "attn_out", a)
        x = t(b + "resid_mid", x + a)  # residual: attention's output is added to the stream
        h, ln2 = layernorm_forward(x, p[b + "ln2.gain"], p[b + "ln2.bias"])
        m, mlp = mlp_forward(
            h, p[b + "mlp.w_up"], p[b + "mlp.b_up"], p[b + "mlp.w_down"], p[b + "mlp.b_down"],
            cfg.activation, tap=None if tap is None else (lambda name, v: tap(b + "mlp." + name, v)),
        )
        m = t(b + "mlp_out", m)
        x = t(b + "resid_post", x + m)  # residual: the MLP's output is added to the stream
        return x, BlockCache(ln1, attn, ln2, mlp)

    def _forward(
        self, idx: np.ndarray, keep: bool, tap: Tap | None = None,
        logits_to_keep: int | None = None,
    ) -> tuple[np.ndarray, ModelCache | None]:
        """Logits for validated ids (B, T); keep the caches only when ``keep``. With
        ``logits_to_keep = k`` (inference only), unembed the last k positions alone."""
        p = self.params
        t = _no_tap if tap is None else tap
        B, T = idx.shape  # batch, time
        tok, tok_cache = embedding_forward(idx, p["tok_emb"])  # (B, T, C)
        x = t("embed", tok + p["pos_emb"][:T])  # (B, T, C), positions broadcast over the batch
        blocks = []
        for i in range(self.config.n_layer):
            x, cache = self._block_forward(i, x, tap=tap)
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
            ``{name: fn}`` for names of :meth:`hook_names`: ``fn(value)`` sees the
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
        tap = None if not hooks else self._make_tap(hooks, {}, ())
        idx2 = self._check_idx(idx)
        k = _check_logits_to_keep(logits_to_keep, idx2.shape[1])
        logits, _ = self._forward(idx2, keep=False, tap=tap, logits_to_keep=k)
        return logits[0] if squeeze else logits

    # ------------------------------------------------------------------ hooks

    def hook_names(self) -> list[str]:
        """Every activation that hooks and :meth:`run_with_cache` can reach, in forward order.

        Returns
        -------
        list of str
            ``embed`` (tokens + positions, (B, T, C)); per block i:
            ``blocks.{i}.resid_pre`` (B, T, C), ``blocks.{i}.attn.pattern`` (B, H, T, T),
            ``blocks.{i}.attn_out``, ``blocks.{i}.resid_mid`` (B, T, C),
            ``blocks.{i}.mlp.pre`` and ``blocks.{i}.mlp.post`` (the neurons before and
            after the activation, (B, T, F)), ``blocks.{i}.mlp_out``,
            ``blocks.{i}.resid_post`` (B, T, C); then ``ln_f`` (B, T, C).
        """
        names = ["embed"]
        for i in range(self.config.n_layer):
            names += [f"blocks.{i}.{n}" for n in BLOCK_HOOK_POINTS]
        return names + ["ln_f"]

    def _make_tap(
        self, hooks: dict[str, Hook], store: dict[str, np.ndarray], capture: Any
    ) -> Tap:
        """A function through which every hook point passes: it records the activations
        named in ``capture`` into ``store`` and applies ``hooks``."""
        valid = set(self.hook_names())
        unknown = sorted((set(hooks) | set(capture)) - valid)
        if unknown:
            raise ValueError(f"unknown hook names {unknown[:5]}; expected names like "
                             f"'embed', 'blocks.0.mlp.post', 'ln_f' (see GPT.hook_names())")

        def tap(name: str, value: np.ndarray) -> np.ndarray:
            fn = hooks.get(name)
            if fn is not None:
                new = fn(value)
                if new is not None:
                    new = np.asarray(new)
                    if new.shape != value.shape:
                        raise ValueError(f"hook {name!r} must return shape {value.shape}, "
                                         f"got {new.shape}")
                    value = new.astype(value.dtype, copy=False)
            if name in capture:
                store[name] = value
            return value

        return tap

    def run_with_cache(
        self, idx: Any, names: Any = None, hooks: dict[str, Hook] | None = None,
        logits_to_keep: int | None = None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits and the activations asked for, by name.

        Parameters
        ----------
        idx : array_like of int, shape (B, T) or (T,)
        names : iterable of str, optional
            Names of :meth:`hook_names` to keep; ``None`` keeps all of them. Only these are
            held in memory.
        hooks : dict of str to callable, optional
            Interventions applied during the same pass (see :meth:`forward`); captured
            activations are the values after the hooks.
        logits_to_keep : int, optional
            Unembed only the last k positions (see :meth:`forward`); the activations are
            kept for every position.

        Returns
        -------
        logits : ndarray, shape (B, T, V) or (T, V); (B, k, V) or (k, V) with ``logits_to_keep``
        cache : dict of str to ndarray
            Each activation with its batch axis (B, ...), even for 1-D ``idx``.

        Examples
        --------
        >>> model = GPT(GPTConfig(vocab_size=16, n_ctx=8, n_layer=2, n_head=2, d_model=8))
        >>> logits, cache = model.run_with_cache(np.array([1, 2, 3]), names=["blocks.1.mlp.post"])
        >>> cache["blocks.1.mlp.post"].shape
        (1, 3, 32)
        """
        capture = frozenset(self.hook_names() if names is None else
                            ([names] if isinstance(names, str) else names))
        store: dict[str, np.ndarray] = {}
        tap = self._make_tap(hooks or {}, store, capture)
        idx2 = self._check_idx(idx)
        k = _check_logits_to_keep(logits_to_keep, idx2.shape[1])
        logits, _ = self._forward(idx2, keep=False, tap=tap, logits_to_keep=k)
        return (logits[0] if np.ndim(idx) == 1 else logits), store

    __call__ = forward

    # ------------------------------------------------------------------ generation

    def _decode(
        self, idx: np.ndarray, kv: list[tuple[np.ndarray, np.ndarray]], n_past: int
    ) -> np.ndarray:
        """Logits of the last of the new tokens ``idx`` (B, T), which sit after ``n_past``
        cached positions; fills the caches ``kv`` for the new positions."""
        p = self.params
        T = idx.shape[1]
        x = p["tok_emb"][idx] + p["pos_emb"][n_past:n_past + T]  # (B, T, C)
        for i in range(self.config.n_layer):
            x, _ = self._block_forward(i, x, kv[i], n_past)
        h, _ = layernorm_forward(x[:, -1], p["ln_f.gain"], p["ln_f.bias"])  # (B, C)
        return h @ p["tok_emb"].T  # (B, V)

    def generate(
        self,
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
        idx : array_like of int, shape (B, T) or (T,)
            The prompts, ``T <= n_ctx``.
        max_new_tokens : int
            How many tokens to append.
        temperature : float, default 1.0
            ``0`` is greedy decoding (always the most likely token); any positive value,
            however small, samples (see :func:`minigpt.sampling.sample_logits`).
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
        >>> model = GPT(GPTConfig(vocab_size=16, n_ctx=8, n_layer=1, n_head=2, d_model=8))
        >>> model.generate(np.array([1, 2, 3]), max_new_tokens=10, temperature=0).shape
        (13,)
        """
        idx2 = self._check_idx(idx)
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)):
            raise TypeError(f"max_new_tokens must be an int, got {type(max_new_tokens).__name__}")
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        check_sampling_args(temperature, top_k, top_p)
        cfg = self.config
        rng = np.random.default_rng(seed)
        B, T0 = idx2.shape
        out = np.empty((B, T0 + max_new_tokens), dtype=np.int64)  # (B, T0 + new)
        out[:, :T0] = idx2
        cache_shape = (B, cfg.n_head, cfg.n_ctx, cfg.d_head)  # (B, H, n_ctx, D) per layer
        kv = [(np.empty(cache_shape, self.dtype), np.empty(cache_shape, self.dtype))
              for _ in range(cfg.n_layer)]
        logits = self._decode(idx2, kv, 0)  # prefill: the whole prompt at once
        n_cached = T0
        for n in range(T0, T0 + max_new_tokens):
            self._check_finite_logits(logits, n - T0)
            out[:, n] = sample_logits(logits, rng, temperature, top_k, top_p)
            if n + 1 == out.shape[1]:
                break
            if n_cached == cfg.n_ctx:  # no position left: slide, keeping the newest half
                keep = max(cfg.n_ctx // 2, 1)
                logits = self._decode(out[:, n + 1 - keep:n + 1], kv, 0)
                n_cached = keep
            else:
                logits = self._decode(out[:, n:n + 1], kv, n_cached)
                n_cached += 1
        return out[0] if np.ndim(idx) == 1 else out

    def _check_finite_logits(self, logits: np.ndarray, n_done: int) -> None:
        """Raise :class:`NonFiniteError` if the logits (B, V) hold NaN or inf.

        The argmax of a row of NaNs is 0, so without this check a broken model would
        "generate" token 0 forever and look as if it worked.
        """
        if np.isfinite(logits).all():
            return
        n_bad = sum(int(np.count_nonzero(~np.isfinite(p))) for p in self.params.values())
        cause = (f"{n_bad:,} of the model's {self.n_params:,} weights are NaN or infinite"
                 if n_bad else f"the weights are finite but overflow {np.dtype(self.dtype).name}")
        raise NonFiniteError(f"the logits for new token {n_done + 1} are not finite: {cause}")

    # ------------------------------------------------------------------ backward

    def _block_backward(
        self, i: int, dx: np.ndarray, cache: BlockCache, grads: dict[str, np.ndarray],
        act_grads: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Backward through block i; writes its parameter gradients into ``grads`` and,
        when given, the residual-stream gradients into ``act_grads``."""
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
            dx = self._block_backward(i, dx, cache.blocks[i], grads, act_grads)
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
        idx2 = self._check_idx(idx)
        targets2 = self._check_targets(targets, idx, idx2, ignore_index)
        logits, cache = self._forward(idx2, keep=True)
        loss, ce_cache = cross_entropy_forward(logits, targets2, ignore_index)
        dlogits = cross_entropy_backward(1.0, ce_cache)
        return loss, self.backward(dlogits, cache)

    def activation_grads(
        self, idx: Any, targets: Any, names: Any, hooks: dict[str, Hook] | None = None,
        ignore_index: int | None = None,
    ) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and its gradient with respect to residual-stream activations.

        Parameters
        ----------
        idx, targets, ignore_index
            As in :meth:`loss_and_grads` (``idx`` of shape (B, T)).
        names : iterable of str
            Among ``embed``, ``ln_f`` and ``blocks.{i}.`` + ``resid_pre``, ``attn_out``,
            ``resid_mid``, ``mlp_out``, ``resid_post``.
        hooks : dict of str to callable, optional
            Interventions during the forward pass (see :meth:`forward`). A requested
            gradient is exact when no hook sits after it in the forward pass: a hook that
            replaces a value with a constant cuts the path behind it, which the backward
            does not know.

        Returns
        -------
        loss : float
        grads : dict of str to ndarray
            dloss/d(activation), each (B, T, C).

        Raises
        ------
        ValueError, TypeError
            For bad ids or targets, exactly as :meth:`loss_and_grads` (one shared check).

        Examples
        --------
        >>> model = GPT(GPTConfig(vocab_size=16, n_ctx=8, n_layer=2, n_head=2, d_model=8))
        >>> idx = np.array([[1, 2, 3]])
        >>> loss, g = model.activation_grads(idx, idx, ["blocks.1.mlp_out"])
        >>> g["blocks.1.mlp_out"].shape
        (1, 3, 8)
        """
        names = [names] if isinstance(names, str) else list(names)
        residual = {"embed", "ln_f"} | {f"blocks.{i}.{n}" for i in range(self.config.n_layer)
                                        for n in RESIDUAL_POINTS}
        unknown = sorted(set(names) - residual)
        if unknown:
            raise ValueError(f"activation gradients are available for residual-stream names "
                             f"(e.g. 'blocks.0.mlp_out'), got {unknown[:5]}")
        idx2 = self._check_idx(idx)
        targets2 = self._check_targets(targets, idx, idx2, ignore_index)
        tap = None if not hooks else self._make_tap(hooks, {}, ())
        logits, cache = self._forward(idx2, keep=True, tap=tap)
        loss, ce_cache = cross_entropy_forward(logits, targets2, ignore_index)
        all_grads: dict[str, np.ndarray] = {}
        self.backward(cross_entropy_backward(1.0, ce_cache), cache, all_grads)
        return loss, {n: all_grads[n] for n in names}


def _check_logits_to_keep(k: Any, T: int) -> int | None:
    """``None``, or an int in ``[1, T]`` (the number of last positions to unembed)."""
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"logits_to_keep must be an int or None, got {type(k).__name__}")
    if not 1 <= k <= T:
        raise ValueError(f"logits_to_keep must be in [1, T={T}], got {k}")
    return int(k)


def check_token_ids(idx: Any, vocab_size: int, name: str = "idx") -> np.ndarray:
    """Check that ``idx`` holds at least one integer id in ``[0, vocab_size)``.

    Parameters
    ----------
    idx : array_like of int, any shape
    vocab_size : int
    name : str
        How error messages call the argument.

    Returns
    -------
    ndarray of int64, same shape

    Raises
    ------
    TypeError
        For non-integer (or boolean) arrays.
    ValueError
        For an empty array or an id out of range.
    """
    idx = np.asarray(idx)
    if idx.dtype == bool or not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"{name} must hold integer token ids, got dtype {idx.dtype}")
    if idx.size == 0:
        raise ValueError(f"{name} must hold at least one token, got shape {idx.shape}")
    lo, hi = int(idx.min()), int(idx.max())
    if lo < 0 or hi >= vocab_size:
        raise ValueError(f"{name} must be in [0, {vocab_size}), got an id of {lo if lo < 0 else hi}")
    return idx.astype(np.int64, copy=False)


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
