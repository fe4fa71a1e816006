import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.checkpoint import load_checkpoint
from minigpt.facts import facts_dataset
from minigpt.train import NonFiniteError, TrainSettings, get_batch, train, window_starts

TOK, IDS, STARTS = facts_dataset()
CFG = GPTConfig(vocab_size=TOK.vocab_size, n_ctx=12, n_layer=2, n_head=2, d_model=32,
                attention="alternating", local_window=4)
QUICK = TrainSettings(steps=20, batch_size=8, lr=3e-3, warmup_steps=5, eval_every=10,
                      eval_batches=2, seed=3)


def test_short_training_run_reduces_the_loss_fivefold():
    model = GPT(CFG, seed=0)
    settings = TrainSettings(steps=600, batch_size=16, lr=3e-3, warmup_steps=20, eval_every=200)
    result = train(model, IDS, settings, starts=STARTS, progress=False)
    first, last = result.losses[0], float(np.mean(result.losses[-20:]))
    assert first == pytest.approx(np.log(TOK.vocab_size), abs=0.2)  # chance level at init
    assert last < first / 5, (first, last)
    assert [s for s, _ in result.evals] == [200, 400, 600]
    assert result.evals[-1][1] < result.evals[0][1]


def test_resume_equals_uninterrupted_bit_for_bit(tmp_path):
    straight = GPT(CFG, seed=0)
    train(straight, IDS, QUICK, starts=STARTS, progress=False)

    first_half = GPT(CFG, seed=0)
    ckpt = tmp_path / "half.safetensors"
    train(first_half, IDS, QUICK, starts=STARTS, out=ckpt, until=11, progress=False)
    assert load_checkpoint(ckpt).step == 11

    resumed = GPT(CFG, seed=123)  # different init: everything must come from the checkpoint
    result = train(resumed, IDS, QUICK, starts=STARTS, resume=ckpt, progress=False)
    assert (result.start_step, result.step, len(result.losses)) == (11, 20, 9)
    for name in straight.params:
        np.testing.assert_array_equal(resumed.params[name], straight.params[name], err_msg=name)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    model = GPT(CFG, seed=0)
    ckpt = tmp_path / "good.safetensors"
    train(model, IDS, QUICK, starts=STARTS, out=ckpt, until=5, progress=False)
    good_bytes = ckpt.read_bytes()
    model.params["blocks.1.mlp.w_up"][0, 0] = np.nan  # poison the weights
    settings = TrainSettings(**{**QUICK.__dict__, "checkpoint_every": 1})
    with pytest.raises(NonFiniteError, match="step 0: loss nan"):
        train(model, IDS, settings, starts=STARTS, out=ckpt, progress=False)
    assert ckpt.read_bytes() == good_bytes


def test_batches_are_next_token_windows_from_allowed_starts():
    data = np.arange(100) % 50
    starts = np.array([0, 10, 20, 95])  # 95 cannot fit a window of 8 + 1
    allowed = window_starts(100, 8, starts)
    assert allowed.tolist() == [0, 10, 20]
    x, y = get_batch(data, allowed, 64, 8, np.random.default_rng(0))
    assert x.shape == y.shape == (64, 8) and x.dtype == np.int64
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    assert set(x[:, 0].tolist()) <= {0, 10, 20}


def test_bad_training_input():
    model = GPT(CFG)
    with pytest.raises(ValueError, match="too few for one window"):
        train(model, IDS[:5], QUICK, progress=False)
    with pytest.raises(ValueError, match=r"data must be in \[0, "):
        train(model, np.array([0, 1, CFG.vocab_size] * 10), QUICK, progress=False)
    with pytest.raises(TypeError, match="data must hold integer token ids"):
        train(model, np.zeros(100), QUICK, progress=False)
    with pytest.raises(ValueError, match="block_size must be <= n_ctx=12, got 13"):
        train(model, IDS, TrainSettings(block_size=13), progress=False)
    with pytest.raises(ValueError, match="steps must be an int >= 1, got 0"):
        TrainSettings(steps=0)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        TrainSettings(lr=-1.0)


def test_resume_from_another_model_is_refused(tmp_path):
    ckpt = tmp_path / "other.safetensors"
    train(GPT(CFG), IDS, QUICK, starts=STARTS, out=ckpt, until=1, progress=False)
    other = GPT(GPTConfig(vocab_size=TOK.vocab_size, n_ctx=12, n_layer=1, n_head=2, d_model=32))
    with pytest.raises(ValueError, match="holds a model of config"):
        train(other, IDS, QUICK, starts=STARTS, resume=ckpt, progress=False)
