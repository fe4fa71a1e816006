import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt import gradcheck
from minigpt.nn import embedding_backward, embedding_forward


@settings(max_examples=100, deadline=None)
@given(B=st.integers(1, 4), T=st.integers(1, 6), V=st.integers(1, 5), C=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_embedding_gradients(B, T, V, C, seed):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, V, size=(B, T))  # small V: repeated ids are common
    table = rng.standard_normal((V, C))
    out, cache = embedding_forward(idx, table)
    dout = rng.standard_normal(out.shape)
    dtable = embedding_backward(dout, cache)
    result = gradcheck(lambda t: float(np.sum(embedding_forward(idx, t)[0] * dout)), [table], [dtable])
    assert result.ok, result


def test_repeated_ids_accumulate():
    idx = np.array([[1, 1, 1, 0]])
    out, cache = embedding_forward(idx, np.zeros((3, 2)))
    dtable = embedding_backward(np.ones((1, 4, 2)), cache)
    np.testing.assert_array_equal(dtable, [[1, 1], [3, 3], [0, 0]])


def test_lookup_selects_rows():
    table = np.arange(12.0).reshape(4, 3)
    out, _ = embedding_forward(np.array([[3, 0]]), table)
    np.testing.assert_array_equal(out[0], table[[3, 0]])
