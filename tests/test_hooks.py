import numpy as np
import pytest

from minigpt import GPT, GPTConfig, gradcheck
from minigpt.nn import gelu_forward

CFG = GPTConfig(vocab_size=17, n_ctx=8, n_layer=3, n_head=2, d_model=8,
                attention="alternating", local_window=3)


@pytest.fixture(scope="module")
def model():
    m = GPT(CFG, seed=0, dtype=np.float64)
    rng = np.random.default_rng(1)
    for p in m.params.values():
        p += rng.standard_normal(p.shape) * 0.1
    return m


IDX = np.array([[1, 5, 3, 9, 2], [0, 4, 4, 16, 7]])


def test_identity_hooks_leave_logits_bit_identical(model):
    hooks = {name: (lambda v: v) for name in model.hook_names()}
    np.testing.assert_array_equal(model.forward(IDX, hooks=hooks), model.forward(IDX))
    observers = {name: (lambda v: None) for name in model.hook_names()}
    np.testing.assert_array_equal(model.forward(IDX, hooks=observers), model.forward(IDX))


def test_run_with_cache_shapes_and_only_what_is_asked(model):
    logits, cache = model.run_with_cache(IDX)
    assert set(cache) == set(model.hook_names())
    B, T = IDX.shape
    assert cache["embed"].shape == (B, T, 8)
    assert cache["blocks.1.attn.pattern"].shape == (B, 2, T, T)
    assert cache["blocks.2.mlp.post"].shape == (B, T, 32)
    np.testing.assert_allclose(cache["blocks.2.mlp.post"], gelu_forward(cache["blocks.2.mlp.pre"])[0])
    # the residual stream adds up: resid_post = resid_pre + attn_out + mlp_out
    np.testing.assert_allclose(cache["blocks.0.resid_post"], cache["blocks.0.resid_pre"]
                               + cache["blocks.0.attn_out"] + cache["blocks.0.mlp_out"])
    np.testing.assert_array_equal(cache["blocks.1.resid_pre"], cache["blocks.0.resid_post"])
    _, small = model.run_with_cache(IDX, names=["blocks.0.mlp.post"])
    assert list(small) == ["blocks.0.mlp.post"]
    np.testing.assert_array_equal(logits, model.forward(IDX))


def test_patching_a_run_with_another_runs_activation(model):
    """Patch layer 1's residual stream of run A into run B: B then computes A's output."""
    _, cache_a = model.run_with_cache(IDX[:1], names=["blocks.1.resid_post"])
    patched = model.forward(IDX[1:], hooks={"blocks.1.resid_post": lambda v: cache_a["blocks.1.resid_post"]})
    np.testing.assert_allclose(patched, model.forward(IDX[:1]), rtol=1e-12)


def test_zero_ablating_every_mlp_and_attention_leaves_the_embedding_path(model):
    hooks = {f"blocks.{i}.{n}": np.zeros_like for i in range(3) for n in ("attn_out", "mlp_out")}
    logits, cache = model.run_with_cache(IDX, names=["ln_f", "embed"], hooks=hooks)
    from minigpt.nn import layernorm_forward
    expected, _ = layernorm_forward(cache["embed"], model.params["ln_f.gain"], model.params["ln_f.bias"])
    np.testing.assert_allclose(cache["ln_f"], expected)
    np.testing.assert_allclose(logits, expected @ model.params["tok_emb"].T)


def test_ablating_a_neuron_through_mlp_post(model):
    def kill(v):
        v = v.copy()
        v[..., 3] = 0
        return v
    _, cache = model.run_with_cache(IDX, names=["blocks.0.mlp.post"], hooks={"blocks.0.mlp.post": kill})
    assert np.all(cache["blocks.0.mlp.post"][..., 3] == 0)
    assert not np.allclose(model.forward(IDX, hooks={"blocks.0.mlp.post": kill}), model.forward(IDX))


def test_bad_hooks(model):
    with pytest.raises(ValueError, match=r"unknown hook names \['blocks.9.mlp_out'\]"):
        model.forward(IDX, hooks={"blocks.9.mlp_out": lambda v: v})
    with pytest.raises(ValueError, match=r"hook 'blocks.0.mlp_out' must return shape \(2, 5, 8\), got \(2, 5\)"):
        model.forward(IDX, hooks={"blocks.0.mlp_out": lambda v: v[..., 0]})
    with pytest.raises(ValueError, match="unknown hook names"):
        model.run_with_cache(IDX, names=["mlp"])


def test_activation_grads_match_finite_differences(model):
    """d loss / d mlp_out of layer 1 at one position: the gradient ROME-style edits follow."""
    targets = np.roll(IDX, -1, axis=1)
    delta = np.zeros((1, 8))

    def add_delta(v):
        v = v.copy()
        v[0, 2] += delta[0]
        return v

    hooks = {"blocks.1.mlp_out": add_delta}
    loss, g = model.activation_grads(IDX, targets, ["blocks.1.mlp_out", "embed"], hooks=hooks)
    assert g["blocks.1.mlp_out"].shape == (2, 5, 8)
    f = lambda d: model.activation_grads(IDX, targets, ["embed"], hooks=hooks)[0]  # noqa: E731
    result = gradcheck(f, [delta], [g["blocks.1.mlp_out"][0:1, 2]])
    assert result.ok, result
    with pytest.raises(ValueError, match="residual-stream names"):
        model.activation_grads(IDX, targets, ["blocks.0.mlp.post"])


def test_capture_activations_equals_run_with_cache_and_stops_at_the_last_name(model):
    from minigpt.hooks import capture_activations
    names = ["blocks.0.mlp.post", "blocks.1.resid_mid"]
    _, cache = model.run_with_cache(IDX, names=names)
    seen = []
    watch = {name: (lambda v, name=name: seen.append(name)) for name in model.hook_names()}
    got = capture_activations(model, IDX, names, hooks=watch)
    assert set(got) == set(names)
    for name in names:
        np.testing.assert_array_equal(got[name], cache[name])
    # the pass ended at blocks.1.resid_mid: no later hook point ran
    assert seen == model.hook_names()[:model.hook_names().index("blocks.1.resid_mid") + 1]
    one = capture_activations(model, IDX[0], "embed")
    assert one["embed"].shape == (1, IDX.shape[1], 8)


def test_capture_activations_applies_hooks_and_refuses_bad_names(model):
    from minigpt.hooks import capture_activations
    zero = {"blocks.0.mlp_out": lambda v: np.zeros_like(v)}
    _, cache = model.run_with_cache(IDX, names=["blocks.1.mlp.post"], hooks=zero)
    got = capture_activations(model, IDX, ["blocks.1.mlp.post"], hooks=zero)
    np.testing.assert_array_equal(got["blocks.1.mlp.post"], cache["blocks.1.mlp.post"])
    with pytest.raises(ValueError, match="at least one"):
        capture_activations(model, IDX, [])
    with pytest.raises(ValueError, match="unknown hook names"):
        capture_activations(model, IDX, ["blocks.9.mlp.post"])
