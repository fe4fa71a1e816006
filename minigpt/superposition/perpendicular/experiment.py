"""The run: n random unit vectors, the video's loss minimized with Adam, angles measured.

:func:`nearly_perpendicular` minimizes the loss of ``loss.py``, measures the angles before
and after (``angles.py``) and the lines the vectors gather on (``groups.py``), and returns a
:class:`~minigpt.superposition.PerpendicularResult` (``result.py``).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ...runtime import threads
from ...optim import AdamW
from .._common import ADAM_BETAS, ADAM_EPS, _check_int, _check_real
from ..capacity import random_unit_vectors, welch_bound
from .angles import CLAIM_BAND_DEG, VIDEO_PLOT_DEG, angle_stats
from .groups import parallel_groups
from .loss import DEFAULT_BLOCK, DEFAULT_CUTOFF, perpendicular_loss_and_grad
from .result import PerpendicularResult, _verdict

DEFAULT_N = 10_000
DEFAULT_D = 100
DEFAULT_STEPS = 250
DEFAULT_LR = 0.01
# One BLAS thread: about 100 s of CPU per default run. Two threads are faster on idle cores
# but were 2.5 times slower in wall time on busy ones (OpenBLAS workers wait for each
# other). See nearly_perpendicular.
DEFAULT_BLAS_THREADS = 1


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
    bound in :func:`~minigpt.superposition.welch_bound`

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
    with threads.blas_threads(blas_threads):
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
