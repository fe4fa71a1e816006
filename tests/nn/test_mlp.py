import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.nn import mlp_backward, mlp_forward
from tests.helpers import check_op


@pytest.mark.parametrize("activation", ["gelu", "gelu_exact", "relu"])
@settings(max_examples=100, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 4), C=st.integers(1, 4), F=st.integers(1, 8),
       seed=st.integers(0, 2**16))
def test_mlp_gradients(activation, B, T, C, F, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, C))
    w_up, b_up = rng.standard_normal((F, C)), rng.standard_normal(F)
    if activation == "relu":  # keep pre-activations off ReLU's kink
        pre = x @ w_up.T + b_up
        b_up = b_up + np.where(np.abs(pre).min(axis=(0, 1)) < 1e-3, 0.01, 0.0)
    w_down, b_down = rng.standard_normal((C, F)), rng.standard_normal(C)
    check_op(mlp_forward, mlp_backward, [x, w_up, b_up, w_down, b_down], seed=seed,
             activation=activation)


def test_mlp_stores_michael_jordan_plays_basketball():
    """The video's construction with exactly orthogonal directions M, J, P, B."""
    M, J, P, B = np.eye(4)
    w_up = np.array([M + J])  # one neuron: the question "Michael AND Jordan?"
    b_up = np.array([-1.0])  # the threshold that makes it an AND gate
    w_down = B[:, None]  # (C, F=1): the column added when it fires is "basketball"
    b_down = np.zeros(4)
    people = np.stack([M + J, M + P, J])  # Michael Jordan, Michael Phelps, Jordan alone
    y, cache = mlp_forward(people, w_up, b_up, w_down, b_down, activation="relu")
    neuron = cache.down.x[:, 0]
    np.testing.assert_array_equal(neuron, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal((people + y) @ B, [1.0, 0.0, 0.0])
