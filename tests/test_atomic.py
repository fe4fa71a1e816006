"""Tests for minigpt.atomic: a file is the old one or the whole new one, never a mix."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.atomic import atomic_path, save_png
from minigpt.bpe import write_merges_txt, write_vocab_json
from minigpt.hf import load_hf_gpt2, save_hf_gpt2


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def test_success_replaces_the_file_with_normal_permissions(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_path(target) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path) and tmp != str(target)
        with open(tmp, "w") as f:
            f.write("new")
        assert target.read_text() == "old"  # not yet: only when the block ends
    assert target.read_text() == "new"
    assert leftovers(tmp_path) == []
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~umask


def test_an_error_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write("half of the ne")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_interrupted_hf_save_keeps_the_previous_folder(tmp_path, monkeypatch):
    model = GPT(GPTConfig(vocab_size=20, n_ctx=8, n_layer=1, n_head=2, d_model=8), seed=0)
    save_hf_gpt2(tmp_path, model)
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    other = GPT(model.config, seed=1)

    import safetensors.numpy

    def crash(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"\x00" * 100)  # a partial write, then the crash
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.numpy, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        save_hf_gpt2(tmp_path, other)
    monkeypatch.undo()
    assert (tmp_path / "model.safetensors").read_bytes() == before["model.safetensors"]
    assert leftovers(tmp_path) == []
    loaded, _ = load_hf_gpt2(tmp_path)
    idx = np.arange(8)
    np.testing.assert_array_equal(loaded.forward(idx), model.forward(idx))


def test_tokenizer_files_go_through_atomic_path(tmp_path, monkeypatch):
    import json

    path = tmp_path / "vocab.json"
    write_vocab_json(path, {"a": 0})

    def crash(obj, f, **kwargs):
        f.write('{"a": 0, "b"')
        raise OSError("no space left on device")

    monkeypatch.setattr(json, "dump", crash)
    with pytest.raises(OSError, match="no space"):
        write_vocab_json(path, {"a": 0, "b": 1})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"a": 0}
    write_merges_txt(tmp_path / "merges.txt", [("a", "b")])
    assert leftovers(tmp_path) == []


def test_save_png_writes_a_png(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = save_png(fig, tmp_path / "line.png")
    plt.close(fig)
    assert path == str(tmp_path / "line.png")
    assert (tmp_path / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert leftovers(tmp_path) == []
