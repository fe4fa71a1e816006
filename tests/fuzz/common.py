"""What the fuzz tests share: a fixed, reproducible budget, the property every loader must
keep, and strategies for hostile JSON and mutated safetensors files.

The property: a loader given any input either loads it or raises ``ValueError``,
``TypeError`` or ``FileNotFoundError`` with a message; never another exception, never a
hang, never more than a bounded allocation.
"""

from __future__ import annotations

import contextlib
import json
import signal
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Deterministic (derandomize: the examples follow from the test's code, not a random seed;
# no example database), so CI runs exactly the examples a developer ran.
FUZZ_SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.function_scoped_fixture])


def fuzz(max_examples: int) -> settings:
    """Hypothesis settings for a fuzz test of ``max_examples`` inputs."""
    return settings(max_examples=max_examples, **FUZZ_SETTINGS)


ALLOWED = (ValueError, TypeError, FileNotFoundError)
MAX_PEAK_BYTES = 64 * 2**20  # inputs are kilobytes; loading one may not allocate more
MAX_MESSAGE_CHARS = 1000  # a message names things; it does not dump the input
HANG_SECONDS = 30  # an input of kilobytes that takes this long has hung


class Hang(Exception):
    """Raised by the watchdog when one input takes longer than :data:`HANG_SECONDS`."""


@contextlib.contextmanager
def watchdog(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread if the block runs longer than ``seconds``.

    Not a speed test: the bound is orders of magnitude above the time a small input
    takes; it turns a hang into a failure that names the input.
    """
    if not hasattr(signal, "setitimer"):  # not on Windows: no watchdog there
        yield
        return

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"one input took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def loads_or_refuses(load: Callable[[], Any]) -> Any:
    """Call ``load()``; return its result, or ``None`` if it raised an allowed error.

    Fails the test on any other exception (it propagates), an empty or huge message, a
    hang, or an allocation peak above :data:`MAX_PEAK_BYTES`.
    """
    tracemalloc.start()
    try:
        with watchdog():
            try:
                result = load()
            except ALLOWED as err:
                message = str(err)
                assert message.strip(), f"{type(err).__name__} without a message"
                assert len(message) < MAX_MESSAGE_CHARS, message[:MAX_MESSAGE_CHARS]
                result = None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_PEAK_BYTES, f"allocated {peak / 2**20:.1f} MB"
    return result


# ---------------------------------------------------------------------------- JSON values

HUGE_INTS = st.sampled_from([0, 1, -1, 2, 3, 2**31, 2**32 + 1, 10**6, 2**53 + 1, 2**62,
                             2**63, 2**64, -(2**63), 10**30])
JSON_SCALARS = st.one_of(st.none(), st.booleans(), HUGE_INTS, st.integers(-10, 100),
                         st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=12))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
DEEP = 5000  # nesting depth beyond Python's default recursion limit (1000)
# JSON text that json.loads rejects in ways JSONDecodeError does not cover.
HOSTILE_JSON_TEXT = st.sampled_from([
    "[" * DEEP + "]" * DEEP,  # deeper than the recursion limit
    '{"a": ' * DEEP + "1" + "}" * DEEP,
    "9" * 5000,  # more digits than int() converts
    "NaN", "Infinity", "-Infinity", "1e999", "", " ", "\x00", "\ud800", '"\\ud800"',
])


def json_text(value: Any) -> str:
    """``value`` as JSON text (NaN and infinities as JavaScript writes them)."""
    return json.dumps(value)


# ---------------------------------------------------------------------------- safetensors

DTYPE_NAMES = ["F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3",
               "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL", "C64", "f32", ""]
SHAPE_DIMS = st.one_of(st.integers(0, 8), HUGE_INTS)
SHAPES = st.one_of(st.lists(SHAPE_DIMS, max_size=4), JSON_VALUES)
# Tensor names, a few of them long (a message must not quote them whole).
NAMES = st.one_of(st.text(max_size=20), st.sampled_from(["params.blocks.0." + "x" * 5000,
                                                         "h.0." + "y" * 5000, "z" * 5000]))


def header_bytes(header: Any, length: int | None = None) -> bytes:
    """The first two parts of a safetensors file: the length (``length`` may lie) and the
    JSON header, padded to 8 bytes."""
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    n = len(text) if length is None else length
    return n.to_bytes(8, "little") + text


# Bits per element of the safetensors dtypes (F4 and F6 are packed below a byte).
DTYPE_BITS = {"F64": 64, "F32": 32, "F16": 16, "BF16": 16, "F8_E4M3": 8, "F8_E5M2": 8,
              "F8_E8M0": 8, "F6_E2M3": 6, "F4": 4, "I64": 64, "I32": 32, "I16": 16, "I8": 8,
              "U64": 64, "U32": 32, "U16": 16, "U8": 8, "BOOL": 8, "C64": 64}
MAX_REBUILT_BYTES = 2**16  # tensors larger than this keep their (inconsistent) offsets


def rebuilt(header: dict[str, Any]) -> bytes:
    """A file whose data offsets agree with each entry's dtype and shape (where both are
    valid and small), so that the loader meets the dtype and shape themselves rather than
    an offset error; the tensors' bytes are zeros."""
    header = json.loads(json.dumps(header))
    position = 0
    for name, entry in header.items():
        if name == "__metadata__" or not isinstance(entry, dict):
            continue
        dtype, shape = entry.get("dtype"), entry.get("shape")
        bits = DTYPE_BITS.get(dtype) if isinstance(dtype, str) else None
        if bits is None or not isinstance(shape, list) or not all(
                isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**20 for n in shape):
            continue
        numel = 1
        for n in shape:
            numel *= n
        n_bytes = -(-numel * bits // 8)
        if n_bytes > MAX_REBUILT_BYTES:
            continue
        entry["data_offsets"] = [position, position + n_bytes]
        position += n_bytes
    return header_bytes(header) + bytes(position)


def split_file(data: bytes) -> tuple[dict[str, Any], bytes]:
    """(header dict, raw tensor bytes) of a well-formed safetensors file."""
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), data[8 + n:]


@st.composite
def mutated_header(draw: Callable, header: dict[str, Any]) -> dict[str, Any]:
    """``header`` with a few entries changed: dtype, shape, offsets, removed, added, or
    replaced by another JSON value."""
    header = json.loads(json.dumps(header))  # a deep copy
    names = sorted(header)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(names))
        action = draw(st.sampled_from(["dtype", "shape", "offsets", "drop", "add", "value"]))
        entry = header.get(name)
        if action == "dtype" and isinstance(entry, dict):
            entry["dtype"] = draw(st.one_of(st.sampled_from(DTYPE_NAMES), JSON_VALUES))
        elif action == "shape" and isinstance(entry, dict):
            entry["shape"] = draw(SHAPES)
        elif action == "offsets" and isinstance(entry, dict):
            entry["data_offsets"] = draw(st.one_of(st.lists(SHAPE_DIMS, max_size=3), JSON_VALUES))
        elif action == "drop":
            header.pop(name, None)
        elif action == "add":
            header[draw(NAMES)] = {
                "dtype": draw(st.sampled_from(DTYPE_NAMES)), "shape": draw(SHAPES),
                "data_offsets": [0, draw(st.integers(0, 64))]}
        else:
            header[name] = draw(JSON_VALUES)
    return header


@st.composite
def mutated_file(draw: Callable, data: bytes) -> bytes:
    """A well-formed safetensors file ``data``, damaged in one of several ways."""
    kind = draw(st.sampled_from(["truncate", "flip", "random", "header", "length"]))
    if kind == "truncate":
        return data[:draw(st.integers(0, len(data) - 1))]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    if kind == "random":
        return draw(st.binary(max_size=512))
    header, raw = split_file(data)
    if kind == "length":  # the header length lies
        return header_bytes(header, draw(st.one_of(st.integers(0, 2 * len(data)),
                                                   st.just(2**64 - 1)))) + raw
    header = draw(mutated_header(header))
    return rebuilt(header) if draw(st.booleans()) else header_bytes(header) + raw
