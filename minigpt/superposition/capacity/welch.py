"""The Welch bounds: the upper side of how many nearly perpendicular directions fit.

No arrangement of unit vectors beats them. :func:`welch_bound` is the smallest possible
largest ``|cos|`` of n vectors in d dimensions; :func:`welch_max_n` turns the bounds of
orders 1, 2, ... around into the most vectors a tolerance allows. The lower side, random
and optimized, is in ``random_packing.py`` and ``packing.py``.
"""

from __future__ import annotations

import math

from .._common import _check_int, _check_real


def welch_bound(n: int, d: int) -> float:
    """The smallest possible largest ``|cos|`` among n unit vectors in d dimensions.

    Parameters
    ----------
    n : int
        Number of vectors, >= 1.
    d : int
        Dimension, >= 1.

    Returns
    -------
    float
        :math:`\\sqrt{(n - d) / (d (n - 1))}` for n > d, else 0 (an orthonormal set).

    Notes
    -----
    For unit vectors :math:`v_1..v_n` with Gram matrix :math:`G`, :math:`G` has rank
    at most d and trace n, so :math:`\\sum_{ij} G_{ij}^2 = \\|G\\|_F^2 \\ge n^2 / d`.
    Taking the n diagonal ones away,

    .. math::
        \\max_{i \\ne j} |\\cos\\theta_{ij}| \\;\\ge\\;
        \\sqrt{\\frac{1}{n(n-1)} \\sum_{i \\ne j} \\cos^2\\theta_{ij}} \\;\\ge\\;
        \\sqrt{\\frac{n - d}{d (n - 1)}}

    The middle term is the root mean square of all pairwise cosines: the bound limits the
    typical pair, not only the worst. For n = 10,000 and d = 100 it is 0.0995, an angle of
    84.29 degrees: some pair is at most that far apart (or at least 95.71).

    References
    ----------
    Welch, "Lower bounds on the maximum cross correlation of signals", IEEE Trans.
    Inf. Theory 20 (1974).

    Examples
    --------
    >>> round(welch_bound(10_000, 100), 4), welch_bound(3, 2), welch_bound(5, 10)
    (0.0995, 0.5, 0.0)
    """
    n, d = _check_int("n", n), _check_int("d", d)
    if n <= d:
        return 0.0
    return math.sqrt((n - d) / (d * (n - 1)))


def welch_max_n(d: int, cos_tol: float, max_order: int = 1) -> float:
    """The most unit vectors the Welch bounds allow in d dimensions with all ``|cos| <= cos_tol``.

    Parameters
    ----------
    d : int
        Dimension, >= 1.
    cos_tol : float
        Tolerance in (0, 1).
    max_order : int
        Use the Welch bounds of orders k = 1 .. ``max_order`` and keep the tightest.

    Returns
    -------
    float
        An integer-valued upper bound on n, or ``inf`` when no order used gives one.

    Notes
    -----
    Order k (Welch 1974) says :math:`\\sum_{ij} (v_i \\cdot v_j)^{2k} \\ge n^2 / B_k` with
    :math:`B_k = \\binom{d + k - 1}{k}`, the dimension of the symmetric k-tensors. With
    all off-diagonal :math:`|v_i \\cdot v_j| \\le c` and :math:`t = c^{2k}`:
    :math:`n + n(n-1) t \\ge n^2 / B_k`, so whenever :math:`t B_k < 1`

    .. math:: n \\le \\frac{B_k (1 - t)}{1 - t B_k}.

    Order 1 is :func:`welch_bound` solved for n. It is finite only while
    :math:`d c^2 < 1`; higher orders stay finite for larger d and give an upper bound that
    itself grows exponentially with d. For 89..91 degrees (c = 0.01745) and d = 100, order
    1 allows at most 103 vectors.

    Examples
    --------
    >>> from minigpt.superposition import band_to_cos_tol
    >>> welch_max_n(100, band_to_cos_tol(1.0))
    103.0
    >>> welch_max_n(2, 0.5)   # three lines at 60 degrees
    3.0
    """
    d = _check_int("d", d)
    cos_tol = _check_real("cos_tol", cos_tol, 0.0, 1.0)
    max_order = _check_int("max_order", max_order)
    best = math.inf
    for k in range(1, max_order + 1):
        try:
            b_k = float(math.comb(d + k - 1, k))
        except OverflowError:
            break
        t = cos_tol ** (2 * k)
        if t * b_k < 1.0:
            bound = b_k * (1.0 - t) / (1.0 - t * b_k)
            # round before the floor: 3 lines at exactly 60 degrees give 2.9999999999999996
            best = min(best, float(math.floor(round(bound, 9))))
    return best
