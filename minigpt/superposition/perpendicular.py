"""The video's "nearly perpendicular" experiment, rerun and measured.

3Blue1Brown's script (``_2024/transformers/almost_orthogonal.py`` in 3b1b/videos) draws
10,000 random unit vectors in 100 dimensions, minimizes a hinge loss on their pairwise dot
products with Adam (lr 0.01, 250 steps), and histograms the angles between 80 and 100
degrees; the video says they all end up between 89 and 91 degrees. Here the same
experiment runs in numpy with a hand-derived gradient, and the whole angle distribution
is measured, next to the Welch bound that no arrangement can beat.

Memory. The Gram matrix :math:`G = V V^T` of 10,000 vectors is 400 MB in float32, and the
loss needs it every step. It is never stored: :func:`perpendicular_loss_and_grad` walks
over square tiles :math:`G_{AE} = V_A V_E^T` (1000 x 1000, 4 MB) of the upper block
triangle :math:`E \\ge A`, turns each tile into its share of the loss and of
:math:`\\partial L / \\partial V`, and drops it. The symmetry of G halves the work, and
tiles that fit in cache run several times faster than whole row blocks. Peak memory is a
few tiles plus V.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..optim import AdamW
from .capacity import (ADAM_BETAS, ADAM_EPS, _blas_threads, _check_finite_array, _check_int,
                       _check_real, random_unit_vectors, welch_bound)

DEFAULT_N = 10_000
DEFAULT_D = 100
DEFAULT_STEPS = 250
DEFAULT_LR = 0.01
DEFAULT_CUTOFF = 0.01       # |G_ij - delta_ij| below this costs nothing
DEFAULT_BLOCK = 1000        # tile side: 1000 x 1000 float32 = 4 MB
CLAIM_BAND_DEG = (89.0, 91.0)
PERCENTILES = (0.1, 1.0, 50.0, 99.0, 99.9)
HIST_RESOLUTION_DEG = 0.001  # percentiles are read off a histogram of this bin width
FULL_ANGLE_DEG = 180.0
VIDEO_PLOT_DEG = (80.0, 100.0)  # the range of the video's histogram
PARALLEL_COS = 0.9          # |cos| above this: two vectors share a line (about 26 degrees)
# One BLAS thread: about 100 s of CPU per default run. Two threads are faster on idle cores
# but were 2.5 times slower in wall time on busy ones (OpenBLAS workers wait for each
# other). See nearly_perpendicular.
DEFAULT_BLAS_THREADS = 1


def _tiles(n: int, block: int) -> Iterator[tuple[int, int, int, int]]:
    """Row and column ranges ``(a0, a1, e0, e1)`` of the tiles on or above the diagonal."""
    for a0 in range(0, n, block):
        for e0 in range(a0, n, block):
            yield a0, min(a0 + block, n), e0, min(e0 + block, n)


def perpendicular_loss_and_grad(v: np.ndarray, cutoff: float = DEFAULT_CUTOFF, *,
                                block: int = DEFAULT_BLOCK) -> tuple[float, np.ndarray]:
    """The video's loss on n vectors and its gradient, computed tile by tile.

    Parameters
    ----------
    v : ndarray, shape (n, d)
        The vectors, one per row; float32 or float64 (the gradient has the same dtype).
    cutoff : float
        c, the deviation from :math:`\\delta_{ij}` that is free.
    block : int
        Tile side; memory is :math:`O(\\text{block}^2)`, independent of n.

    Returns
    -------
    loss : float
    dv : ndarray, shape (n, d)

    Notes
    -----
    With :math:`G = V V^T`, summing over *all* ordered pairs (i, j), diagonal included:

    .. math::
        L = \\sum_{i,j} \\max\\left(|G_{ij} - \\delta_{ij}| - c,\\, 0\\right)
            + n \\sum_i (G_{ii} - 1)^2

    Off the diagonal the hinge charges :math:`|\\cos|`-like overlaps beyond c, each pair
    twice. On the diagonal the same hinge charges :math:`|\\|v_i\\|^2 - 1|` beyond c, and
    the second term adds a steep quadratic pull of every squared norm towards 1.
    Backward: with :math:`S = \\partial L / \\partial G`,

    .. math::
        S_{ij} = \\operatorname{sign}(G_{ij} - \\delta_{ij})\\,
                 [\\,|G_{ij} - \\delta_{ij}| > c\\,] + 2n\\,\\delta_{ij}(G_{ii} - 1),
        \\qquad
        \\frac{\\partial L}{\\partial V} = (S + S^T) V = 2 S V

    because :math:`dG = dV\\,V^T + V\\,dV^T` and S is symmetric (G is). In tiles: a
    diagonal tile adds :math:`S_{AA} V_A` to rows A; an off-diagonal tile adds
    :math:`S_{AE} V_E` to rows A and :math:`S_{AE}^T V_A` to rows E (the tile below the
    diagonal it stands for); the sum is doubled at the end. The hinge has no derivative
    at :math:`|G_{ij} - \\delta_{ij}| = c`; the value 0 is used there, as autograd does.

    The hinge's loss is read off S without another pass over the tile:
    :math:`\\sum \\max(|g| - c, 0) = \\langle S, G - I \\rangle - c \\cdot \\#\\{S \\ne 0\\}`.

    Examples
    --------
    >>> v = np.array([[1.0, 0.0], [0.6, 0.8]])    # unit vectors with cos = 0.6
    >>> loss, dv = perpendicular_loss_and_grad(v, cutoff=0.1)
    >>> round(loss, 6), dv.shape                  # two ordered pairs: 2 * (0.6 - 0.1)
    (1.0, (2, 2))
    """
    _check_finite_array("v", v, 2)
    cutoff = _check_real("cutoff", cutoff, 0.0, math.inf, low_open=False)
    block = _check_int("block", block)
    n, d = v.shape
    dt = v.dtype.type
    c = dt(cutoff)
    size = min(block, n)
    g_buf = np.empty(size * size, dtype=v.dtype)          # one tile of G - I
    s_buf = np.empty(size * size, dtype=v.dtype)          # one tile of S
    pos_buf = np.empty(size * size, dtype=bool)
    neg_buf = np.empty(size * size, dtype=bool)
    t_buf = np.empty(size * d, dtype=v.dtype)             # one tile's S @ V
    dv = np.zeros_like(v)                                 # (n, d)
    loss = 0.0
    for a0, a1, e0, e1 in _tiles(n, block):
        ba, be = a1 - a0, e1 - e0
        va, ve = v[a0:a1], v[e0:e1]                       # (ba, d), (be, d)
        g = np.matmul(va, ve.T, out=g_buf[:ba * be].reshape(ba, be))   # (ba, be)
        on_diag = a0 == e0
        if on_diag:
            idx = np.arange(ba)
            g[idx, idx] -= dt(1.0)                        # G - I
        pos = np.greater(g, c, out=pos_buf[:ba * be].reshape(ba, be))
        neg = np.less(g, -c, out=neg_buf[:ba * be].reshape(ba, be))
        s = s_buf[:ba * be].reshape(ba, be)
        np.copyto(s, pos)
        np.subtract(s, neg, out=s)                        # sign(G - I) [|G - I| > c]
        hinge = float(np.vdot(s, g)) - cutoff * int(np.count_nonzero(pos) + np.count_nonzero(neg))
        if on_diag:
            r = g[idx, idx]                               # (ba,) G_ii - 1
            loss += hinge + n * float(np.dot(r, r))
            s[idx, idx] += dt(2 * n) * r                  # fwd: n (G_ii - 1)^2  =>  2n (G_ii - 1)
            t = np.matmul(s, va, out=t_buf[:ba * d].reshape(ba, d))
            dv[a0:a1] += t
        else:
            loss += 2.0 * hinge                           # the mirrored tile below the diagonal
            t = np.matmul(s, ve, out=t_buf[:ba * d].reshape(ba, d))
            dv[a0:a1] += t
            t = np.matmul(s.T, va, out=t_buf[:be * d].reshape(be, d))
            dv[e0:e1] += t
    dv *= dt(2.0)                                         # fwd: G = V V^T  =>  dV = 2 S V
    return loss, dv


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


def parallel_groups(v: np.ndarray, min_abs_cos: float = PARALLEL_COS, *,
                    block: int = DEFAULT_BLOCK) -> np.ndarray:
    """Group the vectors that lie on nearly the same line (parallel or antiparallel).

    Parameters
    ----------
    v : ndarray, shape (n, d)
        Nonzero vectors.
    min_abs_cos : float
        Two vectors are linked when :math:`|\\cos\\theta| >` this, in [0.5, 1).
    block : int
        Tile side.

    Returns
    -------
    ndarray of int64, shape (n,)
        Group label of each vector, 0 .. K-1, numbered in order of each group's first
        vector: the connected components of the links.

    Notes
    -----
    Links are collected tile by tile (the threshold of at least 0.5 keeps them few unless
    the vectors really crowd together), then every vector repeatedly takes the smallest
    label among itself and its linked neighbours, with pointer jumping
    (``label = label[label]``), until nothing changes.

    Examples
    --------
    >>> v = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.01], [0.02, 1.0]])
    >>> parallel_groups(v)
    array([0, 1, 0, 1])
    """
    _check_finite_array("v", v, 2)
    min_abs_cos = _check_real("min_abs_cos", min_abs_cos, 0.5, 1.0, low_open=False)
    block = _check_int("block", block)
    n = v.shape[0]
    norms = np.linalg.norm(v.astype(np.float64), axis=1, keepdims=True)    # (n, 1)
    if np.any(norms == 0.0):
        raise ValueError(f"v must have nonzero rows, got {np.count_nonzero(norms == 0.0)} "
                         f"zero rows")
    u = v.astype(np.float64) / norms                                        # (n, d)
    src, dst = [], []
    for a0, a1, e0, e1 in _tiles(n, block):
        linked = np.abs(u[a0:a1] @ u[e0:e1].T) > min_abs_cos                # (ba, be)
        if a0 == e0:
            linked = np.triu(linked, k=1)
        i, j = np.nonzero(linked)
        src.append(i + a0)
        dst.append(j + e0)
    i, j = np.concatenate(src), np.concatenate(dst)                         # (n_links,)
    labels = np.arange(n)
    while True:
        new = labels.copy()
        smaller = np.minimum(labels[i], labels[j])
        np.minimum.at(new, i, smaller)
        np.minimum.at(new, j, smaller)
        new = new[new]                                                      # pointer jumping
        if np.array_equal(new, labels):
            break
        labels = new
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


@dataclass(frozen=True)
class PerpendicularResult:
    """What :func:`nearly_perpendicular` measured.

    Attributes
    ----------
    n, d, steps : int
    lr, cutoff : float
    seed : int
    dtype : str
    before, after : AngleStats
        The angles of the random start and of the optimized vectors.
    losses : ndarray, shape (steps,)
        The loss before each Adam step.
    welch_cos : float
        :func:`~minigpt.superposition.capacity.welch_bound` of (n, d).
    welch_angle_deg : float
        :math:`\\arccos` of it: some pair is at most this far apart, or at least
        180 minus it.
    share_outside_plot : float
        Share of pairs after optimization outside the 80-100 degrees the video plotted.
    n_lines : int
        Number of :func:`parallel_groups` of the optimized vectors with two or more
        members: lines shared by nearly parallel or antiparallel vectors.
    n_on_lines : int
        How many vectors share a line with another.
    largest_line : int
        Size of the largest group (1 when no two vectors share a line).
    claim_holds : bool
        Whether every pairwise angle ended within 89..91 degrees.
    verdict : str
        The finding in one paragraph.
    seconds : float
        Wall time of the whole run.
    vectors : ndarray, shape (n, d)
        The optimized vectors.
    """

    n: int
    d: int
    steps: int
    lr: float
    cutoff: float
    seed: int
    dtype: str
    before: AngleStats
    after: AngleStats
    losses: np.ndarray
    welch_cos: float
    welch_angle_deg: float
    share_outside_plot: float
    n_lines: int
    n_on_lines: int
    largest_line: int
    claim_holds: bool
    verdict: str
    seconds: float
    vectors: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no vectors, no histograms)."""
        return {"n": self.n, "d": self.d, "steps": self.steps, "lr": self.lr,
                "cutoff": self.cutoff, "seed": self.seed, "dtype": self.dtype,
                "before": self.before.to_dict(), "after": self.after.to_dict(),
                "losses": [float(x) for x in self.losses], "welch_cos": self.welch_cos,
                "welch_angle_deg": self.welch_angle_deg,
                "share_outside_plot": self.share_outside_plot, "n_lines": self.n_lines,
                "n_on_lines": self.n_on_lines, "largest_line": self.largest_line,
                "claim_holds": self.claim_holds,
                "verdict": self.verdict, "seconds": self.seconds}


def _verdict(r: dict[str, Any]) -> str:
    lo, hi = CLAIM_BAND_DEG
    after = r["after"]
    if r["claim_holds"]:
        return (f"Holds: after {r['steps']} steps all {after.n_pairs:,} pairwise angles lie in "
                f"[{after.min_deg:.2f}, {after.max_deg:.2f}] degrees, inside {lo:g}-{hi:g}.")
    text = (f"Does not hold. After {r['steps']} steps {after.share_in_band:.1%} of the "
            f"{after.n_pairs:,} pairs lie within {lo:g}-{hi:g} degrees, but the angles span "
            f"{after.min_deg:.2f} to {after.max_deg:.2f}, and {r['share_outside_plot']:.2%} of "
            f"the pairs fall outside the {VIDEO_PLOT_DEG[0]:g}-{VIDEO_PLOT_DEG[1]:g} degrees "
            f"the video plotted. ")
    if r["n_lines"]:
        text += (f"{r['n_on_lines']:,} of the {r['n']:,} vectors have gathered on "
                 f"{r['n_lines']:,} lines (groups of nearly parallel or antiparallel vectors, "
                 f"|cos| > {PARALLEL_COS:g}, up to {r['largest_line']:,} each): most pairs are "
                 f"perpendicular because many vectors are parallel. ")
    if r["welch_angle_deg"] < lo:
        text += (f"No arrangement could satisfy the claim: by the Welch bound, among "
                 f"{r['n']:,} unit vectors in {r['d']} dimensions some pair is at most "
                 f"{r['welch_angle_deg']:.2f} degrees (or at least "
                 f"{FULL_ANGLE_DEG - r['welch_angle_deg']:.2f}) apart, and even the "
                 f"root-mean-square cosine is at least {r['welch_cos']:.4f} (measured: "
                 f"{after.rms_cos:.4f}).")
    else:
        text += (f"The Welch bound ({r['welch_angle_deg']:.2f} degrees) does not forbid it; "
                 f"this optimization did not get there.")
    return text


def nearly_perpendicular(n: int = DEFAULT_N, d: int = DEFAULT_D, *, steps: int = DEFAULT_STEPS,
                         lr: float = DEFAULT_LR, cutoff: float = DEFAULT_CUTOFF, seed: int = 0,
                         block: int = DEFAULT_BLOCK, dtype: type = np.float32,
                         progress: bool = False,
                         blas_threads: int | None = DEFAULT_BLAS_THREADS) -> PerpendicularResult:
    """Rerun the video's experiment and check its "89 to 91 degrees" claim.

    Parameters
    ----------
    n : int
        Number of vectors (video: 10,000), >= 2.
    d : int
        Their dimension (video: 100).
    steps : int
        Adam steps (video: 250).
    lr : float
        Adam learning rate (video: 0.01; betas (0.9, 0.999), eps 1e-8 as torch's Adam).
    cutoff : float
        The hinge's free zone (video: 0.01).
    seed : int
        Seed of the random start.
    block : int
        Tile side of the blockwise Gram matrix.
    dtype : numpy dtype
        float32 (as the video's torch script) or float64.
    progress : bool
        Show a tqdm progress bar.
    blas_threads : int or None
        Limit BLAS to this many threads during the run and restore the setting after
        (needs threadpoolctl; ignored without it). None leaves the setting alone.

    Returns
    -------
    PerpendicularResult

    Notes
    -----
    The start is n standard normal vectors scaled to unit length. Each step minimizes
    :func:`perpendicular_loss_and_grad`; the vectors are not renormalized along the way
    (the loss keeps their norms near 1). Angles are measured between normalized vectors,
    as the video's script does. The claim holds iff every angle ends in [89, 91] degrees.

    Where the loss leads. For unit vectors, :math:`|G_{ij}| \\ge G_{ij}^2`, so with the
    bound in :func:`~minigpt.superposition.capacity.welch_bound`

    .. math::
        \\sum_{i \\ne j} |G_{ij}| \\;\\ge\\; \\sum_{i \\ne j} G_{ij}^2 \\;\\ge\\; \\frac{n^2}{d} - n

    with equality only when every :math:`G_{ij}` is 0 or :math:`\\pm 1`: d perpendicular
    lines, each holding n/d of the vectors. That degenerate arrangement is what an L1
    penalty on overlaps favours (the hinge is L1 beyond c), and the optimization walks
    towards it: most pairs become perpendicular because many vectors become parallel.
    :func:`parallel_groups` counts the lines.

    At the default size: 55 tiles of 1000 x 1000 per step, 3 GEMMs of 1e8 multiply-adds
    each. With one BLAS thread the run takes about 100 s of CPU time (measured: 102 s, and
    196 s wall time while other processes kept both cores busy); two threads took 487 s
    wall time under the same load. Peak memory: about 110 MB for the whole process.

    Examples
    --------
    >>> r = nearly_perpendicular(n=300, d=30, steps=50)
    >>> r.claim_holds, round(r.welch_angle_deg, 2), r.after.max_abs_cos >= r.welch_cos
    (False, 80.0, True)
    """
    n, d, steps = _check_int("n", n, 2), _check_int("d", d), _check_int("steps", steps)
    lr = _check_real("lr", lr, 0.0, math.inf)
    if blas_threads is not None:
        _check_int("blas_threads", blas_threads)
    with _blas_threads(blas_threads):
        return _run(n, d, steps, lr, cutoff, seed, block, dtype, progress)


def _run(n: int, d: int, steps: int, lr: float, cutoff: float, seed: int, block: int,
         dtype: type, progress: bool) -> PerpendicularResult:
    start = time.perf_counter()
    v = random_unit_vectors(n, d, seed=seed, dtype=dtype)           # (n, d)
    before = angle_stats(v, block=block)
    opt = AdamW({"v": v}, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=0.0, decay=())
    losses = np.empty(steps)
    iterator: Any = range(steps)
    if progress:
        from tqdm import tqdm
        iterator = tqdm(iterator, desc=f"{n} vectors in {d} dims")
    for step in iterator:
        losses[step], dv = perpendicular_loss_and_grad(v, cutoff, block=block)
        opt.step({"v": dv})
    after = angle_stats(v, block=block)
    sizes = np.bincount(parallel_groups(v, block=block))                # (n_groups,)
    welch_cos = welch_bound(n, d)
    lo, hi = CLAIM_BAND_DEG
    fields: dict[str, Any] = dict(
        n=n, d=d, steps=steps, lr=lr, cutoff=cutoff, seed=seed, dtype=np.dtype(dtype).name,
        before=before, after=after, losses=losses, welch_cos=welch_cos,
        welch_angle_deg=math.degrees(math.acos(welch_cos)),
        share_outside_plot=1.0 - after.share_between(*VIDEO_PLOT_DEG),
        n_lines=int(np.count_nonzero(sizes > 1)), n_on_lines=int(sizes[sizes > 1].sum()),
        largest_line=int(sizes.max()),
        claim_holds=bool(after.min_deg >= lo and after.max_deg <= hi))
    fields["verdict"] = _verdict(fields)
    return PerpendicularResult(**fields, seconds=time.perf_counter() - start, vectors=v)


def plot_angles(result: PerpendicularResult, range_deg: tuple[float, float] = VIDEO_PLOT_DEG,
                bin_deg: float = 0.05) -> Any:
    """Histograms of the pairwise angles before and after, in the video's window and in full.

    Parameters
    ----------
    result : PerpendicularResult
    range_deg : (float, float)
        Angles shown in the first panel (the video's plot: 80 to 100).
    bin_deg : float
        Bin width of the first panel.

    Returns
    -------
    matplotlib.figure.Figure
        Left: the window, linear counts, with the 89-91 band and the Welch angles. Middle:
        all of 0-180 degrees on a log scale, where nearly parallel pairs show up. Right:
        the loss curve. Needs matplotlib (imported here, not at module import).
    """
    import matplotlib.pyplot as plt

    fig, (ax, ax_full, ax_loss) = plt.subplots(1, 3, figsize=(15, 4), width_ratios=(3, 3, 2))
    stages = ((result.before, "random start"), (result.after, f"after {result.steps} steps"))
    lo, hi = CLAIM_BAND_DEG
    for panel, (a, b), width in ((ax, range_deg, bin_deg), (ax_full, (0.0, FULL_ANGLE_DEG), 1.0)):
        for stats, label in stages:
            edges, counts = stats.binned(a, b, bin_deg=width)
            panel.stairs(counts, edges, fill=True, alpha=0.5, label=label)
        panel.axvspan(lo, hi, color="0.85", zorder=0, label=f"the video's claim: {lo:g}-{hi:g}")
        for angle in (result.welch_angle_deg, FULL_ANGLE_DEG - result.welch_angle_deg):
            panel.axvline(angle, color="k", ls="--", lw=1)
        panel.set_xlim(a, b)
        panel.set_xlabel("angle between two vectors (degrees)")
        panel.set_ylabel(f"pairs per {width:g} degree")
    ax.plot([], [], "k--", lw=1, label=f"Welch bound: {result.welch_angle_deg:.2f} deg")
    ax.legend(fontsize=8)
    ax.set_title(f"{result.n:,} vectors in {result.d} dimensions, the video's window")
    ax_full.set_yscale("log")
    ax_full.set_title(f"all angles (log scale): min {result.after.min_deg:.2f}, "
                      f"max {result.after.max_deg:.2f}")
    ax_loss.plot(result.losses)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("Adam step")
    ax_loss.set_ylabel("loss")
    fig.tight_layout()
    return fig
