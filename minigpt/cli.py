"""The ``minigpt`` command (also ``python -m minigpt``).

Each subcommand is a thin layer over a library function: parse the arguments, call it, print.
Errors a user can cause end in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .allocator import keep_freed_memory
from .atomic import save_png
from .config import GPT3_TABLE, GPTConfig, count_params, gpt3_config
from .interp.tables import jsonable
from .threads import blas_threads


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


# ---------------------------------------------------------------------- params


def gpt3_param_table() -> list[dict[str, Any]]:
    """One row per GPT-3 model of Table 2.1: its shape and parameters, counted exactly.

    Returns
    -------
    list of dict
        Keys ``name, n_layer, d_model, n_head, d_head, n_params, paper_n_params,
        diff_percent, mlp_params, mlp_share``. ``n_params`` is :func:`count_params` of
        :func:`gpt3_config`; ``mlp_params`` counts the up- and down-projections with their
        biases; ``diff_percent`` is ``100 (n_params / paper - 1)``.

    Examples
    --------
    >>> row = gpt3_param_table()[-1]
    >>> row["name"], round(row["mlp_params"] / 1e9, 2), round(row["mlp_share"], 3)
    ('175B', 115.97, 0.664)
    """
    rows = []
    for name, (_, _, _, paper) in GPT3_TABLE.items():
        cfg = gpt3_config(name)
        groups = count_params(cfg, by="group")
        total = sum(groups.values())
        rows.append({
            "name": name, "n_layer": cfg.n_layer, "d_model": cfg.d_model,
            "n_head": cfg.n_head, "d_head": cfg.d_head, "n_params": total,
            "paper_n_params": int(paper), "diff_percent": 100 * (total / paper - 1),
            "mlp_params": groups["mlp"], "mlp_share": groups["mlp"] / total,
        })
    return rows


def _human(n: float) -> str:
    """125_239_296 -> '125.2M'."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(int(n))


def format_param_table(rows: list[dict[str, Any]]) -> str:
    """Render :func:`gpt3_param_table` rows as a fixed-width text table, 83 characters wide.

    The head width is left out (it is ``d_model / heads``); ``--json`` gives every field.
    """
    header = (f"{'model':<6} {'layers':>6} {'d_model':>7} {'heads':>5} {'parameters':>15} "
              f"{'paper':>6} {'diff':>6} {'MLP params':>15} {'MLP share':>9}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['name']:<6} {r['n_layer']:>6} {r['d_model']:>7} {r['n_head']:>5} "
            f"{r['n_params']:>15,} {_human(r['paper_n_params']):>6} {r['diff_percent']:>+5.1f}% "
            f"{r['mlp_params']:>15,} {r['mlp_share']:>9.1%}"
        )
    lines.append("")
    lines.append("Exact counts, with the tied token embedding (V=50,257), the learned positions")
    lines.append("(2,048), biases and LayerNorms. XL: 16 heads of 128; 13B: d_model 5,120")
    lines.append("(see gpt3_config).")
    return "\n".join(lines)


def _cmd_params(args: argparse.Namespace) -> int:
    rows = gpt3_param_table()
    print(json.dumps({"models": rows}) if args.json else format_param_table(rows))
    return 0


# ---------------------------------------------------------------------- demo


def _cmd_demo(args: argparse.Namespace) -> int:
    from .data import TEMPLATES, prompt
    from .facts import fact_recall, train_facts_model

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


# ---------------------------------------------------------------------- train


def _read_corpus(corpus: str) -> str:
    from .data import facts_corpus, load_text

    if corpus == "facts":
        return facts_corpus()
    if corpus == "text":
        return load_text()
    path = Path(corpus)
    if not path.is_file():
        raise UserError(f"corpus must be 'facts', 'text' or a UTF-8 file; no file {corpus!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{corpus} is not UTF-8 text ({e.reason} at byte {e.start})") from e
    if not text.strip():
        raise UserError(f"corpus {corpus} is empty")
    return text


def _cmd_train(args: argparse.Namespace) -> int:
    from .facts import load_model
    from .model import GPT
    from .tokenizers import CharTokenizer, WordTokenizer
    from .train import TrainSettings, train

    text = _read_corpus(args.corpus)
    if args.resume:
        model, tokenizer = load_model(args.resume)
        if tokenizer is None:
            raise UserError(f"checkpoint {args.resume} stores no tokenizer")
    else:
        kind = args.tokenizer or ("word" if args.corpus == "facts" else "char")
        tokenizer = (WordTokenizer if kind == "word" else CharTokenizer).from_text(text)
        cfg = GPTConfig(vocab_size=tokenizer.vocab_size, n_ctx=args.n_ctx, n_layer=args.n_layer,
                        n_head=args.n_head, d_model=args.d_model, activation=args.activation,
                        attention=args.attention, local_window=args.local_window)
        model = GPT(cfg, seed=args.seed)
    ids = tokenizer.encode(text)
    starts = val = None
    if args.corpus == "facts":  # windows start at line beginnings, as prompts do
        newline = tokenizer.encode("\n")[0]
        starts = np.concatenate([[0], np.flatnonzero(ids == newline) + 1])
    else:  # hold out the last 10% for evaluation
        split = int(0.9 * len(ids))
        ids, val = ids[:split], ids[split:]
    settings = TrainSettings(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                             warmup_steps=min(50, args.steps // 10) if args.warmup is None
                             else args.warmup, eval_every=args.eval_every,
                             checkpoint_every=args.checkpoint_every, seed=args.seed)
    result = train(model, ids, settings, starts=starts, val_data=val, tokenizer=tokenizer,
                   out=args.out, resume=args.resume, progress=not args.no_progress,
                   extra={"corpus": args.corpus})
    report = {"start_step": result.start_step, "step": result.step, "seconds": result.seconds,
              "tokens_per_second": result.tokens_per_second,
              "loss_first": result.losses[0] if result.losses else None,
              "loss_last": result.losses[-1] if result.losses else None,
              "evals": result.evals, "checkpoint": str(args.out),
              "n_params": model.n_params, "config": model.config.to_dict()}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"steps {result.start_step} -> {result.step} in {result.seconds:.1f} s "
              f"({result.tokens_per_second:,.0f} tokens/s)")
        if result.losses:
            print(f"train loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}")
        for step, loss in result.evals:
            print(f"  step {step:6d}  eval loss {loss:.3f}")
        print(f"checkpoint: {args.out}")
    return 0


# ---------------------------------------------------------------------- generate


def _cmd_generate(args: argparse.Namespace) -> int:
    from .facts import load_model

    if (args.checkpoint is None) == (args.hf_dir is None):
        raise UserError("give exactly one of --checkpoint and --hf-dir")
    if args.hf_dir is not None:
        from .hf import load_hf_gpt2

        model, tokenizer = load_hf_gpt2(args.hf_dir)
        source = args.hf_dir
    else:
        model, tokenizer = load_model(args.checkpoint)
        source = args.checkpoint
    if tokenizer is None:
        raise UserError(f"{source} holds no tokenizer")
    prompt_ids = tokenizer.encode(args.prompt)
    if len(prompt_ids) > model.config.n_ctx:
        prompt_ids = prompt_ids[-model.config.n_ctx:]  # the model sees its last n_ctx tokens
    temperature = 0.0 if args.greedy else args.temperature
    ids = model.generate(prompt_ids, args.max_new_tokens, temperature=temperature,
                         top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    completion = tokenizer.decode(ids[len(prompt_ids):])
    if args.json:
        print(json.dumps({"prompt": args.prompt, "completion": completion,
                          "ids": ids.tolist(), "temperature": temperature}))
    else:
        print(args.prompt + completion)
    return 0


# ---------------------------------------------------------------------- facts


def _cmd_facts(args: argparse.Namespace) -> int:
    from .facts import load_model, train_facts_model
    from .facts.story import parse_edit, run_facts_story

    if args.checkpoint:
        model, tokenizer = load_model(args.checkpoint)
        if tokenizer is None:
            raise UserError(f"checkpoint {args.checkpoint} stores no tokenizer")
    else:
        if not args.json:
            print("No --checkpoint given: training the demo model first.", file=sys.stderr)
        model, tokenizer, _ = train_facts_model(progress=not args.no_progress and not args.json)
    if args.edit is not None:
        parse_edit(args.edit, tokenizer)  # fail in one line before the long analysis
    plots = args.plots
    if plots is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError as e:
            raise UserError("--plots needs matplotlib: pip install 'minigpt[plot]'") from e
    story = run_facts_story(model, tokenizer, edit=args.edit, n_edits=args.n_edits,
                            plots_dir=plots, trace_samples=args.trace_samples, seed=args.seed)
    if args.json:
        print(json.dumps(jsonable(story.to_dict())))
    else:
        print(story.to_text())
        for path in story.plots:
            print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------- superposition


def _perpendicular(args: argparse.Namespace) -> tuple[dict[str, Any], str, list[Any]]:
    from .superposition import nearly_perpendicular, plot_angles

    r = nearly_perpendicular(n=args.n, d=args.d, steps=args.steps, seed=args.seed,
                             progress=not args.json)
    lines = [f"{r.n:,} unit vectors in {r.d} dimensions, Adam lr {r.lr}, {r.steps} steps "
             f"({r.seconds:.0f} s)"]
    for label, a in (("before", r.before), ("after", r.after)):
        lines.append(f"  {label:<6} angles {a.min_deg:6.2f} .. {a.max_deg:6.2f} degrees, "
                     f"{a.share_in_band:6.1%} within 89-91")
    lines.append(f"  Welch bound: some pair is at most {r.welch_angle_deg:.2f} degrees apart")
    lines.append(r.verdict)
    return r.to_dict(), "\n".join(lines), [("perpendicular", plot_angles(r))] if args.plots else []


def _capacity(args: argparse.Namespace) -> tuple[dict[str, Any], str, list[Any]]:
    from .superposition import capacity_sweep, plot_capacity

    rows = capacity_sweep(seed=args.seed)
    lines = [f"{'d':>3} {'band':>7} {'found':>6} {'random':>7} {'JL':>6} {'Welch':>8}"]
    for r in rows:
        lines.append(f"{r.d:>3} {r.band_deg:>6.0f}° {r.n_found:>6} {r.n_random:>7.1f} "
                     f"{r.n_jl:>6.0f} {r.n_welch:>8.0f}")
    plots = [("capacity", plot_capacity(rows))] if args.plots else []
    return {"rows": [r.to_dict() for r in rows]}, "\n".join(lines), plots


def _toy(args: argparse.Namespace) -> tuple[dict[str, Any], str, list[Any]]:
    from .superposition import plot_feature_directions, plot_wtw, sparsity_sweep

    results = sparsity_sweep(seed=args.seed)
    lines = [f"{'sparsity':>8} {'represented':>11}  norms ||W_i||"]
    for r in results:
        norms = " ".join(f"{x:.2f}" for x in r.metrics.norms)
        lines.append(f"{r.sparsity:>8.2f} {r.n_represented:>6} of {r.n}  {norms}")
    plots = ([("toy_wtw", plot_wtw(results)), ("toy_directions", plot_feature_directions(results))]
             if args.plots else [])
    return {"results": [r.to_dict() for r in results]}, "\n".join(lines), plots


def _facts_per_neuron(args: argparse.Namespace) -> tuple[dict[str, Any], str, list[Any]]:
    from .superposition import facts_per_neuron, plot_facts_per_neuron

    result = facts_per_neuron(seed=args.seed)
    plots = []
    if args.plots:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        plot_facts_per_neuron(result, ax=ax)
        plots.append(("facts_per_neuron", fig))
    return result.to_dict(), result.to_table(), plots


def _sae(args: argparse.Namespace) -> tuple[dict[str, Any], str, list[Any]]:
    from .superposition import plot_recovery, recover_planted_features, sae_on_model

    planted = recover_planted_features(seed=args.seed)
    report = {"planted": planted.to_dict()}
    text = "On planted features:\n" + planted.to_table()
    plots = []
    if args.checkpoint is not None:
        from .facts import load_model

        model, tokenizer = load_model(args.checkpoint)
        on_model = sae_on_model(model, tokenizer, seed=args.seed)
        report["model"] = on_model.to_dict()
        text += "\n\nOn the facts model's neurons:\n" + on_model.to_table()
    if args.plots:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        plot_recovery(planted, ax=ax)
        plots.append(("sae_recovery", fig))
    return report, text, plots


SUPERPOSITION_EXPERIMENTS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "perpendicular": _perpendicular,
    "capacity": _capacity,
    "toy": _toy,
    "facts-per-neuron": _facts_per_neuron,
    "sae": _sae,
}


def _cmd_superposition(args: argparse.Namespace) -> int:
    if args.plots:
        try:
            import matplotlib

            matplotlib.use("Agg")
        except ImportError as e:
            raise UserError("--plots needs matplotlib: pip install 'minigpt[plot]'") from e
    result, text, figures = SUPERPOSITION_EXPERIMENTS[args.experiment](args)
    written = []
    for name, fig in figures:
        Path(args.plots).mkdir(parents=True, exist_ok=True)
        written.append(save_png(fig, Path(args.plots) / f"{name}.png"))
    if args.json:
        print(json.dumps(jsonable({"experiment": args.experiment, **result, "plots": written})))
    else:
        print(text)
        for path in written:
            print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------- the parser


def _positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``minigpt`` command, one subparser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="minigpt",
        description="A GPT-3-shaped transformer in numpy that shows where a model keeps its facts.",
    )
    parser.add_argument("--blas-threads", type=_positive_int, default=None, metavar="N",
                        help="BLAS threads for every matrix product (default: one per core); "
                             "1 is faster when other work keeps the cores busy "
                             "(needs threadpoolctl: pip install 'minigpt[fast]')")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("params", help="print GPT-3's parameter counts (Table 2.1), exactly",
                       description="Count the parameters of the eight GPT-3 models of Table 2.1 "
                                   "from their shapes, and how many sit in the MLPs.")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_params)

    p = sub.add_parser("demo", help="train a tiny GPT-3 on athletes' sports and test its recall",
                       description="Train a small GPT-3-shaped model (alternating dense and "
                                   "banded attention, GELU) from scratch on the embedded facts "
                                   "corpus, then ask it every fact.")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and batches")
    p.add_argument("--out", default=None, help="save the trained model to this checkpoint file")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("train", help="train a model on a corpus",
                       description="Train a GPT on 'facts' (the athletes corpus), 'text' (the "
                                   "embedded public-domain play) or a UTF-8 file.")
    p.add_argument("--corpus", default="facts", help="facts, text, or a path (default facts)")
    p.add_argument("--tokenizer", choices=("char", "word"), default=None,
                   help="default: word for facts, char otherwise")
    p.add_argument("--out", default="minigpt.safetensors", help="checkpoint file to write")
    p.add_argument("--resume", default=None, help="continue from this checkpoint")
    p.add_argument("--steps", type=int, default=1000, help="total optimizer steps")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    p.add_argument("--warmup", type=int, default=None,
                   help="warmup steps (default: a tenth of --steps, at most 50)")
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--n-ctx", type=int, default=64)
    p.add_argument("--activation", choices=("gelu", "gelu_exact", "relu"), default="gelu")
    p.add_argument("--attention", choices=("dense", "alternating"), default="alternating")
    p.add_argument("--local-window", type=int, default=8)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--checkpoint-every", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("generate", help="continue a prompt with a trained model",
                       description="Generate text from a checkpoint, with a key/value cache.")
    p.add_argument("--checkpoint", default=None, help="a checkpoint written by train or demo")
    p.add_argument("--hf-dir", default=None,
                   help="a Hugging Face GPT-2 folder (config.json, model.safetensors, "
                        "vocab.json, merges.txt) instead of a checkpoint")
    p.add_argument("--prompt", required=True, help="text to continue")
    p.add_argument("--max-new-tokens", type=int, default=50)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--greedy", action="store_true", help="always take the most likely token")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("facts", help="build, find, knock out and edit facts in the demo model",
                       description="The whole story: the video's hand-built fact MLP, then "
                                   "recall, ablation, causal tracing, logit lens, neurons and "
                                   "rank-one edits on the trained demo model.")
    p.add_argument("--checkpoint", default=None,
                   help="a facts model (minigpt demo --out ...); trains one when omitted")
    p.add_argument("--edit", default=None, metavar="'First Last=sport'",
                   help="rewrite one fact, e.g. 'Michael Jordan=golf'")
    p.add_argument("--n-edits", type=int, default=20,
                   help="facts to rewrite one by one for the efficacy table (0 skips)")
    p.add_argument("--trace-samples", type=int, default=10, help="noise samples in tracing")
    p.add_argument("--plots", default=None, metavar="DIR", help="write PNG figures here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_facts)

    p = sub.add_parser("superposition", help="nearly perpendicular directions, capacity, toy models",
                       description="Experiments on superposition: 'perpendicular' reruns the "
                                   "video's 10,000-vectors-in-100-dimensions run and checks its "
                                   "claim; 'capacity' counts how many nearly perpendicular "
                                   "directions fit; 'toy' trains Toy Models of Superposition; "
                                   "'facts-per-neuron' measures how many facts an MLP stores "
                                   "per neuron; 'sae' trains sparse autoencoders on planted "
                                   "features (and on a facts model with --checkpoint).")
    p.add_argument("experiment", choices=sorted(SUPERPOSITION_EXPERIMENTS))
    p.add_argument("--n", type=int, default=10_000, help="vectors (perpendicular)")
    p.add_argument("--d", type=int, default=100, help="dimensions (perpendicular)")
    p.add_argument("--steps", type=int, default=250, help="Adam steps (perpendicular)")
    p.add_argument("--checkpoint", default=None,
                   help="sae: also train on this facts model's neurons (minigpt demo --out)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plots", default=None, metavar="DIR", help="write PNG figures here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_superposition)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``minigpt`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when ``None``.

    Returns
    -------
    int
        The exit code: 0 on success, 2 on a user error (reported in one line on stderr).
    """
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    keep_freed_memory()  # this process is ours: reuse freed memory (see minigpt.allocator)
    try:
        with blas_threads(args.blas_threads):
            return func(args)
    except (UserError, ValueError, OSError) as e:
        print(f"minigpt {args.command}: error: {e}", file=sys.stderr)
        return 2
