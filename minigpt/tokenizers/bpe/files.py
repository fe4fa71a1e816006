"""GPT-2's two tokenizer files: ``vocab.json`` (token -> id) and ``merges.txt`` (the merges).

Both hold tokens written over the byte characters of :mod:`minigpt.bpe.byte_chars`, where
a space is ``"Ġ"``; a line of ``merges.txt`` is two tokens separated by one real space.
The tokenizer's :meth:`~minigpt.bpe.GPT2Tokenizer.from_files` and
:meth:`~minigpt.bpe.GPT2Tokenizer.save_files` use these functions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping

from ...runtime.atomic import atomic_path

MERGES_HEADER = "#version:"  # merges.txt may open with a "#version: 0.2" line


def read_vocab_json(vocab_json: str | os.PathLike) -> dict[str, int]:
    """Read ``vocab.json``: a JSON object mapping each token to its id.

    Parameters
    ----------
    vocab_json : path

    Returns
    -------
    dict of str to int
        As the file holds it; :class:`~minigpt.bpe.GPT2Tokenizer` checks the tokens and ids.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not JSON, or holds something other than an object (the message names
        the file).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "vocab.json")
    >>> write_vocab_json(path, {"h": 0, "i": 1, "hi": 2})
    >>> read_vocab_json(path)
    {'h': 0, 'i': 1, 'hi': 2}
    >>> import shutil; shutil.rmtree(os.path.dirname(path))
    """
    try:
        with open(vocab_json, encoding="utf-8") as f:
            vocab = json.load(f)
    except (ValueError, RecursionError) as err:
        # ValueError: JSONDecodeError, UnicodeDecodeError, an integer of more than 4300
        # digits; RecursionError: arrays nested deeper than Python's recursion limit
        raise ValueError(f"{os.fspath(vocab_json)} is not valid JSON: {str(err)[:200]}") from err
    if not isinstance(vocab, dict):
        raise ValueError(f"{os.fspath(vocab_json)} must hold a JSON object token -> id, "
                         f"got {type(vocab).__name__}")
    return vocab


def read_merges_txt(merges_txt: str | os.PathLike) -> list[list[str]]:
    """Read ``merges.txt``: one merge per line, the two tokens separated by a space.

    Parameters
    ----------
    merges_txt : path
        Earliest merge first; an optional first line ``#version: ...`` is skipped, and so
        are empty lines.

    Returns
    -------
    list of [str, str]
        The merges, earliest first.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not UTF-8, or a line is not two tokens separated by one space (the
        message names the file and the line).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "merges.txt")
    >>> write_merges_txt(path, [("h", "i"), ("Ġ", "hi")])
    >>> read_merges_txt(path)
    [['h', 'i'], ['Ġ', 'hi']]
    >>> import shutil; shutil.rmtree(os.path.dirname(path))
    """
    try:
        with open(merges_txt, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except UnicodeDecodeError as err:
        raise ValueError(f"{os.fspath(merges_txt)} is not UTF-8 text: {err}") from err
    merges = []
    for n, line in enumerate(lines, start=1):
        if not line or (n == 1 and line.startswith(MERGES_HEADER)):
            continue
        pair = line.split(" ")
        if len(pair) != 2 or not all(pair):
            raise ValueError(f"{os.fspath(merges_txt)} line {n}: expected two tokens "
                             f"separated by one space, got {line!r}")
        merges.append(pair)
    return merges


def write_vocab_json(vocab_json: str | os.PathLike, ids: Mapping[str, int]) -> None:
    """Write ``vocab.json``: ``ids`` as a JSON object token -> id, non-ASCII kept as is.

    Parameters
    ----------
    vocab_json : path
    ids : mapping of str to int

    Examples
    --------
    See :func:`read_vocab_json`.
    """
    with atomic_path(vocab_json) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(ids, f, ensure_ascii=False)


def write_merges_txt(merges_txt: str | os.PathLike, merges: Iterable[tuple[str, str]]) -> None:
    """Write ``merges.txt``: a ``#version: 0.2`` line, then one merge per line.

    Parameters
    ----------
    merges_txt : path
    merges : iterable of (str, str)
        Earliest first.

    Examples
    --------
    See :func:`read_merges_txt`.
    """
    with atomic_path(merges_txt) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{MERGES_HEADER} 0.2\n")
        f.writelines(f"{a} {b}\n" for a, b in merges)
