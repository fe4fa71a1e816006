"""Learning GPT-2-style byte-level BPE merges from a text.

Start from the 256 byte characters; count every adjacent pair of symbols inside the
pre-tokenized pieces of the text (:func:`~minigpt.bpe.pretokenize`: merges never cross a
piece), join the most frequent pair everywhere, and repeat. The merges, in the order they
were learned, are the tokenizer's ranks, so :class:`~minigpt.bpe.GPT2Tokenizer` cuts the
training text exactly as training did.
"""

from __future__ import annotations

from collections import Counter

from .byte_chars import BYTE_TO_CHAR
from .pieces import pretokenize
from .tokenizer import GPT2Tokenizer

_BYTE_TRANSLATION = {b: c for b, c in enumerate(BYTE_TO_CHAR)}  # chr(b) -> BYTE_TO_CHAR[b]
MIN_PAIR_COUNT = 2  # a pair seen once is not worth a token


def _join(word: tuple[str, ...], a: str, b: str) -> tuple[str, ...]:
    """Replace every adjacent (a, b) in ``word`` by ``a + b``, left to right."""
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def train_bpe(text: str, n_merges: int, min_count: int = MIN_PAIR_COUNT) -> GPT2Tokenizer:
    """Learn up to ``n_merges`` byte-pair merges from ``text``.

    Parameters
    ----------
    text : str
        The training text.
    n_merges : int
        How many merges to learn at most; the vocabulary has 256 + that many tokens.
    min_count : int, default 2
        Stop early when the most frequent pair occurs fewer times than this.

    Returns
    -------
    GPT2Tokenizer
        Byte tokens first (ids 0-255 in :data:`~minigpt.bpe.BYTE_TO_CHAR` order), then one
        token per merge, in the order learned.

    Notes
    -----
    Each step counts pairs over the distinct pieces weighted by how often each occurs, and
    takes the most frequent pair; ties go to the pair that sorts first, so training is
    deterministic. This is Sennrich et al.'s algorithm on GPT-2's byte characters; it is
    written for clarity (every step recounts), which is fast enough for texts of a few
    hundred kilobytes and a few thousand merges.

    Examples
    --------
    >>> tok = train_bpe("the cat sat on the mat, the end", n_merges=4)
    >>> tok.vocab_size, tok.tokenize(" the mat")
    (260, ['Ġthe', 'Ġ', 'm', 'at'])
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    for name, value, lo in (("n_merges", n_merges, 0), ("min_count", min_count, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    words = Counter(tuple(piece.encode("utf-8").decode("latin-1").translate(_BYTE_TRANSLATION))
                    for piece in pretokenize(text))
    vocab, merges = list(BYTE_TO_CHAR), []
    for _ in range(n_merges):
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))  # most frequent, then sorted
        if pairs[best] < min_count:
            break
        merges.append(best)
        vocab.append(best[0] + best[1])
        joined: Counter[tuple[str, ...]] = Counter()
        for word, count in words.items():
            joined[_join(word, *best)] += count
        words = joined
    return GPT2Tokenizer(vocab, merges)
