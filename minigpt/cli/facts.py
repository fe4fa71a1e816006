"""``minigpt facts``: the whole story of facts in a GPT, and its subcommands.

Bare ``minigpt facts`` prints the athletes' story (:mod:`minigpt.cli.story`);
``facts story`` prints it too, or, on a model of your own facts, the story of
:mod:`minigpt.cli.file_story`. ``facts trace`` (:mod:`minigpt.cli.facts_trace`) and
``facts edit`` (:mod:`minigpt.cli.facts_edit`) work on one fact of any model.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from ..tables import jsonable
from . import facts_edit, facts_trace
from .common import (_HelpFormatter, _check_plots, _load_model, _load_model_with_tokenizer,
                     _read_facts)


def _print_story(story: Any, as_json: bool) -> int:
    """Print a story (either kind): one JSON object, or its text and the figures written."""
    if as_json:
        print(json.dumps(jsonable(story.to_dict())))
    else:
        print(story.to_text())
        for path in story.plots:
            print(f"wrote {path}")
    return 0


def _cmd_facts(args: argparse.Namespace) -> int:
    from ..facts import train_facts_model
    from .story import parse_edit, run_facts_story

    if args.checkpoint:
        model, tokenizer = _load_model_with_tokenizer(args.checkpoint)
    else:
        if not args.json:
            print("No --checkpoint given: training the demo model first.", file=sys.stderr)
        model, tokenizer, _ = train_facts_model(progress=not args.no_progress and not args.json)
    if args.edit is not None:
        parse_edit(args.edit, tokenizer)  # fail in one line before the long analysis
    _check_plots(args.plots)
    story = run_facts_story(model, tokenizer, edit=args.edit, n_edits=args.n_edits,
                            plots_dir=args.plots, trace_samples=args.trace_samples,
                            seed=args.seed)
    return _print_story(story, args.json)


def _cmd_facts_story(args: argparse.Namespace) -> int:
    """``facts story``: the athletes' story (as bare ``facts``), or the general one on a
    facts file's model."""
    from ..facts.own_facts import recorded_facts

    extra = {}
    if args.checkpoint:
        from ..checkpoint import load_checkpoint

        _load_model(args.checkpoint)  # its errors in one line first
        extra = load_checkpoint(args.checkpoint).extra or {}
    facts = _read_facts(args.facts) if args.facts else recorded_facts(extra)
    if facts is None:
        return _cmd_facts(args)
    from ..facts.own_facts import train_own_facts_model
    from .file_story import parse_subject_edit, run_facts_file_story

    if args.checkpoint:
        model, tokenizer = _load_model_with_tokenizer(args.checkpoint)
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
    return _print_story(story, args.json)


# ---------------------------------------------------------------------- the parsers


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


def _add_facts_subcommands(facts: argparse.ArgumentParser) -> None:
    """``facts trace``, ``facts edit`` and ``facts story``."""
    sub = facts.add_subparsers(dest="facts_command", metavar="SUBCOMMAND",
                               help="trace, edit or story (default: the athletes' story, "
                                    "with the flags above)")
    sub.required = False

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, formatter_class=_HelpFormatter, **kwargs)

    facts_trace.add_command(command)
    facts_edit.add_command(command)
    p = command("story", help="the whole story, on the athletes or on your own facts",
                description="Every experiment of 'minigpt facts' on a model: the athletes' "
                            "demo model (as bare 'minigpt facts'), or a model of your own "
                            "facts (minigpt train --facts FILE), whose checkpoint records "
                            "them; on your facts the hand-built MLP is left out.")
    _add_story_flags(p, with_facts=True)
    p.set_defaults(func=_cmd_facts_story)


def add_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``minigpt facts``, its flags and its subcommands; ``command(name, **kwargs)``
    makes its parser."""
    p = command("facts", help="build, find, knock out and edit facts in the demo model",
                description="The whole story: the video's hand-built fact MLP, then recall, "
                            "ablation, causal tracing, logit lens, neurons and rank-one edits "
                            "on the trained demo model. The subcommands trace and edit one "
                            "fact of any model (a checkpoint or a GPT-2 folder); 'story' "
                            "also runs on a model of your own facts.")
    _add_story_flags(p, with_facts=False)
    p.set_defaults(func=_cmd_facts)
    _add_facts_subcommands(p)
