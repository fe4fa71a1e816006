"""Each in-place fast path equals the pure op it stands in for, number for number."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.nn import (
    ACTIVATIONS,
    causal_mask,
    gelu_backward,
    gelu_backward_fast,
    gelu_forward,
    gelu_forward_fast,
    softmax_backward,
    softmax_backward_inplace,
    softmax_forward,
    softmax_forward_inplace,
)

shapes = st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple)


def _scores(shape, seed, dtype, masked):
    """Random scores; with ``masked``, causally masked like attention's (rows keep one entry)."""
    x = (np.random.default_rng(seed).standard_normal(shape) * 5).astype(dtype)
    if masked and len(shape) >= 2:
        T = min(shape[-2], shape[-1])
        x = x[..., :T, :T].copy()
        np.copyto(x, -np.inf, where=~causal_mask(T))
    return x


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16), dtype=st.sampled_from([np.float32, np.float64]),
       masked=st.booleans())
def test_softmax_forward_inplace_equals_softmax_forward(shape, seed, dtype, masked):
    x = _scores(shape, seed, dtype, masked)
    y_ref, cache_ref = softmax_forward(x)
    buf = x.copy()
    y, cache = softmax_forward_inplace(buf)
    assert y is buf and cache.y is buf  # written where x was
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(cache.y, cache_ref.y)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16), dtype=st.sampled_from([np.float32, np.float64]),
       masked=st.booleans())
def test_softmax_backward_inplace_equals_softmax_backward(shape, seed, dtype, masked):
    x = _scores(shape, seed, dtype, masked)
    _, cache = softmax_forward(x)
    dy = np.random.default_rng(seed + 1).standard_normal(x.shape).astype(dtype)
    dx_ref = softmax_backward(dy, cache)
    buf = dy.copy()
    dx = softmax_backward_inplace(buf, cache)
    assert dx is buf
    np.testing.assert_array_equal(dx, dx_ref)


def test_inplace_softmax_pair_leaves_the_pure_ops_pure():
    x = np.array([[1.0, 2.0, -np.inf]])
    before = x.copy()
    y, cache = softmax_forward(x)
    softmax_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(x, before)
    assert y[0, 2] == 0.0
    assert y.sum() == pytest.approx(1.0, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16), scale=st.floats(0.1, 10))
def test_gelu_fast_pair_equals_gelu_pair_in_float64(shape, seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale
    dy = rng.standard_normal(shape)
    x_before, dy_before = x.copy(), dy.copy()
    y_ref, cache_ref = gelu_forward(x)
    y, cache = gelu_forward_fast(x)
    # the fast forms regroup the arithmetic: equal to a few float64 roundings (absolute near
    # y = 0, where both lose digits to the cancellation in 1 + tanh u)
    np.testing.assert_allclose(y, y_ref, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(gelu_backward_fast(dy, cache), gelu_backward(dy, cache_ref),
                               rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(x, x_before)  # the inputs are not overwritten
    np.testing.assert_array_equal(dy, dy_before)


def test_gelu_fast_pair_keeps_float32_and_is_what_the_mlp_runs():
    x = np.linspace(-3, 3, 13, dtype=np.float32)
    y, cache = gelu_forward_fast(x)
    assert y.dtype == np.float32 and gelu_backward_fast(np.ones_like(x), cache).dtype == np.float32
    np.testing.assert_allclose(y, gelu_forward(x)[0], rtol=1e-6, atol=1e-7)
    assert ACTIVATIONS["gelu"] == (gelu_forward_fast, gelu_backward_fast)


def test_gelu_fast_pair_catches_a_wrong_formula():
    # the equality test can fail: a GELU with a different cubic coefficient is told apart
    x = np.linspace(-4, 4, 101)
    wrong = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.045 * x**3)))
    assert not np.allclose(gelu_forward_fast(x)[0], wrong, rtol=1e-13, atol=1e-13)
