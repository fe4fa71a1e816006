"""Fuzzing :func:`minigpt.checkpoint.load_checkpoint`: damaged files, and files whose
metadata, config or tensors were edited and signed again (the digest is no defence)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.numpy import save

from minigpt.checkpoint import (DIGEST_FIELD, JSON_FIELDS, Checkpoint, _digest, load_checkpoint,
                                save_checkpoint)
from minigpt.config import GPTConfig, param_shapes
from minigpt.optim import AdamW
from minigpt.tokenizers import CharTokenizer
from tests.fuzz.common import (DTYPE_NAMES, HOSTILE_JSON_TEXT, HUGE_INTS, JSON_VALUES, NAMES,
                               SHAPES, fuzz, header_bytes, json_text, loads_or_refuses,
                               mutated_file, rebuilt, split_file)

CFG = GPTConfig(vocab_size=5, n_ctx=3, n_layer=2, n_head=1, d_model=2)
EXAMPLES = 150


def _base_checkpoint() -> bytes:
    """A complete small checkpoint: parameters, Adam state, generator, tokenizer, extra."""
    rng = np.random.default_rng(0)
    params = {k: rng.standard_normal(s).astype(np.float32) for k, s in param_shapes(CFG).items()}
    opt = AdamW(params, lr=1e-2)
    opt.step({k: np.ones_like(v) for k, v in params.items()})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "base.safetensors"
        save_checkpoint(path, params, config=CFG, step=1, optimizer=opt, rng=rng,
                        tokenizer=CharTokenizer.from_text("abcd"), extra={"note": "fuzz"})
        return path.read_bytes()


BASE = _base_checkpoint()
with tempfile.TemporaryDirectory() as _folder:
    (Path(_folder) / "c.safetensors").write_bytes(BASE)
    with safe_open(str(Path(_folder) / "c.safetensors"), framework="numpy") as _f:
        BASE_METADATA = dict(_f.metadata())
        BASE_TENSORS = {k: _f.get_tensor(k) for k in _f.keys()}


def signed(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """A checkpoint file of these tensors and metadata, with a matching digest. The header
    is written here, so metadata may hold what safetensors would refuse to write (lone
    surrogates)."""
    metadata = {k: v for k, v in metadata.items() if k != DIGEST_FIELD}
    metadata[DIGEST_FIELD] = _digest(tensors, metadata)
    header, raw = split_file(save(tensors))
    return header_bytes({**header, "__metadata__": metadata}) + raw


def check(path: Path, data: bytes) -> Checkpoint | None:
    path.write_bytes(data)
    ckpt = loads_or_refuses(lambda: load_checkpoint(path))
    if ckpt is not None:  # what loads is consistent
        assert {k: v.shape for k, v in ckpt.params.items()} == param_shapes(ckpt.config)
        assert all(v.dtype in (np.float32, np.float64) for v in ckpt.params.values())
    return ckpt


def test_the_base_checkpoint_loads(tmp_path):
    assert check(tmp_path / "c.safetensors", BASE).config == CFG


@fuzz(EXAMPLES)
@given(data=st.data())
def test_damaged_files(tmp_path, data):
    check(tmp_path / "c.safetensors", data.draw(mutated_file(BASE)))


@fuzz(EXAMPLES)
@given(key=st.sampled_from([*JSON_FIELDS, "format", "version", "other"]),
       text=st.one_of(JSON_VALUES.map(json_text), HOSTILE_JSON_TEXT, st.text(max_size=40)))
def test_signed_metadata(tmp_path, key, text):
    check(tmp_path / "c.safetensors", signed(BASE_TENSORS, {**BASE_METADATA, key: text}))


CONFIG_FIELDS = ["vocab_size", "n_ctx", "n_layer", "n_head", "d_model", "d_ff", "activation",
                 "attention", "local_window", "unknown"]


@fuzz(EXAMPLES)
@given(edits=st.lists(st.tuples(st.sampled_from(CONFIG_FIELDS),
                                st.one_of(HUGE_INTS, st.integers(1, 40), JSON_VALUES)),
                      min_size=1, max_size=2),
       drop=st.sets(st.sampled_from(CONFIG_FIELDS), max_size=1))
def test_signed_config(tmp_path, edits, drop):
    """One or two config fields set to anything (huge, negative, float, nested), or one
    left out; n_layer = 2**63 must be refused as cheaply as n_layer = 3."""
    config = {k: v for k, v in {**CFG.to_dict(), **dict(edits)}.items() if k not in drop}
    metadata = {**BASE_METADATA, "config": json.dumps(config)}
    check(tmp_path / "c.safetensors", signed(BASE_TENSORS, metadata))


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")  # casts of casts
@fuzz(EXAMPLES)
@given(data=st.data())
def test_signed_tensors(tmp_path, data):
    """Tensors dropped, added, cast or reshaped, and the file signed again."""
    tensors = dict(BASE_TENSORS)
    names = sorted(tensors)
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from(names))
        action = data.draw(st.sampled_from(["drop", "add", "cast", "reshape"]))
        if action == "drop":
            tensors.pop(name, None)
        elif action == "add":
            new = data.draw(st.sampled_from(["params.", "optim.m.", "optim.", "", "params.blocks."])
                            ) + data.draw(NAMES)
            tensors[new] = np.zeros(data.draw(st.lists(st.integers(0, 3), max_size=3)),
                                    np.float32)
        elif action == "cast" and name in tensors:
            dtype = data.draw(st.sampled_from([np.float16, np.float64, np.int64, np.uint8,
                                               np.bool_, np.complex64]))
            tensors[name] = tensors[name].astype(dtype)
        elif action == "reshape" and name in tensors:
            tensors[name] = tensors[name].reshape(-1)[:data.draw(st.integers(0, 4))]
    check(tmp_path / "c.safetensors", signed(tensors, BASE_METADATA))


@fuzz(EXAMPLES)
@given(name=st.sampled_from(sorted(BASE_TENSORS)), dtype=st.sampled_from(DTYPE_NAMES),
       shape=st.one_of(st.none(), SHAPES))
def test_header_dtypes_and_shapes(tmp_path, name, dtype, shape):
    """Any dtype name (float8, bfloat16, sub-byte, unknown) and any shape in the header."""
    header, _ = split_file(BASE)
    header[name]["dtype"] = dtype
    if shape is not None:
        header[name]["shape"] = shape
    check(tmp_path / "c.safetensors", rebuilt(header))
