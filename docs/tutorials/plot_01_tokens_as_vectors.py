"""
1. Tokens as vectors
====================

Before a model can know that Michael Jordan plays basketball, the words must become
numbers. Each token is replaced by a long vector, and from then on everything the model
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
# from minigpt's own settings:

rng = np.random.default_rng(0)
N_DIRECTIONS = 300
widths = {"demo model": DEMO_SHAPE["d_model"], "GPT-3 175B": mg.gpt3_config("175B").d_model}
angles = {}
for label, C in widths.items():
    v = rng.standard_normal((N_DIRECTIONS, C))
    v /= np.linalg.norm(v, axis=1, keepdims=True)  # (N, C) unit vectors
    cos = (v @ v.T)[np.triu_indices(N_DIRECTIONS, k=1)]  # every pair once
    angles[label] = np.degrees(np.arccos(cos))
    print(f"{label:>10} (C = {C:6,}): {cos.size:,} pairs, angle {angles[label].mean():.2f} "
          f"+/- {angles[label].std():.2f} degrees, range {angles[label].min():.1f} .. "
          f"{angles[label].max():.1f}; std of cos {cos.std():.4f} vs 1/sqrt(C) "
          f"{1 / np.sqrt(C):.4f}")

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
ax.legend()
fig.tight_layout()
