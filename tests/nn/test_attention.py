import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.nn import attend, attention_backward, attention_decode, attention_forward, causal_mask
from tests.helpers import check_op


def _weights(rng, C):
    return [rng.standard_normal((3 * C, C)) * 0.5, rng.standard_normal(3 * C) * 0.1,
            rng.standard_normal((C, C)) * 0.5, rng.standard_normal(C) * 0.1]


@settings(max_examples=100, deadline=None)
@given(B=st.integers(1, 2), T=st.integers(1, 6), H=st.integers(1, 3), D=st.integers(1, 3),
       window=st.one_of(st.none(), st.integers(1, 4)), seed=st.integers(0, 2**16))
def test_attention_gradients(B, T, H, D, window, seed):
    rng = np.random.default_rng(seed)
    C = H * D
    x = rng.standard_normal((B, T, C))
    check_op(attention_forward, attention_backward, [x, *_weights(rng, C)], seed=seed,
             n_head=H, window=window)


def _reference_attention(x, w_qkv, b_qkv, w_out, b_out, H, window):
    """Loop over batch and heads: slow, obviously right."""
    B, T, C = x.shape
    D = C // H
    out = np.zeros((B, T, C))
    for b in range(B):
        qkv = x[b] @ w_qkv.T + b_qkv
        heads = []
        for h in range(H):
            q = qkv[:, h * D:(h + 1) * D]
            k = qkv[:, C + h * D:C + (h + 1) * D]
            v = qkv[:, 2 * C + h * D:2 * C + (h + 1) * D]
            s = q @ k.T / np.sqrt(D)
            for t in range(T):
                for u in range(T):
                    if u > t or (window is not None and u <= t - window):
                        s[t, u] = -np.inf
            a = np.exp(s - s.max(1, keepdims=True))
            a /= a.sum(1, keepdims=True)
            heads.append(a @ v)
        out[b] = np.concatenate(heads, axis=1) @ w_out.T + b_out
    return out


@pytest.mark.parametrize("window", [None, 1, 3])
def test_attention_matches_loop_reference(window):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 6))
    w = _weights(rng, 6)
    y, _ = attention_forward(x, *w, 3, window)
    np.testing.assert_allclose(y, _reference_attention(x, *w, 3, window), rtol=1e-10, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(T=st.integers(2, 8), t=st.integers(0, 6), window=st.one_of(st.none(), st.integers(1, 4)),
       seed=st.integers(0, 2**16))
def test_future_tokens_do_not_change_the_past(T, t, window, seed):
    t = min(t, T - 2)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, T, 4))
    w = _weights(rng, 4)
    y, _ = attention_forward(x, *w, 2, window)
    x2 = x.copy()
    x2[0, t + 1:] += rng.standard_normal((T - t - 1, 4))
    y2, _ = attention_forward(x2, *w, 2, window)
    np.testing.assert_array_equal(y[0, : t + 1], y2[0, : t + 1])


@settings(max_examples=20, deadline=None)
@given(T=st.integers(1, 12), window=st.integers(1, 12))
def test_banded_mask_never_sees_beyond_its_window(T, window):
    allowed = causal_mask(T, window)
    t, s = np.nonzero(allowed)
    assert np.all(s <= t) and np.all(s > t - window)
    assert allowed.sum(axis=1).tolist() == [min(i + 1, window) for i in range(T)]


def test_attention_pattern_rows_sum_to_one_and_respect_band():
    rng = np.random.default_rng(3)
    _, cache = attention_forward(rng.standard_normal((2, 6, 4)), *_weights(rng, 4), 2, 2)
    np.testing.assert_allclose(cache.att.sum(-1), 1.0, rtol=1e-12)
    assert np.all(cache.att[..., ~causal_mask(6, 2)] == 0)


def test_attention_float32_end_to_end():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)
    w = [a.astype(np.float32) for a in _weights(rng, 4)]
    y, cache = attention_forward(x, *w, 2)
    assert y.dtype == np.float32 and cache.att.dtype == np.float32
    assert all(g.dtype == np.float32 for g in attention_backward(y, cache))


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 8), prompt=st.integers(0, 8), window=st.one_of(st.none(), st.integers(1, 4)),
       seed=st.integers(0, 2**16))
def test_decode_with_a_cache_equals_the_full_forward_rows(T, prompt, window, seed):
    rng = np.random.default_rng(seed)
    B, H, D, n_ctx = 2, 2, 3, 8
    x = rng.standard_normal((B, T, H * D))
    w = _weights(rng, H * D)
    full, cache = attention_forward(x, *w, H, window)
    k_cache, v_cache = np.zeros((2, B, H, n_ctx, D))
    prompt = min(prompt, T)
    rows = [attention_decode(x[:, :prompt], *w, H, k_cache, v_cache, 0, window)] if prompt else []
    for t in range(prompt, T):  # then one position at a time, as generation does
        rows.append(attention_decode(x[:, t:t + 1], *w, H, k_cache, v_cache, t, window))
    np.testing.assert_allclose(np.concatenate(rows, axis=1), full, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(k_cache[:, :, :T], cache.k)  # the cache holds the same keys
    np.testing.assert_array_equal(v_cache[:, :, :T], cache.v)
    assert not k_cache[:, :, T:].any()  # and nothing beyond the positions seen


def test_attend_is_softmax_of_masked_scaled_scores_times_values():
    rng = np.random.default_rng(1)
    B, H, T, S, D = 2, 3, 2, 5, 4
    q = rng.standard_normal((B, H, T, D))
    k, v = rng.standard_normal((2, B, H, S, D))
    allowed = causal_mask(T, window=2, n_past=S - T)
    att, y = attend(q, k, v, allowed)
    scores = np.where(allowed, q @ np.swapaxes(k, -1, -2) / np.sqrt(D), -np.inf)
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(att, expected, rtol=1e-13, atol=0)
    assert y.shape == (B, T, H * D)
    np.testing.assert_allclose(y.reshape(B, T, H, D), np.swapaxes(expected @ v, 1, 2), rtol=1e-13)


def test_attend_tap_sees_and_replaces_the_pattern():
    rng = np.random.default_rng(2)
    q, k, v = rng.standard_normal((3, 1, 1, 3, 2))
    uniform = np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None]
    att, y = attend(q, k, v, causal_mask(3), tap=lambda name, a: np.broadcast_to(uniform, a.shape))
    np.testing.assert_array_equal(att[0, 0], uniform)
    np.testing.assert_allclose(y[0], uniform @ v[0, 0], rtol=1e-14)
