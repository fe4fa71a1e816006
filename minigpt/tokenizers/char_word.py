"""Tokenizers: cut text into pieces from a fixed vocabulary and number them.

A model sees only integer ids. A tokenizer fixes the vocabulary, a list of string
pieces, and maps text to the ids of its pieces (:meth:`encode`) and back
(:meth:`decode`). Two kinds share one interface:

* :class:`CharTokenizer`: every character is a piece (a character-level model).
* :class:`WordTokenizer`: GPT-2-style pieces. A word keeps the single space before it,
  so ``"Michael Jordan plays basketball."`` becomes ``["Michael", " Jordan", " plays",
  " basketball", "."]``, five tokens, and a fact's sport is one token the model can
  predict in one step.

Both cut text so that the pieces concatenate back to it exactly, hence
``decode(encode(s)) == s`` for every text whose pieces are in the vocabulary.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .bpe import KIND as GPT2_BPE_KIND
from .bpe import GPT2Tokenizer, decode_ids

UNK = "<unk>"
# Alternatives, tried in order at each position: a word with at most one leading space;
# one punctuation character with at most one leading space; a whitespace run that leaves
# its last space to the word after it; any remaining whitespace run. Every character is
# a word character, whitespace, or neither, so some alternative matches at every
# position and the pieces cover the text with nothing dropped.
WORD_RE = re.compile(r" ?\w+| ?[^\w\s]|\s+(?!\S)|\s+")
# How many unknown pieces or bad ids an error message lists.
MAX_SHOWN = 5
# What the pieces of each kind are called in messages.
PIECE_NOUNS = {"char": "characters", "word": "words"}


class UnknownPieceError(ValueError):
    """A text holds pieces (characters or words) that the tokenizer's vocabulary lacks.

    Attributes
    ----------
    pieces : list of str
        The distinct unknown pieces, in order of first appearance.
    kind : str
        ``"char"`` or ``"word"``, the tokenizer's kind.
    vocab_size : int
        The size of the vocabulary that lacks them.
    """

    def __init__(self, pieces: list[str], kind: str, vocab_size: int) -> None:
        noun = PIECE_NOUNS[kind]
        super().__init__(
            f"{len(pieces)} distinct {noun} are not in the vocabulary of {vocab_size} (the "
            f"{noun} of the text the tokenizer was built from), first ones: "
            f"{pieces[:MAX_SHOWN]}; use only those, or build the tokenizer with unk=True to "
            f"map the others to {UNK!r}"
        )
        self.pieces = pieces
        self.kind = kind
        self.vocab_size = vocab_size


def _split_chars(text: str) -> list[str]:
    return list(text)


def _split_words(text: str) -> list[str]:
    return WORD_RE.findall(text)


class _Tokenizer:
    """The interface shared by :class:`CharTokenizer` and :class:`WordTokenizer`."""

    kind = ""
    _split: Callable[[str], list[str]]

    def __init__(self, pieces: Sequence[str], unk: bool = False) -> None:
        if not isinstance(unk, bool):
            raise TypeError(f"unk must be a bool, got {type(unk).__name__}")
        pieces = list(pieces)
        if not pieces:
            raise ValueError("the vocabulary must not be empty")
        for piece in pieces:
            if not isinstance(piece, str):
                raise TypeError(f"vocabulary pieces must be str, got {type(piece).__name__}")
            if piece == UNK:
                raise ValueError(f"{UNK!r} is reserved; pass unk=True to add it")
            if type(self)._split(piece) != [piece]:
                raise ValueError(f"{piece!r} is not a single {self.kind} piece")
        if len(set(pieces)) != len(pieces):
            dups = sorted(p for p, n in Counter(pieces).items() if n > 1)[:MAX_SHOWN]
            raise ValueError(f"vocabulary pieces must be unique, got repeats {dups}")
        self.unk = unk
        self.vocab: list[str] = pieces + [UNK] if unk else pieces
        self._ids = {piece: i for i, piece in enumerate(pieces)}

    @classmethod
    def from_text(cls, text: str, unk: bool = False):
        """Build the tokenizer whose vocabulary is every distinct piece of ``text``, sorted.

        Parameters
        ----------
        text : str
            The corpus; must not be empty.
        unk : bool
            If True, append the piece ``"<unk>"`` (the last id), to which :meth:`encode`
            maps every piece outside the vocabulary; if False such pieces raise.

        Returns
        -------
        CharTokenizer or WordTokenizer
            The class it was called on.

        Examples
        --------
        >>> CharTokenizer.from_text("banana").vocab
        ['a', 'b', 'n']
        >>> WordTokenizer.from_text("a cat, a hat", unk=True).vocab
        [' a', ' cat', ' hat', ',', 'a', '<unk>']
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("cannot build a vocabulary from an empty text")
        return cls(sorted(set(cls._split(text))), unk=unk)

    @property
    def vocab_size(self) -> int:
        """V, the number of ids (including ``"<unk>"`` when ``unk`` is True)."""
        return len(self.vocab)

    def tokenize(self, text: str) -> list[str]:
        """Cut ``text`` into pieces; ``"".join(pieces) == text`` always.

        Parameters
        ----------
        text : str

        Returns
        -------
        list of str
            The pieces in order, whether or not they are in the vocabulary.

        Examples
        --------
        >>> WordTokenizer(["a"]).tokenize("Michael Jordan plays basketball.")
        ['Michael', ' Jordan', ' plays', ' basketball', '.']
        >>> CharTokenizer(["a"]).tokenize("to be")
        ['t', 'o', ' ', 'b', 'e']
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return type(self)._split(text)

    def encode(self, text: str) -> np.ndarray:
        """Map text to the ids of its pieces.

        Parameters
        ----------
        text : str

        Returns
        -------
        np.ndarray
            shape (T,), int64, T = the number of pieces.

        Raises
        ------
        TypeError
            If ``text`` is not a str.
        UnknownPieceError
            A ``ValueError``: a piece is not in the vocabulary and ``unk`` is False; it
            holds every such piece and its message lists the first few.

        Examples
        --------
        >>> tok = CharTokenizer.from_text("banana")
        >>> tok.encode("nab")
        array([2, 0, 1])
        """
        pieces = self.tokenize(text)
        if self.unk:
            unk_id = len(self.vocab) - 1
            ids = [self._ids.get(p, unk_id) for p in pieces]
        else:
            try:
                ids = [self._ids[p] for p in pieces]
            except KeyError:
                unknown = list(dict.fromkeys(p for p in pieces if p not in self._ids))
                raise UnknownPieceError(unknown, self.kind, self.vocab_size) from None
        return np.array(ids, dtype=np.int64)  # (T,)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Map ids back to text by concatenating their pieces.

        Parameters
        ----------
        ids : sequence of int or np.ndarray
            shape (T,), integers in ``[0, vocab_size)``.

        Returns
        -------
        str
            The id of ``"<unk>"`` decodes to the text ``"<unk>"``.

        Raises
        ------
        TypeError
            If the ids are not integers.
        ValueError
            If ``ids`` is not 1-D, or some id is out of range (the message names them).

        Examples
        --------
        >>> tok = CharTokenizer.from_text("banana")
        >>> tok.decode([1, 0, 2, 0])
        'bana'
        """
        return "".join([self.vocab[i] for i in decode_ids(ids, self.vocab_size)])

    def to_json(self) -> dict[str, Any]:
        """The tokenizer as a JSON-ready dict, the inverse of :func:`tokenizer_from_json`.

        Returns
        -------
        dict
            ``{"kind": "char" | "word", "vocab": [...], "unk": bool}``; ``vocab`` is the
            full id-ordered list, ending with ``"<unk>"`` when ``unk`` is True.

        Examples
        --------
        >>> CharTokenizer.from_text("ab").to_json()
        {'kind': 'char', 'vocab': ['a', 'b'], 'unk': False}
        """
        return {"kind": self.kind, "vocab": list(self.vocab), "unk": self.unk}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, unk={self.unk})"


class CharTokenizer(_Tokenizer):
    """One token per character.

    Parameters
    ----------
    pieces : sequence of str
        The vocabulary, single characters, unique; id i is ``pieces[i]``.
    unk : bool
        Append ``"<unk>"`` as the last id and map unknown characters to it.

    Examples
    --------
    >>> tok = CharTokenizer.from_text("hello world")
    >>> tok.vocab_size, tok.decode(tok.encode("hold"))
    (8, 'hold')
    """

    kind = "char"
    _split = staticmethod(_split_chars)


class WordTokenizer(_Tokenizer):
    """GPT-2-style word pieces: words and punctuation carry one leading space.

    Pieces are, by :data:`WORD_RE`: a word with at most one leading space, a punctuation
    character with at most one leading space, or a run of whitespace. A run of spaces
    before a word leaves its last space to the word (``"a   b"`` -> ``"a", "  ", " b"``).

    Parameters
    ----------
    pieces : sequence of str
        The vocabulary, each a single piece, unique; id i is ``pieces[i]``.
    unk : bool
        Append ``"<unk>"`` as the last id and map unknown pieces to it.

    Examples
    --------
    >>> tok = WordTokenizer.from_text("Michael Jordan plays basketball.")
    >>> tok.encode("Michael Jordan plays basketball.")
    array([4, 0, 2, 1, 3])
    """

    kind = "word"
    _split = staticmethod(_split_words)


TOKENIZERS: dict[str, type[_Tokenizer]] = {"char": CharTokenizer, "word": WordTokenizer}
"""The tokenizer class for each ``kind`` a tokenizer's JSON form records."""


def tokenizer_from_json(d: Mapping[str, Any]) -> CharTokenizer | WordTokenizer | GPT2Tokenizer:
    """Rebuild a tokenizer from the dict made by ``to_json``, checking it first.

    Parameters
    ----------
    d : mapping
        ``{"kind": "char" | "word", "vocab": list of str, "unk": bool}``, or
        ``{"kind": "gpt2-bpe", "vocab": ..., "merges": ...}`` from
        :meth:`minigpt.bpe.GPT2Tokenizer.to_json`.

    Returns
    -------
    CharTokenizer, WordTokenizer or GPT2Tokenizer
        Encodes and decodes exactly as the tokenizer that wrote ``d``.

    Raises
    ------
    TypeError
        If ``d`` is not a mapping.
    ValueError
        If a key is missing or extra, the kind is unknown, or the vocabulary is malformed
        (not a list of unique pieces of that kind, or ``"<unk>"`` misplaced).

    Examples
    --------
    >>> tok = tokenizer_from_json({"kind": "word", "vocab": [" b", "a", "<unk>"], "unk": True})
    >>> tok, tok.encode("a b c")
    (WordTokenizer(vocab_size=3, unk=True), array([1, 0, 2]))
    """
    if not isinstance(d, Mapping):
        raise TypeError(f"tokenizer JSON must be a dict, got {type(d).__name__}")
    if d.get("kind") == GPT2_BPE_KIND:
        return GPT2Tokenizer.from_json(d)
    expected = {"kind", "vocab", "unk"}
    if set(d) != expected:
        raise ValueError(f"tokenizer JSON must have the keys {sorted(expected)}, got {sorted(d)}")
    kind, vocab, unk = d["kind"], d["vocab"], d["unk"]
    if not isinstance(kind, str) or kind not in TOKENIZERS:
        raise ValueError(f"tokenizer kind must be one of {[*TOKENIZERS, GPT2_BPE_KIND]}, "
                         f"got {kind!r}")
    if not isinstance(vocab, list) or not all(isinstance(p, str) for p in vocab):
        raise ValueError(f"tokenizer vocab must be a list of str, got {type(vocab).__name__}")
    if not isinstance(unk, bool):
        raise ValueError(f"tokenizer unk must be a bool, got {unk!r}")
    if unk and (not vocab or vocab[-1] != UNK):
        raise ValueError(f"with unk=True the vocab must end with {UNK!r}")
    pieces = vocab[:-1] if unk else vocab
    try:
        return TOKENIZERS[kind](pieces, unk=unk)
    except (TypeError, ValueError) as err:
        raise ValueError(f"bad tokenizer vocab: {err}") from err
