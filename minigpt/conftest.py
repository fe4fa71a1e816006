"""What every docstring example may assume: ``np`` is numpy and ``rng`` a seeded generator.

pytest runs the examples (``--doctest-modules``); each one starts with a fresh
``rng = np.random.default_rng(0)``, so its numbers do not depend on the examples before it.
"""

import numpy as np
import pytest

# Old module paths that are the modules of minigpt/runtime/ (their examples run there).
collect_ignore = ["allocator.py", "atomic.py", "tensorfile.py", "threads.py"]


@pytest.fixture(autouse=True)
def _doctest_globals(doctest_namespace: dict) -> None:
    doctest_namespace["np"] = np
    doctest_namespace["rng"] = np.random.default_rng(0)
