import json

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.facts import fact_recall, facts_dataset
from minigpt.data import FactPrompt
from minigpt.interp import ablated_recall, ablation_sweep, encode_facts, group_facts
from minigpt.interp.ablation import _fills, _hooks
from minigpt.tokenizers import WordTokenizer

LAYERS = range(4)


def test_ablating_nothing_is_the_clean_run(demo_model):
    model, tok, _ = demo_model
    for kind in ("zero", "mean"):
        acc, p = ablated_recall(model, tok, templates=[0, 2], layers=(), kind=kind)
        clean = [fact_recall(model, tok, template=t).accuracy for t in (0, 2)]
        assert acc == pytest.approx(np.mean(clean), abs=1e-12)
        assert p > 0.9


def test_ablating_every_mlp_everywhere_costs_recall(demo_model):
    """Measured on the demo model: zero 0.75, mean 0.81 recall (attention alone recalls
    most facts, by the last name); mean over positions pooled: 0.00."""
    model, tok, _ = demo_model
    clean, p_clean = ablated_recall(model, tok)
    results = {kind: ablated_recall(model, tok, component="mlp", layers=LAYERS, where="all",
                                    kind=kind) for kind in ("zero", "mean", "mean_pooled")}
    for kind, (acc, p) in results.items():
        assert acc < clean - 0.1 and p < p_clean - 0.2, (kind, acc, p)
    assert results["zero"] != results["mean"]
    assert results["mean_pooled"][0] < 0.2
    # without layer 0's attention the names never reach the last token
    assert ablated_recall(model, tok, component="attn", layers=0, where="all")[0] < 0.4
    # at the last subject token alone no MLP is needed (the lookup happens at the end)
    assert ablated_recall(model, tok, component="mlp", layers=LAYERS)[0] > 0.95


def test_sweep_rows_drops_and_outputs(demo_model):
    model, tok, _ = demo_model
    result = ablation_sweep(model, tok, templates=0)
    assert len(result.rows) == 2 * 4 * 2 * 2
    assert {r.kind for r in result.rows} == {"zero", "mean"}
    for r in result.rows:
        assert r.accuracy_drop == pytest.approx(result.clean_accuracy - r.accuracy, abs=1e-12)
        assert r.p_drop == pytest.approx(result.clean_p - r.p_correct, abs=1e-12)
    single = ablated_recall(model, tok, templates=0, component="attn", layers=[0], where="all",
                            kind="mean")
    row = result.row("attn", 0, "all", "mean")
    assert (row.accuracy, row.p_correct) == pytest.approx(single, abs=1e-9)
    assert row.accuracy_drop > 0.5
    with pytest.raises(KeyError):
        result.row("mlp", 9, "all", "zero")
    assert len(result.to_table().splitlines()) == 1 + 2 + 32
    assert json.loads(json.dumps(result.to_dict()))["rows"][0]["component"] == "mlp"
    assert "attn at all: layer 0 hurts most" in result.summary()


def test_hooks_put_in_zero_and_the_means():
    tok = facts_dataset()[0]
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    encoded = encode_facts(tok, template=2)
    (group,) = group_facts(encoded)
    fills = _fills(model, encoded, "product")
    name = "blocks.1.mlp_out"
    _, clean = model.run_with_cache(group.ids, names=[name])
    c = clean[name]  # (N, T, C)
    expected = {
        ("last_subject", "zero"): np.where(np.arange(6)[:, None] == 3, 0, c),
        ("last_subject", "mean"): np.where(np.arange(6)[:, None] == 3, c.mean(axis=0), c),
        ("all", "zero"): np.zeros_like(c),
        ("all", "mean"): np.broadcast_to(c.mean(axis=0), c.shape),
        ("all", "mean_pooled"): np.broadcast_to(c.mean(axis=(0, 1)), c.shape),
    }
    for (where, kind), want in expected.items():
        hooks = _hooks(group, fills, "mlp", [1], where, kind)
        _, got = model.run_with_cache(group.ids, names=[name], hooks=hooks)
        np.testing.assert_allclose(got[name], want, rtol=1e-6, atol=1e-7)


def test_means_over_facts_of_different_shapes():
    """The mean at the last subject token pools every fact's own last subject token; the
    mean at a position pools the facts whose run reaches it."""
    facts = [FactPrompt("The capital of France is", "France", "Paris"),
             FactPrompt("Of all places, South Korea has as its capital", "South Korea", "Seoul")]
    tok = WordTokenizer.from_text("\n".join(f.sentence for f in facts))
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=12, n_layer=1, n_head=2, d_model=8),
                dtype=np.float64)
    encoded = encode_facts(tok, facts)
    fills = _fills(model, encoded, "first")["blocks.0.mlp_out"]
    runs = [model.run_with_cache(e.ids, names=["blocks.0.mlp_out"])[1]["blocks.0.mlp_out"][0]
            for e in encoded]  # (T_n, C) each
    np.testing.assert_allclose(fills.last_subject, (runs[0][3] + runs[1][5]) / 2, rtol=1e-12)
    np.testing.assert_allclose(fills.position[:5], (runs[0] + runs[1][:5]) / 2, rtol=1e-12)
    np.testing.assert_allclose(fills.position[5:], runs[1][5:], rtol=1e-12)
    pooled = np.concatenate(runs).mean(axis=0)
    np.testing.assert_allclose(fills.pooled, pooled, rtol=1e-12)
    acc, p = ablated_recall(model, tok, facts, component="mlp", layers=0, kind="mean")
    assert 0 <= acc <= 1 and 0 < p < 1
    result = ablation_sweep(model, tok, facts, components="mlp")
    assert result.templates == ["prompt"] and result.n == 2


def test_bad_arguments():
    tok = facts_dataset()[0]
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    with pytest.raises(ValueError, match=r"component must be one of \['mlp', 'attn'\], got 'ff'"):
        ablated_recall(model, tok, component="ff")
    with pytest.raises(ValueError, match="where must be one of"):
        ablated_recall(model, tok, where="first")
    with pytest.raises(ValueError, match="kind must be one of"):
        ablation_sweep(model, tok, kinds=["noise"])
    with pytest.raises(ValueError, match=r"layers must be an int in \[0, 1\], got 2"):
        ablated_recall(model, tok, layers=[0, 2])
    with pytest.raises(TypeError, match="layers must be an int, got bool True"):
        ablated_recall(model, tok, layers=[True])
    with pytest.raises(TypeError, match="model must be a minigpt.GPT, got dict"):
        ablated_recall({}, tok)
    with pytest.raises(ValueError, match="templates must not be empty"):
        ablated_recall(model, tok, templates=[])
