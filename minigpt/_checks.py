"""Checks at the public boundary: one rule for every argument the package is given.

A value of the wrong *type* raises :class:`TypeError` (a bool is not an int, even though
Python makes it one); a value of the right type outside its range raises
:class:`ValueError`. Every message reads ``"<name> must be <expected>, got <given>"``.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numpy as np

INTEGER_TYPES = (int, np.integer)
REAL_TYPES = (int, float, np.integer, np.floating)
BOOL_TYPES = (bool, np.bool_)


class NonFiniteError(FloatingPointError):
    """The model's numbers (a loss, gradients, weights or logits) stopped being finite."""


def _bounds(low: float | None, high: float | None, low_open: bool = False,
            high_open: bool = False) -> str:
    """The range ``[low, high]`` in words: ``>= low``, ``<= high`` or an interval."""
    if high is None:
        return f"> {low}" if low_open else f">= {low}"
    if low is None:
        return f"< {high}" if high_open else f"<= {high}"
    return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def check_int(name: str, value: Any, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """``int(value)`` after checking that it is an integer in ``[minimum, maximum]``.

    Parameters
    ----------
    name : str
        How the message calls the argument.
    value : object
    minimum, maximum : int or None
        The inclusive bounds; ``None`` leaves that side open.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``value`` is not a Python or numpy integer, or is a bool.
    ValueError
        If it lies outside the bounds.

    Examples
    --------
    >>> check_int("n_layer", 12, minimum=1)
    12
    >>> check_int("n_layer", True, minimum=1)
    Traceback (most recent call last):
    TypeError: n_layer must be an int, got bool True
    """
    if isinstance(value, BOOL_TYPES) or not isinstance(value, INTEGER_TYPES):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an int {_bounds(minimum, maximum)}, got {value}")
    return int(value)


def check_float(name: str, value: Any, low: float | None = None, high: float | None = None,
                *, low_open: bool = False, high_open: bool = False) -> float:
    """``float(value)`` after checking that it is a finite real number in the given range.

    Parameters
    ----------
    name : str
    value : object
    low, high : float or None
        The bounds; ``None`` leaves that side unbounded.
    low_open, high_open : bool, default False
        Exclude the bound itself (``low_open=True`` with ``low=0`` asks for a positive number).

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number, or is a bool.
    ValueError
        If it is NaN, infinite, or outside the range.

    Examples
    --------
    >>> check_float("lr", 3e-4, 0, low_open=True)
    0.0003
    >>> check_float("lr", 0.0, 0, low_open=True)
    Traceback (most recent call last):
    ValueError: lr must be a finite number > 0, got 0.0
    """
    if isinstance(value, BOOL_TYPES) or not isinstance(value, REAL_TYPES):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    x = float(value)
    below = low is not None and (x <= low if low_open else x < low)
    above = high is not None and (x >= high if high_open else x > high)
    if not math.isfinite(x) or below or above:
        bounds = "" if low is None and high is None else " " + _bounds(low, high, low_open,
                                                                      high_open)
        raise ValueError(f"{name} must be a finite number{bounds}, got {value!r}")
    return x


def check_choice(name: str, value: Any, choices: Collection[Any]) -> Any:
    """``value`` after checking that it is one of ``choices``.

    Raises
    ------
    ValueError
        Otherwise, listing the choices.

    Examples
    --------
    >>> check_choice("activation", "relu", ("gelu", "relu"))
    'relu'
    """
    if isinstance(value, (list, dict, set, np.ndarray)) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_logits_to_keep(k: Any, T: int) -> int | None:
    """``None``, or an int in ``[1, T]``: how many last positions a forward unembeds."""
    if k is None:
        return None
    if isinstance(k, BOOL_TYPES) or not isinstance(k, INTEGER_TYPES):
        raise TypeError(f"logits_to_keep must be an int or None, got {type(k).__name__}")
    return check_int("logits_to_keep", k, 1, T)


def check_token_ids(idx: Any, vocab_size: int, name: str = "idx") -> np.ndarray:
    """Check that ``idx`` holds at least one integer id in ``[0, vocab_size)``.

    Parameters
    ----------
    idx : array_like of int, any shape
    vocab_size : int
    name : str
        How error messages call the argument.

    Returns
    -------
    ndarray of int64, same shape

    Raises
    ------
    TypeError
        For non-integer (or boolean) arrays.
    ValueError
        For an empty array or an id out of range.
    """
    idx = np.asarray(idx)
    if idx.dtype == bool or not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"{name} must hold integer token ids, got dtype {idx.dtype}")
    if idx.size == 0:
        raise ValueError(f"{name} must hold at least one token, got shape {idx.shape}")
    lo, hi = int(idx.min()), int(idx.max())
    if lo < 0 or hi >= vocab_size:
        raise ValueError(f"{name} must be in [0, {vocab_size}), got an id of {lo if lo < 0 else hi}")
    return idx.astype(np.int64, copy=False)


def check_idx(idx: Any, vocab_size: int, n_ctx: int, name: str = "idx") -> np.ndarray:
    """Token ids for a model's forward pass, as an int64 (B, T) array.

    Parameters
    ----------
    idx : array_like of int, shape (B, T) or (T,)
    vocab_size : int
    n_ctx : int
        The longest sequence the model takes.
    name : str
        How error messages call the argument.

    Returns
    -------
    ndarray of int64, shape (B, T)
        A 1-D ``idx`` becomes one row.

    Raises
    ------
    TypeError
        For non-integer (or boolean) ids.
    ValueError
        For an id out of ``[0, vocab_size)``, a rank other than 1 or 2, or ``T > n_ctx``.

    Examples
    --------
    >>> check_idx([1, 2, 3], vocab_size=16, n_ctx=8).shape
    (1, 3)
    """
    idx = check_token_ids(idx, vocab_size, name)
    if idx.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (T,) or (B, T), got shape {idx.shape}")
    idx2 = idx.reshape(1, -1) if idx.ndim == 1 else idx  # (B, T)
    T = idx2.shape[1]
    if T > n_ctx:
        raise ValueError(f"sequence length must be <= n_ctx={n_ctx}, got {T}")
    return idx2


def check_targets(targets: Any, idx: Any, idx2: np.ndarray, vocab_size: int,
                  ignore_index: int | None) -> np.ndarray:
    """Next-token targets for ``idx``, shaped like ``idx2`` (B, T), as int64.

    Every target must be an integer id in ``[0, vocab_size)`` or equal ``ignore_index``.

    Parameters
    ----------
    targets : array_like of int, the shape of ``idx``
    idx : array_like of int
        The ids as given, shape (B, T) or (T,).
    idx2 : ndarray, shape (B, T)
        The same ids as :func:`check_idx` returned them.
    vocab_size : int
    ignore_index : int or None
        A target value that does not count.

    Returns
    -------
    ndarray of int64, shape (B, T)

    Raises
    ------
    TypeError
        For non-integer targets.
    ValueError
        For a shape other than ``idx``'s, or a target out of range that is not
        ``ignore_index``.

    Examples
    --------
    >>> check_targets([2, 3, -1], [1, 2, 3], np.array([[1, 2, 3]]), 16, ignore_index=-1)
    array([[ 2,  3, -1]])
    """
    targets = np.asarray(targets)
    if targets.shape != np.shape(idx):
        raise ValueError(
            f"targets must have the shape of idx {np.shape(idx)}, got {targets.shape}"
        )
    if targets.dtype == bool or not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"targets must hold integer token ids, got dtype {targets.dtype}")
    targets2 = targets.reshape(idx2.shape)  # (B, T)
    counted = targets2 if ignore_index is None else targets2[targets2 != ignore_index]
    if counted.size and (counted.min() < 0 or counted.max() >= vocab_size):
        bad = int(counted.min()) if counted.min() < 0 else int(counted.max())
        raise ValueError(f"targets must be in [0, {vocab_size}) or ignore_index, got {bad}")
    return targets2.astype(np.int64, copy=False)
