"""The video's "nearly perpendicular" experiment, rerun and measured.

3Blue1Brown's script (``_2024/transformers/almost_orthogonal.py`` in 3b1b/videos) draws
10,000 random unit vectors in 100 dimensions, minimizes a hinge loss on their pairwise dot
products with Adam (lr 0.01, 250 steps), and histograms the angles between 80 and 100
degrees; the video says they all end up between 89 and 91 degrees. Here the same
experiment runs in numpy with a hand-derived gradient, and the whole angle distribution
is measured, next to the Welch bound that no arrangement can beat.

Memory. The Gram matrix :math:`G = V V^T` of 10,000 vectors is 400 MB in float32, and the
loss needs it every step. It is never stored: :func:`.perpendicular_loss_and_grad` walks
over square tiles :math:`G_{AE} = V_A V_E^T` (1000 x 1000, 4 MB) of the upper block
triangle :math:`E \\ge A`, turns each tile into its share of the loss and of
:math:`\\partial L / \\partial V`, and drops it. The symmetry of G halves the work, and
tiles that fit in cache run several times faster than whole row blocks. Peak memory is a
few tiles plus V.

One file per idea:

* ``loss.py``: the video's loss and its gradient, tile by tile;
* ``angles.py``: the distribution of all pairwise angles, ``AngleStats``;
* ``groups.py``: vectors that share a line, ``parallel_groups``;
* ``result.py``: ``PerpendicularResult`` and its verdict on the claim;
* ``experiment.py``: the run itself, ``nearly_perpendicular``;
* ``plots.py``: ``plot_angles``.
"""

from .angles import (CLAIM_BAND_DEG, FULL_ANGLE_DEG, HIST_RESOLUTION_DEG, PERCENTILES,
                     VIDEO_PLOT_DEG, AngleStats, angle_stats)
from .experiment import (DEFAULT_BLAS_THREADS, DEFAULT_D, DEFAULT_LR, DEFAULT_N, DEFAULT_STEPS,
                         nearly_perpendicular)
from .groups import PARALLEL_COS, parallel_groups
from .loss import DEFAULT_BLOCK, DEFAULT_CUTOFF, perpendicular_loss_and_grad
from .plots import plot_angles
from .result import PerpendicularResult

__all__ = [
    "AngleStats", "PerpendicularResult", "angle_stats", "nearly_perpendicular",
    "parallel_groups", "perpendicular_loss_and_grad", "plot_angles",
]
