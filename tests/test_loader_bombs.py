"""Every resource bomb of ``benchmarks/loader_bombs.py`` is refused (or loaded) cleanly and
in bounded memory. Time is not tested here (it is what the benchmark reports); memory is
deterministic enough to bound."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import loader_bombs
from benchmarks.loader_bombs import CASES, MAX_FILE_BYTES, TARGET_MB, file_bytes, measure

REPO = Path(__file__).resolve().parents[1]
CLEAN_REFUSALS = ("ValueError: ", "TypeError: ", "CheckpointError: ")
MAX_MESSAGE_CHARS = 600  # an error message names things; it does not list a million of them
SMOKE_TIMEOUT_S = 120  # generous: three tiny loads in child processes


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bomb_is_refused_in_bounded_memory(tmp_path, case):
    path = case.build(tmp_path)
    assert file_bytes(path) < MAX_FILE_BYTES
    result = measure(case.loader, path, trace=True)
    assert result.outcome == "loaded" or result.outcome.startswith(CLEAN_REFUSALS), result.outcome
    assert len(result.outcome) < MAX_MESSAGE_CHARS, result.outcome[:MAX_MESSAGE_CHARS]
    assert result.traced_mb < TARGET_MB


def test_script_prints_and_writes_its_table(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchmarks.loader_bombs", "--smoke",
                           "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          timeout=SMOKE_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = (tmp_path / "loader_bombs.md").read_text()
    for name in loader_bombs.SMOKE_CASES:
        assert f"| {name} " in proc.stdout and f"| {name} " in text
    assert "crashed: " not in text and "timeout after" not in text


def test_within_target_reads_the_row():
    row = {"outcome": "ValueError: too big", "seconds": 0.01, "traced_mb": 1.0, "rss_mb": 2.0}
    assert loader_bombs.within_target(row)
    assert not loader_bombs.within_target({**row, "seconds": 2.0})
    assert not loader_bombs.within_target({**row, "traced_mb": 500.0})
    assert not loader_bombs.within_target({**row, "outcome": "RecursionError: deep"})
    assert loader_bombs.within_target({**row, "traced_mb": float("nan")})  # not traced
