import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.nn import layernorm_backward, layernorm_forward
from tests.helpers import check_op


@settings(max_examples=100, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 4), C=st.integers(3, 8), seed=st.integers(0, 2**16),
       scale=st.floats(1, 100), shift=st.floats(-10, 10))
def test_layernorm_gradients(B, T, C, seed, scale, shift):
    # C >= 3: with C = 2 the output is +-1 whatever the input, and dx is only the eps term.
    # scale >= 1: LayerNorm is scale-invariant, so smaller rows only test the finite
    # difference (whose error grows like eps^2 rstd^3), not the backward.
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, C)) * scale + shift
    gain, bias = rng.standard_normal(C), rng.standard_normal(C)
    check_op(layernorm_forward, layernorm_backward, [x, gain, bias], seed=seed)


@settings(max_examples=30, deadline=None)
@given(C=st.integers(2, 64), seed=st.integers(0, 2**16), scale=st.floats(0.01, 1000))
def test_output_has_zero_mean_unit_variance(C, seed, scale):
    x = np.random.default_rng(seed).standard_normal((5, C)) * scale
    y, _ = layernorm_forward(x, np.ones(C), np.zeros(C))
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-12)
    var = x.var(axis=-1)
    # with eps = 1e-5 the variance is var / (var + eps), not exactly 1
    np.testing.assert_allclose(y.var(axis=-1), var / (var + 1e-5), rtol=1e-10)


def test_matches_textbook_formula():
    x = np.random.default_rng(0).standard_normal((4, 6))
    g, b = np.arange(6.0), np.ones(6)
    y, _ = layernorm_forward(x, g, b)
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * g + b
    np.testing.assert_allclose(y, expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(dtype)
    y, cache = layernorm_forward(x, np.ones(4, dtype), np.zeros(4, dtype))
    assert y.dtype == dtype
    assert all(g.dtype == dtype for g in layernorm_backward(y, cache))
