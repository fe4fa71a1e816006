"""data_parallel_grads: the batch split across threads gives the full batch's loss and
gradients."""

import threading

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.threads import threadpoolctl_available
from minigpt.train import data_parallel_grads

CFG = GPTConfig(vocab_size=24, n_ctx=8, n_layer=2, n_head=2, d_model=16)
IGNORE = -100
EXACT = 1e-12  # float64: the weighted sum differs from the full batch by rounding alone


def batch(B=5, T=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, CFG.vocab_size, (B, T)), rng.integers(0, CFG.vocab_size, (B, T))


def assert_same(got, want):
    (loss, grads), (want_loss, want_grads) = got, want
    assert abs(loss - want_loss) <= EXACT
    assert list(grads) == list(want_grads)
    for name, g in grads.items():
        assert g.shape == want_grads[name].shape and g.dtype == want_grads[name].dtype, name
        np.testing.assert_allclose(g, want_grads[name], rtol=0, atol=EXACT, err_msg=name)


@pytest.mark.parametrize("n_threads", [2, 3, 5, 8])
def test_equals_the_full_batch_gradient(n_threads):
    model = GPT(CFG, seed=1, dtype=np.float64)
    idx, targets = batch(B=5)  # 5 rows: uneven slices for 2 and 3 threads; 8 > B
    assert_same(data_parallel_grads(model, idx, targets, n_threads),
                model.loss_and_grads(idx, targets))


def test_slices_with_different_token_counts_are_weighted_by_them():
    # slice 1 (rows 0-1) counts 16 targets, slice 2 (rows 2-3) only 3: a plain average of
    # the two slices' means would weight each of slice 2's tokens five times too much
    model = GPT(CFG, seed=2, dtype=np.float64)
    idx, targets = batch(B=4)
    targets[2:] = IGNORE
    targets[3, :3] = [1, 2, 3]
    assert_same(data_parallel_grads(model, idx, targets, 2, ignore_index=IGNORE),
                model.loss_and_grads(idx, targets, ignore_index=IGNORE))


def test_a_slice_with_every_target_ignored_is_skipped():
    model = GPT(CFG, seed=3, dtype=np.float64)
    idx, targets = batch(B=4)
    targets[2:] = IGNORE
    assert_same(data_parallel_grads(model, idx, targets, 2, ignore_index=IGNORE),
                model.loss_and_grads(idx, targets, ignore_index=IGNORE))


def test_one_thread_or_one_sequence_is_loss_and_grads():
    model = GPT(CFG, seed=4, dtype=np.float64)
    idx, targets = batch(B=3)
    assert_same(data_parallel_grads(model, idx, targets, 1), model.loss_and_grads(idx, targets))
    assert_same(data_parallel_grads(model, idx[0], targets[0]),
                model.loss_and_grads(idx[0], targets[0]))


def test_float32_matches_to_rounding_and_keeps_the_dtype():
    model = GPT(CFG, seed=5, dtype=np.float32)
    idx, targets = batch(B=4)
    loss, grads = data_parallel_grads(model, idx, targets)
    want_loss, want = model.loss_and_grads(idx, targets)
    assert loss == pytest.approx(want_loss, rel=1e-6)
    for name, g in grads.items():
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, want[name], rtol=1e-4, atol=1e-7, err_msg=name)


def test_runs_the_slices_in_separate_threads_with_one_blas_thread():
    model = GPT(CFG, seed=6, dtype=np.float64)
    idx, targets = batch(B=4)
    seen = []
    full = model.loss_and_grads

    def recording(*args, **kwargs):
        blas = None
        if threadpoolctl_available():
            from threadpoolctl import threadpool_info
            blas = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
        seen.append((threading.get_ident(), blas))
        return full(*args, **kwargs)

    model.loss_and_grads = recording
    data_parallel_grads(model, idx, targets, 2)
    assert len({ident for ident, _ in seen}) == 2
    if threadpoolctl_available():
        assert all(blas == {1} for _, blas in seen)


def test_reads_the_model_without_changing_it():
    model = GPT(CFG, seed=7, dtype=np.float64)
    before = {k: v.copy() for k, v in model.params.items()}
    data_parallel_grads(model, *batch(B=4))
    for name, p in model.params.items():
        np.testing.assert_array_equal(p, before[name])


def test_bad_arguments_raise_clear_errors():
    model = GPT(CFG, seed=8)
    idx, targets = batch(B=4)
    with pytest.raises(ValueError, match="n_threads must be >= 1"):
        data_parallel_grads(model, idx, targets, 0)
    with pytest.raises(TypeError, match="n_threads must be an int"):
        data_parallel_grads(model, idx, targets, 2.0)
    with pytest.raises(TypeError, match="n_threads must be an int"):
        data_parallel_grads(model, idx, targets, None)
    with pytest.raises(ValueError, match="targets must have the shape of idx"):
        data_parallel_grads(model, idx, targets[:, :-1])
    with pytest.raises(ValueError, match="idx must be in"):
        data_parallel_grads(model, idx + CFG.vocab_size, targets)
    with pytest.raises(TypeError, match="idx must hold integer"):
        data_parallel_grads(model, idx.astype(float), targets)


def test_an_error_in_the_other_thread_reaches_the_caller():
    model = GPT(CFG, seed=9)
    idx, targets = batch(B=4)
    targets[3, 0] = CFG.vocab_size  # in the second slice, which a pool thread computes
    with pytest.raises(ValueError, match="targets must be in"):
        data_parallel_grads(model, idx, targets, 2)


def test_every_target_ignored_is_the_same_error_as_loss_and_grads():
    model = GPT(CFG, seed=10)
    idx, targets = batch(B=4)
    with pytest.raises(ValueError, match="every target equals ignore_index"):
        data_parallel_grads(model, idx, np.full_like(targets, IGNORE), 2, ignore_index=IGNORE)


def test_train_with_data_parallel_follows_the_same_path():
    from minigpt.train import TrainSettings, train
    cfg = GPTConfig(vocab_size=16, n_ctx=8, n_layer=2, n_head=2, d_model=8)
    data = np.random.default_rng(0).integers(0, 16, size=400)
    runs = {}
    for parallel in (False, True):
        model = GPT(cfg, seed=0, dtype=np.float64)
        settings = TrainSettings(steps=5, batch_size=4, warmup_steps=1, eval_every=0,
                                 data_parallel=parallel)
        runs[parallel] = model, train(model, data, settings, progress=False)
    (serial, r0), (parallel, r1) = runs[False], runs[True]
    np.testing.assert_allclose(r1.losses, r0.losses, rtol=1e-10)
    for name, p in serial.params.items():
        np.testing.assert_allclose(parallel.params[name], p, rtol=1e-9, atol=1e-12)
    with pytest.raises(TypeError, match="data_parallel must be a bool or None"):
        TrainSettings(data_parallel="yes")


def test_the_train_command_records_data_parallel(tmp_path):
    from minigpt.checkpoint import load_checkpoint
    from tests.test_cli import shell
    out = tmp_path / "m.safetensors"
    code, _, err = shell("train", "--steps", "2", "--n-layer", "1", "--d-model", "16",
                         "--n-head", "2", "--n-ctx", "16", "--batch-size", "4",
                         "--data-parallel", "--out", out, "--no-progress")
    assert code == 0, err
    assert load_checkpoint(out).extra["train_settings"]["data_parallel"] is True


def test_the_train_command_can_turn_it_off_and_leaves_it_to_train_by_default(tmp_path):
    from minigpt.checkpoint import load_checkpoint
    from tests.test_cli import shell
    recorded = {}
    for flag in ("--no-data-parallel", None):
        out = tmp_path / f"{flag}.safetensors"
        args = ["train", "--steps", "2", "--n-layer", "1", "--d-model", "16", "--n-head", "2",
                "--n-ctx", "16", "--batch-size", "4", "--out", out, "--no-progress"]
        code, _, err = shell(*args, *([flag] if flag else []))
        assert code == 0, err
        recorded[flag] = load_checkpoint(out).extra["train_settings"]["data_parallel"]
    assert recorded == {"--no-data-parallel": False, None: None}


BIG = GPTConfig(vocab_size=512, n_ctx=128, n_layer=6, n_head=6, d_model=384)  # 70 GFLOP at B 8


def pays_on(monkeypatch, cpus, threadpoolctl=True):
    import minigpt.train as train_module
    monkeypatch.setattr(train_module, "usable_cpus", lambda: cpus)
    monkeypatch.setattr(train_module, "threadpoolctl_available", lambda: threadpoolctl)
    return train_module.data_parallel_pays


def test_data_parallel_pays_for_large_steps_on_two_cpus(monkeypatch):
    pays = pays_on(monkeypatch, cpus=2)
    assert pays(BIG, batch_size=8, block_size=128)
    tiny = GPTConfig(vocab_size=256, n_ctx=32, n_layer=2, n_head=4, d_model=64)
    assert not pays(tiny, batch_size=8, block_size=32)  # 0.19 GFLOP: slower split
    assert not pays(BIG, batch_size=1, block_size=128)  # one window: nothing to split


@pytest.mark.parametrize("cpus", [1, 4, 64])
def test_data_parallel_is_left_off_on_other_machines(monkeypatch, cpus):
    assert not pays_on(monkeypatch, cpus)(BIG, batch_size=8, block_size=128)


def test_data_parallel_needs_threadpoolctl(monkeypatch):
    assert not pays_on(monkeypatch, 2, threadpoolctl=False)(BIG, batch_size=8, block_size=128)


def test_threshold_is_six_params_tokens(monkeypatch):
    from minigpt import count_params
    from minigpt.train import DATA_PARALLEL_MIN_FLOPS
    pays = pays_on(monkeypatch, cpus=2)
    cfg = GPTConfig(vocab_size=64, n_ctx=64, n_layer=2, n_head=2, d_model=64)
    per_token = 6 * count_params(cfg)
    tokens = int(np.ceil(DATA_PARALLEL_MIN_FLOPS / per_token))  # the fewest that reach it
    assert pays(cfg, batch_size=tokens, block_size=1)
    assert not pays(cfg, batch_size=tokens - 1, block_size=1)


@pytest.mark.parametrize("decided", [False, True])
def test_train_follows_data_parallel_pays_when_left_to_it(monkeypatch, decided):
    import minigpt.train as train_module
    from minigpt.train import TrainSettings, train
    calls = []
    monkeypatch.setattr(train_module, "data_parallel_pays", lambda *a: calls.append(a) or decided)
    split = []
    real = train_module.data_parallel_grads
    monkeypatch.setattr(train_module, "data_parallel_grads",
                        lambda *a, **k: split.append(1) or real(*a, **k))
    cfg = GPTConfig(vocab_size=16, n_ctx=8, n_layer=1, n_head=2, d_model=8)
    data = np.random.default_rng(0).integers(0, 16, size=200)
    settings = TrainSettings(steps=3, batch_size=4, warmup_steps=1, eval_every=0)
    assert settings.data_parallel is None
    train(GPT(cfg, seed=0), data, settings, progress=False)
    assert calls == [(cfg, 4, 8)]
    assert len(split) == (3 if decided else 0)


@pytest.mark.parametrize("flag, split", [("--data-parallel", True), ("--no-data-parallel", False)])
def test_the_train_command_says_whether_it_split_the_batches(tmp_path, flag, split):
    import json

    from tests.test_cli import shell
    args = ["train", "--steps", "2", "--n-layer", "1", "--d-model", "16", "--n-head", "2",
            "--n-ctx", "16", "--batch-size", "4", "--out", tmp_path / "m.safetensors",
            "--no-progress", flag]
    code, out, err = shell(*args)
    assert code == 0, err
    assert ("each batch split between two threads" in out) is split
    code, out, err = shell(*args, "--json")
    assert code == 0, err
    assert json.loads(out)["data_parallel"] is split
