"""The ``minigpt`` command (also ``python -m minigpt``).

Each subcommand is a thin layer over a library function: parse the arguments, call it, print.
Errors a user can cause end in one line on stderr and exit code 2, never a traceback.
Ctrl-C ends in one line and exit code 130 (``train`` and ``demo`` first save a checkpoint
when they have somewhere to write it, and say how to resume); a reader that goes away
(``minigpt params | head -1``) ends the command quietly with exit code 141, as for other
Unix tools. Everything that would be thrown away by a late failure (an output folder
that does not exist, say) is checked before the work starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .allocator import keep_freed_memory
from .atomic import save_png
from .config import GPT3_TABLE, GPTConfig, count_params, gpt3_config
from .facts.own_facts import BPE_MERGES, FACTS_STEPS
from .interp.tables import jsonable
from .model import NonFiniteError
from .threads import blas_threads, threadpoolctl_available
from .tokenizers import MAX_SHOWN, PIECE_NOUNS, UnknownPieceError
from .train import TrainingInterrupted

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `yes | head -1`'s writer
# generate prints its text at the end; a longer run is a job for GPT.generate in a script
MAX_NEW_TOKENS = 100_000


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


# ---------------------------------------------------------------------- shared checks


def _check_writable(path: str, flag: str) -> None:
    """Fail now, not after the work, if the file ``path`` cannot be written."""
    target = Path(path)
    if target.is_dir():
        raise UserError(f"{flag} {path} is a folder; give a file name, "
                        f"e.g. {target / 'model.safetensors'}")
    folder = target.parent  # Path("model.safetensors").parent is Path(".")
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist"
        raise UserError(f"{flag} {path}: the folder {folder} {state}")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise UserError(f"{flag} {path}: cannot write in the folder {folder} "
                        f"({e.strerror})") from e


def _make_folder(path: str, flag: str) -> None:
    """Create the folder ``path`` (for figures) now, and check it takes files."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{flag} {path}: cannot create this folder ({e.strerror})") from e
    _check_writable(os.path.join(path, "figure.png"), flag)


def _load_model(path: str) -> tuple[Any, Any]:
    """:func:`minigpt.facts.load_model` with the errors of a file minigpt cannot use as one
    line: weights of an unsupported dtype (float16, float8) end in TypeError or
    AttributeError inside numpy."""
    from .facts import load_model

    try:
        return load_model(path)
    except (TypeError, AttributeError) as e:
        raise UserError(f"cannot use the checkpoint {path}: {e}") from e


def _encode(tokenizer: Any, text: str, what: str, advice: str) -> np.ndarray:
    """``tokenizer.encode(text)``, with unknown characters or words named in the user's
    words: ``what`` is the text (e.g. "the prompt"), ``advice`` what to do about it."""
    try:
        return tokenizer.encode(text)
    except UnknownPieceError as e:
        noun = PIECE_NOUNS[e.kind]
        shown = ", ".join(repr(p) for p in e.pieces[:MAX_SHOWN])
        more = f" and {len(e.pieces) - MAX_SHOWN} more" if len(e.pieces) > MAX_SHOWN else ""
        raise UserError(f"{what} has {noun} the model does not know: {shown}{more}; "
                        f"{advice.format(n=e.vocab_size, noun=noun)}") from None


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


# ---------------------------------------------------------------------- train


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


def _read_facts(path: str, flag: str = "--facts") -> list[Any]:
    """:func:`minigpt.data.read_facts_file`, its errors as one line naming the flag."""
    from .data import read_facts_file

    try:
        return read_facts_file(path)
    except FileNotFoundError:
        raise UserError(f"{flag} {path}: no such file (a CSV/TSV with the columns "
                        f"subject, prompt, answer)") from None
    except ValueError as e:
        raise UserError(f"{flag}: {e}") from None


def _facts_text(facts: list[Any]) -> str:
    """The training text of a --facts run: every sentence form, one per line."""
    from .facts.own_facts import fact_sentences

    return "".join(fact_sentences(facts))


def _tokenizer_kind(tokenizer: Any) -> str:
    """'char', 'word' or 'bpe': the --tokenizer value that makes this tokenizer."""
    return getattr(tokenizer, "kind", "bpe")


def _new_facts_run(args: argparse.Namespace) -> _Run:
    """A fresh model for ``train --facts FILE``: every fact in training, no hold-out."""
    from .facts.own_facts import FACTS_SHAPE, facts_context, facts_tokenizer
    from .model import GPT

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
    from .model import GPT
    from .tokenizers import CharTokenizer, WordTokenizer

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
    from .checkpoint import load_checkpoint

    path = args.resume
    model, tokenizer = _load_model(path)
    if tokenizer is None:
        raise UserError(f"checkpoint {path} stores no tokenizer")
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
    from .facts.own_facts import recorded_facts

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
    from .train import TrainSettings

    known = {f.name for f in dataclasses.fields(TrainSettings)}
    given = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
             "warmup_steps": args.warmup, "eval_every": args.eval_every,
             "checkpoint_every": args.checkpoint_every, "seed": args.seed}
    values = {**TRAIN_DEFAULTS, **(defaults or {}),
              **{k: v for k, v in recorded.items() if k in known},
              **{k: v for k, v in given.items() if v is not None}}
    if args.warmup is None and "warmup_steps" in values:  # a resumed run's warmup, cut
        values["warmup_steps"] = min(values["warmup_steps"], values["steps"])  # to --steps
    elif args.warmup is None:
        values["warmup_steps"] = min(MAX_WARMUP, values["steps"] // 10)
    return TrainSettings(**values)


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
    from .train import train

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
              "loss_first": result.losses[0] if result.losses else None,
              "loss_last": result.losses[-1] if result.losses else None,
              "evals": result.evals, "checkpoint": str(args.out),
              "corpus": _corpus_name(run.corpus), "eval_fraction": run.eval_fraction,
              "train_tokens": len(train_ids), "eval_tokens": n_eval,
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


def _train_facts(args: argparse.Namespace, run: _Run, settings: Any) -> int:
    """``train --facts``: every fact in training, then the recall of every fact."""
    from .facts.own_facts import facts_record, facts_stream
    from .interp import score_facts
    from .interp.encoding import check_fits, encode_fact
    from .train import train

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
    print(f"steps {result.start_step} -> {result.step} in {result.seconds:.1f} s "
          f"({result.tokens_per_second:,.0f} tokens/s)")
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
    from .checkpoint import load_checkpoint

    extra = load_checkpoint(path).extra or {}
    return {k: extra[k] for k in ("facts_file", "facts")}


# ---------------------------------------------------------------------- generate


def _cmd_generate(args: argparse.Namespace) -> int:
    if (args.checkpoint is None) == (args.hf_dir is None):
        raise UserError("give exactly one of --checkpoint and --hf-dir")
    if not args.prompt:
        raise UserError("--prompt is empty: give the text the model should continue")
    if args.max_new_tokens > MAX_NEW_TOKENS:
        raise UserError(f"--max-new-tokens must be at most {MAX_NEW_TOKENS:,}, "
                        f"got {args.max_new_tokens:,}")
    if args.hf_dir is not None:
        from .hf import load_hf_gpt2

        try:
            model, tokenizer = load_hf_gpt2(args.hf_dir)
        except (TypeError, AttributeError) as e:  # weights numpy cannot use (e.g. float8)
            raise UserError(f"cannot use the folder {args.hf_dir}: {e}") from e
        source = args.hf_dir
    else:
        model, tokenizer = _load_model(args.checkpoint)
        source = args.checkpoint
    if tokenizer is None:
        raise UserError(f"{source} holds no tokenizer")
    prompt_ids = _encode(tokenizer, args.prompt, "the prompt",
                         "this model knows only the {n} {noun} of its training corpus: use "
                         "those, or train it on a corpus that has them")
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
    from .facts import train_facts_model
    from .facts.story import parse_edit, run_facts_story

    if args.checkpoint:
        model, tokenizer = _load_model(args.checkpoint)
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
        _make_folder(plots, "--plots")
    story = run_facts_story(model, tokenizer, edit=args.edit, n_edits=args.n_edits,
                            plots_dir=plots, trace_samples=args.trace_samples, seed=args.seed)
    if args.json:
        print(json.dumps(jsonable(story.to_dict())))
    else:
        print(story.to_text())
        for path in story.plots:
            print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------- facts trace / edit


MAX_ANSWER_TOKENS = 8  # how far `facts edit` reads the model's own answer when none is given
ANSWER_ENDS = "\n.,;:!?"  # the model's own answer is cut at the first of these


class _Loaded(NamedTuple):
    """The model of a ``facts`` subcommand and where it came from."""

    model: Any
    tokenizer: Any
    source: str  # the path given
    is_hf: bool  # a Hugging Face folder (else a minigpt checkpoint)
    extra: dict[str, Any]  # what a checkpoint records beside its weights ({} for a folder)


def _load_any(args: argparse.Namespace) -> _Loaded:
    """The model of --checkpoint or --hf-dir (exactly one), with its tokenizer."""
    if (args.checkpoint is None) == (args.hf_dir is None):
        raise UserError("give exactly one of --checkpoint and --hf-dir")
    if args.hf_dir is not None:
        from .hf import load_hf_gpt2

        try:
            model, tokenizer = load_hf_gpt2(args.hf_dir)
        except (TypeError, AttributeError) as e:  # weights numpy cannot use (e.g. float8)
            raise UserError(f"cannot use the folder {args.hf_dir}: {e}") from e
        if tokenizer is None:
            raise UserError(f"the folder {args.hf_dir} has no tokenizer: it needs vocab.json "
                            f"and merges.txt beside config.json")
        return _Loaded(model, tokenizer, args.hf_dir, True, {})
    from .checkpoint import load_checkpoint

    model, tokenizer = _load_model(args.checkpoint)
    if tokenizer is None:
        raise UserError(f"checkpoint {args.checkpoint} stores no tokenizer")
    return _Loaded(model, tokenizer, args.checkpoint, False,
                   load_checkpoint(args.checkpoint).extra or {})


def _fact_prompt(prompt: str, subject: str, answer: str, paraphrases: Sequence[str] = ()
                 ) -> Any:
    """The fact of --prompt, --subject and the answer, its problems in the flags' words."""
    from .data import FactPrompt

    for flag, value in (("--prompt", prompt), ("--subject", subject)):
        if not value.strip():
            raise UserError(f"{flag} is empty")
    if subject.strip() not in prompt:
        raise UserError(f"--subject {subject!r} does not occur in --prompt {prompt!r}")
    return FactPrompt(prompt, subject.strip(), answer.strip(), tuple(paraphrases))


def _encoded(loaded: _Loaded, fact: Any) -> Any:
    """:func:`minigpt.interp.encode_fact` checked against the model (unknown pieces, n_ctx)."""
    from .interp import encode_fact

    return encode_fact(loaded.tokenizer, fact, loaded.model)


def _greedy(model: Any, tokenizer: Any, ids: np.ndarray, n: int) -> str:
    """The model's greedy continuation of ``ids``, ``n`` tokens (fewer at n_ctx), decoded."""
    n = min(n, model.config.n_ctx - len(ids))
    if n <= 0:
        return ""
    out = model.generate(ids, n, temperature=0)
    return tokenizer.decode(out[len(ids):])


def _check_plots(plots: str | None) -> None:
    if plots is None:
        return
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError as e:
        raise UserError("--plots needs matplotlib: pip install 'minigpt[plot]'") from e
    _make_folder(plots, "--plots")


def _cmd_facts_trace(args: argparse.Namespace) -> int:
    from .interp import causal_trace, score_facts

    if not args.answer.strip():
        raise UserError("--answer is empty: give the answer the prompt should be completed "
                        "with")
    for flag, value in (("--samples", args.samples), ("--window", args.window)):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    _check_plots(args.plots)
    loaded = _load_any(args)
    fact = _fact_prompt(args.prompt, args.subject, args.answer)
    encoded = _encoded(loaded, fact)
    model, tokenizer = loaded.model, loaded.tokenizer
    scores = score_facts(model, tokenizer, [fact])
    said = _greedy(model, tokenizer, encoded.ids, encoded.A)
    trace = causal_trace(model, tokenizer, [fact], n_samples=args.samples, seed=args.seed,
                         window=min(args.window, model.config.n_layer))
    peaks = {}
    for kind in trace.kinds:
        layer, pos, effect = trace.peak(kind)
        peaks[kind] = {"layer": layer, "position": pos, "token": trace.labels[pos],
                       "indirect_effect": effect}
    written = []
    if args.plots:
        import matplotlib.pyplot as plt

        from .interp import plot_causal_trace

        for kind in trace.kinds:
            fig, ax = plt.subplots(figsize=(6, 3.5))
            plot_causal_trace(trace, kind, ax=ax)
            written.append(save_png(fig, Path(args.plots) / f"trace_{kind}.png"))
            plt.close(fig)
    report = {"prompt": fact.prompt, "subject": fact.subject, "answer": fact.answer,
              "source": loaded.source, "tokens": trace.tokens[0],
              "subject_span": list(encoded.subject), "answer_tokens": encoded.A,
              "p_answer": float(scores.p[0]), "recalled": bool(scores.correct[0]),
              "rank": int(scores.rank[0]), "greedy": said, "peaks": peaks,
              "trace": trace.to_dict(), "plots": written}
    if args.json:
        print(json.dumps(jsonable(report)))
        return 0
    verdict = "recalled" if scores.correct[0] else "not recalled"
    print(f"{fact.prompt!r} -> {fact.answer!r}: p(answer) {scores.p[0]:.4f} (product over "
          f"{encoded.A} answer token{'s' if encoded.A > 1 else ''}), first token rank "
          f"{scores.rank[0]}; greedy continuation {said!r}: {verdict}")
    print(f"subject {fact.subject!r}: tokens {encoded.first}..{encoded.last} of "
          f"{encoded.T}\n")
    print(trace.to_table())
    print("\npeak per kind:")
    for kind, peak in peaks.items():
        print(f"  {kind:<5} layer {peak['layer']}, token {peak['position']} "
              f"({peak['token']!r}): indirect effect {peak['indirect_effect']:.3f}")
    print("\n" + trace.summary())
    for path in written:
        print(f"wrote {path}")
    return 0


def _check_edit_out(loaded_is_hf: bool, source: str, out: str) -> None:
    """--out must be what the input was (a checkpoint file, or a Hugging Face folder),
    not the input itself, and writable: checked before the edit."""
    target = Path(out)
    if target.exists() and target.resolve() == Path(source).resolve():
        raise UserError(f"--out {out} is the model being edited; give another name")
    if loaded_is_hf:
        if target.exists() and not target.is_dir():
            raise UserError(f"--out {out} is a file, but the input is a Hugging Face folder: "
                            f"the edited model is written as a folder; give a folder name")
        if not target.exists() and target.suffix == ".safetensors":
            raise UserError(f"--out {out} names a checkpoint file, but the input is a "
                            f"Hugging Face folder: the edited model is written as a folder "
                            f"(config.json, model.safetensors, vocab.json, merges.txt); give "
                            f"a folder name")
        parent = target if target.is_dir() else target.parent
        _check_writable(str(parent / "config.json"), "--out")
    else:
        if target.is_dir():
            raise UserError(f"--out {out} is a folder, but the input is a checkpoint: the "
                            f"edited model is written as one checkpoint file, e.g. "
                            f"{target / 'edited.safetensors'}")
        _check_writable(out, "--out")


def _own_answer(model: Any, tokenizer: Any, ids: np.ndarray) -> str:
    """The model's answer to a prompt: its greedy continuation up to the first line end
    or punctuation, at most MAX_ANSWER_TOKENS tokens."""
    text = _greedy(model, tokenizer, ids, MAX_ANSWER_TOKENS)
    cut = min((i for i in (text.find(c) for c in ANSWER_ENDS) if i >= 0), default=len(text))
    return text[:cut].strip() or text.strip()


def _edit_corpus(args: argparse.Namespace, loaded: _Loaded) -> str | None:
    """The text of ROME's key covariance: --corpus, else the embedded play when the
    tokenizer reads it (``None``), else what the checkpoint was trained on."""
    from .data import facts_corpus, load_text
    from .facts.own_facts import fact_sentences, recorded_facts

    if args.corpus is not None:
        return _read_corpus(args.corpus)
    try:
        loaded.tokenizer.encode(load_text())
        if not getattr(loaded.tokenizer, "unk", False):
            return None
    except ValueError:
        pass
    facts = recorded_facts(loaded.extra)
    if facts is not None:
        return "".join(fact_sentences(facts))
    if loaded.extra.get("corpus") == "facts":
        return facts_corpus()
    raise UserError(f"the tokenizer of {loaded.source} cannot read the embedded play, which "
                    f"gives the key covariance: give --corpus FILE, a text it can read")


def _cmd_facts_edit(args: argparse.Namespace) -> int:
    if not args.new.strip():
        raise UserError("--new is empty: give the answer the edited model should say")
    if (args.checkpoint is None) == (args.hf_dir is None):
        raise UserError("give exactly one of --checkpoint and --hf-dir")
    _check_edit_out(args.hf_dir is not None, args.hf_dir or args.checkpoint, args.out)
    loaded = _load_any(args)
    model, tokenizer = loaded.model, loaded.tokenizer
    if args.layer is not None and not 0 <= args.layer < model.config.n_layer:
        raise UserError(f"--layer must be in 0..{model.config.n_layer - 1} (the model has "
                        f"{model.config.n_layer} layers), got {args.layer}")
    probe = _fact_prompt(args.prompt, args.subject, args.new, args.paraphrase or ())
    ids = _encoded(loaded, probe).ids
    old = args.answer.strip() if args.answer else _own_answer(model, tokenizer, ids)
    if not old:
        raise UserError(f"the model continues {args.prompt!r} with whitespace only; give its "
                        f"current answer with --answer")
    fact = _fact_prompt(args.prompt, args.subject, old, args.paraphrase or ())
    new_fact = _fact_prompt(args.prompt, args.subject, args.new, args.paraphrase or ())
    _encoded(loaded, fact)
    n_new = _encoded(loaded, new_fact).A
    for p in new_fact.paraphrase_facts():
        _encoded(loaded, p)
    corpus = _edit_corpus(args, loaded)
    said_before = _greedy(model, tokenizer, ids, n_new)
    from .facts import rome_edit

    outcome = rome_edit(model, tokenizer, fact, args.new.strip(), args.layer, corpus=corpus,
                        seed=args.seed)
    said_after = _greedy(model, tokenizer, ids, n_new)
    if loaded.is_hf:
        from .hf import save_hf_gpt2

        save_hf_gpt2(args.out, model, tokenizer)
    else:
        from .checkpoint import save_checkpoint

        keep = {k: v for k, v in loaded.extra.items() if k != "train_settings"}
        save_checkpoint(args.out, model.params, config=model.config, tokenizer=tokenizer,
                        extra={**keep, "edits": [*keep.get("edits", []), {
                            "prompt": fact.prompt, "subject": fact.subject, "old": old,
                            "new": args.new.strip(), "layer": outcome.layer}]})
    report = {"source": loaded.source, "out": args.out, "old_answer": old,
              "greedy_before": said_before, "greedy_after": said_after,
              "edit": outcome.to_dict()}
    if args.json:
        print(json.dumps(jsonable(report)))
        return 0
    print(outcome.to_table())
    print(f"\ngreedy continuation of {args.prompt!r}: {said_before!r} -> {said_after!r}")
    kind = "Hugging Face folder" if loaded.is_hf else "checkpoint"
    print(f"wrote the edited model ({kind}): {args.out}")
    return 0


def _cmd_facts_story(args: argparse.Namespace) -> int:
    """``facts story``: the athletes' story (as bare ``facts``), or the general one on a
    facts file's model."""
    from .facts.own_facts import recorded_facts

    extra = {}
    if args.checkpoint:
        from .checkpoint import load_checkpoint

        _load_model(args.checkpoint)  # its errors in one line first
        extra = load_checkpoint(args.checkpoint).extra or {}
    facts = _read_facts(args.facts) if args.facts else recorded_facts(extra)
    if facts is None:
        return _cmd_facts(args)
    from .facts.file_story import parse_subject_edit, run_facts_file_story
    from .facts.own_facts import train_own_facts_model

    if args.checkpoint:
        model, tokenizer = _load_model(args.checkpoint)
        if tokenizer is None:
            raise UserError(f"checkpoint {args.checkpoint} stores no tokenizer")
    else:
        if not args.json:
            print(f"No --checkpoint given: training a model on {args.facts} first.",
                  file=sys.stderr)
        model, tokenizer, _ = train_own_facts_model(
            facts, progress=not args.no_progress and not args.json, source=args.facts)
    if args.edit is not None:
        parse_subject_edit(args.edit, facts)  # fail in one line before the long analysis
    _check_plots(args.plots)
    story = run_facts_file_story(model, tokenizer, facts, edit=args.edit, n_edits=args.n_edits,
                                 plots_dir=args.plots, trace_samples=args.trace_samples,
                                 seed=args.seed)
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
        model, tokenizer = _load_model(args.checkpoint)
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
        _make_folder(args.plots, "--plots")
    result, text, figures = SUPERPOSITION_EXPERIMENTS[args.experiment](args)
    written = []
    for name, fig in figures:
        written.append(save_png(fig, Path(args.plots) / f"{name}.png"))
    if args.json:
        print(json.dumps(jsonable({"experiment": args.experiment, **result, "plots": written})))
    else:
        print(text)
        for path in written:
            print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------- check


def _cmd_check(args: argparse.Namespace) -> int:
    from .check import check_gradients, format_check_table

    start = time.perf_counter()
    rows = check_gradients(seed=args.seed)
    seconds = time.perf_counter() - start
    ok = all(row.ok for row in rows)
    if args.json:
        print(json.dumps({"rows": [vars(row) for row in rows], "ok": ok, "seconds": seconds}))
    else:
        print(format_check_table(rows))
        failed = sum(not row.ok for row in rows)
        verdict = "every gradient OK" if ok else f"{failed} of {len(rows)} NOT OK"
        print(f"\n{verdict} (float64 finite differences, {seconds:.1f} s)")
    return 0 if ok else 1


# ---------------------------------------------------------------------- the parser


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Ends each flag's help with its default, unless it has none to show (``None``, a
    switch) or the help already says it in words."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.default is False or "default" in text:
            return text
        return super()._get_help_string(action)


def _positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {value}")
    return value


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    """The flags of ``minigpt train``."""
    on_resume = "; with --resume, the checkpoint's"
    d = TRAIN_DEFAULTS
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
    p.add_argument("--batch-size", type=int, default=None,
                   help=f"windows of --n-ctx tokens per step (default: {d['batch_size']}"
                        f"{on_resume})")
    p.add_argument("--lr", type=float, default=None,
                   help=f"peak learning rate (default: {d['lr']}{on_resume})")
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
    p.add_argument("--eval-every", type=int, default=None,
                   help=f"evaluate every this many steps, 0 never (default: {d['eval_every']}"
                        f"{on_resume})")
    p.add_argument("--eval-fraction", type=float, default=None,
                   help=f"hold out this last part of the corpus for evaluation, in [0, 1); 0 "
                        f"evaluates on the training text (default: "
                        f"{EVAL_FRACTION} for text and files, 0 for facts{on_resume})")
    p.add_argument("--checkpoint-every", type=int, default=None,
                   help=f"also save every this many steps, 0 only at the end and on Ctrl-C "
                        f"(default: {d['checkpoint_every']}{on_resume})")
    p.add_argument("--seed", type=int, default=None,
                   help=f"seed of the weights and batches (default: {d['seed']}{on_resume})")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _add_story_flags(p: argparse.ArgumentParser, with_facts: bool) -> None:
    """The flags of bare ``facts`` and of ``facts story``."""
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="a facts model (minigpt demo --out ... or minigpt train --facts ...) "
                        "(default: train one first)")
    if with_facts:
        p.add_argument("--facts", default=None, metavar="FILE",
                       help="your facts file (CSV/TSV: subject, prompt, answer, paraphrase "
                            "...): the story on its facts (default: the facts the checkpoint "
                            "records, else the athletes)")
    own = ", or 'France=Rome' (subject=new answer) for your own facts" if with_facts else ""
    p.add_argument("--edit", default=None, metavar="'First Last=sport'",
                   help=f"rewrite one fact, e.g. 'Michael Jordan=golf'{own} (default: none)")
    p.add_argument("--n-edits", type=int, default=20,
                   help="facts to rewrite one by one for the efficacy table (0 skips)")
    p.add_argument("--trace-samples", type=int, default=10, help="noise samples in tracing")
    p.add_argument("--plots", default=None, metavar="DIR",
                   help="write PNG figures into this folder, made if needed (default: none)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random parts")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _add_model_flags(p: argparse.ArgumentParser) -> None:
    """--checkpoint | --hf-dir, and the fact's prompt and subject."""
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="a minigpt checkpoint (default: none; give this or --hf-dir)")
    p.add_argument("--hf-dir", default=None, metavar="DIR",
                   help="a Hugging Face GPT-2 folder (config.json, model.safetensors, "
                        "vocab.json, merges.txt) (default: none)")
    p.add_argument("--prompt", required=True,
                   help="the text before the answer, e.g. 'The capital of France is'")
    p.add_argument("--subject", required=True,
                   help="what the fact is about, as it occurs in the prompt, e.g. 'France'")


def _add_facts_subcommands(facts: argparse.ArgumentParser) -> None:
    """``facts trace``, ``facts edit`` and ``facts story``."""
    sub = facts.add_subparsers(dest="facts_command", metavar="SUBCOMMAND",
                               help="trace, edit or story (default: the athletes' story, "
                                    "with the flags above)")
    sub.required = False

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, formatter_class=_HelpFormatter, **kwargs)

    p = command("trace", help="causal tracing of one fact in any GPT",
                description="Where does the model keep this fact? Print p(answer), then "
                            "ROME's causal trace: the subject's embeddings are corrupted "
                            "with noise, and one hidden state at a time (residual stream, "
                            "MLP output, attention output, per layer and position) is "
                            "restored; the table shows how much each restores p(answer).")
    _add_model_flags(p)
    p.add_argument("--answer", required=True, help="the answer, e.g. 'Paris'")
    p.add_argument("--window", type=int, default=1,
                   help="restore the MLP and attention outputs of this many layers around "
                        "each layer at once (ROME: 10 of GPT-2 XL's 48)")
    p.add_argument("--samples", type=int, default=10, help="noise samples")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--plots", default=None, metavar="DIR",
                   help="write trace_resid.png, trace_mlp.png and trace_attn.png into this "
                        "folder, made if needed (default: none)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_facts_trace)

    p = command("edit", help="rewrite one fact with ROME and save the edited model",
                description="Rank-one model editing (ROME): change one MLP's down-projection "
                            "so that the subject's key maps to a value that makes the model "
                            "say the new answer. The edited model is written to --out: a "
                            "checkpoint file when the input is a checkpoint, a Hugging Face "
                            "folder when the input is one.")
    _add_model_flags(p)
    p.add_argument("--new", required=True, help="the new answer, e.g. 'Rome'")
    p.add_argument("--out", required=True, metavar="FILE|DIR",
                   help="where to write the edited model (checked before the edit)")
    p.add_argument("--answer", default=None,
                   help="the current answer (default: the model's own greedy answer)")
    p.add_argument("--layer", type=int, default=None,
                   help="the MLP layer to edit (default: the causal trace's MLP peak at the "
                        "subject's last token)")
    p.add_argument("--paraphrase", action="extend", nargs="+", default=None, metavar="Q",
                   help="other prompts with the subject, to measure whether the edit "
                        "generalizes (default: none)")
    p.add_argument("--corpus", default=None, metavar="FILE",
                   help="a UTF-8 text for the key covariance (default: the embedded play "
                        "when the tokenizer reads it, else the checkpoint's training text)")
    p.add_argument("--seed", type=int, default=0, help="seed of the edit")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_facts_edit)

    p = command("story", help="the whole story, on the athletes or on your own facts",
                description="Every experiment of 'minigpt facts' on a model: the athletes' "
                            "demo model (as bare 'minigpt facts'), or a model of your own "
                            "facts (minigpt train --facts FILE), whose checkpoint records "
                            "them; on your facts the hand-built MLP is left out.")
    _add_story_flags(p, with_facts=True)
    p.set_defaults(func=_cmd_facts_story)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``minigpt`` command, one subparser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="minigpt", formatter_class=_HelpFormatter,
        description="A GPT-3-shaped transformer in numpy that shows where a model keeps its facts.",
    )
    parser.add_argument("--blas-threads", type=_positive_int, default=None, metavar="N",
                        help="BLAS threads for every matrix product (default: one per core); "
                             "1 is faster when other work keeps the cores busy "
                             "(needs threadpoolctl: pip install 'minigpt[fast]')")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, formatter_class=_HelpFormatter, **kwargs)

    p = command("params", help="print GPT-3's parameter counts (Table 2.1), exactly",
                description="Count the parameters of the eight GPT-3 models of Table 2.1 "
                            "from their shapes, and how many sit in the MLPs.")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_params)

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

    p = command("train", help="train a model on a corpus",
                description="Train a GPT on 'facts' (the athletes corpus), 'text' (the "
                            "embedded public-domain play) or a UTF-8 file. The last "
                            "--eval-fraction of a text corpus is held out for evaluation "
                            "(the output says how much). Ctrl-C saves a checkpoint and prints "
                            "the command that resumes it.")
    _add_train_flags(p)
    p.set_defaults(func=_cmd_train)

    p = command("generate", help="continue a prompt with a trained model",
                description="Generate text from a checkpoint, with a key/value cache.")
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="a checkpoint written by train or demo (default: none; give this "
                        "or --hf-dir)")
    p.add_argument("--hf-dir", default=None, metavar="DIR",
                   help="a Hugging Face GPT-2 folder (config.json, model.safetensors, "
                        "vocab.json, merges.txt) instead of a checkpoint (default: none)")
    p.add_argument("--prompt", required=True, help="text to continue (not empty)")
    p.add_argument("--max-new-tokens", type=int, default=50,
                   help=f"tokens to add, 0 to {MAX_NEW_TOKENS:,}")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="divides the logits before sampling; 0 (or --greedy) takes the most "
                        "likely token")
    p.add_argument("--greedy", action="store_true", help="always take the most likely token")
    p.add_argument("--top-k", type=_positive_int, default=None,
                   help="sample among the k most likely tokens only (default: all)")
    p.add_argument("--top-p", type=float, default=None,
                   help="sample among the most likely tokens holding this much probability, "
                        "in (0, 1] (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_generate)

    p = command("facts", help="build, find, knock out and edit facts in the demo model",
                description="The whole story: the video's hand-built fact MLP, then recall, "
                            "ablation, causal tracing, logit lens, neurons and rank-one edits "
                            "on the trained demo model. The subcommands trace and edit one "
                            "fact of any model (a checkpoint or a GPT-2 folder); 'story' "
                            "also runs on a model of your own facts.")
    _add_story_flags(p, with_facts=False)
    p.set_defaults(func=_cmd_facts)
    _add_facts_subcommands(p)

    p = command("superposition",
                help="nearly perpendicular directions, capacity, toy models",
                description="Experiments on superposition: 'perpendicular' reruns the "
                            "video's 10,000-vectors-in-100-dimensions run and checks its "
                            "claim; 'capacity' counts how many nearly perpendicular "
                            "directions fit; 'toy' trains Toy Models of Superposition; "
                            "'facts-per-neuron' measures how many facts an MLP stores "
                            "per neuron; 'sae' trains sparse autoencoders on planted "
                            "features (and on a facts model with --checkpoint).")
    p.add_argument("experiment", choices=sorted(SUPERPOSITION_EXPERIMENTS),
                   help="which experiment to run")
    p.add_argument("--n", type=int, default=10_000, help="vectors (perpendicular)")
    p.add_argument("--d", type=int, default=100, help="dimensions (perpendicular)")
    p.add_argument("--steps", type=int, default=250, help="Adam steps (perpendicular)")
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="sae: also train on this facts model's neurons (minigpt demo --out) "
                        "(default: planted features only)")
    p.add_argument("--seed", type=int, default=0, help="seed of the experiment")
    p.add_argument("--plots", default=None, metavar="DIR",
                   help="write PNG figures into this folder, made if needed (default: none)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_superposition)

    p = command("check", help="prove every gradient by finite differences (float64)",
                       description="Check the backward of every op of minigpt.nn and the "
                                   "gradients of a whole model against central finite "
                                   "differences in float64; one row per op. Exit code 1 if "
                                   "any is NOT OK.")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_check)
    return parser


def _interrupted(e: TrainingInterrupted, has_out: bool) -> str:
    """What Ctrl-C during training left behind, and the command that continues it;
    ``has_out``: whether the command has an --out flag to suggest."""
    if e.checkpoint is None:
        hint = " (--out FILE keeps a checkpoint)" if has_out else ""
        return f"interrupted after step {e.step}; nothing saved{hint}"
    path = shlex.quote(e.checkpoint)
    return (f"interrupted after step {e.step}; saved it to {e.checkpoint}; resume with: "
            f"minigpt train --resume {path} --out {path}")


def _quiet_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush of a pipe whose
    reader left does not fail again (the recipe of Python's ``signal`` docs)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``minigpt`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when ``None``.

    Returns
    -------
    int
        The exit code: 0 on success; 2 on an error the user can fix (one line on stderr:
        bad input, a file that cannot be read or written, training that diverged, not
        enough memory); 130 after Ctrl-C (one line; ``train`` and ``demo`` save first when
        they have an output file and print how to resume); 141, silently, when the reader
        of stdout went away (``minigpt params | head -1``). Anything else is a bug and
        shows its traceback.
    """
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    keep_freed_memory()  # this process is ours: reuse freed memory (see minigpt.allocator)

    def say(message: str, after_ctrl_c: bool = False) -> None:
        # on a terminal, Ctrl-C leaves the cursor after "^C" or a progress bar
        start = "\n" if after_ctrl_c and sys.stderr.isatty() else ""
        print(f"{start}minigpt {args.command}: {message}", file=sys.stderr)

    try:
        if args.blas_threads is not None and not threadpoolctl_available():
            raise UserError("--blas-threads needs threadpoolctl: pip install 'minigpt[fast]'")
        with blas_threads(args.blas_threads):
            code = func(args)
        sys.stdout.flush()  # a reader that went away shows here at the latest
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except TrainingInterrupted as e:
        say(_interrupted(e, has_out=hasattr(args, "out")), after_ctrl_c=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        say("interrupted", after_ctrl_c=True)
        return EXIT_INTERRUPTED
    except MemoryError as e:
        say(f"error: not enough memory: {e}")
        return EXIT_USER_ERROR
    except (UserError, ValueError, OSError, NonFiniteError) as e:
        say(f"error: {e}")
        return EXIT_USER_ERROR
