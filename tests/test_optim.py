"""Tests for minigpt.optim: AdamW, decay_names, lr_at, global_norm, clip_grad_norm."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.config import GPTConfig, param_shapes
from minigpt.optim import (
    AdamW,
    adamw_update,
    adamw_update_fast,
    clip_grad_norm,
    decay_names,
    global_norm,
    lr_at,
)
from tests.helpers import require_torch

CFG = GPTConfig(vocab_size=11, n_ctx=5, n_layer=2, n_head=2, d_model=8)


def make_params(cfg=CFG, dtype=np.float64, seed=0, scale=0.02):
    rng = np.random.default_rng(seed)
    return {name: (scale * rng.standard_normal(shape)).astype(dtype)
            for name, shape in param_shapes(cfg).items()}


def make_grads(params, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return {name: (scale * rng.standard_normal(p.shape)).astype(p.dtype) for name, p in params.items()}


def copy_dict(d):
    return {k: v.copy() for k, v in d.items()}


# ----------------------------------------------------------------------------- decay_names

def test_decay_names_are_the_weight_matrices_and_tied_embedding():
    expected = {"tok_emb"} | {f"blocks.{i}.{m}" for i in range(CFG.n_layer)
                              for m in ("attn.w_qkv", "attn.w_out", "mlp.w_up", "mlp.w_down")}
    names = decay_names(param_shapes(CFG))
    assert names == expected
    assert "pos_emb" not in names
    assert not any(".ln" in n or n.startswith("ln_f") or ".b_" in n for n in names)


# ----------------------------------------------------------------------------- AdamW by hand

def test_two_steps_match_hand_computation():
    b1, b2, eps, lr, wd = 0.9, 0.95, 1e-8, 0.1, 0.1
    w0, b0 = np.array([[1.0, -2.0]]), np.array([0.5])
    grads = [({"w": np.array([[0.3, -0.1]]), "b": np.array([2.0])}),
             ({"w": np.array([[-0.2, 0.4]]), "b": np.array([1.0])})]
    params = {"w": w0.copy(), "b": b0.copy()}
    opt = AdamW(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, decay=["w"])

    # Scalar reference, one entry at a time, in the textbook form sqrt(v / (1 - b2^t)).
    def reference(p, gs, decayed, corrected=True):
        m = v = 0.0
        for t, g in enumerate(gs, start=1):
            c1, c2 = (1 - b1 ** t, 1 - b2 ** t) if corrected else (1.0, 1.0)
            if decayed:
                p = p - lr * wd * p
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            p = p - lr * (m / c1) / (math.sqrt(v / c2) + eps)
        return p

    for g in grads:
        opt.step(g)
    want_w = [reference(w0[0, j], [g["w"][0, j] for g in grads], True) for j in range(2)]
    want_b = reference(b0[0], [g["b"][0] for g in grads], False)
    np.testing.assert_allclose(params["w"][0], want_w, rtol=1e-13, atol=0)
    np.testing.assert_allclose(params["b"][0], want_b, rtol=1e-13, atol=0)
    assert opt.t == 2
    # Bias correction matters here: without it the result would be far off.
    uncorrected = reference(b0[0], [g["b"][0] for g in grads], False, corrected=False)
    assert abs(params["b"][0] - uncorrected) > 1e-2


def test_decay_only_on_decay_names():
    params = make_params()
    before = copy_dict(params)
    lr, wd = 0.05, 0.1
    opt = AdamW(params, lr=lr, weight_decay=wd)
    opt.step({k: np.zeros_like(v) for k, v in params.items()})  # zero grad: Adam moves nothing
    decayed = decay_names(params)
    for name, p in params.items():
        if name in decayed:
            np.testing.assert_array_equal(p, before[name] * (1 - lr * wd))
        else:
            np.testing.assert_array_equal(p, before[name])


def test_explicit_decay_set_and_lr_override():
    params = {"a": np.ones(3), "b": np.ones(3)}
    opt = AdamW(params, lr=1.0, weight_decay=0.5, decay={"b"})
    opt.step({"a": np.zeros(3), "b": np.zeros(3)}, lr=0.2)
    np.testing.assert_array_equal(params["a"], np.ones(3))
    np.testing.assert_array_equal(params["b"], np.full(3, 0.9))
    assert opt.lr == 1.0


def test_float32_in_place_and_dtype_preserved():
    params = make_params(dtype=np.float32)
    ids = {k: id(v) for k, v in params.items()}
    before = copy_dict(params)
    ref = {k: v.astype(np.float64) for k, v in params.items()}
    opt32, opt64 = AdamW(params, lr=1e-2), AdamW(ref, lr=1e-2)
    for s in range(3):
        g = make_grads(params, seed=s)
        opt32.step(g)
        opt64.step({k: v.astype(np.float64) for k, v in g.items()})
    for name, p in params.items():
        assert id(p) == ids[name]
        assert p.dtype == np.float32
        assert not np.array_equal(p, before[name])
        np.testing.assert_allclose(p, ref[name], rtol=1e-5, atol=1e-6)
    for arr in opt32.state_dict().values():
        assert arr.dtype in (np.float32, np.int64)


def test_each_tensor_is_updated_as_if_it_had_an_optimizer_of_its_own():
    # The tensors share a scratch buffer per dtype; none may leak into another, and mixed
    # dtypes must each keep their own arithmetic.
    params = make_params(dtype=np.float32)
    params["pos_emb"] = params["pos_emb"].astype(np.float64)
    alone = {name: {name: p.copy()} for name, p in params.items()}
    opt = AdamW(params, lr=1e-2)
    opts = {name: AdamW(d, lr=1e-2, decay=set(d) & decay_names(params)) for name, d in alone.items()}
    for s in range(3):
        g = make_grads(params, seed=s)
        opt.step(g, lr=0.01 * (s + 1))
        for name in params:
            opts[name].step({name: g[name]}, lr=0.01 * (s + 1))
    for name, p in params.items():
        np.testing.assert_array_equal(p, alone[name][name])
        assert p.dtype == alone[name][name].dtype
    np.testing.assert_array_equal(opt.state_dict()["v.pos_emb"], opts["pos_emb"].state_dict()["v.pos_emb"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adamw_update_fast_equals_adamw_update(dtype, weight_decay):
    rng = np.random.default_rng(0)
    shape = (7, 5)
    p = rng.standard_normal(shape).astype(dtype)
    m, v = np.zeros(shape, dtype), np.zeros(shape, dtype)
    p_fast, m_fast, v_fast = p.copy(), m.copy(), v.copy()
    scratch = np.empty(shape, dtype)
    for t in range(1, 5):
        g = rng.standard_normal(shape).astype(dtype)
        g_before = g.copy()
        args = dict(lr=0.01 * t, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=weight_decay, t=t)
        adamw_update(p, g, m, v, **args)
        adamw_update_fast(p_fast, g, m_fast, v_fast, scratch, **args)
        np.testing.assert_array_equal(g, g_before)
    # the same operations in the same order: the same numbers, bit for bit
    for plain, fast in ((p, p_fast), (m, m_fast), (v, v_fast)):
        assert fast.dtype == dtype
        np.testing.assert_array_equal(fast, plain)


def test_adamw_update_is_what_adamw_step_does():
    params = make_params()
    ref = copy_dict(params)
    m = {k: np.zeros_like(p) for k, p in ref.items()}
    v = {k: np.zeros_like(p) for k, p in ref.items()}
    opt = AdamW(params, lr=1e-2)
    decayed = decay_names(params)
    for t in range(1, 4):
        g = make_grads(params, seed=t)
        opt.step(g)
        for name in ref:
            adamw_update(ref[name], g[name], m[name], v[name], lr=1e-2, beta1=0.9, beta2=0.95,
                         eps=1e-8, weight_decay=0.1 if name in decayed else 0.0, t=t)
    for name in params:
        np.testing.assert_array_equal(params[name], ref[name])


def test_state_dict_round_trip_is_bit_exact():
    params = make_params()
    opt = AdamW(params, lr=3e-3)
    for s in range(3):
        opt.step(make_grads(params, seed=s))
    state = opt.state_dict()
    assert state["t"].shape == () and state["t"].dtype == np.int64 and int(state["t"]) == 3
    assert set(state) == {"t"} | {f"{k}.{n}" for n in params for k in ("m", "v")}
    resumed_params = copy_dict(params)
    resumed = AdamW(resumed_params, lr=3e-3)
    resumed.load_state_dict(state)
    state["m.tok_emb"][...] = 7.0  # the loaded optimizer holds its own copy
    assert resumed.t == 3
    for s in range(3, 6):
        g = make_grads(params, seed=s)
        opt.step(g)
        resumed.step(g)
    for name in params:
        np.testing.assert_array_equal(resumed_params[name], params[name])
    for key, arr in opt.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], arr)


def test_load_state_dict_validation():
    params = make_params()
    opt = AdamW(params)
    good = opt.state_dict()
    bad = dict(good); del bad["v.pos_emb"]
    with pytest.raises(ValueError, match="missing"):
        opt.load_state_dict(bad)
    bad = dict(good); bad["m.ln_f.gain"] = np.zeros(3)
    with pytest.raises(ValueError, match="m.ln_f.gain"):
        opt.load_state_dict(bad)
    bad = dict(good); bad["m.ln_f.gain"] = good["m.ln_f.gain"].astype(np.float32)
    with pytest.raises(ValueError, match="float64"):
        opt.load_state_dict(bad)
    bad = dict(good); bad["t"] = np.array(-1)
    with pytest.raises(ValueError, match="t"):
        opt.load_state_dict(bad)
    bad = dict(good); bad["t"] = np.array([1])
    with pytest.raises(ValueError, match="0-d"):
        opt.load_state_dict(bad)


def test_step_validation():
    params = make_params()
    opt = AdamW(params)
    grads = make_grads(params, seed=1)
    missing = dict(grads); del missing["tok_emb"]
    with pytest.raises(ValueError, match="missing \\['tok_emb'\\]"):
        opt.step(missing)
    with pytest.raises(ValueError, match="unexpected \\['extra'\\]"):
        opt.step({**grads, "extra": np.zeros(1)})
    with pytest.raises(ValueError, match="shape"):
        opt.step({**grads, "pos_emb": np.zeros((2, 2))})
    with pytest.raises(TypeError, match="dtype float64, got float32"):
        opt.step({**grads, "pos_emb": grads["pos_emb"].astype(np.float32)})
    for lr in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="lr"):
            opt.step(grads, lr=lr)
    assert opt.t == 0  # failed steps change nothing


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=-1.0), "lr"), (dict(lr=float("nan")), "lr"), (dict(betas=(1.0, 0.9)), "beta1"),
    (dict(betas=(0.9, -0.1)), "beta2"), (dict(betas=(0.9,)), "betas"), (dict(eps=0.0), "eps"),
    (dict(weight_decay=-0.1), "weight_decay"), (dict(decay=["nope"]), "nope"),
])
def test_constructor_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AdamW(make_params(), **kwargs)


def test_constructor_type_errors():
    with pytest.raises(TypeError, match="floating"):
        AdamW({"w": np.zeros(3, dtype=np.int64)})
    with pytest.raises(TypeError, match="dict"):
        AdamW([np.zeros(3)])
    with pytest.raises(ValueError, match="empty"):
        AdamW({})


# ----------------------------------------------------------------------------- lr_at

def test_lr_at_landmarks():
    kw = dict(max_lr=6e-4, warmup_steps=10, max_steps=110, min_ratio=0.1)
    assert lr_at(0, **kw) == pytest.approx(6e-5, rel=1e-12)
    assert lr_at(4, **kw) == pytest.approx(3e-4, rel=1e-12)
    assert lr_at(9, **kw) == pytest.approx(6e-4, rel=1e-12)    # warmup ends at its peak
    assert lr_at(10, **kw) == pytest.approx(6e-4, rel=1e-12)   # cosine starts at the peak
    assert lr_at(60, **kw) == pytest.approx(3.3e-4, rel=1e-12)  # halfway: (max + min) / 2
    assert lr_at(110, **kw) == pytest.approx(6e-5, rel=1e-12)
    assert lr_at(10_000, **kw) == pytest.approx(6e-5, rel=1e-12)
    assert lr_at(0, max_lr=1.0, warmup_steps=0, max_steps=4) == 1.0


def test_lr_at_validation():
    kw = dict(max_lr=1.0, warmup_steps=2, max_steps=5)
    with pytest.raises(ValueError, match="step"):
        lr_at(-1, **kw)
    with pytest.raises(TypeError, match="step"):
        lr_at(1.0, **kw)
    with pytest.raises(ValueError, match="max_steps"):
        lr_at(0, max_lr=1.0, warmup_steps=5, max_steps=2)
    with pytest.raises(ValueError, match="min_ratio"):
        lr_at(0, **kw, min_ratio=1.5)
    with pytest.raises(ValueError, match="max_lr"):
        lr_at(0, max_lr=float("inf"), warmup_steps=2, max_steps=5)


@settings(max_examples=40, deadline=None)
@given(warmup=st.integers(0, 50), decay=st.integers(0, 200), ratio=st.floats(0.0, 1.0))
def test_lr_at_shape(warmup, decay, ratio):
    max_steps = warmup + decay
    lrs = np.array([lr_at(s, max_lr=2.0, warmup_steps=warmup, max_steps=max_steps, min_ratio=ratio)
                    for s in range(max_steps + 5)])
    assert np.all(lrs <= 2.0 * (1 + 1e-12))
    assert np.all(lrs[warmup:] >= 2.0 * ratio * (1 - 1e-12))
    np.testing.assert_allclose(lrs[:warmup], 2.0 * np.arange(1, warmup + 1) / warmup, rtol=1e-15)
    assert np.all(np.diff(lrs[:warmup]) > 0)
    assert np.all(np.diff(lrs[warmup:]) <= 1e-15)
    np.testing.assert_allclose(lrs[max_steps:], 2.0 * ratio, rtol=1e-12)


# ----------------------------------------------------------------------------- clipping

def test_global_norm():
    grads = {"a": np.array([[3.0, 0.0]]), "b": np.array([4.0]), "c": np.array(12.0)}
    assert global_norm(grads) == pytest.approx(13.0, rel=1e-15)
    assert global_norm({}) == 0.0
    g32 = {"a": np.full(100, 0.1, dtype=np.float32)}
    assert global_norm(g32) == pytest.approx(1.0, rel=1e-6)


def test_clip_below_max_leaves_grads_alone():
    grads = {"a": np.array([0.3, 0.4]), "b": np.array([[0.0]])}
    before = copy_dict(grads)
    assert clip_grad_norm(grads, max_norm=1.0) == pytest.approx(0.5, rel=1e-15)
    for k in grads:
        np.testing.assert_array_equal(grads[k], before[k])


def test_clip_above_max_scales_in_place():
    grads = make_grads(make_params(), seed=3)
    before = copy_dict(grads)
    arrays = {k: v for k, v in grads.items()}
    norm = global_norm(grads)
    assert norm > 2.0
    returned = clip_grad_norm(grads, max_norm=2.0)
    assert returned == norm  # the pre-clip norm
    coef = 2.0 / (norm + 1e-6)
    for k in grads:
        assert grads[k] is arrays[k]
        np.testing.assert_allclose(grads[k], before[k] * coef, rtol=1e-15, atol=0)
    assert global_norm(grads) == pytest.approx(2.0 * norm / (norm + 1e-6), rel=1e-12)


def test_clip_float32_and_nonfinite():
    g = {"a": np.full(4, 10.0, dtype=np.float32)}
    assert clip_grad_norm(g) == pytest.approx(20.0, rel=1e-7)
    assert g["a"].dtype == np.float32
    np.testing.assert_allclose(g["a"], 0.5, rtol=1e-6)
    bad = {"a": np.array([np.nan, 1.0]), "b": np.array([5.0])}
    assert math.isnan(clip_grad_norm(bad))
    np.testing.assert_array_equal(bad["b"], [5.0])
    inf = {"a": np.array([np.inf])}
    assert clip_grad_norm(inf) == math.inf
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm({"a": np.ones(2)}, max_norm=0.0)


# ----------------------------------------------------------------------------- PyTorch

def test_matches_torch_adamw_with_clipping_and_schedule():
    torch = require_torch()
    steps, max_lr, warmup, max_steps = 20, 1e-2, 4, 14  # covers warmup, cosine and the floor
    params = make_params(seed=5)
    decayed = decay_names(params)
    t_params = {k: torch.tensor(v.copy(), dtype=torch.float64, requires_grad=True)
                for k, v in params.items()}
    t_opt = torch.optim.AdamW(
        [{"params": [t_params[k] for k in params if k in decayed], "weight_decay": 0.1},
         {"params": [t_params[k] for k in params if k not in decayed], "weight_decay": 0.0}],
        lr=max_lr, betas=(0.9, 0.95), eps=1e-8)
    opt = AdamW(params, lr=max_lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    max_diff, clipped = 0.0, 0
    for s in range(steps):
        # Gradient norms from about 0.1 to about 4: both sides of the clip threshold.
        grads = make_grads(params, seed=100 + s, scale=[0.01, 0.4][s % 2])
        lr = lr_at(s, max_lr=max_lr, warmup_steps=warmup, max_steps=max_steps)
        for k, p in t_params.items():
            p.grad = torch.from_numpy(grads[k].copy())
        t_norm = torch.nn.utils.clip_grad_norm_(list(t_params.values()), 1.0).item()
        for group in t_opt.param_groups:
            group["lr"] = lr
        t_opt.step()
        norm = clip_grad_norm(grads, 1.0)
        opt.step(grads, lr=lr)
        clipped += norm > 1.0
        assert norm == pytest.approx(t_norm, rel=1e-12)
        for k, p in params.items():
            want = t_params[k].detach().numpy()
            np.testing.assert_allclose(p, want, rtol=1e-10, atol=1e-12, err_msg=f"{k} at step {s}")
            max_diff = max(max_diff, float(np.max(np.abs(p - want))))
    assert 0 < clipped < steps
    print(f"max |minigpt - torch| over {steps} AdamW steps: {max_diff:.3e}")
