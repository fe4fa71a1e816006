"""ROME, MEMIT and the fine-tuning baseline on general facts: the math, the bookkeeping and
the errors, on a tiny random model (that the edits work is tested on a trained model in
tests/test_facts_multitoken.py)."""

import json

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.checkpoint import load_checkpoint, save_checkpoint
from minigpt.data import FactPrompt, load_capitals
from minigpt.facts import (EditOutcome, evaluate_edits, finetune_edit, memit_edit,
                           mlp_key_covariance, rome_edit)
from minigpt.facts.edit_outcome import TABLE_WIDTH
from minigpt.facts.memit import memit_update
from minigpt.facts.rome import context_means, corpus_ids, edit_contexts
from minigpt.interp import score_facts
from minigpt.tokenizers import WordTokenizer

FACTS = load_capitals()[:6]
TEXT = "".join(s + "\n" for f in FACTS for s in [f.sentence, *(p.sentence for p in
                                                              f.paraphrase_facts())])


@pytest.fixture
def tiny():
    tok = WordTokenizer.from_text(TEXT)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=16, n_layer=3, n_head=2,
                          d_model=16), seed=0)
    return model, tok


def test_rome_edit_is_rank_one_in_one_matrix_and_stores_the_value(tiny):
    model, tok = tiny
    before = {n: p.copy() for n, p in model.params.items()}
    fact, new = FACTS[0], FACTS[1].answer
    ids = corpus_ids(tok, TEXT)
    contexts = edit_contexts(model, tok, FactPrompt(fact.prompt, fact.subject, new,
                                                    fact.paraphrases), ids, seed=0)
    key = context_means(model, contexts, ["blocks.1.mlp.post"])["blocks.1.mlp.post"]
    out = rome_edit(model, tok, fact, new, layer=1, corpus=TEXT, steps=5)
    changed = [n for n in model.params if not np.array_equal(model.params[n], before[n])]
    assert changed == ["blocks.1.mlp.w_down"]
    dW = model.params["blocks.1.mlp.w_down"].astype(np.float64) - before["blocks.1.mlp.w_down"]
    assert np.linalg.matrix_rank(dW, tol=1e-6 * np.abs(dW).max()) == 1
    # the change is along C^-1 k*: it maps every key orthogonal to k* in the C metric to 0
    C = mlp_key_covariance(GPT(model.config, params=before), ids, 1)
    c_inv_k = np.linalg.solve(C, key)
    assert np.linalg.norm(dW @ C @ (np.eye(len(key)) - np.outer(c_inv_k, key) / (key @ c_inv_k))) \
        < 1e-4 * np.linalg.norm(dW)
    assert isinstance(out, EditOutcome) and out.method == "rome" and out.layer == 1
    assert set(out.before) == set(out.after) == {"p_old", "p_new"}
    assert out.paraphrase is not None and out.seconds > 0
    assert out.delta_norm == pytest.approx(np.linalg.norm(dW), rel=1e-5)
    json.dumps(out.to_dict())
    assert max(len(line) for line in out.to_table().splitlines()) <= TABLE_WIDTH


def test_edited_checkpoint_reloads_with_the_edit(tiny, tmp_path):
    model, tok = tiny
    out = rome_edit(model, tok, FACTS[0], FACTS[2].answer, layer=0, corpus=TEXT, steps=5)
    path = tmp_path / "edited.safetensors"
    save_checkpoint(path, model.params, config=model.config, tokenizer=tok)
    ckpt = load_checkpoint(path)
    again = GPT(ckpt.config, params=ckpt.params)
    p = score_facts(again, tok, [FactPrompt(FACTS[0].prompt, FACTS[0].subject,
                                            FACTS[2].answer)]).p[0]
    assert p == pytest.approx(out.after["p_new"], rel=1e-5)
    assert p != pytest.approx(out.before["p_new"], rel=1e-3)


def test_mlp_key_covariance_is_the_mean_outer_product_of_the_keys(tiny):
    model, tok = tiny
    ids = corpus_ids(tok, TEXT)
    C = mlp_key_covariance(model, ids, 1, n_tokens=64, ridge=0.0)
    windows = ids[:64].reshape(4, 16)
    _, cache = model.run_with_cache(windows, names=["blocks.1.mlp.post"])
    K = cache["blocks.1.mlp.post"].reshape(-1, model.config.d_ff).astype(np.float64)
    np.testing.assert_allclose(C, K.T @ K / len(K), rtol=1e-10)
    ridged = mlp_key_covariance(model, ids, 1, n_tokens=64)
    assert np.linalg.eigvalsh(ridged).min() > 0


def test_memit_update_is_the_regularized_least_squares_solution():
    rng = np.random.default_rng(0)
    Cm, F, n, N = 3, 5, 2, 40
    K, R = rng.standard_normal((F, n)), rng.standard_normal((Cm, n))
    corpus = rng.standard_normal((N, F))
    C = corpus.T @ corpus / N
    D = memit_update(np.zeros((Cm, F)), K, R, C, cov_weight=0.7)
    # gradient of 0.7 tr(D C D^T) + |D K - R|^2 vanishes at the solution
    grad = 2 * 0.7 * D @ C + 2 * (D @ K - R) @ K.T
    np.testing.assert_allclose(grad, 0, atol=1e-10)
    with pytest.raises(ValueError, match="K must be"):
        memit_update(np.zeros((Cm, F)), K.T, R, C)


def test_memit_edit_changes_the_layer_range_and_reports_each_fact(tiny):
    model, tok = tiny
    before = {n: p.copy() for n, p in model.params.items()}
    edits = [(FACTS[0], FACTS[1].answer), (FACTS[2], FACTS[3].answer)]
    outs = memit_edit(model, tok, edits, layers=[0, 1], corpus=TEXT, steps=5)
    assert [o.new_answer for o in outs] == [FACTS[1].answer, FACTS[3].answer]
    assert all(o.method == "memit" and o.layers == (0, 1) and o.layer == 1 for o in outs)
    changed = sorted(n for n in model.params if not np.array_equal(model.params[n], before[n]))
    assert changed == ["blocks.0.mlp.w_down", "blocks.1.mlp.w_down"]
    with pytest.raises(ValueError, match="must not be empty"):
        memit_edit(model, tok, [], layers=[0])
    with pytest.raises(ValueError, match="must not repeat"):
        memit_edit(model, tok, [edits[0], edits[0]], layers=[0])


def test_finetune_edit_changes_only_w_down(tiny):
    model, tok = tiny
    before = {n: p.copy() for n, p in model.params.items()}
    out = finetune_edit(model, tok, FACTS[0], FACTS[1].answer, layer=1, steps=3)
    changed = [n for n in model.params if not np.array_equal(model.params[n], before[n])]
    assert changed == ["blocks.1.mlp.w_down"] and out.method == "finetune"
    assert out.after["p_new"] > out.before["p_new"]


def test_evaluate_edits_restores_the_model_and_reports_both_methods(tiny):
    model, tok = tiny
    before = {n: p.copy() for n, p in model.params.items()}
    report = evaluate_edits(model, tok, FACTS, n_edits=2, layer=1, corpus=TEXT, steps=3)
    assert report.methods == ["rome", "finetune"]
    assert report.summary("rome")["n"] == report.summary("finetune")["n"] == 2
    assert "p(new answer) > p(old answer)" in report.rule
    assert all(np.array_equal(model.params[n], before[n]) for n in model.params)
    json.dumps(report.to_dict())
    assert max(len(line) for line in report.to_table().splitlines()) <= TABLE_WIDTH
    memit = evaluate_edits(model, tok, FACTS, n_edits=2, method="memit", layer=1,
                           corpus=TEXT, steps=3, baseline=False)
    assert memit.methods == ["memit"]
    assert all(np.array_equal(model.params[n], before[n]) for n in model.params)


def test_bad_edits_get_one_clear_error_each(tiny):
    model, tok = tiny
    fact = FACTS[0]
    with pytest.raises(ValueError, match="does not occur in the prompt"):
        FactPrompt("The capital of France is", "Spain", "Paris")
    with pytest.raises(TypeError, match="fact must be a FactPrompt"):
        rome_edit(model, tok, ("The capital of France is", "France", "Paris"), "Rome", 0)
    with pytest.raises(ValueError, match="must not be empty"):
        rome_edit(model, tok, fact, "  ", 0)
    with pytest.raises(ValueError, match="is the fact's answer already"):
        rome_edit(model, tok, fact, fact.answer, 0)
    with pytest.raises(ValueError, match="not in the tokenizer's vocabulary|cannot encode"):
        rome_edit(model, tok, fact, "Atlantis", 0)
    long = FactPrompt("The" + " capital of" * 7 + " France is", "France", "Paris")  # 17 tokens
    with pytest.raises(ValueError, match="n_ctx=16"):
        rome_edit(model, tok, long, "Rome", 0)
    for layer, error in ((3, ValueError), (-1, ValueError), (1.0, TypeError)):
        with pytest.raises(error, match="layer must be"):
            rome_edit(model, tok, fact, FACTS[1].answer, layer, corpus=TEXT)
        with pytest.raises(error, match="layer must be"):
            finetune_edit(model, tok, fact, FACTS[1].answer, layer)
    with pytest.raises(ValueError, match="covariance must have shape"):
        rome_edit(model, tok, fact, FACTS[1].answer, 0, covariance=np.eye(3))
    with pytest.raises(ValueError, match="cannot encode the embedded text"):
        rome_edit(model, tok, fact, FACTS[1].answer, 0)  # a word vocabulary of six facts
    with pytest.raises(TypeError, match="corpus must be a str"):
        rome_edit(model, tok, fact, FACTS[1].answer, 0, corpus=b"text")
    with pytest.raises(ValueError, match="method must be one of"):
        evaluate_edits(model, tok, FACTS, method="rome2")


def test_subject_token_offset_follows_the_trace_and_edit_contexts_reads_it():
    from minigpt.facts.rome import N_PREFIXES, TRACE_SAMPLES, subject_token_offset
    from minigpt.interp import causal_trace, encode_fact
    from minigpt.tokenizers import CharTokenizer
    tok = CharTokenizer.from_text(TEXT)  # "France" is six tokens
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=64, n_layer=2, n_head=2,
                          d_model=16), seed=0)
    fact = FACTS[0]
    assert subject_token_offset(model, tok, fact, 1, "last") == 0
    offset = subject_token_offset(model, tok, fact, 1, "traced", seed=3)
    trace = causal_trace(model, tok, [fact], kinds=("resid",), n_samples=TRACE_SAMPLES, seed=3)
    first, last = trace.spans[0]
    effects = trace.fact_effect(0, "resid")[1, first:last + 1]
    assert offset == last - first - int(np.argmax(effects))
    new = FactPrompt(fact.prompt, fact.subject, FACTS[1].answer, fact.paraphrases)
    ids = corpus_ids(tok, TEXT)
    for k in (0, 2, 99):
        contexts = edit_contexts(model, tok, new, ids, seed=0, offset=k)
        assert contexts.n == 1 + len(fact.paraphrases) + N_PREFIXES
        for inputs, _, pos in contexts.batches:
            for row, p in zip(inputs, pos):
                start = tok.decode(row).rfind(fact.subject, 0, p + len(fact.subject))  # char tokens
                assert p == max(start, start + len(fact.subject) - 1 - k)
    assert edit_contexts(model, tok, new, ids, n_prefixes=0).n == 1 + len(fact.paraphrases)
    with pytest.raises(ValueError, match="token must be one of"):
        subject_token_offset(model, tok, fact, 1, "first")
    with pytest.raises(ValueError, match="token must be one of"):
        rome_edit(model, tok, fact, FACTS[1].answer, 1, corpus=TEXT, token="middle")
    with pytest.raises(ValueError, match="n_prefixes"):
        rome_edit(model, tok, fact, FACTS[1].answer, 1, corpus=TEXT, n_prefixes=-1)
    with pytest.raises(ValueError, match="offset"):
        edit_contexts(model, tok, new, ids, offset=-1)
    out = rome_edit(model, tok, fact, FACTS[1].answer, 1, corpus=TEXT, steps=3, token="traced")
    assert out.method == "rome"
