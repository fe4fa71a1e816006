import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt import gradcheck
from minigpt.nn import cross_entropy_backward, cross_entropy_forward


@settings(max_examples=100, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 5), V=st.integers(2, 8), seed=st.integers(0, 2**16),
       scale=st.floats(0.1, 10), ignore=st.booleans())
def test_cross_entropy_gradients(B, T, V, seed, scale, ignore):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((B, T, V)) * scale
    targets = rng.integers(0, V, size=(B, T))
    ignore_index = None
    if ignore and B * T > 1:
        ignore_index = -100
        targets[0, 0] = ignore_index
    loss, cache = cross_entropy_forward(logits, targets, ignore_index)
    dlogits = cross_entropy_backward(1.0, cache)
    result = gradcheck(lambda z: cross_entropy_forward(z, targets, ignore_index)[0], [logits], [dlogits])
    assert result.ok, result


def test_matches_direct_formula_and_ignores():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((2, 3, 5))
    t = np.array([[0, 4, -1], [2, 2, 1]])
    loss, _ = cross_entropy_forward(z, t, ignore_index=-1)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    keep = t != -1
    expected = -np.mean(np.take_along_axis(logp, np.where(keep, t, 0)[..., None], -1)[..., 0][keep])
    assert loss == pytest.approx(expected, rel=1e-12)


def test_huge_logits_are_stable():
    loss, cache = cross_entropy_forward(np.array([[1e4, 0.0, -1e4]]), np.array([1]))
    assert loss == pytest.approx(1e4)
    assert np.all(np.isfinite(cross_entropy_backward(1.0, cache)))


def test_all_ignored_raises():
    with pytest.raises(ValueError, match="ignore_index"):
        cross_entropy_forward(np.zeros((2, 3)), np.array([-1, -1]), ignore_index=-1)


def test_float32_loss_gradient_dtype():
    _, cache = cross_entropy_forward(np.zeros((4, 3), np.float32), np.array([0, 1, 2, 0]))
    assert cross_entropy_backward(1.0, cache).dtype == np.float32
