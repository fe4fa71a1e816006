"""
13. Toy models of superposition
===============================

*In the video:* :video:`17:04`, and the Anthropic paper it cites there.

Room for many nearly perpendicular directions (chapter 12) does not mean a model will use
it. Packing more features than dimensions has a price: features that share dimensions
leak into each other. Anthropic's *Toy Models of Superposition* (Elhage et al. 2022) shows
when a trained model pays it, with the smallest model that can: squeeze :math:`n` features
through :math:`m < n` dimensions and rebuild them. When the features are dense, the model
keeps the :math:`m` most important ones, each on its own axis, and drops the rest. When
they are sparse, two features are rarely active together, leaking is cheap, and the model
stores more features than it has dimensions: :term:`superposition`, chosen by training.
"""

# %%
# The equations
# -------------
#
# Each input :math:`x \in \R^n` has feature :math:`i` equal to 0 with probability
# :math:`S` (the sparsity) and uniform on :math:`[0, 1]` otherwise. With
# :math:`W \in \R^{m \times n}` (column :math:`W_i` is feature :math:`i`'s direction in
# the hidden space) and importances :math:`I_i = r^i`,
#
# .. math::
#
#     h = W x, \qquad x' = \operatorname{ReLU}(W^T h + b), \qquad
#     L = \mathbb{E}_x \sum_i I_i\, (x_i - x'_i)^2 .
#
# :math:`(W^T W)_{ij} = W_i \cdot W_j` is how much feature :math:`j` leaks into feature
# :math:`i`'s reconstruction. Per feature, the paper measures the norm :math:`\lVert W_i
# \rVert` (about 1 when the feature is kept, 0 when dropped), the interference
# :math:`\sum_{j \ne i} (\hat W_i \cdot W_j)^2`, and the *dimensionality*
#
# .. math::
#
#     D_i = \frac{\lVert W_i \rVert^2}{\sum_j (\hat W_i \cdot W_j)^2},
#
# the share of a hidden dimension feature :math:`i` owns: 1 alone on an axis, 1/2 in an
# antipodal pair, 2/5 in a pentagon.
#
# The code
# --------
#
# The same :math:`W` encodes and decodes (:func:`~minigpt.superposition.toy_forward`), so
# its gradient has two parts (:func:`~minigpt.superposition.toy_backward`);
# :func:`~minigpt.superposition.feature_metrics` takes the paper's measurements per feature:
#
# .. literalinclude:: /../minigpt/superposition/toy_model/model.py
#    :pyobject: toy_forward
#    :no-docstring:
#    :caption: minigpt/superposition/toy_model/model.py
#
# .. literalinclude:: /../minigpt/superposition/toy_model/model.py
#    :pyobject: toy_backward
#    :no-docstring:
#
# .. literalinclude:: /../minigpt/superposition/toy_model/metrics.py
#    :pyobject: feature_metrics
#    :no-docstring:
#    :caption: minigpt/superposition/toy_model/metrics.py

import matplotlib.pyplot as plt
import numpy as np

import minigpt as mg
from minigpt.superposition import (
    importance_weights,
    init_toy_params,
    neighbour_angles,
    plot_feature_directions,
    plot_wtw,
    sample_features,
    sparsity_sweep,
    toy_loss_and_grads,
)
from minigpt.superposition.toy_model import DEFAULT_IMPORTANCE_DECAY, REPRESENTED_NORM

# %%
# The backward, checked
# ---------------------
#
# Both parts of :math:`dW` and the bias gradient, through the importance-weighted error
# (:func:`~minigpt.superposition.importance_mse_forward` and
# :func:`~minigpt.superposition.importance_mse_backward`), against finite differences in
# float64 (:func:`minigpt.gradcheck`, chapter 5):

params = init_toy_params(5, 2, seed=0, dtype=np.float64)
x = sample_features(64, 5, 0.5, np.random.default_rng(0), dtype=np.float64)  # (B, n)
importance = importance_weights(5, DEFAULT_IMPORTANCE_DECAY, dtype=np.float64)
_, grads = toy_loss_and_grads(params, x, importance)
check = mg.gradcheck(lambda w, b: toy_loss_and_grads({"w": w, "b": b}, x, importance)[0],
                     [params["w"], params["b"]], [grads["w"], grads["b"]])
print(f"gradcheck: {check.n_checked} entries, worst error {check.max_error:.1e}, ok {check.ok}")
assert check.ok

# %%
# Five features in two dimensions
# -------------------------------
#
# The paper's first demonstration: :math:`n = 5` features, :math:`m = 2` hidden
# dimensions, importances :math:`0.9^i`, one model per sparsity, each trained with Adam on
# fresh batches (:func:`~minigpt.superposition.train_toy_model`, called by
# :func:`~minigpt.superposition.sparsity_sweep`). A feature counts as
# represented when its column is longer than the threshold printed:

results = sparsity_sweep()
print(f"represented: ||W_i|| > {REPRESENTED_NORM}; importance I_i = "
      f"{results[0].importance_decay}^i")


def show(a, decimals=2):
    """An array rounded for printing, without "-0.00"."""
    return np.array2string(np.round(a, decimals) + 0.0, precision=decimals, floatmode="fixed")


for r in results:
    m = r.metrics
    print(f"S = {r.sparsity}: {r.n_represented} of {r.n} represented")
    print(f"    angles between neighbouring directions {show(neighbour_angles(r.w), 1)}")
    print(f"    ||W_i|| {show(m.norms)}   D_i {show(m.dimensionality)}")
    print(f"    b       {show(r.b)}")
    assert abs(m.dimensionality.sum() - r.m) < 0.05
dense, sparse = results[0], [r for r in results if r.sparsity >= 0.9]
pairs = [r for r in results if r.n_represented == 4]
assert dense.n_represented == dense.m and all(r.n_represented == r.n for r in sparse)
assert all(np.all(np.abs(neighbour_angles(r.w) - 72) < 8) and np.all(r.b < 0) for r in sparse)
assert pairs and all(np.all(np.abs(neighbour_angles(r.w) - 90) < 5) for r in pairs)

# %%
# Dense features: two are kept, the two most important, at right angles; the other three
# are dropped. As the features get sparser the model first adds two more, as antipodal
# pairs: four directions at right angles, each pair sharing a line and pointing opposite
# ways, so that one feature leaks *negatively* into its partner and the ReLU removes the
# leak. At high sparsity all five are kept, as a regular pentagon: neighbouring directions
# about 72 degrees apart, each feature owning two fifths of a dimension. Neighbours in a
# pentagon leak positively, and the model learns negative biases to filter the leak out.
# Whatever the arrangement, the dimensionalities add up to the two dimensions available.

fig = plot_feature_directions(results)

# %%
# In :math:`W^T W` (with :math:`b` as the last column), the dense model is a clean diagonal
# of two features. The sparse ones have off-diagonal entries, interference that the model
# tolerates because the features rarely fire together.

fig = plot_wtw(results)

# %%
# More features, more dimensions
# ------------------------------
#
# The same with 20 features in 5 dimensions (trained for fewer steps, which changes
# nothing visible here and keeps this page fast): the sparser the features, the more of
# them the model keeps, up to all of them.

bigger = sparsity_sweep((0.0, 0.7, 0.9, 0.97, 0.99), n=20, m=5, steps=2500)
print(f"{'S':>5} {'represented':>11} {'sum D_i':>8} {'loss':>8}")
for r in bigger:
    print(f"{r.sparsity:>5} {r.n_represented:>6} of {r.n} {r.metrics.dimensionality.sum():>8.2f} "
          f"{r.final_loss:>8.4f}")
counts = [r.n_represented for r in bigger]
assert counts[0] == bigger[0].m and counts == sorted(counts) and counts[-1] > 2 * bigger[-1].m

fig, (ax, ax_dim) = plt.subplots(1, 2, figsize=(10, 3.4))
ax.plot([r.sparsity for r in bigger], counts, "o-", label=f"n = {bigger[0].n}, m = {bigger[0].m}")
ax.plot([r.sparsity for r in results], [r.n_represented for r in results], "s-",
        label=f"n = {results[0].n}, m = {results[0].m}")
ax.set_xlabel("sparsity S")
ax.set_ylabel("features represented")
ax.legend(fontsize=8)
for r in bigger:
    dims = r.metrics.dimensionality
    ax_dim.scatter(np.full(np.count_nonzero(dims > 0.05), r.sparsity), dims[dims > 0.05], s=14,
                   color="C0", alpha=0.6)
for level in (1, 1 / 2, 2 / 5, 1 / 3):
    ax_dim.axhline(level, color="0.7", lw=0.8, ls=":")
ax_dim.set_xlabel("sparsity S")
ax_dim.set_ylabel("dimensionality D_i of kept features")
ax_dim.set_title(f"n = {bigger[0].n}, m = {bigger[0].m}", fontsize=9)
fig.tight_layout()

# %%
# The dimensionalities cluster at simple fractions (dotted lines: 1, 1/2, 2/5, 1/3), the
# geometry of small regular shapes, as in the paper. This is the mechanism behind the
# video's caveat: a layer with :math:`m` neurons or dimensions can hold many more than
# :math:`m` features if they are sparse, each a direction that overlaps a little with the
# others, and then no single neuron or axis stands for one feature. The next chapter asks
# the same question of an MLP that stores facts.

# %%
# Exercises
# ---------
#
# 1. Work out the dimensionality :math:`D_i` of a feature in a regular pentagon of unit
#    vectors by hand, and compare it with the printed values at high sparsity.
#
#    .. dropdown:: Solution
#
#       With unit vectors, :math:`D_i = 1 / \sum_j \cos^2\theta_{ij}`, the sum over all
#       five directions including itself: :math:`1 + 2\cos^2 72^\circ + 2\cos^2 144^\circ
#       = 5/2`, so :math:`D_i = 2/5`. The five add up to the two dimensions, as every row
#       of the table does.
#
# 2. Give all five features the same importance (``importance_decay=1.0``) and train the
#    dense model again. Which two does it keep now?
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          from minigpt.superposition import train_toy_model
#
#          equal = train_toy_model(5, 2, sparsity=0.0, importance_decay=1.0, seed=0)
#          print(show(equal.metrics.norms))
#
#       With equal importances nothing singles out a pair: which features win depends on
#       the random start (try other seeds), and the loss no longer prefers one choice.
#
# 3. In the antipodal arrangement, feature :math:`j` leaks *negatively* into its partner
#    :math:`i`. Why does the ReLU make that leak harmless, and why would a positive leak
#    not be?
#
#    .. dropdown:: Solution
#
#       When only :math:`j` is active, :math:`x'_i = \mathrm{ReLU}(W_i \cdot W_j\, x_j
#       + b_i)` with :math:`W_i \cdot W_j < 0`: the argument is negative and the ReLU
#       returns exactly 0, the right answer. A positive overlap would pass through the
#       ReLU as a false reading of :math:`i`, which is why the pentagon, whose neighbours
#       overlap positively, needs the negative biases printed above.
