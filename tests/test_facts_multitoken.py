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
BPE_MERGES = 300
TEXT_CHARS = 20_000
SHAPE = dict(n_ctx=24, n_layer=3, n_head=4, d_model=48)
SETTINGS = TrainSettings(steps=300, batch_size=16, lr=3e-3, warmup_steps=30, eval_every=0,
                         weight_decay=0.0, seed=0)
EDIT_LAYER = 0  # where the trace of this model peaks at the subject's last token
N_EDITS = 10


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
    trace = causal_trace(model, tok, facts[:6], kinds=("mlp",), n_samples=4)
    effects = np.mean([trace.fact_effect(n, "mlp")[:, span[1]]
                       for n, span in enumerate(trace.spans)], axis=0)  # (L,)
    print(f"MLP trace at the last subject token, by layer: {np.round(effects, 3)}; peak "
          f"at layer {int(np.argmax(effects))}")
    assert np.isfinite(effects).all()
    report = evaluate_edits(model, tok, facts, n_edits=N_EDITS, method="rome",
                            layer=EDIT_LAYER, corpus=text)
    print(report.to_table())
    rome, finetune = report.summary("rome"), report.summary("finetune")
    assert rome["n"] == finetune["n"] == N_EDITS
    assert rome["efficacy"] >= 0.95 and rome["specificity"] >= 0.9, report.to_table()
    assert rome["specificity"] >= finetune["specificity"], report.to_table()


def test_an_edited_hugging_face_folder_says_the_new_answer(capitals, tmp_path):
    transformers = require("transformers")
    torch = require("torch")
    model, tok, facts, text = capitals
    edited = GPT(model.config, params={n: p.copy() for n, p in model.params.items()})
    fact, new = facts[0], facts[1].answer
    outcome = rome_edit(edited, tok, fact, new, EDIT_LAYER, corpus=text)
    assert outcome.success, outcome.to_table()
    save_hf_gpt2(tmp_path, edited, tok)
    again, tok_again = load_hf_gpt2(tmp_path)
    ids = tok.encode(fact.prompt)
    want = tok.encode(FactPrompt(fact.prompt, fact.subject, new).sentence)[len(ids):]
    hf = transformers.GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        out = hf.generate(torch.tensor(ids[None]), max_new_tokens=len(want), do_sample=False,
                          pad_token_id=0)
    assert out[0, len(ids):].tolist() == want.tolist(), tok.decode(out[0].tolist())
    assert score_facts(again, tok_again, [FactPrompt(fact.prompt, fact.subject, new)]).p[0] \
        == pytest.approx(outcome.after["p_new"], rel=1e-4)
