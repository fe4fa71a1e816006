"""Step 1 of GPT-2's BPE: cut text into the pieces that merges stay within.

GPT-2's pattern splits text into contractions, runs of letters, runs of numbers, runs of
other symbols and runs of whitespace, a word keeping the one space before it. Python's
:mod:`re` lacks the pattern's Unicode classes, so they are written with ``\\w`` and
:data:`WHITESPACE` below. Each piece is then written over the byte characters of
:mod:`minigpt.bpe.byte_chars` and merged by :mod:`minigpt.bpe.tokenizer`.
"""

from __future__ import annotations

import itertools
import re

# Unicode's White_Space property (PropList.txt). Python's \s also matches the four
# information separators U+001C..U+001F, which GPT-2's pattern treats as punctuation.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"

# GPT-2's pattern is  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
# Python's re has no \p{L} (letters) or \p{N} (numbers), but its \w is exactly letters,
# numbers and "_", so [^\W_] is \p{L} or \p{N}. One alternative takes a run of both and
# _split_alnum cuts it where letters meet numbers (str.isalpha is exactly \p{L}); since
# the two never start at the same character, this gives the same pieces.
PIECE_RE = re.compile(
    r"'s|'t|'re|'ve|'m|'ll|'d"  # English contractions, case-sensitive
    r"| ?[^\W_]+"  # a run of letters and numbers, with at most one leading space
    rf"| ?(?:[^\w{WHITESPACE}]|_)+"  # a run of anything else but whitespace
    rf"|[{WHITESPACE}]+(?![^{WHITESPACE}])"  # whitespace, leaving its last space to a word
    rf"|[{WHITESPACE}]+"  # whitespace at the end of the text
)


def _split_alnum(piece: str) -> list[str]:
    """Cut ``" ?[letters and numbers]+"`` into runs of letters and runs of numbers."""
    space = piece[:1] == " "
    body = piece[1:] if space else piece
    if body.isalpha():
        return [piece]
    runs = ["".join(run) for _, run in itertools.groupby(body, key=str.isalpha)]
    if space:
        runs[0] = " " + runs[0]
    return runs


def pretokenize(text: str) -> list[str]:
    """Cut text into the pieces that BPE merges within, by GPT-2's pattern.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of str
        ``"".join(pieces) == text``. A piece is a contraction (``'s 't 're 've 'm 'll 'd``),
        a run of letters, a run of numbers, or a run of other non-space characters, each
        with at most one leading space; or a run of whitespace. Before a word, a run of
        spaces leaves its last space to the word.

    Notes
    -----
    Letters and numbers are the Unicode categories L and N as Python's
    :mod:`unicodedata` knows them (Unicode 14.0 in Python 3.11); whitespace is Unicode's
    White_Space property (:data:`WHITESPACE`).

    Examples
    --------
    >>> pretokenize("Michael Jordan's 23   points!!")
    ['Michael', ' Jordan', "'s", ' 23', '  ', ' points', '!!']
    >>> pretokenize("route66 ½")
    ['route', '66', ' ½']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    pieces: list[str] = []
    for piece in PIECE_RE.findall(text):
        if piece[0] != "'" and piece[-1].isalnum():  # letters and numbers, maybe mixed
            pieces.extend(_split_alnum(piece))
        else:
            pieces.append(piece)
    return pieces
