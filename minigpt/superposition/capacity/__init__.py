"""How many nearly perpendicular directions fit in d dimensions?

Exactly perpendicular: d. Within a tolerance, many more, and the count grows exponentially
with d: that is the video's argument for why superposition lets a model hold more features
than it has dimensions. This package puts numbers on both sides of that claim.

* Lower side, random: :func:`.jl_min_dim` (Johnson-Lindenstrauss, Dasgupta-Gupta form),
  :func:`.random_projection_distortion` (the lemma checked on data), :func:`.jl_packing_n`
  (how many *random* directions a union bound guarantees) and :func:`.random_packing_n`
  (how many random directions one draws, measured, before two are too close).
* Lower side, optimized: :func:`.max_packing` searches for the largest set it can find.
* Upper side: :func:`.welch_bound` and :func:`.welch_max_n`, which no arrangement can beat.

A tolerance is written ``cos_tol``: every pair must have ``|cos| <= cos_tol``. "Between
89 and 91 degrees" is ``cos_tol = sin(1 degree) = 0.01745`` (:func:`.band_to_cos_tol`).

The packing search multiplies many small matrices. Multi-threaded BLAS is slow on those
(its workers' wake-up costs more than the product), so when ``threadpoolctl`` is installed
the search limits BLAS to one thread while it runs and restores the setting on return.

One file per idea:

* ``jl.py``: the Johnson-Lindenstrauss dimension, and the lemma checked on data;
* ``welch.py``: the Welch bounds, the upper side;
* ``random_packing.py``: random unit vectors, the tolerance of an angle band, and how many
  random directions fit, guaranteed and measured;
* ``packing.py``: the optimized search, ``max_packing``;
* ``sweep.py``: all of them side by side, ``capacity_sweep``;
* ``plots.py``: ``plot_capacity``.
"""

from .._common import ADAM_BETAS, ADAM_EPS
from .jl import ProjectionDistortion, jl_min_dim, random_projection_distortion
from .packing import (PACK_CHECK_EVERY, PACK_LR, PACK_MARGIN, PACK_N_MAX, PACK_RESTARTS,
                      PACK_STEPS, WELCH_ORDERS, PackingResult, max_packing,
                      packing_loss_and_grad)
from .plots import plot_capacity
from .random_packing import (MAX_EXPONENT, RANDOM_FIRST_DRAW, RANDOM_TRIALS, jl_packing_n,
                             random_packing_n)
from .sweep import DEFAULT_BANDS_DEG, DEFAULT_DIMS, CapacityRow, capacity_sweep
from .random_packing import band_to_cos_tol, random_unit_vectors
from .welch import welch_bound, welch_max_n

__all__ = [
    "CapacityRow", "PackingResult", "ProjectionDistortion", "band_to_cos_tol",
    "capacity_sweep", "jl_min_dim", "jl_packing_n", "max_packing", "packing_loss_and_grad",
    "plot_capacity", "random_packing_n", "random_projection_distortion",
    "random_unit_vectors", "welch_bound", "welch_max_n",
]
