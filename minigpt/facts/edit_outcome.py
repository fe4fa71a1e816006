"""What one edit did: the answer's probabilities before and after, and its cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..data import FactPrompt
from ..interp.tables import jsonable

METHODS = ("rome", "memit", "finetune")
TABLE_WIDTH = 86  # the widest line :meth:`EditOutcome.to_table` writes
PROMPT_WIDTH = 40  # characters of the prompt shown in a table before it is cut


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in ``...`` when cut."""
    return text if len(text) <= width else text[:width - 3] + "..."


@dataclass
class EditOutcome:
    """One edit of a fact and how the model answers before and after.

    Attributes
    ----------
    fact : FactPrompt
        The fact as it was (its ``answer`` is the old answer).
    new_answer : str
    layer : int
        The (last) layer whose ``mlp.w_down`` changed.
    method : {"rome", "memit", "finetune"}
    seconds : float
        Wall time of the edit (keys, value, covariance and update; not the scoring).
    before, after : dict
        ``{"p_old": ..., "p_new": ...}``: the probability of the old and of the new answer
        after the edited prompt, each the teacher-forced product over its tokens.
    paraphrase : float or None
        Mean p(new answer) over the fact's paraphrases after the edit; ``None`` without
        paraphrases.
    delta_norm : float
        Frobenius norm of the change to ``w_down`` (summed over layers for MEMIT).
    layers : tuple of int
        Every layer changed (one for ROME and fine-tuning).
    """

    fact: FactPrompt
    new_answer: str
    layer: int
    method: str
    seconds: float
    before: dict[str, float]
    after: dict[str, float]
    paraphrase: float | None = None
    delta_norm: float = 0.0
    layers: tuple[int, ...] = ()

    @property
    def success(self) -> bool:
        """Whether the new answer is now more likely than the old one (ROME's efficacy)."""
        return self.after["p_new"] > self.after["p_old"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, the fact as ``prompt``/``subject``/``old_answer``."""
        return jsonable({"prompt": self.fact.prompt, "subject": self.fact.subject,
                         "old_answer": self.fact.answer, "new_answer": self.new_answer,
                         "paraphrases": list(self.fact.paraphrases),
                         "method": self.method, "layer": self.layer,
                         "layers": list(self.layers or (self.layer,)),
                         "seconds": self.seconds, "before": dict(self.before),
                         "after": dict(self.after), "paraphrase": self.paraphrase,
                         "delta_norm": self.delta_norm, "success": self.success})

    def to_table(self) -> str:
        """A few lines of text, at most 86 columns wide."""
        where = ", ".join(str(layer) for layer in (self.layers or (self.layer,)))
        head = (f"{self.method} edit at layer {where} in {self.seconds:.1f} s, "
                f"|dW| = {self.delta_norm:.3g}")
        lines = [_cut(head, TABLE_WIDTH),
                 _cut(f"prompt: {self.fact.prompt!r}", TABLE_WIDTH),
                 f"{'':<8} {'p(' + _cut(self.fact.answer, 24) + ')':>30} "
                 f"{'p(' + _cut(self.new_answer, 24) + ')':>30}"]
        for name, probs in (("before", self.before), ("after", self.after)):
            lines.append(f"{name:<8} {probs['p_old']:>30.4f} {probs['p_new']:>30.4f}")
        if self.paraphrase is not None:
            lines.append(f"paraphrases: mean p(new) = {self.paraphrase:.4f}")
        verdict = "takes" if self.success else "does not take"
        lines.append(f"the edit {verdict}: p(new) {'>' if self.success else '<='} p(old)")
        return "\n".join(lines)
