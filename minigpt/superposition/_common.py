"""What every superposition experiment shares: argument checks and Adam's settings.

The experiments live in the subpackages beside this file (:mod:`.perpendicular`,
:mod:`.capacity`, :mod:`.toy_model`, :mod:`.fact_mlp`, :mod:`.sae`); each checks its
arguments at the public boundary with the helpers here, so every error names the expected
and the given value the same way.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from .._checks import check_float, check_int

# Adam as torch.optim.Adam's defaults (no weight decay), for every optimization here.
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
TEXT_WIDTH = 86  # summaries and tables fit a terminal and the book's text column


def _wrap(text: str, width: int = TEXT_WIDTH) -> str:
    """Each line of ``text`` folded at word boundaries to at most ``width`` characters."""
    return "\n".join(textwrap.fill(line, width) if line else "" for line in text.split("\n"))


def _check_int(name: str, value: Any, minimum: int = 1) -> int:
    return check_int(name, value, minimum)


def _check_real(name: str, value: Any, low: float, high: float, *,
                low_open: bool = True, high_open: bool = True) -> float:
    return check_float(name, value, low, high, low_open=low_open, high_open=high_open)


def _check_finite_array(name: str, x: Any, ndim: int | tuple[int, ...]) -> np.ndarray:
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"{name} must be a floating-point ndarray, got {kind}")
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if x.ndim not in ndims:
        expected = " or ".join(str(k) for k in ndims)
        raise ValueError(f"{name} must have {expected} dimensions, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite, got {np.count_nonzero(~np.isfinite(x))} "
                         f"non-finite entries")
    return x
