"""
1. Tokens as vectors
====================

*In the video:* :video:`2:15` and :video:`4:39`.

Before a model can know that Michael Jordan plays basketball, the words must become
numbers. Each :term:`token` is replaced by a long vector (its :term:`embedding`), and from then on everything the model
"knows" about that token is carried by the directions the vector points in. The video's
first move is to *assume* three such directions, one for the first name *Michael*, one for
the last name *Jordan* and one for *basketball*, and to say that a vector "encodes Michael"
when its dot product with the Michael direction is 1.
"""

# %%
# The equation
# ------------
#
# A tokenizer cuts the text into pieces and numbers them; the model then reads row
# :math:`\mathrm{id}` of a table :math:`W_E \in \R^{V \times C}` and adds a learned vector
# for the position :math:`t`:
#
# .. math::
#
#     E_t = W_E[\mathrm{id}_t] + P[t] \in \R^{C}
#
# "The vector encodes Michael" is then a statement about one direction :math:`M`
# (a unit vector): :math:`E \cdot M = 1`, while :math:`E \cdot M \approx 0` (or negative)
# means it does not.
#
# The code
# --------
#
# The lookup is a row selection. Its backward scatters gradients back onto the rows that
# were read (chapter 5):
#
# .. literalinclude:: /../minigpt/nn/embedding.py
#    :pyobject: embedding_forward
#    :no-docstring:
#    :caption: minigpt/nn/embedding.py
#
# In the model, the token vectors and the position vectors are simply added:
#
# .. literalinclude:: /../minigpt/model.py
#    :pyobject: GPT._forward
#    :start-at: tok, tok_cache
#    :end-at: pos_emb"][:T]
#    :dedent:
#    :caption: minigpt/model.py, GPT._forward

import matplotlib.pyplot as plt
import numpy as np

import minigpt as mg
from minigpt.facts import DEMO_SHAPE
from minigpt.nn import embedding_forward
from minigpt.tokenizers import CharTokenizer, WordTokenizer

# %%
# From text to ids
# ----------------
#
# minigpt's word tokenizer keeps the space before a word, as GPT-2's does, so each name and
# each sport is a single token:

sentence = "Michael Jordan plays basketball."
tokenizer = WordTokenizer.from_text(sentence)
print("pieces:", tokenizer.tokenize(sentence))
print("ids:   ", tokenizer.encode(sentence))

# %%
# A character-level tokenizer would need many more steps to spell the same sentence, and no
# single id would stand for "Jordan":

chars = CharTokenizer.from_text(sentence)
print(f"{len(chars.encode(sentence))} character tokens, "
      f"{len(tokenizer.encode(sentence))} word tokens")

# %%
# Nearly perpendicular directions
# -------------------------------
#
# In a space of :math:`C` dimensions only :math:`C` directions can be exactly perpendicular,
# but random directions are *nearly* perpendicular, and the more so the larger :math:`C`:
# the cosine of the angle between two random unit vectors has a standard deviation of about
# :math:`1/\sqrt{C}`. Compare the width of this book's demo model with GPT-3's, both taken
# from minigpt's own settings (angles in degrees: mean, standard deviation, extremes):

rng = np.random.default_rng(0)
N_DIRECTIONS = 300
widths = {"demo model": DEMO_SHAPE["d_model"], "GPT-3 175B": mg.gpt3_config("175B").d_model}
angles = {}
print(f"{'':>10} {'C':>6} {'pairs':>7} {'angle':>6} {'+/-':>5} {'smallest':>8} {'largest':>8}"
      f" {'std cos':>8} {'1/sqrt(C)':>9}")
for label, C in widths.items():
    v = rng.standard_normal((N_DIRECTIONS, C))
    v /= np.linalg.norm(v, axis=1, keepdims=True)  # (N, C) unit vectors
    cos = (v @ v.T)[np.triu_indices(N_DIRECTIONS, k=1)]  # every pair once
    a = angles[label] = np.degrees(np.arccos(cos))
    print(f"{label:>10} {C:>6,} {cos.size:>7,} {a.mean():>6.2f} {a.std():>5.2f} "
          f"{a.min():>8.1f} {a.max():>8.1f} {cos.std():>8.4f} {1 / np.sqrt(C):>9.4f}")

fig, ax = plt.subplots(figsize=(7, 3.2))
bins = np.linspace(50, 130, 161)
for label, a in angles.items():
    ax.hist(a, bins=bins, alpha=0.6, label=f"{label} (C = {widths[label]:,})")
ax.axvline(90, color="k", lw=0.8)
ax.set_xlabel("angle between two random directions (degrees)")
ax.set_ylabel("pairs")
ax.set_title(f"{N_DIRECTIONS} random directions: nearly perpendicular, more so in more dimensions")
ax.legend()
fig.tight_layout()

# %%
# "E . M = 1 means Michael"
# -------------------------
#
# Now the video's assumption, made concrete in GPT-3's width: one random unit direction for
# each of *Michael*, *Jordan* and *basketball*, written into the rows of an embedding table.
# Looking up "Michael Jordan" gives one vector per position. The vector at the "Jordan"
# position does not mention Michael yet: that is the job of attention (chapter 4), which
# adds the Michael direction into it. Here we do that addition by hand.

C = widths["GPT-3 175B"]
M, J, B = (u / np.linalg.norm(u) for u in rng.standard_normal((3, C)))  # unit vectors
table = np.zeros((tokenizer.vocab_size, C))  # (V, C)
table[tokenizer.encode("Michael")[0]] = M
table[tokenizer.encode(" Jordan")[0]] = J
table[tokenizer.encode(" basketball")[0]] = B

E, _ = embedding_forward(tokenizer.encode("Michael Jordan"), table)  # (2, C)
vectors = {"'Michael'": E[0], "'Jordan'": E[1], "'Jordan' after attention": E[1] + E[0]}
directions = {"M (Michael)": M, "J (Jordan)": J, "B (basketball)": B}
dots = np.array([[vec @ d for d in directions.values()] for vec in vectors.values()])

print(f"{'vector':>26}" + "".join(f"{d:>16}" for d in directions))
for name, row in zip(vectors, dots):
    print(f"{name:>26}" + "".join(f"{x:16.4f}" for x in row))
expected = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
print(f"largest deviation from the ideal 0/1 pattern: {np.abs(dots - expected).max():.4f}")

# %%
# The dot products that should be 1 are 1 and the others are close to 0, not exactly 0,
# because random directions are only nearly perpendicular: the largest deviation is printed
# above, of the order of :math:`1/\sqrt{C}`.
# The last row is the vector the MLP of chapter 2 receives: it encodes *Michael* and
# *Jordan* and, so far, not *basketball*.

fig, ax = plt.subplots(figsize=(7, 3.2))
x = np.arange(len(vectors))
for k, name in enumerate(directions):
    ax.bar(x + (k - 1) * 0.27, dots[:, k], width=0.27, label=f"E . {name}")
ax.set_xticks(x, list(vectors))
ax.axhline(0, color="k", lw=0.8)
ax.set_ylabel("dot product")
ax.set_title("what each vector encodes, read off by dot products")
ax.set_ylim(top=1.5)  # room above the bars for the legend
ax.legend(loc="upper center", ncols=len(directions), frameon=False)
fig.tight_layout()

# %%
# Exercises
# ---------
#
# 1. Near 90 degrees an angle moves by about :math:`180/\pi` degrees per unit of cosine.
#    At what width :math:`C` is the standard deviation of the angle between two random
#    directions about one degree? Check your answer with the code above.
#
#    .. dropdown:: Solution
#
#       The cosine has standard deviation :math:`1/\sqrt{C}`, so the angle has about
#       :math:`(180/\pi)/\sqrt{C}` degrees. One degree needs
#       :math:`C = (180/\pi)^2` (``(180 / np.pi) ** 2``). To check, put that width into
#       ``widths`` and rerun the loop: the printed standard deviation comes out close to 1.
#
# 2. Suppose the directions of *Michael* and *Jordan* were not nearly perpendicular, with
#    :math:`M \cdot J = 0.5`. What would :math:`E \cdot M` read for the vector
#    :math:`E = M + J` that attention builds at "Jordan"? Why is that a problem for the
#    video's "1 means Michael"?
#
#    .. dropdown:: Solution
#
#       :math:`(M + J) \cdot M = M \cdot M + J \cdot M = 1.5`. A dot product of 1.5 no
#       longer separates "encodes Michael" (1) from "encodes Michael and something that
#       looks like him": every overlap between directions adds to the reading. That is
#       why the video assumes the directions are nearly perpendicular, and why the
#       deviations printed above (of the order of :math:`1/\sqrt{C}`) are small only in
#       a wide space.
#
# 3. How many ids does the character tokenizer need for ``" Jordan"``, and the word
#    tokenizer? What must attention do when a name is spread over several positions?
#
#    .. dropdown:: Solution
#
#       ``len(chars.encode(" Jordan"))`` is one id per character, seven;
#       ``len(tokenizer.encode(" Jordan"))`` is one.
#       With one position per character, no single vector holds the name until attention
#       has gathered the characters into one position, so the model needs more layers of
#       attention before an MLP can ask "Michael *and* Jordan?". GPT-2's tokenizer
#       (chapter 16) sits in between: common names are a token or two.
