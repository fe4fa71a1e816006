"""Recall by sentence template: does the model know the facts however they are asked?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..data import TEMPLATES, Fact
from ..facts import fact_recall
from .prompts import answer_stats, check_model, fact_prompts, template_list
from .tables import jsonable, text_table


@dataclass
class TemplateRecall:
    """Recall of every fact in one template.

    Attributes
    ----------
    template : int or str
    prompt : str
        The template's prompt with the subject shown as ``{name}``.
    accuracy : float
        Share of facts whose greedy next token is the right sport.
    n_correct, n : int
    p_correct : float
        Mean probability of the right sport.
    """

    template: int | str
    prompt: str
    accuracy: float
    n_correct: int
    n: int
    p_correct: float


@dataclass
class RecallTable:
    """Recall per template (:func:`recall_by_template`)."""

    rows: list[TemplateRecall]

    @property
    def accuracy(self) -> float:
        """Recall over every (fact, template) pair."""
        return sum(r.n_correct for r in self.rows) / sum(r.n for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the overall accuracy and one dict per template."""
        return jsonable({"accuracy": self.accuracy, "templates": [asdict(r) for r in self.rows]})

    def to_table(self) -> str:
        """A text table: one line per template."""
        rows = [[r.template, r.prompt, r.n_correct, r.n, r.accuracy, r.p_correct]
                for r in self.rows]
        return text_table(["template", "prompt", "correct", "n", "recall", "p(sport)"], rows)


def recall_by_template(model: Any, tokenizer: Any, facts: Sequence[Fact] | None = None,
                       templates: Any = None) -> RecallTable:
    """Greedy recall and the right sport's mean probability for each template.

    Parameters
    ----------
    model : GPT
    tokenizer : WordTokenizer
    facts : sequence of Fact, optional
        Default: the embedded athletes.
    templates : int, str or sequence of them, optional
        Default: every template of :data:`minigpt.data.TEMPLATES`.

    Returns
    -------
    RecallTable

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> from minigpt.facts import facts_dataset
    >>> tok, _, _ = facts_dataset()
    >>> model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=1, n_head=2, d_model=8))
    >>> table = recall_by_template(model, tok, templates=[0, 1])
    >>> [row.n for row in table.rows]
    [180, 180]
    """
    check_model(model)
    rows = []
    for template in template_list(templates):
        P = fact_prompts(tokenizer, facts, template)
        recall = fact_recall(model, tokenizer, P.facts, template)
        p, _ = answer_stats(model.forward(P.ids)[:, -1], P.answers)  # (N,)
        text = TEMPLATES[template] if isinstance(template, int) else template
        rows.append(TemplateRecall(template, text.split(" {sport}")[0], recall.accuracy,
                                   recall.n_correct, recall.n, float(np.mean(p))))
    return RecallTable(rows)
