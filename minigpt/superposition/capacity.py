"""How many nearly perpendicular directions fit in d dimensions?

Exactly perpendicular: d. Within a tolerance, many more, and the count grows exponentially
with d: that is the video's argument for why superposition lets a model hold more features
than it has dimensions. This module puts numbers on both sides of that claim.

* Lower side, random: :func:`jl_min_dim` (Johnson-Lindenstrauss, Dasgupta-Gupta form),
  :func:`random_projection_distortion` (the lemma checked on data), :func:`jl_packing_n`
  (how many *random* directions a union bound guarantees) and :func:`random_packing_n`
  (how many random directions one draws, measured, before two are too close).
* Lower side, optimized: :func:`max_packing` searches for the largest set it can find.
* Upper side: :func:`welch_bound` and :func:`welch_max_n`, which no arrangement can beat.

A tolerance is written ``cos_tol``: every pair must have ``|cos| <= cos_tol``. "Between
89 and 91 degrees" is ``cos_tol = sin(1 degree) = 0.01745`` (:func:`band_to_cos_tol`).

The packing search multiplies many small matrices. Multi-threaded BLAS is slow on those
(its workers' wake-up costs more than the product), so when ``threadpoolctl`` is installed
the search limits BLAS to one thread while it runs and restores the setting on return.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from ..optim import AdamW

# Adam as torch.optim.Adam's defaults (no weight decay), for every optimization here.
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8

# max_packing: the search's knobs (see its Notes).
PACK_LR = 0.02
PACK_STEPS = 1500
PACK_RESTARTS = 4
PACK_MARGIN = 0.05       # optimize towards |cos| <= (1 - margin) * cos_tol
PACK_CHECK_EVERY = 10    # test for success every this many steps
PACK_N_MAX = 1000
WELCH_ORDERS = 32        # max_packing never tries n above the order-1..32 Welch bounds

# capacity_sweep defaults: fast (about 13 s on 2 cores), and wide enough to show growth.
DEFAULT_DIMS = tuple(range(2, 9))
DEFAULT_BANDS_DEG = (35.0, 20.0, 10.0, 5.0)
RANDOM_TRIALS = 21
RANDOM_FIRST_DRAW = 64
MAX_EXPONENT = 700.0     # math.exp overflows a float a little above 709


# --------------------------------------------------------------------------- validation

def _check_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def _check_real(name: str, value: Any, low: float, high: float, *,
                low_open: bool = True, high_open: bool = True) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                   np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    x = float(value)
    below = x <= low if low_open else x < low
    above = x >= high if high_open else x > high
    if not math.isfinite(x) or below or above:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must be a finite number in {lo}{low}, {high}{hi}, got {value!r}")
    return x


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


@contextlib.contextmanager
def _blas_threads(limit: int | None) -> Iterator[None]:
    """Limit BLAS to ``limit`` threads inside the block (needs threadpoolctl; None: no change)."""
    if limit is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=limit, user_api="blas"):
        yield


# --------------------------------------------------------------------------- formulas

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
    >>> jl_packing_n(100, 0.5), jl_packing_n(10_000, band_to_cos_tol(1.0))
    (518.0, 2.0)
    """
    d = _check_int("d", d)
    cos_tol = _check_real("cos_tol", cos_tol, 0.0, 1.0)
    exponent = d * cos_tol ** 2 / 4.0
    return math.inf if exponent > MAX_EXPONENT else max(1.0, float(math.floor(math.exp(exponent))))


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


# --------------------------------------------------------------------------- JL, checked

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


# --------------------------------------------------------------------------- packing

def packing_loss_and_grad(v: np.ndarray, target: float) -> tuple[float, np.ndarray]:
    """Squared hinge on the pairwise dot products beyond ``target``, and its gradient.

    Parameters
    ----------
    v : ndarray, shape (n, d) or (R, n, d)
        One set of n vectors, or R independent sets (the loss adds them up).
    target : float
        The allowed :math:`|v_i \\cdot v_j|`, >= 0.

    Returns
    -------
    loss : float
    dv : ndarray, shape of ``v``

    Notes
    -----
    With :math:`G = V V^T` and :math:`E_{ij} = \\max(|G_{ij}| - \\tau, 0)` for
    :math:`i \\ne j` (0 on the diagonal):

    .. math::
        L = \\sum_{i \\ne j} E_{ij}^2, \\qquad
        S = \\frac{\\partial L}{\\partial G} = 2 E \\odot \\operatorname{sign}(G), \\qquad
        \\frac{\\partial L}{\\partial V} = (S + S^T) V = 2 S V

    since :math:`dG = dV\\,V^T + V\\,dV^T` and S is symmetric. The square makes the
    gradient vanish smoothly at the tolerance, so a feasible set stops moving.

    Examples
    --------
    >>> loss, dv = packing_loss_and_grad(np.array([[1.0, 0.0], [0.6, 0.8]]), 0.5)
    >>> round(loss, 6), dv.shape
    (0.02, (2, 2))
    """
    _check_finite_array("v", v, (2, 3))
    target = _check_real("target", target, 0.0, math.inf, low_open=False)
    loss, dv, _ = _packing_step(v, v.dtype.type(target))
    return loss, dv


def _packing_step(v: np.ndarray, target: np.floating) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss, gradient and per-set largest off-diagonal ``|G|`` of :func:`packing_loss_and_grad`."""
    n = v.shape[-2]
    diag = np.arange(n)
    gram = v @ np.swapaxes(v, -1, -2)               # (..., n, n)
    gram[..., diag, diag] = 0.0                     # pairs i != j only
    excess = np.maximum(np.abs(gram) - target, 0.0)  # E
    loss = float(np.sum(excess * excess))
    s = 2.0 * excess * np.sign(gram)                # fwd: L = sum E^2  =>  S = dL/dG
    dv = 2.0 * (s @ v)                              # fwd: G = V V^T  =>  dV = (S + S^T) V
    worst = np.max(np.abs(gram), axis=(-1, -2))     # (...,)
    return loss, dv, worst


def _try_pack(start: np.ndarray, n: int, cos_tol: float, rng: np.random.Generator, *,
              restarts: int, steps: int, lr: float) -> tuple[np.ndarray, float] | None:
    """Look for n unit vectors with all ``|cos| <= cos_tol``; ``None`` if none was found.

    Even-numbered restarts keep the ``start`` set and add fresh directions; odd ones start
    from scratch. Rows are renormalized after every Adam step (projection to the sphere).
    """
    d = start.shape[1]
    v = rng.standard_normal((restarts, n, d))                          # (R, n, d)
    v[0::2, :start.shape[0]] = start
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    opt = AdamW({"v": v}, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=0.0, decay=())
    target = np.float64((1.0 - PACK_MARGIN) * cos_tol)
    for step in range(steps + 1):
        _, dv, worst = _packing_step(v, target)
        if step % PACK_CHECK_EVERY == 0 or step == steps:
            ok = np.flatnonzero(worst <= cos_tol)
            if ok.size:
                best = ok[np.argmin(worst[ok])]
                return v[best].copy(), float(worst[best])
        if step < steps:
            opt.step({"v": dv})
            v /= np.linalg.norm(v, axis=-1, keepdims=True)
    return None


@dataclass(frozen=True)
class PackingResult:
    """The largest set :func:`max_packing` found.

    Attributes
    ----------
    d : int
    cos_tol : float
    n : int
        Vectors found (a lower bound on the true maximum).
    max_abs_cos : float
        The set's largest ``|cos|`` between two of its vectors (<= ``cos_tol``).
    vectors : ndarray, shape (n, d)
        The set itself, rows of norm 1: the certificate.
    attempts : tuple of (int, bool)
        Every size tried, in order, and whether it succeeded.
    """

    d: int
    cos_tol: float
    n: int
    max_abs_cos: float
    vectors: np.ndarray
    attempts: tuple[tuple[int, bool], ...]


def max_packing(d: int, cos_tol: float, *, n_max: int = PACK_N_MAX,
                restarts: int = PACK_RESTARTS, steps: int = PACK_STEPS, lr: float = PACK_LR,
                seed: int = 0) -> PackingResult:
    """Estimate the most unit vectors in d dimensions with all pairwise ``|cos| <= cos_tol``.

    Parameters
    ----------
    d : int
        Dimension, >= 1.
    cos_tol : float
        Tolerance in (0, 1); see :func:`band_to_cos_tol`.
    n_max : int
        Largest n tried.
    restarts : int
        Independent starts per size (optimized together as one batch).
    steps : int
        Adam steps per size before giving up.
    lr : float
        Adam learning rate.
    seed : int

    Returns
    -------
    PackingResult
        The largest n that succeeded, with its vectors.

    Notes
    -----
    An orthonormal basis shows that n = d always fits. Above it, a size n is tried by
    minimizing :func:`packing_loss_and_grad` with target :math:`(1 - 0.05)\\,c` by Adam on
    the sphere, and it succeeds as soon as the largest :math:`|\\cos|` is at most c. The
    size grows by doubling steps after each success and is bisected after a failure
    (each new size starts from the best set so far plus fresh random directions). Sizes
    above :func:`welch_max_n` (orders 1-32) are impossible and never tried.

    The answer is a lower bound found by a local search, not the true maximum; together
    with :func:`welch_max_n` it brackets the maximum.

    Examples
    --------
    >>> r = max_packing(3, band_to_cos_tol(35.0))   # lines at 55..125 degrees in 3-D
    >>> r.n, bool(r.max_abs_cos <= r.cos_tol)
    (6, True)
    """
    d = _check_int("d", d)
    cos_tol = _check_real("cos_tol", cos_tol, 0.0, 1.0)
    n_max = _check_int("n_max", n_max)
    restarts, steps = _check_int("restarts", restarts), _check_int("steps", steps)
    lr = _check_real("lr", lr, 0.0, math.inf)
    rng = np.random.default_rng(seed)
    best, best_cos = np.eye(d), 0.0                                    # (d, d): n = d fits
    cap = min(welch_max_n(d, cos_tol, max_order=WELCH_ORDERS), float(n_max))
    lo, hi, grow = d, int(max(cap, d)) + 1, 1                          # lo fits; hi does not
    attempts = []
    with _blas_threads(1):
        while hi - lo > 1:
            n = min(lo + grow, hi - 1)
            found = _try_pack(best, n, cos_tol, rng, restarts=restarts, steps=steps, lr=lr)
            attempts.append((n, found is not None))
            if found is not None:
                (best, best_cos), lo, grow = found, n, grow * 2
            else:
                hi, grow = n, max(1, (n - lo) // 2)
    return PackingResult(d, cos_tol, lo, best_cos, best, tuple(attempts))


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
    with _blas_threads(1):
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


# --------------------------------------------------------------------------- the table

@dataclass(frozen=True)
class CapacityRow:
    """One line of :func:`capacity_sweep`: found, random and bounding counts side by side.

    Attributes
    ----------
    d : int
    band_deg : float
        Angles allowed within 90 +/- ``band_deg`` degrees.
    cos_tol : float
        The same tolerance as a bound on ``|cos|``.
    n_found : int
        :func:`max_packing`'s result (a lower bound on the true maximum).
    max_abs_cos : float
        The found set's largest ``|cos|``.
    n_random : float
        :func:`random_packing_n`, the measured random baseline.
    n_jl : float
        :func:`jl_packing_n`, the union-bound guarantee for random directions.
    n_welch : float
        :func:`welch_max_n` of orders 1-32, an upper bound (``inf`` when none).
    """

    d: int
    band_deg: float
    cos_tol: float
    n_found: int
    max_abs_cos: float
    n_random: float
    n_jl: float
    n_welch: float

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (an infinite bound becomes ``None``)."""
        return {k: (None if isinstance(v, float) and math.isinf(v) else v)
                for k, v in asdict(self).items()}


def capacity_sweep(dims: Iterable[int] = DEFAULT_DIMS,
                   bands_deg: Iterable[float] = DEFAULT_BANDS_DEG, *, seed: int = 0,
                   restarts: int = PACK_RESTARTS, steps: int = PACK_STEPS,
                   random_trials: int = RANDOM_TRIALS) -> list[CapacityRow]:
    """Tabulate how many nearly perpendicular directions fit, for each d and band.

    Parameters
    ----------
    dims : iterable of int
        Dimensions (default 2..8).
    bands_deg : iterable of float
        Half-widths of the bands around 90 degrees (default 35, 20, 10, 5: angles within
        55-125, 70-110, 80-100, 85-95).
    seed : int
    restarts, steps : int
        Passed to :func:`max_packing`.
    random_trials : int
        Passed to :func:`random_packing_n`.

    Returns
    -------
    list of CapacityRow
        One row per (band, d), bands outermost.

    Notes
    -----
    The default sweep takes about 13 s on 2 cores. The widest band is there because
    the exponential growth only shows once :math:`d c^2` is large: at 80-100 degrees and
    d <= 10 the Welch bound itself allows barely more than d vectors. For 89-91 degrees,
    order-1 Welch gives n = d exactly for every d <= 57, and at most 103 for d = 100.

    Examples
    --------
    >>> rows = capacity_sweep(dims=[2, 3], bands_deg=[35.0], random_trials=3)
    >>> [(r.d, r.n_found, r.n_welch) for r in rows]
    [(2, 3, 3.0), (3, 6, 14.0)]
    """
    dims = [_check_int("d", d) for d in dims]
    bands = [_check_real("band_deg", b, 0.0, 90.0) for b in bands_deg]
    rows = []
    for band in bands:
        cos_tol = band_to_cos_tol(band)
        for d in dims:
            found = max_packing(d, cos_tol, restarts=restarts, steps=steps, seed=seed)
            rows.append(CapacityRow(
                d=d, band_deg=band, cos_tol=cos_tol, n_found=found.n,
                max_abs_cos=found.max_abs_cos,
                n_random=random_packing_n(d, cos_tol, trials=random_trials, seed=seed),
                n_jl=jl_packing_n(d, cos_tol),
                n_welch=welch_max_n(d, cos_tol, max_order=WELCH_ORDERS)))
    return rows


def plot_capacity(rows: Iterable[CapacityRow]) -> Any:
    """Plot log(n) against d for each band: found, random, union bound and Welch bound.

    Parameters
    ----------
    rows : iterable of CapacityRow
        From :func:`capacity_sweep`.

    Returns
    -------
    matplotlib.figure.Figure
        One panel; log-scale n: the found sets, the random baseline, the union bound
        and the Welch bound for each band. Needs matplotlib (imported here, not at module import).
    """
    import matplotlib.pyplot as plt

    rows = list(rows)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    bands = sorted({r.band_deg for r in rows}, reverse=True)
    for color, band in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], bands):
        sel = sorted((r for r in rows if r.band_deg == band), key=lambda r: r.d)
        d = [r.d for r in sel]
        label = f"{90 - band:g}-{90 + band:g} deg"
        ax.plot(d, [r.n_found for r in sel], "o-", color=color, label=f"{label}: found")
        ax.plot(d, [r.n_random for r in sel], "s--", color=color, alpha=0.6, ms=4)
        welch = [r.n_welch if math.isfinite(r.n_welch) else np.nan for r in sel]
        ax.plot(d, welch, "v:", color=color, alpha=0.6, ms=4)
        ax.plot(d, [r.n_jl for r in sel], "x-.", color=color, alpha=0.6, ms=5)
    ax.plot([], [], "k--s", ms=4, alpha=0.6, label="random directions (median)")
    ax.plot([], [], "k-.x", ms=5, alpha=0.6, label="union bound for random, exp(d c^2/4)")
    ax.plot([], [], "k:v", ms=4, alpha=0.6, label="Welch upper bound")
    ax.plot(sorted({r.d for r in rows}), sorted({r.d for r in rows}), color="0.7", lw=1,
            label="n = d (exactly perpendicular)")
    ax.set_yscale("log")
    ax.set_xlabel("dimension d")
    ax.set_ylabel("number of directions n")
    ax.set_title("How many nearly perpendicular directions fit")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
