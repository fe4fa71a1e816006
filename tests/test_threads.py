"""Tests for minigpt.threads: BLAS thread limits and the training loop's thread rule."""

from __future__ import annotations

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.threads import (SINGLE_THREAD_MAX_FLOPS, blas_threads, threadpoolctl_available,
                             training_blas_threads)
from minigpt.train import TrainSettings, train
from tests.helpers import require

TINY = GPTConfig(vocab_size=256, n_ctx=32, n_layer=2, n_head=4, d_model=64)


def blas_thread_counts() -> list[int]:
    threadpoolctl = require("threadpoolctl")
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_blas_threads_limits_inside_and_restores_after():
    before = blas_thread_counts()
    assert before, "numpy's BLAS should be visible to threadpoolctl"
    assert threadpoolctl_available()
    with blas_threads(1):
        assert blas_thread_counts() == [1] * len(before)
        inner = np.ones((50, 40)) @ np.ones((40, 30))
    assert blas_thread_counts() == before
    np.testing.assert_array_equal(inner, np.full((50, 30), 40.0))
    with blas_threads(None):
        assert blas_thread_counts() == before


def test_blas_threads_restores_after_an_error():
    before = blas_thread_counts()
    with pytest.raises(RuntimeError, match="inside"):
        with blas_threads(1):
            raise RuntimeError("inside")
    assert blas_thread_counts() == before


@pytest.mark.parametrize("n, error, match", [
    (0, ValueError, ">= 1 or None, got 0"),
    (-2, ValueError, "got -2"),
    (1.0, TypeError, "int or None, got float"),
    ("2", TypeError, "got str"),
    (True, TypeError, "got bool"),
])
def test_blas_threads_rejects_bad_counts(n, error, match):
    with pytest.raises(error, match=match):
        with blas_threads(n):
            pass


def test_thread_rule_is_one_thread_below_the_flop_bound_only():
    C, F = TINY.d_model, TINY.d_ff
    tokens_at_bound = int(SINGLE_THREAD_MAX_FLOPS // (2 * C * F))  # largest count below it
    assert 2.0 * tokens_at_bound * C * F < SINGLE_THREAD_MAX_FLOPS
    assert training_blas_threads(TINY, tokens_at_bound) == 1
    assert training_blas_threads(TINY, tokens_at_bound + 1) is None
    assert training_blas_threads(TINY, 8 * 32) == 1  # the benchmarks' tiny shape
    medium = GPTConfig(vocab_size=512, n_ctx=128, n_layer=6, n_head=6, d_model=384)
    assert training_blas_threads(medium, 8 * 128) is None


def test_thread_rule_rejects_bad_input():
    with pytest.raises(TypeError, match="GPTConfig, got dict"):
        training_blas_threads({"d_model": 64}, 10)
    for tokens in (0, 2.5, True):
        with pytest.raises(ValueError, match="tokens must be an int >= 1"):
            training_blas_threads(TINY, tokens)


@pytest.mark.parametrize("setting, inside", [("auto", 1), (1, 1), (None, None)])
def test_training_loop_runs_under_its_thread_setting(setting, inside):
    before = blas_thread_counts()
    cfg = GPTConfig(vocab_size=16, n_ctx=8, n_layer=1, n_head=2, d_model=8)
    model = GPT(cfg, seed=0)
    seen = []
    loss_and_grads = model.loss_and_grads

    def spy(x, y):
        seen.append(blas_thread_counts())
        return loss_and_grads(x, y)

    model.loss_and_grads = spy
    data = np.arange(200) % 16
    train(model, data, TrainSettings(steps=2, batch_size=2, warmup_steps=1, eval_every=0,
                                     blas_threads=setting), progress=False)
    expected = before if inside is None else [inside] * len(before)
    assert seen == [expected, expected]
    assert blas_thread_counts() == before


@pytest.mark.parametrize("bad", [0, -1, "fast", 1.5, True])
def test_train_settings_reject_bad_thread_setting(bad):
    with pytest.raises(ValueError, match='blas_threads must be "auto", an int >= 1 or None'):
        TrainSettings(blas_threads=bad)
