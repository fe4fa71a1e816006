"""How likely is each fact's answer? Batched scoring of facts of any shape.

**Batching.** Facts are grouped by shape, (prompt length T, answer length A): every fact of
a group has the same token layout, so one (n, T + A - 1) forward pass scores the group,
with no padding and no change to the model. Facts of one template (the athletes) form one
group; a file of facts of many lengths forms a few.

**The answer's probability** has two modes:

* ``"product"`` (default): the product over the answer's tokens, teacher-forced. The
  model reads prompt + answer[:-1] in one pass, and the logits at positions
  T - 1 .. T + A - 2 score the answer tokens a_1 .. a_A:

  .. math:: p(a \\mid x) = \\prod_{i=1}^{A} p(a_i \\mid x, a_{<i})

* ``"first"``: the first answer token alone, :math:`p(a_1 \\mid x)`, from the prompt only
  (what ROME reports for single-token answers).

**Greedy recall.** A fact is recalled when every scored answer token is the top token at
its teacher-forced position: then greedy decoding from the prompt writes exactly the answer
(ties aside). In ``"first"`` mode only the first token is checked.

Only the positions that are read are unembedded (``logits_to_keep`` of
:meth:`minigpt.GPT.forward`), which for a vocabulary of 50,257 is most of the cost of a
short prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ..data import FactPrompt
from ..model import GPT
from .encoding import EncodedFact, encode_facts
from .prompts import check_choice, check_model
from .tables import jsonable, text_table

MODES = ("product", "first")
Hooks = dict[str, Callable[[np.ndarray], Any]]


@dataclass(frozen=True)
class FactGroup:
    """Facts of one shape (prompt length T, answer length A), stacked for one forward pass.

    Attributes
    ----------
    rows : ndarray of int64, shape (n,)
        Each fact's index in the list that was grouped.
    ids : ndarray of int64, shape (n, T)
        The prompts.
    answers : ndarray of int64, shape (n, A)
    first, last : ndarray of int64, shape (n,)
        Each prompt's subject span (inclusive); subjects may differ in place and length.
    """

    rows: np.ndarray
    ids: np.ndarray
    answers: np.ndarray
    first: np.ndarray
    last: np.ndarray

    @property
    def n(self) -> int:
        """The number of facts."""
        return len(self.rows)

    @property
    def T(self) -> int:
        """The prompt length."""
        return self.ids.shape[1]

    @property
    def A(self) -> int:
        """The answer length."""
        return self.answers.shape[1]

    def inputs(self, mode: str = "product") -> np.ndarray:
        """What the model reads: prompt + answer[:-1], shape (n, T + A - 1), in
        ``"product"`` mode; the prompt, shape (n, T), in ``"first"`` mode."""
        if check_choice("mode", mode, MODES) == "first":
            return self.ids
        return np.concatenate([self.ids, self.answers[:, :-1]], axis=1)  # (n, T + A - 1)

    def n_read(self, mode: str = "product") -> int:
        """How many last positions are scored: A in ``"product"`` mode, 1 in ``"first"``."""
        return self.A if check_choice("mode", mode, MODES) == "product" else 1


def group_facts(encoded: Sequence[EncodedFact]) -> list[FactGroup]:
    """Group encoded facts by (T, A), in order of first appearance.

    Examples
    --------
    >>> from minigpt.facts import facts_dataset
    >>> from minigpt.interp import encode_facts
    >>> groups = group_facts(encode_facts(facts_dataset()[0], template=0))
    >>> len(groups), groups[0].ids.shape, groups[0].answers.shape
    (1, (180, 3), (180, 1))
    """
    if not encoded:
        raise ValueError("facts must not be empty")
    shapes: dict[tuple[int, int], list[int]] = {}
    for i, e in enumerate(encoded):
        shapes.setdefault((e.T, e.A), []).append(i)
    groups = []
    for rows in shapes.values():
        members = [encoded[i] for i in rows]
        groups.append(FactGroup(np.array(rows, dtype=np.int64),
                                np.stack([e.ids for e in members]),  # (n, T)
                                np.stack([e.answer for e in members]),  # (n, A)
                                np.array([e.first for e in members], dtype=np.int64),
                                np.array([e.last for e in members], dtype=np.int64)))
    return groups


class AnswerScores(NamedTuple):
    """The answer's scores for a batch of n facts (:func:`answer_scores`)."""

    log_p: np.ndarray  # (n,) log-probability of the scored answer tokens
    correct: np.ndarray  # (n,) bool: every scored token is the top token
    rank: np.ndarray  # (n,) int64: rank of the first answer token (1 = top)


def answer_scores(logits: np.ndarray, answers: np.ndarray) -> AnswerScores:
    """Score answer tokens under the logits that predict them.

    Parameters
    ----------
    logits : ndarray, shape (n, k, V)
        ``logits[:, i]`` predicts ``answers[:, i]``.
    answers : ndarray of int, shape (n, k)

    Returns
    -------
    AnswerScores
        ``log_p`` is :math:`\\sum_i \\log \\mathrm{softmax}(\\text{logits}_{:, i})_{a_i}`;
        ``rank`` is 1 + the number of tokens scored strictly above ``answers[:, 0]``.

    Examples
    --------
    >>> s = answer_scores(np.log(np.array([[[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]]])), np.array([[1, 0]]))
    >>> float(np.exp(s.log_p[0])), bool(s.correct[0]), int(s.rank[0])
    (0.3, True, 1)
    """
    if logits.ndim != 3 or answers.shape != logits.shape[:2]:
        raise ValueError(f"logits must be (n, k, V) and answers (n, k), got {logits.shape} "
                         f"and {answers.shape}")
    top = logits.max(axis=-1, keepdims=True)  # (n, k, 1): subtracted so exp cannot overflow
    log_z = np.log(np.exp(logits - top).sum(axis=-1)) + top[..., 0]  # (n, k)
    right = np.take_along_axis(logits, answers[..., None], axis=-1)[..., 0]  # (n, k)
    rank = 1 + (logits[:, 0] > right[:, :1]).sum(axis=-1)  # (n,)
    return AnswerScores((right - log_z).sum(axis=1), (right == top[..., 0]).all(axis=1),
                        rank.astype(np.int64))


def score_group(model: GPT, group: FactGroup, mode: str = "product",
                hooks: Hooks | None = None) -> AnswerScores:
    """Score one group's answers in one forward pass (see the module notes for the modes).

    Parameters
    ----------
    model : GPT
    group : FactGroup
    mode : {"product", "first"}
    hooks : dict, optional
        Interventions, as in :meth:`minigpt.GPT.forward`; they see (n, T + A - 1, ...) in
        ``"product"`` mode, (n, T, ...) in ``"first"`` mode.

    Returns
    -------
    AnswerScores
    """
    k = group.n_read(mode)
    logits = model.forward(group.inputs(mode), hooks=hooks, logits_to_keep=k)  # (n, k, V)
    return answer_scores(logits, group.answers[:, :k])


@dataclass
class FactScores:
    """Every fact's answer probability and greedy recall (:func:`score_facts`).

    Attributes
    ----------
    facts : list of FactPrompt
    mode : {"product", "first"}
    log_p : ndarray, shape (N,)
        Log-probability of each answer (see the module notes).
    correct : ndarray of bool, shape (N,)
        Greedy recall of each fact.
    rank : ndarray of int64, shape (N,)
        Rank of the answer's first token after the prompt (1 = top).
    """

    facts: list[FactPrompt]
    mode: str
    log_p: np.ndarray
    correct: np.ndarray
    rank: np.ndarray = field(repr=False)

    @property
    def p(self) -> np.ndarray:
        """Each answer's probability, shape (N,)."""
        return np.exp(self.log_p)

    @property
    def n(self) -> int:
        """The number of facts."""
        return len(self.facts)

    @property
    def n_correct(self) -> int:
        """How many facts are recalled."""
        return int(self.correct.sum())

    @property
    def accuracy(self) -> float:
        """Share of facts recalled."""
        return self.n_correct / self.n

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the totals and one dict per fact."""
        return jsonable({"mode": self.mode, "accuracy": self.accuracy, "n": self.n,
                         "mean_p": float(self.p.mean()),
                         "facts": [{"prompt": f.prompt, "subject": f.subject,
                                    "answer": f.answer, "p": p, "correct": c, "rank": r}
                                   for f, p, c, r in zip(self.facts, self.p, self.correct,
                                                         self.rank)]})

    def to_table(self, max_facts: int | None = None) -> str:
        """A text table, one line per fact (the first ``max_facts``), and the totals."""
        rows = [[f.prompt, f.answer, float(p), int(r), "yes" if c else "no"]
                for f, p, c, r in zip(self.facts, self.p, self.correct, self.rank)]
        table = text_table(["prompt", "answer", "p(answer)", "rank", "recalled"],
                           rows[:max_facts])
        return (f"{table}\nrecall {self.n_correct}/{self.n} = {self.accuracy:.3f}, mean "
                f"p(answer) {self.p.mean():.3f} ({self.mode} mode)")


def score_encoded(model: GPT, encoded: Sequence[EncodedFact], mode: str = "product",
                  hooks: Hooks | Callable[[FactGroup], Hooks] | None = None) -> AnswerScores:
    """:func:`score_group` over the groups of ``encoded``, results in the facts' order.

    ``hooks`` is a dict applied to every group, or a function ``group -> dict`` for hooks
    that depend on the group's facts (their subject positions).
    """
    check_choice("mode", mode, MODES)
    N = len(encoded)
    log_p = np.empty(N, dtype=model.dtype)
    correct = np.empty(N, dtype=bool)
    rank = np.empty(N, dtype=np.int64)
    for group in group_facts(encoded):
        g_hooks = hooks(group) if callable(hooks) else hooks
        s = score_group(model, group, mode, g_hooks)
        log_p[group.rows], correct[group.rows], rank[group.rows] = s
    return AnswerScores(log_p, correct, rank)


def score_facts(model: GPT, tokenizer: Any, facts: Any = None, mode: str = "product",
                template: int | str = 0,
                hooks: Hooks | Callable[[FactGroup], Hooks] | None = None) -> FactScores:
    """The probability of each fact's answer and whether the model recalls it.

    Parameters
    ----------
    model : GPT
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    facts : sequence of FactPrompt (or of athletes' Fact), optional
        Default: the embedded athletes.
    mode : {"product", "first"}
        The answer's probability: the teacher-forced product over its tokens, or its
        first token (see :mod:`minigpt.interp.scoring`).
    template : int or str, default 0
        For athletes' ``Fact`` s only.
    hooks : dict, or a function ``FactGroup -> dict``, optional
        Interventions during the scoring passes (see :func:`score_group`).

    Returns
    -------
    FactScores

    Raises
    ------
    ValueError
        For a fact that cannot be encoded or is longer than ``n_ctx`` (see
        :func:`~minigpt.interp.encode_fact`), or an unknown mode.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> from minigpt.data import load_capitals
    >>> from minigpt.tokenizers import CharTokenizer
    >>> facts = load_capitals()[:3]
    >>> tok = CharTokenizer.from_text("".join(f.sentence for f in facts))
    >>> model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=40, n_layer=1, n_head=2, d_model=8))
    >>> scores = score_facts(model, tok, facts)
    >>> scores.p.shape, scores.accuracy
    ((3,), 0.0)
    """
    check_model(model)
    check_choice("mode", mode, MODES)
    encoded = encode_facts(tokenizer, facts, model, template)
    s = score_encoded(model, encoded, mode, hooks)
    return FactScores([e.fact for e in encoded], mode, s.log_p, s.correct, s.rank)
