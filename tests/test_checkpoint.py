"""Tests for minigpt.checkpoint: round trip, atomic writes, and every way a file can be bad."""

from __future__ import annotations

import json
import os
import tracemalloc

import numpy as np
import pytest
import safetensors.numpy as stnp
from safetensors import safe_open

import minigpt.checkpoint as ckpt_mod
import minigpt.tensorfile as tensorfile
from minigpt.checkpoint import (Checkpoint, CheckpointError, load_checkpoint, restore_rng,
                                save_checkpoint)
from minigpt.config import GPTConfig, param_shapes
from minigpt.optim import AdamW
from tests.helpers import rewrite_checkpoint as rewrite
from tests.helpers import with_dtype

CFG = GPTConfig(vocab_size=13, n_ctx=6, n_layer=2, n_head=2, d_model=8, activation="relu")
NAME = "ckpt.safetensors"


class JsonTokenizer:
    """A stand-in with the one method checkpoints use."""

    def __init__(self, chars):
        self.chars = chars

    def to_json(self):
        return json.dumps({"kind": "char", "chars": self.chars})


def make_params(cfg=CFG, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(dtype) for k, s in param_shapes(cfg).items()}


@pytest.fixture
def state():
    params = make_params()
    opt = AdamW(params, lr=1e-2)
    grng = np.random.default_rng(7)
    for _ in range(2):
        opt.step({k: grng.standard_normal(v.shape).astype(v.dtype) for k, v in params.items()})
    rng = np.random.default_rng(2024)
    rng.random(17)  # advance it, so the saved state is not a fresh seed's
    return params, opt, rng


def save_full(path, state, step=5):
    params, opt, rng = state
    save_checkpoint(path, params, config=CFG, step=step, optimizer=opt, rng=rng,
                    tokenizer=JsonTokenizer("abc"), extra={"loss": 2.5, "args": {"seed": 1}})


# ----------------------------------------------------------------------------- round trip

def test_round_trip(tmp_path, state):
    params, opt, rng = state
    path = tmp_path / NAME
    save_full(path, state, step=5)
    ck = load_checkpoint(path)
    assert isinstance(ck, Checkpoint)
    assert ck.config == CFG and ck.step == 5
    assert list(ck.params) == list(param_shapes(CFG))
    for name, p in params.items():
        assert ck.params[name].dtype == np.float32 and ck.params[name].flags.writeable
        np.testing.assert_array_equal(ck.params[name], p)
    assert set(ck.optimizer_state) == set(opt.state_dict())
    for key, arr in opt.state_dict().items():
        assert ck.optimizer_state[key].dtype == arr.dtype
        np.testing.assert_array_equal(ck.optimizer_state[key], arr)
    assert ck.tokenizer == {"kind": "char", "chars": "abc"}
    assert ck.extra == {"loss": 2.5, "args": {"seed": 1}}
    # The random stream continues exactly where it stopped.
    restored = restore_rng(ck.rng_state)
    np.testing.assert_array_equal(restored.random(8), rng.random(8))
    np.testing.assert_array_equal(restored.integers(0, 1 << 62, 4), rng.integers(0, 1 << 62, 4))


def test_resumed_training_is_identical(tmp_path, state):
    params, opt, _ = state
    save_full(tmp_path / NAME, state)
    ck = load_checkpoint(tmp_path / NAME)
    opt2 = AdamW(ck.params, lr=1e-2)
    opt2.load_state_dict(ck.optimizer_state)
    grng = np.random.default_rng(99)
    for _ in range(2):
        g = {k: grng.standard_normal(v.shape).astype(v.dtype) for k, v in params.items()}
        opt.step(g)
        opt2.step(g)
    for name in params:
        np.testing.assert_array_equal(ck.params[name], params[name])


def test_minimal_checkpoint_and_overwrite(tmp_path):
    path = str(tmp_path / NAME)
    save_checkpoint(path, make_params(seed=1), config=CFG, step=1)
    save_checkpoint(path, make_params(seed=2), config=CFG, step=2)
    ck = load_checkpoint(path)
    assert ck.step == 2 and ck.extra == {}
    assert ck.optimizer_state is None and ck.rng_state is None and ck.tokenizer is None
    np.testing.assert_array_equal(ck.params["tok_emb"], make_params(seed=2)["tok_emb"])
    assert os.listdir(tmp_path) == [NAME]


def test_plain_safetensors_can_read_it(tmp_path, state):
    path = tmp_path / NAME
    save_full(path, state)
    tensors = stnp.load_file(path)
    assert {k for k in tensors if k.startswith("params.")} == {f"params.{k}" for k in param_shapes(CFG)}
    assert tensors["optim.t"].shape == () and int(tensors["optim.t"]) == 2
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata()
    assert meta["format"] == "minigpt-checkpoint" and meta["version"] == "1"
    assert json.loads(meta["config"]) == CFG.to_dict() and json.loads(meta["step"]) == 5
    data = path.read_bytes()  # safetensors layout: u64 header length, JSON header, raw bytes
    header_len = int.from_bytes(data[:8], "little")
    assert data[8:9] == b"{" and 8 + header_len < len(data)
    assert json.loads(data[8:8 + header_len])["__metadata__"]["format"] == "minigpt-checkpoint"


def test_dict_tokenizer_json_is_accepted(tmp_path):
    class DictTok:
        def to_json(self):
            return {"kind": "word", "vocab": ["a", "b"]}
    save_checkpoint(tmp_path / NAME, make_params(), config=CFG, tokenizer=DictTok())
    assert load_checkpoint(tmp_path / NAME).tokenizer == {"kind": "word", "vocab": ["a", "b"]}


# ----------------------------------------------------------------------------- atomicity

@pytest.mark.parametrize("target", ["os.replace", "os.fsync", "write"])
def test_failed_save_leaves_old_file_and_no_temp(tmp_path, state, monkeypatch, target):
    path = tmp_path / NAME
    save_full(path, state, step=5)
    old = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk on fire")

    if target == "write":
        def half_write(filename, mode):
            with open(filename, mode) as f:
                f.write(b"partial")
            boom()
        monkeypatch.setattr(tensorfile, "open", half_write, raising=False)
    else:
        monkeypatch.setattr(os, target.split(".")[1], boom)
    with pytest.raises(OSError, match="disk on fire"):
        save_full(path, state, step=6)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == [NAME]
    assert load_checkpoint(path).step == 5


# ----------------------------------------------------------------------------- bad files

def test_missing_file(tmp_path):
    path = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        load_checkpoint(path)


def test_directory_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("keep", [0, 4, 100, 0.5, -1])
def test_truncated(tmp_path, state, keep):
    path = tmp_path / NAME
    save_full(path, state)
    data = path.read_bytes()
    if isinstance(keep, float):
        n = int(len(data) * keep)
    else:
        n = len(data) + keep if keep < 0 else keep
    path.write_bytes(data[:n])
    with pytest.raises(CheckpointError, match="not a readable safetensors file") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_corrupted_tensor_bytes(tmp_path, state):
    path = tmp_path / NAME
    save_full(path, state)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x10  # a bit in the last tensor's data
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(path)


def test_corrupted_metadata_value(tmp_path, state):
    path = tmp_path / NAME
    save_full(path, state, step=5)
    data = path.read_bytes()
    assert data.count(b'"step":"5"') == 1
    path.write_bytes(data.replace(b'"step":"5"', b'"step":"7"'))
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(path)


def test_corrupted_header_bytes(tmp_path, state):
    path = tmp_path / NAME
    save_full(path, state)
    data = bytearray(path.read_bytes())
    data[9] = 0xFF  # inside the JSON header: not UTF-8
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(path)


def test_not_safetensors_at_all(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(path)


def test_foreign_safetensors_file(tmp_path):
    path = tmp_path / "other.safetensors"
    stnp.save_file({"weight": np.random.default_rng(0).random((3, 4))}, path)
    with pytest.raises(CheckpointError, match="not a minigpt checkpoint: metadata format is None"):
        load_checkpoint(path)
    stnp.save_file({"weight": np.zeros(2)}, path, metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="format is 'pt'"):
        load_checkpoint(path)


def test_other_version(tmp_path, state):
    path = tmp_path / NAME
    save_full(path, state)
    rewrite(path, edit_metadata=lambda m: m.update(version="2"))
    with pytest.raises(CheckpointError, match="version '2'"):
        load_checkpoint(path)


def test_missing_metadata(tmp_path, state):
    path = tmp_path / NAME
    save_full(path, state)
    rewrite(path, edit_metadata=lambda m: m.pop("extra"))
    with pytest.raises(CheckpointError, match="lacks metadata \\['extra'\\]"):
        load_checkpoint(path)


def test_shapes_do_not_match_config(tmp_path, state):
    path = tmp_path / NAME
    save_full(path, state)
    other = GPTConfig(**{**CFG.to_dict(), "n_ctx": CFG.n_ctx + 1})
    rewrite(path, edit_metadata=lambda m: m.update(config=json.dumps(other.to_dict())))
    match = "'pos_emb' has shape \\(6, 8\\), the config says \\(7, 8\\)"
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path)


def test_missing_and_unknown_tensors(tmp_path, state):
    path = tmp_path / NAME
    save_full(path, state)
    rewrite(path, edit_tensors=lambda t: t.pop("params.ln_f.bias"))
    with pytest.raises(CheckpointError, match="missing \\['ln_f.bias'\\]"):
        load_checkpoint(path)
    save_full(path, state)
    rewrite(path, edit_tensors=lambda t: t.update({"stray": np.zeros(1)}))
    with pytest.raises(CheckpointError, match="stray"):
        load_checkpoint(path)
    save_full(path, state)
    rewrite(path, edit_tensors=lambda t: t.pop("optim.v.tok_emb"))
    with pytest.raises(CheckpointError, match="optimizer state"):
        load_checkpoint(path)


def test_bad_metadata_json(tmp_path, state):
    path = tmp_path / NAME
    save_full(path, state)
    rewrite(path, edit_metadata=lambda m: m.update(step="{oops"))
    with pytest.raises(CheckpointError, match="'step' is not valid JSON"):
        load_checkpoint(path)
    save_full(path, state)
    rewrite(path, edit_metadata=lambda m: m.update(step="-3"))
    with pytest.raises(CheckpointError, match="'step' must be an int >= 0"):
        load_checkpoint(path)
    save_full(path, state)
    rewrite(path, edit_metadata=lambda m: m.update(config='{"vocab_size": 5}'))
    with pytest.raises(CheckpointError, match="not a valid GPTConfig"):
        load_checkpoint(path)


# ----------------------------------------------------------------------------- save validation

def test_save_validation(tmp_path):
    path = tmp_path / NAME
    params = make_params()
    with pytest.raises(TypeError, match="GPTConfig"):
        save_checkpoint(path, params, config=CFG.to_dict())
    wrong = dict(params, pos_emb=np.zeros((2, 8), np.float32))
    with pytest.raises(ValueError, match="pos_emb"):
        save_checkpoint(path, wrong, config=CFG)
    with pytest.raises(ValueError, match="PCG64"):
        save_checkpoint(path, params, config=CFG, rng=np.random.Generator(np.random.MT19937(0)))
    with pytest.raises(ValueError, match="extra"):
        save_checkpoint(path, params, config=CFG, extra={"loss": float("nan")})
    with pytest.raises(ValueError, match="extra"):
        save_checkpoint(path, params, config=CFG, extra={"obj": object()})
    with pytest.raises(ValueError, match="step"):
        save_checkpoint(path, params, config=CFG, step=-1)
    with pytest.raises(TypeError, match="to_json"):
        save_checkpoint(path, params, config=CFG, tokenizer="abc")
    assert os.listdir(tmp_path) == []


def test_restore_rng_validation():
    with pytest.raises(ValueError, match="PCG64"):
        restore_rng(np.random.Generator(np.random.MT19937(0)).bit_generator.state)
    bad = np.random.default_rng(0).bit_generator.state
    bad["state"] = "nonsense"
    with pytest.raises(ValueError, match="invalid PCG64 state"):
        restore_rng(bad)


# ----------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("dtype", ["F8_E4M3", "F8_E5M2", "F8_E8M0", "BF16", "F16", "I32", "BOOL"])
def test_unsupported_dtypes_are_named(tmp_path, state, dtype):
    path = tmp_path / NAME
    save_full(path, state)
    with_dtype(path, "params.blocks.1.mlp.w_up", dtype)
    numpy_has = dtype in ("F16", "I32", "BOOL")
    what = "an unsupported dtype" if numpy_has else "a dtype numpy cannot read"
    match = (f"holds {what}: tensor 'params.blocks.1.mlp.w_up' is {dtype}; "
             r"supported: F32 \(float32\), F64 \(float64\)")
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path)


def test_float16_checkpoint_is_refused_at_load(tmp_path, state):
    """A float16 model (validly signed) is refused by load_checkpoint, not later by the
    model; save_checkpoint does not write one."""
    path = tmp_path / NAME
    save_full(path, state)
    rewrite(path, edit_tensors=lambda t: t.update(
        {k: v.astype(np.float16) for k, v in t.items() if k.startswith("params.")}))
    with pytest.raises(CheckpointError, match="tensor 'params.[a-z_.0-9]+' is F16 "
                                              r"\(and \d+ more tensors\); supported: F32"):
        load_checkpoint(path)
    half = {k: v.astype(np.float16) for k, v in make_params().items()}
    with pytest.raises(ValueError, match="must be a float32 or float64 array, got float16"):
        save_checkpoint(tmp_path / "half.safetensors", half, config=CFG)
    assert not (tmp_path / "half.safetensors").exists()


def test_optimizer_step_must_be_an_integer_tensor(tmp_path, state):
    path = tmp_path / NAME
    save_full(path, state)
    with_dtype(path, "optim.t", "F32")
    with pytest.raises(CheckpointError, match="tensor 'optim.t' is F32; supported: I64"):
        load_checkpoint(path)


# ----------------------------------------------------------------------------- resource bombs

BOMB_PEAK_BYTES = 10 * 2**20  # what refusing a bomb may allocate (the file is a few KB)


def refuse_within(path, match, peak_bytes=BOMB_PEAK_BYTES):
    """load_checkpoint raises CheckpointError matching ``match``, allocating < peak_bytes."""
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=match) as info:
            load_checkpoint(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < peak_bytes, f"refusing took {peak / 2**20:.1f} MB"
    return str(info.value)


@pytest.mark.parametrize("field, value", [
    ("n_layer", 10**6), ("n_layer", 2**63), ("vocab_size", 2**63), ("n_ctx", 2**63),
    ("d_model", 2**62), ("d_ff", 2**63)])
def test_config_larger_than_the_file_is_refused_cheaply(tmp_path, state, field, value):
    path = tmp_path / NAME
    save_full(path, state)
    config = json.dumps({**CFG.to_dict(), field: value, "n_head": 2})
    rewrite(path, edit_metadata=lambda m: m.update(config=config))  # signed again: no defence
    message = refuse_within(path, r"metadata 'config' asks for [\d,]+ parameters .* but the "
                                  r"file holds only [\d,]+ bytes")
    assert len(message) < 400


def test_n_layer_must_match_the_blocks_present(tmp_path, state):
    """A config that fits in the file's bytes but claims more blocks than the file holds is
    refused before its names are listed."""
    path = tmp_path / NAME
    save_full(path, state)
    tiny = {**CFG.to_dict(), "vocab_size": 1, "n_ctx": 1, "d_model": 1, "n_head": 1, "d_ff": 1}
    n_layer = 300  # 300 blocks x 16 parameters x 4 bytes fit in the file
    rewrite(path, edit_metadata=lambda m: m.update(config=json.dumps({**tiny, "n_layer": n_layer})))
    refuse_within(path, f"the config has n_layer={n_layer}, but the parameters hold 2 block")


def test_error_messages_list_a_few_names_and_a_count(tmp_path, state):
    path = tmp_path / NAME
    save_full(path, state)
    strays = {f"params.stray{i:05d}": np.zeros(1, np.float32) for i in range(3000)}
    rewrite(path, edit_tensors=lambda t: t.update(strays))
    message = refuse_within(path, r"3000 unexpected \['stray00000', 'stray00001', 'stray00002', "
                                  r"'stray00003', 'stray00004', \.\.\.\]")
    assert len(message) < 400
    save_full(path, state)
    rewrite(path, edit_tensors=lambda t: t.update({f"junk{i}": np.zeros(1) for i in range(3000)}))
    assert len(refuse_within(path, "3000 unexpected tensor")) < 400


@pytest.mark.parametrize("key, text, match", [
    ("config", "[" * 100_000 + "]" * 100_000, "'config' is not valid JSON"),
    ("extra", "[" * 100_000 + "]" * 100_000, "'extra' is not valid JSON"),
    ("step", "9" * 5000, "'step' is not valid JSON"),
    ("tokenizer", '{"n": ' + "1" * 5000 + "}", "'tokenizer' is not valid JSON"),
    ("config", "[1, 2]", "'config' must be a JSON object, got list"),
])
def test_hostile_metadata_json(tmp_path, state, key, text, match):
    path = tmp_path / NAME
    save_full(path, state)
    rewrite(path, edit_metadata=lambda m: m.update({key: text}))
    assert len(refuse_within(path, match)) < 400


# ----------------------------------------------------------------------------- the writer


def test_write_safetensors_is_read_by_safetensors(tmp_path):
    """Every dtype, 0-d and empty arrays, non-contiguous and big-endian input: safetensors
    reads back the same arrays and metadata, and the data starts 8-aligned."""
    rng = np.random.default_rng(0)
    tensors = {
        "f64": rng.standard_normal((2, 3)), "f32": rng.standard_normal(5).astype(np.float32),
        "f16": np.arange(4, dtype=np.float16), "i64": np.array(7), "empty": np.zeros((0, 3)),
        "u8": np.arange(3, dtype=np.uint8), "bool": np.array([True, False]),
        "strided": rng.standard_normal((4, 6))[:, ::2], "big": np.arange(3, dtype=">i4"),
        "c64": np.array([1 + 2j], np.complex64), "i8": np.array([-1], np.int8),
    }
    path = tmp_path / "t.safetensors"
    tensorfile.write_safetensors(path, tensors, {"k": "v", "ü": "ß"})
    with safe_open(str(path), framework="numpy") as f:
        assert f.metadata() == {"k": "v", "ü": "ß"}
        for name, arr in tensors.items():
            got = f.get_tensor(name)
            assert got.shape == arr.shape and got.dtype == arr.dtype.newbyteorder("=")
            np.testing.assert_array_equal(got, arr)
    assert (8 + int.from_bytes(path.read_bytes()[:8], "little")) % 8 == 0
    with pytest.raises(TypeError, match="no dtype for object"):
        tensorfile.write_safetensors(path, {"o": np.array([None])})
    with pytest.raises(TypeError, match="str to str"):
        tensorfile.write_safetensors(path, {}, {"k": 1})
