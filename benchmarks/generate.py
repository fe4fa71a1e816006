"""Generation speed: the KV cache against recomputing the whole prefix for every new token.

``GPT.generate`` runs the prompt once and then feeds one token at a time, each attending over
the keys and values cached so far. The baseline runs ``GPT.forward`` on the entire sequence
for every new token and keeps only the last position's logits: the same tokens, quadratic
work. Both decode greedily, so they must produce the same tokens; the table says whether
they did.

The model is the ``small`` shape (L4 d128 h4, V256) with a context long enough for the
prompt and all new tokens, so that no sliding window is involved.

Run ``python -m benchmarks.generate`` (``--help`` for the options).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigpt import GPT
from minigpt.allocator import keep_freed_memory

from ._common import (
    MS_PER_S,
    SHAPES,
    SMOKE,
    base_parser,
    fmt,
    interleave,
    machine_info,
    markdown_table,
    thread_label,
    threads,
    write_report,
)

PROMPT_TOKENS = 16
NEW_TOKENS = 256
REPEATS = 3
SMOKE_NEW_TOKENS = 8
SMOKE_REPEATS = 1


def recompute_generate(model: GPT, prompt: np.ndarray, max_new_tokens: int) -> np.ndarray:
    """Greedy decoding without a cache: a full forward pass over the sequence per new token.

    Parameters
    ----------
    model : GPT
    prompt : ndarray of int, shape (B, T0)
    max_new_tokens : int

    Returns
    -------
    ndarray of int64, shape (B, T0 + max_new_tokens)
    """
    out = np.empty((prompt.shape[0], prompt.shape[1] + max_new_tokens), dtype=np.int64)
    out[:, :prompt.shape[1]] = prompt
    for n in range(prompt.shape[1], out.shape[1]):
        logits = model.forward(out[:, :n])  # (B, n, V): every position, every time
        out[:, n] = logits[:, -1].argmax(axis=-1)
    return out


def run(model: GPT, prompt: np.ndarray, new_tokens: int, thread_counts: Sequence[int],
        repeats: int) -> list[dict[str, Any]]:
    """Time both ways of generating ``new_tokens`` after ``prompt`` at each thread count.

    Returns
    -------
    list of dict
        ``threads``, ``cached_s`` and ``recompute_s`` (median seconds), ``cached_tps`` and
        ``recompute_tps`` (new tokens per second), ``speedup``, ``same_tokens``.
    """
    rows = []
    for n in thread_counts:
        with threads(n):
            result = {}

            def cached() -> None:
                result["cached"] = model.generate(prompt, new_tokens, temperature=0)

            def recompute() -> None:
                result["recompute"] = recompute_generate(model, prompt, new_tokens)

            t = interleave({"cached": cached, "recompute": recompute}, repeats, warmup=0)
        c, r = float(np.median(t["cached"])), float(np.median(t["recompute"]))
        same = int((result["cached"] == result["recompute"]).all(axis=0).sum()) - prompt.shape[1]
        rows.append({"threads": thread_label(n), "cached_s": c, "recompute_s": r,
                     "cached_tps": new_tokens / c, "recompute_tps": new_tokens / r,
                     "speedup": r / c, "same_tokens": f"{same} / {new_tokens}"})
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parse the options, run, print the table and write ``generate.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--new-tokens", type=int, default=NEW_TOKENS)
    parser.add_argument("--prompt-tokens", type=int, default=PROMPT_TOKENS)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the minigpt command does; see minigpt.allocator
    shape = SMOKE if args.smoke else SHAPES["small"]
    new_tokens = SMOKE_NEW_TOKENS if args.smoke else args.new_tokens
    n_ctx = args.prompt_tokens + new_tokens
    config = dataclasses.replace(shape.config, n_ctx=n_ctx)
    model = GPT(config, seed=0, dtype=np.float32)
    prompt = np.random.default_rng(0).integers(0, config.vocab_size,
                                               size=(args.batch, args.prompt_tokens))
    repeats = SMOKE_REPEATS if args.smoke else REPEATS
    rows = run(model, prompt, new_tokens, args.threads, repeats)

    c = config
    table = markdown_table(
        ["threads", "KV cache ms", "recompute ms", "KV cache tok/s", "recompute tok/s",
         "speedup", "same tokens"],
        [[r["threads"], fmt(r["cached_s"] * MS_PER_S, 1), fmt(r["recompute_s"] * MS_PER_S, 1),
          fmt(r["cached_tps"], 0), fmt(r["recompute_tps"], 0), fmt(r["speedup"], 1),
          r["same_tokens"]] for r in rows])
    blocks = [f"Greedy decoding of {new_tokens} new tokens after a {args.prompt_tokens}-token "
              f"prompt, batch {args.batch}; model L{c.n_layer} d{c.d_model} h{c.n_head} "
              f"V{c.vocab_size}, n_ctx {c.n_ctx}; float32; medians of {repeats} runs "
              "(the two ways interleaved).",
              "\n".join(f"- {line}" for line in machine_info()),
              table]
    print("\n\n".join(blocks[1:]))
    path = write_report(args.out, "generate", "Generation: KV cache vs recomputing the prefix",
                        blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
