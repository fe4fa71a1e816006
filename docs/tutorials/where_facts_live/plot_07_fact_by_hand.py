"""
7. Building a fact by hand
==========================

Chapter 2 stored two facts in an MLP of two neurons. The video's construction is general:
give every first name, every last name and every sport its own direction, and give every
person one neuron that asks "this first name *and* this last name?" and, when the answer is
yes, adds the direction of that person's sport. Here it is built for every athlete in
minigpt's fact bank at once. While there is a dimension for every name and sport the
arithmetic is exact; when there are more names than dimensions, the directions can only be
*nearly* perpendicular, and the facts start to interfere.
"""

# %%
# The equation
# ------------
#
# With :math:`M_i`, :math:`J_i` and :math:`B_i` the directions of person :math:`i`'s first
# name, last name and sport, neuron :math:`i` gets
#
# .. math::
#
#     W_{up}[i, :] = M_i + J_i, \qquad b_{up}[i] = -1, \qquad
#     W_{down}[:, i] = B_i, \qquad b_{down} = 0
#
# so that the block adds, to a vector :math:`E` that encodes a full name,
#
# .. math::
#
#     E + \mathrm{MLP}(E) = E + \sum_i \sigma\!\left(E \cdot (M_i + J_i) - 1\right) B_i .
#
# For :math:`E = M_a + J_b` and perpendicular unit directions, the argument of
# :math:`\sigma` is :math:`[a = \text{first}_i] + [b = \text{last}_i] - 1`: 1 for the
# person, 0 when one name matches, -1 otherwise. ReLU keeps only the 1: an AND gate.
#
# The code
# --------
#
# Directions first (:func:`~minigpt.facts.feature_directions`): rows of the identity when
# they fit, random unit vectors when they do not.
#
# .. literalinclude:: /../minigpt/facts/handbuilt/build.py
#    :pyobject: feature_directions
#    :no-docstring:
#    :caption: minigpt/facts/handbuilt/build.py
#
# Then one neuron per fact, exactly as in the equation:
#
# .. literalinclude:: /../minigpt/facts/handbuilt/build.py
#    :pyobject: build_fact_mlp
#    :no-docstring:
#
# Running the block is chapter 2's :func:`~minigpt.nn.mlp_forward` plus the residual
# connection (:func:`~minigpt.facts.apply_fact_mlp`), and
# :func:`~minigpt.facts.sport_scores` reads the result along every sport direction.

import matplotlib.pyplot as plt
import numpy as np

from minigpt.data import load_facts, sports
from minigpt.facts import (
    apply_fact_mlp,
    breaking_points,
    build_fact_mlp,
    evaluate_fact_mlp,
    fact_neurons,
    interference_sweep,
    person_vector,
    plot_sweep,
    sport_scores,
    sweep_facts,
)
from minigpt.facts.handbuilt import FIRE_THRESHOLD, MAX_FALSE_FIRE, MIN_ACCURACY
from minigpt.nn import gelu_forward

# %%
# Every athlete, one neuron each
# ------------------------------
#
# The fact bank (:func:`minigpt.data.load_facts`) lists athletes and their sports. Count
# the features the construction needs; a residual stream that wide gives each its own axis.

facts = load_facts()
firsts = {f.first for f in facts}
lasts = {f.last for f in facts}
C = len(firsts) + len(lasts) + len(sports(facts))
mlp = build_fact_mlp(facts, d_model=C)  # ReLU, exactly orthogonal directions
print(f"{len(facts)} facts: {len(firsts)} first names + {len(lasts)} last names + "
      f"{len(sports(facts))} sports = {C} features; exactly orthogonal: {mlp.exact}")
print(f"w_up {mlp.w_up.shape} (one question per person), w_down {mlp.w_down.shape} "
      f"(one answer per person)")

# %%
# Ask about Michael Jordan. Attention has already put both of his names into the vector
# (chapter 4), so the MLP receives :math:`E = M + J`:

E = person_vector(mlp, "Michael", "Jordan")  # (C,)
h = fact_neurons(mlp, E)  # (F,)
on = np.flatnonzero(h > 0)
print("neurons that fire:", [(mlp.facts[i].name, float(h[i])) for i in on])
scores = sport_scores(mlp, apply_fact_mlp(mlp, E))  # (S,)
print("(E + MLP(E)) . B for every sport:",
      {s: round(float(x), 3) + 0.0 for s, x in zip(mlp.sports, scores)})
assert list(on) == [facts.index(next(f for f in facts if f.name == "Michael Jordan"))]

# %%
# Now names that belong to nobody: Michael Jordan's first name with another athlete's last
# name, and another athlete's first name with "Jordan". Each shares one name with someone
# the MLP knows, which brings the neuron's input to exactly 0, and ReLU leaves nothing.

people = {(f.first, f.last) for f in facts}
other_last = next(f.last for f in facts if ("Michael", f.last) not in people)
other_first = next(f.first for f in facts if (f.first, "Jordan") not in people)
asked = {"Michael Jordan": ("Michael", "Jordan"),
         f"Michael {other_last}": ("Michael", other_last),
         f"{other_first} Jordan": (other_first, "Jordan")}
readout = {}
for act in ("relu", "gelu"):
    X = np.stack([person_vector(mlp, *names) for names in asked.values()])  # (3, C)
    readout[act] = sport_scores(mlp, apply_fact_mlp(mlp, X, activation=act))  # (3, S)
    for name, h_row, row in zip(asked, fact_neurons(mlp, X, activation=act), readout[act]):
        print(f"{act:>4} {name:>20}: largest neuron {h_row.max() + 0.0:+.3f}, "
              f"basketball {row[mlp.sports.index('basketball')]:+.3f}, "
              f"most negative sport score {row.min():+.3f}")

# %%
# With ReLU, only the real person gains a sport. GELU, the smooth ReLU of GPT-2 and GPT-3,
# gives the person :math:`\mathrm{GELU}(1)` instead of 1 and leaves the one-name matches at
# :math:`\mathrm{GELU}(0) = 0`, but every neuron whose person shares no name with the
# input is at :math:`\mathrm{GELU}(-1) < 0` and subtracts a little of its sport. One neuron
# leaks little; all of them together push every sport down by :math:`\mathrm{GELU}(-1)`
# times its number of players, whoever is asked:

gelu_minus_1 = float(gelu_forward(np.array([-1.0]))[0][0])
players = np.array([sum(f.sport == s for f in facts) for s in mlp.sports])  # (S,)
nobody = sport_scores(mlp, apply_fact_mlp(mlp, np.zeros(C), activation="gelu"))  # (S,)
print(f"GELU(-1) = {gelu_minus_1:.4f}")
print("players per sport:         ", dict(zip(mlp.sports, players.tolist())))
print("scores of a vector that names nobody:",
      dict(zip(mlp.sports, np.round(nobody, 3).tolist())))
assert np.allclose(nobody, players * gelu_minus_1)

# %%
# The person's own neuron still adds :math:`\mathrm{GELU}(1) - \mathrm{GELU}(-1) = 1` on
# top of the leak its sport would otherwise get, so the right sport gains the same margin
# as with ReLU, over a baseline set by how many players each sport has:

gelu_plus_1 = float(gelu_forward(np.array([1.0]))[0][0])
basketball = mlp.sports.index("basketball")
print(f"GELU(1) - GELU(-1) = {gelu_plus_1 - gelu_minus_1:.6f}; Michael Jordan's basketball "
      f"score above the baseline: {readout['gelu'][0, basketball] - nobody[basketball]:.6f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
x = np.arange(len(mlp.sports))
for ax, (act, R) in zip(axes, readout.items()):
    for k, name in enumerate(asked):
        ax.bar(x + (k - 1) * 0.27, R[k], width=0.27, label=name)
    ax.set_xticks(x, mlp.sports, rotation=45, ha="right")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_title(f"{act}: (E + MLP(E)) . sport")
axes[0].set_ylabel("score along the sport")
axes[0].legend(fontsize=8)
fig.tight_layout()

# %%
# Over every athlete, and over mixed names built by pairing each athlete's first name with
# the next athlete's last name (:func:`minigpt.facts.mixed_names`),
# :func:`~minigpt.facts.evaluate_fact_mlp` counts who gets the right sport and how often a
# nobody makes a neuron fire (exceed ``FIRE_THRESHOLD``, halfway between off and on):

reports = {act: evaluate_fact_mlp(mlp, activation=act) for act in ("relu", "gelu")}
print(f"{'':>4} {'recall':>7} {'own neuron':>10} {'right score':>11} {'mixed names':>11} "
      f"{'firing':>7} {'max mixed neuron':>16}")
for act, r in reports.items():
    print(f"{act:>4} {r.accuracy:>7.1%} {r.right_neuron_mean:>10.3f} {r.right_score_mean:>11.3f} "
          f"{r.n_mixed:>11} {r.mixed_fire_rate:>7.1%} {r.mixed_neuron_max:>16.3f}")
assert reports["relu"].accuracy == 1.0 and reports["relu"].mixed_fire_rate == 0.0

# %%
# More facts than dimensions
# --------------------------
#
# A real model is not this generous: GPT-3's residual stream has 12,288 dimensions and
# surely knows more than 12,288 names. Squeeze the same construction into fewer
# dimensions than features, and the directions become random unit vectors, nearly
# perpendicular (:math:`\cos \approx \pm 1/\sqrt{C}`). A neuron's input is then its ideal
# value 1, 0 or -1 plus a little noise from every overlap. Here are the inputs of every
# neuron for every person, with 256 facts in 64 dimensions
# (:func:`~minigpt.facts.sweep_facts` adds made-up people to the real ones):

C_small, N_small = 64, 256
crowded = build_fact_mlp(sweep_facts(facts, N_small), d_model=C_small)
first_id = np.array([crowded.first_index[f.first] for f in crowded.facts])  # (F,)
last_id = np.array([crowded.last_index[f.last] for f in crowded.facts])  # (F,)
X = crowded.directions[first_id] + crowded.directions[last_id]  # (F, C): every person
pre = X @ crowded.w_up.T + crowded.b_up  # (F, F): person n (row) asks neuron i (column)
shared = (first_id[:, None] == first_id[None, :]).astype(int) + (
    last_id[:, None] == last_id[None, :])  # (F, F): names person n shares with neuron i
groups = {"own neuron (ideal 1)": pre[shared == 2], "one shared name (ideal 0)": pre[shared == 1],
          "no shared name (ideal -1)": pre[shared == 0]}
print(f"{len(crowded.directions)} features in {C_small} dimensions; exactly orthogonal: "
      f"{crowded.exact}")
for name, values in groups.items():
    print(f"{name:>26}: {values.size:6d} inputs, mean {values.mean():+.3f}, "
          f"std {values.std():.3f}, above the firing threshold: "
          f"{np.mean(values > FIRE_THRESHOLD):.2%}")
print(f"1/sqrt(C) = {1 / np.sqrt(C_small):.3f}")

fig, ax = plt.subplots(figsize=(7, 3.2))
bins = np.linspace(-2.2, 2.2, 111)
for name, values in groups.items():
    ax.hist(values, bins=bins, density=True, alpha=0.55, label=name)
ax.axvline(0, color="k", lw=0.8)
ax.axvline(FIRE_THRESHOLD, color="k", lw=0.8, ls="--", label="firing threshold")
ax.set_xlabel("neuron input  E . (M_i + J_i) - 1")
ax.set_ylabel("density")
ax.set_title(f"{N_small} facts in {C_small} dimensions: the AND gate with noisy inputs")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The AND gate still works on average, but the tails of the noisy distributions cross the
# threshold: now and then a nobody fires a neuron, or a wrong sport wins. How many facts a
# width holds before that happens is what :func:`~minigpt.facts.interference_sweep`
# measures, doubling the number of facts at several widths. A width *holds* its facts
# while its recall and the share of mixed names that fire a neuron stay within the limits
# of :func:`~minigpt.facts.breaking_points`:

print(f"holds: recall >= {MIN_ACCURACY:.0%} and mixed names firing <= {MAX_FALSE_FIRE:.0%}")
rows = interference_sweep(facts, seed=0)
widths = sorted({r.d_model for r in rows})
print(f"{'facts':>6} {'features':>8}" + "".join(f"{'C = ' + str(w):>16}" for w in widths))
print(f"{'':>15}" + "".join(f"{'recall / fire':>16}" for _ in widths))
for n in sorted({r.n_facts for r in rows}):
    cells = {r.d_model: r for r in rows if r.n_facts == n}
    print(f"{n:>6} {cells[widths[0]].n_features:>8}" + "".join(
        f"{cells[w].accuracy:>9.1%} / {cells[w].false_fire_rate:<4.0%}" for w in widths))
points = breaking_points(rows)
for w, p in points.items():
    row = next(r for r in rows if r.d_model == w and r.n_facts == p.last_ok)
    print(f"C = {w:>3}: holds {p.last_ok} facts ({row.n_features} feature directions, "
          f"{row.n_features / w:.1f} per dimension); first failure at "
          f"{p.first_failure if p.first_failure else 'none in the sweep'}")
widest = next(r for r in rows
              if r.d_model == widths[-1] and r.n_facts == points[widths[-1]].last_ok)
assert widest.n_features > widest.d_model  # more directions than dimensions, still recalled

fig, ax = plt.subplots(figsize=(8, 4.2))
plot_sweep(rows, ax=ax)
fig.tight_layout()

# %%
# Narrow streams break as soon as the features stop fitting; wide ones hold many more
# facts than they have dimensions, because their random directions are closer to
# perpendicular and the noise stays well inside the AND gate's margin. This is the
# video's closing point in miniature: with *nearly* perpendicular directions, the number
# of things a space can keep apart is not limited by its dimension. Part III measures
# that claim directly. ``minigpt facts`` prints these tables as its first two steps
# (:func:`minigpt.facts.story.run_facts_story`).
