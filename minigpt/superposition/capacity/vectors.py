"""Random unit vectors, and the ``|cos|`` tolerance of an angle band around 90 degrees.

The raw material of the rest of :mod:`minigpt.superposition.capacity`: the bounds in
``jl.py``, ``welch.py`` and ``random_packing.py`` and the search in ``packing.py`` count
directions that meet a tolerance ``cos_tol``.
"""

from __future__ import annotations

import math

import numpy as np

from .._common import _check_int, _check_real


def band_to_cos_tol(band_deg: float) -> float:
    """The ``|cos|`` tolerance of "all angles within 90 +/- band_deg degrees".

    Parameters
    ----------
    band_deg : float
        Half-width of the band around 90 degrees, in (0, 90).

    Returns
    -------
    float
        :math:`\\cos(90^\\circ - b) = \\sin b`.

    Examples
    --------
    >>> round(band_to_cos_tol(1.0), 5)   # 89..91 degrees
    0.01745
    """
    band_deg = _check_real("band_deg", band_deg, 0.0, 90.0)
    return math.sin(math.radians(band_deg))


def random_unit_vectors(n: int, d: int, *, rng: np.random.Generator | None = None,
                        seed: int = 0, dtype: type = np.float64) -> np.ndarray:
    """n independent directions, uniform on the unit sphere of :math:`\\mathbb{R}^d`.

    Parameters
    ----------
    n, d : int
        Count and dimension, >= 1.
    rng : numpy.random.Generator, optional
        Source of randomness; made from ``seed`` when not given.
    seed : int
        Seed used when ``rng`` is None.
    dtype : numpy dtype
        ``np.float32`` or ``np.float64``.

    Returns
    -------
    ndarray, shape (n, d)
        Rows of norm 1: normalized standard normal vectors.

    Examples
    --------
    >>> v = random_unit_vectors(4, 3, seed=1, dtype=np.float32)
    >>> v.shape, v.dtype, bool(np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-6))
    ((4, 3), dtype('float32'), True)
    """
    n, d = _check_int("n", n), _check_int("d", d)
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
    rng = np.random.default_rng(seed) if rng is None else rng
    v = rng.standard_normal((n, d), dtype=dtype)            # (n, d)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v
