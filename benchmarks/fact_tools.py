"""The fact tools on a GPT-2-small-shaped model: how long a causal trace (and the rest) takes.

A random model of GPT-2 small's shape (12 layers, d_model 768, 12 heads, vocabulary 50,257)
is written as a Hugging Face folder with :func:`minigpt.hf.save_hf_gpt2`, beside a GPT-2
BPE tokenizer trained here on the capitals file (:func:`minigpt.bpe.train_bpe`), and read
back with :func:`minigpt.hf.load_hf_gpt2`, as a user's download of ``gpt2`` would be. Each
tool then runs once on one fact whose prompt is :data:`PROMPT_TOKENS` tokens long, and the
table gives its wall time. The target: a causal trace (residual, MLP and attention, 10
noise samples) in under :data:`TRACE_TARGET_S` seconds on 2 threads.

The weights are random, so the numbers measured are times, not findings. ``STEPS`` lists
what is timed, including a ROME edit of the fact (:func:`minigpt.facts.rome_edit`, at a
given layer: choosing it by tracing is the trace's time again). MEMIT is not timed: it
costs one ROME value optimization per fact, so ten facts take about ten ROME edits.

Run ``python -m benchmarks.fact_tools`` (``--help`` for the options).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from minigpt import GPT, GPTConfig
from minigpt.allocator import keep_freed_memory
from minigpt.bpe import train_bpe
from minigpt.data import FactPrompt, load_capitals
from minigpt.hf import load_hf_gpt2, save_hf_gpt2
from minigpt.facts import rome_edit
from minigpt.interp import causal_trace, encode_fact, logit_lens, neuron_effects, score_facts

from ._common import (base_parser, fmt, machine_info, markdown_table, thread_label, threads,
                      write_report)

GPT2_SMALL = GPTConfig(vocab_size=50257, n_ctx=1024, n_layer=12, n_head=12, d_model=768)
SMOKE_CONFIG = GPTConfig(vocab_size=512, n_ctx=32, n_layer=2, n_head=2, d_model=16)
BPE_MERGES = 200  # merges learned from the capitals file: common words become one token
SMOKE_BPE_MERGES = 50
FACT = FactPrompt("The capital city of South Korea is", "South Korea", "Seoul")
PROMPT_TOKENS = 10  # FACT's prompt under the tokenizer trained with BPE_MERGES
N_SAMPLES = 10  # noise samples of the trace, as in ROME
SMOKE_SAMPLES = 2
TRACE_TARGET_S = 120.0
TARGET_THREADS = 2
NEW_ANSWER = "Tokyo"  # what the ROME step makes the model say
EDIT_DEPTH = 3  # the ROME step edits layer n_layer // EDIT_DEPTH


def bpe_tokenizer(n_merges: int) -> Any:
    """A GPT-2 BPE tokenizer trained on the capitals, their paraphrases and answers."""
    text = "".join(f"{p} {f.answer}.\n" for f in load_capitals()
                   for p in (f.prompt, *f.paraphrases))
    return train_bpe(text, n_merges)


def recall(ctx: dict[str, Any]) -> str:
    """Score the fact's answer (teacher-forced, every answer token)."""
    return f"p(answer) {score_facts(ctx['model'], ctx['tokenizer'], [FACT]).p[0]:.2e}"


def trace(ctx: dict[str, Any]) -> str:
    """The causal trace: every layer and position from the subject on, three kinds."""
    result = causal_trace(ctx["model"], ctx["tokenizer"], [FACT], n_samples=ctx["samples"])
    restores = (len(result.tokens[0]) - result.spans[0][0]) * result.n_layer
    return (f"{restores} (layer, position) restores, the 3 kinds in one batch each, "
            f"{ctx['samples']} noise samples")


def trace_every_position(ctx: dict[str, Any]) -> str:
    """The worst case for the prompt's length: a subject that starts at the first token,
    so that no position can be skipped."""
    whole = FactPrompt(FACT.prompt, FACT.prompt.removesuffix(" is"), FACT.answer)
    result = causal_trace(ctx["model"], ctx["tokenizer"], [whole], n_samples=ctx["samples"])
    restores = len(result.tokens[0]) * result.n_layer
    return f"subject {whole.subject!r}: {restores} restores, every position"


def rome(ctx: dict[str, Any]) -> str:
    """A ROME edit of the fact (to another capital) at a third of the depth, the key
    covariance read from 8,192 tokens of the embedded text; the model is restored after."""
    model = ctx["model"]
    layer = model.config.n_layer // EDIT_DEPTH
    name = f"blocks.{layer}.mlp.w_down"
    old = model.params[name].copy()
    try:
        out = rome_edit(model, ctx["tokenizer"], FACT, NEW_ANSWER, layer)
    finally:
        model.params[name][...] = old
    return (f"layer {layer}: p({NEW_ANSWER}) {out.before['p_new']:.1e} -> "
            f"{out.after['p_new']:.2g}, p({FACT.answer}) {out.after['p_old']:.1e}")


def lens(ctx: dict[str, Any]) -> str:
    """The logit lens at the last prompt token."""
    result = logit_lens(ctx["model"], ctx["tokenizer"], [FACT])
    return f"{len(result.points)} points decoded"


def neurons(ctx: dict[str, Any]) -> str:
    """Every MLP neuron's direct effect on the answer's logit."""
    result = neuron_effects(ctx["model"], ctx["tokenizer"], [FACT])
    return f"{result.effects.size:,} neurons"


STEPS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("recall (score_facts)", recall),
    ("causal trace", trace),
    ("causal trace, subject from token 0", trace_every_position),
    ("ROME edit (layer given)", rome),
    ("logit lens", lens),
    ("neuron effects", neurons),
]  # (name, step): each step takes the context (model, tokenizer, samples) and returns a note


def run(config: GPTConfig, n_merges: int, samples: int, thread_counts: Sequence[int]
        ) -> list[dict[str, Any]]:
    """Build the folder, load it, and time every step of :data:`STEPS` at each thread count.

    Returns
    -------
    list of dict
        ``step``, ``threads``, ``seconds``, ``note``.
    """
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="fact_tools_"))
    try:
        t0 = time.perf_counter()
        tokenizer = bpe_tokenizer(n_merges)
        rows.append({"step": "train the BPE tokenizer", "threads": "-",
                     "seconds": time.perf_counter() - t0,
                     "note": f"{tokenizer.vocab_size} tokens"})
        t0 = time.perf_counter()
        save_hf_gpt2(folder, GPT(config, seed=0), tokenizer)
        rows.append({"step": "save_hf_gpt2", "threads": "-", "seconds": time.perf_counter() - t0,
                     "note": f"{sum(p.stat().st_size for p in folder.iterdir()) / 2**20:.0f} MiB"})
        t0 = time.perf_counter()
        model, tokenizer = load_hf_gpt2(folder)
        rows.append({"step": "load_hf_gpt2", "threads": "-", "seconds": time.perf_counter() - t0,
                     "note": f"{model.n_params:,} parameters"})
        encode_fact(tokenizer, FACT, model)  # fits the model, or a clear error before timing
        ctx = {"model": model, "tokenizer": tokenizer, "samples": samples}
        for n in thread_counts:
            with threads(n):
                for name, step in STEPS:
                    t0 = time.perf_counter()
                    note = step(ctx)
                    rows.append({"step": name, "threads": thread_label(n),
                                 "seconds": time.perf_counter() - t0, "note": note})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parse the options, run, print the table and write ``fact_tools.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.set_defaults(threads=[TARGET_THREADS])
    parser.add_argument("--samples", type=int, default=N_SAMPLES, help="noise samples")
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the minigpt command does; see minigpt.allocator
    config = SMOKE_CONFIG if args.smoke else GPT2_SMALL
    n_merges = SMOKE_BPE_MERGES if args.smoke else BPE_MERGES
    samples = SMOKE_SAMPLES if args.smoke else args.samples
    rows = run(config, n_merges, samples, args.threads)
    T = len(bpe_tokenizer(n_merges).encode(FACT.prompt))
    c = config
    table = markdown_table(["step", "threads", "seconds", "note"],
                           [[r["step"], r["threads"], fmt(r["seconds"], 1), r["note"]]
                            for r in rows])
    traced = [r for r in rows if r["step"] == "causal trace"]
    verdict = ", ".join(f"{fmt(r['seconds'], 1)} s on {r['threads']} threads" for r in traced)
    blocks = [f"One fact, {FACT.prompt!r} -> {FACT.answer!r} ({T} prompt tokens, subject "
              f"{FACT.subject!r}), on a random model L{c.n_layer} d{c.d_model} h{c.n_head} "
              f"V{c.vocab_size} saved and loaded as a Hugging Face folder; float32; one run "
              f"per step. Causal trace target: < {TRACE_TARGET_S:.0f} s on "
              f"{TARGET_THREADS} threads; measured {verdict}.",
              "\n".join(f"- {line}" for line in machine_info()),
              table]
    print("\n\n".join(blocks))
    path = write_report(args.out, "fact_tools", "Fact tools on a GPT-2-small-shaped model",
                        blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
