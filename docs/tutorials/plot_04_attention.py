"""
4. Attention moves "Michael" to "Jordan"
========================================

*In the video:* :video:`4:39` (the toy example assumes attention has done this).

The MLP of chapter 2 asked the vector at the "Jordan" position whether it encodes
*Michael* and *Jordan*. But a token's own vector only knows its own word: something must
carry "Michael" forward from the position before. That is :term:`attention`, the one place in a
transformer where positions exchange information. In a model that writes text left to
right, each position may only look back, never ahead; GPT-3 restricts every other layer
further, to a band of recent positions.
"""

# %%
# The equation
# ------------
#
# Each head projects the vectors :math:`X \in \R^{T \times C}` to queries, keys and values
# :math:`Q, K, V \in \R^{T \times D}` and mixes the values with weights from the softmax of
# the query-key dot products:
#
# .. math::
#
#     A = \operatorname{softmax}\!\left(\frac{Q K^T}{\sqrt{D}} + M\right), \qquad
#     Y = A V, \qquad
#     M_{ts} = \begin{cases} 0 & \text{if position } t \text{ may read } s \\
#                            -\infty & \text{otherwise} \end{cases}
#
# Dense causal layers allow :math:`s \le t`; GPT-3's locally banded layers allow only
# :math:`t - w < s \le t`. Row :math:`t` of :math:`A` is the *attention pattern* of
# position :math:`t`: how much of each earlier position it copies. :math:`H` heads do this
# side by side on :math:`D = C / H` dimensions each, and their outputs are concatenated
# and projected back to :math:`C`.
#
# The code
# --------
#
# .. literalinclude:: /../minigpt/nn/attention.py
#    :pyobject: causal_mask
#    :no-docstring:
#    :caption: minigpt/nn/attention.py
#
# .. literalinclude:: /../minigpt/nn/attention.py
#    :pyobject: attention_forward
#    :no-docstring:

import matplotlib.pyplot as plt
import numpy as np

from minigpt.data import load_facts, prompt
from minigpt.facts import sport_token_ids
from minigpt.facts.demo import demo_model  # trained on first use, then loaded from a cache
from minigpt.nn import causal_mask, layernorm_forward, softmax_forward

# %%
# Masks: dense and banded
# -----------------------

print("dense causal, T = 5:\n", causal_mask(5).astype(int))
print("banded, window 2:\n", causal_mask(5, window=2).astype(int))
T = 12
for w in (None, 4):
    counts = causal_mask(T, window=w).sum(axis=1)
    print(f"window {w}: position t reads {counts.tolist()} positions")

# %%
# GPT-3 alternates the two kinds of layer. The demo model of this book does too; here are
# its masks, layer by layer, over its whole context:

model, tokenizer, _ = demo_model()
cfg = model.config
print(f"{cfg.n_layer} layers of {cfg.n_head} heads, d_model {cfg.d_model}, context "
      f"{cfg.n_ctx}, {cfg.attention} attention with a band of {cfg.local_window}")

fig, axes = plt.subplots(1, cfg.n_layer, figsize=(2.6 * cfg.n_layer, 3.3))
for i, ax in enumerate(axes):
    w = cfg.layer_window(i)
    ax.imshow(causal_mask(cfg.n_ctx, window=w), cmap="Blues", vmin=0, vmax=1.4)
    ax.set_title(f"layer {i}: " + ("dense" if w is None else f"band of {w}"), fontsize=9)
    ax.set_xlabel("key position s")
    ax.set_xticks([])
    ax.set_yticks([])
axes[0].set_ylabel("query position t")
fig.suptitle("which positions each position may read (GPT-3's alternating layers)")
fig.tight_layout()

# %%
# Heads are slices
# ----------------
#
# minigpt computes :math:`Q, K, V` for all heads with one matrix product, ``x @ w_qkv.T``,
# and splits the result by reshaping. Head :math:`h` is therefore nothing but rows
# :math:`hD .. (h+1)D - 1` of each third of ``w_qkv``. We check this on the trained model:
# take the input of layer 0's attention from :meth:`minigpt.GPT.run_with_cache`, compute one
# head's pattern from those rows alone, and compare with the pattern the model computed.

ids = tokenizer.encode(prompt("Michael Jordan", template=2))
print(tokenizer.tokenize(prompt("Michael Jordan", template=2)))
names = [f"blocks.{i}.attn.pattern" for i in range(cfg.n_layer)]
_, acts = model.run_with_cache(ids, names=names + ["blocks.0.resid_pre"])
p, C, H, D = model.params, cfg.d_model, cfg.n_head, cfg.d_head
h_in, _ = layernorm_forward(acts["blocks.0.resid_pre"][0], p["blocks.0.ln1.gain"],
                            p["blocks.0.ln1.bias"])  # (T, C)
w_qkv, b_qkv = p["blocks.0.attn.w_qkv"], p["blocks.0.attn.b_qkv"]
for head in range(H):
    rows = {part: slice(j * C + head * D, j * C + (head + 1) * D) for j, part in enumerate("qkv")}
    q = h_in @ w_qkv[rows["q"]].T + b_qkv[rows["q"]]  # (T, D)
    k = h_in @ w_qkv[rows["k"]].T + b_qkv[rows["k"]]  # (T, D)
    scores = q @ k.T / np.sqrt(np.float32(D))  # (T, T)
    scores[~causal_mask(len(ids), cfg.layer_window(0))] = -np.inf
    att, _ = softmax_forward(scores)
    print(f"head {head}: max |difference| from the model's pattern "
          f"{np.abs(att - acts[names[0]][0, head]).max():.1e}")

# %%
# And every pattern the model computed is a proper one: rows sum to 1, and positions the
# mask forbids get exactly 0.

for i, n in enumerate(names):
    att = acts[n][0]  # (H, T, T)
    forbidden = ~causal_mask(len(ids), cfg.layer_window(i))
    print(f"layer {i}: max |row sum - 1| {np.abs(att.sum(-1) - 1).max():.1e}, "
          f"max weight on a forbidden position {att[:, forbidden].max():.1e}")

# %%
# Who reads "Michael"?
# --------------------
#
# Now the question of the video. For every athlete of the fact bank we prompt the model
# with "First Last plays" and measure, in every layer and head, how much the last-name
# position attends to the first-name position.

facts = load_facts()
prompts = np.stack([tokenizer.encode(prompt(f)) for f in facts])  # (N, 3): First, Last, plays
_, acts = model.run_with_cache(prompts, names=names)
last_to_first = np.stack([acts[n][:, :, 1, 0] for n in names], axis=1)  # (N, L, H)
mean_weight = last_to_first.mean(axis=0)  # (L, H)
layer, head = np.unravel_index(mean_weight.argmax(), mean_weight.shape)
print("mean attention of the last name to the first name, layers x heads:")
print(np.round(mean_weight, 2))
print(f"strongest: layer {layer}, head {head}, {mean_weight[layer, head]:.2f} on average; "
      f"for Michael Jordan {last_to_first[0, layer, head]:.2f}")

# %%
# The strongest head puts, on average, the printed share of the last name's attention on
# the first name. A share close to 1 means it copies *Michael* into the vector at *Jordan*,
# as the video assumed. The patterns of that layer on a longer prompt, each row a query
# position:

tokens = tokenizer.tokenize(prompt("Michael Jordan", template=2))
_, acts = model.run_with_cache(ids, names=names)
fig, axes = plt.subplots(1, H, figsize=(2.9 * H, 3.3))
for h, ax in enumerate(axes):
    ax.imshow(acts[names[layer]][0, h], cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(tokens)), [t.strip() for t in tokens], rotation=90, fontsize=7)
    ax.set_yticks(range(len(tokens)), [t.strip() for t in tokens], fontsize=7)
    ax.set_title(f"layer {layer}, head {h}" + (" (strongest)" if h == head else ""), fontsize=9)
fig.suptitle("attention patterns of the trained demo model (row: query, column: key)")
fig.tight_layout()

# %%
# Does the model need it?
# -----------------------
#
# A hook on ``attn.pattern`` can rewrite the pattern while the model runs. First we stop
# the last-name position from reading the first name, in every layer and head (it attends
# to itself instead); then we hide the first name from every later position.

sport_ids = sport_token_ids(tokenizer, facts)


def recall(hooks=None):
    logits = model.forward(prompts, hooks=hooks)  # (N, T, V)
    return float(np.mean(logits[:, -1].argmax(axis=-1) == sport_ids))


def last_name_blind(att):
    att = att.copy()
    att[:, :, 1, 0], att[:, :, 1, 1] = 0, 1  # query "Last" reads only itself
    return att


def first_name_hidden(att):
    att = att.copy()
    att[:, :, 1:, 0] = 0  # no later position reads "First"
    return att / att.sum(axis=-1, keepdims=True)


results = {"unchanged": recall(),
           "last name cannot read the first": recall({n: last_name_blind for n in names}),
           "first name hidden from all": recall({n: first_name_hidden for n in names})}
for k, v in results.items():
    print(f"{k:>32}: recall {v:.1%}")

fig, ax = plt.subplots(figsize=(6, 2.6))
ax.barh(list(results), list(results.values()), color=["C2", "C1", "C3"])
ax.set_xlim(0, 1)
ax.set_xlabel(f"recall of the {len(facts)} facts")
fig.tight_layout()

# %%
# The printed recalls tell the rest of the story. If the model still recalls the facts
# when only the last-name position is blinded, the position that predicts the sport
# (" plays") reads the first name directly: attention gives the model more than one route.
# Hiding the first name from every position cuts all routes to it; the recall that remains
# is what the model can get from the last name alone. Where in the network the answer is
# then looked up is the subject of part II.

# %%
# Exercises
# ---------
#
# 1. In a banded layer with window :math:`w`, how many positions does position :math:`t`
#    (counting from 0) read? Check your formula against ``causal_mask``.
#
#    .. dropdown:: Solution
#
#       :math:`\min(t + 1, w)`: itself and the :math:`w - 1` before it, or everything
#       before it when there are fewer.
#
#       .. code-block:: python
#
#          T, w = 12, 4
#          assert causal_mask(T, window=w).sum(axis=1).tolist() == [
#              min(t + 1, w) for t in range(T)]
#
# 2. Blind only the strongest head found above (the last name may not read the first
#    name in that one head) and measure recall. Does one head carry the name?
#
#    .. dropdown:: Solution
#
#       A hook on that layer's pattern that changes only that head:
#
#       .. code-block:: python
#
#          def one_head_blind(att):
#              att = att.copy()
#              att[:, head, 1, 0], att[:, head, 1, 1] = 0, 1
#              return att
#
#          print(recall({names[layer]: one_head_blind}))
#
#       Compare with the recalls printed above: whatever this prints, the gap to
#       "last name cannot read the first" (every head blinded) is what the other heads
#       and the position " plays" carry.
#
# 3. Why does ``first_name_hidden`` divide each row by its sum after zeroing a column,
#    while ``last_name_blind`` does not?
#
#    .. dropdown:: Solution
#
#       A row of the pattern is a weighted average: it must add up to 1, or the output
#       would shrink with it. ``last_name_blind`` moves the weight it removes onto the
#       position itself (the row still sums to 1); ``first_name_hidden`` only removes
#       weight, so it renormalizes what is left.
