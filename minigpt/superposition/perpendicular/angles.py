"""The distribution of the angles between all pairs of a set of vectors.

:func:`angle_stats` measures it tile by tile (the tiles of ``loss.py``) in float64 and
returns an :class:`AngleStats`: extremes, percentiles, the share inside the video's
89..91 degree band, and a fine histogram that ``plots.py`` draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._common import _check_finite_array, _check_int, _check_real
from .loss import DEFAULT_BLOCK, _tiles

CLAIM_BAND_DEG = (89.0, 91.0)
PERCENTILES = (0.1, 1.0, 50.0, 99.0, 99.9)
HIST_RESOLUTION_DEG = 0.001  # percentiles are read off a histogram of this bin width
FULL_ANGLE_DEG = 180.0
VIDEO_PLOT_DEG = (80.0, 100.0)  # the range of the video's histogram


@dataclass(frozen=True)
class AngleStats:
    """The distribution of the angles between all pairs of a set of vectors.

    Attributes
    ----------
    n_pairs : int
        :math:`n(n-1)/2`, each unordered pair once.
    min_deg, max_deg : float
        Smallest and largest pairwise angle (exact, from the extreme cosines).
    max_abs_cos : float
        :math:`\\max_{i<j} |\\cos\\theta_{ij}|`, the quantity the Welch bound limits.
    rms_cos : float
        :math:`\\sqrt{\\operatorname{mean}_{i<j} \\cos^2\\theta_{ij}}`, also limited by it.
    percentiles_deg : dict of float to float
        Angle percentiles, read from the histogram: within ``resolution_deg / 2``.
    band_deg : tuple of float
        The band whose share is counted.
    share_in_band : float
        Share of pairs with an angle inside ``band_deg`` (counted exactly, in cosines).
    resolution_deg : float
        Bin width of ``histogram``.
    histogram : ndarray of int64, shape (180 / resolution_deg,)
        Pair counts per angle bin from 0 to 180 degrees.
    """

    n_pairs: int
    min_deg: float
    max_deg: float
    max_abs_cos: float
    rms_cos: float
    percentiles_deg: dict[float, float]
    band_deg: tuple[float, float]
    share_in_band: float
    resolution_deg: float
    histogram: np.ndarray

    def binned(self, lo: float = 80.0, hi: float = 100.0,
               bin_deg: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
        """Bin edges and counts on ``[lo, hi)`` at ``bin_deg``, summed from the fine bins.

        ``bin_deg`` is rounded to a whole number of fine bins; pairs outside are left out.
        """
        per = max(1, round(bin_deg / self.resolution_deg))
        first, last = round(lo / self.resolution_deg), round(hi / self.resolution_deg)
        fine = self.histogram[first:last]
        fine = fine[: len(fine) // per * per]
        counts = fine.reshape(-1, per).sum(axis=1)
        edges = (first + per * np.arange(len(counts) + 1)) * self.resolution_deg
        return edges, counts

    def share_between(self, lo: float, hi: float) -> float:
        """Share of pairs with an angle in ``[lo, hi)`` degrees, to the histogram's resolution."""
        first, last = round(lo / self.resolution_deg), round(hi / self.resolution_deg)
        return float(self.histogram[first:last].sum()) / self.n_pairs

    def to_dict(self) -> dict[str, Any]:
        """The scalar fields as a JSON-ready dict (the histogram is left out)."""
        return {"n_pairs": self.n_pairs, "min_deg": self.min_deg, "max_deg": self.max_deg,
                "max_abs_cos": self.max_abs_cos, "rms_cos": self.rms_cos,
                "percentiles_deg": {str(q): a for q, a in self.percentiles_deg.items()},
                "band_deg": list(self.band_deg), "share_in_band": self.share_in_band,
                "resolution_deg": self.resolution_deg}


def angle_stats(v: np.ndarray, *, band_deg: tuple[float, float] = CLAIM_BAND_DEG,
                resolution_deg: float = HIST_RESOLUTION_DEG,
                block: int = DEFAULT_BLOCK) -> AngleStats:
    """Measure the pairwise angles of the rows of ``v``, tile by tile, in float64.

    Parameters
    ----------
    v : ndarray, shape (n, d)
        n >= 2 nonzero vectors (they need not be unit: angles use normalized rows).
    band_deg : (float, float)
        The band to count, in degrees (default the video's 89..91).
    resolution_deg : float
        Histogram bin width; sets the accuracy of the percentiles.
    block : int
        Tile side, as in :func:`perpendicular_loss_and_grad`.

    Returns
    -------
    AngleStats

    Notes
    -----
    :math:`\\theta_{ij} = \\arccos(\\hat v_i \\cdot \\hat v_j)` over pairs i < j: the
    upper triangle of each diagonal tile and all of each tile above it. A pair is in the
    band :math:`[\\theta_{lo}, \\theta_{hi}]` iff
    :math:`\\cos\\theta_{hi} \\le \\cos\\theta_{ij} \\le \\cos\\theta_{lo}`, which is tested
    on the cosines directly; percentile p is the centre of the first histogram bin whose
    cumulative count reaches :math:`\\lceil p\\,n_{pairs} / 100 \\rceil`.

    Examples
    --------
    >>> s = angle_stats(np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
    >>> s.n_pairs, round(s.min_deg, 6), round(s.max_deg, 6), round(s.share_in_band, 3)
    (3, 45.0, 90.0, 0.333)
    """
    _check_finite_array("v", v, 2)
    block = _check_int("block", block)
    resolution_deg = _check_real("resolution_deg", resolution_deg, 0.0, FULL_ANGLE_DEG)
    lo_deg, hi_deg = (_check_real("band_deg", b, 0.0, FULL_ANGLE_DEG, low_open=False,
                                  high_open=False) for b in band_deg)
    if lo_deg > hi_deg:
        raise ValueError(f"band_deg must be (low, high) with low <= high, got {band_deg}")
    n = v.shape[0]
    if n < 2:
        raise ValueError(f"need at least 2 vectors to measure angles, got shape {v.shape}")
    norms = np.linalg.norm(v.astype(np.float64), axis=1, keepdims=True)   # (n, 1)
    if np.any(norms == 0.0):
        raise ValueError(f"v must have nonzero rows, got {np.count_nonzero(norms == 0.0)} "
                         f"zero rows")
    u = v.astype(np.float64) / norms                                       # (n, d)
    n_bins = round(FULL_ANGLE_DEG / resolution_deg)
    cos_hi, cos_lo = math.cos(math.radians(lo_deg)), math.cos(math.radians(hi_deg))
    counts = np.zeros(n_bins, dtype=np.int64)
    max_cos, min_cos, sum_sq, in_band = -math.inf, math.inf, 0.0, 0
    for a0, a1, e0, e1 in _tiles(n, block):
        cos = u[a0:a1] @ u[e0:e1].T                                        # (ba, be)
        cos = cos[np.triu_indices(a1 - a0, k=1)] if a0 == e0 else cos.ravel()   # pairs i < j
        np.clip(cos, -1.0, 1.0, out=cos)
        max_cos, min_cos = max(max_cos, float(cos.max())), min(min_cos, float(cos.min()))
        sum_sq += float(np.dot(cos, cos))
        in_band += int(np.count_nonzero((cos >= cos_lo) & (cos <= cos_hi)))
        bins = (np.degrees(np.arccos(cos)) / resolution_deg).astype(np.int64)
        counts += np.bincount(np.minimum(bins, n_bins - 1), minlength=n_bins)
    n_pairs = n * (n - 1) // 2
    cumulative = np.cumsum(counts)
    percentiles = {}
    for q in PERCENTILES:
        rank = max(1, math.ceil(q / 100.0 * n_pairs))
        percentiles[q] = (int(np.searchsorted(cumulative, rank)) + 0.5) * resolution_deg
    return AngleStats(
        n_pairs=n_pairs, min_deg=math.degrees(math.acos(max_cos)),
        max_deg=math.degrees(math.acos(min_cos)), max_abs_cos=max(max_cos, -min_cos),
        rms_cos=math.sqrt(sum_sq / n_pairs), percentiles_deg=percentiles,
        band_deg=(lo_deg, hi_deg), share_in_band=in_band / n_pairs,
        resolution_deg=resolution_deg, histogram=counts)
