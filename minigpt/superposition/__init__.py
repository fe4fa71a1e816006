"""Superposition: more features than dimensions, measured.

The video closes on a geometric fact: in d dimensions only d directions are exactly
perpendicular, but many more are *nearly* perpendicular, so a model can store more
features than it has dimensions, each a direction that overlaps a little with the rest.
These modules check that idea with numbers:

* :mod:`~minigpt.superposition.perpendicular`: the video's own experiment (10,000
  vectors in 100 dimensions), rerun with the full angle distribution and the Welch bound.
* :mod:`~minigpt.superposition.capacity`: how many nearly perpendicular directions fit,
  found by optimization and bracketed by the Johnson-Lindenstrauss and Welch bounds.
* :mod:`~minigpt.superposition.toy_model`: Toy Models of Superposition (Elhage et al.
  2022), where a trained model chooses to store sparse features in superposition.

Every experiment is a plain function returning a result object with ``to_dict()``;
the ``plot_*`` functions draw them with matplotlib, imported only when called.
"""

from .capacity import (CapacityRow, PackingResult, ProjectionDistortion, band_to_cos_tol,
                       capacity_sweep, jl_min_dim, jl_packing_n, max_packing,
                       packing_loss_and_grad, plot_capacity, random_packing_n,
                       random_projection_distortion, random_unit_vectors, welch_bound,
                       welch_max_n)
from .perpendicular import (AngleStats, PerpendicularResult, angle_stats, nearly_perpendicular,
                            parallel_groups, perpendicular_loss_and_grad, plot_angles)
from .toy_model import (FeatureMetrics, ToyResult, feature_metrics, importance_mse_backward,
                        importance_mse_forward, importance_sweep, importance_weights,
                        init_toy_params, neighbour_angles, plot_feature_directions, plot_wtw,
                        sample_features, sparsity_sweep, toy_backward, toy_forward,
                        toy_loss_and_grads, train_toy_model)

__all__ = [
    "AngleStats", "CapacityRow", "FeatureMetrics", "PackingResult", "PerpendicularResult",
    "ProjectionDistortion", "ToyResult", "angle_stats", "band_to_cos_tol", "capacity_sweep",
    "feature_metrics", "importance_mse_backward", "importance_mse_forward", "importance_sweep",
    "importance_weights", "init_toy_params", "jl_min_dim", "jl_packing_n", "max_packing",
    "nearly_perpendicular", "neighbour_angles", "packing_loss_and_grad", "parallel_groups",
    "perpendicular_loss_and_grad", "plot_angles", "plot_capacity", "plot_feature_directions",
    "plot_wtw", "random_packing_n", "random_projection_distortion", "random_unit_vectors",
    "sample_features", "sparsity_sweep", "toy_backward", "toy_forward", "toy_loss_and_grads",
    "train_toy_model", "welch_bound", "welch_max_n",
]
