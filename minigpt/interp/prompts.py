"""The athletes of one template as one batch, and the argument checks every tool shares.

Athletes' names are single tokens, so every prompt of a template has the same length and
the subject sits at the same positions in each: one (N, T) forward pass asks all N facts,
and "the last subject token" is one column index for the whole batch
(:func:`fact_prompts`). Facts of any shape are encoded one by one with
:func:`~minigpt.interp.encode_fact` and batched by :func:`~minigpt.interp.group_facts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import TEMPLATES, Fact, load_facts
from .. import _checks
from ..model import GPT
from ..nn import softmax_forward
from .encoding import encode_facts

# how token labels show subject positions whose tokens differ from fact to fact
FIRST_LABEL, MIDDLE_LABEL, LAST_LABEL = "First", "Middle", "Last"
VARIES_LABEL = "*"  # a position outside the subject whose token differs from fact to fact


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
        last token (and ``"Middle"`` between them, for longer names); see
        :func:`position_labels`.
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
    """``int(value)``: ``TypeError`` unless an int (not a bool), ``ValueError`` outside ``[lo, hi]``."""
    return _checks.check_int(name, value, lo, hi)


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
    Each prompt is encoded with :func:`~minigpt.interp.encode_fact`, which finds the
    subject's tokens from the tokenization; the sport is the answer, with its leading
    space (``" basketball"``).

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
    encoded = encode_facts(tokenizer, facts, template=template)
    lengths = sorted({e.T for e in encoded})
    if len(lengths) != 1:
        raise ValueError(f"every prompt of a template must have the same number of tokens "
                         f"(single-token names), got lengths {lengths}")
    spans = sorted({e.subject for e in encoded})
    if len(spans) != 1:
        raise ValueError(f"the subject must sit at the same positions in every prompt of "
                         f"template {template!r}, got spans {spans[:5]}")
    bad = [e.fact.answer for e in encoded if e.A != 1]
    if bad:
        raise ValueError(f"sport {bad[0]!r} is not a single token of this tokenizer")
    ids = np.stack([e.ids for e in encoded])  # (N, T)
    answers = np.array([e.answer[0] for e in encoded], dtype=np.int64)  # (N,)
    (first, last), = spans
    return FactPrompts(template, facts, ids, answers, first, last,
                       position_labels(tokenizer, ids, first, last))


def position_labels(tokenizer: Any, ids: np.ndarray, first: Any, last: Any) -> list[str]:
    """A label per position of a batch of prompts of one length.

    Parameters
    ----------
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    ids : ndarray of int, shape (N, T)
    first, last : int or ndarray of int, shape (N,)
        The subject's span in each row.

    Returns
    -------
    list of str
        Where every row has the same token: that token, stripped. Elsewhere ``"First"``,
        ``"Middle"`` or ``"Last"`` when the position is that part of the subject in every
        row, else ``"*"``.

    Examples
    --------
    >>> from minigpt.tokenizers import WordTokenizer
    >>> tok = WordTokenizer.from_text("Ann Lee plays golf\\nBo Ng plays chess")
    >>> position_labels(tok, np.stack([tok.encode("Ann Lee plays"), tok.encode("Bo Ng plays")]), 0, 1)
    ['First', 'Last', 'plays']
    """
    N, T = ids.shape
    first = np.broadcast_to(np.asarray(first), (N,))
    last = np.broadcast_to(np.asarray(last), (N,))
    t = np.arange(T)
    roles = np.where(t[None] == first[:, None], 0,
                     np.where(t[None] == last[:, None], 2,
                              np.where((t[None] > first[:, None]) & (t[None] < last[:, None]),
                                       1, 3)))  # (N, T): 0 first, 1 middle, 2 last, 3 other
    labels = []
    for pos in range(T):
        column, role = ids[:, pos], roles[:, pos]
        if np.all(column == column[0]):
            labels.append(tokenizer.decode([int(column[0])]).strip())
        elif np.all(role == role[0]) and role[0] < 3:
            labels.append((FIRST_LABEL, MIDDLE_LABEL, LAST_LABEL)[role[0]])
        else:
            labels.append(VARIES_LABEL)
    return labels


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
