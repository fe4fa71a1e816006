"""A model of your own facts: the training text, tokenizer and shape for a facts file.

``minigpt train --facts FILE`` trains a GPT that recalls every fact of a CSV/TSV file
(format: :mod:`minigpt.data.facts_file`). Nothing is held out: a model that memorizes facts
is judged on the facts themselves. Each fact is written in several sentence forms, one per
line, so that the model learns the fact and not one wording of it:

    The capital of France is Paris          (the prompt, then the answer)
    France's capital is Paris               (each paraphrase, then the answer)
    The capital city of France is Paris

The tokenizer is built from these sentences (``"word"`` or ``"char"``), or is a byte-level
BPE (``"bpe"``) trained by :func:`minigpt.bpe.train_bpe` on the sentences and the embedded
play, so that names become several tokens as in GPT-2. The checkpoint records the file's
facts (:func:`facts_record`), so that resuming and ``minigpt facts story`` rebuild them
(:func:`recorded_facts`) without the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..bpe import train_bpe
from ..config import GPTConfig
from ..data import FactPrompt, load_text
from ..model import GPT
from ..tokenizers import CharTokenizer, WordTokenizer
from ..train import TrainResult, TrainSettings, train

# The shape of a new facts model where no flag gives it. Dense attention: a prompt's
# subject may be anywhere before its last token.
FACTS_SHAPE = dict(n_layer=4, n_head=4, d_model=64, activation="gelu", attention="dense")
FACTS_STEPS = 600  # reaches 60 of 60 on the embedded capitals (minigpt.data.load_capitals)
FACTS_BATCH = 32  # sentences' windows per step
FACTS_LR = 3e-3  # peak learning rate
MAX_WARMUP = 50  # warmup: a tenth of the steps, at most this many
MIN_FACTS_CTX = 16  # n_ctx of a facts model: its longest sentence, at least this
TOKENIZER_KINDS = ("word", "char", "bpe")
BPE_MERGES = 500  # merges learned for --tokenizer bpe (vocabulary 256 + this)
LINE_END = "\n"  # ends every training sentence


def fact_sentences(facts: Sequence[FactPrompt]) -> list[str]:
    """Every sentence form of every fact: its prompt, then each paraphrase, with the answer.

    Parameters
    ----------
    facts : sequence of FactPrompt

    Returns
    -------
    list of str
        ``prompt + continuation`` and ``paraphrase + continuation`` for each fact, in order,
        each ending with a newline.

    Examples
    --------
    >>> fact = FactPrompt("The capital of France is", "France", "Paris", ["France's capital is"])
    >>> fact_sentences([fact])
    ['The capital of France is Paris\\n', "France's capital is Paris\\n"]
    """
    facts = _check_facts(facts)
    return [prompt + fact.continuation + LINE_END
            for fact in facts for prompt in (fact.prompt,) + fact.paraphrases]


def facts_tokenizer(facts: Sequence[FactPrompt], kind: str = "word",
                    n_merges: int = BPE_MERGES) -> Any:
    """The tokenizer of a new facts model.

    Parameters
    ----------
    facts : sequence of FactPrompt
    kind : {"word", "char", "bpe"}
        ``"word"`` and ``"char"``: every distinct piece of :func:`fact_sentences`.
        ``"bpe"``: :func:`minigpt.bpe.train_bpe` on the sentences followed by the embedded
        play (:func:`minigpt.data.load_text`), so that rare names are cut into several
        tokens and any text can be encoded.
    n_merges : int
        For ``"bpe"``: merges to learn at most.

    Returns
    -------
    WordTokenizer, CharTokenizer or GPT2Tokenizer

    Examples
    --------
    >>> fact = FactPrompt("The capital of France is", "France", "Paris")
    >>> facts_tokenizer([fact]).vocab
    ['\\n', ' France', ' Paris', ' capital', ' is', ' of', 'The']
    """
    text = "".join(fact_sentences(facts))
    if kind == "word":
        return WordTokenizer.from_text(text)
    if kind == "char":
        return CharTokenizer.from_text(text)
    if kind == "bpe":
        return train_bpe(text + load_text(), n_merges)
    raise ValueError(f"kind must be one of {TOKENIZER_KINDS}, got {kind!r}")


def facts_stream(tokenizer: Any, facts: Sequence[FactPrompt]) -> tuple[np.ndarray, np.ndarray]:
    """The training tokens of a facts model and where each sentence starts.

    Parameters
    ----------
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    facts : sequence of FactPrompt

    Returns
    -------
    ids : ndarray of int64, shape (N,)
        :func:`fact_sentences`, each encoded on its own, concatenated.
    starts : ndarray of int64, shape (S,)
        The position of each sentence's first token: training windows start there, as
        prompts do.

    Raises
    ------
    ValueError
        If the tokenizer cannot encode a sentence (a piece outside its vocabulary).
    """
    pieces = [np.asarray(tokenizer.encode(s), dtype=np.int64) for s in fact_sentences(facts)]
    lengths = np.array([len(p) for p in pieces], dtype=np.int64)  # (S,)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)  # (S,)
    return np.concatenate(pieces), starts  # (N,), (S,)


def facts_context(tokenizer: Any, facts: Sequence[FactPrompt]) -> int:
    """The context length a new facts model needs: its longest sentence in tokens (with
    the newline), at least :data:`MIN_FACTS_CTX`."""
    longest = max(len(tokenizer.encode(s)) for s in fact_sentences(facts))
    return max(MIN_FACTS_CTX, longest)


def train_own_facts_model(facts: Sequence[FactPrompt], steps: int = FACTS_STEPS,
                          tokenizer: str = "word", seed: int = 0,
                          out: str | os.PathLike | None = None, progress: bool = True,
                          source: str | os.PathLike = "<facts>", **shape: Any
                          ) -> tuple[GPT, Any, TrainResult]:
    """Train a new model on every sentence form of ``facts`` (no hold-out).

    Parameters
    ----------
    facts : sequence of FactPrompt
    steps : int
        Optimizer steps (default :data:`FACTS_STEPS`).
    tokenizer : {"word", "char", "bpe"}
        See :func:`facts_tokenizer`.
    seed : int
        Seeds the initialisation and the batches.
    out : path, optional
        Save the checkpoint here, with the tokenizer and :func:`facts_record`.
    progress : bool
        Show the progress bar.
    source : path
        The facts file, for the record.
    **shape
        Overrides of :data:`FACTS_SHAPE` and of ``n_ctx`` (default :func:`facts_context`).

    Returns
    -------
    model : GPT
    tokenizer : WordTokenizer, CharTokenizer or GPT2Tokenizer
    result : TrainResult
    """
    facts = _check_facts(facts)
    tok = facts_tokenizer(facts, tokenizer)
    cfg = GPTConfig(vocab_size=tok.vocab_size,
                    **{**FACTS_SHAPE, "n_ctx": facts_context(tok, facts), **shape})
    model = GPT(cfg, seed=seed)
    ids, starts = facts_stream(tok, facts)
    settings = TrainSettings(steps=steps, batch_size=FACTS_BATCH, lr=FACTS_LR,
                             warmup_steps=min(MAX_WARMUP, steps // 10), eval_every=0,
                             seed=seed)
    result = train(model, ids, settings, starts=starts, tokenizer=tok, out=out,
                   progress=progress, extra=facts_record(facts, source))
    return model, tok, result


def facts_record(facts: Sequence[FactPrompt], source: str | os.PathLike) -> dict[str, Any]:
    """What a checkpoint records of a facts file: enough to rebuild its facts.

    Parameters
    ----------
    facts : sequence of FactPrompt
    source : path
        The file they were read from, recorded as an absolute path (for messages only).

    Returns
    -------
    dict
        ``{"facts_file": path, "facts": [{"prompt", "subject", "answer",
        "paraphrases"}, ...]}``, JSON-ready.

    Examples
    --------
    >>> fact = FactPrompt("The capital of France is", "France", "Paris")
    >>> record = facts_record([fact], "/f.csv")
    >>> recorded_facts(record)[0].sentence
    'The capital of France is Paris'
    """
    return {"facts_file": os.path.abspath(os.fspath(source)),
            "facts": [{"prompt": f.prompt, "subject": f.subject, "answer": f.answer,
                       "paraphrases": list(f.paraphrases)} for f in _check_facts(facts)]}


def recorded_facts(extra: Mapping[str, Any] | None) -> list[FactPrompt] | None:
    """The facts a checkpoint's ``extra`` records (:func:`facts_record`), or ``None`` when
    it records none (a model of the athletes or of a text)."""
    if not extra or "facts" not in extra:
        return None
    return [FactPrompt(f["prompt"], f["subject"], f["answer"], tuple(f["paraphrases"]))
            for f in extra["facts"]]


def _check_facts(facts: Sequence[FactPrompt]) -> list[FactPrompt]:
    facts = list(facts)
    if not facts:
        raise ValueError("facts must not be empty")
    for i, fact in enumerate(facts):
        if not isinstance(fact, FactPrompt):
            raise TypeError(f"facts[{i}] must be a FactPrompt, got {type(fact).__name__}")
    return facts


__all__ = ["BPE_MERGES", "FACTS_SHAPE", "FACTS_STEPS", "TOKENIZER_KINDS", "fact_sentences",
           "facts_context", "facts_record", "facts_stream", "facts_tokenizer", "recorded_facts",
           "train_own_facts_model"]
