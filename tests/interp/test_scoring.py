"""score_facts / group_facts / answer_scores: answer probabilities of facts of any shape."""

from __future__ import annotations

import json

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.bpe import train_bpe
from minigpt.data import FactPrompt, load_capitals
from minigpt.interp import (answer_scores, encode_facts, group_facts, recall_by_template,
                            score_facts, score_group)

FACTS = load_capitals()[:12]
BPE = train_bpe("".join(f.sentence + "\n" for f in load_capitals()) * 2, n_merges=150)


@pytest.fixture(scope="module")
def model():
    m = GPT(GPTConfig(vocab_size=BPE.vocab_size, n_ctx=24, n_layer=2, n_head=2, d_model=16),
            seed=0, dtype=np.float64)
    for p in m.params.values():
        p *= 8  # sharper distributions than the 0.02 init, so that answers differ
    return m


def log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def test_product_mode_is_the_teacher_forced_product_by_hand(model):
    scores = score_facts(model, BPE, FACTS)
    for n, fact in enumerate(FACTS):
        prompt, answer = BPE.encode(fact.prompt), BPE.encode(fact.sentence)[len(BPE.encode(fact.prompt)):]
        full = model.forward(np.concatenate([prompt, answer]))  # (T + A, V), one fact alone
        lp = log_softmax(full)
        by_hand = sum(lp[len(prompt) - 1 + i, a] for i, a in enumerate(answer))
        assert scores.log_p[n] == pytest.approx(by_hand, rel=1e-10)
        greedy = model.generate(prompt, len(answer), temperature=0)[len(prompt):]
        assert scores.correct[n] == np.array_equal(greedy, answer)
        first = score_facts(model, BPE, [fact], mode="first")
        assert first.log_p[0] == pytest.approx(lp[len(prompt) - 1, answer[0]], rel=1e-10)
        assert first.rank[0] == scores.rank[n] == 1 + np.sum(full[len(prompt) - 1] >
                                                               full[len(prompt) - 1, answer[0]])


def test_groups_by_shape_and_results_in_the_facts_order(model):
    encoded = encode_facts(BPE, FACTS)
    groups = group_facts(encoded)
    assert len(groups) > 1  # the capitals have several shapes under this tokenizer
    assert sorted(np.concatenate([g.rows for g in groups]).tolist()) == list(range(len(FACTS)))
    for g in groups:
        assert len({(encoded[r].T, encoded[r].A) for r in g.rows}) == 1
        assert g.inputs("product").shape == (g.n, g.T + g.A - 1)
        assert g.inputs("first").shape == (g.n, g.T) and g.n_read("first") == 1
        np.testing.assert_array_equal(g.first, [encoded[r].first for r in g.rows])
    shuffled = FACTS[::-1]
    np.testing.assert_allclose(score_facts(model, BPE, shuffled).log_p,
                               score_facts(model, BPE, FACTS).log_p[::-1], rtol=1e-12)


def test_hooks_as_a_function_of_the_group(model):
    """Zeroing each fact's last subject token's MLP output, per group, equals doing it fact by
    fact."""
    def hooks(group):
        def zero(v):
            v = v.copy()
            v[np.arange(group.n), group.last] = 0
            return v
        return {"blocks.0.mlp_out": zero}

    together = score_facts(model, BPE, FACTS, hooks=hooks)
    for n, e in enumerate(encode_facts(BPE, FACTS)):
        one = score_facts(model, BPE, [e.fact], hooks=hooks)
        assert one.log_p[0] == pytest.approx(together.log_p[n], rel=1e-10)


def test_answer_scores_by_hand_and_errors():
    logits = np.log(np.array([[[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]]))
    s = answer_scores(logits, np.array([[2, 0]]))
    assert np.exp(s.log_p[0]) == pytest.approx(0.3 * 0.5)
    assert not s.correct[0] and s.rank[0] == 2
    with pytest.raises(ValueError, match=r"logits must be \(n, k, V\) and answers \(n, k\)"):
        answer_scores(logits, np.array([2, 0]))


def test_outputs_and_bad_arguments(model):
    scores = score_facts(model, BPE, FACTS[:3])
    d = json.loads(json.dumps(scores.to_dict()))
    assert d["n"] == 3 and d["facts"][0]["answer"] == "Paris" and d["mode"] == "product"
    assert "recall" in scores.to_table() and "The capital of France is" in scores.to_table()
    with pytest.raises(ValueError, match=r"mode must be one of \['product', 'first'\]"):
        score_facts(model, BPE, FACTS, mode="sum")
    with pytest.raises(ValueError, match="facts must not be empty"):
        group_facts([])
    with pytest.raises(TypeError, match="model must be a minigpt.GPT"):
        score_facts(None, BPE, FACTS)
    g = group_facts(encode_facts(BPE, FACTS[:1]))[0]
    assert score_group(model, g, "first").log_p.shape == (1,)


def test_recall_of_general_facts_by_prompt_and_paraphrases(model):
    table = recall_by_template(model, BPE, FACTS[:4])
    assert [r.template for r in table.rows] == ["prompt", "paraphrases"]
    assert [r.n for r in table.rows] == [4, 8]
    plain = [FactPrompt(f.prompt, f.subject, f.answer) for f in FACTS[:4]]
    assert [r.template for r in recall_by_template(model, BPE, plain).rows] == ["prompt"]
    para = score_facts(model, BPE, [p for f in FACTS[:4] for p in f.paraphrase_facts()])
    assert table.rows[1].p_correct == pytest.approx(float(np.mean(para.p)))
    with pytest.raises(ValueError, match="templates apply to athletes"):
        recall_by_template(model, BPE, FACTS, templates=[0])
