"""Tests for minigpt.tokenizers: exact round trips, fact words as single tokens, errors."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.data import TEMPLATES, facts_corpus, load_facts, load_text, sentence
from minigpt.tokenizers import (
    MAX_SHOWN,
    UNK,
    CharTokenizer,
    UnknownPieceError,
    WordTokenizer,
    tokenizer_from_json,
)

KINDS = [CharTokenizer, WordTokenizer]
CORPUS = load_text() + facts_corpus()
TOKS = {cls: cls.from_text(CORPUS) for cls in KINDS}
# Lines without whitespace at either end tokenize the same wherever newlines put them, so
# joined by "\n" or "\n\n" (pieces "\n", "\n") their pieces are all in the vocabulary.
LINES = sorted({line for line in CORPUS.splitlines() if line and line == line.strip()})
ALPHABET = sorted(set(CORPUS))
# Word-like pieces and whitespace runs that single characters rarely produce.
EXTRA_PIECES = ["  ", "   ", "\n\n", "\n \n", " \n", "\t", "--", "'s", " Jordan", "?!",
                " basketball."]
MAX_ENCODE_SECONDS = 1.0  # for 200 KB; measured about 0.015 s
SPEED_CHARS = 200_000

piece_texts = st.lists(
    st.one_of(st.sampled_from(ALPHABET), st.sampled_from(EXTRA_PIECES)), min_size=1, max_size=60
).map("".join)


@pytest.mark.parametrize("cls", KINDS)
@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=80))
def test_pieces_concatenate_to_any_text(cls, text):
    assert "".join(TOKS[cls].tokenize(text)) == text


@pytest.mark.parametrize("cls", KINDS)
@settings(max_examples=60, deadline=None)
@given(text=piece_texts)
def test_round_trip_on_own_vocabulary(cls, text):
    tok = cls.from_text(text)
    ids = tok.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(tok.tokenize(text)),)
    assert tok.decode(ids) == text
    assert tok.decode(list(ids)) == text
    assert tok.vocab == sorted(tok.vocab)


@pytest.mark.parametrize("cls", KINDS)
@settings(max_examples=40, deadline=None)
@given(lines=st.lists(st.sampled_from(LINES), min_size=1, max_size=8),
       seps=st.lists(st.sampled_from(["\n", "\n\n"]), min_size=8, max_size=8))
def test_round_trip_on_corpus_lines(cls, lines, seps):
    text = lines[0] + "".join(sep + line for sep, line in zip(seps, lines[1:])) + "\n"
    tok = TOKS[cls]
    assert tok.decode(tok.encode(text)) == text


@pytest.mark.parametrize("cls", KINDS)
@settings(max_examples=40, deadline=None)
@given(text=st.text(alphabet=ALPHABET[:40] + ["~", "#", "\u00e9", "\u2014"], max_size=60))
def test_unk_replaces_exactly_the_unknown_pieces(cls, text):
    tok = cls.from_text(CORPUS, unk=True)
    pieces = tok.tokenize(text)
    ids = tok.encode(text)
    unk_id = tok.vocab_size - 1
    assert tok.vocab[unk_id] == UNK and ids.shape == (len(pieces),)
    known = np.array([p in tok.vocab[:-1] for p in pieces], dtype=bool)
    assert np.array_equal(ids == unk_id, ~known)
    assert tok.decode(ids) == "".join(p if k else UNK for p, k in zip(pieces, known))


def test_word_pieces_follow_gpt2_rules():
    tok = TOKS[WordTokenizer]
    assert tok.tokenize("Michael Jordan plays basketball.") == [
        "Michael", " Jordan", " plays", " basketball", "."]
    assert tok.tokenize("a   b") == ["a", "  ", " b"]
    assert tok.tokenize("x\n\ny") == ["x", "\n", "\n", "y"]
    assert tok.tokenize("end  ") == ["end", "  "]
    assert tok.tokenize("Who's there?") == ["Who", "'", "s", " there", "?"]
    assert TOKS[CharTokenizer].tokenize("a b") == ["a", " ", "b"]


def test_fact_words_are_single_tokens():
    tok = TOKS[WordTokenizer]
    for f in load_facts():
        s = sentence(f, 0)
        assert tok.tokenize(s) == [f.first, " " + f.last, " plays", " " + f.sport, "."]
        assert len(tok.encode(s)) == 5
        for t in range(len(TEMPLATES)):
            assert tok.tokenize(sentence(f, t))[-2:] == [" " + f.sport, "."]


def test_unknown_pieces_raise_without_unk():
    with pytest.raises(ValueError, match="'z'"):
        CharTokenizer.from_text("abc").encode("abz")
    with pytest.raises(ValueError, match="' dog'"):
        WordTokenizer.from_text("the cat").encode("the dog")
    with pytest.raises(ValueError) as info:
        CharTokenizer.from_text("abc").encode("a0123456789")
    message = str(info.value)
    assert "10 distinct characters are not in the vocabulary of 3" in message
    assert all(repr(c) in message for c in "01234"[:MAX_SHOWN])
    assert repr("9") not in message
    assert isinstance(info.value, UnknownPieceError)
    assert (info.value.pieces, info.value.kind) == (list("0123456789"), "char")
    with pytest.raises(UnknownPieceError, match="1 distinct words") as info:
        WordTokenizer.from_text("the cat").encode("the dog")
    assert (info.value.pieces, info.value.kind, info.value.vocab_size) == ([" dog"], "word", 2)


def test_unknown_pieces_map_to_unk():
    tok = CharTokenizer.from_text("abc", unk=True)
    assert tok.vocab == ["a", "b", "c", UNK]
    assert tok.encode("abz").tolist() == [0, 1, 3]
    assert tok.decode(tok.encode("abz")) == "ab" + UNK
    word = WordTokenizer.from_text("the cat", unk=True)
    assert word.decode(word.encode("the dog")) == "the" + UNK


@pytest.mark.parametrize("cls", KINDS)
@pytest.mark.parametrize("unk", [False, True])
def test_json_round_trip_gives_identical_encodings(cls, unk):
    tok = cls.from_text(CORPUS, unk=unk)
    back = tokenizer_from_json(json.loads(json.dumps(tok.to_json())))
    assert type(back) is cls and back.vocab == tok.vocab and back.unk == unk
    text = CORPUS[:5000] + ("~ \u00e9#" if unk else "")
    assert np.array_equal(back.encode(text), tok.encode(text))
    assert back.decode(back.encode(text)) == tok.decode(tok.encode(text))


@pytest.mark.parametrize("cls", KINDS)
def test_encoding_200kb_is_fast(cls):
    text = (CORPUS * 2)[:SPEED_CHARS]
    tok = cls.from_text(text)
    start = time.perf_counter()
    ids = tok.encode(text)
    elapsed = time.perf_counter() - start
    assert elapsed < MAX_ENCODE_SECONDS, elapsed
    assert tok.decode(ids) == text


@pytest.mark.parametrize("cls", KINDS)
def test_bad_inputs_raise(cls):
    with pytest.raises(ValueError):
        cls.from_text("")
    for bad in (None, b"abc", ["a"]):
        with pytest.raises(TypeError):
            cls.from_text(bad)
        with pytest.raises(TypeError):
            TOKS[cls].encode(bad)
    with pytest.raises(TypeError):
        cls.from_text("abc", unk=1)
    assert TOKS[cls].encode("").shape == (0,)


@pytest.mark.parametrize("cls", KINDS)
def test_bad_ids_raise(cls):
    tok = TOKS[cls]
    V = tok.vocab_size
    with pytest.raises(ValueError, match=str(V + 7)):
        tok.decode([0, V + 7, 1])
    with pytest.raises(ValueError, match="-1"):
        tok.decode(np.array([-1, 0]))
    with pytest.raises(TypeError):
        tok.decode([0.0, 1.0])
    with pytest.raises(TypeError):
        tok.decode(np.array([True, False]))
    with pytest.raises(ValueError):
        tok.decode([[0, 1]])
    assert tok.decode([]) == ""
    assert tok.decode(np.array([V - 1], dtype=np.int32)) == tok.vocab[-1]


@pytest.mark.parametrize("cls, pieces, error", [
    (CharTokenizer, [], ValueError), (CharTokenizer, ["ab"], ValueError),
    (CharTokenizer, ["a", "a"], ValueError), (CharTokenizer, [UNK], ValueError),
    (CharTokenizer, [1], TypeError), (WordTokenizer, ["a b"], ValueError),
    (WordTokenizer, [" a", " a"], ValueError), (WordTokenizer, [""], ValueError),
])
def test_bad_vocab_raises(cls, pieces, error):
    with pytest.raises(error):
        cls(pieces)


@pytest.mark.parametrize("d", [
    {"kind": "char", "vocab": ["a"]},
    {"kind": "char", "vocab": ["a"], "unk": False, "extra": 1},
    {"kind": "bpe", "vocab": ["a"], "unk": False},
    {"kind": 3, "vocab": ["a"], "unk": False},
    {"kind": "char", "vocab": "abc", "unk": False},
    {"kind": "char", "vocab": ["a", 2], "unk": False},
    {"kind": "char", "vocab": ["a"], "unk": "yes"},
    {"kind": "char", "vocab": ["a"], "unk": True},
    {"kind": "char", "vocab": [UNK, "a"], "unk": True},
    {"kind": "char", "vocab": ["a", UNK], "unk": False},
    {"kind": "char", "vocab": ["a", "a"], "unk": False},
    {"kind": "char", "vocab": ["ab"], "unk": False},
    {"kind": "word", "vocab": ["a b"], "unk": False},
    {"kind": "word", "vocab": [], "unk": False},
])
def test_bad_json_raises(d):
    with pytest.raises(ValueError):
        tokenizer_from_json(d)


def test_non_dict_json_raises():
    with pytest.raises(TypeError):
        tokenizer_from_json([("kind", "char")])
