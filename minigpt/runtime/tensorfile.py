"""A safetensors file read with suspicion: its header first, checked, before any tensor.

A safetensors file opens with 8 bytes, the little-endian length N of a JSON header, then
the N bytes of that header, then the tensors' raw bytes::

    [ N: u64 little-endian ][ {"name": {"dtype": "F32", "shape": [2, 3],
                                        "data_offsets": [0, 24]}, ...,
                               "__metadata__": {"key": "text"}} ][ raw bytes ... ]

The header says everything a loader must check before trusting the file: which tensors
there are, their dtypes (numpy has no float8 or bfloat16, so asking for such a tensor
fails deep inside numpy) and their shapes. :func:`read_header` reads it with the standard
library; :func:`check_dtypes` refuses dtypes a loader cannot use, naming the tensor; and
:func:`check_fits` refuses a config that asks for more parameters than the file's bytes
could hold, in integer arithmetic, before anything is allocated. The checkpoint loader
(:mod:`minigpt.checkpoint`) and the GPT-2 loader (:mod:`minigpt.hf.files`) use all three.

:func:`write_safetensors` writes the same layout, streaming each array into the file, so
a save holds no second copy of the model in memory and makes no temporary file of its
own (the caller writes through :func:`minigpt.runtime.atomic.atomic_path`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from typing import NamedTuple

import numpy as np

from ..config import GPTConfig, count_params

HEADER_LENGTH_BYTES = 8  # the u64 that opens the file
HEADER_ALIGNMENT = 8  # the header is padded with spaces so that the data starts 8-aligned
METADATA_KEY = "__metadata__"
# safetensors dtype name -> numpy dtype (little-endian), for the dtypes numpy can hold.
NUMPY_DTYPES = {name: np.dtype(code) for name, code in (
    ("F64", "<f8"), ("F32", "<f4"), ("F16", "<f2"), ("I64", "<i8"), ("I32", "<i4"),
    ("I16", "<i2"), ("I8", "i1"), ("U64", "<u8"), ("U32", "<u4"), ("U16", "<u2"), ("U8", "u1"),
    ("BOOL", "?"), ("C64", "<c8"))}
SAFETENSORS_NAMES = {dtype: name for name, dtype in NUMPY_DTYPES.items()}
FLOAT_NAMES = {"F64": "float64", "F32": "float32", "F16": "float16"}
INTEGER_DTYPES = ("I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8")
MAX_SHOWN = 5  # how many tensors an error message lists
MAX_REPR = 80  # how many characters of a value read from a file an error message shows


def clipped_repr(value: object, limit: int = MAX_REPR) -> str:
    """``repr(value)``, cut to ``limit`` characters: a value read from a file (a tensor's
    name, a dtype, a metadata string) may be megabytes long, an error message may not.

    Examples
    --------
    >>> clipped_repr("x" * 100, limit=10)
    "'xxxxxx..."
    """
    text = repr(value)
    return text if len(text) <= limit else text[:limit - len("...")] + "..."


class TensorInfo(NamedTuple):
    """What the header says about one tensor."""

    dtype: str
    """The safetensors dtype name, e.g. ``"F32"``, ``"BF16"``, ``"F8_E4M3"``."""
    shape: tuple[int, ...]


class Header(NamedTuple):
    """A safetensors file's header, as :func:`read_header` returns it."""

    tensors: dict[str, TensorInfo]
    """Name -> dtype and shape, in the header's order."""
    metadata: dict[str, str] | None
    """The ``__metadata__`` object, or ``None`` if the file has none."""
    file_bytes: int
    """The size of the whole file."""


def _shape(name: str, entry: object) -> TensorInfo:
    """The dtype and shape of one header entry, or ValueError naming the tensor."""
    if not isinstance(entry, dict):
        raise ValueError(f"header entry {clipped_repr(name)} must be a JSON object, got "
                         f"{type(entry).__name__}")
    dtype, shape = entry.get("dtype"), entry.get("shape")
    if not isinstance(dtype, str):
        raise ValueError(f"tensor {clipped_repr(name)} has no dtype name in the header, "
                         f"got {clipped_repr(dtype)}")
    if not isinstance(shape, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise ValueError(f"tensor {clipped_repr(name)} must have a shape of integers >= 0, "
                         f"got {clipped_repr(shape)}")
    return TensorInfo(dtype, tuple(shape))


def read_header(path: str | os.PathLike) -> Header:
    """Read a safetensors file's header, without reading or trusting its tensors.

    Parameters
    ----------
    path : path

    Returns
    -------
    Header
        ``(tensors, metadata, file_bytes)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is shorter than its header says, the header is not a JSON object
        of tensor entries with a dtype name and a shape of non-negative integers, or its
        ``__metadata__`` is not an object of strings. The message names the file.

    Notes
    -----
    Only the header is checked here; :func:`safetensors.safe_open` checks the data
    offsets against the file when the tensors are read. The header cannot be larger
    than the file, so reading it costs at most the file's size.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from safetensors.numpy import save_file
    >>> path = os.path.join(tempfile.mkdtemp(), "t.safetensors")
    >>> save_file({"w": np.zeros((2, 3), np.float32)}, path, metadata={"k": "v"})
    >>> header = read_header(path)
    >>> header.tensors, header.metadata
    ({'w': TensorInfo(dtype='F32', shape=(2, 3))}, {'k': 'v'})
    >>> os.remove(path)
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        file_bytes = os.fstat(f.fileno()).st_size
        head = f.read(HEADER_LENGTH_BYTES)
        if len(head) < HEADER_LENGTH_BYTES:
            raise ValueError(f"{path} is {file_bytes} bytes, too short for a safetensors "
                             f"header")
        n = int.from_bytes(head, "little")
        if n > file_bytes - HEADER_LENGTH_BYTES:
            raise ValueError(f"{path} says its header is {n} bytes, but the file holds "
                             f"{file_bytes - HEADER_LENGTH_BYTES} after the length "
                             f"(truncated?)")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        # ValueError covers JSONDecodeError and integers of more than 4300 digits;
        # RecursionError deeply nested arrays
        raise ValueError(f"{path} has no valid JSON header (not a safetensors file?): "
                         f"{str(err)[:200]}") from err
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the header must be a JSON object, got "
                         f"{type(header).__name__}")
    metadata = header.pop(METADATA_KEY, None)
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(v, str) for v in metadata.values())):
        raise ValueError(f"{path}: {METADATA_KEY} must be an object of strings")
    try:
        tensors = {name: _shape(name, entry) for name, entry in header.items()}
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err
    return Header(tensors, metadata, file_bytes)


def check_dtypes(tensors: Mapping[str, TensorInfo], allowed: Collection[str], source: str
                 ) -> None:
    """Raise ValueError unless every tensor has one of the ``allowed`` dtypes.

    Parameters
    ----------
    tensors : mapping of str to TensorInfo
        From :attr:`Header.tensors` (or a part of it).
    allowed : collection of str
        safetensors dtype names, e.g. ``("F32", "F64")``.
    source : str
        The file, for the message.

    Raises
    ------
    ValueError
        Naming the first offending tensor and its dtype, how many tensors have a dtype
        outside ``allowed``, and what is allowed; a dtype numpy cannot hold at all
        (``BF16``, ``F8_E4M3``, ``F8_E5M2``, ``F8_E8M0``, ...) is called so.

    Examples
    --------
    >>> check_dtypes({"w": TensorInfo("F8_E4M3", (2,))}, ("F32",), "x.safetensors")
    Traceback (most recent call last):
    ...
    ValueError: x.safetensors holds a dtype numpy cannot read: tensor 'w' is F8_E4M3; supported: F32 (float32)
    """
    bad = [(name, info.dtype) for name, info in tensors.items() if info.dtype not in allowed]
    if not bad:
        return
    name, dtype = bad[0]
    supported = ", ".join(f"{d} ({FLOAT_NAMES[d]})" if d in FLOAT_NAMES else d for d in allowed)
    what = "a dtype numpy cannot read" if dtype not in NUMPY_DTYPES else "an unsupported dtype"
    others = f" (and {len(bad) - 1} more tensors)" if len(bad) > 1 else ""
    raise ValueError(f"{source} holds {what}: tensor {clipped_repr(name)} is "
                     f"{clipped_repr(dtype)[1:-1]}{others}; "
                     f"supported: {supported}")


def check_fits(config: GPTConfig, file_bytes: int, itemsize: int, source: str) -> None:
    """Raise ValueError if ``config`` has more parameters than ``file_bytes`` can hold.

    Parameters
    ----------
    config : GPTConfig
        The sizes the file's config claims.
    file_bytes : int
        The size of the file that should hold the weights.
    itemsize : int
        Bytes per parameter of the narrowest dtype the loader accepts.
    source : str
        What claimed the config, for the message.

    Raises
    ------
    ValueError
        If ``count_params(config) * itemsize > file_bytes``.

    Notes
    -----
    :func:`minigpt.count_params` is exact integer arithmetic that allocates nothing, so
    a config of :math:`2^{63}` layers costs a few multiplications to refuse. The test is
    necessary, not sufficient: the loader still checks every name and shape.

    Examples
    --------
    >>> check_fits(GPTConfig(16, 8, 10**6, 2, 8), 5_000, 4, "config.json")
    Traceback (most recent call last):
    ...
    ValueError: config.json asks for 872,000,208 parameters (3,488,000,832 bytes at 4 bytes
    each), but the file holds only 5,000 bytes
    """
    n_params = count_params(config)
    if n_params * itemsize > file_bytes:
        raise ValueError(f"{source} asks for {n_params:,} parameters ({n_params * itemsize:,} "
                         f"bytes at {itemsize} bytes each), but the file holds only "
                         f"{file_bytes:,} bytes")


def write_safetensors(path: str | os.PathLike, tensors: Mapping[str, np.ndarray],
                      metadata: Mapping[str, str] | None = None) -> None:
    """Write arrays as a safetensors file, one array at a time.

    Parameters
    ----------
    path : path
        The file to write (usually the temporary file of :func:`minigpt.runtime.atomic.atomic_path`).
    tensors : mapping of str to ndarray
        Any shapes (0-d and empty included) of the dtypes in :data:`NUMPY_DTYPES`; stored
        C-ordered and little-endian, in the mapping's order.
    metadata : mapping of str to str, optional
        Stored as the header's ``__metadata__``.

    Raises
    ------
    TypeError
        For a dtype safetensors has no name for, or metadata that is not str -> str.

    Notes
    -----
    ``safetensors.numpy.save`` returns the whole file as bytes (two copies of the model
    at the peak) and ``save_file`` writes through a temporary file of its own, which a
    killed process leaves behind. Here only the header is built in memory; each array is
    written from its own buffer (a copy only when it is not already C-ordered and
    little-endian). The layout is the format's: the header length as a little-endian u64,
    the JSON header padded with spaces to 8 bytes, then the arrays back to back.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "t.safetensors")
    >>> write_safetensors(path, {"w": np.ones((2, 3), np.float32), "t": np.array(7)})
    >>> from safetensors.numpy import load_file
    >>> sorted((k, v.tolist()) for k, v in load_file(path).items())
    [('t', 7), ('w', [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])]
    >>> os.remove(path)
    """
    arrays = {}
    header: dict[str, object] = {}
    offset = 0
    for name, value in tensors.items():
        arr = np.asarray(value)
        dtype = SAFETENSORS_NAMES.get(arr.dtype.newbyteorder("<"))
        if not isinstance(name, str) or dtype is None:
            raise TypeError(f"tensor {clipped_repr(name)}: safetensors has no dtype for "
                            f"{arr.dtype}; expected one of {sorted(map(str, SAFETENSORS_NAMES))}")
        arr = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")  # keeps 0-d
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        arrays[name] = arr
        offset += arr.nbytes
    if metadata is not None:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("safetensors metadata must map str to str")
        header[METADATA_KEY] = dict(metadata)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(HEADER_LENGTH_BYTES + len(text)) % HEADER_ALIGNMENT)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(HEADER_LENGTH_BYTES, "little"))
        f.write(text)
        for arr in arrays.values():
            if arr.nbytes:  # a memoryview of an empty array cannot be cast to bytes
                f.write(memoryview(arr).cast("B"))
