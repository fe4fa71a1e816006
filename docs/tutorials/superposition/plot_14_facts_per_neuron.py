"""
14. Facts per neuron
====================

*In the video:* :video:`17:04`, where the neurons of one GPT-3 MLP (chapter 3 counts them)
could probe many more features than there are neurons.

The MLP built by hand in chapter 7 spends one neuron per fact. The video closes by
suggesting that a real MLP does better: with many more nearly perpendicular directions
than dimensions, a layer of :math:`F` neurons could hold far more than :math:`F` facts,
each fact spread over many neurons (:term:`superposition`). That is a claim about capacity, and capacity can be
counted. Here MLPs of several widths are *trained*, with minigpt's own operations, to
store the sports of made-up people, and the largest number of facts each width recalls is
measured: in facts per neuron, and in bits per parameter.
"""

# %%
# The equations
# -------------
#
# The world of chapter 7, with random directions: :math:`K` first names :math:`M_a` and
# :math:`K` last names :math:`J_b`, each shared by several people so that no single name
# gives the sport away, and :math:`S` sports :math:`B_s`. Person :math:`n` is the vector
# :math:`E_n = M_{a_n} + J_{b_n}`. The MLP's output is added to it, and the sport is read
# along the sport directions, as in the video (:func:`~minigpt.superposition.sport_logits`):
#
# .. math::
#
#     z_{n,s} = \left(E_n + W_{down}\,\mathrm{ReLU}(W_{up} E_n + b_{up}) + b_{down}\right)
#               \cdot B_s, \qquad
#     L = -\frac{1}{N} \sum_n \log \operatorname{softmax}(z_n)_{s_n} .
#
# A width :math:`F` *stores* :math:`N` facts when, after training, at least 99% of them
# have their sport as the largest :math:`z_{n,s}`. Each sport is drawn uniformly, so a
# fact carries :math:`\log_2 S` bits, and the MLP has :math:`2Fd + F + d` parameters
# (:func:`~minigpt.superposition.n_mlp_params`).
#
# The code
# --------
#
# .. literalinclude:: /../minigpt/superposition/fact_mlp/people.py
#    :pyobject: make_people
#    :no-docstring:
#    :caption: minigpt/superposition/fact_mlp/people.py
#
# The loss and its gradients, each backward step the reverse of a forward op of chapter 5:
#
# .. literalinclude:: /../minigpt/superposition/fact_mlp/mlp.py
#    :pyobject: facts_loss_and_grads
#    :no-docstring:
#    :caption: minigpt/superposition/fact_mlp/mlp.py
#
# The capacity of one width (:func:`~minigpt.superposition.fact_capacity`): double the
# number of facts until training fails, then bisect:
#
# .. literalinclude:: /../minigpt/superposition/fact_mlp/capacity.py
#    :pyobject: fact_capacity
#    :start-at: lo, hi, n = 0, None, n_start
#    :end-before: return FactCapacityRow(
#    :dedent:
#    :caption: minigpt/superposition/fact_mlp/capacity.py

import matplotlib.pyplot as plt
import numpy as np

import minigpt as mg
from minigpt.nn import mlp_forward
from minigpt.superposition import (
    facts_loss_and_grads,
    facts_per_neuron,
    init_mlp_params,
    make_people,
    plot_facts_per_neuron,
    train_fact_mlp,
)
from minigpt.superposition.fact_mlp import (
    ACTIVATION,
    ALLEN_ZHU_LI_BITS,
    PEOPLE_PER_NAME,
    TARGET_RECALL,
)

# %%
# The backward, checked
# ---------------------

small = make_people(24, 8, 4, seed=0, dtype=np.float64)
params = init_mlp_params(8, 6, seed=0, dtype=np.float64)
_, grads, _ = facts_loss_and_grads(params, small.E, small.B, small.sport)
names = ("w_up", "b_up", "w_down", "b_down")
check = mg.gradcheck(
    lambda *p: facts_loss_and_grads(dict(zip(names, p)), small.E, small.B, small.sport)[0],
    [params[k] for k in names], [grads[k] for k in names])
print(f"gradcheck: {check.n_checked} entries, worst error {check.max_error:.1e}, ok {check.ok}")
assert check.ok

# %%
# Many facts, few neurons
# -----------------------
#
# One example first: 256 people in 32 dimensions, 8 sports, about as many people per
# name as printed, and an MLP of only 16 neurons, trained with full-batch Adam
# (:func:`~minigpt.superposition.train_fact_mlp`):

people = make_people(256, d=32, n_sports=8, seed=0)
K = int(people.first.max()) + 1
print(f"{people.n} people, {K} first names and {K} last names (about {PEOPLE_PER_NAME} people "
      f"per name),")
print(f"{people.B.shape[0]} sports, d = {people.E.shape[1]}")
params, fit = train_fact_mlp(people, 16)
print(f"F = {fit.width} neurons: recall {fit.recall:.1%} after {fit.steps} steps, "
      f"{people.n / fit.width:.0f} facts per neuron")
seen = {}
mlp_forward(people.E, params["w_up"], params["b_up"], params["w_down"], params["b_down"],
            activation=ACTIVATION, tap=lambda name, value: seen.setdefault(name, value))
active = seen["post"] > 0  # (N, F): which neurons fire for which person
print(f"neurons active per person: mean {active.sum(axis=1).mean():.1f} of {fit.width}")
print(f"people each neuron fires for: {active.sum(axis=0).min()} to "
      f"{active.sum(axis=0).max()} of {people.n}")
assert fit.recall >= TARGET_RECALL and people.n > fit.width

# %%
# A handful of neurons hold the sports of many times as many people, and not one neuron
# per person: each person sets off a good share of the neurons, and each neuron fires for
# a large share of the people. Every fact is a pattern across neurons, none a neuron of
# its own.
#
# How many facts each width stores
# --------------------------------
#
# :func:`~minigpt.superposition.facts_per_neuron` measures the capacity of four widths
# (each point of its search is a fresh set of people and a fresh training run):

result = facts_per_neuron()
print(result.to_table())
per_neuron = [r.facts_per_neuron for r in result.rows]
assert min(per_neuron) > 1 and max(per_neuron) < 1.5 * min(per_neuron)
assert max(r.bits_per_param for r in result.rows) < ALLEN_ZHU_LI_BITS

fig, (ax, ax_runs, ax_bits) = plt.subplots(3, 1, figsize=(6.5, 10))  # stacked, full width
plot_facts_per_neuron(result, ax=ax)
ax.set_title(f"d = {result.rows[0].d}, {result.rows[0].n_sports} sports", fontsize=9)
for k, row in enumerate(result.rows):
    fits = sorted(row.fits, key=lambda f: f.n_facts)
    ax_runs.plot([f.n_facts for f in fits], [f.recall for f in fits], "o-", color=f"C{k}",
                 ms=4, label=f"F = {row.width}")
ax_runs.axhline(TARGET_RECALL, color="k", lw=0.8, ls="--")
ax_runs.set_xscale("log", base=2)
ax_runs.set_xlabel("facts N")
ax_runs.set_ylabel("recall after training")
ax_runs.set_title("every training run of the search", fontsize=9)
ax_runs.legend(fontsize=8)
ax_bits.bar([str(r.width) for r in result.rows], [r.bits_per_param for r in result.rows])
ax_bits.axhline(ALLEN_ZHU_LI_BITS, color="k", ls="--", lw=1,
                label="reported for language models")
ax_bits.set_xlabel("neurons F")
ax_bits.set_ylabel("bits per parameter")
ax_bits.legend(fontsize=8)
fig.tight_layout()

# %%
# Every width stores many times more facts than it has neurons, and the count grows in
# proportion to the width: a roughly constant number of facts per neuron, set by how many
# parameters each neuron has (:math:`2d + 1`) and by how many bits each fact costs.
# Measured in bits per parameter, the figure that compares across sizes, these small MLPs
# come in below the roughly 2 bits per parameter that Allen-Zhu and Li (2024, *Physics of
# Language Models 3.3*) report for trained language models. The comparison is loose on
# purpose: they train whole transformers for many exposures and count partly known facts,
# while here one small MLP must recall each sport exactly from fixed random embeddings,
# within a fixed budget of steps.
#
# Either way, the video's closing suggestion holds in this setting: an MLP's neurons do
# not need to be spent one per fact. They store facts in superposition, each fact a
# direction in the space of neuron activations, and the capacity is counted in bits per
# parameter rather than facts per neuron.
#
# Exercises
# ---------
#
# 1. With only two sports a fact carries one bit. Measure one width with
#    ``n_sports=2``: does it store more facts than with eight sports, and more bits?
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          two = facts_per_neuron(widths=(16,), n_sports=2)
#          print(two.to_table())
#
#       Compare its *N stored* and *bits* with the row for :math:`F = 16` above. Fewer
#       bits per fact leave room for more facts; whether the bits stay the same is the
#       question "is capacity counted in bits?" put to the test.
#
# 2. Why is the number of facts a width stores roughly proportional to the width?
#
#    .. dropdown:: Solution
#
#       The parameters are :math:`2Fd + F + d`: for a fixed :math:`d` they grow in
#       proportion to :math:`F`. If each stored bit costs a roughly fixed number of
#       parameters, the facts stored grow the same way, which is the nearly constant
#       *facts/neuron* column.
#
# 3. In the example above each person sets off many of the neurons. What would the
#    video's one-neuron-per-fact MLP show in the same measurement?
#
#    .. dropdown:: Solution
#
#       Exactly one active neuron per person, and each neuron active for exactly one
#       person (chapter 7's ReLU construction with perpendicular directions). Here the
#       printed counts are far from that: every fact is a pattern over many neurons.
