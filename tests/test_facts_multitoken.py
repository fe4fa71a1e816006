"""Facts whose names are several BPE tokens, end to end: a BPE vocabulary trained here, a
small GPT that recalls every fact, its causal trace, and ROME edits beside fine-tuning.

To stay fast the model learns the first 24 of the 60 capitals (each with its two
paraphrases, every sentence in training); the BPE vocabulary is trained on all 60 and the
first 20,000 characters of the embedded text.
"""

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.bpe import train_bpe
from minigpt.data import FactPrompt, load_capitals, load_text
from minigpt.facts import evaluate_edits, rome_edit
from minigpt.hf import load_hf_gpt2, save_hf_gpt2
from minigpt.interp import causal_trace, score_facts
from minigpt.train import TrainSettings, train

from tests.helpers import require

N_FACTS = 24
BPE_MERGES = 800  # 23 of the 24 subjects and all 24 answers stay 2-6 tokens
TEXT_CHARS = 20_000
SHAPE = dict(n_ctx=24, n_layer=3, n_head=4, d_model=48)
SETTINGS = TrainSettings(steps=300, batch_size=16, lr=3e-3, warmup_steps=30, eval_every=0,
                         weight_decay=0.0, seed=0)
EDIT_LAYER = 0  # the first layer: later ones leave too few layers to read the change
N_EDITS = 20


def sentences(facts):
    """Every prompt and paraphrase of the facts, completed, one per line."""
    return "".join(f"{s}\n" for f in facts
                   for s in [f.sentence, *(p.sentence for p in f.paraphrase_facts())])


@pytest.fixture(scope="module")
def capitals():
    """(model, tokenizer, facts, training text), trained once for the module."""
    everything = load_capitals()
    tok = train_bpe(sentences(everything) + load_text()[:TEXT_CHARS], BPE_MERGES)
    facts = everything[:N_FACTS]
    text = sentences(facts)
    ids = tok.encode(text)
    newline = tok.encode("\n")[0]
    starts = np.concatenate([[0], np.flatnonzero(ids[:-1] == newline) + 1]).astype(np.int64)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, **SHAPE), seed=0)
    train(model, ids, SETTINGS, starts=starts, progress=False)
    return model, tok, facts, text


def every_prompt(facts):
    return [g for f in facts for g in [FactPrompt(f.prompt, f.subject, f.answer),
                                       *f.paraphrase_facts()]]


def test_names_are_several_tokens_and_every_fact_is_recalled(capitals):
    model, tok, facts, _ = capitals
    multi = [f.subject for f in facts if len(tok.encode(" " + f.subject)) >= 2]
    multi_answers = [f.answer for f in facts if len(tok.encode(" " + f.answer)) >= 2]
    assert len(multi) >= 5 and len(multi_answers) >= 5, (multi, multi_answers)
    scores = score_facts(model, tok, every_prompt(facts))
    assert scores.accuracy >= 0.99, scores.to_table()


def test_the_trace_peaks_and_rome_beats_fine_tuning(capitals):
    model, tok, facts, text = capitals
    trace = causal_trace(model, tok, facts[:6], kinds=("resid",), n_samples=4)
    peaks, at_last = [], []
    for n, (first, last) in enumerate(trace.spans):
        effects = trace.fact_effect(n, "resid")[EDIT_LAYER, first:last + 1]  # (subject,)
        peaks.append((trace.tokens[n][first + int(np.argmax(effects))], float(effects.max())))
        at_last.append(float(effects[-1]))
    print(f"residual after layer {EDIT_LAYER}: peak subject piece and its effect {peaks}; "
          f"at the last subject piece {np.round(at_last, 3)}")
    assert np.isfinite(at_last).all()
    assert np.mean([e for _, e in peaks]) > np.mean(at_last)
    # The subject token the trace names (a name's distinctive piece, not always its last
    # one), and the prompt and its paraphrases as contexts without random prefixes.
    report = evaluate_edits(model, tok, facts, n_edits=N_EDITS, method="rome",
                            layer=EDIT_LAYER, corpus=text, token="traced", n_prefixes=0)
    print(report.to_table())
    rome, finetune = report.summary("rome"), report.summary("finetune")
    assert rome["n"] == finetune["n"] == N_EDITS
    # Measured (20 edits): ROME takes 95% of the edits (85% and 95% with training seeds
    # 1 and 2) and keeps 99% of the other facts; fine-tuning takes 100% and keeps 45%.
    # With 5 random prefixes among the contexts ROME takes 90%; reading the subject's
    # last token instead, 90% (its last piece, e.g. "y" of " G|er|man|y", also ends
    # other names; with 300 BPE merges, where most last pieces are such, 40%).
    assert rome["efficacy"] >= 0.95, report.to_table()
    assert rome["specificity"] >= 0.9, report.to_table()
    assert rome["specificity"] > finetune["specificity"], report.to_table()
    assert finetune["efficacy"] >= 0.95, report.to_table()


def test_an_edited_hugging_face_folder_keeps_the_edit_in_transformers(capitals, tmp_path):
    transformers = require("transformers")
    torch = require("torch")
    model, tok, facts, text = capitals
    edited = GPT(model.config, params={n: p.copy() for n, p in model.params.items()})
    fact, new = facts[0], facts[1].answer
    outcome = rome_edit(edited, tok, fact, new, EDIT_LAYER, corpus=text)
    save_hf_gpt2(tmp_path, edited, tok)
    again, tok_again = load_hf_gpt2(tmp_path)
    ids = tok.encode(fact.prompt)
    want = tok.encode(FactPrompt(fact.prompt, fact.subject, new).sentence)[len(ids):]
    hf = transformers.GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        out = hf.generate(torch.tensor(ids[None]), max_new_tokens=len(want), do_sample=False,
                          pad_token_id=0)
    greedy = edited.generate(ids[None], len(want), temperature=0.0)[0, len(ids):]
    assert out[0, len(ids):].tolist() == greedy.tolist()
    if outcome.success and outcome.after["p_new"] > 0.5:  # the edit took: greedy says it
        assert greedy.tolist() == want.tolist(), tok.decode(greedy.tolist())
    assert score_facts(again, tok_again, [FactPrompt(fact.prompt, fact.subject, new)]).p[0] \
        == pytest.approx(outcome.after["p_new"], rel=1e-4)
