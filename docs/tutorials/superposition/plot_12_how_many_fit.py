"""
12. How many fit
================

*In the video:* :video:`17:04`.

In :math:`d` dimensions exactly :math:`d` directions can be perpendicular. The video's
real point is what happens when "nearly" is good enough: the number of directions that
are all within some tolerance of perpendicular then grows *exponentially* with :math:`d`,
a consequence of the :term:`Johnson-Lindenstrauss lemma`, and that could be why large models hold
so many more features than they have dimensions. The last chapter showed that one
particular tolerance, 89 to 91 degrees, is out of reach at the video's size. This one
measures the growth itself: how many directions fit for a range of tolerances and
dimensions, found by optimization and bracketed by what random directions guarantee and
what no arrangement can exceed.
"""

# %%
# The equations
# -------------
#
# Write the tolerance as :math:`|\cos\theta_{ij}| \le c` for every pair; "within
# :math:`90 \pm b` degrees" is :math:`c = \sin b`.
#
# **Johnson-Lindenstrauss** (in the form of Dasgupta and Gupta): a random projection to
# :math:`k` dimensions keeps all squared distances among :math:`n` points within a factor
# :math:`1 \pm \epsilon` once
#
# .. math::
#
#     k \;\ge\; \frac{4 \ln n}{\epsilon^2 / 2 - \epsilon^3 / 3} .
#
# Read backwards, :math:`k` dimensions hold :math:`e^{\Theta(\epsilon^2 k)}` points. The
# same concentration gives a direct count for directions: two random unit vectors have
# :math:`P(|\cos\theta| > c) \le 2 e^{-d c^2 / 2}`, so by a union bound over pairs some
# choice of
#
# .. math::
#
#     n \;=\; \left\lfloor e^{\,d c^2 / 4} \right\rfloor
#
# random directions meets the tolerance. **Welch's bounds** of order :math:`k` cap every
# arrangement: with :math:`B_k = \binom{d + k - 1}{k}` and :math:`t = c^{2k}`, whenever
# :math:`t B_k < 1`,
#
# .. math::
#
#     n \;\le\; \frac{B_k (1 - t)}{1 - t B_k} .
#
# The code
# --------
#
# .. literalinclude:: /../minigpt/superposition/capacity/jl.py
#    :pyobject: jl_min_dim
#    :no-docstring:
#    :caption: minigpt/superposition/capacity/jl.py
#
# .. literalinclude:: /../minigpt/superposition/capacity/random_packing.py
#    :pyobject: jl_packing_n
#    :no-docstring:
#    :caption: minigpt/superposition/capacity/random_packing.py
#
# .. literalinclude:: /../minigpt/superposition/capacity/welch.py
#    :pyobject: welch_max_n
#    :no-docstring:
#    :caption: minigpt/superposition/capacity/welch.py
#
# The search for large sets minimizes a squared hinge on every dot product beyond the
# target (:func:`~minigpt.superposition.packing_loss_and_grad`), with Adam, keeping the
# vectors on the unit sphere:
#
# .. literalinclude:: /../minigpt/superposition/capacity/packing.py
#    :pyobject: _packing_step
#    :no-docstring:
#    :caption: minigpt/superposition/capacity/packing.py

import math

import matplotlib.pyplot as plt
import numpy as np

import minigpt as mg
from minigpt.superposition import (
    band_to_cos_tol,
    capacity_sweep,
    jl_min_dim,
    jl_packing_n,
    plot_capacity,
    random_projection_distortion,
    welch_max_n,
)
from minigpt.superposition.capacity import WELCH_ORDERS

# %%
# Johnson-Lindenstrauss, checked
# ------------------------------
#
# Take 300 random points in 1,000 dimensions, project them at random to :math:`k`
# dimensions (:func:`~minigpt.superposition.random_projection_distortion`), and measure
# the worst stretch or shrink of a squared distance among all pairs
# (:class:`~minigpt.superposition.ProjectionDistortion`). At the :math:`k` the
# lemma asks for, both must stay within :math:`1 \pm \epsilon`:

rng = np.random.default_rng(0)
N_POINTS, D_POINTS = 300, 1000
points = rng.standard_normal((N_POINTS, D_POINTS))  # (n, D)
print(f"{'eps':>5} {'k (JL)':>7} {'min ratio':>10} {'max ratio':>10}  within 1 +/- eps")
for eps in (0.5, 0.3, 0.2):
    k = jl_min_dim(N_POINTS, eps)
    r = random_projection_distortion(points, k, seed=1)
    ok = 1 - eps <= r.min_ratio and r.max_ratio <= 1 + eps
    print(f"{eps:>5} {k:>7} {r.min_ratio:>10.3f} {r.max_ratio:>10.3f}  {ok}")
    assert ok

ks = np.unique(np.geomspace(8, 1000, 9).astype(int))
worst = []
for k in ks:
    r = random_projection_distortion(points, int(k), seed=1)
    worst.append(max(1 - r.min_ratio, r.max_ratio - 1))
eps_grid = np.linspace(0.12, 0.95, 40)
fig, ax = plt.subplots(figsize=(6.5, 3.4))
ax.plot(ks, worst, "o-", label=f"measured worst distortion, {N_POINTS} points")
ax.plot([jl_min_dim(N_POINTS, e) for e in eps_grid], eps_grid, "--",
        label="Johnson-Lindenstrauss guarantee")
ax.set_xscale("log")
ax.set_xlabel("target dimension k")
ax.set_ylabel("worst |ratio - 1| of squared distances")
ax.set_title(f"random projections of {N_POINTS} points from {D_POINTS} dimensions")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The guarantee is conservative: the measured distortion sits below it. Nothing in
# the formula depends on the original dimension, only on the number of points.
#
# How many directions fit, measured
# ---------------------------------
#
# :func:`~minigpt.superposition.capacity_sweep` does, for a range of small :math:`d` and
# four tolerances: search for the largest set of unit vectors it can find with every
# :math:`|\cos| \le c` (:func:`~minigpt.superposition.max_packing`, doubling the size after
# each success and bisecting after a failure), draw random directions until two break the
# tolerance (:func:`~minigpt.superposition.random_packing_n`, median over trials), and put
# the union bound and the best Welch bound (orders 1 to the number printed) beside them:

rows = capacity_sweep()
print(f"Welch orders used: 1 to {WELCH_ORDERS}")
print(f"{'band':>9} {'d':>3} {'found':>6} {'max|cos|':>9} {'random':>7} {'union bd':>9} "
      f"{'Welch':>8}")


def band_label(band):
    """'80-100°' for a band of 10 degrees around 90."""
    return f"{90 - band:g}-{90 + band:g}°"


for r in rows:
    welch = f"{r.n_welch:.0f}" if math.isfinite(r.n_welch) else "none"
    print(f"{band_label(r.band_deg):>9} {r.d:>3} {r.n_found:>6} "
          f"{r.max_abs_cos:>9.4f} {r.n_random:>7.1f} {r.n_jl:>9.0f} {welch:>8}")
    assert r.n_found >= r.d and r.max_abs_cos <= r.cos_tol
    assert not r.n_found > r.n_welch

fig = plot_capacity(rows)

# %%
# Every set found is a certificate (its vectors are kept in the
# :class:`~minigpt.superposition.PackingResult`), and none exceeds
# its Welch bound. Directions per dimension at the largest :math:`d`, for each tolerance:

bands = sorted({r.band_deg for r in rows}, reverse=True)
per_dim = {}
for band in bands:
    top = max((r for r in rows if r.band_deg == band), key=lambda r: r.d)
    per_dim[band] = top.n_found / top.d
    print(f"{band_label(band):>9} (c = {top.cos_tol:.3f}), d = {top.d}: found {top.n_found} "
          f"({per_dim[band]:.1f} per dimension);")
    print(f"{'':>9} Welch allows at most {top.n_welch:.0f} ({top.n_welch / top.d:.1f} per "
          f"dimension)")
assert per_dim[bands[0]] > 4 and per_dim[bands[-1]] == 1.0 == top.n_welch / top.d
widest = sorted((r for r in rows if r.band_deg == bands[0]), key=lambda r: r.d)
assert np.all(np.diff([r.n_found for r in widest], n=2) >= 0)  # the steps keep growing

# %%
# The widest tolerance packs many times more directions than dimensions already at the
# largest :math:`d` of the sweep, and both the sets found and the Welch bound outgrow
# :math:`d` faster and faster. The narrowest stays at :math:`n = d` at these small
# :math:`d`, where the Welch bound itself allows no more. The union bound is no help this
# small: its rate per dimension, :math:`e^{c^2/4}`, depends on the *square* of the
# tolerance, which is what makes "89 to 91 degrees" so demanding.
#
# At the width of GPT-3
# ---------------------
#
# The bounds cost nothing to evaluate at any size. At GPT-3's width, how many directions
# can certainly be had, and how many could any arrangement hold, for the video's band and
# for wider ones? Certainly :math:`d`: the axes themselves are exactly perpendicular.
# Random directions guarantee more only once the union bound's count passes :math:`d`; the
# table gives the larger of the two, and says which it is.

d_gpt3 = mg.gpt3_config("175B").d_model
print(f"d = {d_gpt3:,}")
print(f"{'band':>9} {'c':>7} {'at least':>10}  {'from':<28} {'Welch: at most':>16}")
for band in (1.0, 2.0, 5.0, 10.0):
    c = band_to_cos_tol(band)
    random_n = jl_packing_n(d_gpt3, c)
    high = welch_max_n(d_gpt3, c, max_order=WELCH_ORDERS)
    high_text = f"{high:.3g}" if math.isfinite(high) else f"no bound (k <= {WELCH_ORDERS})"
    if random_n > d_gpt3:
        low, source = f"{random_n:.3g}", "random directions"
    else:
        low, source = f"{d_gpt3:,}", f"the axes (random: {random_n:.3g})"
    print(f"{band_label(band):>9} {c:>7.4f} {low:>10}  {source:<28} {high_text:>16}")
print(f"dimensions per factor e for 89-91 degrees: 4 / c^2 = {4 / band_to_cos_tol(1.0) ** 2:,.0f}")

# %%
# Both halves of the video's claim hold, once stated with care. The number of nearly
# perpendicular directions does grow exponentially with the dimension, at a rate set by
# the square of the tolerance. For a band as narrow as 89-91 degrees it takes the number
# of dimensions printed above to gain one factor :math:`e`, so at GPT-3's width the
# union bound guarantees fewer random directions in that band than the axes already
# give; a few degrees wider, and the guaranteed count is astronomically larger than the
# width. Whether a model *uses* that
# room is a different question, which the next chapters take up.
#
# Exercises
# ---------
#
# 1. How many dimensions does the Johnson-Lindenstrauss lemma ask for 10,000 points at
#    :math:`\epsilon = 0.1`, and for a million points? Why does the original dimension
#    not matter?
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          print(jl_min_dim(10_000, 0.1), jl_min_dim(1_000_000, 0.1))
#
#       The bound grows with :math:`\ln n`: a hundred times more points adds only a
#       constant. It holds for any original dimension because a random projection of
#       one fixed vector concentrates its length whatever the dimension it came from.
#
# 2. For the video's band, :math:`c = \sin 1^\circ`, at what width :math:`d` does the
#    union bound's :math:`e^{d c^2 / 4}` first exceed :math:`d` itself?
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          c = band_to_cos_tol(1.0)
#          d = next(d for d in range(1, 10**7) if jl_packing_n(d, c) > d)
#          print(d)
#
#       Far beyond GPT-3's width: below it, the axes beat random choice, as the
#       table above shows at :math:`d = 12{,}288`.
#
# 3. Why does the table print "no bound" for the wide bands at GPT-3's width?
#
#    .. dropdown:: Solution
#
#       Welch's bound of order :math:`k` applies only when :math:`t B_k < 1`, with
#       :math:`t = c^{2k}` and :math:`B_k = \binom{d+k-1}{k}`. For a wide band and a
#       large :math:`d`, :math:`B_k` outgrows :math:`c^{-2k}` at every order up to the
#       largest tried, so none of the bounds says anything: the capacity there is beyond
#       what these bounds can cap.
