"""``minigpt train``: a new model or a resumed one, on a corpus or on your own facts.

A new run takes its shape and settings from the flags, else from :data:`SHAPE_DEFAULTS` and
:data:`TRAIN_DEFAULTS`; a resumed run keeps its checkpoint's shape, tokenizer and data, and
refuses flags that would change them.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..config import GPTConfig
from ..facts.own_facts import BPE_MERGES, FACTS_STEPS
from ..tables import jsonable
from ..tokenizers import MAX_SHOWN, PIECE_NOUNS
from .common import (UserError, _check_writable, _encode, _load_model_with_tokenizer,
                     _positive_int, _read_corpus, _read_facts)

# The settings of a new run where no flag gives them (a resumed run keeps its own).
TRAIN_DEFAULTS = dict(steps=1000, batch_size=32, lr=3e-3, eval_every=100, checkpoint_every=0,
                      seed=0)
MAX_WARMUP = 50  # default warmup: a tenth of the steps, at most this many
# The shape of a new model; a resumed model keeps its checkpoint's.
SHAPE_DEFAULTS = dict(n_layer=4, n_head=4, d_model=64, n_ctx=64, activation="gelu",
                      attention="alternating", local_window=8)
# Held out for evaluation at the end of a text corpus. The facts corpus holds none by
# default: its model is meant to memorize every line, so it is evaluated on them.
EVAL_FRACTION = 0.1
BUILTIN_CORPORA = ("facts", "text")


def _corpus_name(corpus: str) -> str:
    """How a checkpoint records a corpus: a built-in name, or the file's absolute path."""
    return corpus if corpus in BUILTIN_CORPORA else str(Path(corpus).resolve())


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _default_eval_fraction(corpus: str) -> float:
    return 0.0 if corpus == "facts" else EVAL_FRACTION


def _check_eval_fraction(value: float) -> float:
    if not 0 <= value < 1:
        raise UserError(f"--eval-fraction must be in [0, 1), got {value}")
    return value


class _Run(NamedTuple):
    """What ``train`` trains (a new model or a resumed one) and on what."""

    model: Any
    tokenizer: Any
    corpus: str
    text: str
    eval_fraction: float
    recorded: dict[str, Any]  # the resumed run's TrainSettings as a dict; {} for a new run
    step: int  # the step the run starts from
    facts: list[Any] | None = None  # the facts of a --facts run, else None


def _facts_text(facts: list[Any]) -> str:
    """The training text of a --facts run: every sentence form, one per line."""
    from ..facts.own_facts import fact_sentences

    return "".join(fact_sentences(facts))


def _tokenizer_kind(tokenizer: Any) -> str:
    """'char', 'word' or 'bpe': the --tokenizer value that makes this tokenizer."""
    return getattr(tokenizer, "kind", "bpe")


def _new_facts_run(args: argparse.Namespace) -> _Run:
    """A fresh model for ``train --facts FILE``: every fact in training, no hold-out."""
    from ..facts.own_facts import FACTS_SHAPE, facts_context, facts_tokenizer
    from ..model import GPT

    if args.corpus is not None:
        raise UserError("give --facts or --corpus, not both")
    if args.eval_fraction:
        raise UserError(f"--eval-fraction {args.eval_fraction}: a facts model is trained on "
                        f"every fact and evaluated on them; leave --eval-fraction out")
    facts = _read_facts(args.facts)
    kind = args.tokenizer or "word"
    if kind == "bpe" and not args.json:
        print(f"training a BPE tokenizer ({args.bpe_merges} merges) on the facts and the "
              f"embedded play...", flush=True)
    tokenizer = facts_tokenizer(facts, kind, n_merges=args.bpe_merges)
    defaults = {**SHAPE_DEFAULTS, **FACTS_SHAPE,
                "n_ctx": facts_context(tokenizer, facts)}
    shape = {name: defaults[name] if getattr(args, name) is None else getattr(args, name)
             for name in SHAPE_DEFAULTS}
    seed = TRAIN_DEFAULTS["seed"] if args.seed is None else args.seed
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, **shape), seed=seed)
    return _Run(model, tokenizer, f"--facts {args.facts}", _facts_text(facts), 0.0, {}, 0,
                facts)


def _new_run(args: argparse.Namespace) -> _Run:
    """A fresh model for ``train`` without --resume."""
    from ..model import GPT
    from ..tokenizers import CharTokenizer, WordTokenizer

    if args.facts is not None:
        return _new_facts_run(args)
    if args.tokenizer == "bpe":
        raise UserError("--tokenizer bpe is for --facts; a corpus is cut into 'char' or "
                        "'word' pieces")
    corpus = args.corpus or "facts"
    text = _read_corpus(corpus)
    kind = args.tokenizer or ("word" if corpus == "facts" else "char")
    tokenizer = (WordTokenizer if kind == "word" else CharTokenizer).from_text(text)
    shape = {name: SHAPE_DEFAULTS[name] if getattr(args, name) is None else getattr(args, name)
             for name in SHAPE_DEFAULTS}
    seed = TRAIN_DEFAULTS["seed"] if args.seed is None else args.seed
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, **shape), seed=seed)
    fraction = _default_eval_fraction(corpus) if args.eval_fraction is None else args.eval_fraction
    return _Run(model, tokenizer, corpus, text, _check_eval_fraction(fraction), {}, 0)


def _resumed_run(args: argparse.Namespace) -> _Run:
    """The model of ``train --resume`` and what its checkpoint records. Flags that would
    change the model or the data are refused unless they say what the checkpoint says."""
    from ..checkpoint import load_checkpoint

    path = args.resume
    model, tokenizer = _load_model_with_tokenizer(path)
    cfg = model.config
    conflicts = [f"--{name.replace('_', '-')} {getattr(args, name)} (the checkpoint has "
                 f"{getattr(cfg, name)})" for name in SHAPE_DEFAULTS
                 if getattr(args, name) is not None and getattr(args, name) != getattr(cfg, name)]
    kind = _tokenizer_kind(tokenizer)
    if args.tokenizer is not None and args.tokenizer != kind:
        conflicts.append(f"--tokenizer {args.tokenizer} (the checkpoint has {kind})")
    if conflicts:
        raise UserError(f"a resumed model keeps its shape and tokenizer: {', '.join(conflicts)}; "
                        f"leave these flags out, or train a new model without --resume")
    ckpt = load_checkpoint(path)
    extra = ckpt.extra or {}
    if "facts" in extra:
        return _resumed_facts_run(args, model, tokenizer, extra, ckpt.step)
    if args.facts is not None:
        raise UserError(f"--facts {args.facts}: the checkpoint {path} was not trained on a "
                        f"facts file; leave --facts out")
    recorded = extra.get("corpus")
    corpus = args.corpus or recorded
    if corpus is None:
        raise UserError(f"checkpoint {path} does not record its corpus: give --corpus")
    text = _read_corpus(corpus)
    same = (_sha256(text) == extra["corpus_sha256"] if "corpus_sha256" in extra
            else recorded is None or _corpus_name(corpus) == _corpus_name(recorded))
    if not same:
        raise UserError(
            f"--corpus {args.corpus} is not the corpus this checkpoint was trained on "
            f"({recorded}); leave --corpus out to continue on that one" if args.corpus else
            f"the corpus {recorded} has changed since the checkpoint was saved; resuming "
            f"needs the same text")
    fraction = extra.get("eval_fraction", _default_eval_fraction(corpus))
    if args.eval_fraction is not None and args.eval_fraction != fraction:
        raise UserError(f"--eval-fraction {args.eval_fraction}: the checkpoint was trained "
                        f"with {fraction}; a resumed run keeps its data split")
    return _Run(model, tokenizer, corpus, text, fraction, extra.get("train_settings") or {},
                ckpt.step)


def _resumed_facts_run(args: argparse.Namespace, model: Any, tokenizer: Any,
                       extra: dict[str, Any], step: int) -> _Run:
    """The facts of a checkpoint trained with --facts, rebuilt from what it records; a
    --facts given again must hold the same facts."""
    from ..facts.own_facts import recorded_facts

    if args.corpus is not None:
        raise UserError(f"--corpus {args.corpus}: the checkpoint {args.resume} was trained on "
                        f"the facts of {extra.get('facts_file')}; leave --corpus out")
    if args.eval_fraction:
        raise UserError(f"--eval-fraction {args.eval_fraction}: a facts model keeps every "
                        f"fact in training; leave --eval-fraction out")
    facts = recorded_facts(extra)
    text = _facts_text(facts)
    if args.facts is not None and _facts_text(_read_facts(args.facts)) != text:
        raise UserError(f"--facts {args.facts} does not hold the facts this checkpoint was "
                        f"trained on ({extra.get('facts_file')}); leave --facts out to "
                        f"continue on those")
    if _sha256(text) != extra.get("corpus_sha256", _sha256(text)):
        raise UserError(f"the checkpoint {args.resume} does not match its recorded facts")
    return _Run(model, tokenizer, f"the facts of {extra.get('facts_file')}", text, 0.0,
                extra.get("train_settings") or {}, step, facts)


def _train_settings(args: argparse.Namespace, recorded: dict[str, Any],
                    defaults: dict[str, Any] | None = None) -> Any:
    """The run's settings: the flags given, else the resumed run's, else ``defaults``
    (a facts run's steps), else TRAIN_DEFAULTS."""
    from ..train import TrainSettings

    known = {f.name for f in dataclasses.fields(TrainSettings)}
    given = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
             "warmup_steps": args.warmup, "eval_every": args.eval_every,
             "checkpoint_every": args.checkpoint_every, "seed": args.seed,
             "data_parallel": args.data_parallel}
    values = {**TRAIN_DEFAULTS, **(defaults or {}),
              **{k: v for k, v in recorded.items() if k in known},
              **{k: v for k, v in given.items() if v is not None}}
    if args.warmup is None and "warmup_steps" in values:  # a resumed run's warmup, cut
        values["warmup_steps"] = min(values["warmup_steps"], values["steps"])  # to --steps
    elif args.warmup is None:
        values["warmup_steps"] = min(MAX_WARMUP, values["steps"] // 10)
    return TrainSettings(**values)


def _speed_line(result: Any) -> str:
    """How many steps a run took and how fast, and whether it split its batches."""
    split = ", each batch split between two threads" if result.data_parallel else ""
    return (f"steps {result.start_step} -> {result.step} in {result.seconds:.1f} s "
            f"({result.tokens_per_second:,.0f} tokens/s{split})")


def _split(ids: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The training tokens and the last ``fraction`` of them held out (None for 0)."""
    split = int((1 - fraction) * len(ids))
    return (ids, None) if split == len(ids) else (ids[:split], ids[split:])


def _describe_split(n_train: int, n_eval: int, fraction: float, noun: str) -> str:
    if not n_eval:
        return f"training on {n_train:,} {noun}, evaluating on the same (--eval-fraction 0)"
    return (f"training on {n_train:,} {noun}, evaluating on {n_eval:,} (the last "
            f"{fraction:.0%}, --eval-fraction {fraction})")


def _check_windows(corpus: str, n_all: int, n_train: int, n_eval: int, fraction: float,
                   n_ctx: int, noun: str) -> None:
    """Say in the flags' words when the corpus is too short for one window of n_ctx + 1."""
    need = n_ctx + 1  # n_ctx inputs and the token after the last one
    if n_train < need:
        held = f" ({n_train:,} after holding out the last {fraction:.0%})" if n_eval else ""
        raise UserError(f"the corpus {corpus} has {n_all:,} {noun}{held}: too few for one "
                        f"training window of {need} (--n-ctx {n_ctx} + 1); use a longer "
                        f"corpus or a smaller --n-ctx")
    if n_eval and n_eval < need:
        raise UserError(f"the last {fraction:.0%} of the corpus {corpus}, held out for "
                        f"evaluation, has {n_eval:,} {noun}: too few for one window of "
                        f"{need} (--n-ctx {n_ctx} + 1); use --eval-fraction 0 (evaluate on "
                        f"the training text), a larger fraction or a smaller --n-ctx")


def _cmd_train(args: argparse.Namespace) -> int:
    from ..train import train

    _check_writable(args.out, "--out")
    run = _resumed_run(args) if args.resume else _new_run(args)
    settings = _train_settings(args, run.recorded,
                               {"steps": FACTS_STEPS} if run.facts is not None else None)
    if settings.steps <= run.step:
        raise UserError(
            f"--steps {settings.steps}: the checkpoint is already at step {run.step}, and "
            f"--steps counts every step from the start; give more than {run.step}"
            if args.steps is not None else
            f"the checkpoint {args.resume} has finished its {settings.steps} steps; give "
            f"--steps with more than {run.step} to train further")
    if run.facts is not None:
        return _train_facts(args, run, settings)
    ids = _encode(run.tokenizer, run.text, f"the corpus {run.corpus}",
                  "the checkpoint's tokenizer knows only its {n} {noun}")
    train_ids, val_ids = _split(ids, run.eval_fraction)
    n_eval = 0 if val_ids is None else len(val_ids)
    noun = PIECE_NOUNS.get(_tokenizer_kind(run.tokenizer), "tokens")
    _check_windows(run.corpus, len(ids), len(train_ids), n_eval, run.eval_fraction,
                   run.model.config.n_ctx, noun)
    starts = None
    if run.corpus == "facts":  # windows start at line beginnings, as prompts do
        newline = run.tokenizer.encode("\n")[0]
        starts = np.concatenate([[0], np.flatnonzero(train_ids == newline) + 1])
    if not args.json:
        print(_describe_split(len(train_ids), n_eval, run.eval_fraction, noun), flush=True)
    model = run.model
    result = train(model, train_ids, settings, starts=starts, val_data=val_ids,
                   tokenizer=run.tokenizer, out=args.out, resume=args.resume,
                   progress=not args.no_progress,
                   extra={"corpus": _corpus_name(run.corpus), "corpus_sha256": _sha256(run.text),
                          "eval_fraction": run.eval_fraction})
    report = {"start_step": result.start_step, "step": result.step, "seconds": result.seconds,
              "tokens_per_second": result.tokens_per_second,
              "data_parallel": result.data_parallel,
              "loss_first": result.losses[0] if result.losses else None,
              "loss_last": result.losses[-1] if result.losses else None,
              "evals": result.evals, "checkpoint": str(args.out),
              "corpus": _corpus_name(run.corpus), "eval_fraction": run.eval_fraction,
              "train_tokens": len(train_ids), "eval_tokens": n_eval,
              "n_params": model.n_params, "config": model.config.to_dict()}
    if args.json:
        print(json.dumps(report))
    else:
        print(_speed_line(result))
        if result.losses:
            print(f"train loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}")
        for step, loss in result.evals:
            print(f"  step {step:6d}  eval loss {loss:.3f}")
        print(f"checkpoint: {args.out}")
    return 0


def _train_facts(args: argparse.Namespace, run: _Run, settings: Any) -> int:
    """``train --facts``: every fact in training, then the recall of every fact."""
    from ..facts.own_facts import facts_record, facts_stream
    from ..interp import score_facts
    from ..interp.encoding import check_fits, encode_fact
    from ..train import train

    model, tokenizer, facts = run.model, run.tokenizer, run.facts
    for fact in facts:  # every fact must fit the model before any step is taken
        check_fits(model, encode_fact(tokenizer, fact))
    ids, starts = facts_stream(tokenizer, facts)
    n_ctx = model.config.n_ctx
    if len(ids) < n_ctx + 1:
        raise UserError(f"{run.corpus} has {len(ids):,} tokens: too few for one training "
                        f"window of {n_ctx + 1} (--n-ctx {n_ctx} + 1); use a smaller --n-ctx")
    n_sentences = len(starts)
    if not args.json:
        print(f"training on {len(facts):,} facts ({n_sentences:,} sentences with the "
              f"paraphrases, {len(ids):,} tokens), every fact in training and evaluated on "
              f"the same (--eval-fraction 0)", flush=True)
    record = _recorded_facts_extra(args.resume) if args.resume else facts_record(facts,
                                                                                  args.facts)
    extra = {"corpus": None, "corpus_sha256": _sha256(run.text), "eval_fraction": 0.0,
             **record}
    result = train(model, ids, settings, starts=starts, tokenizer=tokenizer, out=args.out,
                   resume=args.resume, progress=not args.no_progress, extra=extra)
    scores = score_facts(model, tokenizer, facts)
    paraphrases = [p for f in facts for p in f.paraphrase_facts()]
    para = score_facts(model, tokenizer, paraphrases) if paraphrases else None
    report = {"start_step": result.start_step, "step": result.step, "seconds": result.seconds,
              "tokens_per_second": result.tokens_per_second,
              "data_parallel": result.data_parallel,
              "loss_first": result.losses[0] if result.losses else None,
              "loss_last": result.losses[-1] if result.losses else None,
              "evals": result.evals, "checkpoint": str(args.out),
              "facts_file": extra["facts_file"], "n_facts": scores.n,
              "recalled": scores.n_correct,
              "paraphrases": None if para is None else {"n": para.n, "recalled": para.n_correct},
              "not_recalled": [f.prompt for f, ok in zip(facts, scores.correct) if not ok],
              "eval_fraction": 0.0, "train_tokens": len(ids),
              "tokenizer": _tokenizer_kind(tokenizer),
              "n_params": model.n_params, "config": model.config.to_dict()}
    if args.json:
        print(json.dumps(jsonable(report)))
        return 0
    print(_speed_line(result))
    if result.losses:
        print(f"train loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}")
    print(f"recall: {scores.n_correct} of {scores.n} facts ({scores.accuracy:.1%}), greedy "
          f"answer after the prompt")
    if para is not None:
        print(f"        {para.n_correct} of {para.n} paraphrases ({para.accuracy:.1%})")
    for prompt in report["not_recalled"][:MAX_SHOWN]:
        print(f"  not recalled: {prompt!r}")
    print(f"checkpoint: {args.out}")
    return 0


def _recorded_facts_extra(path: str) -> dict[str, Any]:
    """The facts record of a resumed checkpoint, kept in the checkpoints it continues."""
    from ..checkpoint import load_checkpoint

    extra = load_checkpoint(path).extra or {}
    return {k: extra[k] for k in ("facts_file", "facts")}


# ---------------------------------------------------------------------- the parser


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    """The flags of ``minigpt train``."""
    on_resume = "; with --resume, the checkpoint's"
    d = TRAIN_DEFAULTS

    def setting(name: str, kind: type, what: str) -> None:
        """The flag of a run's setting: ``None`` unless given (a resumed run keeps its own)."""
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                       help=f"{what} (default: {d[name]}{on_resume})")

    p.add_argument("--corpus", default=None, metavar="facts|text|FILE",
                   help="what to train on: 'facts' (the athletes), 'text' (Macbeth) or a UTF-8 "
                        "text file (default: facts; with --resume, the checkpoint's)")
    p.add_argument("--facts", default=None, metavar="FILE",
                   help="train on your own facts instead of a corpus: a CSV/TSV file with "
                        "the columns subject, prompt, answer and optional paraphrase "
                        "columns; every fact is trained on, in every form, and the recall "
                        "is printed at the end (default: none)")
    p.add_argument("--tokenizer", choices=("char", "word", "bpe"), default=None,
                   help="cut the text into characters or words, or (--facts only) into "
                        "byte-level BPE tokens trained on the facts and the embedded play "
                        "(default: word for facts and --facts, char otherwise; with "
                        "--resume, the checkpoint's)")
    p.add_argument("--bpe-merges", type=_positive_int, default=BPE_MERGES,
                   help="merges learned for --tokenizer bpe (vocabulary 256 + this)")
    p.add_argument("--out", default="minigpt.safetensors", metavar="FILE",
                   help="checkpoint file to write (its folder must exist)")
    p.add_argument("--resume", default=None, metavar="FILE",
                   help="continue the run saved in this checkpoint: same model, corpus and "
                        "settings unless a flag changes a setting (default: a new run)")
    p.add_argument("--steps", type=int, default=None,
                   help=f"total optimizer steps, counted from the start of the run; "
                        f"{FACTS_STEPS} for a new --facts run (default: {d['steps']}"
                        f"{on_resume})")
    setting("batch_size", int, "windows of --n-ctx tokens per step")
    setting("lr", float, "peak learning rate")
    p.add_argument("--warmup", type=int, default=None,
                   help=f"linear warmup steps (default: a tenth of --steps, at most "
                        f"{MAX_WARMUP}{on_resume})")
    kept = "a resumed model keeps the checkpoint's"
    for name, what in (("n_layer", "transformer blocks"), ("n_head", "attention heads"),
                       ("d_model", "width of the residual stream"),
                       ("n_ctx", "context length in tokens")):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=None,
                       help=f"{what} (default: {SHAPE_DEFAULTS[name]}; {kept})")
    p.add_argument("--activation", choices=("gelu", "gelu_exact", "relu"), default=None,
                   help=f"the MLP's nonlinearity (default: {SHAPE_DEFAULTS['activation']}; "
                        f"{kept})")
    p.add_argument("--attention", choices=("dense", "alternating"), default=None,
                   help=f"'alternating': GPT-3's dense and locally banded layers in turn "
                        f"(default: {SHAPE_DEFAULTS['attention']}; {kept})")
    p.add_argument("--local-window", type=int, default=None,
                   help=f"band width of the banded layers, in tokens "
                        f"(default: {SHAPE_DEFAULTS['local_window']}; {kept})")
    setting("eval_every", int, "evaluate every this many steps, 0 never")
    p.add_argument("--eval-fraction", type=float, default=None,
                   help=f"hold out this last part of the corpus for evaluation, in [0, 1); 0 "
                        f"evaluates on the training text (default: "
                        f"{EVAL_FRACTION} for text and files, 0 for facts{on_resume})")
    setting("checkpoint_every", int, "also save every this many steps, 0 only at the end and on "
            "Ctrl-C")
    setting("seed", int, "seed of the weights and batches")
    p.add_argument("--data-parallel", action=argparse.BooleanOptionalAction, default=None,
                   help="split each batch between two threads (same gradients up to "
                        "rounding; default: where it pays, i.e. on two CPUs with "
                        "threadpoolctl and a step of at least 2e9 FLOPs; see the "
                        "Performance page)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def add_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``minigpt train`` and its flags; ``command(name, **kwargs)`` makes its parser."""
    p = command("train", help="train a model on a corpus",
                description="Train a GPT on 'facts' (the athletes corpus), 'text' (the "
                            "embedded public-domain play) or a UTF-8 file. The last "
                            "--eval-fraction of a text corpus is held out for evaluation "
                            "(the output says how much). Ctrl-C saves a checkpoint and prints "
                            "the command that resumes it.")
    _add_train_flags(p)
    p.set_defaults(func=_cmd_train)
