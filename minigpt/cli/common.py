"""What the commands share: one-line errors, checks done before the work, loading.

A problem the user can fix is a :class:`UserError` (one line on stderr, exit code 2). The
checks here run before a command starts its work, so that nothing is thrown away by a late
failure; the loaders name what is wrong in the flags' words.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..tokenizers import MAX_SHOWN, PIECE_NOUNS, UnknownPieceError


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


# ---------------------------------------------------------------------- checks before the work


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


def _check_plots(plots: str | None) -> None:
    """For ``--plots DIR``: matplotlib is there and the folder takes files, before the work."""
    if plots is None:
        return
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError as e:
        raise UserError("--plots needs matplotlib: pip install 'minigpt[plot]'") from e
    _make_folder(plots, "--plots")


# ---------------------------------------------------------------------- reading the inputs


def _load_model(path: str) -> tuple[Any, Any]:
    """:func:`minigpt.facts.load_model` with the errors of a file minigpt cannot use as one
    line: weights of an unsupported dtype (float16, float8) end in TypeError or
    AttributeError inside numpy."""
    from ..facts import load_model

    try:
        return load_model(path)
    except (TypeError, AttributeError) as e:
        raise UserError(f"cannot use the checkpoint {path}: {e}") from e



def _load_model_with_tokenizer(path: str) -> tuple[Any, Any]:
    """:func:`_load_model` for a command that reads text: a checkpoint without a
    tokenizer is refused in one line."""
    model, tokenizer = _load_model(path)
    if tokenizer is None:
        raise UserError(f"checkpoint {path} stores no tokenizer")
    return model, tokenizer

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


def _read_corpus(corpus: str) -> str:
    from ..data import facts_corpus, load_text

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


def _read_facts(path: str, flag: str = "--facts") -> list[Any]:
    """:func:`minigpt.data.read_facts_file`, its errors as one line naming the flag."""
    from ..data import read_facts_file

    try:
        return read_facts_file(path)
    except FileNotFoundError:
        raise UserError(f"{flag} {path}: no such file (a CSV/TSV with the columns "
                        f"subject, prompt, answer)") from None
    except ValueError as e:
        raise UserError(f"{flag}: {e}") from None


# ---------------------------------------------------------------------- one fact of any model


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
        from ..hf import load_hf_gpt2

        try:
            model, tokenizer = load_hf_gpt2(args.hf_dir)
        except (TypeError, AttributeError) as e:  # weights numpy cannot use (e.g. float8)
            raise UserError(f"cannot use the folder {args.hf_dir}: {e}") from e
        if tokenizer is None:
            raise UserError(f"the folder {args.hf_dir} has no tokenizer: it needs vocab.json "
                            f"and merges.txt beside config.json")
        return _Loaded(model, tokenizer, args.hf_dir, True, {})
    from ..checkpoint import load_checkpoint

    model, tokenizer = _load_model_with_tokenizer(args.checkpoint)
    return _Loaded(model, tokenizer, args.checkpoint, False,
                   load_checkpoint(args.checkpoint).extra or {})


def _fact_prompt(prompt: str, subject: str, answer: str, paraphrases: Sequence[str] = ()
                 ) -> Any:
    """The fact of --prompt, --subject and the answer, its problems in the flags' words."""
    from ..data import FactPrompt

    for flag, value in (("--prompt", prompt), ("--subject", subject)):
        if not value.strip():
            raise UserError(f"{flag} is empty")
    if subject.strip() not in prompt:
        raise UserError(f"--subject {subject!r} does not occur in --prompt {prompt!r}")
    return FactPrompt(prompt, subject.strip(), answer.strip(), tuple(paraphrases))


def _encoded(loaded: _Loaded, fact: Any) -> Any:
    """:func:`minigpt.interp.encode_fact` checked against the model (unknown pieces, n_ctx)."""
    from ..interp import encode_fact

    return encode_fact(loaded.tokenizer, fact, loaded.model)


def _greedy(model: Any, tokenizer: Any, ids: np.ndarray, n: int) -> str:
    """The model's greedy continuation of ``ids``, ``n`` tokens (fewer at n_ctx), decoded."""
    n = min(n, model.config.n_ctx - len(ids))
    if n <= 0:
        return ""
    out = model.generate(ids, n, temperature=0)
    return tokenizer.decode(out[len(ids):])


# ---------------------------------------------------------------------- the parsers


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
