import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.nn import linear_backward, linear_forward
from tests.helpers import check_op

dims = st.integers(1, 5)


@settings(max_examples=100, deadline=None)
@given(B=dims, T=dims, d_in=dims, d_out=dims, seed=st.integers(0, 2**16), scale=st.floats(0.1, 10))
def test_linear_gradients(B, T, d_in, d_out, seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, d_in)) * scale
    w = rng.standard_normal((d_out, d_in))
    b = rng.standard_normal(d_out)
    check_op(linear_forward, linear_backward, [x, w, b], seed=seed)


def test_linear_matches_explicit_sum():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    y, _ = linear_forward(x, w, b)
    expected = np.einsum("btj,ij->bti", x, w) + b  # y_i = sum_j w_ij x_j + b_i: row i asks
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_linear_without_bias_and_2d_input():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((6, 4)), rng.standard_normal((3, 4))
    y, cache = linear_forward(x, w)
    np.testing.assert_allclose(y, x @ w.T, rtol=1e-12)
    dx, dw, db = linear_backward(np.ones_like(y), cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == (3,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_keeps_dtype(dtype):
    x = np.ones((2, 3, 4), dtype=dtype)
    w, b = np.ones((5, 4), dtype=dtype), np.ones(5, dtype=dtype)
    y, cache = linear_forward(x, w, b)
    assert y.dtype == dtype
    assert all(g.dtype == dtype for g in linear_backward(y, cache))
