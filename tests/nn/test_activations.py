import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.nn import (
    erf,
    erfc,
    gelu_backward,
    gelu_backward_fast,
    gelu_exact_backward,
    gelu_exact_forward,
    gelu_forward,
    gelu_forward_fast,
    relu_backward,
    relu_forward,
)
from tests.helpers import check_op

PAIRS = {
    "relu": (relu_forward, relu_backward),
    "gelu": (gelu_forward, gelu_backward),
    "gelu_fast": (gelu_forward_fast, gelu_backward_fast),
    "gelu_exact": (gelu_exact_forward, gelu_exact_backward),
}


@pytest.mark.parametrize("name", list(PAIRS))
@settings(max_examples=100, deadline=None)
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 6)), seed=st.integers(0, 2**16),
       scale=st.floats(0.1, 8))
def test_activation_gradients(name, shape, seed, scale):
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    if name == "relu":
        x[np.abs(x) < 1e-3] = 0.5  # ReLU has a kink at 0: keep finite differences off it
    check_op(*PAIRS[name], [x], seed=seed)


def test_relu_is_an_and_gate():
    # the video: row M + J with bias -1 gives 1 for Michael Jordan, 0 for Michael Phelps
    M, J, P = np.eye(3)
    row, bias = M + J, -1.0
    jordan = relu_forward(np.array(row @ (M + J) + bias))[0]
    phelps = relu_forward(np.array(row @ (M + P) + bias))[0]
    assert (float(jordan), float(phelps)) == (1.0, 0.0)


def test_erf_matches_math_erf():
    x = np.linspace(-10, 10, 20001)
    ref = np.array([math.erf(v) for v in x])
    rel = np.abs(erf(x) - ref) / np.maximum(np.abs(ref), np.finfo(float).tiny)
    assert rel.max() < 2e-15


def test_erfc_matches_math_erfc_including_the_tail():
    x = np.linspace(-10, 26, 20001)  # erfc(26) ~ 6e-296; beyond ~26.5 float64 goes subnormal
    ref = np.array([math.erfc(v) for v in x])
    rel = np.abs(erfc(x) - ref) / ref
    assert rel.max() < 2e-13


def test_gelu_tanh_approximation_error_is_within_published_bound():
    # the tanh form differs from x * Phi(x) by at most ~4.7e-4 (at |x| ~ 2.3)
    x = np.linspace(-10, 10, 100001)
    diff = np.abs(gelu_forward(x)[0] - gelu_exact_forward(x)[0])
    assert diff.max() < 5e-4
    assert diff.max() > 1e-4  # they are different functions


def test_gelu_exact_against_math():
    x = np.linspace(-8, 8, 1601)
    ref = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    np.testing.assert_allclose(gelu_exact_forward(x)[0], ref, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("name", list(PAIRS))
def test_activations_keep_float32(name):
    forward, backward = PAIRS[name]
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    y, cache = forward(x)
    assert y.dtype == np.float32
    assert backward(np.ones_like(y), cache).dtype == np.float32
