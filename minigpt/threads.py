"""How many threads numpy's BLAS may use while a block of code runs.

numpy hands every matrix product to a BLAS library (OpenBLAS in numpy's wheels), which
splits large products across its worker threads: on two cores a big product runs nearly
twice as fast. A small product gains nothing; handing it out costs more than computing
it, and OpenBLAS's workers keep spinning for a while after each product, taking a core
from numpy's own elementwise work (GELU, LayerNorm, softmax, Adam), which always runs on
one thread. A tiny model's training step is mostly such small products and elementwise
work, so it runs faster on one BLAS thread.

:func:`blas_threads` sets the thread count for a ``with`` block and restores it after;
:func:`training_blas_threads` is the rule :func:`minigpt.train.train` uses to choose it.
Both need the optional package ``threadpoolctl`` (``pip install "minigpt[fast]"``); without
it they leave the BLAS alone. Importing minigpt never changes a thread setting.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from .config import GPTConfig

# The training loop uses one BLAS thread when the largest product of a step, the MLP's
# up-projection (2 * tokens * d_model * d_ff FLOPs), is below this; see the threads
# benchmark (benchmarks/threads.py) for the measurements behind it.
SINGLE_THREAD_MAX_FLOPS = 64e6


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
    if n is not None and (isinstance(n, bool) or not isinstance(n, int)):
        raise TypeError(f"n must be an int or None, got {type(n).__name__} {n!r}")
    if n is not None and n < 1:
        raise ValueError(f"n must be >= 1 or None, got {n}")
    controller = None if n is None else _controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=n, user_api="blas"):
        yield


def training_blas_threads(config: GPTConfig, tokens: int) -> int | None:
    """The BLAS thread count the training loop uses for a model and batch.

    Parameters
    ----------
    config : GPTConfig
    tokens : int
        Tokens per step, batch size x block size.

    Returns
    -------
    int or None
        1 when the step's largest matrix product, the MLP up-projection of all tokens
        (:math:`2 \\cdot \\text{tokens} \\cdot C \\cdot F` FLOPs), is below
        ``SINGLE_THREAD_MAX_FLOPS``; otherwise ``None``: BLAS keeps its default.

    Examples
    --------
    >>> tiny = GPTConfig(vocab_size=256, n_ctx=32, n_layer=2, n_head=4, d_model=64)
    >>> training_blas_threads(tiny, tokens=8 * 32)
    1
    >>> big = GPTConfig(vocab_size=512, n_ctx=128, n_layer=6, n_head=6, d_model=384)
    >>> training_blas_threads(big, tokens=8 * 128) is None
    True
    """
    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        raise ValueError(f"tokens must be an int >= 1, got {tokens!r}")
    flops = 2.0 * tokens * config.d_model * config.d_ff
    return 1 if flops < SINGLE_THREAD_MAX_FLOPS else None
