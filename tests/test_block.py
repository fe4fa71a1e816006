"""One block on its own: its backward against finite differences, its decoding branch
against the plain forward, and the boundary checks that the model shares."""

import numpy as np
import pytest

from minigpt import GPT, GPTConfig, gradcheck
from minigpt._checks import check_idx, check_targets
from minigpt.block import BlockCache, block_backward, block_forward, no_tap, prefixed

CFG = GPTConfig(vocab_size=11, n_ctx=8, n_layer=2, n_head=2, d_model=8)


def _model():
    """A float64 model with non-zero biases, so every path of the block carries gradient."""
    model = GPT(CFG, seed=0, dtype=np.float64)
    rng = np.random.default_rng(1)
    for name, p in model.params.items():
        p += rng.standard_normal(p.shape) * 0.1
    return model


def test_block_backward_matches_finite_differences():
    model = _model()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, CFG.d_model))  # (B, T, C)
    dy = rng.standard_normal(x.shape)
    y, cache = block_forward(model.params, CFG, 1, x)
    assert isinstance(cache, BlockCache) and y.shape == x.shape
    grads, act_grads = {}, {}
    dx = block_backward(1, dy, cache, grads, act_grads)
    names = sorted(grads)
    assert names == sorted(n for n in model.params if n.startswith("blocks.1."))
    assert set(act_grads) == {f"blocks.1.{n}" for n in
                              ("resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post")}

    def f(x, *weights):
        params = dict(model.params, **dict(zip(names, weights)))
        return block_forward(params, CFG, 1, x)[0]

    weights = [model.params[n] for n in names]
    result = gradcheck(f, [x, *weights], [dx, *(grads[n] for n in names)], dy=dy)
    assert result.ok, result


def test_decoding_over_a_cache_gives_the_plain_forward():
    model = _model()
    x = np.random.default_rng(3).standard_normal((2, 6, CFG.d_model))
    y, _ = block_forward(model.params, CFG, 0, x)
    shape = (2, CFG.n_head, CFG.n_ctx, CFG.d_head)
    kv = (np.empty(shape), np.empty(shape))
    first, cache = block_forward(model.params, CFG, 0, x[:, :4], kv, 0)  # prefill 4 positions
    rest, _ = block_forward(model.params, CFG, 0, x[:, 4:], kv, 4)  # then 2 over the cache
    assert cache.attn is None  # decoding keeps no backward cache
    np.testing.assert_allclose(np.concatenate([first, rest], axis=1), y, rtol=1e-12, atol=1e-12)


def test_the_tap_sees_every_hook_point_of_the_block_by_its_full_name():
    model = _model()
    seen = []
    block_forward(model.params, CFG, 1, np.zeros((1, 3, CFG.d_model)),
                  tap=lambda name, value: seen.append(name) or value)
    assert seen == [f"blocks.1.{n}" for n in ("resid_pre", "attn.pattern", "attn_out",
                                               "resid_mid", "mlp.pre", "mlp.post", "mlp_out",
                                               "resid_post")]
    assert no_tap("x", seen) is seen and prefixed(None, "a.") is None


def test_check_idx_shapes_and_rejects():
    assert check_idx([1, 2], 11, 8).shape == (1, 2)
    assert check_idx(np.zeros((3, 8), dtype=np.int32), 11, 8).dtype == np.int64
    with pytest.raises(ValueError, match="n_ctx=8"):
        check_idx(np.zeros(9, dtype=int), 11, 8)
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(B, T\)"):
        check_idx(np.zeros((1, 1, 2), dtype=int), 11, 8)
    with pytest.raises(TypeError, match="integer"):
        check_idx([0.5], 11, 8)


def test_check_targets_counts_only_what_is_not_ignored():
    idx = [[1, 2, 3]]
    idx2 = check_idx(idx, 11, 8)
    np.testing.assert_array_equal(check_targets([[2, 3, -1]], idx, idx2, 11, -1), [[2, 3, -1]])
    with pytest.raises(ValueError, match=r"\[0, 11\) or ignore_index, got -1"):
        check_targets([[2, 3, -1]], idx, idx2, 11, None)
    with pytest.raises(ValueError, match="shape of idx"):
        check_targets([2, 3, 4], idx, idx2, 11, None)
    with pytest.raises(TypeError, match="integer"):
        check_targets([[2.0, 3.0, 4.0]], idx, idx2, 11, None)
