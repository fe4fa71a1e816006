"""How many *random* directions are nearly perpendicular: guaranteed, and measured.

:func:`jl_packing_n` is the union-bound guarantee (the Johnson-Lindenstrauss growth,
:math:`e^{d c^2 / 4}`); :func:`random_packing_n` draws random directions until two break
the tolerance. An optimized set (``packing.py``) does better; none beats ``welch.py``.
"""

from __future__ import annotations

import math

import numpy as np

from ...runtime import threads
from .._common import _check_int, _check_real


# ---- random unit vectors, and the |cos| tolerance of an angle band around 90 degrees
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

RANDOM_TRIALS = 21
RANDOM_FIRST_DRAW = 64
MAX_EXPONENT = 700.0     # math.exp overflows a float a little above 709

def jl_packing_n(d: int, cos_tol: float) -> float:
    """How many random unit vectors a union bound guarantees can meet ``|cos| <= cos_tol``.

    Parameters
    ----------
    d : int
        Dimension, >= 1.
    cos_tol : float
        Tolerance in (0, 1).

    Returns
    -------
    float
        :math:`\\lfloor e^{d c^2 / 4} \\rfloor`, at least 1.

    Notes
    -----
    For independent uniform unit vectors u, v in :math:`\\mathbb{R}^d` the spherical-cap
    bound gives :math:`P(|u \\cdot v| > c) \\le 2 e^{-d c^2 / 2}`. Among n vectors the
    expected number of pairs beyond the tolerance is then at most
    :math:`n(n-1) e^{-d c^2/2} < n^2 e^{-d c^2 / 2}`, which is at most 1 for
    :math:`n \\le e^{d c^2/4}`. An expectation below 1 means some draw has no bad pair, so
    that many random directions can be mutually nearly perpendicular. This is the
    Johnson-Lindenstrauss growth: exponential in d, with a rate :math:`c^2/4` that is tiny
    for narrow bands (89..91 degrees needs about 13,000 dimensions per factor e).

    Examples
    --------
    >>> from minigpt.superposition import band_to_cos_tol
    >>> jl_packing_n(100, 0.5), jl_packing_n(10_000, band_to_cos_tol(1.0))
    (518.0, 2.0)
    """
    d = _check_int("d", d)
    cos_tol = _check_real("cos_tol", cos_tol, 0.0, 1.0)
    exponent = d * cos_tol ** 2 / 4.0
    return math.inf if exponent > MAX_EXPONENT else max(1.0, float(math.floor(math.exp(exponent))))

def random_packing_n(d: int, cos_tol: float, *, trials: int = RANDOM_TRIALS,
                     seed: int = 0) -> float:
    """How many random directions one draws, typically, before two break the tolerance.

    Parameters
    ----------
    d : int
        Dimension, >= 1.
    cos_tol : float
        Tolerance in (0, 1).
    trials : int
        Independent sequences.
    seed : int

    Returns
    -------
    float
        The median over trials of the length of the longest prefix of a random sequence
        of unit vectors whose pairs all have :math:`|\\cos| \\le c`.

    Notes
    -----
    The measured counterpart of :func:`jl_packing_n`: the first bad pair appears when
    :math:`\\binom{n}{2} P(|\\cos| > c) \\approx \\ln 2`, and :math:`P(|\\cos| > c)` falls like
    :math:`e^{-d c^2 / 2}`, so this also grows like :math:`e^{d c^2 / 4}`.

    Examples
    --------
    >>> random_packing_n(2, 0.99, seed=0) >= 2
    True
    """
    d = _check_int("d", d)
    cos_tol = _check_real("cos_tol", cos_tol, 0.0, 1.0)
    trials = _check_int("trials", trials)
    rng = np.random.default_rng(seed)
    lengths = []
    with threads.blas_threads(1):
        for _ in range(trials):
            v = random_unit_vectors(RANDOM_FIRST_DRAW, d, rng=rng)     # (N, d)
            while True:
                bad = np.triu(np.abs(v @ v.T) > cos_tol, k=1)          # (N, N), pairs i < j
                first = np.flatnonzero(bad.any(axis=0))                # columns j with a bad i < j
                if first.size:
                    lengths.append(int(first[0]))
                    break
                v = np.concatenate([v, random_unit_vectors(len(v), d, rng=rng)])
    return float(np.median(lengths))
