"""train_bpe: byte-level BPE merges learned from a text."""

from __future__ import annotations

from collections import Counter

import pytest

from minigpt.bpe import BYTE_TO_CHAR, GPT2Tokenizer, pretokenize, train_bpe
from minigpt.data import load_capitals

TEXT = "".join(f.sentence + ".\n" for f in load_capitals())


def test_first_merge_is_the_most_frequent_pair_by_hand():
    tok = train_bpe("aab aab ab", n_merges=1)
    # pairs: ("a","a") 2, ("a","b") 3 (2 in "aab", 1 in "ab"), ("Ġ","a") 2
    assert tok.to_json()["merges"] == [["a", "b"]]
    assert tok.vocab[:256] == list(BYTE_TO_CHAR) and tok.vocab[256] == "ab"


def test_training_text_round_trips_and_frequent_words_become_tokens():
    tok = train_bpe(TEXT, n_merges=100)
    assert tok.vocab_size == 256 + 100
    assert tok.decode(tok.encode(TEXT)) == TEXT
    assert tok.tokenize(" capital") == ["Ġcapital"]  # 180 times in the text
    assert len(tok.encode(TEXT)) < len(TEXT.encode()) / 2


def test_applying_the_merges_reproduces_the_training_segmentation():
    """The tokenizer's rank-ordered merging cuts each training piece as training did."""
    tok = train_bpe(TEXT, n_merges=80)
    counts = Counter(pretokenize(TEXT))
    again = GPT2Tokenizer.from_json(tok.to_json())
    for piece in counts:
        assert again.tokenize(piece) == tok.tokenize(piece)


def test_deterministic_and_stops_early():
    assert train_bpe(TEXT, 50).to_json() == train_bpe(TEXT, 50).to_json()
    tok = train_bpe("abc", n_merges=10)  # every pair occurs once: below min_count
    assert tok.vocab_size == 256
    assert train_bpe("abc", n_merges=10, min_count=1).vocab_size == 258


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_merges must be an int >= 0"):
        train_bpe("abc", -1)
    with pytest.raises(ValueError, match="min_count must be an int >= 1"):
        train_bpe("abc", 1, min_count=0)
    with pytest.raises(TypeError, match="text must be a str"):
        train_bpe(b"abc", 1)
