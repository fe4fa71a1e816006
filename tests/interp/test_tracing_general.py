"""Causal tracing of facts of different shapes (multi-token subjects and answers, a BPE
tokenizer) against a reference that runs each fact alone through the model's hooks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.bpe import train_bpe
from minigpt.data import FactPrompt, load_capitals
from minigpt.interp import (CATEGORIES, causal_trace, category_positions, encode_facts,
                            plot_causal_trace, subject_embedding_std, window_layers)
from minigpt.interp.trace_result import TRACE_KINDS
from minigpt.optim import AdamW

S = 3  # noise samples
CAPITALS = load_capitals()
BPE = train_bpe("".join(f.sentence + "\n" for f in CAPITALS) * 2, n_merges=150)
FACTS = [CAPITALS[0], CAPITALS[38], CAPITALS[48],  # France, South Korea, Argentina
         FactPrompt("News: South Korea's capital is", "South Korea", "Seoul")]


TRAIN_STEPS = 150


@pytest.fixture(scope="module")
def model():
    """A small model taught the facts (teacher-forced answers), so that corrupting the
    subject has large effects to compare."""
    m = GPT(GPTConfig(vocab_size=BPE.vocab_size, n_ctx=32, n_layer=3, n_head=2, d_model=16),
            seed=2, dtype=np.float64)
    optimizer = AdamW(m.params, lr=3e-2, weight_decay=0.0)
    encoded = encode_facts(BPE, FACTS)
    for _ in range(TRAIN_STEPS):
        for e in encoded:
            _, grads = m.loss_and_grads(e.inputs[None], e.targets()[None], ignore_index=-1)
            optimizer.step(grads)
    return m


def log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def reference(model, e, noise, kinds, window, mode):
    """One fact, by hooks on the full forward pass: p_clean, p_corrupt, restored (K, L, T)."""
    x = e.inputs if mode == "product" else e.ids
    k = e.A if mode == "product" else 1
    L = model.config.n_layer
    names = [f"blocks.{i}.{p}" for i in range(L) for p in TRACE_KINDS.values()]
    _, clean = model.run_with_cache(x[None], names=names)
    answers = e.answer[:k]

    def p_of(hooks, rows):
        logits = model.forward(np.tile(x, (rows, 1)), hooks=hooks)[:, -k:]  # (rows, k, V)
        lp = log_softmax(logits)[:, np.arange(k), answers].sum(axis=1)
        return np.exp(lp).mean()

    def corrupt(v):
        v = v.copy()
        v[:, e.first:e.last + 1] += noise
        return v

    def restore_at(t, state):
        def hook(v):
            v = v.copy()
            v[:, t] = state
            return v
        return hook

    table = np.empty((len(kinds), L, e.T))
    for c, kind in enumerate(kinds):
        for layer in range(L):
            for t in range(e.T):
                hooks = {"embed": corrupt}
                for j in window_layers(layer, window if kind != "resid" else 1, L):
                    name = f"blocks.{j}.{TRACE_KINDS[kind]}"
                    hooks[name] = restore_at(t, clean[name][0, t])
                table[c, layer, t] = p_of(hooks, S)
    return p_of({}, 1), p_of({"embed": corrupt}, S), table


@pytest.mark.parametrize("mode, window", [("product", 1), ("first", 2), ("product", 3)])
def test_matches_the_reference_fact_by_fact(model, mode, window):
    kinds = ["resid", "mlp", "attn"]
    result = causal_trace(model, BPE, FACTS, kinds=kinds, n_samples=S, seed=7, window=window,
                          mode=mode)
    encoded = encode_facts(BPE, FACTS)
    assert len({(e.T, e.A, e.subject) for e in encoded}) == len(FACTS)  # all shapes differ
    std = 3 * subject_embedding_std(model, encoded)
    assert result.noise_std == pytest.approx(std)
    rng = np.random.default_rng(7)
    for n, e in enumerate(encoded):
        noise = rng.standard_normal((S, e.last - e.first + 1, 16)) * std
        p_clean, p_corrupt, table = reference(model, e, noise, kinds, window, mode)
        assert result.p_clean[n] == pytest.approx(p_clean, rel=1e-9)
        assert result.p_corrupt[n] == pytest.approx(p_corrupt, rel=1e-9, abs=1e-15)
        np.testing.assert_allclose(result.restored[n], table, rtol=1e-8, atol=1e-13)
    assert result.p_clean.min() > 0.5 and result.total_effect > 0.1  # real effects compared


def test_categories_pool_positions_as_rome(model):
    result = causal_trace(model, BPE, FACTS, kinds=["mlp"], n_samples=2)
    assert not result.same_shape and result.labels is None
    ce = result.category_effect("mlp")  # (L, 6)
    by_hand = np.zeros_like(ce)
    count = np.zeros(6)
    for n, (span, tokens) in enumerate(zip(result.spans, result.tokens)):
        ie = result.restored[n][0] - result.p_corrupt[n]
        for c, positions in enumerate(category_positions(*span, len(tokens))):
            for t in positions:
                by_hand[:, c] += ie[:, t]
                count[c] += 1
    np.testing.assert_allclose(ce, by_hand / count, rtol=1e-12)
    assert count.min() > 0
    with pytest.raises(ValueError, match="use category_effect"):
        result.indirect_effect("mlp")
    with pytest.raises(ValueError, match="use category_effect"):
        result.peak("mlp")
    layer, category, value = result.category_peak("mlp")
    assert value == pytest.approx(np.nanmax(ce)) and category in CATEGORIES
    text = result.to_table()
    assert "last subject token" in text and "layer 2" in text
    assert f"at layer {layer} of 3" in result.summary()
    d = json.loads(json.dumps(result.to_dict()))
    assert len(d["facts"]) == 4 and "indirect_effect" not in d
    assert np.array(d["facts"][1]["indirect_effect"]["mlp"]).shape == (3, len(result.tokens[1]))


def test_empty_category_is_nan_and_null_in_json(model):
    one_token = [f for f in CAPITALS if len(BPE.encode(" " + f.subject)) == 1][:2]
    result = causal_trace(model, BPE, one_token, kinds=["mlp"], n_samples=1)
    assert np.all(np.isnan(result.category_effect("mlp")[:, 1]))  # no middle subject tokens
    d = json.loads(json.dumps(result.to_dict()))
    assert d["category_effect"]["mlp"][0][1] is None


def test_category_positions_edge_cases():
    assert [list(r) for r in category_positions(0, 0, 1)] == [[0], [], [0], [], [], [0]]
    assert [list(r) for r in category_positions(2, 3, 5)] == [[2], [], [3], [4], [], [4]]


def test_single_fact_labels_are_its_tokens(model):
    result = causal_trace(model, BPE, CAPITALS[38], kinds="mlp", n_samples=1)
    assert result.same_shape and result.template is None
    assert result.labels == [BPE.decode([i]).strip() for i in BPE.encode(CAPITALS[38].prompt)]
    assert result.indirect_effect("mlp").shape == (3, len(result.labels))


def test_plot_by_category(model):
    plt = pytest.importorskip("matplotlib.pyplot")
    result = causal_trace(model, BPE, FACTS, kinds=["attn"], n_samples=1)
    ax = plot_causal_trace(result, "attn")
    assert [t.get_text() for t in ax.get_yticklabels()] == list(CATEGORIES)
    plt.close("all")


def test_bad_arguments(model):
    with pytest.raises(ValueError, match=r"window must be an int >= 1, got 0"):
        causal_trace(model, BPE, FACTS, window=0)
    with pytest.raises(ValueError, match="mode must be one of"):
        causal_trace(model, BPE, FACTS, mode="sum")
    with pytest.raises(ValueError, match="noise_std must be a finite number >= 0"):
        causal_trace(model, BPE, FACTS, noise_std=float("nan"))
    short = GPT(GPTConfig(vocab_size=BPE.vocab_size, n_ctx=4, n_layer=1, n_head=1, d_model=4))
    with pytest.raises(ValueError, match="more than the model's n_ctx=4"):
        causal_trace(short, BPE, FACTS)
    with pytest.raises(ValueError, match="does not occur in the prompt"):
        causal_trace(model, BPE, [FactPrompt("The capital of France is", "Spain", "Paris")])


def test_chunks_give_the_same_trace(monkeypatch):
    """Facts of one shape traced in chunks of one (a tiny memory budget) or all together."""
    from minigpt.data import athlete_prompts
    from minigpt.facts import facts_dataset
    from minigpt.interp import tracing

    tok = facts_dataset()[0]
    m = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=2, n_head=2, d_model=8),
            dtype=np.float64)
    facts = athlete_prompts()[::30]  # 6 facts of one shape
    together = causal_trace(m, tok, facts, n_samples=2, window=2)
    monkeypatch.setattr(tracing, "TRACE_MEMORY_BYTES", 1)
    apart = causal_trace(m, tok, facts, n_samples=2, window=2)
    np.testing.assert_allclose(apart.p_restored, together.p_restored, rtol=1e-12)
    np.testing.assert_allclose(apart.p_corrupt, together.p_corrupt, rtol=1e-12)
