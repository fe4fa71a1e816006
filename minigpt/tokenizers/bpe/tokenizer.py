"""Steps 3 and 4 of GPT-2's BPE, and back: :class:`GPT2Tokenizer` merges pieces into tokens.

A piece from :func:`~minigpt.bpe.pretokenize` (:mod:`minigpt.bpe.pieces`) is written over
the byte characters of :mod:`minigpt.bpe.byte_chars`; the learned merges join its
characters, earliest merge first, into tokens of the vocabulary, whose ids are the output.
Decoding maps ids back to bytes. The tokenizer is read from and written to GPT-2's files
by :mod:`minigpt.bpe.files`, and to a checkpoint as JSON.
"""

from __future__ import annotations

import functools
import heapq
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .byte_chars import BYTE_TO_CHAR, CHAR_TO_BYTE
from .files import read_merges_txt, read_vocab_json, write_merges_txt, write_vocab_json
from .pieces import pretokenize

KIND = "gpt2-bpe"
CACHE_SIZE = 2**16  # pre-tokenized pieces whose ids are remembered (an LRU cache)
MAX_CACHED_PIECE = 64  # longer pieces are merged every time, so the cache stays small
JOINED = -1  # in the fast merge, the id left at a position whose symbol joined its left neighbour
MAX_SHOWN = 5  # how many bad ids an error message lists
_BYTE_TRANSLATION = {b: c for b, c in enumerate(BYTE_TO_CHAR)}  # chr(b) -> BYTE_TO_CHAR[b]


def decode_ids(ids: Sequence[int] | np.ndarray, vocab_size: int) -> list[int]:
    """Check ids for decoding (1-D integers in ``[0, vocab_size)``) and return them as a list.

    Raises
    ------
    TypeError
        If the ids are not integers.
    ValueError
        If ``ids`` is not 1-D or some id is out of range (the message names them).
    """
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        return []
    if arr.dtype.kind not in "iu":
        raise TypeError(f"ids must be integers, got dtype {arr.dtype}")
    bad = (arr < 0) | (arr >= vocab_size)
    if bad.any():
        shown = list(dict.fromkeys(arr[bad].tolist()))[:MAX_SHOWN]
        raise ValueError(f"ids must be in [0, {vocab_size}), got {shown}")
    return arr.tolist()


class GPT2Tokenizer:
    """GPT-2's byte-level BPE tokenizer.

    Parameters
    ----------
    vocab : sequence of str, or mapping of str to int
        The tokens, written over :data:`BYTE_TO_CHAR`'s characters: a list in id order, or
        ``vocab.json``'s token -> id mapping (ids must be exactly 0 .. V-1). Must hold all
        256 single-byte tokens, so that every text can be encoded.
    merges : sequence of (str, str)
        The learned merges, earliest first (the rank is the position; a pair listed twice
        has the rank of its last place, as in GPT-2's and Hugging Face's tokenizers); each
        pair and its concatenation must be tokens.

    Attributes
    ----------
    vocab : list of str
        ``vocab[i]`` is the token of id i.

    Notes
    -----
    Merging follows ranks: of all adjacent pairs in a piece, the one learned earliest is
    joined (at every place it occurs, left to right), then the search repeats. Text such
    as ``"<|endoftext|>"`` is encoded as ordinary text; no token is treated as special.

    A piece of n bytes is merged in O(n log n) time (a heap of ranks and a linked list of
    symbols, see ``_merge``), so a long word without spaces costs about as much per byte
    as ordinary text; ``_merge_reference`` is the obvious O(n^2) version it is checked
    against. The ids of the last ``CACHE_SIZE`` distinct pieces of at most
    ``MAX_CACHED_PIECE`` characters are remembered; longer pieces are merged each time.

    Examples
    --------
    >>> tok = GPT2Tokenizer(list(BYTE_TO_CHAR) + ["Ġp", "Ġpl"], [("Ġ", "p"), ("Ġp", "l")])
    >>> tok.vocab_size, tok.tokenize(" plays"), tok.encode(" plays")
    (258, ['Ġpl', 'a', 'y', 's'], array([257,  97, 121, 115]))
    >>> tok.decode(tok.encode("naïve 😀"))
    'naïve 😀'
    """

    def __init__(self, vocab: Sequence[str] | Mapping[str, int],
                 merges: Sequence[Sequence[str]]) -> None:
        self.vocab: list[str] = _vocab_list(vocab)
        self._ids = {token: i for i, token in enumerate(self.vocab)}
        missing = [c for c in BYTE_TO_CHAR if c not in self._ids]
        if missing:
            raise ValueError(f"the vocabulary must hold all 256 single-byte tokens, "
                             f"{len(missing)} are missing, e.g. {missing[:MAX_SHOWN]}")
        self._ranks: dict[tuple[str, str], int] = {}
        for rank, pair in enumerate(merges):
            if isinstance(pair, str) or len(pair) != 2 or not all(isinstance(s, str) for s in pair):
                raise ValueError(f"merge {rank} must be a pair of str, got {pair!r}")
            a, b = pair
            for token in (a, b, a + b):
                if token not in self._ids:
                    raise ValueError(f"merge {rank} ({a!r}, {b!r}) uses {token!r}, "
                                     f"which is not in the vocabulary")
            self._ranks[a, b] = rank  # a pair listed twice keeps its last rank, as in GPT-2
        # The same merges over ids, for the fast merge: (left id, right id) -> (rank, merged id)
        self._id_merges: dict[tuple[int, int], tuple[int, int]] = {
            (self._ids[a], self._ids[b]): (rank, self._ids[a + b])
            for (a, b), rank in self._ranks.items()}
        self._byte_ids = [self._ids[c] for c in BYTE_TO_CHAR]  # byte b -> id of its token
        # Token -> bytes for decoding; a token not written over the byte characters (a
        # special token added by hand) decodes to its own UTF-8.
        self._bytes = [bytes(CHAR_TO_BYTE[c] for c in t) if all(c in CHAR_TO_BYTE for c in t)
                       else t.encode("utf-8") for t in self.vocab]
        self._cached_piece_ids = functools.lru_cache(maxsize=CACHE_SIZE)(self._piece_ids_uncached)

    @classmethod
    def from_files(cls, vocab_json: str | os.PathLike, merges_txt: str | os.PathLike
                   ) -> GPT2Tokenizer:
        """Read the tokenizer from GPT-2's two files.

        Parameters
        ----------
        vocab_json : path
            A JSON object mapping each token to its id.
        merges_txt : path
            One merge per line, the two tokens separated by a space, earliest first; an
            optional first line ``#version: ...`` is skipped.

        Returns
        -------
        GPT2Tokenizer

        Raises
        ------
        FileNotFoundError
            If a file does not exist.
        ValueError
            If a file is malformed (the message names the file, and the line for merges).

        Examples
        --------
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> paths = os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")
        >>> GPT2Tokenizer(list(BYTE_TO_CHAR) + ["hi"], [("h", "i")]).save_files(*paths)
        >>> GPT2Tokenizer.from_files(*paths).tokenize("hi hi")
        ['hi', 'Ġ', 'hi']
        >>> import shutil; shutil.rmtree(folder)
        """
        vocab = read_vocab_json(vocab_json)
        merges = read_merges_txt(merges_txt)
        try:
            return cls(vocab, merges)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{os.fspath(vocab_json)} and {os.fspath(merges_txt)} do not "
                             f"make a tokenizer: {err}") from err

    def save_files(self, vocab_json: str | os.PathLike, merges_txt: str | os.PathLike) -> None:
        """Write ``vocab.json`` and ``merges.txt``, readable by :meth:`from_files` and by
        Hugging Face's tokenizers (see :meth:`from_files` for an example).

        Parameters
        ----------
        vocab_json : path
            Written as a JSON object token -> id.
        merges_txt : path
            Written as a ``#version: 0.2`` line, then one merge per line, earliest first.
        """
        write_vocab_json(vocab_json, self._ids)
        ranked = sorted(self._ranks.items(), key=lambda item: item[1])
        write_merges_txt(merges_txt, [pair for pair, _ in ranked])

    @property
    def vocab_size(self) -> int:
        """V, the number of ids."""
        return len(self.vocab)

    def _merge_reference(self, symbols: str) -> list[str]:
        """Byte-pair merges of one piece written over the byte characters, as GPT-2 does them.

        The slow, obvious version: the fast :meth:`_merge` must give the same tokens (the
        tests check it).

        Notes
        -----
        Each round scans all adjacent pairs for the lowest rank and rebuilds the list, so a
        piece of n characters that needs m rounds costs O(m n), up to O(n^2).
        """
        parts = list(symbols)
        while len(parts) > 1:
            pairs = set(zip(parts, parts[1:]))
            best = min(pairs, key=lambda pair: self._ranks.get(pair, math.inf))
            if best not in self._ranks:
                break  # no adjacent pair was ever merged
            a, b = best
            merged, i = [], 0
            while i < len(parts):  # join every occurrence of (a, b), left to right
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return parts

    def _merge(self, ids: list[int]) -> list[int]:
        """Byte-pair merges of one piece given as the ids of its bytes' tokens, in O(n log n).

        Parameters
        ----------
        ids : list of int
            The piece's n bytes, each as the id of its single-byte token.

        Returns
        -------
        list of int
            The ids of its tokens: the same tokens as :meth:`_merge_reference`.

        Notes
        -----
        GPT-2's loop, without rescanning the piece: pick the lowest-ranked adjacent pair,
        join it at every place it stands, left to right, and repeat.

        - A symbol keeps the position of its first byte, and the symbols form a doubly
          linked list over the positions (``nxt``, ``prv``): joining two is O(1).
        - ``places[rank]`` lists the positions i where the pair of that rank may stand (i is
          its left symbol), and a heap holds the ranks that have places: popping it gives
          the lowest rank.
        - One *pass* per popped rank visits its places in increasing order and joins the
          pair where it still stands. A place is not removed when a join spoils it, but
          skipped: its left symbol was joined into its neighbour (so ``"aaa"`` gives
          ``"aa" + "a"``, as in GPT-2), or its pair is no longer the rank's.
        - The pairs a pass forms are noted when it ends. None has the pass's rank (a join
          never forms its own pair again); one ranked below it (possible when
          ``merges.txt`` lists a merge before those that make its parts) comes next, as
          in GPT-2.

        Each join removes a symbol (at most n - 1 joins) and notes at most two places, so
        at most 3n places are noted, each visited once, and the sorts and the heap cost
        O(n log n) in all, with O(n) memory. :meth:`_merge_reference` takes up to O(n^2).
        """
        merges = self._id_merges
        n = len(ids)
        parts = list(ids)  # parts[i]: the symbol at position i, or JOINED
        nxt = list(range(1, n + 1))  # the next symbol's position; n after the last
        prv = list(range(-1, n - 1))  # the previous symbol's position; -1 before the first
        places: dict[int, list[int]] = {}  # rank -> positions where its pair may stand
        ranks: list[int] = []  # a heap of the keys of places

        def note(i: int) -> None:  # the pair at i (i is a symbol with a next) may be joined
            merge = merges.get((parts[i], parts[nxt[i]]))
            if merge is not None:
                if merge[0] not in places:
                    places[merge[0]] = []
                    heapq.heappush(ranks, merge[0])
                places[merge[0]].append(i)

        for i in range(n - 1):
            note(i)
        while ranks:
            rank = heapq.heappop(ranks)
            changed = []  # positions whose pair to the right changed in this pass
            for i in sorted(places.pop(rank)):  # one pass: left to right
                j = nxt[i]
                if parts[i] == JOINED or j == n:
                    continue  # stale: the symbol at i was joined, or is now the last one
                merge = merges.get((parts[i], parts[j]))
                if merge is None or merge[0] != rank:
                    continue  # stale: the pair at i changed
                parts[i], parts[j] = merge[1], JOINED
                k = nxt[i] = nxt[j]
                if k < n:
                    prv[k] = i
                if prv[i] >= 0:
                    changed.append(prv[i])
                changed.append(i)
            for i in changed:  # note the new pairs once the pass has ended
                if parts[i] != JOINED and nxt[i] < n:
                    note(i)
        out, i = [], 0
        while i < n:  # walk the list
            out.append(parts[i])
            i = nxt[i]
        return out

    def _piece_ids(self, piece: str) -> tuple[int, ...]:
        """The ids of one pre-tokenized piece; short pieces are remembered (an LRU cache)."""
        if len(piece) <= MAX_CACHED_PIECE:
            return self._cached_piece_ids(piece)
        return self._piece_ids_uncached(piece)

    def _piece_ids_uncached(self, piece: str) -> tuple[int, ...]:
        byte_ids = self._byte_ids
        return tuple(self._merge([byte_ids[b] for b in piece.encode("utf-8")]))

    def _piece_ids_reference(self, piece: str) -> tuple[int, ...]:
        """:meth:`_piece_ids` by :meth:`_merge_reference`, to check the fast way against."""
        # latin-1 turns byte b into chr(b); the table then turns chr(b) into BYTE_TO_CHAR[b]
        symbols = piece.encode("utf-8").decode("latin-1").translate(_BYTE_TRANSLATION)
        return tuple(self._ids[token] for token in self._merge_reference(symbols))

    def _check_text(self, text: Any) -> None:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ValueError(f"text must be valid Unicode (encodable as UTF-8), got "
                             f"{text[err.start:err.end]!r} at position {err.start}") from None

    def encode(self, text: str) -> np.ndarray:
        """Map text to token ids.

        Parameters
        ----------
        text : str

        Returns
        -------
        np.ndarray
            shape (T,), int64.

        Raises
        ------
        TypeError
            If ``text`` is not a str.
        ValueError
            If ``text`` holds a lone surrogate (it has no UTF-8 bytes).

        Examples
        --------
        >>> tok = GPT2Tokenizer(BYTE_TO_CHAR, [])
        >>> tok.encode("hi!")
        array([104, 105,  33])
        """
        self._check_text(text)
        ids = [i for piece in pretokenize(text) for i in self._piece_ids(piece)]
        return np.array(ids, dtype=np.int64)  # (T,)

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` as strings over :data:`BYTE_TO_CHAR` (a space shows as ``Ġ``).

        Parameters
        ----------
        text : str

        Returns
        -------
        list of str
            ``vocab[i]`` for each id i of :meth:`encode`.

        Examples
        --------
        >>> GPT2Tokenizer(BYTE_TO_CHAR, []).tokenize("a b")
        ['a', 'Ġ', 'b']
        """
        return [self.vocab[i] for i in self.encode(text).tolist()]

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Map ids back to text.

        Parameters
        ----------
        ids : sequence of int or np.ndarray
            shape (T,), integers in ``[0, vocab_size)``.

        Returns
        -------
        str
            Bytes that do not form valid UTF-8 (a character cut between two tokens at the
            end of a generation) become U+FFFD.

        Raises
        ------
        TypeError
            If the ids are not integers.
        ValueError
            If ``ids`` is not 1-D or an id is out of range.

        Examples
        --------
        >>> tok = GPT2Tokenizer(BYTE_TO_CHAR, [])
        >>> tok.decode([104, 105, 33])
        'hi!'
        """
        return b"".join([self._bytes[i] for i in decode_ids(ids, self.vocab_size)]).decode(
            "utf-8", errors="replace")

    def to_json(self) -> dict[str, Any]:
        """The tokenizer as a JSON-ready dict, for checkpoints.

        Returns
        -------
        dict
            ``{"kind": "gpt2-bpe", "vocab": [token, ...], "merges": [[a, b], ...]}``:
            tokens in id order, merges earliest first. :meth:`from_json` (and
            :func:`minigpt.tokenizers.tokenizer_from_json`) rebuild the tokenizer.

        Examples
        --------
        >>> d = GPT2Tokenizer(list(BYTE_TO_CHAR) + ["hi"], [("h", "i")]).to_json()
        >>> d["kind"], len(d["vocab"]), d["merges"]
        ('gpt2-bpe', 257, [['h', 'i']])
        """
        ranked = sorted(self._ranks.items(), key=lambda item: item[1])
        return {"kind": KIND, "vocab": list(self.vocab), "merges": [[a, b] for (a, b), _ in ranked]}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> GPT2Tokenizer:
        """Rebuild a tokenizer from :meth:`to_json` output.

        Parameters
        ----------
        d : mapping
            ``{"kind": "gpt2-bpe", "vocab": [token, ...], "merges": [[a, b], ...]}``.

        Returns
        -------
        GPT2Tokenizer

        Raises
        ------
        ValueError
            If a key is missing or extra, or the vocabulary or merges are malformed.

        Examples
        --------
        >>> tok = GPT2Tokenizer(list(BYTE_TO_CHAR) + ["hi"], [("h", "i")])
        >>> GPT2Tokenizer.from_json(tok.to_json()).encode("hi")
        array([256])
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"tokenizer JSON must be a dict, got {type(d).__name__}")
        expected = {"kind", "vocab", "merges"}
        if set(d) != expected or d["kind"] != KIND:
            raise ValueError(f"{KIND} tokenizer JSON must have the keys {sorted(expected)} and "
                             f"kind {KIND!r}, got keys {sorted(d)}")
        if not isinstance(d["vocab"], list) or not isinstance(d["merges"], list):
            raise ValueError("tokenizer vocab and merges must be lists")
        try:
            return cls(d["vocab"], d["merges"])
        except TypeError as err:
            raise ValueError(f"bad {KIND} tokenizer: {err}") from err

    def __repr__(self) -> str:
        return f"GPT2Tokenizer(vocab_size={self.vocab_size}, merges={len(self._ranks)})"


def _vocab_list(vocab: Sequence[str] | Mapping[str, int]) -> list[str]:
    """The tokens in id order, from a list or a token -> id mapping."""
    if isinstance(vocab, Mapping):
        ids = list(vocab.values())
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise TypeError("vocabulary ids must be int")
        if sorted(ids) != list(range(len(ids))):
            raise ValueError(f"vocabulary ids must be exactly 0 .. {len(ids) - 1}, each once")
        tokens = [""] * len(ids)
        for token, i in vocab.items():
            tokens[i] = token
    elif isinstance(vocab, (str, bytes)) or not isinstance(vocab, Sequence):
        raise TypeError(f"vocab must be a list of tokens or a token -> id mapping, "
                        f"got {type(vocab).__name__}")
    else:
        tokens = list(vocab)
    if not all(isinstance(t, str) and t for t in tokens):
        raise TypeError("vocabulary tokens must be non-empty str")
    if len(set(tokens)) != len(tokens):
        raise ValueError("vocabulary tokens must be unique")
    return tokens
