import signal

import numpy as np
import pytest

import minigpt.train
from minigpt import GPT, GPTConfig
from minigpt.checkpoint import load_checkpoint
from minigpt.facts import facts_dataset, load_model
from minigpt.optim import AdamW
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


def _loss_of(path):
    model, _ = load_model(path)
    x, y = get_batch(IDS, window_starts(len(IDS), 12, STARTS), 8, 12, np.random.default_rng(0))
    return model.loss_and_grads(x, y)[0]


@pytest.mark.parametrize("lr", [1e38, 1e30, 1e20, 1e10])
def test_divergence_never_saves_a_state_with_a_non_finite_loss(tmp_path, lr):
    ckpt = tmp_path / "run.safetensors"
    train(GPT(CFG, seed=0), IDS, QUICK, starts=STARTS, out=ckpt, until=3, progress=False)
    good_bytes = ckpt.read_bytes()
    wild = TrainSettings(**{**QUICK.__dict__, "lr": lr, "warmup_steps": 0, "checkpoint_every": 1})
    with pytest.raises(NonFiniteError, match="the checkpoint holds step 3, the last good state|"
                                             "this run saved no checkpoint"), \
            np.errstate(all="ignore"):
        train(GPT(CFG, seed=0), IDS, wild, starts=STARTS, out=ckpt, resume=ckpt, progress=False)
    assert ckpt.read_bytes() == good_bytes
    assert np.isfinite(_loss_of(ckpt))


def test_an_update_that_overflows_the_weights_stops_at_once():
    wild = TrainSettings(**{**QUICK.__dict__, "lr": 1e38, "warmup_steps": 0})
    with pytest.raises(NonFiniteError, match=r"step 1: the update \(learning rate 1e\+38\) made "
                                             r"[\d,]+ weights NaN or infinite"), \
            np.errstate(all="ignore"):
        train(GPT(CFG, seed=0), IDS, wild, starts=STARTS, progress=False)


def _interrupt_on_call(monkeypatch, owner, name, n):
    """Send this process SIGINT (Ctrl-C) inside the n-th call of ``owner.name``."""
    original, calls = getattr(owner, name), []

    def interrupting(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            signal.raise_signal(signal.SIGINT)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, interrupting)


@pytest.mark.parametrize("where, n, stopped_at", [
    ((minigpt.train, "get_batch"), 8, 7),  # during step 8's batch: steps 1-7 are done
    ((AdamW, "step"), 5, 5),  # inside the 5th update: it finishes first
])
def test_ctrl_c_saves_a_state_that_resumes_bit_for_bit(tmp_path, monkeypatch, where, n, stopped_at):
    straight = GPT(CFG, seed=0)
    train(straight, IDS, QUICK, starts=STARTS, progress=False)

    ckpt = tmp_path / "interrupted.safetensors"
    with monkeypatch.context() as patch:
        _interrupt_on_call(patch, *where, n)
        with pytest.raises(minigpt.train.TrainingInterrupted) as stopped:
            train(GPT(CFG, seed=0), IDS, QUICK, starts=STARTS, out=ckpt, progress=False)
    assert isinstance(stopped.value, KeyboardInterrupt)
    assert (stopped.value.step, stopped.value.checkpoint) == (stopped_at, str(ckpt))
    assert load_checkpoint(ckpt).step == stopped_at

    resumed = GPT(CFG, seed=123)
    train(resumed, IDS, QUICK, starts=STARTS, resume=ckpt, progress=False)
    for name in straight.params:
        np.testing.assert_array_equal(resumed.params[name], straight.params[name], err_msg=name)


def test_ctrl_c_without_out_saves_nothing(monkeypatch):
    _interrupt_on_call(monkeypatch, minigpt.train, "get_batch", 3)
    with pytest.raises(minigpt.train.TrainingInterrupted, match="after step 2; nothing saved"):
        train(GPT(CFG, seed=0), IDS, QUICK, starts=STARTS, progress=False)


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
