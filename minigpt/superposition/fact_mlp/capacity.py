"""The capacity of one width: the largest number of facts its MLP recalls at >= 99%.

:func:`fact_capacity` doubles N from a small start until a training run (``training.py``)
fails, then bisects; ``sweep.py`` repeats it for several widths.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ...tables import jsonable
from .._common import _check_int, _check_real
from .mlp import n_mlp_params
from .people import DEFAULT_D, DEFAULT_N_SPORTS, make_people
from .training import DEFAULT_LR, DEFAULT_STEPS, TARGET_RECALL, FitResult, train_fact_mlp

N_START = 16               # the doubling search starts here
N_MAX = 1 << 14            # and never trains on more facts than this
RESOLUTION = 0.1           # bisect until the bracket is within 10% of the lower end


@dataclass(frozen=True)
class FactCapacityRow:
    """How many facts one width stores.

    Attributes
    ----------
    d, width, n_sports : int
    n_stored : int
        The largest N found with recall >= ``TARGET_RECALL`` (0 if none).
    n_failed : int or None
        The smallest N found that failed (None if the search reached ``N_MAX``).
    n_params : int
        :func:`n_mlp_params`: w_up, b_up, w_down, b_down.
    fits : list of FitResult
        Every training run of the search, in order.
    """

    d: int
    width: int
    n_sports: int
    n_stored: int
    n_failed: int | None
    n_params: int
    fits: list[FitResult] = field(repr=False)

    @property
    def facts_per_neuron(self) -> float:
        """N / F: above 1, the neurons hold facts in superposition."""
        return self.n_stored / self.width

    @property
    def bits(self) -> float:
        """Bits stored, :math:`N \\log_2 S` (each sport is uniform over S)."""
        return self.n_stored * math.log2(self.n_sports)

    @property
    def bits_per_param(self) -> float:
        """Bits stored per MLP parameter."""
        return self.bits / self.n_params

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the row's numbers and every training run."""
        return jsonable({"d": self.d, "width": self.width, "n_sports": self.n_sports,
                         "n_stored": self.n_stored, "n_failed": self.n_failed,
                         "n_params": self.n_params, "facts_per_neuron": self.facts_per_neuron,
                         "bits": self.bits, "bits_per_param": self.bits_per_param,
                         "fits": [asdict(f) for f in self.fits]})


def fact_capacity(width: int, d: int = DEFAULT_D, n_sports: int = DEFAULT_N_SPORTS, *,
                  steps: int = DEFAULT_STEPS, lr: float = DEFAULT_LR, restarts: int = 0,
                  seed: int = 0, n_start: int = N_START, n_max: int = N_MAX,
                  resolution: float = RESOLUTION) -> FactCapacityRow:
    """The largest number of facts an MLP of F neurons recalls at >= 99%.

    Parameters
    ----------
    width : int
        F.
    d, n_sports : int
        Embedding dimension and S.
    steps, lr : int, float
        Training budget of each run (:func:`train_fact_mlp`).
    restarts : int
        Extra attempts, from new initial weights, before an N counts as failed.
    seed : int
        Seeds the people of each N (``[seed, N]``) and the initial weights.
    n_start, n_max : int
        Doubling starts at ``n_start`` and stops at ``n_max``.
    resolution : float
        Bisection stops when ``n_failed - n_stored <= max(1, resolution * n_stored)``.

    Returns
    -------
    FactCapacityRow

    Notes
    -----
    Doubling N from ``n_start`` until a run fails brackets the capacity; bisection then
    narrows the bracket. This assumes success is monotone in N, which holds on average;
    single runs are noisy near the edge, so the result is an estimate at the given
    resolution, for this training budget.

    Examples
    --------
    >>> row = fact_capacity(4, d=8, n_sports=4, steps=300, n_start=8, resolution=0.25)
    >>> row.n_stored > 0, row.n_failed > row.n_stored
    (True, True)
    """
    width, d = _check_int("width", width), _check_int("d", d)
    n_sports = _check_int("n_sports", n_sports, 2)
    restarts = _check_int("restarts", restarts, 0)
    n_start = _check_int("n_start", n_start)
    n_max = _check_int("n_max", n_max, n_start)
    resolution = _check_real("resolution", resolution, 0.0, math.inf)
    fits: list[FitResult] = []

    def stores(n: int) -> bool:
        people = make_people(n, d, n_sports, seed=np.random.default_rng([seed, n]))
        for attempt in range(restarts + 1):
            _, fit = train_fact_mlp(people, width, steps=steps, lr=lr,
                                    seed=seed + 1000 * attempt + n)
            fits.append(fit)
            if fit.recall >= TARGET_RECALL:
                return True
        return False

    lo, hi, n = 0, None, n_start
    while hi is None:                                                  # double until a failure
        if stores(n):
            lo = n
            if n == n_max:
                break
            n = min(2 * n, n_max)
        else:
            hi = n
    while hi is not None and hi - lo > max(1.0, resolution * lo):      # then bisect
        mid = (lo + hi) // 2
        if stores(mid):
            lo = mid
        else:
            hi = mid
    return FactCapacityRow(d, width, n_sports, lo, hi, n_mlp_params(d, width), fits)
