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

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def run_churn(mode: str) -> tuple[str, int]:
    proc = subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True,
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


def test_keep_freed_memory_reports_whether_it_applied():
    assert keep_freed_memory() is GLIBC
