"""Fuzzing :func:`minigpt.hf.load_hf_gpt2`: hostile ``config.json`` values and text, and
damaged ``model.safetensors`` files."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from minigpt import GPT, GPTConfig
from minigpt.hf import config_to_hf, load_hf_gpt2, save_hf_gpt2
from tests.fuzz.common import (DTYPE_NAMES, HOSTILE_JSON_TEXT, HUGE_INTS, JSON_VALUES, fuzz,
                               json_text, loads_or_refuses, mutated_file, rebuilt, split_file)

CFG = GPTConfig(vocab_size=5, n_ctx=3, n_layer=2, n_head=1, d_model=2)
EXAMPLES = 150
HF_FIELDS = ["vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_inner",
             "activation_function", "layer_norm_epsilon", "model_type", "tie_word_embeddings",
             "scale_attn_weights", "add_cross_attention", "unknown"]

with tempfile.TemporaryDirectory() as _folder:
    save_hf_gpt2(_folder, GPT(CFG, seed=0))
    BASE_CONFIG = json.loads((Path(_folder) / "config.json").read_text())
    BASE_WEIGHTS = (Path(_folder) / "model.safetensors").read_bytes()


def folder_with(tmp_path: Path, config: bytes, weights: bytes) -> Path:
    folder = tmp_path / "gpt2"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "config.json").write_bytes(config)
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def check(folder: Path) -> None:
    loaded = loads_or_refuses(lambda: load_hf_gpt2(folder))
    if loaded is not None:
        model, _ = loaded
        assert model.forward(np.zeros(1, np.int64)).shape == (1, model.config.vocab_size)


def test_the_base_folder_loads(tmp_path):
    check(folder_with(tmp_path, json.dumps(BASE_CONFIG).encode(), BASE_WEIGHTS))
    assert config_to_hf(CFG) == BASE_CONFIG


@fuzz(EXAMPLES)
@given(edits=st.lists(st.tuples(st.sampled_from(HF_FIELDS),
                                st.one_of(HUGE_INTS, st.integers(1, 40), JSON_VALUES)),
                      min_size=1, max_size=2),
       drop=st.sets(st.sampled_from(HF_FIELDS), max_size=1))
def test_config_values(tmp_path, edits, drop):
    """One or two fields set to anything, or one left out."""
    config = {k: v for k, v in {**BASE_CONFIG, **dict(edits)}.items() if k not in drop}
    check(folder_with(tmp_path, json.dumps(config).encode(), BASE_WEIGHTS))


@fuzz(EXAMPLES)
@given(text=st.one_of(HOSTILE_JSON_TEXT, JSON_VALUES.map(json_text), st.text(max_size=40),
                      st.integers(0, 200).map(lambda n: json.dumps(BASE_CONFIG)[:n])))
def test_config_text(tmp_path, text):
    check(folder_with(tmp_path, text.encode("utf-8", "surrogatepass"), BASE_WEIGHTS))


@fuzz(EXAMPLES)
@given(name=st.sampled_from(sorted(split_file(BASE_WEIGHTS)[0])),
       dtype=st.sampled_from(DTYPE_NAMES))
def test_weight_dtypes(tmp_path, name, dtype):
    """Any dtype name in the header, with offsets that agree with it."""
    header, _ = split_file(BASE_WEIGHTS)
    if name != "__metadata__":
        header[name]["dtype"] = dtype
    check(folder_with(tmp_path, json.dumps(BASE_CONFIG).encode(), rebuilt(header)))


@fuzz(EXAMPLES)
@given(data=st.data())
def test_damaged_weights(tmp_path, data):
    check(folder_with(tmp_path, json.dumps(BASE_CONFIG).encode(),
                      data.draw(mutated_file(BASE_WEIGHTS))))
