import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt import gradcheck
from minigpt.superposition.toy_model import (
    feature_metrics, importance_mse_backward, importance_mse_forward, importance_sweep,
    importance_weights, init_toy_params, neighbour_angles, plot_feature_directions, plot_wtw,
    sample_features, sparsity_sweep, toy_backward, toy_forward, toy_loss_and_grads,
    train_toy_model)
from tests.helpers import check_op

RTOL = 1e-6
TRAIN_STEPS = 3000      # enough for the n=5, m=2 geometry to settle (about 2 s)


def generic_toy_inputs(rng, B, n, m):
    """Inputs whose pre-activations stay clear of the ReLU's kink at 0."""
    while True:
        x = rng.random((B, n))
        w = rng.standard_normal((m, n))
        b = rng.standard_normal(n) * 0.3
        pre = (x @ w.T) @ w + b
        if np.min(np.abs(pre)) > 1e-3:
            return x, w, b


# --------------------------------------------------------------------------- forward, backward

@settings(max_examples=25, deadline=None)
@given(B=st.integers(1, 6), n=st.integers(1, 6), m=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_toy_backward_matches_finite_differences(B, n, m, seed):
    rng = np.random.default_rng(seed)
    check_op(toy_forward, toy_backward, list(generic_toy_inputs(rng, B, n, m)), seed=seed)


def test_toy_forward_matches_per_example_formula():
    rng = np.random.default_rng(0)
    x, w, b = rng.random((4, 5)), rng.standard_normal((2, 5)), rng.standard_normal(5)
    x_hat, _ = toy_forward(x, w, b)
    expected = np.stack([np.maximum(w.T @ (w @ xi) + b, 0.0) for xi in x])   # ReLU(W^T W x + b)
    np.testing.assert_allclose(x_hat, expected, rtol=1e-12)


def test_importance_mse_matches_formula_and_finite_differences():
    rng = np.random.default_rng(1)
    x_hat, x = rng.random((6, 4)), rng.random((6, 4))
    importance = importance_weights(4, 0.7, np.float64)
    loss, cache = importance_mse_forward(x_hat, x, importance)
    assert loss == pytest.approx(np.mean(np.sum(importance * (x - x_hat) ** 2, axis=1)), rel=1e-12)
    dx_hat = importance_mse_backward(1.0, cache)
    result = gradcheck(lambda x_hat: importance_mse_forward(x_hat, x, importance)[0], [x_hat],
                       [dx_hat], rtol=RTOL)
    assert result.ok, result


def test_toy_loss_and_grads_match_finite_differences():
    rng = np.random.default_rng(2)
    x, w, b = generic_toy_inputs(rng, 8, 5, 2)
    importance = importance_weights(5, 0.9, np.float64)
    params = {"w": w, "b": b}
    _, grads = toy_loss_and_grads(params, x, importance)

    def loss(w, b):
        return toy_loss_and_grads({"w": w, "b": b}, x, importance)[0]

    result = gradcheck(loss, [w, b], [grads["w"], grads["b"]], rtol=RTOL)
    assert result.ok, result


def test_float32_stays_float32():
    params = init_toy_params(5, 2, seed=0, dtype=np.float32)
    x = sample_features(16, 5, 0.5, np.random.default_rng(0), np.float32)
    loss, grads = toy_loss_and_grads(params, x, importance_weights(5, 0.9, np.float32))
    assert all(g.dtype == np.float32 for g in grads.values())
    assert isinstance(loss, float)


# --------------------------------------------------------------------------- data and metrics

def test_sample_features_sparsity_and_range():
    x = sample_features(20000, 5, 0.9, np.random.default_rng(0))
    assert np.mean(x > 0) == pytest.approx(0.1, abs=0.01)
    assert x.min() >= 0.0 and x.max() < 1.0
    dense = sample_features(1000, 5, 0.0, np.random.default_rng(0))
    assert np.mean(dense > 0) > 0.999


@pytest.mark.parametrize("sparsity", [1.0, -0.1, 1.5, float("nan"), float("inf")])
def test_sample_features_rejects_bad_sparsity(sparsity):
    with pytest.raises(ValueError, match=r"sparsity must be a finite number in \[0.0, 1.0\)"):
        sample_features(4, 3, sparsity, np.random.default_rng(0))


def test_importance_weights():
    np.testing.assert_allclose(importance_weights(4, 0.7, np.float64), [1, 0.7, 0.49, 0.343])
    with pytest.raises(ValueError, match="decay"):
        importance_weights(3, 0.0)
    with pytest.raises(ValueError, match="decay"):
        importance_weights(3, 1.1)
    with pytest.raises(ValueError, match="n must"):
        importance_weights(0, 0.5)


def test_feature_metrics_of_known_geometries():
    axes = feature_metrics(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))  # one feature dropped
    np.testing.assert_allclose(axes.norms, [1, 1, 0])
    np.testing.assert_allclose(axes.interference, [0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(axes.dimensionality, [1, 1, 0])
    pair = feature_metrics(np.array([[1.0, -1.0]]))                        # an antipodal pair
    np.testing.assert_allclose(pair.dimensionality, [0.5, 0.5])
    np.testing.assert_allclose(pair.interference, [1.0, 1.0])
    angles = 2 * np.pi * np.arange(5) / 5
    pentagon = feature_metrics(np.stack([np.cos(angles), np.sin(angles)]))
    np.testing.assert_allclose(pentagon.dimensionality, 0.4, rtol=1e-12)
    # each direction sees the other four at 72 and 144 degrees: 2 cos^2 72 + 2 cos^2 144
    expected = 2 * np.cos(np.radians(72)) ** 2 + 2 * np.cos(np.radians(144)) ** 2
    np.testing.assert_allclose(pentagon.interference, expected, rtol=1e-12)


def test_neighbour_angles():
    angles = np.radians([0, 72, 144, 216, 288])
    w = np.stack([np.cos(angles), np.sin(angles)])
    np.testing.assert_allclose(neighbour_angles(w), 72.0, rtol=1e-12)
    assert neighbour_angles(np.zeros((2, 3))).size == 0
    assert neighbour_angles(np.array([[1.0], [0.0]])).size == 0  # one direction: no angle


def test_neighbour_angles_leave_out_the_empty_side_of_the_circle():
    for theta in (90.0, 100.0, 260.0):  # two directions: the one angle between them
        t = np.radians([0.0, theta])
        angles = neighbour_angles(np.stack([np.cos(t), np.sin(t)]))
        np.testing.assert_allclose(angles, [min(theta, 360.0 - theta)], atol=1e-9)
    t = np.radians([0.0, 60.0, 120.0])  # three on one side: the 240-degree gap is no angle
    np.testing.assert_allclose(neighbour_angles(np.stack([np.cos(t), np.sin(t)])), [60.0, 60.0])
    with pytest.raises(ValueError, match="2-dimensional"):
        neighbour_angles(np.ones((3, 4)))


# --------------------------------------------------------------------------- the paper's results

@pytest.mark.parametrize("seed", [0, 1])
def test_dense_features_keep_the_two_most_important_orthogonally(seed):
    r = train_toy_model(5, 2, sparsity=0.0, importance_decay=0.9, steps=TRAIN_STEPS, seed=seed)
    assert r.n_represented == 2
    assert np.all(r.metrics.norms[:2] > 0.5) and np.all(r.metrics.norms[2:] < 0.1)
    np.testing.assert_allclose(neighbour_angles(r.w), [90.0], atol=3.0)
    np.testing.assert_allclose(r.metrics.dimensionality[:2], 1.0, atol=0.05)


@pytest.mark.parametrize("sparsity, seed", [(0.9, 0), (0.9, 1), (0.95, 2)])
def test_sparse_features_are_all_kept_as_a_pentagon(sparsity, seed):
    r = train_toy_model(5, 2, sparsity=sparsity, importance_decay=0.9, steps=TRAIN_STEPS, seed=seed)
    assert r.n_represented == 5
    gaps = neighbour_angles(r.w)
    assert gaps.shape == (5,)
    np.testing.assert_allclose(gaps, 72.0, atol=8.0)
    np.testing.assert_allclose(r.metrics.dimensionality, 0.4, atol=0.05)
    assert np.all(r.b < 0)          # negative biases filter the small interference out


def test_sparsity_sweep_represents_more_features_as_sparsity_grows():
    results = sparsity_sweep([0.0, 0.7, 0.95], n=5, m=2, steps=2000, seed=0)
    counts = [r.n_represented for r in results]
    assert counts[0] == 2 and counts[-1] == 5 and counts == sorted(counts)
    assert results[0].final_loss > results[-1].final_loss
    json.dumps([r.to_dict() for r in results])


def test_importance_sweep_returns_one_model_per_decay():
    results = importance_sweep([1.0, 0.5], n=4, m=2, sparsity=0.0, steps=1500, seed=0)
    assert [r.importance_decay for r in results] == [1.0, 0.5]
    # with r = 0.5 the two kept features are the two most important ones
    assert set(np.flatnonzero(results[1].metrics.norms > 0.5)) == {0, 1}


def test_training_is_seeded():
    a = train_toy_model(5, 2, sparsity=0.5, steps=100, seed=4)
    b = train_toy_model(5, 2, sparsity=0.5, steps=100, seed=4)
    np.testing.assert_array_equal(a.w, b.w)
    assert a.losses.shape == (2,)


@pytest.mark.parametrize("kwargs, error", [
    (dict(n=0), ValueError), (dict(m=0), ValueError), (dict(n=2.5), TypeError),
    (dict(sparsity=1.0), ValueError), (dict(sparsity=-0.5), ValueError),
    (dict(sparsity=float("nan")), ValueError), (dict(importance_decay=0.0), ValueError),
    (dict(steps=0), ValueError), (dict(lr=float("inf")), ValueError),
])
def test_train_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error, match="must be"):
        train_toy_model(**{"steps": 1, **kwargs})


def test_feature_metrics_rejects_non_finite_weights():
    with pytest.raises(ValueError, match="finite"):
        feature_metrics(np.array([[1.0, np.nan]]))


def test_plots_make_figures():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = sparsity_sweep([0.0, 0.9], steps=20)
    for fig in (plot_wtw(results), plot_feature_directions(results), plot_wtw(results[0])):
        assert len(fig.axes) >= 1
        plt.close(fig)
    with pytest.raises(ValueError, match="m = 2"):
        plot_feature_directions(train_toy_model(5, 3, steps=1))
