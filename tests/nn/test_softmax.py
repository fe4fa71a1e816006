import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.nn import softmax_backward, softmax_forward
from tests.helpers import check_op


@settings(max_examples=100, deadline=None)
@given(rows=st.integers(1, 6), N=st.integers(1, 8), seed=st.integers(0, 2**16), scale=st.floats(0.1, 20))
def test_softmax_gradients(rows, N, seed, scale):
    x = np.random.default_rng(seed).standard_normal((rows, N)) * scale
    check_op(softmax_forward, softmax_backward, [x], seed=seed)


@settings(max_examples=30, deadline=None)
@given(N=st.integers(1, 10), seed=st.integers(0, 2**16), shift=st.floats(-1e3, 1e3))
def test_rows_sum_to_one_and_shift_invariant(N, seed, shift):
    x = np.random.default_rng(seed).standard_normal((4, N)) * 5
    y, _ = softmax_forward(x)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all(y >= 0)
    y_shifted, _ = softmax_forward(x + shift)
    np.testing.assert_allclose(y_shifted, y, rtol=1e-9, atol=1e-15)


def test_large_logits_do_not_overflow():
    y, _ = softmax_forward(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(y, [[0.5, 0.5, 0.0]])


def test_masked_entries_get_zero_weight_and_zero_gradient():
    x = np.array([[0.3, -np.inf, 1.2]])
    y, cache = softmax_forward(x)
    assert y[0, 1] == 0.0
    dx = softmax_backward(np.array([[1.0, 5.0, -2.0]]), cache)
    assert dx[0, 1] == 0.0
