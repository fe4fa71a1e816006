"""GPT-2's tokenizer: byte-level byte-pair encoding (BPE), from ``vocab.json`` and ``merges.txt``.

Text becomes ids in four steps:

1. **Pre-tokenize.** Cut the text into words, numbers, punctuation runs and whitespace runs
   with GPT-2's pattern (:func:`pretokenize`); a word keeps the one space before it
   (``" plays"``). Merges never cross these boundaries.
2. **Bytes to characters.** Encode each piece as UTF-8 and write each byte as one printable
   character (:data:`BYTE_TO_CHAR`): the space byte becomes ``"Ġ"``, so ``" plays"`` is
   ``"Ġplays"``. Any text, in any script, is a string over these 256 characters.
3. **Merge.** Start from single characters and repeatedly join the adjacent pair whose merge
   was learned earliest (lowest rank in ``merges.txt``), until no learned pair is left.
4. **Look up.** Each resulting symbol is a token of ``vocab.json``; its value is the id.

Decoding concatenates the tokens, maps the characters back to bytes and decodes UTF-8, so
``decode(encode(text)) == text`` for every ``str`` that can be written in UTF-8.

The steps live in their own modules: :mod:`minigpt.tokenizers.bpe.pieces` (1, the pattern),
:mod:`~minigpt.tokenizers.bpe.byte_chars` (2, the table), :mod:`~minigpt.tokenizers.bpe.tokenizer` (3 and 4, and
decoding: :class:`GPT2Tokenizer`) and :mod:`~minigpt.tokenizers.bpe.files` (GPT-2's ``vocab.json`` and
``merges.txt``); :mod:`~minigpt.tokenizers.bpe.train` learns merges from a text (:func:`train_bpe`).
Every name of the five is importable from ``minigpt.tokenizers.bpe`` (and ``minigpt.bpe``).

References
----------
Radford et al. (2019), "Language Models are Unsupervised Multitask Learners", section 2.2
(byte-level BPE). Sennrich et al. (2016), "Neural Machine Translation of Rare Words with
Subword Units" (BPE).
"""

from .byte_chars import BYTE_TO_CHAR, CHAR_TO_BYTE
from .files import (
    MERGES_HEADER,
    read_merges_txt,
    read_vocab_json,
    write_merges_txt,
    write_vocab_json,
)
from .pieces import PIECE_RE, WHITESPACE, pretokenize
from .tokenizer import CACHE_SIZE, KIND, MAX_SHOWN, GPT2Tokenizer, decode_ids
from .train import MIN_PAIR_COUNT, train_bpe

__all__ = [
    "GPT2Tokenizer",
    "decode_ids",
    "pretokenize",
    "read_merges_txt",
    "read_vocab_json",
    "train_bpe",
    "write_merges_txt",
    "write_vocab_json",
]
