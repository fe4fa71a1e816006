"""Tests for minigpt.allocator: freed memory stays with the process after keep_freed_memory."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from minigpt.allocator import keep_freed_memory

# Allocate and free the same large arrays, as a training step does, and count page faults.
CHURN = """
import resource, sys
import numpy as np
from minigpt.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else None
def churn():
    a = np.ones((512, 1024), dtype=np.float32)      # 2 MiB
    b = a * 2.0
    c = np.exp(b)
    return float(c[0, 0])
for _ in range(3):
    churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    churn()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

# The same in a fresh thread each round, as data_parallel_grads's worker: glibc gives that
# thread an arena of its own, whose emptied heaps went back to the kernel (about 4,900 faults
# a round before keep_freed_memory limited the process to one arena).
CHURN_IN_THREADS = """
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
for _ in range(3):
    churn_in_a_thread()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    churn_in_a_thread()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def run_churn(mode: str, script: str = CHURN) -> tuple[str, int]:
    proc = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    applied, faults = proc.stdout.split()
    return applied, int(faults)


@pytest.mark.skipif(not GLIBC, reason="mallopt exists only in glibc")
def test_freed_memory_is_reused_without_page_faults():
    applied, faults = run_churn("keep")
    assert applied == "True"
    # 20 rounds of three 2 MiB arrays: 30,000 pages if every array were fresh
    assert faults < 500, faults


@pytest.mark.skipif(not GLIBC, reason="mallopt exists only in glibc")
def test_the_default_allocator_faults_the_same_loop_in_again():
    # The test above means something only if the default allocator does fault here.
    _, faults = run_churn("default")
    assert faults > 5000, faults


@pytest.mark.skipif(not GLIBC, reason="mallopt exists only in glibc")
def test_threads_reuse_freed_memory_too():
    applied, faults = run_churn("keep", CHURN_IN_THREADS)
    assert applied == "True"
    # 10 threads each holding 80 MiB: 204,800 pages if every array were fresh
    assert faults < 500, faults


@pytest.mark.skipif(not GLIBC, reason="mallopt exists only in glibc")
def test_the_default_allocator_faults_threads_in_again():
    _, faults = run_churn("default", CHURN_IN_THREADS)
    assert faults > 50_000, faults


def test_keep_freed_memory_reports_whether_it_applied():
    assert keep_freed_memory() is GLIBC
