import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt import gradcheck
from minigpt.superposition.capacity import (
    band_to_cos_tol, capacity_sweep, jl_min_dim, jl_packing_n, max_packing,
    packing_loss_and_grad, plot_capacity, random_packing_n, random_projection_distortion,
    random_unit_vectors, welch_bound, welch_max_n)

RTOL = 1e-6


def max_abs_cos(v):
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    g = np.abs(u @ u.T)
    np.fill_diagonal(g, 0.0)
    return g.max()


def simplex(d):
    """d + 1 unit vectors in d dimensions, all pairs at cos = -1/d (a regular simplex)."""
    e = np.eye(d + 1) - 1.0 / (d + 1)            # centred corners of the (d+1)-cube, rank d
    _, _, vt = np.linalg.svd(e)
    v = e @ vt[:d].T                             # (d + 1, d) coordinates in the span
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# --------------------------------------------------------------------------- JL

@pytest.mark.parametrize("n, eps, expected", [
    (1_000_000, 0.5, 664),     # 4 ln(1e6) / (1/8 - 1/24) = 663.14
    (10_000, 0.1, 7895),       # 4 ln(1e4) / (0.005 - 0.000333) = 7894.58
    (200, 0.3, 589),           # 4 ln(200) / (0.045 - 0.009) = 588.70
    (1, 0.5, 1),               # ln 1 = 0: one point needs no room, but a dimension is >= 1
])
def test_jl_min_dim_known_values(n, eps, expected):
    assert jl_min_dim(n, eps) == expected


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 10**9), eps=st.floats(0.01, 0.99))
def test_jl_min_dim_is_the_smallest_integer_above_the_bound(n, eps):
    bound = 4 * math.log(n) / (eps ** 2 / 2 - eps ** 3 / 3)
    k = jl_min_dim(n, eps)
    assert k - 1 < bound <= k


@pytest.mark.parametrize("n, eps, error", [
    (0, 0.5, ValueError), (-3, 0.5, ValueError), (1.5, 0.5, TypeError), (True, 0.5, TypeError),
    (10, 0.0, ValueError), (10, 1.0, ValueError), (10, 1.5, ValueError),
    (10, float("nan"), ValueError), (10, float("inf"), ValueError), (10, "0.1", TypeError),
])
def test_jl_min_dim_rejects_bad_arguments(n, eps, error):
    with pytest.raises(error, match="n must|eps must"):
        jl_min_dim(n, eps)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_projection_keeps_distances_within_eps_at_the_jl_dimension(seed):
    eps, n, dim = 0.3, 200, 1000
    points = np.random.default_rng([seed, 99]).standard_normal((n, dim))
    k = jl_min_dim(n, eps)
    r = random_projection_distortion(points, k, seed=seed)
    assert r.k == 589 and r.n_pairs == n * (n - 1) // 2
    assert 1 - eps <= r.min_ratio <= r.max_ratio <= 1 + eps, r


def test_random_projection_to_too_few_dimensions_breaks_the_band():
    points = np.random.default_rng(5).standard_normal((200, 1000))
    r = random_projection_distortion(points, 5, seed=0)
    assert r.min_ratio < 0.7 or r.max_ratio > 1.3


def test_random_projection_ratio_matches_explicit_projection():
    rng = np.random.default_rng(3)
    points = rng.standard_normal((4, 6))
    r = random_projection_distortion(points, 3, seed=11)
    proj = np.random.default_rng(11).standard_normal((3, 6)) / np.sqrt(3)
    ratios = [np.sum((proj @ (points[i] - points[j])) ** 2) / np.sum((points[i] - points[j]) ** 2)
              for i in range(4) for j in range(i + 1, 4)]
    np.testing.assert_allclose([r.min_ratio, r.max_ratio], [min(ratios), max(ratios)], rtol=1e-12)


def test_random_projection_skips_identical_points():
    points = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0]])
    assert random_projection_distortion(points, 2).n_pairs == 2


@pytest.mark.parametrize("points, k, error", [
    (np.array([[1.0, np.nan], [0.0, 1.0]]), 2, ValueError),
    (np.array([[1.0, 0.0]]), 2, ValueError),
    (np.ones(3), 2, ValueError),
    ([[1.0, 0.0], [0.0, 1.0]], 2, TypeError),
    (np.eye(2), 0, ValueError),
])
def test_random_projection_rejects_bad_arguments(points, k, error):
    with pytest.raises(error):
        random_projection_distortion(points, k)


# --------------------------------------------------------------------------- Welch

def test_welch_bound_known_values():
    assert welch_bound(10_000, 100) == pytest.approx(math.sqrt(9900 / (100 * 9999)), rel=1e-12)
    assert math.degrees(math.acos(welch_bound(10_000, 100))) == pytest.approx(84.2894, abs=1e-4)
    assert welch_bound(3, 2) == pytest.approx(0.5, rel=1e-12)            # three lines at 60 deg
    assert welch_bound(6, 3) == pytest.approx(1 / math.sqrt(5), rel=1e-12)   # icosahedron's lines
    assert welch_bound(2, 1) == pytest.approx(1.0, rel=1e-12)
    assert welch_bound(100, 100) == 0.0 and welch_bound(1, 5) == 0.0


@pytest.mark.parametrize("d", [2, 3, 7, 20])
def test_welch_bound_is_met_by_the_regular_simplex(d):
    assert max_abs_cos(simplex(d)) == pytest.approx(welch_bound(d + 1, d), rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 60), d=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_no_random_set_beats_the_welch_bound(n, d, seed):
    v = random_unit_vectors(n, d, seed=seed)
    g = v @ v.T
    off = g[~np.eye(n, dtype=bool)]
    w = welch_bound(n, d)
    assert np.max(np.abs(off)) >= w - 1e-12
    assert np.sqrt(np.mean(off ** 2)) >= w - 1e-12     # the root-mean-square form


@pytest.mark.parametrize("n, d", [(0, 3), (3, 0), (-1, 2), (2.0, 3), (3, None)])
def test_welch_bound_rejects_bad_arguments(n, d):
    with pytest.raises((ValueError, TypeError), match="must be"):
        welch_bound(n, d)


def test_welch_max_n_known_values():
    assert welch_max_n(100, band_to_cos_tol(1.0)) == 103.0
    assert welch_max_n(57, band_to_cos_tol(1.0)) == 57.0     # 89-91 degrees: only d fit up to 57
    assert welch_max_n(58, band_to_cos_tol(1.0)) == 59.0     # the simplex: 1/58 < sin(1 deg)
    assert welch_max_n(2, 0.5) == 3.0
    assert welch_max_n(1, 0.9) == 1.0
    assert math.isinf(welch_max_n(20, 0.5))                  # order 1 says nothing when d c^2 >= 1
    assert math.isfinite(welch_max_n(20, 0.5, max_order=16))


@settings(max_examples=40, deadline=None)
@given(d=st.integers(1, 40), c=st.floats(0.01, 0.4))
def test_welch_max_n_is_welch_bound_solved_for_n(d, c):
    n = welch_max_n(d, c)
    if math.isfinite(n):
        n = int(n)
        assert welch_bound(n, d) <= c * (1 + 1e-9)
        assert welch_bound(n + 1, d) > c
    else:
        assert d * c * c >= 1 - 1e-12
    assert welch_max_n(d, c, max_order=8) <= n


@pytest.mark.parametrize("d, c, order, error", [
    (0, 0.5, 1, ValueError), (3, 0.0, 1, ValueError), (3, 1.0, 1, ValueError),
    (3, float("nan"), 1, ValueError), (3, 0.5, 0, ValueError), (3.0, 0.5, 1, TypeError),
])
def test_welch_max_n_rejects_bad_arguments(d, c, order, error):
    with pytest.raises(error):
        welch_max_n(d, c, max_order=order)


# --------------------------------------------------------------------------- random sets

def test_jl_packing_n_formula():
    assert jl_packing_n(100, 0.5) == math.floor(math.exp(100 * 0.25 / 4))
    assert jl_packing_n(3, 0.1) == 1.0
    assert math.isinf(jl_packing_n(10**6, 0.9))


def test_random_sets_of_the_guaranteed_size_often_meet_the_tolerance():
    d, c = 60, 0.5
    n = int(jl_packing_n(d, c))                              # e^3.75 = 42
    rng = np.random.default_rng(0)
    ok = [max_abs_cos(random_unit_vectors(n, d, rng=rng)) <= c for _ in range(20)]
    assert n == 42 and sum(ok) >= 10


def test_random_packing_n_grows_with_dimension():
    c = 0.5
    small, large = random_packing_n(3, c, seed=0), random_packing_n(40, c, seed=0)
    assert 1 <= small < large


def test_random_unit_vectors_are_unit_and_seeded():
    a = random_unit_vectors(5, 7, seed=3, dtype=np.float32)
    assert a.dtype == np.float32 and a.shape == (5, 7)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(a, random_unit_vectors(5, 7, seed=3, dtype=np.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        random_unit_vectors(2, 2, dtype=np.int64)


# --------------------------------------------------------------------------- packing

@pytest.mark.parametrize("shape", [(6, 3), (3, 5, 2)])
def test_packing_gradient_matches_finite_differences(shape):
    rng = np.random.default_rng(7)
    target = 0.3
    while True:                                  # keep every |G_ij| clear of the kink
        v = rng.standard_normal(shape) * 0.6
        g = v @ np.swapaxes(v, -1, -2)
        if np.min(np.abs(np.abs(g) - target)) > 1e-3:
            break
    loss, dv = packing_loss_and_grad(v, target)
    result = gradcheck(lambda v: packing_loss_and_grad(v, target)[0], [v], [dv], rtol=RTOL)
    assert result.ok, result
    assert loss > 0


def test_packing_loss_matches_explicit_sum():
    rng = np.random.default_rng(1)
    v = rng.standard_normal((5, 3))
    g = v @ v.T
    expected = sum(max(abs(g[i, j]) - 0.2, 0.0) ** 2 for i in range(5) for j in range(5) if i != j)
    assert packing_loss_and_grad(v, 0.2)[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("d, band, expected", [(2, 35.0, 3), (3, 35.0, 6), (4, 10.0, 4)])
def test_max_packing_small_cases(d, band, expected):
    c = band_to_cos_tol(band)
    r = max_packing(d, c, seed=0)
    assert r.n == expected
    assert r.vectors.shape == (r.n, d)
    np.testing.assert_allclose(np.linalg.norm(r.vectors, axis=1), 1.0, rtol=1e-12)
    assert max_abs_cos(r.vectors) <= c and r.max_abs_cos <= c


def test_max_packing_at_89_to_91_degrees_in_100_dimensions():
    c = band_to_cos_tol(1.0)
    r = max_packing(100, c, seed=0)
    assert 101 <= r.n <= welch_max_n(100, c) == 103       # nowhere near 10,000
    assert max_abs_cos(r.vectors) <= c


def test_max_packing_never_exceeds_the_welch_bound():
    c = band_to_cos_tol(20.0)
    for d in (2, 3, 5):
        r = max_packing(d, c, seed=1)
        assert d <= r.n <= welch_max_n(d, c, max_order=32)


@pytest.mark.parametrize("kwargs", [
    dict(d=0, cos_tol=0.5), dict(d=3, cos_tol=0.0), dict(d=3, cos_tol=1.2),
    dict(d=3, cos_tol=float("inf")), dict(d=3, cos_tol=0.5, steps=0),
])
def test_max_packing_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="must be"):
        max_packing(**kwargs)


def test_band_to_cos_tol():
    assert band_to_cos_tol(1.0) == pytest.approx(math.cos(math.radians(89.0)), rel=1e-12)
    assert band_to_cos_tol(30.0) == pytest.approx(0.5, rel=1e-12)
    for bad in (0.0, 90.0, -5.0, float("nan")):
        with pytest.raises(ValueError, match="band_deg"):
            band_to_cos_tol(bad)


def test_capacity_sweep_rows_and_bounds():
    rows = capacity_sweep(dims=[2, 3, 4], bands_deg=[35.0, 10.0], random_trials=5)
    assert [(r.band_deg, r.d) for r in rows] == [(35.0, 2), (35.0, 3), (35.0, 4),
                                                 (10.0, 2), (10.0, 3), (10.0, 4)]
    for r in rows:
        assert r.d <= r.n_found <= r.n_welch
        assert r.max_abs_cos <= r.cos_tol
        assert r.n_random >= 1 and r.n_jl >= 1
    wide = [r.n_found for r in rows if r.band_deg == 35.0]
    assert wide == sorted(wide) and wide[-1] > 2 * 4              # more than d at the wide band
    json.dumps([r.to_dict() for r in rows])


def test_plot_capacity_makes_a_figure():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    rows = capacity_sweep(dims=[2, 3], bands_deg=[35.0], random_trials=3)
    fig = plot_capacity(rows)
    assert fig.axes[0].get_yscale() == "log"
    import matplotlib.pyplot as plt
    plt.close(fig)
