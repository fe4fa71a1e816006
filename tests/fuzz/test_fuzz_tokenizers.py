"""Fuzzing the tokenizer readers: :func:`minigpt.tokenizers.tokenizer_from_json` (the JSON
a checkpoint carries) and GPT-2's ``vocab.json`` / ``merges.txt``."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from minigpt.bpe import (BYTE_TO_CHAR, GPT2Tokenizer, read_merges_txt, read_vocab_json,
                         write_merges_txt, write_vocab_json)
from minigpt.tokenizers import TOKENIZERS, tokenizer_from_json
from tests.fuzz.common import HOSTILE_JSON_TEXT, JSON_VALUES, fuzz, json_text, loads_or_refuses

EXAMPLES = 150
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)  # encodable text
# Tokens over GPT-2's byte characters (what real merges make), and some that are not.
TOKENS = st.one_of(st.text(st.sampled_from(BYTE_TO_CHAR), min_size=1, max_size=4),
                   st.text(max_size=4))


def roundtrip(tokenizer, text: str) -> None:
    """A tokenizer that loaded gives ``text`` back from its ids (GPT-2's BPE encodes any
    text; the others, text whose pieces they know)."""
    if isinstance(tokenizer, GPT2Tokenizer) or all(
            piece in tokenizer.vocab for piece in tokenizer.tokenize(text)):
        assert tokenizer.decode(tokenizer.encode(text)) == text


@fuzz(EXAMPLES)
@given(kind=st.sampled_from(sorted(TOKENIZERS)), text=TEXT.filter(bool), unk=st.booleans(),
       edit=st.sampled_from(["none", "kind", "vocab", "unk", "piece", "repeat", "key", "drop"]),
       value=JSON_VALUES, piece=TEXT)
def test_char_and_word_json(kind, text, unk, edit, value, piece):
    """A tokenizer's JSON as a checkpoint stores it, unchanged or with one field edited."""
    d = TOKENIZERS[kind].from_text(text, unk=unk).to_json()
    if edit in ("kind", "vocab", "unk"):
        d[edit] = value
    elif edit == "piece":  # a piece that may not be a single piece of this kind
        d["vocab"].insert(0, piece)
    elif edit == "repeat":
        d["vocab"].append(d["vocab"][0])
    elif edit == "key":
        d["merges"] = value
    elif edit == "drop":
        del d["unk"]
    tokenizer = loads_or_refuses(lambda: tokenizer_from_json(json.loads(json.dumps(d))))
    if tokenizer is not None:
        roundtrip(tokenizer, text)


@st.composite
def bpe_json(draw):
    """GPT-2 BPE JSON: merges learned in order over the byte tokens (each pair of tokens
    already there makes a new one), then possibly damaged."""
    vocab = list(BYTE_TO_CHAR)
    merges = []
    for _ in range(draw(st.integers(0, 8))):
        a, b = draw(st.sampled_from(vocab)), draw(st.sampled_from(vocab))
        merges.append([a, b])
        if a + b not in vocab:
            vocab.append(a + b)
    damage = draw(st.sampled_from(["none", "none", "drop token", "add merge", "add token",
                                   "shuffle", "merges value", "vocab value"]))
    if damage == "drop token":
        del vocab[draw(st.integers(0, len(vocab) - 1))]
    elif damage == "add merge":
        merges.insert(draw(st.integers(0, len(merges))),
                      draw(st.one_of(st.tuples(TOKENS, TOKENS).map(list), JSON_VALUES)))
    elif damage == "add token":
        vocab.append(draw(TOKENS))
    elif damage == "shuffle":
        vocab = draw(st.permutations(vocab))
    elif damage == "merges value":
        merges = draw(JSON_VALUES)
    elif damage == "vocab value":
        vocab = draw(JSON_VALUES)
    return {"kind": "gpt2-bpe", "vocab": vocab, "merges": merges}


@fuzz(EXAMPLES)
@given(d=bpe_json(), text=TEXT)
def test_gpt2_json(d, text):
    tokenizer = loads_or_refuses(lambda: tokenizer_from_json(json.loads(json.dumps(d))))
    if tokenizer is not None:
        roundtrip(tokenizer, text)


@fuzz(EXAMPLES)
@given(vocab_text=st.one_of(HOSTILE_JSON_TEXT, JSON_VALUES.map(json_text),
                            st.dictionaries(TOKENS, st.one_of(st.integers(-1, 300), JSON_VALUES),
                                            max_size=5).map(json_text)),
       merges_text=st.one_of(st.text(max_size=60), st.lists(st.tuples(TOKENS, TOKENS), max_size=5)
                             .map(lambda ms: "#version: 0.2\n" + "".join(f"{a} {b}\n"
                                                                         for a, b in ms))),
       complete=st.booleans(), raw=st.one_of(st.none(), st.binary(max_size=64)))
def test_vocab_and_merges_files(tmp_path, vocab_text, merges_text, complete, raw):
    vocab_path, merges_path = tmp_path / "vocab.json", tmp_path / "merges.txt"
    if complete:  # all byte tokens, so that the files can make a tokenizer
        try:
            extra = json.loads(vocab_text)
        except (ValueError, RecursionError):
            extra = None
        if isinstance(extra, dict):
            ids = {c: i for i, c in enumerate(BYTE_TO_CHAR)}
            ids.update({t: len(ids) + n for n, t in enumerate(t for t in extra if t not in ids)})
            vocab_text = json.dumps(ids)
    vocab_path.write_bytes(vocab_text.encode("utf-8", "surrogatepass"))
    merges_path.write_bytes(raw if raw is not None else
                            merges_text.encode("utf-8", "surrogatepass"))
    loads_or_refuses(lambda: read_vocab_json(vocab_path))
    loads_or_refuses(lambda: read_merges_txt(merges_path))
    tokenizer = loads_or_refuses(lambda: GPT2Tokenizer.from_files(vocab_path, merges_path))
    if tokenizer is not None:  # what loaded writes and reads back the same
        tokenizer.save_files(vocab_path, merges_path)
        again = GPT2Tokenizer.from_files(vocab_path, merges_path)
        assert again.vocab == tokenizer.vocab and again.to_json() == tokenizer.to_json()


def test_the_writers_round_trip(tmp_path):
    write_vocab_json(tmp_path / "v.json", {"a": 0, "Ġ": 1})
    write_merges_txt(tmp_path / "m.txt", [("a", "Ġ")])
    assert read_vocab_json(tmp_path / "v.json") == {"a": 0, "Ġ": 1}
    assert read_merges_txt(tmp_path / "m.txt") == [["a", "Ġ"]]
