"""Tests for minigpt.threads: BLAS thread limits, in a block, in training and in the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from minigpt.cli import main
from minigpt.threads import blas_threads, check_thread_count, threadpoolctl_available
from tests.helpers import require



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


def test_check_thread_count_names_the_argument():
    assert check_thread_count(3, "k") == 3 and check_thread_count(None) is None
    with pytest.raises(ValueError, match="k must be >= 1 or None, got 0"):
        check_thread_count(0, "k")


def test_cli_runs_its_command_under_the_thread_setting(monkeypatch, capsys):
    before = blas_thread_counts()
    seen = []
    import minigpt.cli.params as params

    def spy(args):
        seen.append(blas_thread_counts())
        return 0

    monkeypatch.setattr(params, "_cmd_params", spy)
    assert main(["--blas-threads", "1", "params"]) == 0
    assert main(["params"]) == 0
    assert seen == [[1] * len(before), before]
    assert blas_thread_counts() == before


@pytest.mark.parametrize("bad", ["0", "two", "-3"])
def test_cli_rejects_bad_thread_counts(bad, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--blas-threads", bad, "params"])
    assert exit_info.value.code == 2
    assert "--blas-threads: expected an int >= 1" in capsys.readouterr().err
