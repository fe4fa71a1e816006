"""
2. The MLP as a fact store
==========================

*In the video:* :video:`6:07`.

The video's central picture: an MLP block can hold a fact such as "Michael Jordan plays
basketball". Its up-projection asks questions of the vector at each position, a bias and a
ReLU turn the answer into an :term:`AND gate` ("first name Michael *and* last name Jordan"), and
its down-projection adds what the firing neuron knows, the direction for *basketball*, back
into the vector. Here we build that MLP by hand, with minigpt's own operations, and watch it
answer.
"""

# %%
# The equation
# ------------
#
# The MLP acts on each position's vector :math:`E \in \R^C` on its own, and its output is
# *added* to it (the :term:`residual stream`):
#
# .. math::
#
#     h = \sigma\!\left(W_{up} E + b_{up}\right) \in \R^F, \qquad
#     E' = E + W_{down}\, h + b_{down}
#
# Read :math:`W_{up}` (shape :math:`F \times C`) **row by row**: row :math:`i` is the
# direction that neuron :math:`i` asks about, and :math:`(W_{up} E)_i` is the dot product
# that answers it. Read :math:`W_{down}` (shape :math:`C \times F`) **column by column**:
# column :math:`i` is the direction added to the vector when neuron :math:`i` is active,
# in proportion to its value :math:`h_i`. The values :math:`h_i` after the nonlinearity
# are what people call the *neurons* (:term:`neuron`); one is *active* when it is positive.
#
# The code
# --------
#
# minigpt stores weights as ``(d_out, d_in)`` and applies them as ``x @ w.T``, so "row
# :math:`i` of ``w_up``" and "column :math:`i` of ``w_down``" are literally that:
#
# .. literalinclude:: /../minigpt/nn/mlp.py
#    :pyobject: mlp_forward
#    :no-docstring:
#    :caption: minigpt/nn/mlp.py
#
# and the two nonlinearities, the video's ReLU and the tanh-approximated GELU of GPT-2 and
# GPT-3:
#
# .. literalinclude:: /../minigpt/nn/activations.py
#    :pyobject: relu_forward
#    :no-docstring:
#    :caption: minigpt/nn/activations.py
#
# .. literalinclude:: /../minigpt/nn/activations.py
#    :pyobject: gelu_forward
#    :no-docstring:

import math

import matplotlib.pyplot as plt
import numpy as np

from minigpt.facts import build_fact_mlp
from minigpt.facts.handbuilt import plot_fact_mlp
from minigpt.nn import (
    ACTIVATIONS,
    erf,
    erfc,
    gelu_exact_forward,
    gelu_forward,
    linear_forward,
    mlp_forward,
    relu_forward,
)

# %%
# Directions for names and sports
# -------------------------------
#
# As in the video, assume the model has directions for first names, last names and sports.
# To keep the arithmetic exact we make them exactly perpendicular (chapter 1 showed that
# random directions in a wide space are nearly so, which changes these numbers by about
# :math:`1/\sqrt{C}`).

C = 32  # width of the toy residual stream
rng = np.random.default_rng(0)
basis = np.linalg.qr(rng.standard_normal((C, C)))[0].T  # (C, C): rows are orthonormal
features = ["Michael", "Jordan", "Phelps", "Alexis", "basketball", "swimming"]
d = dict(zip(features, basis))  # name -> unit direction in R^C
print("largest |dot| between two different directions:",
      f"{max(abs(d[a] @ d[b]) for a in features for b in features if a != b):.1e}")

# %%
# Two neurons, two facts
# ----------------------
#
# Neuron 0 stores *Michael Jordan -> basketball*, neuron 1 *Michael Phelps -> swimming*.
# Each row of ``w_up`` is the sum of the two name directions, so its dot product with a
# vector that encodes both names is 2, with one that encodes only one of them 1. The bias
# -1 leaves a positive value only for the full name; ReLU then zeros everything else.

F = 2  # neurons
w_up = np.stack([d["Michael"] + d["Jordan"], d["Michael"] + d["Phelps"]])  # (F, C): questions
b_up = np.full(F, -1.0)  # (F,): the threshold
w_down = np.stack([d["basketball"], d["swimming"]], axis=1)  # (C, F): answers, by column
b_down = np.zeros(C)  # (C,)

# Attention has already put both names into the vector at the last name (chapter 4).
people = {
    "Michael Jordan": d["Michael"] + d["Jordan"],
    "Michael Phelps": d["Michael"] + d["Phelps"],
    "Alexis Jordan": d["Alexis"] + d["Jordan"],
    "Alexis Phelps": d["Alexis"] + d["Phelps"],
}
E = np.stack(list(people.values()))  # (4, C): one vector per person


def read(E_new):
    """How much each vector points along basketball and swimming."""
    return E_new @ d["basketball"], E_new @ d["swimming"]


def show(a, decimals=2):
    """An array rounded for printing (without "-0.00" from round-off)."""
    return np.array2string(np.round(a, decimals) + 0.0, precision=decimals, floatmode="fixed")


pre, _ = linear_forward(E, w_up, b_up)  # (4, F): each neuron's answer, after the bias
y, cache = mlp_forward(E, w_up, b_up, w_down, b_down, activation="relu")  # (4, C)
neurons = cache.down.x  # (4, F): the neurons h, kept by the down-projection's cache
print(f"{'person':>15} {'W_up E + b':>14} {'neurons h':>12}  {'E . B':>7} {'E . S':>7}"
      f"  {'(E+MLP) . B':>12} {'(E+MLP) . S':>12}")
for name, p, h, e, e_new in zip(people, pre, neurons, E, E + y):
    b0, s0 = read(e)
    b1, s1 = read(e_new)
    print(f"{name:>15} {show(p):>14} {show(h):>12}  {show(b0):>7} {show(s0):>7}  "
          f"{show(b1):>12} {show(s1):>12}")

readout = (E + y) @ np.stack([d["basketball"], d["swimming"]], axis=1)  # (4, 2)
assert np.allclose(readout, [[1, 0], [0, 1], [0, 0], [0, 0]]), readout

# %%
# Only Michael Jordan's vector gains the basketball direction, and only Michael Phelps's
# gains swimming. The other two people share a name with someone the MLP knows, and no
# neuron fires for them.
#
# Why the AND gate matters
# ------------------------
#
# Without the threshold and the ReLU, the MLP is a linear map and every shared name leaks:
# "Michael" alone already answers 1 on both questions. Compare what each version adds along
# basketball, with the GELU variants for good measure (GELU is a smooth ReLU, so its
# zero is only approximately zero below the threshold):

variants = {}
y_lin, _ = linear_forward(linear_forward(E, w_up)[0], w_down)  # no bias, no nonlinearity
variants["linear (no bias, no ReLU)"] = y_lin
for act in ACTIVATIONS:
    variants[f"bias + {act}"] = mlp_forward(E, w_up, b_up, w_down, b_down, activation=act)[0]
added = {k: v @ d["basketball"] for k, v in variants.items()}  # (4,) per variant
print(f"{'added along basketball':>26}" + "".join(f"{n:>15}" for n in people))
for k, v in added.items():
    print(f"{k:>26}" + "".join(f"{show(x):>15}" for x in v))

fig, ax = plt.subplots(figsize=(8, 3.4))
x = np.arange(len(people))
width = 0.8 / len(added)
for j, (k, v) in enumerate(added.items()):
    ax.bar(x + (j - (len(added) - 1) / 2) * width, v, width=width, label=k)
ax.set_xticks(x, list(people))
ax.axhline(0, color="k", lw=0.8)
ax.set_ylabel("MLP output . basketball")
ax.set_title("what the MLP adds along 'basketball', by person")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# ReLU and the two GELUs
# ----------------------
#
# GPT-2 and GPT-3 use GELU, :math:`x\,\Phi(x)` with :math:`\Phi` the standard normal
# CDF, in a tanh approximation. minigpt has both, the exact one through its own ``erf``.
# After the bias, a neuron of our MLP sees -1, 0 or 1 (marked):

xs = np.linspace(-4, 3, 701)
curves = {"ReLU": relu_forward(xs)[0], "GELU (tanh, GPT-2/3)": gelu_forward(xs)[0],
          "GELU (exact, erf)": gelu_exact_forward(xs)[0]}
gap = curves["GELU (tanh, GPT-2/3)"] - curves["GELU (exact, erf)"]
print(f"largest |tanh GELU - exact GELU| on [-4, 3]: {np.abs(gap).max():.1e} "
      f"at x = {xs[np.abs(gap).argmax()]:.2f}")
for x0 in (-1.0, 0.0, 1.0):
    print(f"x = {x0:4.1f}: " + ", ".join(
        f"{name} {show(ACTIVATIONS[key][0](np.array([x0]))[0][0], 4)}"
        for name, key in (("ReLU", "relu"), ("GELU", "gelu"), ("exact GELU", "gelu_exact"))))

# %%
# numpy has no ``erf``; minigpt's :func:`~minigpt.nn.erf` and :func:`~minigpt.nn.erfc` are its
# own, checked here against Python's ``math`` module:

grid = np.linspace(-6, 6, 2401)
print(f"max |erf - math.erf| on [-6, 6]: "
      f"{np.abs(erf(grid) - np.array([math.erf(v) for v in grid])).max():.1e}; "
      f"max relative error of erfc: "
      f"{np.abs(erfc(grid) / np.array([math.erfc(v) for v in grid]) - 1).max():.1e}")

fig, (ax, ax_gap) = plt.subplots(1, 2, figsize=(9, 3.4), gridspec_kw={"width_ratios": [3, 2]})
for (name, ys), style in zip(curves.items(), ("-", "-", "--")):
    ax.plot(xs, ys, style, label=name)
marks = np.array([-1.0, 0.0, 1.0])
ax.plot(marks, gelu_forward(marks)[0], "ko", ms=4, label="inputs of the AND gate")
ax.set_xlabel("x")
ax.set_title("the nonlinearities")
ax.legend(fontsize=8)
ax_gap.plot(xs, gap)
ax_gap.set_xlabel("x")
ax_gap.set_title("tanh GELU minus exact GELU")
fig.tight_layout()

# %%
# The picture: rows ask, columns answer
# -------------------------------------
#
# The same construction is in the library, for any bank of facts
# (:func:`minigpt.facts.build_fact_mlp`, which chapter 7 uses for every athlete). Here it is
# for four people, drawn from its own weights (:func:`minigpt.facts.handbuilt.plot_fact_mlp`):
# each row of :math:`W_{up}` is a question, read along the feature directions (1 on its
# person's first and last name, and the bias -1 beside it), and each column of
# :math:`W_{down}` is an answer (1 on its person's sport). Two neurons share the first name
# *Michael* and two share the answer *basketball*; only the pair of names tells them apart.

bank = [("Michael", "Jordan", "basketball"), ("Michael", "Phelps", "swimming"),
        ("LeBron", "James", "basketball"), ("Serena", "Williams", "tennis")]
n_features = len({f for first, last, sport in bank for f in (first, last, sport)})
picture = build_fact_mlp(bank, d_model=n_features)  # one axis per feature: exact
print(f"w_up {picture.w_up.shape}, w_down {picture.w_down.shape}, exactly perpendicular "
      f"directions: {picture.exact}")
ax_up, ax_down = plot_fact_mlp(picture)
ax_up.figure.suptitle("the video's MLP, from the weights of build_fact_mlp")

# %%
# A real model has thousands of neurons per MLP (chapter 3 counts GPT-3's), and nothing
# forces a trained one to give each a clean single meaning like ours. Part II builds this
# construction for a whole bank of facts and measures how many fit. Chapter 4 shows the
# attention that moves "Michael" into the "Jordan" vector; chapter 6 trains a model that
# learns such facts by itself.
#
# Exercises
# ---------
#
# 1. Add a third neuron to the two-neuron MLP above that stores *Alexis Jordan ->
#    swimming*. Which row of ``w_up``, which entry of ``b_up`` and which column of
#    ``w_down`` do you add, and what do the four people now read along swimming?
#
#    .. dropdown:: Solution
#
#       The row ``d["Alexis"] + d["Jordan"]``, the bias -1 and the column
#       ``d["swimming"]``:
#
#       .. code-block:: python
#
#          w_up3 = np.vstack([w_up, d["Alexis"] + d["Jordan"]])  # (3, C)
#          b_up3 = np.append(b_up, -1.0)  # (3,)
#          w_down3 = np.column_stack([w_down, d["swimming"]])  # (C, 3)
#          y3, _ = mlp_forward(E, w_up3, b_up3, w_down3, b_down, activation="relu")
#          print((E + y3) @ d["swimming"])  # Phelps and Alexis Jordan 1, the others 0
#
#       Michael Jordan still reads 0 along swimming: the new neuron sees 1 from "Jordan"
#       and 0 from "Michael", so after the bias it is at 0 and ReLU keeps it silent.
#
# 2. The full name gives a row :math:`M + J` the answer 2, one name 1, no name 0. For
#    which biases :math:`b` is the ReLU neuron an AND gate? What goes wrong with
#    :math:`b = -0.5`?
#
#    .. dropdown:: Solution
#
#       The neuron must be silent for one name, :math:`1 + b \le 0`, and on for both,
#       :math:`2 + b > 0`: any :math:`-2 < b \le -1`. With :math:`b = -0.5` one name
#       already gives 0.5, so "Michael Phelps" gets half of *basketball*: the leak of
#       the linear map, halved but not gone. Try it with ``b_up = np.full(F, -0.5)``.
#
# 3. With GELU, a neuron whose person shares no name with the input sits at
#    :math:`\mathrm{GELU}(-1)`. Print that value. What does such a neuron add to the
#    vector?
#
#    .. dropdown:: Solution
#
#       ``gelu_forward(np.array([-1.0]))[0]`` is small and negative (chapter 7 prints
#       it): the neuron adds that multiple of its column of :math:`W_{down}`, a little of
#       *minus* its sport. One neuron leaks little; chapter 7 adds up the leak of all of
#       them.
