"""BPE encoding speed: long words without spaces, by the fast merge and by the reference.

GPT-2's pre-tokenizer cuts text at spaces and punctuation, so ordinary text reaches the
merge step in short pieces; a prompt without spaces is one piece as long as the prompt.
``GPT2Tokenizer._merge`` merges a piece of n bytes in O(n log n); the reference
``GPT2Tokenizer._merge_reference`` rescans the piece once per merge it applies, up to
O(n^2). The input is random lowercase letters, the vocabulary a synthetic one
(:func:`synthetic_merges`) with a chosen number of merges. With ``--reference`` the
reference is timed too, taking turns with the fast merge, for inputs up to
``--reference-max`` characters, and the table says whether both gave the same ids.

Run ``python -m benchmarks.bpe_encode`` (``--help`` for the options).
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigpt.bpe import BYTE_TO_CHAR, GPT2Tokenizer, pretokenize

from ._common import base_parser, fmt, interleave, machine_info, markdown_table, write_report

SIZES = (10_000, 100_000, 1_000_000)  # characters of the input
MERGE_COUNTS = (3_000, 50_000)
REFERENCE_MAX = 30_000  # the reference is O(n^2): longer inputs take minutes
REPEATS = 3
SEED = 0
SMOKE_SIZES = (2_000,)
SMOKE_MERGE_COUNTS = (300,)
SMOKE_REPEATS = 1


def synthetic_merges(n_merges: int, alphabet: str = string.ascii_lowercase,
                     seed: int = SEED) -> list[tuple[str, str]]:
    """A merge list over ``alphabet`` built as training would build one: longer tokens later.

    Parameters
    ----------
    n_merges : int
        How many merges.
    alphabet : str
        Single characters, each one byte's token (ASCII letters by default).
    seed : int

    Returns
    -------
    list of (str, str)
        Level by level: every merge of a level joins a token of the level before and one
        letter, so its parts are always made by earlier merges. Level 1 joins two letters
        (all 676 for 26 letters), level 2 makes 3-letter tokens (17,576), level 3 4-letter
        ones (456,976), and so on; each level is a random sample, in random order, of the
        joins its previous level allows, complete until ``n_merges`` is reached.

    Examples
    --------
    >>> merges = synthetic_merges(30, alphabet="ab")
    >>> len(merges), sorted(merges[:4])
    (30, [('a', 'a'), ('a', 'b'), ('b', 'a'), ('b', 'b')])
    >>> len(set(merges)), max(len(a + b) for a, b in merges)
    (30, 5)
    """
    rng = random.Random(seed)
    merges: list[tuple[str, str]] = []
    level = list(alphabet)  # the tokens the next level extends
    while len(merges) < n_merges:
        n_joins = len(level) * len(alphabet)
        picks = rng.sample(range(n_joins), min(n_merges - len(merges), n_joins))
        joins = [(level[k // len(alphabet)], alphabet[k % len(alphabet)]) for k in picks]
        merges += joins
        level = [a + b for a, b in joins]
    return merges


def synthetic_tokenizer(n_merges: int, seed: int = SEED) -> GPT2Tokenizer:
    """A :class:`~minigpt.bpe.GPT2Tokenizer`: the 256 bytes and :func:`synthetic_merges`."""
    merges = synthetic_merges(n_merges, seed=seed)
    return GPT2Tokenizer(list(BYTE_TO_CHAR) + [a + b for a, b in merges], merges)


def unspaced_text(n_chars: int, seed: int = SEED) -> str:
    """``n_chars`` random lowercase letters: one piece for the pre-tokenizer.

    Examples
    --------
    >>> text = unspaced_text(50)
    >>> len(text), len(pretokenize(text))
    (50, 1)
    """
    return "".join(random.Random(seed).choices(string.ascii_lowercase, k=n_chars))


def reference_encode(tok: GPT2Tokenizer, text: str) -> np.ndarray:
    """``tok.encode(text)`` with the O(n^2) reference merge, as the tokenizer once did it."""
    ids = [i for piece in pretokenize(text) for i in tok._piece_ids_reference(piece)]
    return np.array(ids, dtype=np.int64)  # (T,)


def run(sizes: Sequence[int], merge_counts: Sequence[int], repeats: int,
        reference_max: int | None) -> list[dict[str, Any]]:
    """Time encoding each size of input with each vocabulary.

    Parameters
    ----------
    sizes : sequence of int
        Characters of input.
    merge_counts : sequence of int
        Merges of the vocabulary.
    repeats : int
        Timed encodings of each input (and of the reference, taking turns).
    reference_max : int or None
        Time the reference too for inputs up to this many characters; ``None``: never.

    Returns
    -------
    list of dict
        ``chars``, ``merges``, ``tokens``, ``s`` (median seconds), ``tokens_per_s``,
        ``reference_s`` (NaN when not timed), ``ratio`` (reference / fast) and
        ``same_ids`` (``"yes"``, ``"no"`` or ``"-"``).
    """
    rows = []
    for n_merges in merge_counts:
        tok = synthetic_tokenizer(n_merges)
        for n_chars in sizes:
            text = unspaced_text(n_chars)
            out: dict[str, np.ndarray] = {}
            fns = {"fast": lambda: out.__setitem__("fast", tok.encode(text))}
            if reference_max is not None and n_chars <= reference_max:
                fns["reference"] = lambda: out.__setitem__("reference",
                                                           reference_encode(tok, text))
            t = interleave(fns, repeats, warmup=0)
            s = float(np.median(t["fast"]))
            ref_s = float(np.median(t["reference"])) if "reference" in t else float("nan")
            same = ("-" if "reference" not in out
                    else "yes" if np.array_equal(out["fast"], out["reference"]) else "no")
            rows.append({"chars": n_chars, "merges": n_merges, "tokens": len(out["fast"]),
                         "s": s, "tokens_per_s": len(out["fast"]) / s, "reference_s": ref_s,
                         "ratio": ref_s / s, "same_ids": same})
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parse the options, run, print the table and write ``bpe_encode.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help=f"characters of input (default {' '.join(map(str, SIZES))})")
    parser.add_argument("--merges", type=int, nargs="+", default=list(MERGE_COUNTS),
                        help="merges of the synthetic vocabularies "
                             f"(default {' '.join(map(str, MERGE_COUNTS))})")
    parser.add_argument("--repeats", type=int, default=REPEATS,
                        help=f"timed encodings of each input (default {REPEATS})")
    parser.add_argument("--reference", action="store_true",
                        help="time the O(n^2) reference merge too, and compare the ids")
    parser.add_argument("--reference-max", type=int, default=REFERENCE_MAX,
                        help="the longest input the reference is timed on "
                             f"(default {REFERENCE_MAX})")
    args = parser.parse_args(argv)
    if args.smoke:
        sizes, merge_counts, repeats = SMOKE_SIZES, SMOKE_MERGE_COUNTS, SMOKE_REPEATS
        reference_max: int | None = max(SMOKE_SIZES)
    else:
        sizes, merge_counts, repeats = args.sizes, args.merges, args.repeats
        reference_max = args.reference_max if args.reference else None
    rows = run(sizes, merge_counts, repeats, reference_max)

    table = markdown_table(
        ["characters", "merges", "tokens", "s", "tokens/s", "reference s",
         "reference / fast", "same ids"],
        [[r["chars"], r["merges"], r["tokens"], fmt(r["s"], 3), fmt(r["tokens_per_s"], 0),
          fmt(r["reference_s"], 3), fmt(r["ratio"], 1), r["same_ids"]] for r in rows])
    blocks = [f"Encoding random lowercase letters without spaces (one piece) with synthetic "
              f"vocabularies; medians of {repeats} runs, the reference taking turns with the "
              "fast merge where it is timed. Pure Python, one thread: --threads and "
              "--no-torch do not apply.",
              "\n".join(f"- {line}" for line in machine_info()[:1]),
              table]
    print("\n\n".join(blocks[1:]))
    path = write_report(args.out, "bpe_encode", "BPE encoding of long words", blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
