"""The demo facts model, trained once and shared by every chapter of the book.

:func:`demo_model` trains :func:`minigpt.facts.train_facts_model` with its default settings
the first time it is called and saves the checkpoint (and the loss history) in a cache
directory; later calls, in this process or in another one, load a fresh copy from it. The
cache key is a hash of minigpt's source and data files, so a change to the library
retrains the model and no chapter ever shows numbers from older code.

The cache lives in ``$MINIGPT_DOCS_CACHE`` if set, else in ``docs/_build/demo_cache``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import minigpt
from minigpt.facts import load_model, train_facts_model

DOCS = Path(__file__).resolve().parents[1]
SEED = 0


def cache_dir() -> Path:
    """Where the checkpoint and its training history are kept."""
    return Path(os.environ.get("MINIGPT_DOCS_CACHE", DOCS / "_build" / "demo_cache"))


def source_key() -> str:
    """A short hash of every source and data file of the installed-from-here minigpt."""
    package = Path(minigpt.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".csv", ".txt") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    digest.update(f"seed={SEED}".encode())
    return digest.hexdigest()[:16]


def demo_model():
    """The trained demo model, its tokenizer and its training history.

    Returns
    -------
    model : minigpt.GPT
    tokenizer : minigpt.tokenizers.WordTokenizer
    history : dict
        ``losses`` (one per step), ``evals`` ((step, loss) pairs), ``seconds`` (training
        wall time when it was trained), ``tokens_per_second``, ``steps``.
    """
    key = source_key()
    directory = cache_dir()
    ckpt = directory / f"facts-{key}.safetensors"
    log = directory / f"facts-{key}.json"
    if not (ckpt.exists() and log.exists()):
        directory.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        _, _, result = train_facts_model(seed=SEED, out=ckpt, progress=False)
        history = {"losses": [float(x) for x in result.losses],
                   "evals": [[int(s), float(x)] for s, x in result.evals],
                   "seconds": result.seconds, "tokens_per_second": result.tokens_per_second,
                   "steps": result.step, "wall_seconds": time.perf_counter() - t0}
        tmp = log.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(history))
        tmp.replace(log)
    model, tokenizer = load_model(ckpt)  # a fresh copy: a chapter may change its weights
    return model, tokenizer, json.loads(log.read_text())
