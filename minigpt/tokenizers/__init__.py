"""Tokenizers: text to integer ids and back, in one package.

* :mod:`minigpt.tokenizers.char_word` -- :class:`CharTokenizer` and :class:`WordTokenizer`
  (a vocabulary of characters, or of GPT-2-style words), and :func:`tokenizer_from_json`,
  which rebuilds any tokenizer of the package from its ``to_json()`` dict;
* :mod:`minigpt.tokenizers.bpe` -- GPT-2's byte-level byte-pair encoding
  (:class:`GPT2Tokenizer`, :func:`train_bpe`), also importable as ``minigpt.bpe``.
"""

from .bpe import GPT2Tokenizer, decode_ids, train_bpe
from .char_word import (
    GPT2_BPE_KIND,
    MAX_SHOWN,
    PIECE_NOUNS,
    TOKENIZERS,
    UNK,
    WORD_RE,
    CharTokenizer,
    UnknownPieceError,
    WordTokenizer,
    tokenizer_from_json,
)

__all__ = [
    "CharTokenizer",
    "GPT2Tokenizer",
    "TOKENIZERS",
    "UnknownPieceError",
    "WordTokenizer",
    "decode_ids",
    "tokenizer_from_json",
    "train_bpe",
]
