"""Johnson-Lindenstrauss: the dimension a random projection needs, and the lemma on data.

:func:`jl_min_dim` is the Dasgupta-Gupta form of the lemma; :func:`random_projection_distortion`
projects real points and measures the worst distortion. The same exponential growth,
counted in directions, is in ``random_packing.py``; the upper side is in ``welch.py``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._common import _check_finite_array, _check_int, _check_real


def jl_min_dim(n: int, eps: float) -> int:
    """Dimensions a random projection needs to keep n points' distances within 1 +/- eps.

    Parameters
    ----------
    n : int
        Number of points, >= 1.
    eps : float
        Allowed distortion of squared distances, in (0, 1).

    Returns
    -------
    int
        :math:`k = \\lceil 4 \\ln n / (\\epsilon^2/2 - \\epsilon^3/3) \\rceil`, at least 1.

    Notes
    -----
    Dasgupta & Gupta (2003): for any n points in :math:`\\mathbb{R}^D` and k at least this,
    a random projection f to k dimensions satisfies, with probability at least 1/n,

    .. math::
        (1 - \\epsilon)\\|u - v\\|^2 \\le \\|f(u) - f(v)\\|^2 \\le (1 + \\epsilon)\\|u - v\\|^2

    for all pairs. The bound does not depend on D. Read backwards, it is the video's point:
    k dimensions hold :math:`e^{\\Theta(\\epsilon^2 k)}` points with all distances
    (and so all angles) nearly preserved.

    References
    ----------
    Dasgupta & Gupta, "An elementary proof of a theorem of Johnson and Lindenstrauss",
    Random Structures & Algorithms 22 (2003).

    Examples
    --------
    >>> jl_min_dim(1_000_000, 0.5), jl_min_dim(10_000, 0.1)
    (664, 7895)
    """
    n = _check_int("n", n)
    eps = _check_real("eps", eps, 0.0, 1.0)
    return max(1, math.ceil(4.0 * math.log(n) / (eps ** 2 / 2.0 - eps ** 3 / 3.0)))


class ProjectionDistortion(NamedTuple):
    """How much a random projection stretched or shrank pairwise squared distances.

    Attributes
    ----------
    min_ratio, max_ratio : float
        Extremes of :math:`\\|f(u) - f(v)\\|^2 / \\|u - v\\|^2` over all pairs.
    k : int
        The target dimension.
    n_pairs : int
        Pairs compared (pairs of identical points are skipped).
    """

    min_ratio: float
    max_ratio: float
    k: int
    n_pairs: int


def random_projection_distortion(points: np.ndarray, k: int, *,
                                 seed: int = 0) -> ProjectionDistortion:
    """Project points to k dimensions at random and measure the worst distance distortion.

    Parameters
    ----------
    points : ndarray, shape (n, D)
        At least two finite points.
    k : int
        Target dimension, >= 1.
    seed : int
        Seed of the projection matrix.

    Returns
    -------
    ProjectionDistortion
        The smallest and largest ratio of projected to original squared distance.

    Notes
    -----
    :math:`f(x) = R x` with :math:`R_{ab} \\sim \\mathcal{N}(0, 1/k)`, shape (k, D), so that
    :math:`E\\|R u\\|^2 = \\|u\\|^2`. The Johnson-Lindenstrauss lemma (:func:`jl_min_dim`)
    promises both ratios within :math:`1 \\pm \\epsilon` once k is large enough.
    Distances are taken as explicit differences in float64, not from a Gram matrix, so
    no cancellation blurs the ratios.

    Examples
    --------
    >>> x = np.random.default_rng(1).standard_normal((50, 400))
    >>> r = random_projection_distortion(x, jl_min_dim(50, 0.5), seed=2)
    >>> r.k, r.n_pairs, bool(0.5 <= r.min_ratio <= r.max_ratio <= 1.5)
    (188, 1225, True)
    """
    x = _check_finite_array("points", points, 2).astype(np.float64)   # (n, D)
    n, dim = x.shape
    if n < 2:
        raise ValueError(f"points must hold at least 2 rows, got shape {x.shape}")
    k = _check_int("k", k)
    rng = np.random.default_rng(seed)
    proj = rng.standard_normal((k, dim)) / math.sqrt(k)                # (k, D)
    y = x @ proj.T                                                     # (n, k)
    lo, hi, n_pairs = math.inf, -math.inf, 0
    for i in range(n - 1):
        before = np.sum((x[i + 1:] - x[i]) ** 2, axis=1)               # (n - i - 1,)
        after = np.sum((y[i + 1:] - y[i]) ** 2, axis=1)
        keep = before > 0
        if np.any(keep):
            ratio = after[keep] / before[keep]
            lo, hi = min(lo, float(ratio.min())), max(hi, float(ratio.max()))
            n_pairs += int(np.count_nonzero(keep))
    return ProjectionDistortion(lo, hi, k, n_pairs)
