import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt import gradcheck
from minigpt.superposition.capacity import random_unit_vectors, welch_bound
from minigpt.superposition.perpendicular import (
    angle_stats, nearly_perpendicular, parallel_groups, perpendicular_loss_and_grad, plot_angles)

RTOL = 1e-6
KINK_MARGIN = 1e-4   # keep |G_ij - delta_ij| this far from the cutoff in gradient checks


def dense_loss(v, cutoff):
    """The video's loss written out on the full Gram matrix, as its torch script does."""
    n = v.shape[0]
    diff = v @ v.T - np.eye(n)
    return np.sum(np.maximum(np.abs(diff) - cutoff, 0.0)) + n * np.sum(np.diag(diff) ** 2)


def dense_grad(v, cutoff):
    n = v.shape[0]
    diff = v @ v.T - np.eye(n)
    s = np.sign(diff) * (np.abs(diff) > cutoff) + 2 * n * np.diag(np.diag(diff))
    return (s + s.T) @ v


def generic_point(rng, n, d, cutoff):
    """Random vectors none of whose |G_ij - delta_ij| sits within KINK_MARGIN of the cutoff."""
    while True:
        v = rng.standard_normal((n, d)) * rng.uniform(0.3, 1.0)
        diff = np.abs(v @ v.T - np.eye(n))
        if np.min(np.abs(diff - cutoff)) > KINK_MARGIN:
            return v


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 12), d=st.integers(1, 6), block=st.integers(1, 13),
       seed=st.integers(0, 2**16))
def test_tiled_loss_and_grad_match_the_dense_computation(n, d, block, seed):
    rng = np.random.default_rng(seed)
    v = generic_point(rng, n, d, 0.2)
    loss, dv = perpendicular_loss_and_grad(v, 0.2, block=block)
    assert loss == pytest.approx(dense_loss(v, 0.2), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(dv, dense_grad(v, 0.2), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n, d, block, cutoff", [(7, 3, 3, 0.3), (9, 4, 4, 0.01), (5, 2, 10, 0.5)])
def test_gradient_matches_finite_differences(n, d, block, cutoff):
    v = generic_point(np.random.default_rng(n), n, d, cutoff)
    _, dv = perpendicular_loss_and_grad(v, cutoff, block=block)
    result = gradcheck(lambda v: perpendicular_loss_and_grad(v, cutoff, block=block)[0], [v], [dv],
                       rtol=RTOL)
    assert result.ok, result


def test_loss_of_perpendicular_unit_vectors_is_zero():
    loss, dv = perpendicular_loss_and_grad(np.eye(4, 6), 0.01, block=3)
    assert loss == 0.0 and not np.any(dv)


def test_float32_stays_float32_and_agrees_with_float64():
    v = random_unit_vectors(300, 20, seed=0)
    loss64, dv64 = perpendicular_loss_and_grad(v, block=128)
    loss32, dv32 = perpendicular_loss_and_grad(v.astype(np.float32), block=128)
    assert dv32.dtype == np.float32
    assert loss32 == pytest.approx(loss64, rel=1e-4)
    # entries whose |G| sits within float32 rounding of the cutoff may flip their sign term
    assert np.mean(np.abs(dv32 - dv64) <= 1e-3 * np.abs(dv64).max()) > 0.99


@pytest.mark.parametrize("v, kwargs, error", [
    (np.array([[np.inf, 0.0]]), {}, ValueError),
    (np.ones(3), {}, ValueError),
    ([[1.0, 0.0]], {}, TypeError),
    (np.eye(2), {"cutoff": -0.1}, ValueError),
    (np.eye(2), {"cutoff": float("nan")}, ValueError),
    (np.eye(2), {"block": 0}, ValueError),
])
def test_loss_rejects_bad_arguments(v, kwargs, error):
    with pytest.raises(error, match="must"):
        perpendicular_loss_and_grad(v, **kwargs)


# --------------------------------------------------------------------------- angle statistics

@pytest.mark.parametrize("block", [7, 50, 1000])
def test_angle_stats_match_brute_force(block):
    v = random_unit_vectors(60, 5, seed=2) * np.random.default_rng(0).uniform(0.5, 2, (60, 1))
    s = angle_stats(v, block=block, resolution_deg=0.01)
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    i, j = np.triu_indices(60, k=1)
    cos = np.clip(np.sum(u[i] * u[j], axis=1), -1, 1)
    angles = np.degrees(np.arccos(cos))
    assert s.n_pairs == len(angles) == int(s.histogram.sum())
    assert s.min_deg == pytest.approx(angles.min(), abs=1e-9)
    assert s.max_deg == pytest.approx(angles.max(), abs=1e-9)
    assert s.max_abs_cos == pytest.approx(np.abs(cos).max(), abs=1e-12)
    assert s.rms_cos == pytest.approx(np.sqrt(np.mean(cos ** 2)), rel=1e-12)
    assert s.share_in_band == np.mean((angles >= 89) & (angles <= 91))
    for q, value in s.percentiles_deg.items():
        exact = np.percentile(angles, q, method="inverted_cdf")
        assert abs(value - exact) <= s.resolution_deg / 2 + 1e-9, (q, value, exact)
    assert s.share_between(0, 180) == 1.0
    edges, counts = s.binned(0, 180, bin_deg=1.0)
    assert len(edges) == 181 and counts.sum() == s.n_pairs


def test_angle_stats_of_a_random_start_are_near_90_with_rms_cos_near_one_over_sqrt_d():
    s = angle_stats(random_unit_vectors(2000, 100, seed=0))
    assert abs(s.percentiles_deg[50.0] - 90.0) < 0.2
    assert s.rms_cos == pytest.approx(0.1, rel=0.02)      # E cos^2 = 1/d for random directions
    assert s.rms_cos >= welch_bound(2000, 100)


@pytest.mark.parametrize("v, kwargs", [
    (np.eye(1, 3), {}),
    (np.array([[1.0, 0.0], [0.0, 0.0]]), {}),
    (np.eye(3), {"band_deg": (91.0, 89.0)}),
    (np.eye(3), {"resolution_deg": 0.0}),
])
def test_angle_stats_rejects_bad_arguments(v, kwargs):
    with pytest.raises(ValueError, match="must|need"):
        angle_stats(v, **kwargs)


def test_parallel_groups_finds_planted_lines():
    rng = np.random.default_rng(0)
    axes = np.eye(4)
    members = rng.integers(0, 4, size=40)
    signs = rng.choice([-1.0, 1.0], size=(40, 1))
    v = signs * (axes[members] + 0.05 * rng.standard_normal((40, 4)))
    labels = parallel_groups(v, block=7)
    assert labels.max() + 1 == 4
    for k in range(4):                      # the same grouping, up to renaming
        assert len(set(labels[members == k])) == 1
    assert labels[0] == 0
    assert len(set(parallel_groups(random_unit_vectors(50, 20, seed=1)))) == 50


def test_parallel_groups_rejects_low_thresholds():
    with pytest.raises(ValueError, match="min_abs_cos"):
        parallel_groups(np.eye(3), 0.1)


# --------------------------------------------------------------------------- the experiment

def test_claim_holds_when_the_vectors_fit_perpendicular():
    r = nearly_perpendicular(n=5, d=10, steps=250)
    assert r.claim_holds and r.welch_cos == 0.0
    assert 89.0 <= r.after.min_deg and r.after.max_deg <= 91.0
    assert r.verdict.startswith("Holds")


def test_crowded_vectors_collapse_onto_d_perpendicular_lines():
    n, d = 300, 3
    r = nearly_perpendicular(n=n, d=d, steps=250, seed=0)
    assert not r.claim_holds and r.verdict.startswith("Does not hold")
    assert r.losses[-1] < 0.7 * r.losses[0]
    assert r.n_lines == d and r.n_on_lines == n         # d lines, each holding many vectors
    assert r.largest_line > n / (2 * d)
    assert r.after.max_abs_cos >= r.welch_cos and r.after.rms_cos >= r.welch_cos
    assert r.after.min_deg < 10.0 and r.after.max_deg > 170.0
    # pairs within a line (about n^2 / 2d of them) are the ones outside the band
    within = 1.0 - r.after.share_in_band
    assert within == pytest.approx(r.share_outside_plot, abs=0.01)
    assert within == pytest.approx((n / d - 1) / (n - 1), rel=0.15)


def test_result_reports_welch_and_serializes():
    r = nearly_perpendicular(n=200, d=10, steps=20, seed=1)
    assert r.welch_angle_deg == pytest.approx(math.degrees(math.acos(welch_bound(200, 10))))
    assert r.dtype == "float32" and r.vectors.dtype == np.float32 and r.losses.shape == (20,)
    assert r.before.n_pairs == r.after.n_pairs == 200 * 199 // 2
    d = json.loads(json.dumps(r.to_dict()))
    assert set(d["after"]["percentiles_deg"]) == {"0.1", "1.0", "50.0", "99.0", "99.9"}


def test_same_seed_same_run():
    a = nearly_perpendicular(n=50, d=5, steps=10, seed=3, dtype=np.float64)
    b = nearly_perpendicular(n=50, d=5, steps=10, seed=3, dtype=np.float64)
    np.testing.assert_array_equal(a.vectors, b.vectors)


def test_blas_thread_limit_changes_nothing_but_speed():
    a = nearly_perpendicular(n=60, d=6, steps=10, seed=2, dtype=np.float64, blas_threads=None)
    b = nearly_perpendicular(n=60, d=6, steps=10, seed=2, dtype=np.float64, blas_threads=1)
    np.testing.assert_allclose(a.vectors, b.vectors, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kwargs, error", [
    (dict(n=1), ValueError), (dict(n=0), ValueError), (dict(d=0), ValueError),
    (dict(n=10.0), TypeError), (dict(steps=0), ValueError), (dict(lr=-1.0), ValueError),
    (dict(lr=float("nan")), ValueError), (dict(blas_threads=0), ValueError),
])
def test_experiment_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error, match="must be"):
        nearly_perpendicular(**{"n": 10, "d": 3, "steps": 1, **kwargs})


def test_plot_angles_makes_a_figure():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plot_angles(nearly_perpendicular(n=100, d=10, steps=5))
    assert len(fig.axes) == 3 and fig.axes[1].get_yscale() == "log"
    plt.close(fig)
