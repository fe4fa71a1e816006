"""
9. Editing a fact
=================

*In the video:* :video:`6:07`, where each column of :math:`W_{down}` is the answer a
neuron adds.

If an MLP stores "Michael Jordan plays basketball" as the video describes, a question asks
(the neurons that fire) and an answer is added (the columns of :math:`W_{down}`), then
changing the answer should be a matter of changing :math:`W_{down}`, and nothing else. The
ROME paper (Meng et al. 2022) does exactly that: it reads the down-projection as a
:term:`key-value memory` and writes one new pair into it with a change of rank one (a :term:`rank-one edit`), chosen to
disturb the other keys as little as possible. Here the demo model learns that Michael
Jordan plays golf, by an edit written with minigpt's own backward pass, and the edit is
scored the way ROME scores it: did it take, does it hold in other phrasings, and did
everyone else keep their sport?
"""

# %%
# The equation
# ------------
#
# At the layer and position where the lookup happens, the MLP's neurons :math:`k` (the
# *key*, shape :math:`F`) are mapped to its output :math:`W_{down} k + b_{down}` (the
# *value*, shape :math:`C`). Three steps write a new fact:
#
# 1. the key :math:`k^*`: the neurons for the person's prompt, averaged over templates;
# 2. the value :math:`v^*`: an MLP output that makes the model answer the new sport, found
#    by gradient descent on :math:`-\log p(\text{new sport})` through the rest of the model;
# 3. the smallest change of :math:`W_{down}` that maps :math:`k^*` to :math:`v^*`, measured
#    on the keys :math:`k_j` the layer sees on the whole corpus:
#
# .. math::
#
#     \min_{W'} \sum_j \lVert W' k_j - W k_j \rVert^2
#     \ \text{ s.t. } \ W' k^* + b = v^*
#     \quad\Longrightarrow\quad
#     W' = W + \frac{(v^* - W k^* - b)\,(C^{-1} k^*)^T}{k^{*T} C^{-1} k^*},
#     \qquad C = \operatorname{mean}_j k_j k_j^T
#
# The change is an outer product: rank one. Directions of key space that the corpus uses a
# lot are expensive to change (large :math:`C`), rarely used ones are cheap.
#
# The code
# --------
#
# .. literalinclude:: /../minigpt/facts/rank_one.py
#    :pyobject: rank_one_update
#    :no-docstring:
#    :caption: minigpt/facts/rank_one.py
#
# .. literalinclude:: /../minigpt/facts/edit.py
#    :pyobject: key_covariance
#    :no-docstring:
#    :caption: minigpt/facts/edit.py
#
# The value is found by putting a free vector :math:`v` in place of the MLP's output with
# a hook and asking :meth:`minigpt.GPT.activation_grads` for the gradient of the loss with
# respect to that activation, which chapter 5's hand-written backward provides:
#
# .. literalinclude:: /../minigpt/facts/edit.py
#    :pyobject: solve_value
#    :start-at: state = {"v":
#    :dedent:
#
# .. literalinclude:: /../minigpt/facts/edit.py
#    :pyobject: edit_fact
#    :no-docstring:
#
# The baseline ROME compares against: fine-tune the same matrix on the one new sentence
# (:func:`~minigpt.facts.finetune_fact`).
#
# .. literalinclude:: /../minigpt/facts/edit.py
#    :pyobject: finetune_fact
#    :no-docstring:

from collections import Counter

import matplotlib.pyplot as plt
import numpy as np

from minigpt.data import TEMPLATES, Fact, load_facts, prompt
from minigpt.facts import (
    edit_fact,
    evaluate_edits,
    fact_recall,
    facts_dataset,
    key_covariance,
    rank_one_update,
    solve_value,
    subject_key,
)
from minigpt.facts.demo import demo_model  # trained on first use, then loaded from a cache
from minigpt.interp import causal_trace

# %%
# Where to edit
# -------------
#
# ROME edits GPT-2 XL at the last subject token, in a middle layer, because that is where
# its causal tracing peaks. Chapter 8 found the demo model's peak somewhere else: at the
# last token of the prompt, in one of its first layers. Trace again and take both sites: the
# overall peak, and the best layer at the last subject token.

model, tokenizer, _ = demo_model()
trace = causal_trace(model, tokenizer, kinds=["mlp"], n_samples=10, seed=0)
ie = trace.indirect_effect("mlp")  # (L, T)
last_layer, last_pos, last_ie = trace.peak("mlp")
subject_layer = int(ie[:, trace.last].argmax())
sites = {"last": last_layer, "subject": subject_layer}
print(f"tracing peak: layer {last_layer}, position {last_pos} ({trace.labels[last_pos]!r}), "
      f"indirect effect {last_ie:.3f}")
print(f"best layer at the last subject token: {subject_layer}, indirect effect "
      f"{ie[subject_layer, trace.last]:.3f}")
assert last_pos == len(trace.labels) - 1 and last_layer < model.config.n_layer - 1

# %%
# The update, checked
# -------------------
#
# Compute the key, the value and the covariance for "Michael Jordan plays golf" at the
# tracing peak, apply :func:`~minigpt.facts.rank_one_update`, and check what the equation
# promises: the new key maps to the new value, the change has rank one, and, over the
# keys of the whole corpus, it moves the layer's output less than the plain
# minimum-norm update (the same formula with :math:`C = I`) that ignores which keys are in
# use.

layer = sites["last"]
fact = Fact("Michael", "Jordan", "basketball")
new_sport = "golf"
C = key_covariance(model, tokenizer, layer)  # (F, F)
k_star = subject_key(model, tokenizer, fact, layer, position="last")  # (F,)
v_star = solve_value(model, tokenizer, fact, new_sport, layer, steps=100, lr=0.2,
                     position="last")  # (C,)
W = model.params[f"blocks.{layer}.mlp.w_down"].astype(np.float64)  # (C, F)
b = model.params[f"blocks.{layer}.mlp.b_down"]
W_rome = rank_one_update(W, b, k_star, v_star, C)
W_plain = rank_one_update(W, b, k_star, v_star, np.eye(len(C)))

_, ids, _ = facts_dataset()
T = model.config.n_ctx
windows = ids[: len(ids) // T * T].reshape(-1, T)  # (n, T): the corpus, cut into contexts
_, cache = model.run_with_cache(windows, names=[f"blocks.{layer}.mlp.post"])
keys = cache[f"blocks.{layer}.mlp.post"].reshape(-1, len(C)).astype(np.float64)  # (N, F)
print(f"||W' k* + b - v*||: {np.linalg.norm(W_rome @ k_star + b - v_star):.1e} "
      f"(||v*|| = {np.linalg.norm(v_star):.2f}); rank of W' - W: "
      f"{np.linalg.matrix_rank(W_rome - W)}")
moved = {}
print(f"change of the layer's output on {len(keys):,} corpus keys:")
print(f"{'update':>27} {'|dW|':>7} {'mean':>7} {'max':>7}")
for name, W_new in (("covariance-weighted (ROME)", W_rome), ("plain, C = I", W_plain)):
    moved[name] = np.linalg.norm(keys @ (W_new - W).T, axis=1)  # (N,) change of each output
    print(f"{name:>27} {np.linalg.norm(W_new - W):>7.2f} {moved[name].mean():>7.3f} "
          f"{moved[name].max():>7.3f}")
assert moved["covariance-weighted (ROME)"].mean() < moved["plain, C = I"].mean()
assert np.linalg.norm(W_plain - W) < np.linalg.norm(W_rome - W)

# %%
# The plain update is the smaller matrix, yet it moves the layer's output on the corpus
# far more: it spends its change on directions of key space that real prompts use. The
# covariance puts the change where the corpus keys are not.

# %%
# One edit, before and after
# --------------------------
#
# Apply the edit at each site in turn (:func:`~minigpt.facts.edit_fact` changes the
# weights in place and returns the old matrix), ask the model about Michael Jordan in
# every template, and ask it every other athlete's sport:

facts = load_facts()
others = [f for f in facts if f.name != fact.name]


def answers():
    """The greedy next word after each template's prompt about Michael Jordan."""
    return [fact_recall(model, tokenizer, [fact], template=t).predictions[0][1]
            for t in range(len(TEMPLATES))]


before = answers()
kept_before = fact_recall(model, tokenizer, others).accuracy
after, kept, change = {}, {}, {}
for position, site_layer in sites.items():
    old = edit_fact(model, tokenizer, fact, new_sport, site_layer, steps=100, lr=0.2,
                    position=position)
    name = f"blocks.{site_layer}.mlp.w_down"
    after[position], kept[position] = answers(), fact_recall(model, tokenizer, others).accuracy
    change[position] = float(np.linalg.norm(model.params[name] - old))
    model.params[name][...] = old  # back to the trained model

print(f"{'prompt':<38}{'before':>11}" + "".join(f"{'at ' + p + ' (L' + str(l) + ')':>17}"
                                                 for p, l in sites.items()))
for t in range(len(TEMPLATES)):
    print(f"{prompt(fact, t):<38}{before[t]:>11}" + "".join(f"{after[p][t]:>17}" for p in sites))
print(f"{'other athletes still right':<38}{kept_before:>11.1%}"
      + "".join(f"{kept[p]:>17.1%}" for p in sites))
print(f"{'|W_down change|':<38}{'':>11}" + "".join(f"{change[p]:>17.2f}" for p in sites))
for position in sites:
    answers_at = Counter(after[position])
    print(f"edit at the {position} token: {answers_at[new_sport]} of {len(TEMPLATES)} "
          f"templates answer {new_sport}"
          + "".join(f", {n} {word}" for word, n in answers_at.items() if word != new_sport))
assert all(a == new_sport for a in after["last"]) and kept["last"] >= 0.95

# %%
# At the tracing peak the edit takes in every phrasing and leaves the other athletes
# alone. The edit at the subject is another story: the last lines count, template by
# template, what it made the model answer (the new sport, the old one, or neither), and
# the table shows how large a change of :math:`W_{down}` it needed. One edit proves little
# either way, so score many.
#
# Twenty edits, scored
# --------------------
#
# ROME's three scores, over many edits, each made on the unedited model
# (:func:`~minigpt.facts.evaluate_edits`; each athlete moves to the next sport in
# alphabetical order): *efficacy*, the share of edits after which the first template
# answers the new sport; *paraphrase*, the same for the other templates; *specificity*,
# the share of the other athletes whose right answers survive. Fine-tuning the same
# matrix on the one new sentence is the baseline. Each edit's own scores, with the size of
# its change, are kept as an :class:`~minigpt.facts.EditResult` (on the right).

N_EDITS = 20
reports = {position: evaluate_edits(model, tokenizer, site_layer, n_edits=N_EDITS, lr=0.2,
                                    steps=100, position=position)
           for position, site_layer in sites.items()}
for position, report in reports.items():
    print(f"-- edits at layer {report.layer}, {position} token")
    print(report.to_table())
scores = {f"rank one, {p} token": reports[p].summary("rome") for p in sites}
scores["fine-tuning"] = reports["last"].summary("finetune")
assert scores["rank one, last token"]["efficacy"] >= 0.9
assert scores["rank one, last token"]["specificity"] > scores["fine-tuning"]["specificity"]
assert scores["rank one, subject token"]["efficacy"] < scores["rank one, last token"]["efficacy"]
assert scores["rank one, subject token"]["efficacy"] < 0.5  # "rarely", below

fig, (ax, ax_each) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [3, 2]})
metrics = ("efficacy", "paraphrase", "specificity")
x = np.arange(len(metrics))
for j, (name, s) in enumerate(scores.items()):
    bars = ax.bar(x + (j - 1) * 0.27, [s[m] for m in metrics], width=0.27, label=name)
    ax.bar_label(bars, fmt="%.2f", fontsize=7)
ax.set_xticks(x, metrics)
ax.set_ylim(0, 1.12)
ax.set_title(f"{N_EDITS} single edits of the demo model")
ax.legend(fontsize=8, loc="lower right")
for j, method in enumerate(("rome", "finetune")):
    edits = [e for e in reports["last"].edits if e.method == method]
    ax_each.scatter([e.delta_norm for e in edits], [e.specificity for e in edits],
                    label="rank one, last token" if method == "rome" else "fine-tuning")
ax_each.set_xlabel("|W' - W| (Frobenius)")
ax_each.set_ylabel("specificity of the edit")
ax_each.set_ylim(0, 1.05)
ax_each.legend(fontsize=8)
fig.tight_layout()

# %%
# Fine-tuning the matrix on one sentence makes the new fact win just as surely, but it
# does so by dragging the whole layer along, and many other athletes lose their sports.
# The rank-one edit at the right site changes the layer only along the one key that
# matters and keeps almost everyone else's answer. Placed at the subject's last token,
# where ROME edits GPT-2 XL but where this model does not look its facts up, the same
# formula changes the first template's answer in less than half of the edits (the
# efficacy above), however large a change it writes: little of it reaches the position
# where the sport is predicted. The video's picture,
# a question asked by :math:`W_{up}` and an answer added by :math:`W_{down}`, is thus not
# only a way to describe a fact: it is a handle to rewrite one. ``minigpt facts --edit
# "Michael Jordan=golf"`` runs this edit from the command line.
#
# Exercises
# ---------
#
# 1. Edit another athlete at the tracing peak, say Serena Williams to golf, and check
#    that the edit takes in every template and what it costs the others.
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          serena = Fact("Serena", "Williams", "tennis")
#          name = f"blocks.{sites['last']}.mlp.w_down"
#          old = edit_fact(model, tokenizer, serena, "golf", sites["last"], steps=100,
#                          lr=0.2, position="last")
#          print([fact_recall(model, tokenizer, [serena], template=t).predictions[0][1]
#                 for t in range(len(TEMPLATES))])
#          print(fact_recall(model, tokenizer,
#                            [f for f in facts if f.name != serena.name]).accuracy)
#          model.params[name][...] = old  # undo
#
# 2. Show that with :math:`C = I` the update is the smallest change of :math:`W` (in the
#    Frobenius norm) that maps :math:`k^*` to :math:`v^*`.
#
#    .. dropdown:: Solution
#
#       Every :math:`\Delta` with :math:`\Delta k^* = r`, where
#       :math:`r = v^* - W k^* - b`, splits into a part along :math:`k^*` and a part
#       :math:`\Delta_\perp` with :math:`\Delta_\perp k^* = 0`. The first part is fixed:
#       :math:`r\,k^{*T} / \lVert k^* \rVert^2`, the formula with :math:`C = I`. The
#       second adds :math:`\lVert \Delta_\perp \rVert^2` to the squared norm and nothing
#       to the constraint, so the smallest change sets it to zero. The printed
#       :math:`|dW|` of the plain update is indeed the smaller one.
#
# 3. The covariance-weighted update is larger than the plain one, yet it is the better
#    edit. What does it minimize instead?
#
#    .. dropdown:: Solution
#
#       The change of the layer's *outputs* on the keys the corpus produces,
#       :math:`\sum_j \lVert \Delta k_j \rVert^2 = n\, \mathrm{tr}(\Delta C \Delta^T)`,
#       rather than the size of :math:`\Delta` itself. Directions of key space that real
#       prompts never use are free to change, so the update puts its change there; the
#       table above measures the result on the corpus keys.
