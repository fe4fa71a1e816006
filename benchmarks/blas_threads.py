"""BLAS threads: one or two, on an idle machine and beside a busy process.

A training step of models of growing width and batch is timed with numpy's BLAS limited to
each thread count, the counts taking turns (A B A B ...), twice: on an otherwise idle
machine, and while another process keeps one core busy (a Python loop started by this
script, standing in for any other work). Each row gives the size of the step's largest
matrix product (the MLP up-projection of all tokens, in MFLOP), the median times, and which
count was faster. The result decides :mod:`minigpt.threads`: there is no size below which
one thread wins on an idle machine, and none above which two threads win on a busy one, so
minigpt keeps the BLAS default and lets the user choose.

Run ``python -m benchmarks.blas_threads`` (``--help`` for the options).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from minigpt import GPT, GPTConfig
from minigpt.allocator import keep_freed_memory
from minigpt.optim import AdamW

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


BUSY_LOOP = "while True: pass"  # the other process: one core, busy until stopped
CONDITIONS = ("idle", "busy")


@contextlib.contextmanager
def condition(name: str) -> Iterator[None]:
    """Run the block on an idle machine (``"idle"``: nothing started) or beside a process
    that keeps one core busy (``"busy"``), which is stopped when the block ends."""
    if name not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {name!r}")
    if name == "idle":
        yield
        return
    other = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    try:
        yield
    finally:
        other.kill()
        other.wait()


def run(widths: Sequence[int], token_counts: Sequence[int], thread_counts: Sequence[int],
        repeats: int, conditions: Sequence[str] = CONDITIONS) -> list[dict[str, Any]]:
    """Time a step per (condition, width, tokens) at every thread count; one dict per row.

    Each row has ``condition``, ``d_model``, ``tokens``, ``mflop`` (the up-projection's
    MFLOP), ``ms`` (thread label -> median ms) and ``fastest`` (the label of the fastest
    count).
    """
    rows = []
    for cond in conditions:
        with condition(cond):
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
                    rows.append({"condition": cond, "d_model": d, "tokens": tokens,
                                 "mflop": 2.0 * tokens * d * config.d_ff / MEGA, "ms": ms,
                                 "fastest": min(ms, key=ms.get)})
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parse the options, run, print the table and write ``blas_threads.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the minigpt command does; see minigpt.allocator
    widths, token_counts, repeats = ((SMOKE_WIDTHS, SMOKE_TOKENS, SMOKE_REPEATS) if args.smoke
                                     else (WIDTHS, TOKENS, REPEATS))
    rows = run(widths, token_counts, args.threads, repeats)
    labels = list(rows[0]["ms"])
    table = markdown_table(
        ["machine", "d_model", "tokens", "up-projection MFLOP",
         *(f"{k} thread ms" for k in labels), "faster"],
        [[r["condition"], r["d_model"], r["tokens"], fmt(r["mflop"], 1),
          *(fmt(r["ms"][k]) for k in labels), r["fastest"]] for r in rows])
    wins = {c: {k: sum(r["fastest"] == k for r in rows if r["condition"] == c) for k in labels}
            for c in CONDITIONS}
    summary = "; ".join(f"{c}: " + ", ".join(f"{k} thread(s) faster in {v}" for k, v in w.items())
                        for c, w in wins.items())
    blocks = [f"Training step (L{N_LAYER}, T{SEQ}, V{VOCAB}, heads of width 32, float32) at "
              f"each BLAS thread count, medians of {repeats} interleaved runs, on the idle "
              f"machine and beside one busy process. {summary} of {len(rows) // 2} shapes.",
              "\n".join(f"- {line}" for line in machine_info()),
              table]
    print("\n\n".join(blocks[1:]))
    path = write_report(args.out, "blas_threads", "BLAS threads: one or two", blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
