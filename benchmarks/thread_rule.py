"""BLAS threads: where one thread beats two, and whether minigpt's thread rule picks the faster.

A training step of models of growing width and batch is timed with numpy's BLAS limited to
each thread count, the counts taking turns (A B A B ...). Each row gives the size of the
step's largest matrix product (the MLP up-projection of all tokens, in MFLOP), the median
times, and the count :func:`minigpt.threads.training_blas_threads` chooses: one thread
below ``SINGLE_THREAD_MAX_FLOPS``, the BLAS default above. The last column says whether
that choice was the faster one in this run.

Run ``python -m benchmarks.thread_rule`` (``--help`` for the options).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigpt import GPT, GPTConfig
from minigpt.optim import AdamW
from minigpt.threads import SINGLE_THREAD_MAX_FLOPS, training_blas_threads

from ._common import (
    LEARNING_RATE,
    MS_PER_S,
    base_parser,
    fmt,
    interleave,
    machine_info,
    markdown_table,
    thread_label,
    threads,
    write_report,
)

SEQ = 32  # T of every batch
N_LAYER = 2
VOCAB = 256
WIDTHS = (32, 64, 128, 256)  # d_model; heads of width 32 (at least one)
TOKENS = (256, 1024, 4096)  # B * T
REPEATS = 5
SMOKE_WIDTHS, SMOKE_TOKENS, SMOKE_REPEATS = (16,), (64,), 1
MEGA = 1e6


def step_fn(d_model: int, tokens: int) -> tuple[Any, GPTConfig]:
    """A training step (loss, gradients, AdamW) of an L2 model of width ``d_model`` on a
    batch of ``tokens`` tokens (B = tokens / 32), and the model's config."""
    config = GPTConfig(vocab_size=VOCAB, n_ctx=SEQ, n_layer=N_LAYER,
                       n_head=max(1, d_model // 32), d_model=d_model)
    model = GPT(config, seed=0, dtype=np.float32)
    opt = AdamW(model.params, lr=LEARNING_RATE)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, VOCAB, size=(tokens // SEQ, SEQ))
    targets = rng.integers(0, VOCAB, size=idx.shape)

    def step() -> None:
        _, grads = model.loss_and_grads(idx, targets)
        opt.step(grads)

    return step, config


def run(widths: Sequence[int], token_counts: Sequence[int], thread_counts: Sequence[int],
        repeats: int) -> list[dict[str, Any]]:
    """Time a step per (width, tokens) at every thread count; one dict per row.

    Each row has ``d_model``, ``tokens``, ``mflop`` (the up-projection's MFLOP), ``ms``
    (thread label -> median ms), ``fastest`` (label of the fastest count), ``rule`` (the
    label the thread rule picks) and ``rule_ok`` (whether it picked the fastest).
    """
    rows = []
    for d in widths:
        for tokens in token_counts:
            step, config = step_fn(d, tokens)

            def at(n: int) -> Any:
                def timed() -> None:
                    with threads(n):
                        step()
                return timed

            t = interleave({thread_label(n): at(n) for n in thread_counts}, repeats)
            ms = {label: float(np.median(s)) * MS_PER_S for label, s in t.items()}
            fastest = min(ms, key=ms.get)
            chosen = training_blas_threads(config, tokens)
            rule = thread_label(chosen) if chosen is not None else thread_label(max(thread_counts))
            rows.append({"d_model": d, "tokens": tokens,
                         "mflop": 2.0 * tokens * d * config.d_ff / MEGA, "ms": ms,
                         "fastest": fastest, "rule": rule,
                         "rule_ok": rule == fastest or rule not in ms})
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parse the options, run, print the table and write ``thread_rule.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    widths, token_counts, repeats = ((SMOKE_WIDTHS, SMOKE_TOKENS, SMOKE_REPEATS) if args.smoke
                                     else (WIDTHS, TOKENS, REPEATS))
    rows = run(widths, token_counts, args.threads, repeats)
    labels = list(rows[0]["ms"])
    table = markdown_table(
        ["d_model", "tokens", "up-projection MFLOP", *(f"{k} thread ms" for k in labels),
         "fastest", "rule picks", "rule right"],
        [[r["d_model"], r["tokens"], fmt(r["mflop"], 1), *(fmt(r["ms"][k]) for k in labels),
          r["fastest"], r["rule"], "yes" if r["rule_ok"] else "no"] for r in rows])
    right = sum(r["rule_ok"] for r in rows)
    blocks = [f"Training step (L{N_LAYER}, T{SEQ}, V{VOCAB}, heads of width 32, float32) at "
              f"each BLAS thread count, medians of {repeats} interleaved runs. The rule: one "
              f"thread when the up-projection is below {SINGLE_THREAD_MAX_FLOPS / MEGA:.0f} "
              f"MFLOP, else the largest count. It picked the faster count in {right} of "
              f"{len(rows)} rows.",
              "\n".join(f"- {line}" for line in machine_info()),
              table]
    print("\n\n".join(blocks[1:]))
    path = write_report(args.out, "thread_rule", "BLAS threads: one or two", blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
