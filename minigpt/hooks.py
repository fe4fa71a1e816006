"""Hooks: reading and changing a model's activations while it runs.

Every named activation of the forward pass (:func:`hook_names`) goes through a *tap*,
``tap(name, value) -> value``: the identity when nothing is hooked
(:func:`minigpt.block.no_tap`), otherwise a function
(:func:`make_tap`) that records the values asked for and applies user hooks
``fn(value) -> replacement or None``. :func:`run_with_cache` reads activations (the logit
lens, neuron tables), :func:`capture_activations` reads them and stops the pass there (a
statistic of one layer), hooks patch them (ablation, causal tracing), and
:func:`activation_grads` runs the backward to get dloss/d(activation) on the residual
stream. :class:`minigpt.GPT` exposes :func:`hook_names`, :func:`run_with_cache` and
:func:`activation_grads` as its methods of the same names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._checks import check_idx, check_logits_to_keep, check_targets
from .block import Tap
from .nn import cross_entropy_backward, cross_entropy_forward

# ``GPT`` in the annotations is :class:`minigpt.GPT`, named but not imported: the model
# imports this module (for its hook methods), so the imports run one way only.

# hook points inside each block, in forward order (see hook_names)
BLOCK_HOOK_POINTS = ("resid_pre", "attn.pattern", "attn_out", "resid_mid", "mlp.pre",
                     "mlp.post", "mlp_out", "resid_post")
RESIDUAL_POINTS = ("resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post")
Hook = Callable[[np.ndarray], "np.ndarray | None"]


def hook_names(model: GPT) -> list[str]:
    """Every activation of ``model`` that hooks and :func:`run_with_cache` can reach, in forward order.

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
    for i in range(model.config.n_layer):
        names += [f"blocks.{i}.{n}" for n in BLOCK_HOOK_POINTS]
    return names + ["ln_f"]


def make_tap(
    model: GPT, hooks: dict[str, Hook], store: dict[str, np.ndarray], capture: Any
) -> Tap:
    """A function through which every hook point passes: it records the activations
    named in ``capture`` into ``store`` and applies ``hooks``."""
    valid = set(hook_names(model))
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
    model: GPT, idx: Any, names: Any = None, hooks: dict[str, Hook] | None = None,
    logits_to_keep: int | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Logits and the activations asked for, by name.

    Parameters
    ----------
    idx : array_like of int, shape (B, T) or (T,)
    names : iterable of str, optional
        Names of :func:`hook_names` to keep; ``None`` keeps all of them. Only these are
        held in memory.
    hooks : dict of str to callable, optional
        Interventions applied during the same pass (see :meth:`GPT.forward <minigpt.GPT.forward>`); captured
        activations are the values after the hooks.
    logits_to_keep : int, optional
        Unembed only the last k positions (see :meth:`GPT.forward <minigpt.GPT.forward>`); the activations are
        kept for every position.

    Returns
    -------
    logits : ndarray, shape (B, T, V) or (T, V); (B, k, V) or (k, V) with ``logits_to_keep``
    cache : dict of str to ndarray
        Each activation with its batch axis (B, ...), even for 1-D ``idx``.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> model = GPT(GPTConfig(vocab_size=16, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    >>> logits, cache = run_with_cache(model, np.array([1, 2, 3]), names=["blocks.1.mlp.post"])
    >>> cache["blocks.1.mlp.post"].shape
    (1, 3, 32)
    """
    capture = frozenset(hook_names(model) if names is None else
                        ([names] if isinstance(names, str) else names))
    store: dict[str, np.ndarray] = {}
    tap = make_tap(model, hooks or {}, store, capture)
    idx2 = check_idx(idx, model.config.vocab_size, model.config.n_ctx)
    k = check_logits_to_keep(logits_to_keep, idx2.shape[1])
    logits, _ = model._forward(idx2, keep=False, tap=tap, logits_to_keep=k)
    return (logits[0] if np.ndim(idx) == 1 else logits), store


class _Captured(Exception):
    """Raised by :func:`capture_activations`' tap once it holds every name it needs."""


def capture_activations(
    model: GPT, idx: Any, names: Any, hooks: dict[str, Hook] | None = None,
) -> dict[str, np.ndarray]:
    """The named activations of a forward pass that stops as soon as it has them all.

    Reading ``blocks.{l}.mlp.post`` then runs layers 0 to l only: no later layer and no
    unembedding, which is what a statistic of one layer (ROME's key covariance) needs.

    Parameters
    ----------
    idx : array_like of int, shape (B, T) or (T,)
    names : str or iterable of str
        Names of :func:`hook_names`, at least one.
    hooks : dict of str to callable, optional
        Interventions applied on the way, as in :func:`run_with_cache`.

    Returns
    -------
    dict of str to ndarray
        Each activation with its batch axis (B, ...), as :func:`run_with_cache` returns it.

    Raises
    ------
    ValueError
        If ``names`` is empty or holds a name that is not a hook point.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> model = GPT(GPTConfig(vocab_size=16, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    >>> acts = capture_activations(model, np.array([1, 2, 3]), "blocks.0.mlp.post")
    >>> acts["blocks.0.mlp.post"].shape
    (1, 3, 32)
    """
    wanted = frozenset([names] if isinstance(names, str) else names)
    if not wanted:
        raise ValueError("names must hold at least one hook point name, got none")
    store: dict[str, np.ndarray] = {}
    record = make_tap(model, hooks or {}, store, wanted)

    def tap(name: str, value: np.ndarray) -> np.ndarray:
        value = record(name, value)
        if len(store) == len(wanted):
            raise _Captured
        return value

    try:
        idx2 = check_idx(idx, model.config.vocab_size, model.config.n_ctx)
        model._forward(idx2, keep=False, tap=tap, logits_to_keep=1)
    except _Captured:
        pass
    return store


def activation_grads(
    model: GPT, idx: Any, targets: Any, names: Any, hooks: dict[str, Hook] | None = None,
    ignore_index: int | None = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and its gradient with respect to residual-stream activations.

    Parameters
    ----------
    idx, targets, ignore_index
        As in :meth:`GPT.loss_and_grads <minigpt.GPT.loss_and_grads>` (``idx`` of shape (B, T)).
    names : iterable of str
        Among ``embed``, ``ln_f`` and ``blocks.{i}.`` + ``resid_pre``, ``attn_out``,
        ``resid_mid``, ``mlp_out``, ``resid_post``.
    hooks : dict of str to callable, optional
        Interventions during the forward pass (see :meth:`GPT.forward <minigpt.GPT.forward>`). A requested
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
        For bad ids or targets, exactly as :meth:`GPT.loss_and_grads <minigpt.GPT.loss_and_grads>` (one shared check).

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> model = GPT(GPTConfig(vocab_size=16, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    >>> idx = np.array([[1, 2, 3]])
    >>> loss, g = activation_grads(model, idx, idx, ["blocks.1.mlp_out"])
    >>> g["blocks.1.mlp_out"].shape
    (1, 3, 8)
    """
    names = [names] if isinstance(names, str) else list(names)
    residual = {"embed", "ln_f"} | {f"blocks.{i}.{n}" for i in range(model.config.n_layer)
                                    for n in RESIDUAL_POINTS}
    unknown = sorted(set(names) - residual)
    if unknown:
        raise ValueError(f"activation gradients are available for residual-stream names "
                         f"(e.g. 'blocks.0.mlp_out'), got {unknown[:5]}")
    idx2 = check_idx(idx, model.config.vocab_size, model.config.n_ctx)
    targets2 = check_targets(targets, idx, idx2, model.config.vocab_size, ignore_index)
    tap = None if not hooks else make_tap(model, hooks, {}, ())
    logits, cache = model._forward(idx2, keep=True, tap=tap)
    loss, ce_cache = cross_entropy_forward(logits, targets2, ignore_index)
    all_grads: dict[str, np.ndarray] = {}
    model.backward(cross_entropy_backward(1.0, ce_cache), cache, all_grads)
    return loss, {n: all_grads[n] for n in names}
