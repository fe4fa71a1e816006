"""``minigpt demo``: train the tiny GPT-3 on athletes' sports, then ask it every fact."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from .common import _check_writable


def _cmd_demo(args: argparse.Namespace) -> int:
    from ..data import TEMPLATES, prompt
    from ..facts import fact_recall, train_facts_model

    if args.out is not None:
        _check_writable(args.out, "--out")
    t0 = time.perf_counter()
    model, tokenizer, result = train_facts_model(steps=args.steps, seed=args.seed, out=args.out,
                                                 progress=not args.no_progress)
    train_seconds = time.perf_counter() - t0
    recalls = [fact_recall(model, tokenizer, template=k) for k in range(len(TEMPLATES))]
    examples = ["Michael Jordan", "Serena Williams", "Lionel Messi", "Tiger Woods"]
    completions = []
    for name in examples:
        ids = model.generate(tokenizer.encode(prompt(name)), max_new_tokens=2, temperature=0)
        completions.append(tokenizer.decode(ids))
    report = {
        "steps": result.step, "train_seconds": train_seconds,
        "total_seconds": time.perf_counter() - t0,
        "loss_first": result.losses[0], "loss_last": result.losses[-1],
        "n_params": model.n_params, "config": model.config.to_dict(),
        "recall": {TEMPLATES[k]: r.accuracy for k, r in enumerate(recalls)},
        "n_facts": recalls[0].n, "completions": completions,
        "checkpoint": None if args.out is None else str(args.out),
    }
    if args.json:
        print(json.dumps(report))
        return 0
    cfg = model.config
    print(f"Trained a {model.n_params:,}-parameter GPT ({cfg.n_layer} layers, d_model "
          f"{cfg.d_model}, {cfg.n_head} heads, {cfg.attention} attention, {cfg.activation}) "
          f"for {result.step} steps in {train_seconds:.1f} s; loss {result.losses[0]:.2f} -> "
          f"{result.losses[-1]:.3f}.")
    print(f"\nRecall of {recalls[0].n} facts (greedy next token after the prompt):")
    for k, r in enumerate(recalls):
        shown = TEMPLATES[k].replace(" {sport}.", "").replace("{name}", "First Last")
        print(f"  {r.accuracy:7.1%}  {shown} ...")
        for fact, said in r.wrong[:3]:
            print(f"           wrong: {fact.name} -> {said!r} (true: {fact.sport})")
    print("\nCompletions:")
    for text in completions:
        print(f"  {text}")
    if args.out:
        print(f"\nCheckpoint: {args.out}")
    return 0


def add_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``minigpt demo`` and its flags; ``command(name, **kwargs)`` makes its parser."""
    p = command("demo", help="train a tiny GPT-3 on athletes' sports and test its recall",
                description="Train a small GPT-3-shaped model (alternating dense and banded "
                            "attention, GELU) from scratch on the embedded facts corpus, then "
                            "ask it every fact. Ctrl-C stops it; with --out it saves first and "
                            "prints how to resume with 'minigpt train'.")
    p.add_argument("--steps", type=int, default=None,
                   help="optimizer steps, at least 1 (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and batches")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="save the trained model to this checkpoint file (default: not saved)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_demo)
