"""``minigpt facts edit``: rewrite one fact of any GPT with ROME and save the edited model."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..facts.rome import N_PREFIXES, SUBJECT_TOKENS
from ..tables import jsonable
from .common import (UserError, _Loaded, _add_model_flags, _check_writable, _encoded,
                     _fact_prompt, _greedy, _load_any, _read_corpus)

MAX_ANSWER_TOKENS = 8  # how far `facts edit` reads the model's own answer when none is given
ANSWER_ENDS = "\n.,;:!?"  # the model's own answer is cut at the first of these


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


def _said(model: Any, tokenizer: Any, ids: np.ndarray) -> str:
    """The model's greedy continuation of a prompt up to the first line end or
    punctuation, at most MAX_ANSWER_TOKENS tokens."""
    text = _greedy(model, tokenizer, ids, MAX_ANSWER_TOKENS)
    cut = min((i for i in (text.find(c) for c in ANSWER_ENDS) if i >= 0), default=len(text))
    return text[:cut] if text[:cut].strip() else text


def _own_answer(model: Any, tokenizer: Any, ids: np.ndarray) -> str:
    """The model's answer to a prompt: :func:`_said` without outer whitespace."""
    return _said(model, tokenizer, ids).strip()


def _edit_corpus(args: argparse.Namespace, loaded: _Loaded) -> str | None:
    """The text of ROME's key covariance: --corpus, else the embedded play when the
    tokenizer reads it (``None``), else what the checkpoint was trained on."""
    from ..data import facts_corpus, load_text
    from ..facts.own_facts import fact_sentences, recorded_facts

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
    if args.prefixes < 0:
        raise UserError(f"--prefixes must be 0 or more, got {args.prefixes}")
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
    _encoded(loaded, new_fact)
    for p in new_fact.paraphrase_facts():
        _encoded(loaded, p)
    corpus = _edit_corpus(args, loaded)
    said_before = _said(model, tokenizer, ids)
    from ..facts import rome_edit

    outcome = rome_edit(model, tokenizer, fact, args.new.strip(), args.layer, corpus=corpus,
                        seed=args.seed, token=args.token, n_prefixes=args.prefixes)
    said_after = _said(model, tokenizer, ids)
    if loaded.is_hf:
        from ..hf import save_hf_gpt2

        save_hf_gpt2(args.out, model, tokenizer)
    else:
        from ..checkpoint import save_checkpoint

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


def add_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``minigpt facts edit`` and its flags; ``command(name, **kwargs)`` makes its parser."""
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
    p.add_argument("--token", choices=SUBJECT_TOKENS, default="last",
                   help="the subject token the edit reads: 'last' (ROME's choice) or "
                        "'traced' (the one whose state after the edited layer the causal "
                        "trace finds carries the fact, e.g. a name's distinctive BPE piece)")
    p.add_argument("--prefixes", type=int, default=N_PREFIXES, metavar="N",
                   help="copies of the prompt after random 10-token windows of the corpus, "
                        "among the texts the edit is computed on")
    p.add_argument("--seed", type=int, default=0, help="seed of the edit")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_facts_edit)
