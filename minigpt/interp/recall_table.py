"""Recall by way of asking: does the model know the facts however they are asked?"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..data import TEMPLATES, athlete_prompts
from .encoding import as_fact_prompts, is_athletes
from .prompts import check_choice, check_model, template_list
from .scoring import MODES, score_facts
from .tables import jsonable, text_table


@dataclass
class TemplateRecall:
    """Recall of every fact asked one way (one template, or the facts' own prompts).

    Attributes
    ----------
    template : int or str
        The athletes' template, or ``"prompt"`` / ``"paraphrases"`` for general facts.
    prompt : str
        The template's prompt with the subject shown as ``{name}``, or a description.
    accuracy : float
        Share of facts whose greedy answer is right (every answer token the top token).
    n_correct, n : int
    p_correct : float
        Mean probability of the right answer.
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
        return text_table(["template", "prompt", "correct", "n", "recall", "p(answer)"], rows)


def recall_by_template(model: Any, tokenizer: Any, facts: Any = None,
                       templates: Any = None, mode: str = "product") -> RecallTable:
    """Greedy recall and the answer's mean probability, per way of asking.

    Parameters
    ----------
    model : GPT
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    facts : sequence of Fact or of FactPrompt, optional
        Default: the embedded athletes. Athletes are asked in each template; general facts
        in their own prompts (row ``"prompt"``) and, if they have any, in all their
        paraphrases pooled (row ``"paraphrases"``).
    templates : int, str or sequence of them, optional
        For athletes only. Default: every template of :data:`minigpt.data.TEMPLATES`.
    mode : {"product", "first"}
        See :func:`~minigpt.interp.score_facts`.

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
    check_choice("mode", mode, MODES)
    if is_athletes(facts):
        asked = []
        for template in template_list(templates):
            text = TEMPLATES[template] if isinstance(template, int) else template
            asked.append((template, text.split(" {sport}")[0],
                          athlete_prompts(facts, template)))
    else:
        if templates is not None:
            raise ValueError("templates apply to athletes' Facts only; general facts are "
                             "asked in their own prompts and paraphrases")
        facts = as_fact_prompts(facts)
        asked = [("prompt", "(each fact's prompt)", facts)]
        paraphrased = [p for f in facts for p in f.paraphrase_facts()]
        if paraphrased:
            asked.append(("paraphrases", "(each fact's paraphrases)", paraphrased))
    rows = []
    for template, text, prompts in asked:
        scores = score_facts(model, tokenizer, prompts, mode)
        rows.append(TemplateRecall(template, text, scores.accuracy, scores.n_correct,
                                   scores.n, float(np.mean(scores.p))))
    return RecallTable(rows)
