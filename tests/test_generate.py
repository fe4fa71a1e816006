import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.model import NonFiniteError
from minigpt.generation import decode, sample_logits

CFG = GPTConfig(vocab_size=23, n_ctx=16, n_layer=3, n_head=2, d_model=16,
                attention="alternating", local_window=4)


@pytest.fixture(scope="module")
def model():
    m = GPT(CFG, seed=1)
    rng = np.random.default_rng(0)
    for p in m.params.values():  # a less uniform model than the init, so argmaxes are clear
        p += (rng.standard_normal(p.shape) * 0.3).astype(p.dtype)
    return m


def test_kv_cache_logits_equal_full_forward(model):
    """Decoding token by token with the cache gives the logits of a full forward pass."""
    rng = np.random.default_rng(0)
    seq = rng.integers(0, CFG.vocab_size, size=(3, CFG.n_ctx))
    full = model.forward(seq)  # (B, T, V)
    kv = [(np.zeros((3, 2, CFG.n_ctx, 8), np.float32), np.zeros((3, 2, CFG.n_ctx, 8), np.float32))
          for _ in range(CFG.n_layer)]
    steps = [decode(model, seq[:, :5], kv, 0)]  # prefill 5 tokens
    steps += [decode(model, seq[:, t:t + 1], kv, t) for t in range(5, CFG.n_ctx)]
    cached = np.stack(steps, axis=1)  # (B, T - 4, V): logits at positions 4 .. T-1
    assert np.max(np.abs(cached - full[:, 4:])) < 1e-5


def _naive_greedy(model, prompt, n_new):
    """Recompute the whole window for every token, sliding exactly as generate documents."""
    seq, start, n_ctx = list(prompt), 0, model.config.n_ctx
    for _ in range(n_new):
        if len(seq) - start > n_ctx:
            start = len(seq) - n_ctx // 2
        seq.append(int(model.forward(np.array(seq[start:]))[-1].argmax()))
    return np.array(seq)


@pytest.mark.parametrize("n_new", [5, 40])  # 40 slides the window twice
def test_greedy_generation_matches_recomputing(model, n_new):
    prompt = np.array([3, 1, 4, 1, 5])
    out = model.generate(prompt, n_new, temperature=0)
    assert out.shape == (5 + n_new,) and out.dtype == np.int64
    np.testing.assert_array_equal(out[:5], prompt)
    np.testing.assert_array_equal(out, _naive_greedy(model, prompt, n_new))


def test_batch_generation_and_seeds(model):
    prompts = np.array([[1, 2], [3, 4]])
    a = model.generate(prompts, 8, temperature=1.0, top_k=5, seed=7)
    b = model.generate(prompts, 8, temperature=1.0, top_k=5, seed=7)
    assert a.shape == (2, 10)
    np.testing.assert_array_equal(a, b)
    assert model.generate(prompts, 0).shape == (2, 2)


def test_generate_bad_arguments(model):
    with pytest.raises(ValueError, match="max_new_tokens must be an int >= 0, got -1"):
        model.generate([1], -1)
    with pytest.raises(TypeError, match="max_new_tokens must be an int, got float"):
        model.generate([1], 2.0)
    with pytest.raises(ValueError, match="temperature must be a finite number >= 0, got -1"):
        model.generate([1], 2, temperature=-1)
    with pytest.raises(ValueError, match=r"top_p must be a finite number in \(0, 1\], got 1.5"):
        model.generate([1], 2, top_p=1.5)
    with pytest.raises(ValueError, match="top_k must be an int >= 1, got 0"):
        model.generate([1], 2, top_k=0)
    with pytest.raises(TypeError, match="top_k must be an int, got float"):
        model.generate([1], 2, top_k=2.0)
    with pytest.raises(TypeError, match="temperature must be a real number, got str"):
        model.generate([1], 2, temperature="hot")
    with pytest.raises(ValueError, match="sequence length must be <= n_ctx=16, got 17"):
        model.generate(np.zeros(17, dtype=int), 2)


def test_sampling_frequencies_follow_the_distribution():
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    logits = np.tile(np.log(probs), (20000, 1))
    rng = np.random.default_rng(0)
    counts = np.bincount(sample_logits(logits, rng), minlength=4) / 20000
    np.testing.assert_allclose(counts, probs, atol=0.015)
    top2 = np.bincount(sample_logits(logits, rng, top_k=2), minlength=4) / 20000
    np.testing.assert_allclose(top2, [0.625, 0.375, 0, 0], atol=0.015)
    # nucleus 0.75: 0.5 + 0.3 reaches it, so only the first two remain
    nucleus = np.bincount(sample_logits(logits, rng, top_p=0.75), minlength=4) / 20000
    np.testing.assert_allclose(nucleus, [0.625, 0.375, 0, 0], atol=0.015)
    cold = np.bincount(sample_logits(logits, rng, temperature=0.1), minlength=4) / 20000
    assert cold[0] > 0.98


def test_top_p_always_keeps_the_most_likely():
    ids = sample_logits(np.array([[5.0, 0.0, 0.0]]), np.random.default_rng(0), top_p=0.01)
    assert ids.tolist() == [0]


@pytest.mark.parametrize("temperature", [1e-6, 1e-300, 1e-320, 5e-324])
def test_a_tiny_temperature_samples_greedily(model, temperature):
    prompt = np.array([3, 1, 4, 1, 5])
    with np.errstate(over="raise", invalid="raise"):  # no inf - inf = NaN on the way
        out = model.generate(prompt, 12, temperature=temperature, seed=0)
    np.testing.assert_array_equal(out, model.generate(prompt, 12, temperature=0))
    logits = np.array([[0.0, 2.5, 2.5, -1.0]])  # a tie: the two best share the probability
    ids = sample_logits(np.tile(logits, (2000, 1)), np.random.default_rng(0), temperature)
    assert set(ids.tolist()) == {1, 2}


def test_non_finite_weights_stop_generation(model):
    broken = GPT(CFG, params={k: v.copy() for k, v in model.params.items()})
    broken.params["blocks.1.mlp.w_up"][0, 0] = np.nan
    with pytest.raises(NonFiniteError, match="new token 1 are not finite: 1 of the model's"):
        broken.generate(np.array([1, 2]), 3, temperature=0)
    huge = GPT(CFG, params={k: v.copy() for k, v in model.params.items()})
    huge.params["ln_f.bias"][:] = np.float32(3e38)  # finite weights whose logits overflow
    with np.errstate(over="ignore", invalid="ignore"), \
            pytest.raises(NonFiniteError, match="weights are finite but overflow float32"):
        huge.generate(np.array([1, 2]), 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_sampling_refuses_nan_and_inf_logits(bad):
    logits = np.array([[0.0, 1.0], [bad, 1.0]])
    for temperature in (0, 1.0):
        with pytest.raises(ValueError, match="finite maximum in every row"):
            sample_logits(logits, np.random.default_rng(0), temperature)
    masked = np.array([[-np.inf, 1.0, -np.inf]])  # -inf masks a token: allowed
    assert sample_logits(masked, np.random.default_rng(0)).tolist() == [1]
