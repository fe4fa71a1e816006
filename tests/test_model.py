import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigpt as mg
from minigpt import GPT, GPTConfig, gradcheck

CONFIGS = {
    "gelu-dense": GPTConfig(vocab_size=11, n_ctx=8, n_layer=2, n_head=2, d_model=8),
    "relu-alternating": GPTConfig(vocab_size=11, n_ctx=8, n_layer=2, n_head=4, d_model=8,
                                  activation="relu", attention="alternating", local_window=3),
    "gelu_exact-alternating": GPTConfig(vocab_size=7, n_ctx=6, n_layer=3, n_head=1, d_model=4,
                                        d_ff=12, activation="gelu_exact", attention="alternating",
                                        local_window=2),
}


def _random_model(cfg, seed=0):
    """A float64 model with non-trivial biases and gains, so every gradient path is exercised."""
    model = GPT(cfg, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for name, p in model.params.items():
        if name.endswith((".gain", ".bias", ".b_qkv", ".b_out", ".b_up", ".b_down")):
            p += rng.standard_normal(p.shape) * 0.1
        else:
            p *= 10  # weights of order 0.2 instead of 0.02: larger, more informative gradients
    return model


@pytest.mark.parametrize("name", list(CONFIGS))
def test_loss_and_grads_match_finite_differences(name):
    cfg = CONFIGS[name]
    model = _random_model(cfg)
    rng = np.random.default_rng(1)
    idx = rng.integers(0, cfg.vocab_size, size=(2, cfg.n_ctx))
    targets = rng.integers(0, cfg.vocab_size, size=(2, cfg.n_ctx))
    targets[1, 0] = -1
    loss, grads = model.loss_and_grads(idx, targets, ignore_index=-1)
    assert list(grads) == list(model.params)

    def f(*_):
        return model.loss_and_grads(idx, targets, ignore_index=-1)[0]

    for pname, p in model.params.items():
        assert grads[pname].shape == p.shape and grads[pname].dtype == np.float64
        result = gradcheck(f, [p], [grads[pname]], n_samples=12, seed=len(pname))
        assert result.ok, (pname, result)


def test_forward_equals_loss_path_and_squeezes_1d():
    cfg = CONFIGS["gelu-dense"]
    model = _random_model(cfg)
    idx = np.array([1, 2, 3, 4])
    logits = model.forward(idx)
    assert logits.shape == (4, cfg.vocab_size)
    np.testing.assert_array_equal(model.forward(idx[None])[0], logits)
    full, _ = model._forward(idx[None], keep=True)
    np.testing.assert_array_equal(full[0], logits)


@pytest.mark.parametrize("name", list(CONFIGS))
@settings(max_examples=15, deadline=None)
@given(t=st.integers(0, 6), seed=st.integers(0, 2**16))
def test_causality(name, t, seed):
    """Changing token t+k never changes the logits at positions <= t."""
    cfg = CONFIGS[name]
    model = _random_model(cfg)
    rng = np.random.default_rng(seed)
    T = cfg.n_ctx
    t = min(t, T - 2)
    idx = rng.integers(0, cfg.vocab_size, size=(1, T))
    changed = idx.copy()
    changed[0, t + 1:] = rng.integers(0, cfg.vocab_size, size=T - t - 1)
    np.testing.assert_array_equal(model.forward(idx)[0, : t + 1], model.forward(changed)[0, : t + 1])


def test_banded_layer_forgets_beyond_its_window():
    """With one local layer of window 2 and no dense layer, position t sees only t-1 and t."""
    cfg = GPTConfig(vocab_size=5, n_ctx=6, n_layer=2, n_head=1, d_model=4,
                    attention="alternating", local_window=2)
    model = _random_model(cfg)
    # make layer 0 (dense) a no-op so only the banded layer 1 moves information
    for k in ("attn.w_out", "attn.b_out", "mlp.w_down", "mlp.b_down"):
        model.params[f"blocks.0.{k}"][...] = 0
    idx = np.array([[1, 2, 3, 4, 0, 1]])
    changed = idx.copy()
    changed[0, 0] = 4  # position 0 is outside the window of positions 2..5
    a, b = model.forward(idx)[0], model.forward(changed)[0]
    np.testing.assert_array_equal(a[2:], b[2:])
    assert not np.array_equal(a[1], b[1])  # position 1 does see position 0


def test_init_follows_gpt2():
    cfg = GPTConfig(vocab_size=500, n_ctx=64, n_layer=4, n_head=4, d_model=128)
    p = GPT(cfg, seed=0).params
    assert p["tok_emb"].dtype == np.float32
    assert np.std(p["blocks.0.mlp.w_up"]) == pytest.approx(0.02, rel=0.02)
    assert np.std(p["blocks.0.mlp.w_down"]) == pytest.approx(0.02 / np.sqrt(8), rel=0.02)
    assert np.std(p["blocks.3.attn.w_out"]) == pytest.approx(0.02 / np.sqrt(8), rel=0.02)
    assert np.all(p["blocks.1.ln1.gain"] == 1) and np.all(p["blocks.1.mlp.b_up"] == 0)
    assert GPT(cfg, seed=0).n_params == mg.count_params(cfg)


def test_same_seed_same_model_and_float32_stays_float32():
    cfg = CONFIGS["gelu-dense"]
    a, b = GPT(cfg, seed=3), GPT(cfg, seed=3)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    idx = np.zeros((2, 5), dtype=np.int32)
    assert a.forward(idx).dtype == np.float32
    loss, grads = a.loss_and_grads(idx, idx)
    assert isinstance(loss, float)
    assert all(g.dtype == np.float32 for g in grads.values())


def test_loss_at_init_is_near_log_vocab():
    cfg = GPTConfig(vocab_size=64, n_ctx=16, n_layer=2, n_head=2, d_model=32)
    rng = np.random.default_rng(0)
    idx, targets = rng.integers(0, 64, size=(2, 4, 16))
    # with a tied unembedding, idx == targets would favour predicting the input token itself
    loss, _ = GPT(cfg, seed=0).loss_and_grads(idx, targets)
    assert loss == pytest.approx(np.log(64), abs=0.05)


def test_params_argument_is_checked():
    cfg = CONFIGS["gelu-dense"]
    params = dict(GPT(cfg).params)
    model = GPT(cfg, params=params, dtype=np.float64)
    assert model.params["tok_emb"].dtype == np.float64
    params["tok_emb"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"params\['tok_emb'\] must have shape \(11, 8\), got \(3, 3\)"):
        GPT(cfg, params=params)
    del params["tok_emb"]
    with pytest.raises(ValueError, match="missing"):
        GPT(cfg, params=params)


# ---------------------------------------------------------------- bad input

@pytest.fixture
def model():
    return GPT(CONFIGS["gelu-dense"])


@pytest.mark.parametrize("idx, error, message", [
    (np.zeros((2, 3), dtype=np.float32), TypeError, "integer token ids, got dtype float32"),
    (np.zeros((2, 3), dtype=bool), TypeError, "integer token ids, got dtype bool"),
    (np.zeros((1, 2, 3), dtype=int), ValueError, r"shape \(T,\) or \(B, T\), got shape \(1, 2, 3\)"),
    (np.array([[0, 11]]), ValueError, r"must be in \[0, 11\), got an id of 11"),
    (np.array([[-1, 0]]), ValueError, r"must be in \[0, 11\), got an id of -1"),
    (np.zeros((1, 9), dtype=int), ValueError, "sequence length must be <= n_ctx=8, got 9"),
    (np.zeros((1, 0), dtype=int), ValueError, "at least one token"),
])
def test_bad_idx(model, idx, error, message):
    with pytest.raises(error, match=message):
        model.forward(idx)
    with pytest.raises(error, match=message):
        model.loss_and_grads(idx, idx)


def _activation_loss(model, idx, targets, **kwargs):
    return model.activation_grads(idx, targets, ["embed"], **kwargs)


@pytest.mark.parametrize("run", [GPT.loss_and_grads, _activation_loss],
                         ids=["loss_and_grads", "activation_grads"])
def test_bad_targets(model, run):
    idx = np.zeros((1, 4), dtype=int)
    with pytest.raises(ValueError, match=r"targets must have the shape of idx \(1, 4\), got \(4,\)"):
        run(model, idx, np.zeros(4, dtype=int))
    with pytest.raises(TypeError, match="targets must hold integer"):
        run(model, idx, np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 11\).*got 11"):
        run(model, idx, np.full((1, 4), 11))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 11\).*got -1"):
        run(model, idx, np.full((1, 4), -1))  # not read as V - 1 from the end


def test_ignored_targets_are_skipped_alike(model):
    idx, targets = np.array([[1, 2, 3, 4]]), np.array([[2, 3, -1, -1]])
    loss, _ = model.loss_and_grads(idx, targets, ignore_index=-1)
    loss_act, _ = _activation_loss(model, idx, targets, ignore_index=-1)
    assert loss == loss_act


def test_bad_model_arguments():
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got float16"):
        GPT(CONFIGS["gelu-dense"], dtype=np.float16)
    with pytest.raises(TypeError, match="config must be a GPTConfig, got dict"):
        GPT({"vocab_size": 3})
