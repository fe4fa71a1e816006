"""Neurons: which MLP neurons push each fact's answer, and is there one neuron per fact?

The video's picture is one neuron per fact: a ``w_up`` row that fires for "Michael Jordan"
and a ``w_down`` column that adds "basketball". The video's own caveat is that real
neurons rarely work that cleanly (superposition). This module measures it. Neuron f of
layer l adds :math:`a_f\\, w^{down}_{:,f}` to the residual stream; its **direct effect** on
the answer's logit is that vector read by the unembedding row of the answer, ignoring
everything the later layers do with it.

Two places are worth reading: the prompt's **last token**, where the sport is predicted
(there the direct effect is a share of the real logit), and the **last subject token**,
where ROME finds GPT-2 XL's fact lookup (there it is what the neurons write toward the
sport for attention to carry on). :func:`neuron_effects` takes either.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..data import Fact, load_facts
from ..nn import layernorm_forward
from .encoding import encode_facts, is_athletes
from .prompts import check_choice, check_int, check_model
from .scoring import group_facts
from .tables import jsonable, text_table

NEURON_WHERES = ("last", "last_subject")
TOP_K = 5  # neurons listed per fact
DOMINANCE = 0.5  # a neuron dominates a fact above this share of its positive direct effect


def direct_effects(model: Any, ids: np.ndarray, answers: np.ndarray, position: Any,
                   ln_f_scale: bool = True) -> np.ndarray:
    """Direct effect of every MLP neuron on the answer's logit at one position.

    Parameters
    ----------
    model : GPT
    ids : ndarray of int, shape (N, T)
    answers : ndarray of int, shape (N,)
        The token whose logit is explained, per row.
    position : int or ndarray of int, shape (N,)
        The position whose neurons and residual stream are read (``-1`` for the last):
        one for every row, or one per row.
    ln_f_scale : bool, default True
        Read through the final LayerNorm frozen at this position (see Notes); ``False``
        uses the plain unembedding row, as in the video.

    Returns
    -------
    ndarray, shape (N, n_layer, F)
        ``effects[n, l, f]``.

    Notes
    -----
    With neuron activation :math:`a^{(l)}_f` (``blocks.{l}.mlp.post``), down-projection
    column :math:`w^{(l)}_{:,f}` and answer embedding :math:`u = E_{a_n}`:

    .. math:: e_{l,f} = a^{(l)}_f \\; w^{(l)}_{:,f} \\cdot r

    With ``ln_f_scale=False``, :math:`r = u`. But the logit is
    :math:`u \\cdot \\mathrm{LN}_f(x) = \\rho\\, x \\cdot c + b \\cdot u` with
    :math:`c = g \\odot u - \\overline{g \\odot u}` and :math:`\\rho` the final stream's
    1/std at this position, so with ``ln_f_scale=True``, :math:`r = \\rho c`. Then the
    effects of all neurons, plus :math:`\\rho\\, x \\cdot c` of every other term of the
    stream (embedding, attention outputs, ``b_down``), plus :math:`b \\cdot u` add up
    exactly to the logit: an exact split with LayerNorm's scale frozen.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> model = GPT(GPTConfig(vocab_size=16, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    >>> direct_effects(model, np.array([[1, 2, 3]]), np.array([4]), position=-1).shape
    (1, 2, 32)
    """
    check_model(model)
    ids = np.asarray(ids)
    answers = np.asarray(answers)
    if ids.ndim != 2 or answers.shape != ids.shape[:1]:
        raise ValueError(f"ids must be (N, T) and answers (N,), got {ids.shape} and "
                         f"{answers.shape}")
    T = ids.shape[1]
    pos = np.broadcast_to(np.asarray(position), ids.shape[:1])  # (N,)
    if pos.dtype.kind not in "iu" or np.any(pos < -T) or np.any(pos >= T):
        raise ValueError(f"position must be in [-{T}, {T}), got {position}")
    rows = np.arange(ids.shape[0])
    p, L = model.params, model.config.n_layer
    final = f"blocks.{L - 1}.resid_post"
    _, cache = model.run_with_cache(ids, names=[f"blocks.{l}.mlp.post" for l in range(L)]
                                    + [final], logits_to_keep=1)
    u = p["tok_emb"][answers]  # (N, C)
    if ln_f_scale:
        gu = u * p["ln_f.gain"]  # (N, C)
        _, ln = layernorm_forward(cache[final][rows, pos], p["ln_f.gain"], p["ln_f.bias"])
        read = (gu - gu.mean(axis=-1, keepdims=True)) * ln.rstd  # (N, C)
    else:
        read = u
    return np.stack([cache[f"blocks.{l}.mlp.post"][rows, pos]  # (N, F)
                     * (read @ p[f"blocks.{l}.mlp.w_down"])  # (N, C) @ (C, F) -> (N, F)
                     for l in range(L)], axis=1)  # (N, L, F)


@dataclass
class NeuronResult:
    """Direct effects of every neuron on every fact's answer (:func:`neuron_effects`).

    Attributes
    ----------
    facts : list of Fact or FactPrompt
    template : int or str
    where : {"last", "last_subject"}
    ln_f_scale : bool
    top_k : int
    dominance : float
    effects : ndarray, shape (N, n_layer, F)

    Notes
    -----
    The derived arrays (:attr:`top`, :attr:`top_share`, :attr:`n_to_half`,
    :attr:`membership`) are computed on first use and kept.
    """

    facts: list[Any]
    template: int | str | None
    where: str
    ln_f_scale: bool
    top_k: int
    dominance: float
    effects: np.ndarray

    @cached_property
    def top(self) -> np.ndarray:
        """Each fact's ``top_k`` neurons by direct effect, as flat ids ``l * F + f``, (N, k)."""
        flat = self.effects.reshape(len(self.facts), -1)  # (N, L*F)
        return np.argsort(-flat, axis=1, kind="stable")[:, :self.top_k]

    @cached_property
    def top_share(self) -> np.ndarray:
        """The top neuron's share of each fact's total positive direct effect, (N,)."""
        flat = self.effects.reshape(len(self.facts), -1)  # (N, L*F)
        positive = np.clip(flat, 0, None).sum(axis=1)  # (N,)
        best = np.clip(flat.max(axis=1), 0, None)
        return np.divide(best, positive, out=np.zeros_like(best), where=positive > 0)

    @cached_property
    def n_to_half(self) -> np.ndarray:
        """How many of the strongest neurons it takes to reach half the positive effect, (N,)."""
        pos = -np.sort(-np.clip(self.effects.reshape(len(self.facts), -1), 0, None), axis=1)
        cum = np.cumsum(pos, axis=1)  # (N, L*F)
        return 1 + np.argmax(cum >= 0.5 * cum[:, -1:], axis=1)

    @property
    def dominant(self) -> np.ndarray:
        """Whether one neuron holds more than ``dominance`` of the positive effect, (N,) bool."""
        return self.top_share > self.dominance

    @cached_property
    def membership(self) -> np.ndarray:
        """In how many facts' top-k lists each neuron appears, shape (n_layer, F)."""
        shape = self.effects.shape[1:]
        return np.bincount(self.top.ravel(), minlength=shape[0] * shape[1]).reshape(shape)

    def shared_neurons(self, n: int = 5) -> list[dict[str, Any]]:
        """The ``n`` neurons in the most top-k lists, with the answers of those facts
        (under ``"answers"``, and also ``"sports"`` for the athletes)."""
        F = self.effects.shape[2]
        counts = self.membership.ravel()
        rows = []
        for j in np.argsort(-counts, kind="stable")[:n]:
            if counts[j] == 0:
                break
            served = np.flatnonzero((self.top == j).any(axis=1))  # facts with j in their top-k
            answers = dict(Counter(fact_names(self.facts[i])[1] for i in served).most_common())
            row = {"layer": int(j // F), "neuron": int(j % F), "n_facts": int(counts[j]),
                   "answers": answers}
            if self.template is not None:
                row["sports"] = answers
            rows.append(row)
        return rows

    def summary(self) -> str:
        """The counts that answer "one neuron per fact?", computed from the effects."""
        N = len(self.facts)
        members = self.membership
        top_layer = np.bincount(self.top[:, 0] // self.effects.shape[2],
                                minlength=self.effects.shape[1])
        shared = members[members >= 2]
        n_answers = [len(r["answers"]) for r in self.shared_neurons(int(shared.size))]
        return "\n".join([
            f"{int(self.dominant.sum())} of {N} facts have one neuron with > {self.dominance:.0%} "
            f"of the positive direct effect (median top share {np.median(self.top_share):.2f})",
            f"neurons needed for half the positive effect: median {np.median(self.n_to_half):.0f}, "
            f"max {int(self.n_to_half.max())}",
            f"{int((members > 0).sum())} distinct neurons fill the {N} top-{self.top_k} lists; "
            f"{int(shared.size)} serve 2+ facts, the busiest {int(members.max())} facts",
            "layer of each fact's top neuron: "
            + ", ".join(f"{layer}:{c}" for layer, c in enumerate(top_layer)),
            f"of the {len(n_answers)} shared neurons, {sum(k == 1 for k in n_answers)} serve "
            f"facts of a single answer; the others up to {max(n_answers, default=0)} answers",
        ])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per-fact top neurons and shares, the counts and the summary."""
        F = self.effects.shape[2]
        flat = self.effects.reshape(len(self.facts), -1)
        per_fact = []
        for i, (f, s, h, top) in enumerate(zip(self.facts, self.top_share, self.n_to_half,
                                               self.top)):
            subject, answer = fact_names(f)
            row = {"subject": subject, "answer": answer, "top_share": s, "n_to_half": h,
                   "top": [{"layer": int(j // F), "neuron": int(j % F), "effect": flat[i, j]}
                           for j in top]}
            if self.template is not None:  # the athletes' names for these, as before
                row.update(name=subject, sport=answer)
            per_fact.append(row)
        return jsonable({"template": self.template, "where": self.where,
                         "ln_f_scale": self.ln_f_scale, "top_k": self.top_k,
                         "n_dominant": int(self.dominant.sum()), "facts": per_fact,
                         "shared_neurons": self.shared_neurons(), "summary": self.summary()})

    def to_table(self, max_facts: int = 10) -> str:
        """Text: the first ``max_facts`` facts' top neurons, the shared neurons, the summary."""
        F = self.effects.shape[2]
        flat = self.effects.reshape(len(self.facts), -1)
        rows = [[*fact_names(f), f"L{j // F}.{j % F}", float(flat[i, j]), float(s), int(h)]
                for i, (f, s, h, j) in enumerate(zip(self.facts, self.top_share, self.n_to_half,
                                                     self.top[:, 0]))][:max_facts]
        facts = text_table(["fact", "answer", "top neuron", "effect", "share", "for half"],
                           rows)
        shared = text_table(["neuron", f"in top-{self.top_k} of", "answers"],
                            [[f"L{r['layer']}.{r['neuron']}", r["n_facts"],
                              ", ".join(f"{s} {c}" for s, c in r["answers"].items())]
                             for r in self.shared_neurons()])
        return f"{facts}\n\n{shared}\n\n{self.summary()}"


def neuron_effects(model: Any, tokenizer: Any, facts: Any = None,
                   template: int | str = 0, where: str = "last", top_k: int = TOP_K,
                   dominance: float = DOMINANCE, ln_f_scale: bool = True) -> NeuronResult:
    """Every neuron's direct effect on every fact's answer, and how they share the work.

    Parameters
    ----------
    model : GPT
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    facts : sequence of FactPrompt or of Fact, optional
        Default: the embedded athletes.
    template : int or str, default 0
        For athletes' ``Fact`` s only.
    where : {"last", "last_subject"}
        Read the neurons at the prompt's last token (where the answer is predicted, and
        the effect is on the real logit) or at the subject's last token (what the neurons
        there write toward the answer, for attention to carry on). The answer's first
        token is the one explained.
    top_k : int, default 5
    dominance : float, default 0.5
        A fact has a dominant neuron when one neuron holds more than this share of the
        fact's total positive direct effect.
    ln_f_scale : bool, default True
        See :func:`direct_effects`.

    Returns
    -------
    NeuronResult

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> from minigpt.facts import facts_dataset
    >>> tok, _, _ = facts_dataset()
    >>> model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    >>> result = neuron_effects(model, tok, top_k=3)
    >>> result.effects.shape, result.top.shape, int(result.membership.sum())
    ((180, 2, 32), (180, 3), 540)
    """
    check_model(model)
    check_choice("where", where, NEURON_WHERES)
    top_k = check_int("top_k", top_k, 1, model.config.n_layer * model.config.d_ff)
    if not (isinstance(dominance, (int, float)) and 0 < dominance < 1):
        raise ValueError(f"dominance must be a number in (0, 1), got {dominance!r}")
    encoded = encode_facts(tokenizer, facts, model, template)
    effects = np.empty((len(encoded), model.config.n_layer, model.config.d_ff), model.dtype)
    for g in group_facts(encoded):
        position = g.T - 1 if where == "last" else g.last
        effects[g.rows] = direct_effects(model, g.ids, g.answers[:, 0], position, ln_f_scale)
    athletes = is_athletes(facts)
    given = list(load_facts() if facts is None else facts) if athletes else \
        [e.fact for e in encoded]
    return NeuronResult(given, template if athletes else None, where, bool(ln_f_scale), top_k,
                        float(dominance), effects)


def fact_names(fact: Any) -> tuple[str, str]:
    """``(subject, answer)`` of a :class:`~minigpt.data.FactPrompt` or an athlete's
    :class:`~minigpt.data.Fact` (name, sport)."""
    if isinstance(fact, Fact):
        return fact.name, fact.sport
    return fact.subject, fact.answer
