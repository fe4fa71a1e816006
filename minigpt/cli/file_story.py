"""The whole story on a model of your own facts: recall, ablation, tracing, lens, neurons, edits.

:func:`run_facts_file_story` is what ``minigpt facts story`` prints for a model trained with
``minigpt train --facts FILE``: the steps of :func:`minigpt.cli.story.run_facts_story`
that do not depend on the athletes (the hand-built MLP does), each on the file's facts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..data import FactPrompt, load_text
from ..facts import evaluate_edits, rome_edit
from ..facts.own_facts import fact_sentences
from ..interp import (ablation_sweep, causal_trace, logit_lens, neuron_effects,
                      recall_by_template, score_facts)
from ..model import GPT
from .story import FactsStory, _write_plots


def parse_subject_edit(text: str, facts: Sequence[FactPrompt]) -> tuple[FactPrompt, str]:
    """Read ``"subject=new answer"`` and find the fact of that subject.

    Raises
    ------
    ValueError
        For a request without ``=``, an empty side, or a subject that no fact has.

    Examples
    --------
    >>> fact = FactPrompt("The capital of France is", "France", "Paris")
    >>> parse_subject_edit("France=Rome", [fact])
    (FactPrompt(prompt='The capital of France is', subject='France', answer='Paris', paraphrases=()), 'Rome')
    """
    if "=" not in text:
        raise ValueError(f"an edit looks like 'France=Rome' (subject=new answer), got {text!r}")
    subject, new = (part.strip() for part in text.split("=", 1))
    if not subject or not new:
        raise ValueError(f"an edit needs a subject and a new answer, got {text!r}")
    fact = next((f for f in facts if f.subject == subject), None)
    if fact is None:
        shown = ", ".join(repr(f.subject) for f in list(facts)[:5])
        raise ValueError(f"no fact has the subject {subject!r} (subjects: {shown}, ...)")
    return fact, new


def run_facts_file_story(
    model: GPT, tokenizer: Any, facts: Sequence[FactPrompt], edit: str | None = None,
    n_edits: int = 20, plots_dir: str | os.PathLike | None = None, trace_samples: int = 10,
    seed: int = 0,
) -> FactsStory:
    """Run every fact experiment that works on any facts, on ``facts``.

    Parameters
    ----------
    model : GPT
        A model that knows the facts (e.g. from ``minigpt train --facts FILE``).
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    facts : sequence of FactPrompt
    edit : str, optional
        ``"subject=new answer"``: rewrite this fact with :func:`rome_edit` and show the
        probabilities before and after (the model is restored afterwards).
    n_edits : int
        Facts to rewrite one at a time for the efficacy / specificity table (0 skips it).
    plots_dir : path, optional
        Write PNG figures here (needs matplotlib).
    trace_samples : int
        Noise samples per fact in causal tracing.
    seed : int

    Returns
    -------
    FactsStory
        Sections ``recall``, ``ablation``, ``tracing``, ``logit_lens``, ``neurons``, and
        ``edit`` / ``edits`` when asked.
    """
    facts = list(facts)
    story = FactsStory()
    scores = score_facts(model, tokenizer, facts)
    recall = recall_by_template(model, tokenizer, facts)
    story.add("recall", f"Recall of {len(facts)} facts ({scores.n_correct} recalled)", recall,
              recall.to_table())
    ablation = ablation_sweep(model, tokenizer, facts)
    story.add("ablation", "Ablation (recall with one layer's output knocked out)", ablation,
              ablation.to_table() + "\n" + ablation.summary())
    trace = causal_trace(model, tokenizer, facts, n_samples=trace_samples, seed=seed)
    story.add("tracing", "Causal tracing (averaged by ROME's token categories)", trace,
              trace.to_table() + "\n" + trace.summary())
    lens = logit_lens(model, tokenizer, facts)
    story.add("logit_lens", "Logit lens (rank of the answer's first token, layer by layer)",
              lens, lens.to_table() + "\n" + lens.summary())
    neurons = neuron_effects(model, tokenizer, facts)
    story.add("neurons", "Neurons (direct effect on the answer's logit)", neurons,
              neurons.to_table())
    corpus = _corpus(tokenizer, facts)  # of the key covariance
    if edit is not None:
        fact, new = parse_subject_edit(edit, facts)
        kept = {k: v.copy() for k, v in model.params.items()}
        try:
            outcome = rome_edit(model, tokenizer, fact, new, corpus=corpus, seed=seed)
        finally:
            for k, v in kept.items():
                model.params[k][...] = v
        story.add("edit", f"Edit {fact.subject!r}: {fact.answer!r} -> {new!r}", outcome,
                  outcome.to_table())
    if n_edits:
        report = evaluate_edits(model, tokenizer, facts, n_edits=min(n_edits, len(facts)),
                                seed=seed, corpus=corpus)
        story.add("edits", f"{min(n_edits, len(facts))} edits, each from the unedited model",
                  report, report.to_table())
    if plots_dir is not None:
        story.plots = _write_plots(Path(plots_dir), trace, lens)
    return story


def _corpus(tokenizer: Any, facts: Sequence[FactPrompt]) -> str | None:
    """The key covariance's text: the embedded play when the tokenizer reads it (``None``),
    else the facts' own sentences (a word or char tokenizer built from them)."""
    try:
        tokenizer.encode(load_text())
        return None
    except ValueError:
        return "".join(fact_sentences(facts))


__all__ = ["parse_subject_edit", "run_facts_file_story"]
