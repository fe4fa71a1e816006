"""Tests for minigpt.bpe: GPT-2's byte-level BPE, against Hugging Face's ``tokenizers``."""

from __future__ import annotations

import json
import random
import re
import string
import sys
import tracemalloc
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.bpe import BYTE_TO_CHAR, CHAR_TO_BYTE, GPT2Tokenizer, pretokenize
from minigpt.bpe.tokenizer import MAX_CACHED_PIECE
from minigpt.checkpoint import load_checkpoint, save_checkpoint
from minigpt.config import GPTConfig
from minigpt.data import load_text
from minigpt.model import GPT
from minigpt.tokenizers import tokenizer_from_json
from tests.helpers import require

CORPUS = load_text()
TRAINED_VOCAB = 1500  # the reference tokenizer's size, trained here on CORPUS
MIN_FREQUENCY = 2
MAX_SURROGATE, MIN_SURROGATE = 0xDFFF, 0xD800

# Pieces that exercise every branch of the pattern: contractions (and a capitalised one,
# which is not a contraction), whitespace of all kinds (U+001C is not whitespace to GPT-2),
# emoji with modifiers and joiners, accents precomposed and combining, CJK, digits of
# other scripts and non-decimal numbers, underscores, letters glued to digits.
PIECES = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'x", " ", "  ", "   ", "\t",
          "\n", "\n\n", "\r\n", " \n ", "\u3000", "\xa0", "\u2009", "\x1c", "\x0b", "\x85",
          "😀", "👍🏽", "🇫🇷", "👨\u200d👩\u200d👧", "é", "e\u0301", "naïve", "Ñandú", "漢字",
          "日本語", "한국어", "٣٤", "²", "½", "Ⅻ", "123", "4567", "_", "__init__", "ab12cd",
          " x", "Ġ", "<|endoftext|>", "—", "...", "Macbeth", " Macbeth", "MACBETH"]
# Characters assigned in Python's Unicode database; code points assigned only in later
# Unicode versions may be letters to the reference and unassigned here.
assigned = st.characters().filter(lambda c: unicodedata.category(c) not in ("Cn", "Cs"))
mixed_text = st.lists(st.one_of(st.sampled_from(PIECES), assigned), max_size=40).map("".join)
# Runs of repeated letters and bytes whose characters are odd: NUL, soft hyphen (U+00AD,
# written as U+0143), "Ġ" itself (two bytes), a space, an emoji (four bytes).
ODD = ["a", "b", "e", "\x00", "\xad", "Ġ", " ", "😀", "é"]
runs = st.lists(st.tuples(st.sampled_from(ODD), st.integers(1, 12)), max_size=12).map(
    lambda rs: "".join(c * k for c, k in rs))
LONG_SEED = 0
LONG_LENGTH = 100_000  # characters of a long unspaced input


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Hugging Face's byte-level BPE trained on the corpus, and minigpt's from its files."""
    tokenizers = require("tokenizers")
    ref = tokenizers.ByteLevelBPETokenizer()
    ref.train_from_iterator([CORPUS], vocab_size=TRAINED_VOCAB, min_frequency=MIN_FREQUENCY,
                           show_progress=False)
    folder = tmp_path_factory.mktemp("bpe")
    vocab_json, merges_txt = ref.save_model(str(folder))
    return ref, GPT2Tokenizer.from_files(vocab_json, merges_txt), folder


@pytest.fixture(scope="module")
def pre_tokenizer():
    tokenizers = require("tokenizers")
    return tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)


def test_byte_table_is_a_bijection_onto_printable_characters():
    assert len(set(BYTE_TO_CHAR)) == 256
    assert all(c.isprintable() and not c.isspace() for c in BYTE_TO_CHAR)
    assert BYTE_TO_CHAR[ord(" ")] == "Ġ" and BYTE_TO_CHAR[ord("\n")] == "Ċ"
    assert all(BYTE_TO_CHAR[b] == chr(b) for b in range(ord("!"), ord("~") + 1))
    assert all(CHAR_TO_BYTE[c] == b for b, c in enumerate(BYTE_TO_CHAR))


def test_character_classes_match_unicode_categories():
    """Every code point: [^\\W_] is exactly categories L and N, str.isalpha exactly L."""
    alnum = re.compile(r"[^\W_]")
    bad = []
    for cp in range(sys.maxunicode + 1):
        if MIN_SURROGATE <= cp <= MAX_SURROGATE:
            continue
        c = chr(cp)
        major = unicodedata.category(c)[0]
        if bool(alnum.match(c)) != (major in "LN") or c.isalpha() != (major == "L"):
            bad.append(hex(cp))
    assert bad == []


@pytest.mark.parametrize("text, pieces", [
    ("Michael Jordan plays the sport", ["Michael", " Jordan", " plays", " the", " sport"]),
    ("I'll   go\n\n", ["I", "'ll", "  ", " go", "\n\n"]),
    ("ab12cd ½x", ["ab", "12", "cd", " ½", "x"]),
    ("x__y!! ?", ["x", "__", "y", "!!", " ?"]),
    ("'S 's", ["'", "S", " '", "s"]),
    ("a\u3000 b\x1c", ["a", "\u3000", " b", "\x1c"]),
    ("a!\x1c? \x1c", ["a", "!\x1c?", " \x1c"]),  # U+001C is not whitespace here
])
def test_pretokenize_known_cases(text, pieces):
    assert pretokenize(text) == pieces


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_pretokenize_covers_the_text(text):
    assert "".join(pretokenize(text)) == text


def _byte_chars(piece: str) -> str:
    return "".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8"))


@settings(max_examples=300, deadline=None)
@given(mixed_text)
def test_pretokenize_matches_tokenizers(pre_tokenizer, text):
    expected = [piece for piece, _ in pre_tokenizer.pre_tokenize_str(text)]
    assert [_byte_chars(p) for p in pretokenize(text)] == expected


def test_merges_follow_rank_not_position():
    # ("b", "c") was learned first, so "abc" is "a" + "bc" although "ab" comes first
    tok = GPT2Tokenizer(list(BYTE_TO_CHAR) + ["bc", "ab"], [("b", "c"), ("a", "b")])
    assert tok.tokenize("abc") == ["a", "bc"]
    assert tok.tokenize("abab") == ["ab", "ab"]
    # a pair that overlaps itself merges left to right: "aaa" -> "aa" + "a"
    tok = GPT2Tokenizer(list(BYTE_TO_CHAR) + ["aa"], [("a", "a")])
    assert tok.tokenize("aaa") == ["aa", "a"]
    assert tok.encode("aaaa").tolist() == [256, 256]


def test_merge_order_is_gpt2s_when_merges_are_listed_out_of_order():
    # ("aa", "a") is listed before ("a", "a"), which makes "aa". GPT-2 joins ("a", "a") at
    # every place first ("aa" + "aa"); only then is ("aa", "a") looked for. Hugging Face's
    # tokenizers, which joins a pair as soon as it forms, gives "aaa" + "a" here.
    tok = GPT2Tokenizer(list(BYTE_TO_CHAR) + ["aa", "aaa"], [("aa", "a"), ("a", "a")])
    assert tok.tokenize("aaaa") == ["aa", "aa"]
    assert tok.tokenize("aaaaa") == ["aa", "aaa"]
    for text in ("aaaa", "aaaaa"):
        assert list(tok._piece_ids_reference(text)) == tok.encode(text).tolist()


def test_a_merge_listed_twice_takes_its_last_rank():
    # ("a", "b") is listed before and after ("b", "c"): its rank is its last place (5), as
    # in GPT-2's dict(zip(merges, range(len(merges)))), and a rank above the number of
    # distinct merges (3) still counts as a rank.
    merges = [("x", "y")] * 3 + [("a", "b"), ("b", "c"), ("a", "b")]
    tok = GPT2Tokenizer(list(BYTE_TO_CHAR) + ["xy", "ab", "bc"], merges)
    assert tok.tokenize("abc") == ["a", "bc"]
    assert tok.tokenize("abd") == ["ab", "d"]
    for text in ("abc", "abd", "xyab"):
        assert list(tok._piece_ids_reference(text)) == tok.encode(text).tolist()
    again = GPT2Tokenizer.from_json(tok.to_json())  # written without the duplicate
    assert again.tokenize("abc") == ["a", "bc"]


def test_a_merge_listed_twice_matches_tokenizers(tmp_path):
    tokenizers = require("tokenizers")
    tok = GPT2Tokenizer(list(BYTE_TO_CHAR) + ["xy", "ab", "bc"], [])
    tok.save_files(tmp_path / "vocab.json", tmp_path / "merges.txt")
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "x y\n" * 3 + "a b\nb c\na b\n",
                                         encoding="utf-8")
    ours = GPT2Tokenizer.from_files(tmp_path / "vocab.json", tmp_path / "merges.txt")
    ref = tokenizers.ByteLevelBPETokenizer.from_file(str(tmp_path / "vocab.json"),
                                                     str(tmp_path / "merges.txt"))
    for text in ("abc", "abd", "xyabc", "ab bc abc"):
        assert ours.encode(text).tolist() == ref.encode(text).ids, text


def _reference_encode(tok: GPT2Tokenizer, text: str) -> list[int]:
    """The ids by the slow, obvious merge of every piece."""
    return [i for piece in pretokenize(text) for i in tok._piece_ids_reference(piece)]


short_tokens = st.text(alphabet="abĠ\x00é", min_size=1, max_size=3).map(_byte_chars)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(short_tokens, short_tokens), max_size=30),
       st.one_of(runs, st.text(alphabet="ab é\x00", max_size=60), mixed_text))
def test_fast_merge_matches_reference_for_any_merge_list(merges, text):
    """Merges in any order, even ones whose parts are made later, or never."""
    extra = [t for a, b in merges for t in (a, b, a + b) if t not in CHAR_TO_BYTE]
    tok = GPT2Tokenizer(list(BYTE_TO_CHAR) + list(dict.fromkeys(extra)), merges)
    assert tok.encode(text).tolist() == _reference_encode(tok, text)


@settings(max_examples=200, deadline=None)
@given(st.one_of(mixed_text, runs))
def test_fast_merge_matches_reference_on_trained_merges(reference, text):
    _, tok, _ = reference
    for piece in pretokenize(text):
        assert tok._piece_ids(piece) == tok._piece_ids_reference(piece), piece


def test_long_pieces_are_not_kept_in_the_cache():
    tok = GPT2Tokenizer(list(BYTE_TO_CHAR) + ["hi"], [("h", "i")])
    long_piece = "h" * LONG_LENGTH  # one piece
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        assert len(tok.encode(long_piece)) == len(long_piece)
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < len(long_piece)  # cached, its ids alone would be 8 bytes per letter
    tok.encode("hi hi hi " + "x" * MAX_CACHED_PIECE)  # the last piece is " xx...x"
    info = tok._cached_piece_ids.cache_info()
    assert (info.hits, info.currsize) == (1, 2)  # "hi" and " hi" kept, " xx...x" too long


def test_encode_is_cached_and_repeatable():
    tok = GPT2Tokenizer(list(BYTE_TO_CHAR) + ["Ġp", "Ġpl"], [("Ġ", "p"), ("Ġp", "l")])
    first = tok.encode(" play play")
    second = tok.encode(" play play")
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.int64 and first.tolist() == [257, 97, 121, 257, 97, 121]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_round_trip_any_text(text):
    tok = GPT2Tokenizer(list(BYTE_TO_CHAR) + ["Ġt", "he"], [("Ġ", "t"), ("h", "e")])
    assert tok.decode(tok.encode(text)) == text


def test_corpus_matches_tokenizers(reference):
    ref, tok, _ = reference
    assert tok.vocab_size == ref.get_vocab_size() == TRAINED_VOCAB
    expected = ref.encode(CORPUS).ids
    ids = tok.encode(CORPUS)
    n_same = sum(a == b for a, b in zip(ids.tolist(), expected))
    assert (len(ids), n_same) == (len(expected), len(expected))
    assert len(ids) < len(CORPUS.encode()) / 2  # the merges compress: fewer than 2 bytes/token
    assert tok.decode(ids) == CORPUS


@settings(max_examples=200, deadline=None)
@given(mixed_text)
def test_unicode_text_matches_tokenizers(reference, text):
    ref, tok, _ = reference
    ids = tok.encode(text)
    assert ids.tolist() == ref.encode(text).ids
    assert tok.decode(ids) == text == ref.decode(ids.tolist(), skip_special_tokens=False)


def _long_unspaced_inputs() -> dict[str, str]:
    rng = random.Random(LONG_SEED)
    letters = re.sub(r"[^a-zA-Z]", "", CORPUS)
    return {
        "corpus letters": (letters * (LONG_LENGTH // len(letters) + 1))[:LONG_LENGTH],
        "random letters": "".join(rng.choices(string.ascii_lowercase, k=LONG_LENGTH)),
        "one letter": "e" * LONG_LENGTH,
        "two letters": "th" * (LONG_LENGTH // 2),
        "digits": "".join(rng.choices(string.digits, k=LONG_LENGTH)),
        "punctuation": "".join(rng.choices(".,;:!?-'\"()", k=LONG_LENGTH)),
        "accents": "".join(rng.choices("éèàçñøåß漢", k=LONG_LENGTH // 4)),
    }


@pytest.mark.parametrize("name", list(_long_unspaced_inputs()))
def test_long_unspaced_input_matches_tokenizers(reference, name):
    ref, tok, _ = reference
    text = _long_unspaced_inputs()[name]
    ids = tok.encode(text)
    assert ids.tolist() == ref.encode(text).ids
    assert tok.decode(ids) == text


def test_long_unspaced_input_matches_reference(reference):
    _, tok, _ = reference
    text = _long_unspaced_inputs()["corpus letters"][:LONG_LENGTH // 20]  # O(n^2): keep it short
    assert tok.encode(text).tolist() == _reference_encode(tok, text)


def test_save_files_round_trip(reference, tmp_path):
    ref, tok, _ = reference
    tok.save_files(tmp_path / "vocab.json", tmp_path / "merges.txt")
    again = GPT2Tokenizer.from_files(tmp_path / "vocab.json", tmp_path / "merges.txt")
    assert again.vocab == tok.vocab
    text = CORPUS[:5000]
    np.testing.assert_array_equal(again.encode(text), tok.encode(text))
    # the written files are readable by the reference too
    tokenizers = require("tokenizers")
    reread = tokenizers.ByteLevelBPETokenizer.from_file(str(tmp_path / "vocab.json"),
                                                        str(tmp_path / "merges.txt"))
    assert reread.encode(text).ids == ref.encode(text).ids


def test_json_and_checkpoint_round_trip(reference, tmp_path):
    _, tok, _ = reference
    d = tok.to_json()
    assert d["kind"] == "gpt2-bpe"
    again = tokenizer_from_json(json.loads(json.dumps(d)))
    assert isinstance(again, GPT2Tokenizer) and again.vocab == tok.vocab
    text = CORPUS[:3000] + " 😀 naïve"
    np.testing.assert_array_equal(again.encode(text), tok.encode(text))
    model = GPT(GPTConfig(tok.vocab_size, 8, 1, 1, 4))
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model.params, config=model.config, tokenizer=tok)
    loaded = tokenizer_from_json(load_checkpoint(path).tokenizer)
    np.testing.assert_array_equal(loaded.encode(text), tok.encode(text))


def test_from_files_errors(reference, tmp_path):
    _, _, folder = reference
    vocab, merges = folder / "vocab.json", folder / "merges.txt"
    with pytest.raises(FileNotFoundError):
        GPT2Tokenizer.from_files(tmp_path / "nope.json", merges)
    truncated = tmp_path / "vocab.json"
    truncated.write_bytes(vocab.read_bytes()[:100])
    with pytest.raises(ValueError, match="vocab.json is not valid JSON"):
        GPT2Tokenizer.from_files(truncated, merges)
    bad_merges = tmp_path / "merges.txt"
    bad_merges.write_text("#version: 0.2\nĠ t\nh e x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="merges.txt line 3"):
        GPT2Tokenizer.from_files(vocab, bad_merges)
    bad_merges.write_text("#version: 0.2\nĠ zzz\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        GPT2Tokenizer.from_files(vocab, bad_merges)


def test_constructor_and_call_errors():
    with pytest.raises(ValueError, match="all 256 single-byte tokens"):
        GPT2Tokenizer(list(BYTE_TO_CHAR[:200]), [])
    with pytest.raises(ValueError, match="exactly 0 .. 256"):
        GPT2Tokenizer({**{c: i for i, c in enumerate(BYTE_TO_CHAR)}, "ab": 300}, [])
    with pytest.raises(ValueError, match="unique"):
        GPT2Tokenizer(list(BYTE_TO_CHAR) + ["a"], [])
    with pytest.raises(ValueError, match="pair of str"):
        GPT2Tokenizer(BYTE_TO_CHAR, [("a", "b", "c")])
    tok = GPT2Tokenizer(BYTE_TO_CHAR, [])
    with pytest.raises(TypeError, match="must be a str"):
        tok.encode(b"bytes")
    with pytest.raises(ValueError, match="valid Unicode"):
        tok.encode("a\ud800b")
    with pytest.raises(ValueError, match=r"in \[0, 256\)"):
        tok.decode([1, 256])
    with pytest.raises(TypeError, match="integers"):
        tok.decode(np.array([1.0]))
    with pytest.raises(ValueError, match="1-D"):
        tok.decode(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="keys"):
        tokenizer_from_json({"kind": "gpt2-bpe", "vocab": list(BYTE_TO_CHAR)})
    # a multi-byte character cut in half decodes to the replacement character
    assert tok.decode(tok.encode("é")[:1]) == "\ufffd"
