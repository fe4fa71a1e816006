"""Tests for minigpt.atomic: a file is the old one or the whole new one, never a mix."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt import atomic
from minigpt.atomic import atomic_path, save_png, temp_file_pattern
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

    import minigpt.tensorfile as tensorfile

    def crash(filename, mode="r", **kwargs):
        f = open(filename, mode, **kwargs)
        if mode == "wb":  # the weights: a partial write, then the crash
            f.write(b"\x00" * 100)
            f.close()
            raise KeyboardInterrupt
        return f

    monkeypatch.setattr(tensorfile, "open", crash, raising=False)
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


# ------------------------------------------------------- errors name the user's path


def test_missing_folder_is_named_not_the_temporary_file(tmp_path):
    target = tmp_path / "absent" / "model.safetensors"
    with pytest.raises(FileNotFoundError) as info:
        with atomic_path(target):
            pass
    message = str(info.value)
    assert info.value.filename == str(target)
    assert f"the folder {tmp_path / 'absent'} does not exist" in message
    assert ".tmp" not in message


def test_file_in_place_of_the_folder(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="is not a folder") as info:
        with atomic_path(tmp_path / "file" / "x.json"):
            pass
    assert ".tmp" not in str(info.value)


def test_unwritable_folder_is_named(tmp_path, monkeypatch):
    import tempfile

    def refuse(prefix, suffix, dir):  # what mkstemp raises in a folder without write access
        raise PermissionError(13, "Permission denied", os.path.join(dir, prefix + "abc" + suffix))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError, match="is not writable") as info:
        with atomic_path(tmp_path / "out.txt"):
            pass
    assert info.value.filename == str(tmp_path / "out.txt") and ".tmp" not in str(info.value)


def test_errors_about_the_temporary_file_name_the_target(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(IsADirectoryError) as info:
        with atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write("x")
    assert info.value.filename == str(target) and ".tmp" not in str(info.value)
    with pytest.raises(OSError, match="No space left") as info:
        with atomic_path(tmp_path / "full.bin"):
            raise OSError(28, "No space left on device")  # a write error names no file
    assert info.value.filename == str(tmp_path / "full.bin")
    assert leftovers(tmp_path) == []


def test_errors_about_other_files_pass_unchanged(tmp_path):
    other = OSError(2, "No such file or directory", str(tmp_path / "font.ttf"))
    with pytest.raises(OSError) as info:
        with atomic_path(tmp_path / "plot.png"):
            raise other
    assert info.value is other


# ------------------------------------------------------- one temporary file, cleaned up


def test_temp_file_pattern_is_the_name_atomic_path_uses(tmp_path):
    names = []
    for _ in range(20):
        with atomic_path(tmp_path / "out.txt") as tmp:
            names.append(os.path.basename(tmp))
    pattern = temp_file_pattern(tmp_path / "out.txt")
    assert all(pattern.fullmatch(name) for name in names), names
    for other in (".out.txt.x.abcdefgh.tmp", ".out.txtabcdefgh.tmp", ".out.txt.abcdefgh.tmp2",
                  "out.txt.abcdefgh.tmp", ".out.txt.abcdefghi.tmp", ".x.out.txt.abcdefgh.tmp"):
        assert not pattern.fullmatch(other), other


def test_stale_temp_files_of_the_same_target_are_removed(tmp_path):
    past = atomic.PROCESS_STARTED - 60
    stale = [tmp_path / ".out.txt.abcd1234.tmp", tmp_path / ".out.txt._zz9_0x1.tmp"]
    kept = [tmp_path / ".out.txt.x.abcd1234.tmp",  # another target's ("out.txt.x")
            tmp_path / ".other.abcd1234.tmp",  # another target's
            tmp_path / ".out.txt.abcd12345.tmp",  # not the pattern
            tmp_path / "notes.txt"]
    fresh = tmp_path / ".out.txt.fresh000.tmp"  # a save of this process, in progress
    for path in stale + kept + [fresh]:
        path.write_text("leftover")
    for path in stale + kept:
        os.utime(path, (past, past))
    with atomic_path(tmp_path / "out.txt") as tmp, open(tmp, "w") as f:
        f.write("new")
    assert all(not p.exists() for p in stale)
    assert all(p.exists() for p in kept + [fresh])
    assert (tmp_path / "out.txt").read_text() == "new"


def test_writers_serialize_safetensors_themselves(tmp_path, monkeypatch):
    """safetensors' save_file writes through a temporary file of its own, which a kill
    leaks; the writers serialize to bytes and use atomic_path's one temporary file."""
    import safetensors
    import safetensors.numpy

    from minigpt.checkpoint import save_checkpoint

    def forbidden(*args, **kwargs):
        raise AssertionError("safetensors writes a file itself")

    monkeypatch.setattr(safetensors.numpy, "save_file", forbidden)
    monkeypatch.setattr(safetensors, "serialize_file", forbidden)
    model = GPT(GPTConfig(vocab_size=20, n_ctx=8, n_layer=1, n_head=2, d_model=8), seed=0)
    save_checkpoint(tmp_path / "ckpt.safetensors", model.params, config=model.config)
    save_hf_gpt2(tmp_path / "hf", model)
    assert sorted(os.listdir(tmp_path)) == ["ckpt.safetensors", "hf"]


KILLED_SAVE = """
import os, sys, time
import numpy as np
import minigpt.atomic
from minigpt import GPT, GPTConfig
from minigpt.checkpoint import save_checkpoint
from minigpt.hf import save_hf_gpt2

kind, target, hang, seed = sys.argv[1], sys.argv[2], sys.argv[3] == "hang", int(sys.argv[4])
if hang:
    def fsync(fd):  # the bytes are written; the save is killed before the rename
        print("writing", flush=True)
        time.sleep(600)
    os.fsync = fsync
model = GPT(GPTConfig(vocab_size=20, n_ctx=8, n_layer=1, n_head=2, d_model=8), seed=seed)
if kind == "checkpoint":
    save_checkpoint(target, model.params, config=model.config, step=seed)
else:
    save_hf_gpt2(target, model)
print("saved", flush=True)
"""
KILL_TIMEOUT_S = 120  # generous: the child only imports minigpt and saves a tiny model


@pytest.mark.parametrize("kind", ["checkpoint", "hf"])
def test_sigkill_mid_save_leaks_one_temp_file_which_the_next_save_removes(tmp_path, kind):
    import signal
    import subprocess
    import sys

    target = tmp_path / ("ckpt.safetensors" if kind == "checkpoint" else "hf")
    folder = tmp_path if kind == "checkpoint" else target
    weights = target if kind == "checkpoint" else target / "model.safetensors"
    run = [sys.executable, "-c", KILLED_SAVE, kind, str(target)]
    subprocess.run(run + ["ok", "1"], check=True, timeout=KILL_TIMEOUT_S)
    before = weights.read_bytes()
    for _ in range(3):  # three saves killed while writing
        child = subprocess.Popen(run + ["hang", "2"], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline() == "writing\n"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(KILL_TIMEOUT_S)
        assert weights.read_bytes() == before  # the old file is intact
        assert len(leftovers(folder)) == 1  # the killed save's one temporary file
        assert not [n for n in os.listdir(folder) if n.startswith(".tmp")]  # none of safetensors'
    subprocess.run(run + ["ok", "3"], check=True, timeout=KILL_TIMEOUT_S)
    assert leftovers(folder) == []
    assert weights.read_bytes() != before
