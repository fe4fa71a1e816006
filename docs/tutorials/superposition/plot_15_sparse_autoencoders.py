"""
15. Sparse autoencoders
=======================

*In the video:* the end of :video:`17:04`, where it names sparse autoencoders, and the
further reading of :video:`21:37`.

If a layer stores its features as directions that overlap (chapters 13 and 14), then no
single neuron stands for a single feature, and reading neurons one by one shows mixtures.
The video names the tool researchers use to undo the mixing: the *sparse autoencoder* (:term:`SAE`).
It rewrites every activation vector as a sparse, nonnegative combination of many more
learned directions than the layer has neurons; if the underlying features are sparse, the
cheapest such rewriting tends to use the true feature directions. This chapter builds one
by hand, checks that it finds features planted in synthetic data, and then turns it on the
neurons of the demo model.
"""

# %%
# The equations
# -------------
#
# With input :math:`x \in \R^d` (a vector of neuron values), :math:`m \ge d` latents, encoder
# :math:`W_{enc} \in \R^{m \times d}`, decoder :math:`W_{dec} \in \R^{d \times m}` whose
# columns have unit norm, and a pre-decoder bias :math:`b_{dec}` subtracted before
# encoding (the design of Anthropic's *Towards Monosemanticity*, 2023):
#
# .. math::
#
#     z = \operatorname{ReLU}\!\left((x - b_{dec}) W_{enc}^T + b_{enc}\right), \qquad
#     \hat x = z\, W_{dec}^T + b_{dec}
#
# and, with :math:`v` the data's mean squared distance from its mean, the loss of a batch
# of :math:`B` vectors is the normalized squared error (1 for always guessing the mean)
# plus an L1 penalty that asks for few active latents:
#
# .. math::
#
#     L = \frac{1}{B v} \sum_b \lVert x_b - \hat x_b \rVert^2
#         + \frac{\lambda}{B \sqrt{v}} \sum_b \lVert z_b \rVert_1 .
#
# :func:`~minigpt.superposition.sae_loss_forward` computes it, and
# :func:`~minigpt.superposition.sae_loss_backward` its gradients. The *TopK* variant
# (OpenAI, Gao et al. 2024) drops the penalty and keeps, for each input, only the :math:`k`
# largest pre-activations. Column :math:`j` of :math:`W_{dec}` is the direction latent
# :math:`j` writes: the candidate feature.
#
# The code
# --------
#
# The encoder and decoder, :func:`~minigpt.superposition.sae_forward`, and their backward,
# :func:`~minigpt.superposition.sae_backward`:
#
# .. literalinclude:: /../minigpt/superposition/sae/autoencoder.py
#    :pyobject: sae_forward
#    :no-docstring:
#    :caption: minigpt/superposition/sae/autoencoder.py
#
# .. literalinclude:: /../minigpt/superposition/sae/autoencoder.py
#    :pyobject: sae_backward
#    :no-docstring:
#
# One training step of :func:`~minigpt.superposition.train_sae` keeps the decoder's columns
# on the unit sphere: the part of each column's gradient along the column is removed
# before the Adam step (:func:`~minigpt.superposition.project_decoder_grad`), and the
# columns are rescaled after it (:func:`~minigpt.superposition.normalize_decoder`).
#
# .. literalinclude:: /../minigpt/superposition/sae/training.py
#    :pyobject: train_sae
#    :start-at: loss, grads, z = sae_loss_and_grads(
#    :end-at: normalize_decoder(params["w_dec"])
#    :dedent:
#    :caption: minigpt/superposition/sae/training.py
#
# .. literalinclude:: /../minigpt/superposition/sae/training.py
#    :pyobject: project_decoder_grad
#    :no-docstring:
#    :caption: minigpt/superposition/sae/training.py

import matplotlib.pyplot as plt
import numpy as np

import minigpt as mg
from minigpt.facts.demo import demo_model  # trained on first use, then loaded from a cache
from minigpt.superposition import (
    best_match_cosines,
    data_scale,
    init_sae,
    planted_features,
    plot_latent_frequencies,
    plot_recovery,
    recover_planted_features,
    sae_loss_and_grads,
    sae_on_model,
)
from minigpt.superposition.sae import DEFAULT_P_ACTIVE, RECOVERED_COS

# %%
# The backward, checked
# ---------------------
#
# The gradients of all four parameters, through the loss, the ReLU latents and the
# pre-decoder bias that enters twice, against finite differences in float64:

rng = np.random.default_rng(0)
x_small = rng.standard_normal((16, 6))  # (B, d)
p = init_sae(6, 10, seed=0, dtype=np.float64)
p["b_enc"] = rng.standard_normal(10) * 0.1  # away from 0, so the check sees both sides
scale = data_scale(x_small)
_, grads, _ = sae_loss_and_grads(p, x_small, scale, l1=0.3)
names = ("w_enc", "b_enc", "w_dec", "b_dec")
check = mg.gradcheck(lambda *q: sae_loss_and_grads(dict(zip(names, q)), x_small, scale, 0.3)[0],
                     [p[k] for k in names], [grads[k] for k in names])
print(f"gradcheck: {check.n_checked} entries, worst error {check.max_error:.1e}, ok {check.ok}")
assert check.ok

# %%
# Planted features
# ----------------
#
# First, data whose features are known: many more random unit directions than the data
# has dimensions, each active in a small share of the samples with a random strength
# (:func:`~minigpt.superposition.planted_features`). The features are in superposition,
# and no axis of the data is a feature. How close does each planted feature come to one
# of the axes, the data's "neurons"?

x, features = planted_features(seed=0)
print(f"{x.shape[0]:,} samples of d = {x.shape[1]}, {len(features)} planted features "
      f"({len(features) / x.shape[1]:.0f} per dimension),")
print(f"each active with probability {DEFAULT_P_ACTIVE}: "
      f"{DEFAULT_P_ACTIVE * len(features):.1f} active per sample on average")
axes_cos = best_match_cosines(np.abs(features), np.eye(x.shape[1]))
print(f"best |cos| of a planted feature with any single axis: median "
      f"{np.median(axes_cos):.3f}, max {axes_cos.max():.3f}")

# %%
# Far from 1: reading one coordinate at a time shows mixtures. Now train an SAE with twice
# as many latents as there are features on the same data, with ReLU and L1, and with
# TopK, and match each planted feature to its best decoder column
# (:func:`~minigpt.superposition.recover_planted_features`); a feature is recovered when
# the cosine exceeds the threshold printed:

recoveries = {"ReLU + L1": recover_planted_features(seed=0),
              "TopK": recover_planted_features(k=4, seed=0)}
for name, r in recoveries.items():
    print(f"-- {name}")
    print(r.to_table())
    assert r.recovered_fraction >= 0.9
print(f"recovered: best cosine > {RECOVERED_COS}")
assert axes_cos.max() < RECOVERED_COS
assert recoveries["TopK"].sae.dead_fraction > recoveries["ReLU + L1"].sae.dead_fraction

fig, axes = plt.subplots(3, 1, figsize=(6.5, 9.5))  # stacked: each panel at full width
for ax, (name, r) in zip(axes, recoveries.items()):
    plot_recovery(r, ax=ax)
    ax.set_title(f"{name}: " + ax.get_title(), fontsize=9)
axes[2].hist(axes_cos, bins=np.linspace(0, 1, 41), color="C1")
axes[2].axvline(RECOVERED_COS, color="k", ls="--", lw=1)
axes[2].set_xlabel("best |cos| with a single axis (neuron)")
axes[2].set_ylabel("planted features")
axes[2].set_title("without an SAE", fontsize=9)
fig.tight_layout()

# %%
# Both versions find the planted directions almost exactly, each with a few active
# latents per sample (mean L0 in the tables: :func:`~minigpt.superposition.evaluate_sae`
# measures it on all the data, and each :class:`~minigpt.superposition.SAEResult` keeps
# it). The ReLU version chooses its sparsity
# through :math:`\lambda`; TopK fixes it at :math:`k` by construction and leaves more
# latents unused (the dead share).
#
# The demo model's neurons
# ------------------------
#
# Chapter 8 found that the demo model looks its facts up at the last prompt token, in the
# MLPs of its first layers. Collect the neurons of the last of those layers at that
# position, for every athlete in every template
# (:func:`~minigpt.superposition.collect_neurons`), and train a TopK SAE on them
# (:func:`~minigpt.superposition.sae_on_model`). Then ask what its latents fire for
# (:func:`~minigpt.superposition.latent_specificity`): a latent is *person-specific* when
# it fires on several of one athlete's prompts and on no one else's, and *sport-specific*
# when it fires for several athletes, all of one sport.

model, tokenizer, _ = demo_model()
on_model = sae_on_model(model, tokenizer)
print(on_model.to_table())
print("share of a sport's players its best own latent fires for:")
for sport, c in zip(on_model.sports, on_model.sport_coverage):
    print(f"{sport:>12} {c:.2f}")
assert on_model.sae.explained_variance > 0.9
assert on_model.n_sports_covered == len(on_model.sports)
assert on_model.n_people_covered < on_model.n_people / 2
assert on_model.n_sport_latents > len(on_model.sports) and on_model.sport_coverage.max() < 1

fig, (ax, ax_freq) = plt.subplots(1, 2, figsize=(10, 3.4))
spec = on_model.specificity
kinds = {"sport-specific": int(np.sum(spec.sport_of >= 0)),
         "person-specific": int(np.sum(spec.person_of >= 0)),
         "other, firing": int(np.sum((spec.sport_of < 0) & (spec.person_of < 0)
                                     & (on_model.sae.fire_rate > 0))),
         "never firing": int(np.sum(on_model.sae.fire_rate == 0))}
ax.bar(list(kinds), list(kinds.values()), color=["C2", "C0", "C7", "C3"])
ax.set_ylabel("latents")
ax.set_title(f"the {on_model.sae.m} latents of an SAE on blocks.{on_model.layer}.mlp.post",
             fontsize=9)
ax.tick_params(axis="x", labelsize=8)
plot_latent_frequencies(on_model, ax=ax_freq)
fig.tight_layout()

# %%
# The SAE reconstructs the neurons almost perfectly with a handful of latents per prompt,
# and what its latents pick out is mostly the *sport*: every sport gets latents that fire
# for its players and no one else, while only a minority of athletes get a latent of
# their own. That fits the tracing: at this layer and position the lookup is done, and
# the neurons hold the answer more than the person. Each sport, meanwhile, is spread over
# several latents that each cover part of its players (the coverage above), a reminder
# that an SAE's dictionary is a choice made by its training, not a list of the model's
# true features.
#
# That is where the video's story ends, and where the research it points to begins: the
# video's clean picture, one neuron per fact, gives way in a trained model to facts spread
# over many neurons in superposition, and tools like this one try to read them back out.
# The last part leaves the toy models for a real one: GPT-2, whose weights are public,
# read and written by the same code.
#
# Exercises
# ---------
#
# 1. Train the ReLU SAE on the planted features with a larger L1 penalty. What happens to
#    the mean L0, the explained variance and the recovery?
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          for l1 in (0.3, 1.0, 3.0):
#              print(l1, recover_planted_features(l1=l1, seed=0).to_table())
#
#       A larger :math:`\lambda` buys sparsity (fewer active latents) with reconstruction:
#       the explained variance falls, and past some point latents go dead and features
#       are no longer recovered. The penalty is the dial between the two terms of the
#       loss.
#
# 2. Why does the decoder keep its columns at unit norm? What would the L1 penalty do
#    without that constraint?
#
#    .. dropdown:: Solution
#
#       The penalty is on :math:`z`, and :math:`\hat x = z W_{dec}^T` is unchanged if a
#       latent is halved and its column doubled. Without the constraint the training
#       would shrink every latent and grow the columns, lowering the penalty without
#       becoming any sparser.
#
# 3. A latent that never fires is *dead*. Why does TopK leave more dead latents than
#    the ReLU version here?
#
#    .. dropdown:: Solution
#
#       TopK lets exactly :math:`k` latents through per input, and a latent that never
#       ranks among the top :math:`k` gets no gradient from the reconstruction, so once
#       behind it stays behind. The ReLU version lets any latent with a positive
#       pre-activation fire and learn.
