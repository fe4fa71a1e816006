"""The whole story on one model: build facts by hand, find them in a trained GPT, rewrite one.

:func:`run_facts_story` is what ``minigpt facts`` prints. Each step calls one library
function of :mod:`minigpt.facts` or :mod:`minigpt.interp` and keeps its result, so a reader
can follow the same path in Python.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import TEMPLATES, Fact, load_facts, sports
from ..facts import (breaking_points, build_fact_mlp, edit_fact, evaluate_edits,
                     evaluate_fact_mlp, fact_recall, interference_sweep)
from ..interp import (ablation_sweep, causal_trace, logit_lens, neuron_effects,
                      plot_causal_trace, plot_logit_lens, recall_by_template, subject_positions)
from ..model import GPT
from ..runtime.atomic import save_png


def parse_edit(text: str, tokenizer: Any) -> tuple[Fact, str]:
    """Read ``"First Last=sport"`` and check both sides against the model's vocabulary.

    Raises
    ------
    ValueError
        For a malformed request, a name the tokenizer does not know as single tokens, or a
        sport outside the corpus.
    """
    if "=" not in text:
        raise ValueError(f"an edit looks like 'Michael Jordan=golf', got {text!r}")
    person, sport = (part.strip() for part in text.split("=", 1))
    names = person.split()
    if len(names) != 2:
        raise ValueError(f"the person must be 'First Last', got {person!r}")
    known = set(tokenizer.vocab)
    unknown = [n for n, piece in zip(names, (names[0], " " + names[1])) if piece not in known]
    if unknown:
        raise ValueError(f"the model does not know the name(s) {unknown}: it can only edit "
                         f"people whose names appear in its training corpus")
    if sport not in sports():
        raise ValueError(f"unknown sport {sport!r}; expected one of {sports()}")
    fact = next((f for f in load_facts() if f.first == names[0] and f.last == names[1]),
                Fact(names[0], names[1], "?"))
    return fact, sport


def _answers(model: GPT, tokenizer: Any, fact: Fact) -> list[str]:
    """The model's greedy sport for ``fact``'s person under every template."""
    return [fact_recall(model, tokenizer, [fact], template=t).predictions[0][1]
            for t in range(len(TEMPLATES))]


@dataclass
class FactsStory:
    """Every table of ``minigpt facts``, as results and as text sections."""

    results: dict[str, Any] = field(default_factory=dict)
    sections: list[tuple[str, str]] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)

    def add(self, key: str, title: str, result: Any, text: str) -> None:
        """Keep one step's result under ``key`` and its text under ``title``."""
        self.results[key] = result
        self.sections.append((title, text))

    def to_dict(self) -> dict[str, Any]:
        """Every result as JSON-ready data (results with ``to_dict`` are converted)."""
        out = {}
        for key, value in self.results.items():
            out[key] = value.to_dict() if hasattr(value, "to_dict") else value
        out["plots"] = self.plots
        return out

    def to_text(self) -> str:
        """The sections as the command prints them."""
        return "\n\n".join(f"== {title} ==\n{text}" for title, text in self.sections)


def run_facts_story(
    model: GPT, tokenizer: Any, edit: str | None = None, n_edits: int = 20,
    plots_dir: str | os.PathLike | None = None, trace_samples: int = 10, seed: int = 0,
) -> FactsStory:
    """Run every fact experiment on a trained facts model.

    Parameters
    ----------
    model : GPT
        A model trained on the facts corpus (e.g. :func:`train_facts_model`).
    tokenizer : WordTokenizer
    edit : str, optional
        ``"First Last=sport"``: rewrite this fact and show the answers before and after.
    n_edits : int
        How many facts to rewrite one at a time for the efficacy / specificity table
        (0 skips it).
    plots_dir : path, optional
        Write PNG figures here (needs matplotlib).
    trace_samples : int
        Noise samples per fact in causal tracing.
    seed : int

    Returns
    -------
    FactsStory
    """
    story = FactsStory()
    # 1. the video's construction, by hand
    facts = load_facts()
    width = len({f.first for f in facts}) + len({f.last for f in facts}) + len(sports(facts))
    reports = {act: evaluate_fact_mlp(build_fact_mlp(facts, width, activation=act))
               for act in ("relu", "gelu")}
    lines = [f"{'activation':<10} {'recall':>7} {'own neuron':>10} {'right score':>11} "
             f"{'mixed names firing':>18} {'max mixed neuron':>16}"]
    for act, r in reports.items():
        lines.append(f"{act:<10} {r.accuracy:>7.1%} {r.right_neuron_mean:>10.3f} "
                     f"{r.right_score_mean:>11.3f} {r.mixed_fire_rate:>18.1%} "
                     f"{r.mixed_neuron_max:>16.3f}")
    story.add("handbuilt", f"A fact MLP built by hand: {len(facts)} people, one neuron each, "
              f"d_model {width} (every name and sport its own direction)",
              {act: {k: v for k, v in dataclasses.asdict(r).items() if k != "wrong"}
               for act, r in reports.items()}, "\n".join(lines))
    rows = interference_sweep(facts, seed=seed)
    points = breaking_points(rows)
    story.add("sweep", "Facts in superposition: where the hand-built MLP breaks",
              {str(w): str(p) for w, p in points.items()},
              "\n".join(f"d_model {w:>4}: {p}" for w, p in points.items()))
    # 2. the trained model
    recall = recall_by_template(model, tokenizer)
    story.add("recall", "Recall by template", recall, recall.to_table())
    ablation = ablation_sweep(model, tokenizer)
    story.add("ablation", "Ablation (recall with one layer's output knocked out)", ablation,
              ablation.to_table() + "\n" + ablation.summary())
    trace = causal_trace(model, tokenizer, n_samples=trace_samples, seed=seed)
    story.add("tracing", "Causal tracing (template 0)", trace,
              trace.to_table() + "\n" + trace.summary())
    lens = logit_lens(model, tokenizer)
    story.add("logit_lens", "Logit lens (rank of the right sport, layer by layer)", lens,
              lens.to_table() + "\n" + lens.summary())
    neurons = neuron_effects(model, tokenizer)
    story.add("neurons", "Neurons (direct effect on the answer's logit)", neurons,
              neurons.to_table())
    # 3. editing, at the (layer, position) where tracing finds the MLPs matter most
    layer, pos, effect = trace.peak("mlp")
    _, last_subject = subject_positions(tokenizer)
    position = "subject" if pos == last_subject else "last"
    story.results["edit_site"] = {"layer": layer, "position": position,
                                  "indirect_effect": effect}
    if edit is not None:
        fact, new_sport = parse_edit(edit, tokenizer)
        before = _answers(model, tokenizer, fact)
        others = [f for f in facts if f.name != fact.name]
        old = edit_fact(model, tokenizer, fact, new_sport, layer, lr=0.2, steps=100,
                        position=position)
        try:
            after = _answers(model, tokenizer, fact)
            kept = fact_recall(model, tokenizer, others).accuracy
        finally:
            model.params[f"blocks.{layer}.mlp.w_down"][...] = old
        text = "\n".join(f"  {TEMPLATES[t].replace(' {sport}.', '').format(name=fact.name)} "
                         f"... {b} -> {a}" for t, (b, a) in enumerate(zip(before, after)))
        story.add("edit", f"Edit {fact.name} -> {new_sport} (layer {layer}, {position} token)",
                  {"person": fact.name, "new": new_sport, "before": before, "after": after,
                   "others_recall_after": kept},
                  text + f"\n  other people's facts still right: {kept:.1%}")
    if n_edits:
        report = evaluate_edits(model, tokenizer, layer, n_edits=n_edits, lr=0.2, steps=100,
                                position=position)
        story.add("edits", f"{n_edits} edits at layer {layer} ({position} token), each from "
                  "the unedited model", report, report.to_table())
    if plots_dir is not None:
        story.plots = _write_plots(Path(plots_dir), trace, lens, rows)
    return story


def _write_plots(folder: Path, trace: Any, lens: Any, rows: Any = None) -> list[str]:
    """The story's figures as PNG files in ``folder``: the causal trace of each kind, the
    logit lens and, given the hand-built MLP's sweep ``rows``, the superposition sweep.
    Returns their paths, in that order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawings = [(f"tracing_{kind}", lambda ax, kind=kind: plot_causal_trace(trace, kind, ax=ax))
                for kind in trace.kinds]
    drawings.append(("logit_lens", lambda ax: plot_logit_lens(lens, ax=ax)))
    if rows is not None:
        from ..facts import plot_sweep

        drawings.append(("superposition_sweep", lambda ax: plot_sweep(rows, ax=ax)))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in drawings:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        draw(ax)
        written.append(save_png(fig, folder / f"{name}.png"))
        plt.close(fig)
    return written


__all__ = ["FactsStory", "parse_edit", "run_facts_story"]
