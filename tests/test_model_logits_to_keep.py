"""GPT.forward / run_with_cache(logits_to_keep=k): the last k positions' logits, unembedded
alone, equal the slice of the full logits (to rounding: BLAS may sum a one-row product in
another order than a many-row one)."""

from __future__ import annotations

import numpy as np
import pytest

from minigpt import GPT, GPTConfig

CFG = GPTConfig(vocab_size=23, n_ctx=8, n_layer=2, n_head=2, d_model=8)


RTOL = {np.float32: 1e-5, np.float64: 1e-12}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_slicing_the_full_logits(dtype):
    model = GPT(CFG, seed=3, dtype=dtype)
    idx = np.random.default_rng(0).integers(0, CFG.vocab_size, (3, 7))
    full = model.forward(idx)  # (3, 7, V)
    for k in (1, 3, 7):
        part = model.forward(idx, logits_to_keep=k)
        assert part.shape == (3, k, CFG.vocab_size) and part.dtype == dtype
        np.testing.assert_allclose(part, full[:, 7 - k:], rtol=RTOL[dtype], atol=RTOL[dtype] / 10)
    np.testing.assert_allclose(model.forward(idx[0], logits_to_keep=2), full[0, 5:],
                               rtol=RTOL[dtype], atol=RTOL[dtype] / 10)


def test_run_with_cache_keeps_every_position_and_hooks_still_apply():
    model = GPT(CFG, seed=1)
    idx = np.array([[1, 2, 3, 4]])
    hooks = {"blocks.0.mlp_out": lambda v: v * 0}
    logits, cache = model.run_with_cache(idx, names=["ln_f", "blocks.1.resid_post"], hooks=hooks,
                                         logits_to_keep=1)
    full, full_cache = model.run_with_cache(idx, names=["ln_f"], hooks=hooks)
    assert logits.shape == (1, 1, CFG.vocab_size)
    assert cache["ln_f"].shape == (1, 4, CFG.d_model)  # activations for every position
    np.testing.assert_array_equal(cache["ln_f"], full_cache["ln_f"])
    np.testing.assert_allclose(logits, full[:, -1:], rtol=1e-5, atol=1e-6)


def test_bad_values():
    model = GPT(CFG)
    idx = np.array([[1, 2, 3]])
    with pytest.raises(ValueError, match=r"logits_to_keep must be an int in \[1, 3\], got 4"):
        model.forward(idx, logits_to_keep=4)
    with pytest.raises(ValueError, match=r"logits_to_keep must be an int in \[1, 3\], got 0"):
        model.run_with_cache(idx, logits_to_keep=0)
    with pytest.raises(TypeError, match="logits_to_keep must be an int or None, got float"):
        model.forward(idx, logits_to_keep=1.0)
    with pytest.raises(TypeError, match="got bool"):
        model.forward(idx, logits_to_keep=True)
