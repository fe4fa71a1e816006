"""
8. Finding facts
================

*In the video:* :video:`0:00`, where the video cites research that looked for facts inside
real models.

The video says facts seem to live in the MLP blocks, citing work that looked inside real
models. The demo model of chapter 6 learned every athlete's sport by itself; nobody told it
where to keep them. This chapter looks for them with four tools from interpretability
research: knock out one layer's output and see whether the facts survive
(:term:`ablation`); break
the model's knowledge of *who* the prompt is about and repair one hidden state at a time
(:term:`causal tracing`, from the ROME paper); decode the residual stream after every layer as if
it were the last (the :term:`logit lens`); and split the answer's score among individual neurons.
"""

# %%
# The equations
# -------------
#
# **Causal tracing** (Meng et al. 2022) runs every prompt three times: clean; corrupted,
# with Gaussian noise of three times the subject embeddings' standard deviation added to the
# subject's token vectors; and corrupted again but with one hidden state :math:`h_{l,t}`
# (layer :math:`l`, position :math:`t`) put back to its clean value. The *indirect effect*
# of that state is how much of the right answer's probability the repair brings back,
# averaged over facts and noise draws:
#
# .. math::
#
#     IE_{l,t} = \mathbb{E}\left[\,
#         p_{\text{corrupt},\; h_{l,t} \leftarrow h^{\text{clean}}_{l,t}}(a)
#         - p_{\text{corrupt}}(a) \,\right]
#
# The **logit lens** decodes the residual stream :math:`x^{(l)}` after layer :math:`l` with
# the model's own last step, the final LayerNorm and the tied unembedding :math:`W_E`:
# :math:`\text{logits}^{(l)} = \mathrm{LN}_f(x^{(l)})\, W_E^T`. The **direct effect** of
# neuron :math:`f` of layer :math:`l` on the answer :math:`a` is what its column of
# :math:`W_{down}` adds, read along the answer's unembedding through the final LayerNorm
# (its scale :math:`\rho` frozen, its gain folded into :math:`c_a`):
#
# .. math::
#
#     e_{l,f} = h^{(l)}_f \; W^{(l)}_{down}[:, f] \cdot \rho\, c_a
#
# The code
# --------
#
# Every measurement intervenes through :meth:`minigpt.GPT.forward`'s hooks: a function per
# named activation that may return a replacement. Ablation puts a fixed value in place of
# one layer's output:
#
# .. literalinclude:: /../minigpt/interp/ablation.py
#    :pyobject: _hooks
#    :no-docstring:
#    :caption: minigpt/interp/ablation.py
#
# Causal tracing corrupts the embeddings once, keeping each layer's input and its attention
# keys and values, then restores one state at a time, for every layer and position, with
# all facts, noise samples and kinds of state in one batch. A restored run starts at the
# restored layer and position: nothing before either can change.
#
# .. literalinclude:: /../minigpt/interp/tracing.py
#    :pyobject: _trace_group
#    :start-at: for t in range(T - 1, t0 - 1, -1):
#    :end-at: p_restored[:, layer, t] = p_run
#    :dedent:
#    :caption: minigpt/interp/tracing.py, _trace_group
#
# The logit lens (:func:`~minigpt.interp.decode_residual`) and the neurons' direct effects
# (:func:`~minigpt.interp.direct_effects`):
#
# .. literalinclude:: /../minigpt/interp/lens.py
#    :pyobject: decode_residual
#    :no-docstring:
#    :caption: minigpt/interp/lens.py
#
# .. literalinclude:: /../minigpt/interp/neurons.py
#    :pyobject: direct_effects
#    :no-docstring:
#    :caption: minigpt/interp/neurons.py

import textwrap

import matplotlib.pyplot as plt
import numpy as np

from minigpt.facts.demo import demo_model  # trained on first use, then loaded from a cache
from minigpt.interp import (
    ablation_sweep,
    causal_trace,
    logit_lens,
    neuron_effects,
    plot_causal_trace,
    plot_logit_lens,
    recall_by_template,
)

WIDTH = 86  # characters per printed line: the summaries below are folded to fit the page


def show(text):
    """Print a summary with each of its lines folded to ``WIDTH`` characters."""
    for line in text.splitlines():
        print(textwrap.fill(line, WIDTH, subsequent_indent="    ") if line else "")

# %%
# What the model knows
# --------------------
#
# Each athlete's sport, asked in each of the corpus's sentence templates
# (:func:`~minigpt.interp.recall_by_template`):

model, tokenizer, _ = demo_model()
cfg = model.config
print(f"{cfg.n_layer} layers, d_model {cfg.d_model}, {cfg.d_ff} neurons per MLP")
recall = recall_by_template(model, tokenizer)
print(recall.to_table())

# %%
# Ablation
# --------
#
# Replace one layer's MLP output (or, for comparison, its attention output) by zero, or by
# its mean over all facts' prompts at the same position, which keeps what every prompt has
# in common and removes only what tells people apart. Do it either at the last subject
# token ("Jordan"), where ROME found GPT-2 XL's facts, or at every position, and count the
# facts that survive, pooled over all templates (:func:`~minigpt.interp.ablation_sweep`,
# one :class:`~minigpt.interp.AblationRow` per ablation):

ablation = ablation_sweep(model, tokenizer)
print(ablation.to_table())
show(ablation.summary())

fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
layers = np.arange(cfg.n_layer)
variants = [(w, k) for w in ("last_subject", "all") for k in ("zero", "mean")]
for ax, component in zip(axes, ("mlp", "attn")):
    for j, (where, kind) in enumerate(variants):
        acc = [ablation.row(component, layer, where, kind).accuracy for layer in layers]
        ax.bar(layers + (j - 1.5) * 0.2, acc, width=0.2,
               label=f"{kind} at {where.replace('_', ' ')}")
    ax.axhline(ablation.clean_accuracy, color="k", lw=0.8, ls="--", label="no ablation")
    ax.set_xticks(layers, [f"layer {i}" for i in layers])
    ax.set_title(f"ablating one layer's {component} output")
axes[0].set_ylabel("recall")
axes[1].legend(fontsize=7, loc="lower right")
fig.tight_layout()
subject_rows = [r for r in ablation.rows if r.component == "mlp" and r.where == "last_subject"]
assert all(r.accuracy_drop <= 0 for r in subject_rows)
assert min(ablation.row("attn", 0, "all", k).accuracy for k in ("zero", "mean")) < 0.5

# %%
# Knocking out a single MLP costs little: the model spreads its knowledge over several
# MLPs, so no one layer is indispensable (the tracing below shows which ones share the
# work). At the last subject token nothing is lost at all, the first hint that this model
# does not look its facts up where GPT-2 XL does. Attention is another matter: without
# the first layer's attention, the name never reaches the position where the answer is
# predicted, and recall collapses.
#
# Causal tracing
# --------------
#
# For template 0 ("First Last plays") the table below gives the indirect effect of
# restoring each layer's residual stream, MLP output and attention output at each
# position; positions before the subject are unaffected by the noise and left out.

trace = causal_trace(model, tokenizer, n_samples=10, seed=0)
print(trace.to_table())
show(trace.summary())

fig, axes = plt.subplots(3, 1, figsize=(6.5, 7.5))  # stacked: each panel at full width
for ax, kind in zip(axes, trace.kinds):
    plot_causal_trace(trace, kind, ax=ax)
    ax.set_title(f"restore {kind}", fontsize=10)
fig.suptitle("indirect effect on p(answer), template 0", fontsize=10)
fig.tight_layout()

# %%
# The same measurement on a longer prompt, with four tokens between the subject and the
# answer, tells the positions apart more clearly:

trace_long = causal_trace(model, tokenizer, template=3, kinds=["mlp"], n_samples=10, seed=0)
print(trace_long.to_table())
print("\nMLP indirect effect by layer, at the last subject token and at the last prompt token:")
print(f"{'':>8} {'template 0':>23} {'template 3':>23}")
print(f"{'':>8}" + f"{'subject':>12}{'last':>11}" * 2)
ies = [t.indirect_effect("mlp") for t in (trace, trace_long)]  # (L, T) each
for layer in range(cfg.n_layer):
    print(f"{'layer ' + str(layer):>8}" + "".join(
        f"{ie[layer, t.last] + 0.0:>12.3f}{ie[layer, -1] + 0.0:>11.3f}"
        for t, ie in zip((trace, trace_long), ies)))
for t, ie in zip((trace, trace_long), ies):
    layer, pos, _ = t.peak("mlp")
    assert pos == len(t.labels) - 1 and ie[:, -1].max() > 10 * ie[:, t.last].max()

fig, ax = plt.subplots(figsize=(5, 3.6))
plot_causal_trace(trace_long, "mlp", ax=ax)
ax.set_title("restore mlp_out, template 3", fontsize=10)
fig.tight_layout()

# %%
# In GPT-2 XL, ROME finds the decisive MLPs in the middle layers at the **last subject
# token**: the model recalls what it knows about the person as soon as it has read the
# name, and attention later carries that to the end. The demo model does the opposite.
# Its MLPs matter at the **last token of the prompt**, in its first layers, and hardly at
# all at the subject: attention first brings the name to the position where the answer is
# due, and the MLPs look the fact up there. A plausible reason: with one-token names and
# prompts this short, a small model can afford to wait, while a large model reading long
# texts cannot know in advance where it will need a fact about a name it has just read.
# Same method, different answer: where facts live is a property of the trained model, not
# of the architecture.
#
# Logit lens
# ----------
#
# Decode the residual stream after the embedding and after every layer, at the last
# prompt token (where the sport is predicted) and at the last subject token, and track the
# right sport's rank (:func:`~minigpt.interp.logit_lens`):

lenses = {where: logit_lens(model, tokenizer, where=where) for where in ("last", "last_subject")}
for where, lens in lenses.items():
    print(f"-- decoded at the {where.replace('_', ' ')} token")
    print(lens.to_table())
    show(lens.summary())

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for ax, lens in zip(axes, lenses.values()):
    plot_logit_lens(lens, ax=ax)
fig.tight_layout()
assert lenses["last"].top1[-1] == 1.0 and lenses["last_subject"].top1.max() < 0.5

# %%
# At the last prompt token the sport climbs to the top within the first layers, as the
# tracing said. At the subject's last token the decoded stream does not name the sport for
# most prompts after any layer: the model does not write the answer there.
#
# Neurons
# -------
#
# The video's picture has one neuron per fact. For each fact, rank all neurons of all
# layers by their direct effect on the right sport's logit at the last prompt token
# (:func:`~minigpt.interp.neuron_effects`), and ask how much of the total positive effect
# the strongest one carries, and how many it takes to reach half of it:

neurons = neuron_effects(model, tokenizer)
show(neurons.to_table(max_facts=8))

F = cfg.d_ff
top_layer = neurons.top[:, 0] // F  # (N,) layer of each fact's strongest neuron
fig, axes = plt.subplots(3, 1, figsize=(6.5, 8))  # stacked: each panel at full width
axes[0].hist(neurons.top_share, bins=np.linspace(0, 1, 41))
axes[0].axvline(neurons.dominance, color="k", ls="--", lw=1, label="one neuron dominates")
axes[0].set_xlabel("strongest neuron's share of the positive effect")
axes[0].set_ylabel("facts")
axes[0].legend(fontsize=8)
axes[1].hist(neurons.n_to_half, bins=np.arange(0.5, neurons.n_to_half.max() + 1.5))
axes[1].set_xlabel("neurons needed for half the effect")
axes[1].set_ylabel("facts")
counts = neurons.membership.ravel()
axes[2].hist(counts[counts > 0], bins=np.arange(0.5, counts.max() + 1.5))
axes[2].set_xlabel(f"facts whose top-{neurons.top_k} list holds the neuron")
axes[2].set_ylabel("neurons")
fig.suptitle("direct effects of the neurons at the last prompt token", fontsize=10)
fig.tight_layout()
assert neurons.dominant.mean() < 0.5  # most facts have no single dominant neuron

# %%
# Who shares the busiest neurons? Count, for every neuron in at least two facts' top
# lists, how many sports those facts play:

shared = neurons.shared_neurons(int(np.sum(neurons.membership >= 2)))
n_sports = np.array([len(r["sports"]) for r in shared])  # (n_shared,)
busiest = shared[:5]
print(f"{len(shared)} neurons serve two or more facts: {np.sum(n_sports == 1)} of them facts "
      f"of one sport, {np.sum(n_sports > 1)} facts of several")
print(f"the {len(busiest)} busiest serve {min(r['n_facts'] for r in busiest)} to "
      f"{max(r['n_facts'] for r in busiest)} facts each, of "
      f"{min(len(r['sports']) for r in busiest)} to {max(len(r['sports']) for r in busiest)} "
      f"sports")

# %%
# Tracing and neurons, side by side
# ---------------------------------
#
# The tracing's MLP peak (printed above) and the layers of the facts' strongest neurons
# (the last line of the summary) do not point at the same layer. The two measure
# different things. Restoring layer 0's MLP output in the corrupted run
# repairs everything the later layers compute from it: its *indirect* effect includes
# their work. A neuron's *direct* effect is only what it writes straight onto the answer's
# logit. Per layer, the share of all positive direct effect, the facts whose strongest
# neuron sits there, and the tracing's MLP effect at the last token:

positive = np.clip(neurons.effects, 0, None).sum(axis=(0, 2))  # (L,) over facts and neurons
ie_last = trace.indirect_effect("mlp")[:, -1]  # (L,)
print(f"{'layer':>5} {'direct effect share':>20} {'strongest neuron of':>20} "
      f"{'indirect effect':>16}")
for layer in range(cfg.n_layer):
    print(f"{layer:>5} {positive[layer] / positive.sum():>20.1%} "
          f"{int(np.sum(top_layer == layer)):>14} facts {ie_last[layer] + 0.0:>16.3f}")
early, writes = int(np.argmax(ie_last)), int(np.argmax(positive))
print(f"largest indirect effect: layer {early}; largest share of the direct effect: layer "
      f"{writes}")

# %%
# Read together: the layer whose MLP output matters most when restored (the largest
# indirect effect) and the layer whose neurons write most of the answer directly (the
# largest direct share) need not be the same. When they differ, the earlier layer's MLP
# starts the lookup and the later one writes most of the answer onto the stream, which is
# what the logit lens showed: the sport is on top after the first layers, and more sure
# after each.
#
# Hardly any fact has a neuron of its own: a typical fact is written by many neurons
# together (the median count is printed above). The neurons that matter most are shared
# by many facts; the counts above say how many of them keep to one sport, and the table
# of the busiest shows that those span several sports. That is the video's caveat,
# measured: the clean one-neuron-per-fact picture of the hand-built MLP (chapter 7) is a
# way to *understand* how an MLP can store a fact, not how a trained one does. Part III
# asks how a layer can hold more than it has neurons. ``minigpt facts`` prints every table
# of this chapter (:func:`minigpt.cli.story.run_facts_story`); the next chapter uses the
# tracing's peak to rewrite a fact.
#
# Exercises
# ---------
#
# 1. Trace the attention outputs on the long prompt (template 3) as well. At which layer
#    and position does restoring attention matter most, and what does that say about where
#    the name travels?
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          trace_attn = causal_trace(model, tokenizer, template=3, kinds=["attn"],
#                                    n_samples=10, seed=0)
#          print(trace_attn.to_table())
#          print(trace_attn.peak("attn"))  # (layer, position, indirect effect)
#
#       The peak's position is where attention's output carries the name; a peak at the
#       last prompt token means attention brings the name there directly, as the
#       ablation of layer 0's attention suggested.
#
# 2. Measure the neurons' direct effects at the last *subject* token instead
#    (``where="last_subject"``). Why are they a poor guide to this model's facts?
#
#    .. dropdown:: Solution
#
#       ``neuron_effects(model, tokenizer, where="last_subject")`` reads what the neurons
#       at the subject write toward the sport. The logit lens found that the decoded
#       stream at the subject almost never names the sport, and the tracing found the
#       MLPs there nearly irrelevant: whatever those neurons write is not what the model
#       uses to answer.
#
# 3. Why can restoring one layer's MLP output bring back more probability than that layer's
#    neurons write onto the answer directly?
#
#    .. dropdown:: Solution
#
#       The restored output is read by every later attention and MLP block, so the
#       indirect effect counts what they compute from it too. The direct effect stops at
#       the unembedding of that one layer's write: it is one term of the logit, with the
#       rest of the network held fixed.
