"""Checkpoints: a model, its optimizer, its random state and its tokenizer in one safetensors file.

safetensors stores named arrays and a str -> str header, and nothing executable, so
loading a checkpoint can never run code (unlike pickle). A minigpt checkpoint holds

* tensors ``params.<name>`` (the model) and ``optim.m.<name>``, ``optim.v.<name>``,
  ``optim.t`` (the :class:`~minigpt.optim.AdamW` state, when saved), the first three
  float32 or float64 (what the model computes in; float16, bfloat16 and float8 are
  refused on save and on load), ``optim.t`` an integer;
* metadata ``format`` = ``"minigpt-checkpoint"``, ``version`` = ``"1"``, and JSON strings
  ``config``, ``step``, ``rng``, ``tokenizer``, ``extra``, plus ``sha256``, a digest of
  everything else, so a flipped byte anywhere is caught on load. The digest has no key:
  it catches accidents, not edits, so the loader trusts nothing it reads (see
  :func:`load_checkpoint`).

Files are written atomically (:func:`minigpt.runtime.atomic.atomic_path`): into one temporary file
beside the target, flushed to disk, then renamed over it. A crash
mid-save leaves the previous checkpoint as it was.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np
from safetensors import SafetensorError, safe_open

from .runtime.atomic import atomic_path
from .config import GPTConfig, param_shapes
from .runtime.tensorfile import (INTEGER_DTYPES, check_dtypes, check_fits, clipped_repr,
                                read_header, write_safetensors)

FORMAT = "minigpt-checkpoint"
VERSION = "1"
PARAMS_PREFIX = "params."
OPTIM_PREFIX = "optim."
JSON_FIELDS = ("config", "step", "rng", "tokenizer", "extra")
DIGEST_FIELD = "sha256"
RNG_BIT_GENERATOR = "PCG64"
PARAM_DTYPES = (np.float32, np.float64)  # what the model computes in, so what is saved
PARAM_DTYPE_NAMES = ("F32", "F64")  # the same, as safetensors names them
MAX_SHOWN = 5  # how many names an error message lists
BLOCK_RE = re.compile(r"blocks\.([^.]*)\.")  # the block index of a parameter name


class CheckpointError(ValueError):
    """A file that is not a readable, intact minigpt checkpoint (truncated, corrupted, foreign)."""


class Checkpoint(NamedTuple):
    """The contents of a checkpoint file, as returned by :func:`load_checkpoint`."""

    params: dict[str, np.ndarray]
    """The model's parameters, keyed as :func:`minigpt.config.param_shapes` names them."""
    config: GPTConfig
    """The model's shape."""
    step: int
    """The number of optimizer steps taken when the checkpoint was saved."""
    optimizer_state: dict[str, np.ndarray] | None
    """:meth:`minigpt.optim.AdamW.state_dict` output, or ``None`` if none was saved."""
    rng_state: dict[str, Any] | None
    """``Generator.bit_generator.state``, for :func:`restore_rng`, or ``None``."""
    tokenizer: dict[str, Any] | None
    """The tokenizer's JSON object, or ``None``."""
    extra: dict[str, Any]
    """Any other JSON data saved with the checkpoint (empty if none)."""


def _digest(tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> str:
    """SHA-256 hex digest of the metadata and of every tensor's name, dtype, shape and bytes."""
    h = hashlib.sha256()
    h.update(json.dumps(sorted(metadata.items())).encode())
    for name in sorted(tensors):
        arr = np.asarray(tensors[name], dtype=tensors[name].dtype.newbyteorder("<"), order="C")
        h.update(json.dumps([name, arr.dtype.name, list(arr.shape)]).encode())
        h.update(memoryview(arr.reshape(-1)).cast("B"))
    return h.hexdigest()


def _shown(names: Iterable[str], what: str) -> str:
    """How many names there are, and the first few in sorted order: ``"2 missing ['a', 'b']"``."""
    names = sorted(names)
    shown = ", ".join(clipped_repr(name) for name in names[:MAX_SHOWN])
    more = ", ..." if len(names) > MAX_SHOWN else ""
    return f"{len(names)} {what} [{shown}{more}]"


def _check_n_layer(names: Iterable[str], config: GPTConfig, error: type) -> None:
    """Raise ``error`` unless ``names`` hold exactly ``config.n_layer`` distinct blocks.

    Checked before :func:`param_shapes` lists the config's names, so a config that claims
    a million blocks is refused at the cost of the names actually there.
    """
    blocks = {m.group(1) for m in map(BLOCK_RE.match, names) if m}
    if len(blocks) != config.n_layer:
        raise error(f"the config has n_layer={config.n_layer}, but the parameters hold "
                    f"{len(blocks)} block(s)")


def _check_params(params: Mapping[str, np.ndarray], config: GPTConfig, error: type) -> None:
    """Raise ``error`` unless ``params`` has exactly the names and shapes of ``config``."""
    _check_n_layer(params, config, error)
    shapes = param_shapes(config)
    if set(params) != set(shapes):
        missing = set(shapes) - set(params)
        extra = set(params) - set(shapes)
        raise error(f"parameter names do not match the config: {_shown(missing, 'missing')}, "
                    f"{_shown(extra, 'unexpected')}")
    for name, shape in shapes.items():
        p = params[name]
        if not isinstance(p, np.ndarray) or p.dtype not in PARAM_DTYPES:
            kind = p.dtype if isinstance(p, np.ndarray) else type(p).__name__
            raise error(f"parameter {name!r} must be a float32 or float64 array, got {kind}")
        if p.shape != shape:
            raise error(f"parameter {name!r} has shape {p.shape}, the config says {shape}")


def _to_json(name: str, value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be JSON-serializable (no NaN or inf), got {value!r}: {e}") from e


def _tokenizer_json(tokenizer: Any) -> Any:
    if tokenizer is None:
        return None
    if not callable(getattr(tokenizer, "to_json", None)):
        raise TypeError(f"tokenizer must have a to_json() method or be None, "
                        f"got {type(tokenizer).__name__}")
    obj = tokenizer.to_json()
    if isinstance(obj, str):
        obj = json.loads(obj)
    if not isinstance(obj, dict):
        raise ValueError(f"tokenizer.to_json() must give a JSON object, got {type(obj).__name__}")
    return obj


def save_checkpoint(path: str | os.PathLike, params: Mapping[str, np.ndarray], *,
                    config: GPTConfig, step: int = 0, optimizer: Any = None,
                    rng: np.random.Generator | None = None, tokenizer: Any = None,
                    extra: dict[str, Any] | None = None) -> None:
    """Save a training state to one safetensors file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (conventionally ``*.safetensors``); its directory must exist.
        An existing file is replaced only once the new one is complete on disk.
    params : dict of str to ndarray
        The model's parameters; names and shapes must be ``param_shapes(config)``.
    config : GPTConfig
    step : int
        Optimizer steps taken so far.
    optimizer : AdamW or None
        Saved through its ``state_dict()``.
    rng : numpy.random.Generator or None
        A PCG64-based generator (``np.random.default_rng``); its exact state is saved so
        the data order and sampling continue identically after :func:`restore_rng`.
    tokenizer : object or None
        Anything with ``to_json()`` returning a JSON object (as a str or a dict).
    extra : dict or None
        Any other JSON-serializable data (e.g. the training arguments).

    Raises
    ------
    ValueError
        If params do not match the config or are not float32/float64, a value is not
        JSON-serializable, or the generator is not PCG64.
    TypeError
        For arguments of the wrong type.

    Notes
    -----
    The arrays are streamed (:func:`minigpt.runtime.tensorfile.write_safetensors`) into one
    temporary file in the same directory, which is flushed
    with ``os.fsync``, and moved onto ``path`` with ``os.replace``, which is atomic on
    POSIX and Windows. On any error the temporary file is removed and ``path`` is not
    touched; if the process is killed, the next save of ``path`` removes it.

    Examples
    --------
    >>> import tempfile, os
    >>> cfg = GPTConfig(vocab_size=8, n_ctx=4, n_layer=1, n_head=1, d_model=4)
    >>> params = {k: np.zeros(s, np.float32) for k, s in param_shapes(cfg).items()}
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> save_checkpoint(path, params, config=cfg, step=3, extra={"note": "demo"})
    >>> ckpt = load_checkpoint(path)
    >>> ckpt.step, ckpt.config == cfg, ckpt.extra
    (3, True, {'note': 'demo'})
    """
    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of str to ndarray, got {type(params).__name__}")
    _check_params(params, config, ValueError)
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, (int, np.integer)):
        raise TypeError(f"step must be an int, got {type(step).__name__} {step!r}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if extra is not None and not isinstance(extra, dict):
        raise TypeError(f"extra must be a dict or None, got {type(extra).__name__}")
    rng_state = None
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")
        rng_state = rng.bit_generator.state
        if rng_state.get("bit_generator") != RNG_BIT_GENERATOR:
            raise ValueError(f"rng must use the {RNG_BIT_GENERATOR} bit generator, "
                             f"got {rng_state.get('bit_generator')!r}")

    # safetensors stores little-endian, C-contiguous data.
    tensors = {PARAMS_PREFIX + name: np.asarray(p, dtype=p.dtype.newbyteorder("<"), order="C")
               for name, p in params.items()}
    if optimizer is not None:
        if not callable(getattr(optimizer, "state_dict", None)):
            raise TypeError(f"optimizer must have a state_dict() method or be None, "
                            f"got {type(optimizer).__name__}")
        state = optimizer.state_dict()
        expected = {"t"} | {f"{k}.{name}" for name in params for k in ("m", "v")}
        if set(state) != expected:
            raise ValueError(f"optimizer state keys do not match params: "
                             f"{_shown(expected - set(state), 'missing')}, "
                             f"{_shown(set(state) - expected, 'unexpected')}")
        for key, arr in state.items():
            arr = np.asarray(arr)
            tensors[OPTIM_PREFIX + key] = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")

    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "config": _to_json("config", config.to_dict()),
        "step": _to_json("step", int(step)),
        "rng": _to_json("rng", rng_state),
        "tokenizer": _to_json("tokenizer", _tokenizer_json(tokenizer)),
        "extra": _to_json("extra", {} if extra is None else extra),
    }
    metadata[DIGEST_FIELD] = _digest(tensors, metadata)
    with atomic_path(path) as tmp:  # the one temporary file of this save
        write_safetensors(tmp, tensors, metadata)


def _parse_json(metadata: Mapping[str, str], key: str) -> Any:
    try:
        return json.loads(metadata[key])
    except (ValueError, RecursionError) as e:
        # ValueError: JSONDecodeError, or an integer of more than 4300 digits;
        # RecursionError: arrays nested deeper than Python's recursion limit
        raise CheckpointError(f"metadata {key!r} is not valid JSON: {str(e)[:200]}") from e


def _load_optimizer_state(tensors: dict[str, np.ndarray], params: dict[str, np.ndarray]
                          ) -> dict[str, np.ndarray] | None:
    state = {k[len(OPTIM_PREFIX):]: v for k, v in tensors.items() if k.startswith(OPTIM_PREFIX)}
    if not state:
        return None
    expected = {"t"} | {f"{k}.{name}" for name in params for k in ("m", "v")}
    if set(state) != expected:
        raise CheckpointError(f"optimizer state does not match the parameters: "
                              f"{_shown(expected - set(state), 'missing')}, "
                              f"{_shown(set(state) - expected, 'unexpected')}")
    t = state["t"]
    if t.shape != () or not np.issubdtype(t.dtype, np.integer) or int(t) < 0:
        raise CheckpointError(f"optim.t must be a 0-d non-negative integer, "
                              f"got {t.dtype} shape {t.shape}")
    for name, p in params.items():
        for key in (f"m.{name}", f"v.{name}"):
            if state[key].shape != p.shape or state[key].dtype != p.dtype:
                raise CheckpointError(f"optim.{key} is {state[key].dtype}{state[key].shape}, "
                                      f"its parameter is {p.dtype}{p.shape}")
    return state


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`, checking it thoroughly.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Checkpoint
        ``(params, config, step, optimizer_state, rng_state, tokenizer, extra)``. The
        arrays are writable and independent of the file.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CheckpointError
        (a ``ValueError``) If the file is truncated, corrupted (its SHA-256 digest does not
        match), not a safetensors file, not a minigpt checkpoint, of another version,
        missing metadata, holds a dtype other than float32/float64 (float16, bfloat16,
        float8: the message names the tensor), or if its parameter names or shapes do not
        match its config.

    Notes
    -----
    The file is not trusted (its digest catches accidents, not edits: anyone can compute
    it again). The header is read first and every name and dtype checked; the config
    must fit in the file's bytes and its ``n_layer`` must match the blocks present before
    its parameter names are listed; so any file is refused in time and memory of the
    order of its own size.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "missing.safetensors")
    >>> try:
    ...     load_checkpoint(path)
    ... except FileNotFoundError as e:
    ...     print(e.strerror)
    no checkpoint file here
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "no checkpoint file here", path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path!r} is not a regular file")
    # The header first: names, dtypes and shapes are checked before any tensor is read.
    try:
        header = read_header(path)
    except ValueError as e:
        raise CheckpointError(f"{path!r} is not a readable safetensors file: {e}") from e
    metadata = header.metadata
    if metadata is None or metadata.get("format") != FORMAT:
        got = None if metadata is None else metadata.get("format")
        raise CheckpointError(f"{path!r} is not a minigpt checkpoint: metadata format is "
                              f"{clipped_repr(got)}, expected {FORMAT!r}")
    if metadata.get("version") != VERSION:
        raise CheckpointError(f"{path!r} has checkpoint version "
                              f"{clipped_repr(metadata.get('version'))}, this minigpt reads "
                              f"{VERSION!r}")
    missing = [k for k in (*JSON_FIELDS, DIGEST_FIELD) if k not in metadata]
    if missing:
        raise CheckpointError(f"{path!r} lacks metadata {missing}")
    _check_header_tensors(header.tensors, path)
    try:
        with safe_open(path, framework="numpy") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{path!r} is not a readable safetensors file: {e}") from e
    covered = {k: v for k, v in metadata.items() if k != DIGEST_FIELD}
    if _digest(tensors, covered) != metadata[DIGEST_FIELD]:
        raise CheckpointError(f"{path!r} is corrupted: its SHA-256 digest does not match its contents")

    config_dict = _parse_json(metadata, "config")
    if not isinstance(config_dict, dict):
        raise CheckpointError(f"metadata 'config' must be a JSON object, "
                              f"got {type(config_dict).__name__}")
    try:
        config = GPTConfig.from_dict(config_dict)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"metadata 'config' is not a valid GPTConfig: {e}") from e
    try:  # a config bigger than the file is refused before its names are listed
        check_fits(config, header.file_bytes, np.dtype(PARAM_DTYPES[0]).itemsize,
                   f"{path!r}: metadata 'config'")
    except ValueError as e:
        raise CheckpointError(str(e)) from e
    step = _parse_json(metadata, "step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise CheckpointError(f"metadata 'step' must be an int >= 0, got {clipped_repr(step)}")
    rng_state = _parse_json(metadata, "rng")
    tokenizer = _parse_json(metadata, "tokenizer")
    extra = _parse_json(metadata, "extra")
    for key, value, allowed in (("rng", rng_state, (dict, type(None))),
                                ("tokenizer", tokenizer, (dict, type(None))), ("extra", extra, dict)):
        if not isinstance(value, allowed):
            raise CheckpointError(f"metadata {key!r} must be a JSON object, got {type(value).__name__}")

    params = {k[len(PARAMS_PREFIX):]: v if v.flags.writeable else v.copy()
              for k, v in tensors.items() if k.startswith(PARAMS_PREFIX)}
    _check_params(params, config, CheckpointError)
    params = {name: params[name] for name in param_shapes(config)}  # the model's order
    optimizer_state = _load_optimizer_state(tensors, params)
    return Checkpoint(params, config, step, optimizer_state, rng_state, tokenizer, extra)


def _check_header_tensors(tensors: Mapping[str, Any], path: str) -> None:
    """Refuse foreign tensor names and dtypes other than minigpt's, from the header alone.

    Parameters and Adam moments are float32 or float64 (a float16 or bfloat16 model is
    refused here rather than failing later inside the model); ``optim.t`` is an integer.
    """
    unknown = [k for k in tensors if not k.startswith((PARAMS_PREFIX, OPTIM_PREFIX))]
    if unknown:
        raise CheckpointError(f"{path!r} holds {_shown(unknown, 'unexpected tensor(s)')}; expected "
                              f"names starting with {PARAMS_PREFIX!r} or {OPTIM_PREFIX!r}")
    step_name = OPTIM_PREFIX + "t"
    try:
        check_dtypes({k: v for k, v in tensors.items() if k != step_name},
                     PARAM_DTYPE_NAMES, repr(path))
        check_dtypes({k: v for k, v in tensors.items() if k == step_name},
                     INTEGER_DTYPES, repr(path))
    except ValueError as e:
        raise CheckpointError(str(e)) from e


def restore_rng(state: Mapping[str, Any]) -> np.random.Generator:
    """A generator that continues exactly where the saved one stopped.

    Parameters
    ----------
    state : dict
        ``Generator.bit_generator.state`` of a PCG64 generator (as in
        :attr:`Checkpoint.rng_state`).

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    ValueError
        If the state is not that of a PCG64 bit generator.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> copy = restore_rng(rng.bit_generator.state)
    >>> bool(rng.random() == copy.random())
    True
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a dict, got {type(state).__name__}")
    if state.get("bit_generator") != RNG_BIT_GENERATOR:
        raise ValueError(f"rng state must be for bit generator {RNG_BIT_GENERATOR!r}, "
                         f"got {state.get('bit_generator')!r}")
    bit_generator = np.random.PCG64()
    try:
        bit_generator.state = dict(state)
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"invalid {RNG_BIT_GENERATOR} state {dict(state)!r}: {e}") from e
    return np.random.Generator(bit_generator)
