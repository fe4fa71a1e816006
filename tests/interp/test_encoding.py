"""encode_fact: the subject's tokens found from the tokenization, under every tokenizer kind."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minigpt import GPT, GPTConfig
from minigpt.bpe import train_bpe
from minigpt.data import Fact, FactPrompt, load_capitals
from minigpt.interp import as_fact_prompts, encode_fact, encode_facts
from minigpt.interp.encoding import IGNORE_INDEX
from minigpt.tokenizers import CharTokenizer, WordTokenizer

WORDS = st.text("abcdeXYZ", min_size=1, max_size=6)
BPE = train_bpe("abc abd abe Xab Yde XYZ ab cd de ea " * 3 + "".join(
    f.sentence + "\n" for f in load_capitals()), n_merges=120)


def tokenizers(text):
    return {"char": CharTokenizer.from_text(text), "word": WordTokenizer.from_text(text),
            "bpe": BPE}


def subject_text(tok, e):
    """The text of the subject's tokens, without the space a word or BPE token carries."""
    text = tok.decode(e.ids[e.first:e.last + 1])
    return text[1:] if text.startswith(" ") and tok is not None else text


@settings(max_examples=60, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=6), st.data(), st.lists(WORDS, min_size=1, max_size=3),
       st.sampled_from([" ", "\n", ", "]))
def test_spans_under_every_tokenizer(words, data, answer_words, sep):
    """A subject made of whole words: its tokens decode to it, the prompt's ids are the
    prompt's, the answer's ids decode to the continuation."""
    i = data.draw(st.integers(0, len(words) - 1))
    j = data.draw(st.integers(i, len(words) - 1))
    prompt = sep.join(words)
    subject = sep.join(words[i:j + 1])
    start = len(sep.join(words[:i])) + (len(sep) if i else 0)
    assume(prompt.index(subject) == start)  # the first occurrence is the intended one
    fact = FactPrompt(prompt, subject, " ".join(answer_words))
    for kind, tok in tokenizers(fact.sentence).items():
        e = encode_fact(tok, fact)
        np.testing.assert_array_equal(e.ids, tok.encode(prompt), err_msg=kind)
        assert tok.decode(e.ids) == prompt
        assert tok.decode(e.answer) == fact.continuation, kind
        assert 0 <= e.first <= e.last < e.T
        inside = tok.decode(e.ids[e.first:e.last + 1])
        assert inside in (subject, " " + subject), (kind, inside, subject)
        if kind == "char":
            assert inside == subject
        # everything before the subject decodes to the text before it (minus a moved space)
        before = tok.decode(e.ids[:e.first])
        assert before + inside == prompt[:start + len(subject)]


def test_multi_token_subject_and_answer_with_bpe():
    fact = FactPrompt("The capital of South Korea is", "South Korea", "Seoul")
    e = encode_fact(BPE, fact)
    assert BPE.decode(e.ids[e.first:e.last + 1]) == " South Korea"
    assert e.last - e.first + 1 >= 2
    fact = FactPrompt("The capital of Argentina is", "Argentina", "Buenos Aires")
    e = encode_fact(BPE, fact)
    assert e.A >= 2 and BPE.decode(e.answer) == " Buenos Aires"


def test_space_before_the_subject_goes_with_it_for_words_only():
    fact = FactPrompt("The sport Michael Jordan plays is", "Michael Jordan", "basketball")
    words = WordTokenizer.from_text(fact.sentence)  # has no lone " " piece
    e = encode_fact(words, fact)
    assert e.subject == (2, 3) and words.decode(e.ids[2:4]) == " Michael Jordan"
    chars = CharTokenizer.from_text(fact.sentence)
    e = encode_fact(chars, fact)
    assert chars.decode(e.ids[e.first:e.last + 1]) == "Michael Jordan"
    assert chars.decode(e.ids[e.first - 1:e.first]) == " "


def test_subject_after_a_newline_and_at_the_start():
    for prompt, subject in (("Q:\nFrance has as capital", "France"),
                            ("France has as capital", "France")):
        fact = FactPrompt(prompt, subject, "Paris")
        for tok in tokenizers(fact.sentence).values():
            e = encode_fact(tok, fact)
            assert tok.decode(e.ids[e.first:e.last + 1]) == "France"


def test_teacher_forcing_inputs_and_targets():
    fact = FactPrompt("The capital of Argentina is", "Argentina", "Buenos Aires")
    e = encode_fact(BPE, fact)
    np.testing.assert_array_equal(e.inputs, np.concatenate([e.ids, e.answer[:-1]]))
    targets = e.targets()
    assert targets.shape == e.inputs.shape
    assert np.all(targets[:e.T - 1] == IGNORE_INDEX)
    np.testing.assert_array_equal(targets[e.T - 1:], e.answer)
    np.testing.assert_array_equal(np.concatenate([e.ids, e.answer]), BPE.encode(fact.sentence))


def test_merge_across_the_subject_boundary_is_an_error():
    fact = FactPrompt("The Jordanian plays", "Jordan", "golf")
    for text in (fact.sentence, fact.sentence + " The Jordan"):  # " Jordan" a piece or not
        with pytest.raises(ValueError, match="merges the end of the subject 'Jordan'"):
            encode_fact(WordTokenizer.from_text(text), fact)
    fact = FactPrompt("The capital of XFrance is", "France", "Paris")
    with pytest.raises(ValueError, match="merges the start of the subject 'France'"):
        encode_fact(WordTokenizer.from_text(fact.sentence), fact)
    chars = CharTokenizer.from_text("The Jordanian plays golf")
    e = encode_fact(chars, FactPrompt("The Jordanian plays", "Jordan", "golf"))
    assert chars.decode(e.ids[e.first:e.last + 1]) == "Jordan"  # characters never merge


def test_merge_across_the_answer_joint_is_an_error():
    fact = FactPrompt("Total: 12", "Total", "34")
    words = WordTokenizer.from_text(fact.sentence)
    assert words.decode(encode_fact(words, fact).answer) == " 34"
    fact = FactPrompt("Price: $", "Price", "5")
    e = encode_fact(WordTokenizer.from_text(fact.sentence), fact)
    assert e.A == 1
    bpe = train_bpe("ab ab ab ab", 3)  # learns " ab" as one token
    with pytest.raises(ValueError, match="merges the end of the prompt with the answer"):
        encode_fact(bpe, FactPrompt("x ", "x", "ab"))  # "x " + "ab": " ab" is one token


def test_unknown_tokens_are_named():
    fact = FactPrompt("The capital of Chile is", "Chile", "Santiago")
    words = WordTokenizer.from_text("The capital of Peru is Lima")
    with pytest.raises(ValueError, match=r"cannot encode .*' Chile'"):
        encode_fact(words, fact)
    words_unk = WordTokenizer.from_text("The capital of Peru is Lima", unk=True)
    with pytest.raises(ValueError, match=r"\[' Chile', ' Santiago'\] in .* are not in the "
                                         r"tokenizer's vocabulary"):
        encode_fact(words_unk, fact)
    with pytest.raises(ValueError, match=r"\[' Santiago'\]"):
        encode_fact(words_unk, FactPrompt("The capital of Peru is", "Peru", "Santiago"))


def test_too_long_for_the_model_and_ids_out_of_range():
    fact = FactPrompt("The capital of Argentina is", "Argentina", "Buenos Aires")
    e = encode_fact(BPE, fact)
    fits = GPT(GPTConfig(BPE.vocab_size, e.T + e.A - 1, 1, 1, 4))
    encode_fact(BPE, fact, fits)
    short = GPT(GPTConfig(BPE.vocab_size, e.T + e.A - 2, 1, 1, 4))
    with pytest.raises(ValueError, match=rf"need {e.T + e.A - 1} positions, more than the "
                                         rf"model's n_ctx={e.T + e.A - 2}"):
        encode_fact(BPE, fact, short)
    small = GPT(GPTConfig(256, 32, 1, 1, 4))
    with pytest.raises(ValueError, match="outside the model's vocabulary of 256"):
        encode_fact(BPE, fact, small)


def test_as_fact_prompts_accepts_every_form():
    jordan = Fact("Michael", "Jordan", "basketball")
    assert as_fact_prompts([jordan], template=1)[0].prompt == "Michael Jordan competes in"
    single = FactPrompt("The capital of France is", "France", "Paris")
    assert as_fact_prompts(single) == [single]
    assert len(as_fact_prompts()) == 180
    with pytest.raises(ValueError, match="must not be empty"):
        as_fact_prompts([])
    with pytest.raises(TypeError, match=r"facts\[1\] must be a FactPrompt"):
        as_fact_prompts([single, jordan])
    with pytest.raises(TypeError, match="got a str"):
        as_fact_prompts("France")
    with pytest.raises(TypeError, match="fact must be a FactPrompt"):
        encode_fact(BPE, jordan)
    assert [e.fact for e in encode_facts(BPE, [single])] == [single]
