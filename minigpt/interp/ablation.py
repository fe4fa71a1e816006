"""Ablation: knock a layer's MLP (or attention) output out and see which facts are lost.

If a layer's MLP stores the facts, replacing its output by something that carries no
information about the person should break recall. Two replacements are common:

* **zero**: the output becomes 0. Simple, but 0 may be far from anything the next layers
  ever saw, so a drop can come from the shock rather than from lost facts.
* **mean**: the output becomes its average over all facts' prompts at the same position,
  which keeps the typical part and removes only what tells people apart.
* **mean_pooled**: the average over facts *and positions*. At any one position this
  injects what other positions typically receive, so it can break a model by itself; it
  is offered for comparison and is not in :func:`ablation_sweep`'s default.

Each ablation is applied either at the **last subject token** only ("Jordan" in "Michael
Jordan plays", where ROME finds GPT-2 XL's facts) or at **all positions**.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .encoding import EncodedFact, encode_facts, is_athletes
from .prompts import check_choice, check_int, check_model, template_list
from .scoring import MODES, FactGroup, group_facts, score_encoded
from .tables import jsonable, text_table

COMPONENTS = {"mlp": "mlp_out", "attn": "attn_out"}  # component -> hook point in each block
WHERES = ("last_subject", "all")
KINDS = ("zero", "mean", "mean_pooled")


@dataclass
class AblationRow:
    """Recall with one component of one layer ablated.

    Attributes
    ----------
    component : {"mlp", "attn"}
    layer : int
    where : {"last_subject", "all"}
    kind : {"zero", "mean", "mean_pooled"}
    accuracy, p_correct : float
        Greedy recall and the right answer's mean probability, ablated.
    accuracy_drop, p_drop : float
        Clean minus ablated.
    """

    component: str
    layer: int
    where: str
    kind: str
    accuracy: float
    p_correct: float
    accuracy_drop: float
    p_drop: float


@dataclass
class AblationResult:
    """Every (component, layer, where, kind) ablation of :func:`ablation_sweep`.

    Attributes
    ----------
    clean_accuracy, clean_p : float
        Recall and the right answer's mean probability without ablation.
    n : int
        Number of (fact, template) prompts.
    templates : list
        The athletes' templates, or ``["prompt"]`` for general facts.
    rows : list of AblationRow
    """

    clean_accuracy: float
    clean_p: float
    n: int
    templates: list = field(default_factory=list)
    rows: list[AblationRow] = field(default_factory=list)

    def row(self, component: str, layer: int, where: str, kind: str) -> AblationRow:
        """The row of one ablation (``KeyError`` if it was not run)."""
        for r in self.rows:
            if (r.component, r.layer, r.where, r.kind) == (component, layer, where, kind):
                return r
        raise KeyError(f"no ablation ({component!r}, {layer}, {where!r}, {kind!r}) in this result")

    def summary(self) -> str:
        """One sentence per (component, where, kind): the layer whose ablation hurts most."""
        lines = [f"clean recall {self.clean_accuracy:.3f} over {self.n} prompts "
                 f"(mean p(answer) {self.clean_p:.3f})"]
        groups = sorted({(r.component, r.where, r.kind) for r in self.rows})
        for component, where, kind in groups:
            rs = [r for r in self.rows
                  if (r.component, r.where, r.kind) == (component, where, kind)]
            worst = max(rs, key=lambda r: (r.accuracy_drop, r.p_drop))
            head = f"{kind}-ablating {component} at {where.replace('_', ' ')}: "
            if worst.accuracy_drop > 0:
                lines.append(head + f"layer {worst.layer} hurts most (recall "
                             f"{worst.accuracy:.3f}, drop {worst.accuracy_drop:.3f})")
            else:
                lines.append(head + f"no single layer lowers recall (largest p(answer) drop "
                             f"{worst.p_drop:.3f}, layer {worst.layer})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the clean numbers and one dict per row."""
        return jsonable({"clean_accuracy": self.clean_accuracy, "clean_p": self.clean_p,
                         "n": self.n, "templates": self.templates,
                         "rows": [asdict(r) for r in self.rows]})

    def to_table(self) -> str:
        """A text table, one line per ablation, with the drops from the clean run."""
        rows = [[r.component, r.layer, r.where, r.kind, r.accuracy, r.accuracy_drop,
                 r.p_correct, r.p_drop] for r in self.rows]
        head = (f"clean: recall {self.clean_accuracy:.3f}, p(answer) {self.clean_p:.3f}, "
                f"{self.n} prompts\n")
        return head + text_table(["component", "layer", "where", "kind", "recall", "drop",
                                  "p(answer)", "p drop"], rows)


class Fills(NamedTuple):
    """What ablation can put in place of one activation, from the clean runs of a fact set.

    ``position`` is the mean over facts at each position (over the facts whose run is that
    long), ``last_subject`` the mean over facts at their last subject token, ``pooled``
    the mean over facts and positions."""

    position: np.ndarray  # (T_max, C)
    last_subject: np.ndarray  # (C,)
    pooled: np.ndarray  # (C,)


def _fills(model: Any, encoded: list[EncodedFact], mode: str) -> dict[str, Fills]:
    """:class:`Fills` of every layer's MLP and attention output, over one set of facts."""
    names = [f"blocks.{i}.{point}" for i in range(model.config.n_layer)
             for point in COMPONENTS.values()]
    groups = group_facts(encoded)
    T_max = max(g.inputs(mode).shape[1] for g in groups)
    C = model.config.d_model
    at_pos = {name: np.zeros((T_max, C)) for name in names}
    at_last = {name: np.zeros(C) for name in names}
    n_pos = np.zeros(T_max)  # how many facts reach each position
    for g in groups:
        _, clean = model.run_with_cache(g.inputs(mode), names=names, logits_to_keep=1)
        Tx = clean[names[0]].shape[1]
        n_pos[:Tx] += g.n
        for name in names:
            at_pos[name][:Tx] += clean[name].sum(axis=0)  # (T', C)
            at_last[name] += clean[name][np.arange(g.n), g.last].sum(axis=0)  # (C,)
    dtype = model.dtype
    return {name: Fills((at_pos[name] / n_pos[:, None]).astype(dtype),
                        (at_last[name] / len(encoded)).astype(dtype),
                        (at_pos[name].sum(axis=0) / n_pos.sum()).astype(dtype))
            for name in names}


def _hooks(group: FactGroup, fills: dict[str, Fills], component: str,
           layers: Sequence[int], where: str, kind: str) -> dict[str, Any]:
    """Hooks that replace ``component``'s output in ``layers`` at ``where`` by 0 or a mean."""
    hooks = {}
    rows = np.arange(group.n)
    for layer in layers:
        name = f"blocks.{layer}.{COMPONENTS[component]}"
        fill = fills[name]
        if where == "last_subject":
            value = {"zero": np.zeros_like(fill.pooled), "mean": fill.last_subject,
                     "mean_pooled": fill.pooled}[kind]  # (C,)

            def hook(v: np.ndarray, value: np.ndarray = value) -> np.ndarray:
                v = v.copy()
                v[rows, group.last] = value  # each fact's last subject token
                return v
        else:
            def hook(v: np.ndarray, fill: Fills = fill) -> np.ndarray:
                T = v.shape[1]
                value = {"zero": np.zeros_like(fill.position[:T]), "mean": fill.position[:T],
                         "mean_pooled": np.broadcast_to(fill.pooled, fill.position[:T].shape)
                         }[kind]  # (T, C)
                return np.broadcast_to(value, v.shape).copy()  # every fact, every position

        hooks[name] = hook
    return hooks


def _fact_sets(tokenizer: Any, facts: Any, templates: Any, model: Any) -> list[list[EncodedFact]]:
    """The sets of facts whose means are taken together: one per athletes' template, or
    the general facts as one set."""
    if is_athletes(facts):
        return [encode_facts(tokenizer, facts, model, t) for t in template_list(templates)]
    if templates is not None:
        raise ValueError("templates apply to athletes' Facts only")
    return [encode_facts(tokenizer, facts, model)]


def _run(model: Any, tokenizer: Any, facts: Any, templates: Any,
         configs: list[tuple[str, tuple[int, ...], str, str]], mode: str = "product"
         ) -> tuple[np.ndarray, np.ndarray, int]:
    """Total correct answers and total p(answer) for each ablation config, and the number
    of prompts, pooled over the fact sets. Config ``()`` layers is the clean run."""
    correct = np.zeros(len(configs))
    p_sum = np.zeros(len(configs))
    n = 0
    for encoded in _fact_sets(tokenizer, facts, templates, model):
        fills = _fills(model, encoded, mode)
        for c, (component, layers, where, kind) in enumerate(configs):
            s = score_encoded(model, encoded, mode, lambda g: _hooks(
                g, fills, component, layers, where, kind))
            correct[c] += np.sum(s.correct)
            p_sum[c] += np.sum(np.exp(s.log_p), dtype=np.float64)
        n += len(encoded)
    return correct, p_sum, n


def _check(model: Any, component: str, layers: Any, where: str, kind: str) -> tuple[int, ...]:
    check_model(model)
    check_choice("component", component, tuple(COMPONENTS))
    check_choice("where", where, WHERES)
    check_choice("kind", kind, KINDS)
    layers = (layers,) if isinstance(layers, (int, np.integer)) else tuple(layers)
    return tuple(check_int("layers", layer, 0, model.config.n_layer - 1) for layer in layers)


def ablated_recall(model: Any, tokenizer: Any, facts: Any = None,
                   templates: Any = None, component: str = "mlp", layers: Any = (),
                   where: str = "last_subject", kind: str = "zero",
                   mode: str = "product") -> tuple[float, float]:
    """Recall with one component ablated in several layers at once.

    Parameters
    ----------
    model : GPT
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    facts : sequence of FactPrompt or of Fact, optional
        Default: the embedded athletes.
    templates : int, str or sequence of them, optional
        For athletes only. Default: every template; results are pooled over all
        (fact, template) prompts.
    component : {"mlp", "attn"}
        Ablate ``blocks.{i}.mlp_out`` or ``blocks.{i}.attn_out``.
    layers : int or sequence of int
        The layers to ablate together; ``()`` ablates nothing (the clean run).
    where : {"last_subject", "all"}
    kind : {"zero", "mean", "mean_pooled"}
        ``"mean"`` puts in the clean output's mean over all facts (of the template, for
        athletes) at the same place: position by position for ``where="all"`` (over the
        facts whose run reaches that position), at each fact's last subject token for
        ``"last_subject"``; ``"mean_pooled"`` its mean over facts and positions.
    mode : {"product", "first"}
        How the answer is scored (see :func:`~minigpt.interp.score_facts`).

    Returns
    -------
    accuracy : float
        Share of prompts whose greedy answer is right.
    p_correct : float
        Mean probability of the right answer.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> from minigpt.facts import facts_dataset
    >>> tok, _, _ = facts_dataset()
    >>> model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    >>> acc, p = ablated_recall(model, tok, templates=0, layers=[0, 1], where="all")
    >>> 0 <= acc <= 1 and 0 < p < 1
    True
    """
    layers = _check(model, component, layers, where, kind)
    check_choice("mode", mode, MODES)
    correct, p_sum, n = _run(model, tokenizer, facts, templates,
                             [(component, layers, where, kind)], mode)
    return float(correct[0] / n), float(p_sum[0] / n)


def ablation_sweep(model: Any, tokenizer: Any, facts: Any = None,
                   templates: Any = None, components: Sequence[str] = tuple(COMPONENTS),
                   wheres: Sequence[str] = WHERES,
                   kinds: Sequence[str] = ("zero", "mean"),
                   mode: str = "product") -> AblationResult:
    """Ablate each layer's component alone, for every component, place and kind.

    Parameters
    ----------
    model : GPT
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    facts : sequence of FactPrompt or of Fact, optional
        Default: the embedded athletes.
    templates : int, str or sequence of them, optional
        For athletes only. Default: every template, pooled.
    components : sequence of {"mlp", "attn"}
    wheres : sequence of {"last_subject", "all"}
    kinds : sequence of {"zero", "mean", "mean_pooled"}
        See :func:`ablated_recall`.
    mode : {"product", "first"}

    Returns
    -------
    AblationResult
        ``len(components) * n_layer * len(wheres) * len(kinds)`` rows.

    Notes
    -----
    The drop of recall when layer l's MLP is ablated at the last subject token measures
    how much the facts depend on what that MLP writes there; ablating all positions also
    removes whatever it writes at the prompt's last token, where the answer is read out.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> from minigpt.facts import facts_dataset
    >>> tok, _, _ = facts_dataset()
    >>> model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    >>> len(ablation_sweep(model, tok, templates=0, components=["mlp"]).rows)
    8
    """
    check_model(model)
    check_choice("mode", mode, MODES)
    components, wheres, kinds = ([v] if isinstance(v, str) else list(v)
                                 for v in (components, wheres, kinds))
    configs = [(c, (layer,), w, k) for c in components for layer in range(model.config.n_layer)
               for w in wheres for k in kinds]
    for c, layers, w, k in configs:
        _check(model, c, layers, w, k)
    clean = ("mlp", (), "all", "zero")  # no layers: nothing ablated
    correct, p_sum, n = _run(model, tokenizer, facts, templates, [clean] + configs, mode)
    acc, p = correct / n, p_sum / n
    rows = [AblationRow(c, layers[0], w, k, float(acc[i + 1]), float(p[i + 1]),
                        float(acc[0] - acc[i + 1]), float(p[0] - p[i + 1]))
            for i, (c, layers, w, k) in enumerate(configs)]
    asked = template_list(templates) if is_athletes(facts) else ["prompt"]
    return AblationResult(float(acc[0]), float(p[0]), n, asked, rows)
