"""Scoring edits of general facts the way ROME does: efficacy, paraphrase, specificity.

Each chosen fact is given another fact's answer (a counterfactual from the same list).

* **efficacy**: after the edit, the edited prompt's new answer is more likely than its old
  answer, :math:`p(\\text{new}) > p(\\text{old})`, each the teacher-forced product over the
  answer's tokens (ROME's "efficacy score");
* **paraphrase**: the share of the fact's paraphrases for which the same holds;
* **specificity**: the share of the *other* facts, recalled (greedily) before the edit,
  that are still recalled after it.

Single edits (ROME, fine-tuning) start each from the unedited model; MEMIT writes all the
chosen facts in one batch. The model is restored before returning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data import FactPrompt
from ..interp import score_facts
from ..interp.prompts import check_choice, check_int, check_model
from ..model import GPT
from .edit_outcome import METHODS
from .edit_report import EditReport, EditResult
from .memit import MEMIT_SPAN, memit_edit
from .rome import corpus_ids, finetune_edit, mlp_key_covariance, rome_edit, trace_layer

EFFICACY_RULE = "p(new answer) > p(old answer) after the edited prompt"


def _counterfactuals(facts: list[FactPrompt], n_edits: int, seed: int
                     ) -> list[tuple[int, str]]:
    """``n_edits`` distinct facts, each with another fact's (different) answer."""
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(facts), size=min(n_edits, len(facts)), replace=False))
    answers = sorted({f.answer for f in facts})
    edits = []
    for i in chosen:
        others = [a for a in answers if a != facts[i].answer]
        if others:
            edits.append((int(i), others[int(rng.integers(len(others)))]))
    if not edits:
        raise ValueError("facts must have at least two different answers to edit one into "
                         "another")
    return edits


def _success(model: GPT, tokenizer: Any, fact: FactPrompt, new_answer: str) -> tuple[bool, float]:
    """(efficacy, paraphrase share) of one edited fact on the current model."""
    olds = [fact, *fact.paraphrase_facts()]
    news = [FactPrompt(f.prompt, f.subject, new_answer) for f in olds]
    p = score_facts(model, tokenizer, olds + news).log_p
    wins = p[len(olds):] > p[:len(olds)]  # (1 + n_paraphrases,)
    return bool(wins[0]), float(wins[1:].mean()) if len(wins) > 1 else float("nan")


def _specificity(model: GPT, tokenizer: Any, facts: list[FactPrompt], right: np.ndarray,
                 edited: set[int]) -> float:
    """Share of the facts not edited and right before that are still right."""
    keep = right.copy()
    keep[list(edited)] = False
    if not keep.any():
        return float("nan")
    return float(score_facts(model, tokenizer, facts).correct[keep].mean())


def evaluate_fact_edits(model: GPT, tokenizer: Any, facts: Sequence[FactPrompt],
                        n_edits: int = 20, method: str = "rome", layer: int | None = None,
                        seed: int = 0, *, corpus: str | None = None, baseline: bool = True,
                        **options: Any) -> EditReport:
    """Edit ``n_edits`` of ``facts`` with ``method`` (and fine-tuning) and score each edit.

    Parameters
    ----------
    model : GPT
        Unchanged on return.
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    facts : sequence of FactPrompt
        At least two, with at least two different answers.
    n_edits : int, default 20
        At most ``len(facts)``; the facts are drawn with ``seed``.
    method : {"rome", "memit", "finetune"}
    layer : int, optional
        Default: :func:`~minigpt.facts.rome.trace_layer` over the edited facts. MEMIT
        edits that layer and the two before it.
    seed : int
    corpus : str, optional
        For the key covariance and prefixes (default: the embedded text).
    baseline : bool, default True
        Also run :func:`~minigpt.facts.finetune_edit` on each fact (unless ``method`` is
        already ``"finetune"``).
    **options
        Passed to the edit function (e.g. ``steps``).

    Returns
    -------
    EditReport
        ``rule`` states the efficacy rule (see the module notes).
    """
    check_model(model)
    check_choice("method", method, METHODS)
    check_int("n_edits", n_edits, 1)
    if isinstance(facts, (str, bytes, FactPrompt)) or not isinstance(facts, Sequence):
        raise TypeError(f"facts must be a sequence of FactPrompt, got {type(facts).__name__}")
    facts = list(facts)
    for i, f in enumerate(facts):
        if not isinstance(f, FactPrompt):
            raise TypeError(f"facts[{i}] must be a FactPrompt, got {type(f).__name__}")
    if len(facts) < 2:
        raise ValueError(f"evaluate_edits needs at least 2 facts, got {len(facts)}")
    edits = _counterfactuals(facts, n_edits, seed)
    if layer is None:
        layer = trace_layer(model, tokenizer, [facts[i] for i, _ in edits], seed)
    right = score_facts(model, tokenizer, facts).correct
    report = EditReport(layer, "subject", rule=EFFICACY_RULE)
    methods = [method] + (["finetune"] if baseline and method != "finetune" else [])
    saved = {name: p.copy() for name, p in model.params.items() if name.endswith("mlp.w_down")}
    C = None
    if "rome" in methods:
        C = mlp_key_covariance(model, corpus_ids(tokenizer, corpus), layer)
    try:
        for m in methods:
            if m == "memit":
                layers = list(range(max(0, layer - MEMIT_SPAN + 1), layer + 1))
                outcomes = memit_edit(model, tokenizer, [(facts[i], a) for i, a in edits],
                                      layers, corpus=corpus, seed=seed, **options)
                spec = _specificity(model, tokenizer, facts, right, {i for i, _ in edits})
                for (i, answer), outcome in zip(edits, outcomes):
                    eff, para = _success(model, tokenizer, facts[i], answer)
                    report.edits.append(EditResult(facts[i], answer, m, eff, para, spec,
                                                   outcome.delta_norm))
                _restore(model, saved)
                continue
            for i, answer in edits:
                if m == "rome":
                    outcome = rome_edit(model, tokenizer, facts[i], answer, layer, corpus=corpus,
                                        covariance=C, seed=seed, **options)
                else:
                    outcome = finetune_edit(model, tokenizer, facts[i], answer, layer)
                eff, para = _success(model, tokenizer, facts[i], answer)
                spec = _specificity(model, tokenizer, facts, right, {i})
                report.edits.append(EditResult(facts[i], answer, m, eff, para, spec,
                                               outcome.delta_norm))
                _restore(model, saved)
    finally:
        _restore(model, saved)
    return report


def _restore(model: GPT, saved: dict[str, np.ndarray]) -> None:
    """Put the saved matrices back into the model."""
    for name, value in saved.items():
        model.params[name][...] = value
