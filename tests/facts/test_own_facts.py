"""A model of your own facts: sentence forms, tokenizers, the token stream, the record."""

import os

import numpy as np
import pytest

from minigpt.checkpoint import load_checkpoint
from minigpt.data import FactPrompt, load_capitals
from minigpt.facts.own_facts import (MIN_FACTS_CTX, fact_sentences, facts_context,
                                     facts_record, facts_stream, facts_tokenizer,
                                     recorded_facts, train_own_facts_model)
from minigpt.interp import encode_fact

FACTS = [FactPrompt("The capital of France is", "France", "Paris", ["France's capital is"]),
         FactPrompt("The capital of Ethiopia is", "Ethiopia", "Addis Ababa")]


def test_every_fact_in_every_form_one_per_line():
    assert fact_sentences(FACTS) == ["The capital of France is Paris\n",
                                     "France's capital is Paris\n",
                                     "The capital of Ethiopia is Addis Ababa\n"]
    assert len(fact_sentences(load_capitals())) == 180
    with pytest.raises(ValueError, match="must not be empty"):
        fact_sentences([])
    with pytest.raises(TypeError, match=r"facts\[0\] must be a FactPrompt"):
        fact_sentences(["The capital of France is Paris"])


@pytest.mark.parametrize("kind", ["word", "char", "bpe"])
def test_each_tokenizer_encodes_every_fact_with_its_subject(kind):
    tokenizer = facts_tokenizer(FACTS, kind, n_merges=30)
    for fact in FACTS + [p for f in FACTS for p in f.paraphrase_facts()]:
        e = encode_fact(tokenizer, fact)
        assert tokenizer.decode(e.ids[e.first:e.last + 1]).strip() == fact.subject
        assert tokenizer.decode(e.answer) == fact.continuation
    if kind == "bpe":
        assert tokenizer.vocab_size <= 256 + 30
        assert tokenizer.encode("any text: Zaphod")[0] >= 0  # bytes cover every text
    with pytest.raises(ValueError, match="kind must be one of"):
        facts_tokenizer(FACTS, "subword")


def test_the_stream_starts_each_sentence_and_decodes_back():
    tokenizer = facts_tokenizer(FACTS, "word")
    ids, starts = facts_stream(tokenizer, FACTS)
    assert ids.dtype == np.int64 and starts.tolist()[0] == 0 and len(starts) == 3
    assert tokenizer.decode(ids) == "".join(fact_sentences(FACTS))
    assert tokenizer.decode(ids[starts[1]:starts[2]]) == "France's capital is Paris\n"
    assert facts_context(tokenizer, FACTS) == MIN_FACTS_CTX  # sentences are short
    long = [FactPrompt("a " * 20 + "b is", "b", "c")]
    assert facts_context(facts_tokenizer(long), long) == 24  # 20 a, b, is, c, newline


def test_the_record_rebuilds_the_facts():
    record = facts_record(FACTS, "facts.csv")
    assert record["facts_file"] == os.path.abspath("facts.csv")
    assert recorded_facts(record) == FACTS
    assert recorded_facts({}) is None and recorded_facts(None) is None
    assert recorded_facts({"corpus": "facts"}) is None


def test_train_own_facts_model_saves_a_checkpoint_that_records_them(tmp_path):
    out = tmp_path / "own.safetensors"
    model, tokenizer, result = train_own_facts_model(FACTS, steps=3, out=out, progress=False,
                                                     source="mine.csv", d_model=16, n_layer=1,
                                                     n_head=2)
    assert result.step == 3 and model.config.attention == "dense"
    assert model.config.n_ctx == MIN_FACTS_CTX and model.config.vocab_size == tokenizer.vocab_size
    assert recorded_facts(load_checkpoint(out).extra) == FACTS


def test_parse_subject_edit():
    from minigpt.cli.file_story import parse_subject_edit

    assert parse_subject_edit("Ethiopia = Nairobi", FACTS) == (FACTS[1], "Nairobi")
    for text, message in (("Ethiopia", "looks like 'France=Rome'"),
                          ("Ethiopia=", "needs a subject and a new answer"),
                          ("Kenya=Nairobi", "no fact has the subject 'Kenya'")):
        with pytest.raises(ValueError, match=message):
            parse_subject_edit(text, FACTS)
