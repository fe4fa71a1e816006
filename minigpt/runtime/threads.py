"""How many threads numpy's BLAS may use while a block of code runs.

numpy hands every matrix product to a BLAS library (OpenBLAS in numpy's wheels), which
splits each product across its worker threads, one per core by default. On an otherwise
idle machine that is the right choice, even for minigpt's smallest models: with two cores,
two threads made a training step faster at every model size measured, from level at the
smallest to 1.6 times at the largest (``benchmarks/blas_threads.py``, shown on the
Performance page). On a machine whose cores are already busy with other work it is the
wrong one: OpenBLAS's workers wait for each other at the end of every product, and a worker
that has lost its core holds up the step. Beside one other busy process, one thread was
faster at most sizes, and the demo took 19 s on one thread against 54 s on two.

Only the user knows whether the cores are free, so minigpt does not guess:
:func:`blas_threads` sets the count for a ``with`` block and restores it after
(``with blas_threads(1): train(model, data)``), and ``minigpt --blas-threads 1 COMMAND``
does the same for any command. They need the optional package ``threadpoolctl``
(``pip install "minigpt[fast]"``); without it the BLAS default stays. Importing minigpt
never changes a thread setting.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from typing import Any


@functools.cache
def _controller() -> Any:
    """threadpoolctl's view of the loaded thread pools, made once (finding the libraries
    takes ~0.5 ms; setting a limit through the kept controller ~10 us), or None."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def threadpoolctl_available() -> bool:
    """Whether ``threadpoolctl`` can be imported, i.e. whether thread limits take effect.

    Examples
    --------
    >>> isinstance(threadpoolctl_available(), bool)
    True
    """
    return _controller() is not None


def usable_cpus() -> int:
    """How many CPUs this process may run on (its affinity mask where the system has one).

    Examples
    --------
    >>> usable_cpus() >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def check_thread_count(n: Any, name: str = "n") -> int | None:
    """``n`` if it is a thread count (an int >= 1) or None; otherwise a clear error.

    Raises
    ------
    TypeError
        If ``n`` is neither an int nor None (``bool`` is not a count).
    ValueError
        If ``n`` is an int below 1.

    Examples
    --------
    >>> check_thread_count(2), check_thread_count(None)
    (2, None)
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int)):
        raise TypeError(f"{name} must be an int or None, got {type(n).__name__} {n!r}")
    if n is not None and n < 1:
        raise ValueError(f"{name} must be >= 1 or None, got {n}")
    return n


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit numpy's BLAS to ``n`` threads inside a ``with`` block, then restore it.

    Parameters
    ----------
    n : int or None
        The thread count, >= 1. ``None`` changes nothing. Without ``threadpoolctl``
        installed nothing changes either (see :func:`threadpoolctl_available`).

    Raises
    ------
    ValueError
        If ``n`` is an int below 1.
    TypeError
        If ``n`` is neither an int nor None.

    Examples
    --------
    >>> import numpy as np
    >>> with blas_threads(1):
    ...     product = np.ones((64, 64)) @ np.ones((64, 64))
    >>> float(product[0, 0])
    64.0
    """
    check_thread_count(n)
    controller = None if n is None else _controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=n, user_api="blas"):
        yield
