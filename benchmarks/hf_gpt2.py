"""Real use: a GPT-2-small-shaped model in minigpt and in Hugging Face ``transformers``.

One folder, written by :func:`minigpt.hf.save_hf_gpt2` from a randomly initialised model of
GPT-2 small's shape (12 layers, d_model 768, 12 heads, vocabulary 50,257, context 1,024:
124 million parameters), is loaded by both libraries: :func:`minigpt.hf.load_hf_gpt2` and
``transformers.GPT2LMHeadModel.from_pretrained``. Two tasks are timed:

* ``generate``: greedy decoding of 128 new tokens after a 32-token prompt, batch 1, with a
  key/value cache in both (``GPT.generate(temperature=0)`` against ``model.generate(
  do_sample=False)``); the table says whether both produced the same tokens.
* ``prefill``: one forward pass over a (1, 1024) batch, logits at every position (inference:
  ``GPT.forward`` against ``torch.no_grad()``).

Decoding one token reads every weight once, so it is bound by memory bandwidth, not by
arithmetic. ``bandwidth`` measures how fast numpy streams the model's own weight matrices
through matrix-vector products (bytes read / seconds); the weights divided by that rate is
the shortest time a token can take, and tokens/s over that limit is the share of the bound a
decoder reaches.

Each library runs in processes of its own that take turns (see :mod:`benchmarks.train_step`
for why). Run ``python -m benchmarks.hf_gpt2`` (``--help`` for the options); it needs the
``crosscheck`` extra for the transformers column and times minigpt alone without it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from minigpt import GPT, GPTConfig
from minigpt.allocator import keep_freed_memory
from minigpt.hf import load_hf_gpt2, save_hf_gpt2

from ._common import (
    GIGA,
    MS_PER_S,
    base_parser,
    fmt,
    import_torch,
    machine_info,
    markdown_table,
    run_worker,
    thread_label,
    threads,
    write_report,
)

GPT2_SMALL = GPTConfig(vocab_size=50_257, n_ctx=1_024, n_layer=12, n_head=12, d_model=768)
SMOKE_CONFIG = GPTConfig(vocab_size=512, n_ctx=64, n_layer=2, n_head=2, d_model=32)
PROMPT_TOKENS = 32
NEW_TOKENS = 128
PREFILL_TOKENS = 1_024
REPEATS = {"generate": 3, "prefill": 5, "bandwidth": 10}  # timed calls per worker process
ROUNDS = 2  # worker processes per library and task, taking turns
SMOKE_NEW_TOKENS, SMOKE_PREFILL = 4, 16
TASKS = ("generate", "prefill")
LIBRARIES = ("minigpt", "transformers")


def weight_bytes(model: GPT) -> int:
    """Bytes one decoded token reads: every parameter once, but one row of ``pos_emb``.

    The token table is read twice per token in principle (one row looked up, all of it for
    the tied unembedding); the lookup is one row, so the table counts once.
    """
    pos = model.params["pos_emb"]
    return sum(p.nbytes for p in model.params.values()) - pos.nbytes + pos[0].nbytes


def stream_weights(model: GPT) -> float:
    """Seconds to multiply one vector by every weight matrix of the model (one GEMV each).

    The matrices are the ones a decoding step multiplies by: each block's ``w_qkv``,
    ``w_out``, ``w_up``, ``w_down`` and the unembedding ``tok_emb``.
    """
    mats = [w for name, w in model.params.items()
            if name.endswith((".w_qkv", ".w_out", ".w_up", ".w_down")) or name == "tok_emb"]
    vectors = {w.shape[1]: np.ones((1, w.shape[1]), dtype=w.dtype) for w in mats}
    t0 = time.perf_counter()
    for w in mats:
        vectors[w.shape[1]] @ w.T  # (1, d_in) @ (d_in, d_out): every weight read once
    return time.perf_counter() - t0


def _prompt(config: GPTConfig, tokens: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, config.vocab_size, size=(1, tokens))


def _minigpt_task(folder: str, task: str, new_tokens: int, prefill: int,
                  repeats: int) -> dict[str, Any]:
    model, _ = load_hf_gpt2(folder)
    out: dict[str, Any] = {"weight_bytes": weight_bytes(model)}
    if task == "generate":
        prompt = _prompt(model.config, PROMPT_TOKENS)
        model.generate(prompt, 2, temperature=0)  # warm up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            ids = model.generate(prompt, new_tokens, temperature=0)
            times.append(time.perf_counter() - t0)
        out["tokens"] = ids[0, PROMPT_TOKENS:].tolist()
    elif task == "prefill":
        idx = _prompt(model.config, prefill)
        model.forward(idx)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.forward(idx)
            times.append(time.perf_counter() - t0)
    else:  # bandwidth
        stream_weights(model)
        times = [stream_weights(model) for _ in range(repeats)]
    out["seconds"] = times
    return out


def _transformers_task(folder: str, task: str, new_tokens: int, prefill: int,
                       repeats: int) -> dict[str, Any]:
    torch = import_torch()
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32).eval()
    out: dict[str, Any] = {}
    times = []
    with torch.no_grad():
        if task == "generate":
            prompt = torch.from_numpy(_prompt(model.config, PROMPT_TOKENS))
            mask = torch.ones_like(prompt)
            kwargs = dict(attention_mask=mask, do_sample=False, use_cache=True,
                          max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                          pad_token_id=0, eos_token_id=None)
            model.generate(prompt, **{**kwargs, "max_new_tokens": 2, "min_new_tokens": 2})
            for _ in range(repeats):
                t0 = time.perf_counter()
                ids = model.generate(prompt, **kwargs)
                times.append(time.perf_counter() - t0)
            out["tokens"] = ids[0, PROMPT_TOKENS:].tolist()
        else:
            idx = torch.from_numpy(_prompt(model.config, prefill))
            model(idx)
            for _ in range(repeats):
                t0 = time.perf_counter()
                model(idx)
                times.append(time.perf_counter() - t0)
    out["seconds"] = times
    return out


def worker(args: argparse.Namespace) -> None:
    """One library, one task, in this process: print the timings as JSON."""
    keep_freed_memory()
    torch = import_torch() if args.worker == "transformers" else None
    with threads(args.threads[0], torch):
        run = _minigpt_task if args.worker == "minigpt" else _transformers_task
        result = run(args.folder, args.task, args.new_tokens, args.prefill, args.repeats)
    print(json.dumps(result))


def _have_transformers() -> bool:
    try:
        import transformers  # noqa: F401
    except ImportError:
        return False
    return import_torch() is not None


def measure(folder: str, n_threads: int, smoke: bool, use_transformers: bool
            ) -> dict[str, Any]:
    """Every task and library at one thread count, each in processes taking turns."""
    new_tokens = SMOKE_NEW_TOKENS if smoke else NEW_TOKENS
    prefill = SMOKE_PREFILL if smoke else PREFILL_TOKENS
    libs = LIBRARIES if use_transformers else LIBRARIES[:1]
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    plan = [(t, lib) for t in TASKS for lib in libs] + [("bandwidth", "minigpt")]
    for _ in range(1 if smoke else ROUNDS):
        for task, lib in plan:
            repeats = 1 if smoke else REPEATS[task]
            runs.setdefault((task, lib), []).append(run_worker(
                "hf_gpt2", lib, "--task", task, "--folder", folder, "--threads",
                str(n_threads), "--new-tokens", str(new_tokens), "--prefill", str(prefill),
                "--repeats", str(repeats)))
    med = {key: float(np.median([s for r in rs for s in r["seconds"]]))
           for key, rs in runs.items()}
    result: dict[str, Any] = {"threads": thread_label(n_threads), "new_tokens": new_tokens,
                              "prefill_tokens": prefill}
    wbytes = runs["bandwidth", "minigpt"][0]["weight_bytes"]
    gbps = wbytes / med["bandwidth", "minigpt"] / GIGA
    result["weight_mb"] = wbytes / 2**20
    result["bandwidth_gbps"] = gbps
    result["limit_tps"] = gbps * GIGA / wbytes
    for lib in libs:
        result[f"{lib}_gen_tps"] = new_tokens / med["generate", lib]
        result[f"{lib}_prefill_ms"] = med["prefill", lib] * MS_PER_S
    result["minigpt_share_of_limit"] = result["minigpt_gen_tps"] / result["limit_tps"]
    if use_transformers:
        a = runs["generate", "minigpt"][0]["tokens"]
        b = runs["generate", "transformers"][0]["tokens"]
        result["same_tokens"] = f"{sum(x == y for x, y in zip(a, b))} / {len(a)}"
        result["gen_speedup"] = result["minigpt_gen_tps"] / result["transformers_gen_tps"]
        result["prefill_ratio"] = (result["minigpt_prefill_ms"]
                                   / result["transformers_prefill_ms"])
    return result


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parse the options, run, print the tables and write ``hf_gpt2.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--task", choices=TASKS + ("bandwidth",), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--new-tokens", type=int, default=NEW_TOKENS, help=argparse.SUPPRESS)
    parser.add_argument("--prefill", type=int, default=PREFILL_TOKENS, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=1, help=argparse.SUPPRESS)
    parser.set_defaults(threads=[2])
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return []
    use_transformers = not args.no_torch and _have_transformers()
    config = SMOKE_CONFIG if args.smoke else GPT2_SMALL
    with tempfile.TemporaryDirectory() as folder:
        save_hf_gpt2(folder, GPT(config, seed=0))
        rows = [measure(folder, n, args.smoke, use_transformers) for n in args.threads]

    c = config
    gen_headers = ["threads", "minigpt tok/s", "transformers tok/s", "minigpt / transformers",
                   "same tokens", "weights MB", "GEMV GB/s", "limit tok/s",
                   "minigpt / limit"]
    gen = [[r["threads"], fmt(r["minigpt_gen_tps"], 1),
            fmt(r.get("transformers_gen_tps", float("nan")), 1),
            fmt(r.get("gen_speedup", float("nan"))), r.get("same_tokens", "-"),
            fmt(r["weight_mb"], 0), fmt(r["bandwidth_gbps"], 1), fmt(r["limit_tps"], 1),
            fmt(r["minigpt_share_of_limit"])] for r in rows]
    pre_headers = ["threads", "tokens", "minigpt ms", "transformers ms",
                   "minigpt / transformers"]
    pre = [[r["threads"], r["prefill_tokens"], fmt(r["minigpt_prefill_ms"], 1),
            fmt(r.get("transformers_prefill_ms", float("nan")), 1),
            fmt(r.get("prefill_ratio", float("nan")))] for r in rows]
    rounds = 1 if args.smoke else ROUNDS
    blocks = [f"Model: L{c.n_layer} d{c.d_model} h{c.n_head} V{c.vocab_size:,} n_ctx "
              f"{c.n_ctx:,}, random weights, float32, one Hugging Face folder loaded by both "
              f"libraries. Medians over {rounds} process(es) per library and task, taking "
              "turns.",
              "\n".join(f"- {line}" for line in machine_info(import_torch(use_transformers))),
              f"Greedy generation, {PROMPT_TOKENS}-token prompt, batch 1 (tokens/s of new "
              "tokens; the limit is GEMV bandwidth / weight bytes):",
              markdown_table(gen_headers, gen),
              "Prefill: one forward pass, batch 1, logits at every position:",
              markdown_table(pre_headers, pre)]
    print("\n\n".join(blocks[1:]))
    path = write_report(args.out, "hf_gpt2", "GPT-2 small: generation and prefill against "
                        "transformers", blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
