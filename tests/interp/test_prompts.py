import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.data import TEMPLATES, Fact, load_facts
from minigpt.facts import facts_dataset
from minigpt.interp import answer_stats, fact_prompts, recall_by_template, subject_positions
from minigpt.interp.tables import jsonable, text_table
from minigpt.tokenizers import CharTokenizer


@pytest.fixture(scope="module")
def tok():
    return facts_dataset()[0]


@pytest.mark.parametrize("template, expected", [(0, (0, 1)), (1, (0, 1)), (2, (2, 3)),
                                                (3, (0, 1)), (4, (0, 1))])
def test_subject_positions_of_every_template(tok, template, expected):
    assert subject_positions(tok, template) == expected


def test_fact_prompts_rows_hold_each_fact(tok):
    facts = load_facts()
    P = fact_prompts(tok, facts, 2)
    assert P.ids.shape == (180, 6) and P.ids.dtype == np.int64
    assert P.labels == ["The", "sport", "First", "Last", "plays", "is"]
    for n in (0, 57, 179):  # the tokens at the subject positions are the fact's names
        f = facts[n]
        assert tok.decode([int(P.ids[n, P.first])]).strip() == f.first
        assert tok.decode([int(P.ids[n, P.last])]).strip() == f.last
        assert tok.decode([int(P.answers[n])]) == " " + f.sport


def test_template_string_and_subset(tok):
    facts = [Fact("Michael", "Jordan", "basketball"), Fact("Serena", "Williams", "tennis")]
    P = fact_prompts(tok, facts, "The sport {name} plays is {sport}.")
    assert (P.first, P.last, P.n, P.T) == (2, 3, 2, 6)


def test_fact_prompts_errors(tok):
    with pytest.raises(ValueError, match="template index"):
        fact_prompts(tok, template=len(TEMPLATES))
    with pytest.raises(ValueError, match="must not be empty"):
        fact_prompts(tok, facts=[])
    facts = [Fact("Michael", "Jordan", "basketball"), Fact("Tiger", "Woods", "golf")]
    chars = CharTokenizer.from_text("Michael Jordan Tiger Woods plays basketball golf")
    with pytest.raises(ValueError, match=r"same number of tokens.*\[17, 20\]"):
        fact_prompts(chars, facts)


def test_answer_stats_by_hand():
    logits = np.array([[0.0, 2.0, 1.0, 2.0], [3.0, 0.0, 0.0, 0.0]])
    p, rank = answer_stats(logits, np.array([3, 0]))
    e = np.exp(logits)
    np.testing.assert_allclose(p, [e[0, 3] / e[0].sum(), e[1, 0] / e[1].sum()], rtol=1e-12)
    np.testing.assert_array_equal(rank, [1, 1])  # a tie does not push the answer down
    _, rank = answer_stats(logits, np.array([2, 1]))
    np.testing.assert_array_equal(rank, [3, 2])
    with pytest.raises(ValueError, match=r"logits must be \(N, V\)"):
        answer_stats(logits, np.array([0]))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_answer_rank_matches_a_sort(seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((5, 11))
    answers = rng.integers(0, 11, 5)
    _, rank = answer_stats(logits, answers)
    order = np.argsort(-logits, axis=1)
    np.testing.assert_array_equal(rank, 1 + np.argmax(order == answers[:, None], axis=1))


def test_recall_by_template_on_the_demo_model(demo_model):
    model, tok, _ = demo_model
    table = recall_by_template(model, tok)
    assert [r.template for r in table.rows] == [0, 1, 2, 3, 4]
    assert all(r.n == 180 and r.accuracy >= 0.95 and r.p_correct > 0.9 for r in table.rows)
    text = table.to_table()
    assert "The sport {name} plays is" in text and len(text.splitlines()) == 2 + 5
    d = json.loads(json.dumps(table.to_dict()))
    assert d["accuracy"] == pytest.approx(table.accuracy)


def test_text_table_and_jsonable():
    assert text_table(["a", "b"], [["x", 1.5]]).splitlines() == ["a      b", "--------",
                                                                  "x  1.500"]
    assert json.dumps(jsonable({"k": np.eye(2, dtype=np.float32), "n": np.int64(3)})) == \
        '{"k": [[1.0, 0.0], [0.0, 1.0]], "n": 3}'
