import json

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.facts import facts_dataset
from minigpt.data import athlete_prompts
from minigpt.interp import (TraceResult, answer_stats, causal_trace, fact_prompts,
                            plot_causal_trace)

N_SAMPLES = 3  # enough to test the mechanics; the default is 10


def trace_tok():
    return facts_dataset()[0]


def draws(noise_std, n_facts, C, n_samples=N_SAMPLES, seed=0):
    """causal_trace's noise: fact after fact, (S, n_subject_tokens, C) each, as (S, N, 2, C)."""
    rng = np.random.default_rng(seed)
    per_fact = [rng.standard_normal((n_samples, 2, C), dtype=np.float32) * np.float32(noise_std)
                for _ in range(n_facts)]
    return np.stack(per_fact, axis=1)


@pytest.fixture(scope="module")
def trace(demo_model):
    model, tok, _ = demo_model
    return causal_trace(model, tok, template=0, n_samples=N_SAMPLES, seed=0)


def test_shapes_and_noise_scale(trace, demo_model):
    model, _, _ = demo_model
    assert trace.p_restored.shape == (3, 4, 3, 180)  # kinds, layers, positions, facts
    assert trace.p_clean.shape == trace.p_corrupt.shape == (180,)
    for kind in ("resid", "mlp", "attn"):
        assert trace.indirect_effect(kind).shape == (4, 3)
    assert trace.labels == ["First", "Last", "plays"]
    P = fact_prompts(trace_tok(), template=0)
    subject_vectors = model.params["tok_emb"][P.ids[:, :2]]  # (180, 2, C): every name token
    assert trace.noise_std == pytest.approx(3 * subject_vectors.std(), rel=1e-5)


def test_corruption_lowers_the_answer_and_restoring_the_end_recovers_it(trace):
    assert trace.p_corrupt.mean() < trace.p_clean.mean() - 0.1
    assert trace.total_effect == pytest.approx(trace.p_clean.mean() - trace.p_corrupt.mean())
    k = trace.kinds.index("resid")
    # only ln_f and the unembedding follow the last layer's last position: exact recovery
    np.testing.assert_allclose(trace.p_restored[k, -1, -1], trace.p_clean, atol=1e-6)
    ie = trace.indirect_effect("resid")
    assert ie[-1, -1] == pytest.approx(trace.total_effect, abs=1e-6)


def test_one_restoration_by_hand(trace, demo_model):
    """Recompute p(answer) with layer 0's MLP output restored at the last token."""
    model, tok, _ = demo_model
    P = fact_prompts(tok, template=0)
    _, clean = model.run_with_cache(P.ids, names=["blocks.0.mlp_out"])
    noise = draws(trace.noise_std, P.n, model.config.d_model)  # (S, N, 2, C)
    p = []
    for s in range(N_SAMPLES):
        def corrupt(v, s=s):
            return v + np.pad(noise[s], ((0, 0), (0, 1), (0, 0)))

        def restore(v):
            v = v.copy()
            v[:, 2] = clean["blocks.0.mlp_out"][:, 2]
            return v
        logits = model.forward(P.ids, hooks={"embed": corrupt, "blocks.0.mlp_out": restore})
        p.append(answer_stats(logits[:, -1], P.answers)[0])
    k = trace.kinds.index("mlp")
    np.testing.assert_allclose(trace.p_restored[k, 0, 2], np.mean(p, axis=0), atol=1e-5)


def test_positions_before_the_subject_are_untouched(demo_model):
    model, tok, _ = demo_model
    result = causal_trace(model, tok, template=2, kinds=["mlp"], n_samples=2)
    assert result.first == 2
    np.testing.assert_array_equal(result.indirect_effect("mlp")[:, :2], 0)
    # and really so: restoring position 0 by hand leaves p(corrupted) unchanged
    P = fact_prompts(tok, template=2)
    _, clean = model.run_with_cache(P.ids, names=["blocks.1.mlp_out"])
    noise = draws(result.noise_std, P.n, 64, n_samples=2).reshape(2 * P.n, 2, 64)
    ids = np.tile(P.ids, (2, 1))

    def corrupt(v):
        v = v.copy()
        v[:, 2:4] += noise
        return v

    def restore(v):
        v = v.copy()
        v[:, 0] = np.tile(clean["blocks.1.mlp_out"][:, 0], (2, 1))
        return v

    p, _ = answer_stats(model.forward(ids, hooks={"embed": corrupt, "blocks.1.mlp_out": restore})
                        [:, -1], np.tile(P.answers, 2))
    np.testing.assert_allclose(p.reshape(2, -1).mean(axis=0), result.p_corrupt, rtol=1e-5,
                               atol=1e-6)  # float32: cached and full attention round apart


def test_summary_is_computed_from_the_numbers(trace):
    text = trace.summary()
    for kind in trace.kinds:
        layer, pos, ie = trace.peak(kind)
        assert f"{kind}: strongest indirect effect {ie:.3f}" in text
        assert f"at layer {layer} of 4" in text
    _, pos, _ = trace.peak("mlp")
    assert ("agrees with" in text) == (pos == trace.last)
    assert ("differs from" in text) == (pos != trace.last)
    # a fake trace whose MLP effect sits at the last subject token says it agrees
    facts = athlete_prompts()[:2]
    restored = [np.zeros((1, 4, 3)), np.zeros((1, 4, 3))]
    restored[0][0, 1, 1] = restored[1][0, 1, 1] = 0.8
    fake = TraceResult(facts, [["Michael", " Jordan", " plays"]] * 2, [(0, 1)] * 2, ["mlp"],
                       1.0, 1, 1, "product", np.ones(2), np.zeros(2), restored,
                       ["First", "Last", "plays"], 0)
    assert "the last subject token, which agrees with it" in fake.summary()
    assert "layer 1 of 4 (middle)" in fake.summary()


def test_summary_says_why_there_is_no_share_when_the_total_effect_is_not_positive():
    # random weights: corrupting the subject need not lower p(answer), and a share of a
    # total effect <= 0 means nothing
    facts = athlete_prompts()[:2]
    restored = [np.full((1, 4, 3), 0.4), np.full((1, 4, 3), 0.4)]
    restored[0][0, 2, 1] = restored[1][0, 2, 1] = 0.45
    for p_corrupt in (0.5, 0.4):  # total effect -0.1, then 0
        flat = TraceResult(facts, [["Michael", " Jordan", " plays"]] * 2, [(0, 1)] * 2,
                           ["mlp"], 1.0, 1, 1, "product", np.full(2, 0.4),
                           np.full(2, p_corrupt), restored, ["First", "Last", "plays"], 0)
        text = flat.summary()
        assert "nan" not in text
        assert "mlp: strongest indirect effect" in text
        assert "share of the total n/a: total effect <= 0" in text


def test_seeded_and_zero_noise():
    tok = facts_dataset()[0]
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    a = causal_trace(model, tok, n_samples=2, seed=1)
    b = causal_trace(model, tok, n_samples=2, seed=1)
    c = causal_trace(model, tok, n_samples=2, seed=2)
    np.testing.assert_array_equal(a.p_restored, b.p_restored)
    assert not np.array_equal(a.p_corrupt, c.p_corrupt)
    still = causal_trace(model, tok, n_samples=1, noise_scale=0.0)
    np.testing.assert_allclose(still.p_corrupt, still.p_clean, atol=1e-6)
    expected = np.broadcast_to(still.p_clean, still.p_restored.shape)
    np.testing.assert_allclose(still.p_restored, expected, atol=1e-6)


def test_outputs(trace):
    d = json.loads(json.dumps(trace.to_dict()))
    assert np.array(d["indirect_effect"]["mlp"]).shape == (4, 3)
    text = trace.to_table("attn")
    assert "First" in text and "layer 3" in text and "restoring attn" in text
    assert len(trace.to_table().split("\n\n")) == 3


def test_plot(trace):
    plt = pytest.importorskip("matplotlib.pyplot")
    ax = plot_causal_trace(trace, "mlp")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["First", "Last", "plays"]
    plt.close("all")


def test_bad_arguments():
    tok = facts_dataset()[0]
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=1, n_head=2, d_model=8))
    with pytest.raises(ValueError, match=r"kind must be one of \['resid', 'mlp', 'attn'\]"):
        causal_trace(model, tok, kinds=["ln"])
    with pytest.raises(ValueError, match="kinds must not be empty"):
        causal_trace(model, tok, kinds=[])
    with pytest.raises(ValueError, match="n_samples must be an int >= 1, got 0"):
        causal_trace(model, tok, n_samples=0)
    with pytest.raises(ValueError, match="noise_scale must be a finite number >= 0, got -1"):
        causal_trace(model, tok, noise_scale=-1)
    result = causal_trace(model, tok, kinds="mlp", n_samples=1)
    with pytest.raises(ValueError, match=r"kind must be one of \['mlp'\], got 'attn'"):
        result.indirect_effect("attn")
