"""The table: found, random and bounding counts side by side, for each dimension and band.

:func:`capacity_sweep` runs the search (``packing.py``), the random baseline and the
union bound (``random_packing.py``) and the Welch bound (``welch.py``) on a grid of d and
angle bands; ``plots.py`` draws the rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from .._common import _check_int, _check_real
from .packing import PACK_RESTARTS, PACK_STEPS, WELCH_ORDERS, max_packing
from .random_packing import RANDOM_TRIALS, band_to_cos_tol, jl_packing_n, random_packing_n
from .welch import welch_max_n

# capacity_sweep defaults: fast (about 13 s on 2 cores), and wide enough to show growth.
DEFAULT_DIMS = tuple(range(2, 9))
DEFAULT_BANDS_DEG = (35.0, 20.0, 10.0, 5.0)


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
