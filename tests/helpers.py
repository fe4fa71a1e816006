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


# safetensors dtype name -> bytes per element, for building files by hand (F4 and F6 are
# sub-byte types, not used here)
SAFETENSORS_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
                        "F8_E8M0": 1, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8,
                        "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "C64": 8}


def safetensors_bytes(tensors, metadata=None):
    """A safetensors file built by hand: ``tensors`` maps a name to ``(dtype, shape, raw)``
    with any dtype name (also those numpy lacks); the raw bytes are stored as given."""
    import json

    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors writes
    return len(text).to_bytes(8, "little") + text + data


def with_dtype(path, name, dtype):
    """Rewrite the safetensors file ``path`` so that tensor ``name`` has ``dtype`` (its
    values become arbitrary bytes of the right length); metadata and others are kept."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        metadata = f.metadata()
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    names = {np.dtype(v): k for k, v in (("F64", np.float64), ("F32", np.float32),
                                          ("F16", np.float16), ("I64", np.int64))}
    tensors = {}
    for key, arr in arrays.items():
        if key == name:
            raw = bytes(arr.size * SAFETENSORS_ITEMSIZE[dtype])
            tensors[key] = (dtype, arr.shape, raw)
        else:
            little = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
            tensors[key] = (names[arr.dtype], arr.shape, little.tobytes())
    path.write_bytes(safetensors_bytes(tensors, metadata))


def rewrite_checkpoint(path, edit_tensors=None, edit_metadata=None):
    """Re-save a checkpoint after editing it, with a valid digest (so only the edit is wrong)."""
    import safetensors.numpy as stnp
    from safetensors import safe_open

    from minigpt.checkpoint import _digest

    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    del metadata["sha256"]
    if edit_tensors:
        edit_tensors(tensors)
    if edit_metadata:
        edit_metadata(metadata)
    metadata["sha256"] = _digest(tensors, metadata)
    stnp.save_file(tensors, path, metadata=metadata)
