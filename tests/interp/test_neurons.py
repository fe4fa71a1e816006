import json

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.facts import facts_dataset
from minigpt.interp import direct_effects, neuron_effects
from minigpt.nn import layernorm_forward

TINY = GPTConfig(vocab_size=7, n_ctx=4, n_layer=2, n_head=1, d_model=4, d_ff=3)
IDX = np.array([[1, 2, 3], [4, 5, 6]])
ANSWERS = np.array([0, 2])


@pytest.fixture
def tiny():
    model = GPT(TINY, seed=0, dtype=np.float64)
    rng = np.random.default_rng(3)
    for p in model.params.values():
        p += rng.standard_normal(p.shape) * 0.5
    return model


def test_one_neuron_writes_the_answer_by_hand(tiny):
    """Only neuron 1 of layer 1 writes along the answer's embedding: its effect is a * |u|^2."""
    p = tiny.params
    p["blocks.0.mlp.w_down"][:] = 0
    p["blocks.1.mlp.w_down"][:] = 0
    p["blocks.1.mlp.w_down"][:, 1] = p["tok_emb"][0]
    e = direct_effects(tiny, IDX[:1], ANSWERS[:1], position=-1, ln_f_scale=False)
    _, cache = tiny.run_with_cache(IDX[:1], names=["blocks.1.mlp.post"])
    a = cache["blocks.1.mlp.post"][0, -1, 1]
    u = p["tok_emb"][0]
    expected = np.zeros((1, 2, 3))
    expected[0, 1, 1] = a * (u[0] ** 2 + u[1] ** 2 + u[2] ** 2 + u[3] ** 2)
    np.testing.assert_allclose(e, expected, rtol=1e-12, atol=1e-15)


def test_direct_effects_match_a_loop(tiny):
    p = tiny.params
    e = direct_effects(tiny, IDX, ANSWERS, position=1, ln_f_scale=False)
    _, cache = tiny.run_with_cache(IDX)
    for n in range(2):
        for layer in range(2):
            for f in range(3):
                w = p[f"blocks.{layer}.mlp.w_down"][:, f]
                u = p["tok_emb"][ANSWERS[n]]
                a = cache[f"blocks.{layer}.mlp.post"][n, 1, f]
                by_hand = a * sum(w[c] * u[c] for c in range(4))
                assert e[n, layer, f] == pytest.approx(by_hand, rel=1e-12, abs=1e-15)


def test_effects_and_the_rest_add_up_to_the_logit(tiny):
    """With ln_f's scale frozen, the split of the answer's logit is exact."""
    p = tiny.params
    e = direct_effects(tiny, IDX, ANSWERS, position=-1, ln_f_scale=True)  # (2, 2, 3)
    logits, cache = tiny.run_with_cache(IDX)
    x = cache["blocks.1.resid_post"][:, -1]  # (2, C)
    _, ln = layernorm_forward(x, p["ln_f.gain"], p["ln_f.bias"])
    u = p["tok_emb"][ANSWERS]
    c = u * p["ln_f.gain"] - (u * p["ln_f.gain"]).mean(axis=-1, keepdims=True)
    rest = cache["embed"][:, -1] + sum(cache[f"blocks.{i}.attn_out"][:, -1]
                                       + p[f"blocks.{i}.mlp.b_down"] for i in range(2))
    total = e.sum(axis=(1, 2)) + ln.rstd[:, 0] * np.sum(rest * c, axis=-1) + u @ p["ln_f.bias"]
    np.testing.assert_allclose(total, logits[[0, 1], -1, ANSWERS], rtol=1e-10)


@pytest.fixture(scope="module")
def neurons(demo_model):
    model, tok, _ = demo_model
    return neuron_effects(model, tok, template=0, where="last")


def test_counts_are_consistent(neurons):
    N, (L, F) = 180, (4, 256)
    assert neurons.effects.shape == (N, L, F)
    assert neurons.top.shape == (N, 5)
    assert neurons.membership.shape == (L, F) and neurons.membership.sum() == N * 5
    flat = neurons.effects.reshape(N, -1)
    np.testing.assert_array_equal(flat[np.arange(N), neurons.top[:, 0]], flat.max(axis=1))
    assert np.all(np.diff(flat[np.arange(N)[:, None], neurons.top], axis=1) <= 0)
    share = flat.max(axis=1) / np.clip(flat, 0, None).sum(axis=1)
    np.testing.assert_allclose(neurons.top_share, share, rtol=1e-5)
    np.testing.assert_array_equal(neurons.dominant, share > 0.5)
    assert np.all((1 <= neurons.n_to_half) & (neurons.n_to_half <= L * F))
    assert np.all(neurons.n_to_half[neurons.dominant] == 1)


def test_no_neuron_per_fact_in_the_demo_model(neurons):
    """Measured: 0 of 180 facts have a dominant neuron; median 24 neurons give half the
    positive direct effect; 68 neurons fill all top-5 lists, the busiest serves 54 facts."""
    assert neurons.dominant.sum() < 18  # fewer than 10% of facts
    assert np.median(neurons.n_to_half) >= 3
    shared = neurons.shared_neurons(3)
    assert shared[0]["n_facts"] >= 20 and sum(shared[0]["sports"].values()) == shared[0]["n_facts"]
    text = neurons.summary()
    assert f"{int(neurons.dominant.sum())} of 180 facts have one neuron" in text


def test_outputs(neurons, demo_model):
    d = json.loads(json.dumps(neurons.to_dict()))
    assert len(d["facts"]) == 180 and len(d["facts"][0]["top"]) == 5
    assert d["facts"][0]["name"] == "Michael Jordan"
    assert "Michael Jordan" in neurons.to_table(max_facts=3)
    model, tok, _ = demo_model
    at_subject = neuron_effects(model, tok, where="last_subject", top_k=2, ln_f_scale=False)
    assert at_subject.top.shape == (180, 2) and not at_subject.ln_f_scale


def test_bad_arguments(tiny):
    tok = facts_dataset()[0]
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=1, n_head=2, d_model=8))
    with pytest.raises(ValueError, match=r"top_k must be an int in \[1, 32\], got 0"):
        neuron_effects(model, tok, top_k=0)
    with pytest.raises(ValueError, match=r"dominance must be a number in \(0, 1\), got 1.5"):
        neuron_effects(model, tok, dominance=1.5)
    with pytest.raises(ValueError, match="where must be one of"):
        neuron_effects(model, tok, where="everywhere")
    with pytest.raises(ValueError, match=r"position must be in \[-3, 3\), got 3"):
        direct_effects(tiny, IDX, ANSWERS, position=3)
    with pytest.raises(ValueError, match=r"ids must be \(N, T\) and answers \(N,\)"):
        direct_effects(tiny, IDX, ANSWERS[:1], position=0)
