"""
7. Building a fact by hand
==========================

*In the video:* :video:`6:07`, and the caveat of :video:`17:04`.

Chapter 2 stored two facts in an MLP of two neurons. The video's construction is general:
give every first name, every last name and every sport its own direction, and give every
person one neuron that asks "this first name *and* this last name?" and, when the answer is
yes, adds the direction of that person's sport. Here it is built for every athlete in
minigpt's fact bank at once. While there is a dimension for every name and sport the
arithmetic is exact; when there are more names than dimensions, the directions can only be
*nearly* perpendicular (:term:`superposition`), and the facts start to interfere.
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
      f"{len(sports(facts))} sports = {C} features")
print(f"exactly orthogonal: {mlp.exact}")
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
others = np.delete(scores, mlp.sports.index("basketball"))  # (S - 1,)
print(f"(E + MLP(E)) . B: basketball {scores[mlp.sports.index('basketball')]:+.3f}, the other "
      f"{others.size} sports between {others.min() + 0.0:+.3f} and {others.max() + 0.0:+.3f}")
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
        print(f"{act:>4} {name:>15}: largest neuron {h_row.max() + 0.0:+.3f}, "
              f"basketball {row[mlp.sports.index('basketball')]:+.3f}, "
              f"lowest sport {row.min() + 0.0:+.3f}")

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
print(f"{'sport':>10} {'players':>8} {'score of nobody':>16} {'GELU(-1) x players':>19}")
for sport, n, score in zip(mlp.sports, players, nobody):
    print(f"{sport:>10} {n:>8} {score:>16.3f} {gelu_minus_1 * n:>19.3f}")
assert np.allclose(nobody, players * gelu_minus_1)

# %%
# The person's own neuron still adds :math:`\mathrm{GELU}(1) - \mathrm{GELU}(-1) = 1` on
# top of the leak its sport would otherwise get, so the right sport gains the same margin
# as with ReLU, over a baseline set by how many players each sport has:

gelu_plus_1 = float(gelu_forward(np.array([1.0]))[0][0])
basketball = mlp.sports.index("basketball")
print(f"GELU(1) - GELU(-1) = {gelu_plus_1 - gelu_minus_1:.6f}")
print(f"Michael Jordan's basketball score above the baseline: "
      f"{readout['gelu'][0, basketball] - nobody[basketball]:.6f}")

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
          f"std {values.std():.3f}, firing {np.mean(values > FIRE_THRESHOLD):.2%}")

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
# while both hold: its recall stays at least ``MIN_ACCURACY`` and the share of mixed
# names that fire a neuron at most ``MAX_FALSE_FIRE``
# (:func:`~minigpt.facts.breaking_points`). The widest stream is pushed further than the
# others, until the sweep's cost (which grows with the square of the number of facts)
# says stop:

print(f"holds: recall >= {MIN_ACCURACY:.0%} and mixed names firing <= {MAX_FALSE_FIRE:.0%}")
rows = interference_sweep(facts, seed=0)
widths = sorted({r.d_model for r in rows})
MORE_FACTS = (2048, 4096)  # only for the widest stream
rows += interference_sweep(facts, widths=widths[-1:], n_facts_list=MORE_FACTS, seed=0)
print(f"{'facts':>6} {'features':>8}" + "".join(f"{'C = ' + str(w):>16}" for w in widths))
print(f"{'':>15}" + "".join(f"{'recall / fire':>16}" for _ in widths))
for n in sorted({r.n_facts for r in rows}):
    cells = {r.d_model: r for r in rows if r.n_facts == n}
    features = next(iter(cells.values())).n_features
    print(f"{n:>6} {features:>8}" + "".join(
        f"{cells[w].accuracy:>9.1%} / {cells[w].false_fire_rate:<4.0%}" if w in cells
        else f"{'':>16}" for w in widths))

# %%
# The two conditions part ways, so each gets its own column below: the largest number
# of facts before recall first drops below the limit, before mixed names first fire too
# often, and before either happens (the rule of *holds*). "all N" means no failure up to
# N, the largest size tried at that width: that width's limit lies beyond the sweep.
# The last column is the largest size whose directions were still exactly perpendicular.

criteria = {"recall": breaking_points(rows, max_false_fire=1.0),
            "no false fires": breaking_points(rows, min_accuracy=0.0),
            "holds (both)": breaking_points(rows)}


def capacity(point, tried):
    """'16' when the next size failed, 'all 1024' when none failed, 'none' if the first did."""
    if point.first_failure is None:
        return f"all {tried}"
    return "none" if point.last_ok is None else str(point.last_ok)


print(f"{'C':>5}" + "".join(f"{k:>16}" for k in criteria) + f"{'exact up to':>13}")
for w in widths:
    at_w = [r for r in rows if r.d_model == w]
    tried = max(r.n_facts for r in at_w)
    exact = max((r.n_facts for r in at_w if r.exact), default=0)
    print(f"{w:>5}" + "".join(f"{capacity(pts[w], tried):>16}" for pts in criteria.values())
          + f"{exact:>13}")
points = criteria["holds (both)"]
widest = max((r for r in rows if r.d_model == widths[-1]), key=lambda r: r.n_facts)
assert widest.n_features > widest.d_model  # more directions than dimensions, still recalled
print(f"C = {widths[-1]}, {widest.n_facts} facts: {widest.n_features} feature directions, "
      f"{widest.n_features / widest.d_model:.0f} per dimension;")
print(f"recall {widest.accuracy:.1%}, mixed names firing {widest.false_fire_rate:.2%}")

fig, ax = plt.subplots(figsize=(8, 4.2))
plot_sweep(rows, ax=ax)
fig.tight_layout()

# %%
# Where the *holds* column equals the last one, a width broke as soon as its features
# stopped fitting: the first crowded size already let a nobody fire a neuron. Recall is
# more robust than that. A mixed name puts the neurons of the people it half matches
# exactly at the gate's edge, 0, and one of them counts as firing as soon as noise lifts
# it past ``FIRE_THRESHOLD``; a right answer wins by a margin of 1. So a width can go on
# recalling nearly every fact long after its first false alarm: compare the *recall* and
# *no false fires* columns. The widest stream holds every
# size tried, with many more directions than dimensions (the last line above), because
# its random directions are closer to perpendicular and the noise stays well inside the
# gate's margin. This is the video's closing point in miniature: with *nearly*
# perpendicular directions, the number of things a space can keep apart is not limited by
# its dimension. Part III measures that claim directly. ``minigpt facts`` prints the first
# of these tables (:func:`minigpt.cli.story.run_facts_story`).
#
# Exercises
# ---------
#
# 1. How many dimensions does the exact construction need for :math:`F` people with
#    :math:`K_1` distinct first names, :math:`K_2` last names and :math:`S` sports, and
#    how many neurons?
#
#    .. dropdown:: Solution
#
#       One axis per feature, :math:`C = K_1 + K_2 + S` (the first line of this chapter
#       prints it for the athletes), and one neuron per person, :math:`F`. A first name
#       and a last name spelled alike ("Jordan") are two features.
#
# 2. Run the sweep with GELU instead of ReLU. Which widths hold fewer facts, and why?
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          gelu_rows = interference_sweep(facts, seed=0, activation="gelu")
#          print(breaking_points(gelu_rows))
#
#       Every silent GELU neuron adds :math:`\mathrm{GELU}(-1)` times its sport, so all
#       :math:`F` neurons leak into the read-out and its noise grows with the number of
#       facts, not only with the overlaps of the directions (the Notes of
#       :func:`~minigpt.facts.interference_sweep`). Compare the printed breaking points with
#       the ReLU ones above.
#
# 3. Why is the firing threshold halfway between off (0) and on (1), and what would a
#    threshold of 0.9 do to the *no false fires* column?
#
#    .. dropdown:: Solution
#
#       Halfway is the point a noisy input is equally far from both ideal values. A
#       threshold of 0.9 counts only inputs that are nearly fully on, so fewer mixed
#       names count as firing and the *no false fires* capacity grows; the neurons'
#       inputs do not change, only what we call a false alarm. Recall does not depend on
#       the threshold at all: it asks which sport scores highest.
