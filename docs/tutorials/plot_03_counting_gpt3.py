"""
3. Counting GPT-3
=================

*In the video:* :video:`15:38`.

How much of a large language model is MLP? The video counts GPT-3's parameters by hand:
the up-projection of one MLP has four times as many rows as the model is wide, the
down-projection as many again, and over all layers the :term:`MLPs <MLP>` come to about
two thirds of
the whole model. minigpt counts every parameter of the eight models in Table 2.1 of the
GPT-3 paper exactly, from their shapes, without allocating a single weight.
"""

# %%
# The equation
# ------------
#
# With width :math:`C` (``d_model``), :math:`F` MLP neurons, :math:`V` tokens,
# :math:`n_{ctx}` positions and :math:`L` blocks, each block holds
#
# .. math::
#
#     \underbrace{4C^2 + 4C}_{\text{attention: } W_{qkv}, b_{qkv}, W_{out}, b_{out}}
#     \; + \; \underbrace{2CF + F + C}_{\text{MLP: } W_{up}, b_{up}, W_{down}, b_{down}}
#     \; + \; \underbrace{4C}_{\text{two LayerNorms}}
#
# and the model adds :math:`VC + n_{ctx} C` for the token and position embeddings (the
# unembedding is the token embedding, transposed) and :math:`2C` for the final LayerNorm.
# With :math:`F = 4C`, as in every GPT-3 model, a block is :math:`12C^2 + 13C`, and the
# MLP is two thirds of its :math:`12 C^2`.
#
# The code
# --------
#
# The presets, and the count, which walks the same list of shapes the model allocates:
#
# .. literalinclude:: /../minigpt/config.py
#    :pyobject: gpt3_config
#    :no-docstring:
#    :caption: minigpt/config.py
#
# .. literalinclude:: /../minigpt/config.py
#    :pyobject: count_params
#    :no-docstring:

import matplotlib.pyplot as plt
import numpy as np

import minigpt as mg
from minigpt.cli import main
from minigpt.config import GPT3_TABLE

# %%
# Table 2.1, counted
# ------------------
#
# For each model: its shape, the exact count, the paper's rounded figure and how far apart
# they are.

GROUPS = ("embedding", "attention", "mlp", "layernorm")


def human(n):
    """125_000_000 -> '125M', 1.3e9 -> '1.3B'."""
    return f"{n / 1e9:.3g}B" if n >= 1e9 else f"{n / 1e6:.3g}M"


rows = []
print(f"{'model':>6} {'layers':>6} {'d_model':>7} {'heads':>5} {'d_head':>6} "
      f"{'exact count':>17} {'paper':>8} {'diff':>6} {'MLP share':>9}")
for name, (_, _, _, paper) in GPT3_TABLE.items():
    cfg = mg.gpt3_config(name)
    groups = mg.count_params(cfg, by="group")
    total = mg.count_params(cfg)
    assert total == sum(groups.values())
    rows.append((name, cfg, groups, total, paper))
    print(f"{name:>6} {cfg.n_layer:>6} {cfg.d_model:>7} {cfg.n_head:>5} {cfg.d_head:>6} "
          f"{total:>17,} {human(paper):>8} {100 * (total / paper - 1):>+5.1f}% "
          f"{groups['mlp'] / total:>9.1%}")
worst = max(abs(total / paper - 1) for *_, total, paper in rows)
print(f"largest gap to the paper's figure: {worst:.2%}")

# %%
# The paper's figures are rounded names more than counts; every row lands close to its
# figure (the largest gap is printed above). The share of the MLPs grows with the model,
# because the embeddings, a fixed :math:`(V + n_{ctx})\,C`, matter less and less next to
# :math:`12 L C^2`.
#
# The video's arithmetic for GPT-3 175B
# -------------------------------------
#
# The same numbers, step by step, read from the shapes of the preset:

cfg = mg.gpt3_config("175B")
shapes = mg.param_shapes(cfg)
w_up_shape = shapes["blocks.0.mlp.w_up"]
w_down_shape = shapes["blocks.0.mlp.w_down"]
n_w_up = int(np.prod(w_up_shape))
n_mlp_weights = n_w_up + int(np.prod(w_down_shape))
groups = mg.count_params(cfg, by="group")
total = mg.count_params(cfg)
print(f"d_model C                         {cfg.d_model:>18,}")
print(f"rows of W_up (neurons) F = 4 C    {w_up_shape[0]:>18,}   shape {w_up_shape}")
print(f"parameters of W_up                {n_w_up:>18,}")
print(f"W_up + W_down of one MLP          {n_mlp_weights:>18,}")
print(f"... times {cfg.n_layer} layers                {cfg.n_layer * n_mlp_weights:>18,}")
print(f"all MLP parameters, with biases   {groups['mlp']:>18,}")
print(f"the whole model                   {total:>18,}")
print(f"MLP share                         {groups['mlp'] / total:>18.2%}   (two thirds: "
      f"{2 / 3:.2%})")
print(f"biases of the MLPs                {groups['mlp'] - cfg.n_layer * n_mlp_weights:>18,}"
      f"   ({(groups['mlp'] - cfg.n_layer * n_mlp_weights) / total:.4%} of the model)")
print(f"all LayerNorm parameters          {groups['layernorm']:>18,}"
      f"   ({groups['layernorm'] / total:.4%})")

# %%
# Where the parameters live
# -------------------------

fig, (ax, ax_share) = plt.subplots(1, 2, figsize=(10.5, 3.8), gridspec_kw={"width_ratios": [2, 3]})
values = np.array([groups[g] for g in GROUPS]) / 1e9
bars = ax.bar(GROUPS, values, color=["C0", "C1", "C2", "C3"])
for bar, v in zip(bars, values):
    ax.annotate(f"{v:,.3f} B" if v < 1 else f"{v:,.1f} B", (bar.get_x() + bar.get_width() / 2, v),
                ha="center", va="bottom", fontsize=8)
ax.tick_params(axis="x", labelsize=8)
ax.set_ylabel("billions of parameters")
ax.set_title(f"GPT-3 175B: {total / 1e9:.1f} B parameters")

names = [r[0] for r in rows]
bottom = np.zeros(len(rows))
for g in ("mlp", "attention", "embedding", "layernorm"):  # the MLP at the bottom, to compare
    share = np.array([r[2][g] / r[3] for r in rows])
    ax_share.bar(names, share, bottom=bottom, color=f"C{GROUPS.index(g)}", label=g)
    bottom += share
ax_share.axhline(2 / 3, color="k", lw=0.8, ls="--", label="two thirds")
ax_share.set_ylabel("share of the model")
ax_share.set_title("share of each part, Table 2.1 models")
ax_share.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
fig.tight_layout()

# %%
# Two rows of the paper do not add up
# -----------------------------------
#
# Table 2.1 lists, for GPT-3 XL, 24 heads of width 128 in a model of width 2048, and for
# GPT-3 13B a width of 5140 split into 40 heads of 128. Neither is possible:

for label, C_paper, H_paper, D_paper in (("XL", 2048, 24, 128), ("13B", 5140, 40, 128)):
    print(f"{label}: {H_paper} heads x {D_paper} = {H_paper * D_paper} (paper's d_model "
          f"{C_paper}); {C_paper} / {H_paper} = {C_paper / H_paper:.2f}")
    try:
        mg.GPTConfig(vocab_size=50257, n_ctx=2048, n_layer=24, n_head=H_paper, d_model=C_paper)
    except ValueError as err:
        print(f"    GPTConfig refuses it:\n    {err}")

# %%
# The presets keep the head width of 128 in both: XL gets 16 heads, and 13B gets
# :math:`40 \times 128 = 5120`, which is surely what the paper meant. The number of heads
# does not change the parameter count at all (the heads split :math:`W_{qkv}`, they do not
# add to it), and neither does GPT-3's alternating dense and banded attention, which is a
# mask:

xl = mg.gpt3_config("xl")
for n_head in (8, 16, 32):
    print(f"XL with {n_head:2d} heads of {xl.d_model // n_head:3d}: "
          f"{mg.count_params(mg.gpt3_config('xl', n_head=n_head)):,}")
print(f"XL, alternating attention: "
      f"{mg.count_params(mg.gpt3_config('xl', attention='alternating', local_window=256)):,}")
paper_13b = GPT3_TABLE["13B"][3]
for d_model, n_head in ((5120, 40), (5140, 20)):
    n = mg.count_params(mg.gpt3_config("13B", d_model=d_model, n_head=n_head))
    print(f"13B with d_model {d_model}: {n:,} ({100 * (n / paper_13b - 1):+.1f}% from the "
          f"paper's {paper_13b / 1e9:.1f}B)")

# %%
# The docstring of :func:`minigpt.gpt3_config` records both choices.
#
# From the command line
# ---------------------
#
# ``minigpt params`` prints the same counts (:func:`minigpt.cli.gpt3_param_table`, laid out
# by :func:`minigpt.cli.format_param_table`); here it runs through :func:`minigpt.cli.main`,
# as the command does:

exit_code = main(["params"])

# %%
# Exercises
# ---------
#
# 1. Write the count of one GPT-3 block with :math:`F = 4C` as a polynomial in :math:`C`,
#    and check it against ``mg.count_params`` for GPT-3 Small with one layer.
#
#    .. dropdown:: Solution
#
#       Attention :math:`4C^2 + 4C`, MLP :math:`2CF + F + C = 8C^2 + 5C`, two LayerNorms
#       :math:`4C`: in all :math:`12C^2 + 13C`. The rest of the model does not depend on
#       the number of layers, so the difference of two counts is one block:
#
#       .. code-block:: python
#
#          small = mg.gpt3_config("small")
#          C = small.d_model
#          one = mg.count_params(mg.gpt3_config("small", n_layer=1))
#          two = mg.count_params(mg.gpt3_config("small", n_layer=2))
#          assert two - one == 12 * C**2 + 13 * C
#
# 2. GPT-3 ties its unembedding to the token embedding. How many parameters would a
#    separate unembedding add to GPT-3 175B, and what share of the model would that be?
#
#    .. dropdown:: Solution
#
#       One more :math:`V \times C` matrix:
#
#       .. code-block:: python
#
#          extra = cfg.vocab_size * cfg.d_model
#          print(f"{extra:,} more parameters, {extra / total:.2%} of the model")
#
#       Under half a percent: at this size the MLPs and attention dwarf the embeddings.
#
# 3. The video says the MLPs hold about two thirds of GPT-3's parameters. Why is the share
#    printed above a little *below* two thirds, and why is GPT-3 Small's share much lower?
#
#    .. dropdown:: Solution
#
#       Within a block the MLP's :math:`8C^2 + 5C` is just under two thirds of
#       :math:`12C^2 + 13C`, and the embeddings, :math:`(V + n_{ctx})\,C`, belong to no
#       block. They grow only linearly in :math:`C` while the blocks grow as
#       :math:`L C^2`, so in a small model (small :math:`C`, few layers) they are a large
#       share and the MLPs' share drops; the stacked bars above show it model by model.
