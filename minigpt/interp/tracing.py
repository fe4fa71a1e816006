"""Causal tracing (Meng et al. 2022, ROME): which hidden states carry a fact to the answer?

Three runs of the same prompt:

1. **clean**: "Michael Jordan plays" -> p(basketball) is high;
2. **corrupted**: Gaussian noise is added to the subject tokens' embeddings, so the model
   no longer knows who it is reading about and p(basketball) falls;
3. **restored**: the corrupted run again, but one hidden state (a layer's residual stream,
   MLP output or attention output at one position) is put back to its clean value.

If restoring a state brings the right answer's probability back, that state carries the
fact. Indirect effect of a state = p(restored) - p(corrupted); total effect = p(clean) -
p(corrupted). In GPT-2 XL ROME finds the decisive states in the middle layers' MLPs at the
**last subject token**, and attention at the last prompt token in later layers;
:meth:`TraceResult.summary` says what the same measurement finds in a minigpt model.

**What is computed, and what is not.** A restore at layer l and position t changes nothing
before it: layers below l, and positions before t (attention is causal). So the corrupted
run is made once, keeping each layer's input and its attention keys and values; each
restored run then starts at layer l from that layer's corrupted input, at positions t and
after only, attending to the kept keys and values of the positions before t (the KV cache
of :meth:`minigpt.GPT.generate`). Only the positions whose logits are read are unembedded.
Positions before the subject are not run at all: their corrupted states equal the clean
ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..block import block_forward
from ..model import GPT
from .encoding import EncodedFact, encode_facts, is_athletes, token_labels
from .lens import decode_residual
from .prompts import check_choice, check_int, check_model, position_labels
from .scoring import MODES, FactGroup, answer_scores, group_facts
from .trace_result import TRACE_KINDS, TraceResult

NOISE_SCALE = 3.0  # noise std in units of the subject embeddings' std, as in ROME
N_SAMPLES = 10  # noise draws averaged per fact, as in ROME
TRACE_MEMORY_BYTES = 2**28  # facts are traced in chunks whose kept states fit in this


def subject_embedding_std(model: GPT, encoded: Sequence[EncodedFact]) -> float:
    """The standard deviation of the subject tokens' embeddings, over all given facts.

    Returns
    -------
    float
        ``tok_emb[ids].std()`` over every subject token of every fact (repeats counted),
        all coordinates pooled, ``ddof=0``.

    Notes
    -----
    ROME measures the same over the subjects of its dataset (1,209 facts), each subject
    tokenized alone; here the subjects' tokens are taken as they appear in the prompts
    (with their leading space), and the facts being traced are the sample.
    """
    ids = np.concatenate([e.ids[e.first:e.last + 1] for e in encoded])  # (n_subject_tokens,)
    return float(model.params["tok_emb"][ids].std(dtype=np.float64))


def window_layers(layer: int, window: int, n_layer: int) -> range:
    """The layers restored together around ``layer``: ROME's window, cut at the ends.

    Examples
    --------
    >>> list(window_layers(5, 1, 12)), list(window_layers(5, 4, 12)), list(window_layers(1, 10, 12))
    ([5], [3, 4, 5, 6], [0, 1, 2, 3, 4, 5])
    """
    return range(max(0, layer - window // 2), min(n_layer, layer - (-window // 2)))


def _p_answer(model: GPT, x: np.ndarray, answers: np.ndarray) -> np.ndarray:
    """p(answer) from the last residual states ``x`` (R, k, C) and answers (R, k)."""
    scores = answer_scores(decode_residual(model, x), answers)  # logits (R, k, V)
    return np.exp(scores.log_p)  # (R,)


def _trace_group(model: GPT, group: FactGroup, noise: np.ndarray, kinds: list[str],
                 window: int, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trace the n facts of one group; ``noise`` is (S, n, T', C), zero off the subjects.

    Returns p_clean (n,), p_corrupt (n,) and p_restored (K, L, T, n).
    """
    S, n, Tx, C = noise.shape
    K, L, T, k = len(kinds), model.config.n_layer, group.T, group.n_read(mode)
    x_in = group.inputs(mode)  # (n, T')
    names = {kind: [f"blocks.{i}.{TRACE_KINDS[kind]}" for i in range(L)] for kind in kinds}
    logits, clean = model.run_with_cache(x_in, names=sum(names.values(), []),
                                         logits_to_keep=k)  # (n, k, V)
    answers = group.answers[:, :k]  # (n, k)
    p_clean = np.exp(answer_scores(logits, answers).log_p)  # (n,)

    # the corrupted run, once: each layer's input and its keys and values are kept
    p = model.params
    R = S * n  # rows, sample-major: row s * n + j is fact j under noise draw s
    x = (p["tok_emb"][np.tile(x_in, (S, 1))] + p["pos_emb"][:Tx]
         + noise.reshape(R, Tx, C))  # (R, T', C)
    H, D = model.config.n_head, model.config.d_head
    kv = [(np.empty((K * R, H, Tx, D), model.dtype), np.empty((K * R, H, Tx, D), model.dtype))
          for _ in range(L)]
    corrupt_in = []
    for i in range(L):
        corrupt_in.append(x)
        rows = (kv[i][0][:R], kv[i][1][:R])  # the caches' first R rows: filled here
        x, _ = block_forward(p, model.config, i, x, rows, 0)
    for k_cache, v_cache in kv:  # every kind's rows start from the same corrupted cache
        k_cache[R:], v_cache[R:] = np.tile(k_cache[:R], (K - 1, 1, 1, 1)), \
            np.tile(v_cache[:R], (K - 1, 1, 1, 1))
    p_corrupt = _p_answer(model, x[:, Tx - k:], np.tile(answers, (S, 1))).reshape(S, n)

    # restored runs: rows kind-major (K * R); for each position, latest first, and layer
    all_answers = np.tile(answers, (K * S, 1))  # (K*R, k)
    p_restored = np.empty((K, L, T, n), dtype=model.dtype)
    t0 = int(group.first.min())
    p_restored[:, :, :t0] = p_corrupt.mean(axis=0)  # before every subject: nothing to restore
    for t in range(T - 1, t0 - 1, -1):  # latest first: a run writes the KV cache at >= t only
        for layer in range(L):
            spans = {kind: window_layers(layer, window if kind != "resid" else 1, L)
                     for kind in kinds}
            start = min(r.start for r in spans.values())
            targets = {f"blocks.{j}.{TRACE_KINDS[kind]}":
                       (slice(c * R, (c + 1) * R), np.tile(clean[names[kind][j]][:, t], (S, 1)))
                       for c, kind in enumerate(kinds) for j in spans[kind]}

            def restore(name: str, value: np.ndarray, targets: dict = targets) -> np.ndarray:
                if name not in targets:
                    return value
                rows, state = targets[name]
                value = value.copy()
                value[rows, 0] = state  # position t is the first of the positions run
                return value

            h = np.tile(corrupt_in[start][:, t:], (K, 1, 1))  # (K*R, T' - t, C)
            for i in range(start, L):
                h, _ = block_forward(p, model.config, i, h, kv[i], t, tap=restore)
            p_run = _p_answer(model, h[:, h.shape[1] - k:], all_answers)  # (K*R,)
            p_restored[:, layer, t] = p_run.reshape(K, S, n).mean(axis=1)
    p_corrupt = p_corrupt.mean(axis=0)  # (n,)
    before = np.arange(T)[:, None] < group.first[None, :]  # (T, n): positions before a subject
    p_restored[:, :, before] = np.broadcast_to(p_corrupt, (T, n))[before]
    return p_clean, p_corrupt, p_restored


def _chunks(group: FactGroup, rows_bytes: int) -> list[FactGroup]:
    """Split a group so that each chunk's kept states take at most TRACE_MEMORY_BYTES."""
    size = max(1, TRACE_MEMORY_BYTES // max(rows_bytes, 1))
    return [FactGroup(group.rows[i:i + size], group.ids[i:i + size],
                      group.answers[i:i + size], group.first[i:i + size],
                      group.last[i:i + size]) for i in range(0, group.n, size)]


def causal_trace(model: Any, tokenizer: Any, facts: Any = None, template: int | str = 0,
                 kinds: Sequence[str] = tuple(TRACE_KINDS), n_samples: int = N_SAMPLES,
                 noise_scale: float = NOISE_SCALE, seed: int = 0, window: int = 1,
                 mode: str = "product", noise_std: float | None = None) -> TraceResult:
    """Causal tracing of facts of any shape, averaged over noise samples.

    Parameters
    ----------
    model : GPT
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    facts : sequence of FactPrompt (or of athletes' Fact), optional
        Default: the embedded athletes.
    template : int or str, default 0
        For athletes' ``Fact`` s only.
    kinds : sequence of {"resid", "mlp", "attn"}
        Restore ``blocks.{l}.resid_post``, ``blocks.{l}.mlp_out`` or ``blocks.{l}.attn_out``.
    n_samples : int, default 10
        Noise draws per fact.
    noise_scale : float, default 3.0
        Noise std in units of :math:`\\sigma_s`, the std of the subject tokens' embeddings
        (:func:`subject_embedding_std`).
    seed : int
        Seeds the noise.
    window : int, default 1
        For ``"mlp"`` and ``"attn"``, restore the state in ``window`` layers around l at
        once (:func:`window_layers`; ROME uses 10 in GPT-2 XL's 48 layers). The residual
        stream is always restored in one layer, as in ROME.
    mode : {"product", "first"}
        p(answer): teacher-forced product over the answer's tokens, or the first token.
    noise_std : float, optional
        The noise std itself, instead of ``noise_scale`` times :math:`\\sigma_s` (e.g.
        ROME's value measured on a larger set of subjects).

    Returns
    -------
    TraceResult

    Notes
    -----
    The corrupted run adds :math:`\\epsilon \\sim \\mathcal N(0, \\nu^2 I)`,
    :math:`\\nu = 3\\sigma_s`, to the ``embed`` activation (token plus position
    embedding) at the subject's positions, which is the same as corrupting the subject's
    token embeddings. The noise of fact n is drawn, fact after fact in the given order, as
    ``rng.standard_normal((n_samples, n_subject_tokens, d_model))`` in the model's dtype
    from ``numpy.random.default_rng(seed)``, times :math:`\\nu`. For each state h at
    (layer l, position t):

    .. math:: IE_{l,t} = \\operatorname{mean}_{s}
        \\left[p_{*,\\, h_{l,t} = h^{clean}_{l,t}}(a)\\right] - \\operatorname{mean}_{s}
        \\left[p_*(a)\\right]

    Restoring ``resid`` at the last layer and the last prompt position gives back
    p(clean) exactly in ``"first"`` mode: only ``ln_f`` and the unembedding follow it.
    Facts of one shape are traced as one batch (all noise samples and all kinds at once);
    the loop is over positions x layers.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> from minigpt.facts import facts_dataset
    >>> tok, _, _ = facts_dataset()
    >>> model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    >>> result = causal_trace(model, tok, n_samples=2)
    >>> result.indirect_effect("mlp").shape, result.labels, result.category_effect("mlp").shape
    ((2, 3), ['First', 'Last', 'plays'], (2, 6))
    """
    check_model(model)
    kinds = [check_choice("kind", k, tuple(TRACE_KINDS)) for k in
             ([kinds] if isinstance(kinds, str) else kinds)]
    if not kinds:
        raise ValueError("kinds must not be empty")
    S = check_int("n_samples", n_samples, 1)
    window = check_int("window", window, 1)
    check_choice("mode", mode, MODES)
    for name, value in (("noise_scale", noise_scale), ("noise_std", noise_std)):
        if value is not None and not (isinstance(value, (int, float)) and not
                                      isinstance(value, bool) and np.isfinite(value)
                                      and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    encoded = encode_facts(tokenizer, facts, model, template)
    dtype, C = model.dtype, model.config.d_model
    if noise_std is None:
        noise_std = noise_scale * subject_embedding_std(model, encoded)
    rng = np.random.default_rng(seed)
    draws = [rng.standard_normal((S, e.last - e.first + 1, C), dtype=dtype) * dtype(noise_std)
             for e in encoded]  # per fact: (S, n_subject_tokens, C)
    N, L, K = len(encoded), model.config.n_layer, len(kinds)
    p_clean, p_corrupt = np.empty(N, dtype), np.empty(N, dtype)
    restored: list[Any] = [None] * N
    for whole in group_facts(encoded):
        Tx, k = whole.inputs(mode).shape[1], whole.n_read(mode)
        # per fact: kept keys and values (2KS), corrupted inputs (S), clean states (K) of
        # every layer and position; the logits of a restored run (KS x k x V)
        row_bytes = ((2 * K * S + S + K) * L * Tx * C + K * S * k * model.config.vocab_size) \
            * np.dtype(dtype).itemsize
        for group in _chunks(whole, row_bytes):
            noise = np.zeros((S, group.n, Tx, C), dtype)  # (S, n, T', C)
            for j, (row, first, last) in enumerate(zip(group.rows, group.first, group.last)):
                noise[:, j, first:last + 1] = draws[row]
            pc, pk, pr = _trace_group(model, group, noise, kinds, window, mode)
            p_clean[group.rows], p_corrupt[group.rows] = pc, pk
            for j, row in enumerate(group.rows):
                restored[row] = pr[..., j]  # (K, L, T)
    tokens = [token_labels(tokenizer, e.ids) for e in encoded]
    spans = [e.subject for e in encoded]
    labels = None
    if len({(e.T, e.subject) for e in encoded}) == 1:
        labels = position_labels(tokenizer, np.stack([e.ids for e in encoded]),
                                 encoded[0].first, encoded[0].last)
    return TraceResult([e.fact for e in encoded], tokens, spans, kinds, float(noise_std), S,
                       window, mode, p_clean, p_corrupt, restored, labels,
                       template if is_athletes(facts) else None)
