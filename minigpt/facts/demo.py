"""The demo model: a tiny GPT-3-shaped transformer that memorizes who plays which sport.

Every fact of :func:`minigpt.data.load_facts` in every sentence template, word tokens,
alternating dense and banded attention, GELU: trained from scratch in about half a minute
on two cores, it completes "Michael Jordan plays" with "basketball".

:func:`demo_model` is what the book's chapters call: it trains the model once, keeps the
checkpoint in a cache folder, and loads it from there afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_path
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
DEMO_CACHE_ENV = "MINIGPT_DEMO_CACHE"  # overrides the default cache folder of demo_model
_SOURCE_SUFFIXES = (".py", ".csv", ".txt")  # what the cache key hashes: code and data
_KEY_LENGTH = 16  # hex digits of the cache key kept in the file names


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


def default_cache_dir() -> Path:
    """The folder :func:`demo_model` keeps its checkpoint in when given none.

    Returns
    -------
    Path
        ``$MINIGPT_DEMO_CACHE`` if set, else ``minigpt/demo`` under ``$XDG_CACHE_HOME``
        (``~/.cache`` when that is not set either).
    """
    if os.environ.get(DEMO_CACHE_ENV):
        return Path(os.environ[DEMO_CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "minigpt" / "demo"


def source_key(seed: int = 0) -> str:
    """A short hash of minigpt's own source and data files and the seed.

    The checkpoint of :func:`demo_model` is stored under this key, so any change to the
    library (or another seed) trains a new model instead of reusing an old one.

    Parameters
    ----------
    seed : int

    Returns
    -------
    str
        16 hexadecimal digits.

    Examples
    --------
    >>> len(source_key()), source_key() == source_key(), source_key(0) == source_key(1)
    (16, True, False)
    """
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in _SOURCE_SUFFIXES and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package).as_posix()).encode())
            digest.update(path.read_bytes())
    digest.update(f"seed={seed}".encode())
    return digest.hexdigest()[:_KEY_LENGTH]


def demo_model(
    cache_dir: str | os.PathLike | None = None, seed: int = 0, progress: bool = False
) -> tuple[GPT, WordTokenizer, dict[str, Any]]:
    """The trained demo model, trained on first use and loaded from a cache afterwards.

    The first call trains :func:`train_facts_model` with its default settings (about half a
    minute on two idle cores) and saves the checkpoint and its training history in
    ``cache_dir``; every later call, in this process or another, loads a fresh copy from
    there. The files are named by :func:`source_key`, so a changed library retrains.

    Parameters
    ----------
    cache_dir : path, optional
        Where the checkpoint is kept (created if missing). Default:
        :func:`default_cache_dir`.
    seed : int
        Seed of the initialisation and the batches.
    progress : bool
        Show a progress bar while training.

    Returns
    -------
    model : GPT
        A fresh copy: changing its weights does not change the cached checkpoint.
    tokenizer : WordTokenizer
    history : dict
        ``losses`` (one per step), ``evals`` (``[step, loss]`` pairs), ``seconds``
        (training time when it was trained), ``tokens_per_second``, ``steps`` and
        ``wall_seconds`` (the whole call that trained it).

    Notes
    -----
    Both files are written atomically (:func:`minigpt.atomic.atomic_path`), and a model
    counts as cached only when both exist: a run interrupted during training leaves no
    half-written file and is trained again by the next call.
    """
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = source_key(seed)
    ckpt = directory / f"facts-{key}.safetensors"
    log = directory / f"facts-{key}.json"
    if not (ckpt.is_file() and log.is_file()):
        directory.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        _, _, result = train_facts_model(seed=seed, out=ckpt, progress=progress)
        history = {"losses": [float(x) for x in result.losses],
                   "evals": [[int(s), float(x)] for s, x in result.evals],
                   "seconds": result.seconds, "tokens_per_second": result.tokens_per_second,
                   "steps": result.step, "wall_seconds": time.perf_counter() - t0}
        with atomic_path(log) as tmp:
            Path(tmp).write_text(json.dumps(history), encoding="utf-8")
    model, tokenizer = load_model(ckpt)
    return model, tokenizer, json.loads(log.read_text(encoding="utf-8"))
