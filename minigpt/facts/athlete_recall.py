"""The athletes' recall: does the model complete "Michael Jordan plays" with "basketball"?

One greedy next token per athlete in one sentence template (:func:`fact_recall`); the
recall of any facts, asked in every way, is :func:`minigpt.interp.recall_by_template`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data import Fact, load_facts, prompt
from ..model import GPT


@dataclass
class RecallResult:
    """Greedy recall of facts for one sentence template.

    Attributes
    ----------
    accuracy : float
        Share of facts whose most likely next token is the right sport.
    n_correct, n : int
    predictions : list of (Fact, str)
        Each fact with the model's greedy next token (decoded, stripped).
    """

    accuracy: float
    n_correct: int
    n: int
    predictions: list[tuple[Fact, str]] = field(default_factory=list)

    @property
    def wrong(self) -> list[tuple[Fact, str]]:
        """The facts the model got wrong, with what it said instead."""
        return [(f, p) for f, p in self.predictions if p != f.sport]


def encode_prompts(tokenizer: Any, facts: Sequence[Fact], template: int | str = 0) -> list[np.ndarray]:
    """Token ids of each fact's prompt (the template up to the sport)."""
    return [tokenizer.encode(prompt(f, template)) for f in facts]


def sport_token_ids(tokenizer: Any, facts: Sequence[Fact]) -> np.ndarray:
    """The id of each fact's answer token: the sport with its leading space (" basketball")."""
    ids = []
    for f in facts:
        enc = tokenizer.encode(" " + f.sport)
        if len(enc) != 1:
            raise ValueError(f"sport {f.sport!r} is not a single token of this tokenizer")
        ids.append(int(enc[0]))
    return np.array(ids, dtype=np.int64)


def next_token_logits(model: GPT, prompts: Sequence[np.ndarray]) -> np.ndarray:
    """Logits after the last token of each prompt, batching prompts of equal length.

    Parameters
    ----------
    model : GPT
    prompts : sequence of ndarray of int, each shape (T_i,)

    Returns
    -------
    ndarray, shape (len(prompts), V)
    """
    out = np.empty((len(prompts), model.config.vocab_size), dtype=model.dtype)
    lengths = np.array([len(p) for p in prompts])
    for T in np.unique(lengths):
        rows = np.flatnonzero(lengths == T)
        batch = np.stack([prompts[r] for r in rows])  # (n_T, T)
        out[rows] = model.forward(batch)[:, -1]  # (n_T, V)
    return out


def fact_recall(
    model: GPT, tokenizer: Any, facts: Sequence[Fact] | None = None, template: int | str = 0
) -> RecallResult:
    """Ask the model every fact and score its greedy answers.

    Parameters
    ----------
    model : GPT
    tokenizer : WordTokenizer
        The tokenizer the model was trained with.
    facts : sequence of Fact, optional
        Default: the embedded athletes (:func:`minigpt.data.load_facts`).
    template : int or str, default 0
        Which sentence template to prompt with (``0``: "First Last plays").

    Returns
    -------
    RecallResult
    """
    facts = list(load_facts() if facts is None else facts)
    logits = next_token_logits(model, encode_prompts(tokenizer, facts, template))
    guesses = logits.argmax(axis=-1)  # (n_facts,)
    said = [tokenizer.decode([int(g)]).strip() for g in guesses]
    predictions = list(zip(facts, said))
    n_correct = sum(f.sport == s for f, s in predictions)
    return RecallResult(n_correct / len(facts), n_correct, len(facts), predictions)
