"""demo_model trains once, keeps the checkpoint, and loads it afterwards."""

from __future__ import annotations

import json

import numpy as np
import pytest

from minigpt.facts import demo
from minigpt.facts.demo import DEMO_CACHE_ENV, default_cache_dir, demo_model, source_key

FAST_STEPS = 3  # the cache is under test, not the training


@pytest.fixture
def counted_training(monkeypatch):
    """Replace the 1000-step training by a 3-step one and count the calls."""
    calls = []
    real = demo.train_facts_model

    def fast(**kwargs):
        calls.append(kwargs)
        return real(steps=FAST_STEPS, **kwargs)

    monkeypatch.setattr(demo, "train_facts_model", fast)
    return calls


def test_trains_once_then_loads_a_fresh_copy(tmp_path, counted_training):
    model, tokenizer, history = demo_model(tmp_path)
    assert len(counted_training) == 1 and history["steps"] == FAST_STEPS
    assert len(history["losses"]) == FAST_STEPS
    key = source_key()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"facts-{key}.json",
                                                         f"facts-{key}.safetensors"]
    model.params["tok_emb"][...] = 0.0  # a chapter may change the weights it was given
    again, tokenizer_again, history_again = demo_model(tmp_path)
    assert len(counted_training) == 1  # loaded, not trained again
    assert np.abs(again.params["tok_emb"]).max() > 0
    assert history_again == history
    assert tokenizer_again.encode(" Jordan").tolist() == tokenizer.encode(" Jordan").tolist()


def test_a_missing_history_means_train_again(tmp_path, counted_training):
    demo_model(tmp_path)
    (tmp_path / f"facts-{source_key()}.json").unlink()  # as if interrupted before the end
    _, _, history = demo_model(tmp_path)
    assert len(counted_training) == 2
    assert json.loads((tmp_path / f"facts-{source_key()}.json").read_text()) == history


def test_another_seed_is_another_model(tmp_path, counted_training):
    demo_model(tmp_path, seed=0)
    demo_model(tmp_path, seed=1)
    assert [c["seed"] for c in counted_training] == [0, 1]
    assert source_key(0) != source_key(1)


def test_the_cache_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(DEMO_CACHE_ENV, str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv(DEMO_CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "minigpt" / "demo"


def test_the_default_folder_is_used_without_an_argument(tmp_path, monkeypatch,
                                                         counted_training):
    monkeypatch.setenv(DEMO_CACHE_ENV, str(tmp_path))
    demo_model()
    assert (tmp_path / f"facts-{source_key()}.safetensors").is_file()
