"""The demo model: a tiny GPT-3-shaped transformer that memorizes who plays which sport.

Every fact of :func:`minigpt.data.load_facts` in every sentence template, word tokens,
alternating dense and banded attention, GELU: trained from scratch in about half a minute
on two cores, it completes "Michael Jordan plays" with "basketball".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..checkpoint import load_checkpoint
from ..config import GPTConfig
from ..data import Fact, facts_corpus, load_facts
from ..model import GPT
from ..tokenizers import WordTokenizer, tokenizer_from_json
from ..train import TrainResult, TrainSettings, train

# The shape of the demo model: GPT-3's architecture at toy size.
DEMO_SHAPE = dict(n_ctx=16, n_layer=4, n_head=4, d_model=64, activation="gelu",
                  attention="alternating", local_window=4)
DEMO_SETTINGS = TrainSettings(steps=1000, batch_size=32, lr=3e-3, warmup_steps=50,
                              eval_every=100, eval_batches=4, seed=0)


def facts_dataset(
    facts: Sequence[Fact] | None = None, templates: Sequence[str] | None = None
) -> tuple[WordTokenizer, np.ndarray, np.ndarray]:
    """Tokenize the facts corpus for training.

    Parameters
    ----------
    facts : sequence of Fact, optional
        Default: the embedded athletes.
    templates : sequence of str, optional
        Default: every template of :data:`minigpt.data.TEMPLATES`.

    Returns
    -------
    tokenizer : WordTokenizer
        Built from the corpus: every name and sport is one token.
    ids : ndarray of int64, shape (N,)
        The corpus, one sentence per line.
    starts : ndarray of int64
        Positions where a line begins: training windows start there, as prompts do.

    Examples
    --------
    >>> tok, ids, starts = facts_dataset()
    >>> tok.decode(ids[starts[0]:starts[1]])
    'Michael Jordan plays basketball.\\n'
    """
    text = facts_corpus(facts, templates)
    tokenizer = WordTokenizer.from_text(text)
    ids = tokenizer.encode(text)
    newline = tokenizer.encode("\n")[0]
    starts = np.concatenate([[0], np.flatnonzero(ids == newline) + 1]).astype(np.int64)
    return tokenizer, ids, starts


def train_facts_model(
    steps: int | None = None,
    seed: int = 0,
    out: str | os.PathLike | None = None,
    progress: bool = True,
    facts: Sequence[Fact] | None = None,
    **shape: Any,
) -> tuple[GPT, WordTokenizer, TrainResult]:
    """Train the demo model on the facts corpus.

    Parameters
    ----------
    steps : int, optional
        Optimizer steps, >= 1 (default :data:`DEMO_SETTINGS`' 1000).
    seed : int
        Seeds the initialisation and the batches.
    out : path, optional
        Where to save the checkpoint (with its tokenizer).
    progress : bool
        Show the progress bar.
    facts : sequence of Fact, optional
        Default: the embedded athletes.
    **shape
        Overrides of :data:`DEMO_SHAPE` (e.g. ``d_model=128``).

    Returns
    -------
    model : GPT
    tokenizer : WordTokenizer
    result : TrainResult
    """
    tokenizer, ids, starts = facts_dataset(facts)
    cfg = GPTConfig(vocab_size=tokenizer.vocab_size, **{**DEMO_SHAPE, **shape})
    model = GPT(cfg, seed=seed)
    steps = DEMO_SETTINGS.steps if steps is None else steps
    settings = TrainSettings(**{**DEMO_SETTINGS.__dict__, "seed": seed, "steps": steps,
                                "warmup_steps": min(DEMO_SETTINGS.warmup_steps, steps // 10)})
    result = train(model, ids, settings, starts=starts, tokenizer=tokenizer, out=out,
                   progress=progress, extra={"corpus": "facts"})
    return model, tokenizer, result


def load_model(path: str | os.PathLike) -> tuple[GPT, Any]:
    """Load a trained model and its tokenizer from a minigpt checkpoint.

    Parameters
    ----------
    path : path
        A file written by :func:`minigpt.train.train` or :func:`minigpt.checkpoint.save_checkpoint`.

    Returns
    -------
    model : GPT
        In the checkpoint's dtype.
    tokenizer : tokenizer or None
        ``None`` when the checkpoint stored none.

    Raises
    ------
    FileNotFoundError, minigpt.checkpoint.CheckpointError
    """
    ckpt = load_checkpoint(path)
    dtype = next(iter(ckpt.params.values())).dtype
    model = GPT(ckpt.config, dtype=dtype, params=ckpt.params)
    tokenizer = None if ckpt.tokenizer is None else tokenizer_from_json(ckpt.tokenizer)
    return model, tokenizer
