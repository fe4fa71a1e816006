"""Tests for minigpt.allocator: freed memory stays with the process after keep_freed_memory."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from minigpt.allocator import keep_freed_memory

# Allocate and free the same large arrays, as a training step does, and count page faults:
# in the main thread, or in a fresh thread each round, as data_parallel_grads's worker (glibc
# gives such a thread an arena of its own, whose emptied heaps went back to the kernel: about
# 4,900 faults a round before keep_freed_memory limited the process to one arena).
CHURN = """
import resource, sys, threading
import numpy as np
from minigpt.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else None
def churn():
    held = [np.ones((512, 1024), dtype=np.float32) for _ in range(40)]  # 80 MiB alive at once
    return float(sum(a[0, 0] for a in held))
def churn_in_a_thread():
    worker = threading.Thread(target=churn)
    worker.start()
    worker.join()
step = churn_in_a_thread if sys.argv[2] == "thread" else churn
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
FRESH_PAGES = 10 * 40 * 512  # 10 rounds of 40 arrays of 2 MiB, 512 pages each

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def run_churn(mode: str, where: str) -> tuple[str, int]:
    proc = subprocess.run([sys.executable, "-c", CHURN, mode, where], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    applied, faults = proc.stdout.split()
    return applied, int(faults)


@pytest.mark.skipif(not GLIBC, reason="mallopt exists only in glibc")
@pytest.mark.parametrize("where", ["main", "thread"])
def test_freed_memory_is_reused_without_page_faults(where):
    applied, faults = run_churn("keep", where)
    assert applied == "True"
    assert faults < FRESH_PAGES / 100, faults


@pytest.mark.skipif(not GLIBC, reason="mallopt exists only in glibc")
@pytest.mark.parametrize("where", ["main", "thread"])
def test_the_default_allocator_faults_the_same_loop_in_again(where):
    # The test above means something only if the default allocator does fault here.
    _, faults = run_churn("default", where)
    assert faults > FRESH_PAGES / 4, faults


def test_keep_freed_memory_reports_whether_it_applied():
    assert keep_freed_memory() is GLIBC
