"""Facts as one batch: every fact's prompt in one template, with the subject located.

All interpretability measurements here run every fact of a template at once. Names are
single tokens, so every prompt of a template has the same length and the subject sits at
the same positions in each: one (N, T) forward pass asks all N facts, and "the last
subject token" is one column index for the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import TEMPLATES, Fact, load_facts, prompt
from ..facts import sport_token_ids
from ..model import GPT
from ..nn import softmax_forward

FIRST_LABEL, LAST_LABEL = "First", "Last"  # how token labels show the subject's two names


@dataclass(frozen=True)
class FactPrompts:
    """Every fact's prompt in one template, tokenized as one batch.

    Attributes
    ----------
    template : int or str
        The template (an index into :data:`minigpt.data.TEMPLATES` or a template string).
    facts : list of Fact
    ids : ndarray of int64, shape (N, T)
        Row n is ``prompt(facts[n], template)``, tokenized.
    answers : ndarray of int64, shape (N,)
        The token id of each fact's sport (with its leading space).
    first, last : int
        Positions of the subject's first and last token (the same in every row).
    labels : list of str
        The template's tokens, with ``"First"`` and ``"Last"`` at the subject's first and
        last token (and ``"Name"`` between them, for longer names).
    """

    template: int | str
    facts: list[Fact]
    ids: np.ndarray
    answers: np.ndarray
    first: int
    last: int
    labels: list[str]

    @property
    def n(self) -> int:
        """N, the number of facts."""
        return self.ids.shape[0]

    @property
    def T(self) -> int:
        """The prompt length in tokens."""
        return self.ids.shape[1]


def check_model(model: Any) -> GPT:
    """Raise ``TypeError`` unless ``model`` is a :class:`minigpt.GPT`."""
    if not isinstance(model, GPT):
        raise TypeError(f"model must be a minigpt.GPT, got {type(model).__name__}")
    return model


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """Raise ``ValueError`` unless ``value`` is an int (not a bool) in ``[lo, hi]``."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < lo or (hi is not None and value > hi):
        bounds = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be an int {'in ' if hi is not None else ''}{bounds}, "
                         f"got {value!r}")
    return int(value)


def template_list(templates: Any) -> list[int | str]:
    """``None`` means every template of :data:`TEMPLATES`; one template becomes a list."""
    if templates is None:
        return list(range(len(TEMPLATES)))
    if isinstance(templates, (int, str)):
        return [templates]
    templates = list(templates)
    if not templates:
        raise ValueError("templates must not be empty")
    return templates


def fact_prompts(tokenizer: Any, facts: Sequence[Fact] | None = None,
                 template: int | str = 0) -> FactPrompts:
    """Tokenize every fact's prompt in one template and locate the subject.

    Parameters
    ----------
    tokenizer : WordTokenizer
        The tokenizer the model was trained with.
    facts : sequence of Fact, optional
        Default: the embedded athletes (:func:`minigpt.data.load_facts`).
    template : int or str, default 0
        See :func:`minigpt.data.prompt`.

    Returns
    -------
    FactPrompts

    Raises
    ------
    ValueError
        If the prompts do not all have the same length, the subject is not at the same
        positions in each, or a sport is not a single token.

    Notes
    -----
    The subject's span is found by counting: the tokens of the template's text before
    ``{name}`` and after it are known, so the name is what remains in between. With the
    word tokenizer a word carries its leading space, so the text before the name is
    tokenized without its trailing space (it belongs to the name's first token).

    Examples
    --------
    >>> from minigpt.facts import facts_dataset
    >>> tok, _, _ = facts_dataset()
    >>> P = fact_prompts(tok, template=2)
    >>> P.ids.shape, P.first, P.last, P.labels
    ((180, 6), 2, 3, ['The', 'sport', 'First', 'Last', 'plays', 'is'])
    """
    facts = list(load_facts() if facts is None else facts)
    if not facts:
        raise ValueError("facts must not be empty")
    head = prompt("{name}", template)  # the prompt text with the name left as a slot
    before, after = head.split("{name}")
    n_before = len(tokenizer.encode(before.rstrip())) if before.strip() else 0
    n_after = len(tokenizer.encode(after)) if after else 0
    rows = [tokenizer.encode(prompt(f, template)) for f in facts]
    lengths = sorted({len(r) for r in rows})
    if len(lengths) != 1:
        raise ValueError(f"every prompt of a template must have the same number of tokens "
                         f"(single-token names), got lengths {lengths}")
    ids = np.stack(rows).astype(np.int64)  # (N, T)
    T = ids.shape[1]
    first, last = n_before, T - n_after - 1
    if last < first:
        raise ValueError(f"could not locate the subject in template {template!r}: "
                         f"{n_before} tokens before it and {n_after} after, prompt length {T}")
    words = [tokenizer.decode([int(i)]).strip() for i in ids[0]]
    labels = [FIRST_LABEL if t == first else LAST_LABEL if t == last else
              "Name" if first < t < last else w for t, w in enumerate(words)]
    return FactPrompts(template, facts, ids, sport_token_ids(tokenizer, facts), first, last, labels)


def subject_positions(tokenizer: Any, template: int | str = 0,
                      facts: Sequence[Fact] | None = None) -> tuple[int, int]:
    """Token positions of the subject's first and last token in a template's prompts.

    Parameters
    ----------
    tokenizer : WordTokenizer
    template : int or str, default 0
    facts : sequence of Fact, optional
        Default: the embedded athletes.

    Returns
    -------
    first, last : int
        Column indices into the (N, T) prompt batch; ``last = first + 1`` for
        single-token first and last names.

    Examples
    --------
    >>> from minigpt.facts import facts_dataset
    >>> tok, _, _ = facts_dataset()
    >>> subject_positions(tok, 0), subject_positions(tok, 2)
    ((0, 1), (2, 3))
    """
    P = fact_prompts(tokenizer, facts, template)
    return P.first, P.last


def answer_stats(logits: np.ndarray, answers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The probability and rank of the right answer under next-token logits.

    Parameters
    ----------
    logits : ndarray, shape (N, V)
    answers : ndarray of int, shape (N,)

    Returns
    -------
    p : ndarray, shape (N,)
        :math:`\\mathrm{softmax}(\\text{logits}_n)_{a_n}`, in the logits' dtype.
    rank : ndarray of int64, shape (N,)
        1 + the number of tokens scored strictly higher than the answer (1 = top).

    Examples
    --------
    >>> answer_stats(np.log(np.array([[0.2, 0.5, 0.3]])), np.array([2]))
    (array([0.3]), array([2]))
    """
    if logits.ndim != 2 or answers.shape != logits.shape[:1]:
        raise ValueError(f"logits must be (N, V) and answers (N,), got {logits.shape} "
                         f"and {answers.shape}")
    rows = np.arange(len(answers))
    probs, _ = softmax_forward(logits)  # (N, V)
    right = logits[rows, answers][:, None]  # (N, 1)
    rank = 1 + (logits > right).sum(axis=-1)  # (N,)
    return probs[rows, answers], rank.astype(np.int64)
