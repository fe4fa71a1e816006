"""MEMIT: many facts at once, written by least squares into the MLPs of a range of layers.

ROME stores one (key, value) pair exactly. MEMIT (Meng et al. 2023, "Mass-Editing Memory in
a Transformer") asks each layer of a range to store many pairs as well as it can while
keeping its answers to the corpus's keys, and spreads the work over the layers: each one
writes its share of what is still missing at the last layer of the range.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..interp.prompts import check_model
from ..model import GPT
from .edit_outcome import EditOutcome
from .rome import (COV_TOKENS, WEIGHT_DECAY, answer_probs, check_edit, check_layer,
                   context_means, corpus_ids, edit_contexts, mlp_key_covariance,
                   optimize_delta, trace_layer)

MEMIT_SPAN = 3  # layers edited by default: the traced layer and the two before it
COV_WEIGHT = 1.0  # lambda: how much the corpus's keys weigh against the new facts' keys


def _check_edits(model: GPT, tokenizer: Any, edits: Any) -> list[tuple[Any, Any]]:
    """Each ``(fact, new_answer)`` checked as :func:`~minigpt.facts.rome_edit` does."""
    if isinstance(edits, (str, bytes)) or not isinstance(edits, Sequence):
        raise TypeError(f"edits must be a sequence of (FactPrompt, str) pairs, got "
                        f"{type(edits).__name__}")
    if not edits:
        raise ValueError("edits must not be empty")
    checked = []
    for i, pair in enumerate(edits):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"edits[{i}] must be a (FactPrompt, str) pair, got {pair!r}")
        checked.append(check_edit(model, tokenizer, *pair)[1])
    subjects = [f.prompt for f in checked]
    if len(set(subjects)) != len(subjects):
        raise ValueError("edits must not repeat a prompt")
    return [(f, pair[0]) for f, pair in zip(checked, edits)]


def default_layers(model: GPT, tokenizer: Any, facts: Sequence[Any], seed: int = 0) -> list[int]:
    """The traced layer (:func:`~minigpt.facts.rome.trace_layer`) and up to two before it."""
    top = trace_layer(model, tokenizer, facts, seed)
    return list(range(max(0, top - MEMIT_SPAN + 1), top + 1))


def memit_update(W: np.ndarray, K: np.ndarray, R: np.ndarray, C: np.ndarray,
                 cov_weight: float = COV_WEIGHT) -> np.ndarray:
    """MEMIT's least-squares change of one layer: :math:`\\Delta = R K^T (\\lambda C + K K^T)^{-1}`.

    Parameters
    ----------
    W : ndarray, shape (C_model, F)
        Only its shape is used (the change does not depend on W).
    K : ndarray, shape (F, n)
        The new facts' keys, one column each.
    R : ndarray, shape (C_model, n)
        What this layer must add to each fact's output.
    C : ndarray, shape (F, F)
        The corpus's key covariance.
    cov_weight : float
        :math:`\\lambda`.

    Returns
    -------
    ndarray, shape (C_model, F)
        :math:`\\Delta`, minimizing
        :math:`\\lambda\\, \\mathrm{tr}(\\Delta C \\Delta^T) + \\lVert \\Delta K - R \\rVert_F^2`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> K, R = rng.standard_normal((6, 2)), rng.standard_normal((3, 2))
    >>> D = memit_update(np.zeros((3, 6)), K, R, np.eye(6), cov_weight=1e-9)
    >>> bool(np.allclose(D @ K, R))
    True
    """
    if K.shape[0] != W.shape[1] or R.shape != (W.shape[0], K.shape[1]):
        raise ValueError(f"K must be (F, n) and R (C, n) for W {W.shape}, got {K.shape} and "
                         f"{R.shape}")
    A = cov_weight * C + K @ K.T  # (F, F), symmetric positive definite
    return R @ np.linalg.solve(A, K).T  # (C_model, F)


def memit_edit(model: GPT, tokenizer: Any, edits: Sequence[tuple[Any, str]],
               layers: Sequence[int] | None = None, *, corpus: str | None = None,
               seed: int = 0, steps: int = 25, lr: float = 0.5,
               weight_decay: float = WEIGHT_DECAY, cov_weight: float = COV_WEIGHT,
               n_tokens: int = COV_TOKENS) -> list[EditOutcome]:
    """Edit several facts at once, spread over the MLPs of ``layers`` (MEMIT), in place.

    Parameters
    ----------
    model : GPT
        ``blocks.{l}.mlp.w_down`` changes for each l in ``layers``.
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    edits : sequence of (FactPrompt, str)
        Each fact and its new answer; prompts must differ.
    layers : sequence of int, optional
        Default: the causal trace's MLP peak at the subjects' last tokens and the two
        layers before it (:func:`default_layers`).
    corpus : str, optional
        Text of the key covariances and the random prefixes; default the embedded text.
    seed : int
        Where the prefixes are cut (and the trace's noise).
    steps, lr, weight_decay
        Of each fact's target (:func:`~minigpt.facts.rome.optimize_delta`).
    cov_weight : float, default 1.0
        :math:`\\lambda` of :func:`memit_update`.
    n_tokens : int
        Corpus tokens per covariance.

    Returns
    -------
    list of EditOutcome
        One per edit, in order; ``seconds`` is the whole batch's time and ``delta_norm``
        the sum of the layers' change norms.

    Notes
    -----
    With :math:`L` the last layer of the range and :math:`h_i` the residual stream after it
    at fact i's last subject token (averaged over its contexts), each fact's target is
    :math:`z_i = h_i + \\delta_i`, with :math:`\\delta_i` optimized as in ROME. Then, for
    the layers :math:`l_1 < \\dots < l_m` in turn, on the model edited so far:

    .. math::
        K = [k_1 \\dots k_n], \\quad R = \\frac{[z_1 - h_1 \\dots z_n - h_n]}{m - j + 1},
        \\quad W_{l_j} \\mathrel{+}= R K^T (\\lambda C_{l_j} + K K^T)^{-1}

    where :math:`k_i` is fact i's key at layer :math:`l_j`, :math:`h_i` is recomputed
    after the previous layers' changes, and :math:`C_{l_j}` is the layer's key covariance
    (:func:`~minigpt.facts.rome.mlp_key_covariance`). Each layer thus writes an equal share
    of the remaining residual; :math:`\\lambda` trades the new facts against the corpus.
    """
    check_model(model)
    pairs = _check_edits(model, tokenizer, edits)
    start = time.perf_counter()
    if layers is None:
        layers = default_layers(model, tokenizer, [old for _, old in pairs], seed)
    if isinstance(layers, (int, np.integer)) or not isinstance(layers, Sequence) or not layers:
        raise ValueError(f"layers must be a non-empty sequence of ints, got {layers!r}")
    layers = sorted({check_layer(model, layer) for layer in layers})
    last = layers[-1]
    befores = [answer_probs(model, tokenizer, old, new.answer)[0] for new, old in pairs]
    ids = corpus_ids(tokenizer, corpus)
    contexts = [edit_contexts(model, tokenizer, new, ids, seed) for new, _ in pairs]
    resid, out = f"blocks.{last}.resid_post", f"blocks.{last}.mlp_out"
    targets = []
    for ctx in contexts:  # z_i = h_i + delta_i, on the unedited model
        means = context_means(model, ctx, [resid, out])
        delta, _ = optimize_delta(model, ctx, last, float(np.linalg.norm(means[out])), steps,
                                  lr, weight_decay)
        targets.append(means[resid] + delta)
    Z = np.stack(targets, axis=1)  # (C, n)
    delta_norm = 0.0
    for j, layer in enumerate(layers):
        key = f"blocks.{layer}.mlp.post"
        means = [context_means(model, ctx, [key, resid]) for ctx in contexts]
        K = np.stack([m[key] for m in means], axis=1)  # (F, n)
        H = np.stack([m[resid] for m in means], axis=1)  # (C, n)
        R = (Z - H) / (len(layers) - j)  # (C, n) this layer's share of what is missing
        C = mlp_key_covariance(model, ids, layer, n_tokens)
        W = model.params[f"blocks.{layer}.mlp.w_down"]
        change = memit_update(W, K, R, C, cov_weight)  # (C, F)
        W += change.astype(W.dtype)
        delta_norm += float(np.linalg.norm(change))
    seconds = time.perf_counter() - start
    outcomes = []
    for (new, old), before in zip(pairs, befores):
        after, paraphrase = answer_probs(model, tokenizer, old, new.answer)
        outcomes.append(EditOutcome(old, new.answer, last, "memit", seconds, before, after,
                                    paraphrase, delta_norm, tuple(layers)))
    return outcomes
