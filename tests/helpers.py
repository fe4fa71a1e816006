"""Shared test utilities: op gradient checks and the optional PyTorch import."""

from __future__ import annotations

import os

import numpy as np
import pytest

from minigpt import gradcheck

RTOL = 1e-6  # the project's gradient standard, float64


def check_op(forward, backward, inputs, *, n_out=1, seed=0, n_samples=None, **kwargs):
    """Check ``backward`` of an op pair against finite differences with ``L = sum(y * dy)``.

    ``forward(*inputs, **kwargs) -> (y, cache)``; ``backward(dy, cache)`` returns the
    gradients of the inputs in order (a single array when there is one input). Returns the
    :class:`minigpt.GradcheckResult` and asserts it passed.
    """
    rng = np.random.default_rng(seed)
    y, cache = forward(*inputs, **kwargs)
    dy = rng.standard_normal(np.shape(y))
    grads = backward(dy, cache)
    if isinstance(grads, np.ndarray):
        grads = (grads,)
    grads = grads[: len(inputs)]

    def output(*arrays):
        return forward(*arrays, **kwargs)[0]

    result = gradcheck(output, list(inputs), list(grads), dy=dy, n_samples=n_samples)
    assert result.ok, result
    return result


def require_torch():
    """Import torch, or skip; under MINIGPT_REQUIRE_CROSSCHECK=1 a missing torch fails."""
    try:
        import torch
    except ImportError:
        if os.environ.get("MINIGPT_REQUIRE_CROSSCHECK") == "1":
            pytest.fail("torch is required (MINIGPT_REQUIRE_CROSSCHECK=1) but not installed")
        pytest.skip("torch not installed: install the crosscheck extra")
    return torch


def require(name):
    """Import the module ``name``, or skip; under MINIGPT_REQUIRE_CROSSCHECK=1 its absence fails."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("MINIGPT_REQUIRE_CROSSCHECK") == "1":
            pytest.fail(f"{name} is required (MINIGPT_REQUIRE_CROSSCHECK=1) but not installed")
        pytest.skip(f"{name} not installed: install the crosscheck extra")
