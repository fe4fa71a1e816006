"""The results of fact edits: one edit (:class:`EditResult`) and many (:class:`EditReport`).

Both the athletes' edits (:func:`minigpt.facts.edit.evaluate_edits`) and the general ones
(:func:`minigpt.facts.edit_eval.evaluate_fact_edits`) report in these types: efficacy (the
edited prompt gives the new answer), paraphrase success and specificity (the other facts
are left alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data import Fact


@dataclass
class EditResult:
    """One fact edit and how it went.

    ``fact`` is an athlete's :class:`~minigpt.data.Fact` (:func:`~minigpt.facts.edit.edit_fact`) or a
    :class:`~minigpt.data.FactPrompt`; ``paraphrase`` is NaN for a fact without paraphrases.
    """

    fact: Any
    new_answer: str
    method: str
    efficacy: bool  # the edited prompt now prefers the new answer
    paraphrase: float  # share of the paraphrases (other templates) that answer it
    specificity: float  # share of the other facts, right before, still right
    delta_norm: float  # Frobenius norm of the change to w_down

    @property
    def new_sport(self) -> str:
        """The new answer (the athletes' name for it)."""
        return self.new_answer

    @property
    def subject(self) -> str:
        """The person's name or the fact's subject."""
        return self.fact.name if isinstance(self.fact, Fact) else self.fact.subject

    @property
    def old_answer(self) -> str:
        """The answer before the edit."""
        return self.fact.sport if isinstance(self.fact, Fact) else self.fact.answer


def _mean(values: list[float]) -> float:
    """The mean of the values that are not NaN (NaN when none is)."""
    kept = [v for v in values if not np.isnan(v)]
    return float(np.mean(kept)) if kept else float("nan")


@dataclass
class EditReport:
    """Many edits, each from the unedited model (or one batch of MEMIT edits).

    Attributes
    ----------
    layer : int
        The layer edited (the last one of MEMIT's range).
    position : str
        Where the key is read: "subject" (its last token) or "last" (athletes only).
    edits : list of EditResult
    rule : str
        How efficacy was decided.
    """

    layer: int
    position: str = "subject"
    edits: list[EditResult] = field(default_factory=list)
    rule: str = "the first template answers the new sport (greedy)"

    @property
    def methods(self) -> list[str]:
        """The methods of the edits, in order of first appearance."""
        return list(dict.fromkeys(e.method for e in self.edits))

    def summary(self, method: str) -> dict[str, float]:
        """Mean efficacy, paraphrase success and specificity of one method's edits."""
        rows = [e for e in self.edits if e.method == method]
        return {"efficacy": float(np.mean([e.efficacy for e in rows])),
                "paraphrase": _mean([e.paraphrase for e in rows]),
                "specificity": _mean([e.specificity for e in rows]),
                "mean_delta_norm": float(np.mean([e.delta_norm for e in rows])),
                "n": len(rows)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the layer, each method's summary and every edit (NaN as None)."""
        def clean(value: Any) -> Any:
            return None if isinstance(value, float) and np.isnan(value) else value
        return {"layer": self.layer, "position": self.position, "rule": self.rule,
                "summary": {m: {k: clean(v) for k, v in self.summary(m).items()}
                            for m in self.methods},
                "edits": [{"person": e.subject, "old": e.old_answer, "new": e.new_answer,
                           "method": e.method, "efficacy": bool(e.efficacy),
                           "paraphrase": clean(float(e.paraphrase)),
                           "specificity": clean(float(e.specificity)),
                           "delta_norm": float(e.delta_norm)} for e in self.edits]}

    def to_table(self) -> str:
        """One line per method: how many edits took, generalized and left others alone
        (at most 86 columns)."""
        lines = [f"{'method':<10} {'edits':>5} {'efficacy':>9} {'paraphrase':>10} "
                 f"{'specificity':>11} {'|dW|':>7}"]
        for method in self.methods:
            s = self.summary(method)
            para = "-" if np.isnan(s["paraphrase"]) else f"{s['paraphrase']:.1%}"
            lines.append(f"{method:<10} {s['n']:>5} {s['efficacy']:>9.1%} {para:>10} "
                         f"{s['specificity']:>11.1%} {s['mean_delta_norm']:>7.2f}")
        return "\n".join(lines)
