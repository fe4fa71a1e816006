"""Rewriting a fact with a rank-one change to one MLP's down-projection (ROME, by hand).

ROME (Meng et al. 2022) reads an MLP's down-projection as a key-value memory: the key is the
hidden activation (the neurons) at the subject's last token, the value is what the MLP adds
to the residual stream there. To make "Michael Jordan plays golf" true:

1. **key** ``k*``: the layer's neurons at "Jordan", averaged over sentence templates;
2. **value** ``v*``: the MLP output at "Jordan" that makes the model say " golf", found by
   gradient descent through the rest of the model with minigpt's own backward;
3. **update** ``w_down += (v* - w_down k* - b) (C^-1 k*)^T / (k*^T C^-1 k*)`` where ``C`` is
   the covariance of keys over the corpus: the smallest change (in the metric that ``C``
   defines) that stores the new pair, disturbing other keys as little as possible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data import TEMPLATES, Fact, load_facts, prompt, sports
from ..model import GPT
from ..optim import AdamW
from .athlete_recall import fact_recall
from .demo import facts_dataset
from .edit_eval import evaluate_fact_edits
from .edit_report import EditReport, EditResult
from .rank_one import rank_one_update

# The general editors stay importable from here too (``minigpt.facts.edit.rome_edit``).
from .edit_outcome import EditOutcome  # noqa: F401
from .memit import memit_edit  # noqa: F401
from .rome import finetune_edit, mlp_key_covariance, rome_edit  # noqa: F401

IGNORE = -1  # target id for positions whose prediction does not count


POSITIONS = ("subject", "last")


def _edit_position(tokenizer: Any, template: int, position: str = "subject") -> int:
    """Where the edited MLP is read: the subject's last token (the last name, as in ROME) or
    the prompt's last token (where minigpt's small models do their lookup)."""
    if position not in POSITIONS:
        raise ValueError(f"position must be one of {POSITIONS}, got {position!r}")
    pieces = tokenizer.tokenize(prompt(Fact("Michael", "Jordan", "basketball"), template))
    if position == "last":
        return len(pieces) - 1
    return next(i for i, piece in enumerate(pieces) if piece.strip() == "Jordan")


def _prompt_batch(tokenizer: Any, fact: Fact, template: int, answer: str) -> tuple[np.ndarray, np.ndarray]:
    """(idx, targets) of shape (1, T) asking for ``answer`` after the template's prompt."""
    idx = tokenizer.encode(prompt(fact, template))[None]  # (1, T)
    targets = np.full_like(idx, IGNORE)
    targets[0, -1] = tokenizer.encode(" " + answer)[0]
    return idx, targets


def subject_key(model: GPT, tokenizer: Any, fact: Fact, layer: int,
                templates: Sequence[int] | None = None, position: str = "subject") -> np.ndarray:
    """``k*``: the neurons of ``layer`` at the subject's last token, averaged over templates.

    Returns
    -------
    ndarray, shape (F,)
    """
    templates = range(len(TEMPLATES)) if templates is None else templates
    keys = []
    for t in templates:
        idx = tokenizer.encode(prompt(fact, t))
        _, cache = model.run_with_cache(idx, names=[f"blocks.{layer}.mlp.post"])
        keys.append(cache[f"blocks.{layer}.mlp.post"][0, _edit_position(tokenizer, t, position)])
    return np.mean(keys, axis=0)


def key_covariance(model: GPT, tokenizer: Any, layer: int, ridge: float = 1e-3) -> np.ndarray:
    """``C = E[k k^T]`` of the layer's neurons over every position of the facts corpus.

    Parameters
    ----------
    ridge : float
        Adds ``ridge * mean(diag C) * I`` so that ``C`` is safely invertible when some
        neurons never fire on the corpus.

    Returns
    -------
    ndarray, shape (F, F)
    """
    _, ids, _ = facts_dataset()
    T = model.config.n_ctx
    n = len(ids) // T
    windows = ids[: n * T].reshape(n, T)  # (n, T) the corpus cut into contexts
    _, cache = model.run_with_cache(windows, names=[f"blocks.{layer}.mlp.post"])
    keys = cache[f"blocks.{layer}.mlp.post"].reshape(-1, model.config.d_ff).astype(np.float64)
    C = keys.T @ keys / len(keys)  # (F, F)
    return C + ridge * np.mean(np.diag(C)) * np.eye(len(C))


def solve_value(model: GPT, tokenizer: Any, fact: Fact, new_sport: str, layer: int,
                steps: int = 60, lr: float = 0.05, templates: Sequence[int] = (0,),
                position: str = "subject", target_prob: float = 0.9) -> np.ndarray:
    """``v*``: the MLP output at the subject's last token that makes the model say ``new_sport``.

    Starts from the current output (averaged over ``templates``), replaces the layer's MLP
    output at the subject position with ``v`` in every template's prompt, and runs Adam on
    ``-log p(new_sport)`` using :meth:`GPT.activation_grads`, stopping once the mean
    probability of the new sport exceeds ``target_prob`` (a larger change would only push
    other keys' outputs further).

    Returns
    -------
    ndarray, shape (C,)
    """
    name = f"blocks.{layer}.mlp_out"
    batches = [(_prompt_batch(tokenizer, fact, t, new_sport), _edit_position(tokenizer, t, position))
               for t in templates]
    starts = []
    for (idx, _), pos in batches:
        _, cache = model.run_with_cache(idx, names=[name])
        starts.append(cache[name][0, pos])
    state = {"v": np.mean(starts, axis=0).astype(np.float64)}
    optimizer = AdamW(state, lr=lr, betas=(0.9, 0.999), weight_decay=0.0, decay=())
    for _ in range(steps):
        grad, loss = np.zeros_like(state["v"]), 0.0
        for (idx, targets), pos in batches:
            def put_v(out, pos=pos):
                out = out.copy()
                out[0, pos] = state["v"]
                return out
            batch_loss, g = model.activation_grads(idx, targets, [name], hooks={name: put_v},
                                                   ignore_index=IGNORE)
            loss += batch_loss / len(batches)
            grad += g[name][0, pos]  # the hook replaced this entry, so dL/dv is its gradient
        if loss < -np.log(target_prob):  # enough: a larger v would disturb other facts more
            break
        optimizer.step({"v": grad / len(batches)})
    return state["v"]


def _score(model: GPT, tokenizer: Any, fact: Fact, new_sport: str, others: list[Fact],
           others_before: np.ndarray) -> tuple[bool, float, float]:
    edited = Fact(fact.first, fact.last, new_sport)
    said = [fact_recall(model, tokenizer, [edited], template=t).accuracy
            for t in range(len(TEMPLATES))]
    after = fact_recall(model, tokenizer, others)
    kept = np.array([s == f.sport for f, s in after.predictions])
    specificity = float(np.mean(kept[others_before]))  # among facts right before the edit
    return bool(said[0] == 1.0), float(np.mean(said[1:])), specificity


def edit_fact(model: GPT, tokenizer: Any, fact: Fact, new_sport: str, layer: int,
              C: np.ndarray | None = None, steps: int = 60, lr: float = 0.05,
              position: str = "subject") -> np.ndarray:
    """Apply a ROME edit in place; return the old ``w_down`` so it can be restored."""
    if new_sport not in sports():
        raise ValueError(f"unknown sport {new_sport!r}; expected one of {sports()}")
    if not 0 <= layer < model.config.n_layer:
        raise ValueError(f"layer must be in [0, {model.config.n_layer}), got {layer}")
    C = key_covariance(model, tokenizer, layer) if C is None else C
    key = subject_key(model, tokenizer, fact, layer, position=position)
    value = solve_value(model, tokenizer, fact, new_sport, layer, steps=steps, lr=lr,
                        position=position)
    p = model.params
    old = p[f"blocks.{layer}.mlp.w_down"].copy()
    new = rank_one_update(old.astype(np.float64), p[f"blocks.{layer}.mlp.b_down"], key, value, C)
    p[f"blocks.{layer}.mlp.w_down"][...] = new
    return old


def finetune_fact(model: GPT, tokenizer: Any, fact: Fact, new_sport: str, layer: int,
                  steps: int = 30, lr: float = 1e-2) -> np.ndarray:
    """The baseline: fine-tune the same ``w_down`` on the one new sentence; returns the old one."""
    name = f"blocks.{layer}.mlp.w_down"
    idx, targets = _prompt_batch(tokenizer, fact, 0, new_sport)
    old = model.params[name].copy()
    optimizer = AdamW({name: model.params[name]}, lr=lr, weight_decay=0.0, decay=())
    for _ in range(steps):
        _, grads = model.loss_and_grads(idx, targets, ignore_index=IGNORE)
        optimizer.step({name: grads[name]})
    return old


def _evaluate_athlete_edits(model: GPT, tokenizer: Any, layer: int, n_edits: int = 20,
                            steps: int = 60, finetune_steps: int = 30, lr: float = 0.05,
                            position: str = "subject") -> EditReport:
    """Edit ``n_edits`` facts one at a time (each from the unedited model), ROME and fine-tuning.

    Each chosen person (spread evenly over the fact list) is moved to the next sport in
    alphabetical order.
    """
    facts = load_facts()
    all_sports = sports(facts)
    name = f"blocks.{layer}.mlp.w_down"
    C = key_covariance(model, tokenizer, layer)
    before = fact_recall(model, tokenizer, facts)
    right = np.array([s == f.sport for f, s in before.predictions])
    report = EditReport(layer, position)
    for i in np.linspace(0, len(facts) - 1, n_edits).astype(int):
        fact = facts[i]
        new_sport = all_sports[(all_sports.index(fact.sport) + 1) % len(all_sports)]
        others = [f for j, f in enumerate(facts) if j != i]
        others_right = np.delete(right, i)
        for method in ("rome", "finetune"):
            if method == "rome":
                old = edit_fact(model, tokenizer, fact, new_sport, layer, C, steps, lr, position)
            else:
                old = finetune_fact(model, tokenizer, fact, new_sport, layer, finetune_steps)
            delta = float(np.linalg.norm(model.params[name] - old))
            efficacy, paraphrase, specificity = _score(model, tokenizer, fact, new_sport,
                                                       others, others_right)
            model.params[name][...] = old  # back to the unedited model
            report.edits.append(EditResult(fact, new_sport, method, efficacy, paraphrase,
                                           specificity, delta))
    return report



def evaluate_edits(model: GPT, tokenizer: Any, facts: Any = None, n_edits: int = 20,
                   method: str = "rome", layer: int | None = None, seed: int = 0,
                   **options: Any) -> EditReport:
    """Edit ``n_edits`` facts and score the edits: efficacy, paraphrase success, specificity.

    Parameters
    ----------
    model : GPT
        Restored after each edit: the model is unchanged on return.
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    facts : sequence of FactPrompt, or int, or None
        General facts (:func:`~minigpt.facts.edit_eval.evaluate_fact_edits`: each chosen
        fact gets another fact's answer, ``method`` is compared with fine-tuning). An int
        or ``None`` means the athletes of the demo model, edited at layer ``facts`` (or
        ``layer``) as before: ``evaluate_edits(model, tokenizer, 2, n_edits=3,
        position="last")``, with the keyword options ``steps``, ``finetune_steps``,
        ``lr`` and ``position``.
    n_edits : int, default 20
    method : {"rome", "memit", "finetune"}
        General facts only.
    layer : int, optional
        General facts: default the traced layer (:func:`~minigpt.facts.rome.trace_layer`).
    seed : int
        General facts: which facts are edited and to which answers.
    **options
        Passed on (see the two functions above).

    Returns
    -------
    EditReport
    """
    if facts is None or (isinstance(facts, (int, np.integer)) and not isinstance(facts, bool)):
        athlete_layer = layer if facts is None else facts
        if athlete_layer is None:
            raise ValueError("evaluate_edits on the athletes needs a layer")
        return _evaluate_athlete_edits(model, tokenizer, athlete_layer, n_edits, **options)
    return evaluate_fact_edits(model, tokenizer, facts, n_edits, method, layer, seed, **options)

