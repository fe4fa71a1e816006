import json

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.facts import facts_dataset
from minigpt.interp import answer_stats, decode_residual, fact_prompts, logit_lens, plot_logit_lens


@pytest.fixture(scope="module")
def lens(demo_model):
    model, tok, _ = demo_model
    return logit_lens(model, tok)


def test_last_layer_is_the_models_own_answer(lens, demo_model):
    model, tok, _ = demo_model
    ranks, probs = [], []
    for t in range(5):
        P = fact_prompts(tok, template=t)
        p, r = answer_stats(model.forward(P.ids)[:, -1], P.answers)
        ranks.append(r)
        probs.append(p)
    np.testing.assert_array_equal(lens.ranks[:, -1], np.concatenate(ranks))
    np.testing.assert_allclose(lens.probs[:, -1], np.concatenate(probs), atol=1e-6)
    assert lens.ranks.shape == (900, 5)
    assert np.all(lens.ranks[np.concatenate(ranks) == 1, -1] == 1)


def test_the_answer_appears_layer_by_layer(lens):
    """Measured: mean rank 58.7 at the embedding, 2.0 after layer 0, 1.0 from layer 2 on."""
    assert lens.mean_rank[0] > 10 and lens.top1[0] < 0.05  # the last word alone says little
    assert lens.mean_rank[-1] == pytest.approx(1.0, abs=0.05)
    assert lens.top1[-1] >= 0.95
    assert np.all(np.diff(lens.mean_p) > -0.01)  # the answer grows, it is not lost and refound
    assert lens.summary().startswith("at the last prompt token, the right answer first tops")


def test_decode_residual_is_the_final_step():
    tok = facts_dataset()[0]
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=2, n_head=2, d_model=8),
                dtype=np.float64)
    idx = np.array([[1, 2, 3], [4, 5, 6]])
    logits, cache = model.run_with_cache(idx, names=["blocks.1.resid_post"])
    np.testing.assert_allclose(decode_residual(model, cache["blocks.1.resid_post"]), logits,
                               rtol=1e-12)


def test_subject_position_and_outputs(demo_model):
    model, tok, _ = demo_model
    at_subject = logit_lens(model, tok, templates=[0, 2], where="last_subject")
    assert at_subject.ranks.shape == (360, 5)
    assert at_subject.where == "last_subject"
    d = json.loads(json.dumps(at_subject.to_dict()))
    assert len(d["mean_rank"]) == 5 and d["points"][1] == "blocks.0.resid_post"
    text = at_subject.to_table()
    assert text.splitlines()[2].startswith("embed") and "layer 3" in text


def test_plot(lens):
    plt = pytest.importorskip("matplotlib.pyplot")
    ax = plot_logit_lens(lens)
    assert [t.get_text() for t in ax.get_xticklabels()] == lens.labels
    plt.close("all")


def test_bad_arguments():
    tok = facts_dataset()[0]
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=1, n_head=2, d_model=8))
    with pytest.raises(ValueError, match=r"where must be one of \['last', 'last_subject'\]"):
        logit_lens(model, tok, where="first")
    with pytest.raises(TypeError, match="model must be a minigpt.GPT"):
        decode_residual(None, np.zeros((1, 8)))
