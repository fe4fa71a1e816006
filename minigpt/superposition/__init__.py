"""Superposition: more features than dimensions, measured.

The video closes on a geometric fact: in d dimensions only d directions are exactly
perpendicular, but many more are *nearly* perpendicular, so a model can store more
features than it has dimensions, each a direction that overlaps a little with the rest.
These subpackages check that idea with numbers:

* :mod:`~minigpt.superposition.perpendicular`: the video's own experiment (10,000
  vectors in 100 dimensions), rerun with the full angle distribution and the Welch bound.
* :mod:`~minigpt.superposition.capacity`: how many nearly perpendicular directions fit,
  found by optimization and bracketed by the Johnson-Lindenstrauss and Welch bounds.
* :mod:`~minigpt.superposition.toy_model`: Toy Models of Superposition (Elhage et al.
  2022), where a trained model chooses to store sparse features in superposition.
* :mod:`~minigpt.superposition.fact_mlp`: how many facts an MLP of F neurons stores, in
  facts per neuron and bits per parameter.
* :mod:`~minigpt.superposition.sae`: sparse autoencoders that pull superposed features
  back out, on planted features and on the demo model's neurons.

Every experiment is a plain function returning a result object with ``to_dict()``;
the ``plot_*`` functions draw them with matplotlib, imported only when called. Each
subpackage holds one file per idea (the math with its gradient, training, results,
plots), and every name is exported here.
"""

from .capacity import (CapacityRow, PackingResult, ProjectionDistortion, band_to_cos_tol,
                       capacity_sweep, jl_min_dim, jl_packing_n, max_packing,
                       packing_loss_and_grad, plot_capacity, random_packing_n,
                       random_projection_distortion, random_unit_vectors, welch_bound,
                       welch_max_n)
from .fact_mlp import (FactCapacityRow, FactsPerNeuronResult, FitResult, People, fact_capacity,
                       facts_loss_and_grads, facts_per_neuron, init_mlp_params, make_people,
                       n_mlp_params, plot_facts_per_neuron, sport_logits, train_fact_mlp)
from .perpendicular import (AngleStats, PerpendicularResult, angle_stats, nearly_perpendicular,
                            parallel_groups, perpendicular_loss_and_grad, plot_angles)
from .sae import (LatentSpecificity, ModelSAEResult, NeuronSamples, RecoveryResult, SAEResult,
                  best_match_cosines, collect_neurons, data_scale, evaluate_sae, init_sae,
                  latent_specificity, normalize_decoder, planted_features, plot_latent_frequencies,
                  plot_recovery, project_decoder_grad, recover_planted_features, sae_backward,
                  sae_forward, sae_loss_and_grads, sae_loss_backward, sae_loss_forward,
                  sae_on_model, train_sae)
from .toy_model import (FeatureMetrics, ToyResult, feature_metrics, importance_mse_backward,
                        importance_mse_forward, importance_sweep, importance_weights,
                        init_toy_params, neighbour_angles, plot_feature_directions, plot_wtw,
                        sample_features, sparsity_sweep, toy_backward, toy_forward,
                        toy_loss_and_grads, train_toy_model)

__all__ = [
    "FactCapacityRow", "FactsPerNeuronResult", "FitResult", "People", "fact_capacity",
    "facts_loss_and_grads", "facts_per_neuron", "init_mlp_params", "make_people",
    "n_mlp_params", "plot_facts_per_neuron", "sport_logits", "train_fact_mlp",
    "LatentSpecificity", "ModelSAEResult", "NeuronSamples", "RecoveryResult", "SAEResult",
    "best_match_cosines", "collect_neurons", "data_scale", "evaluate_sae", "init_sae",
    "latent_specificity", "normalize_decoder", "planted_features", "plot_latent_frequencies",
    "plot_recovery", "project_decoder_grad", "recover_planted_features", "sae_backward",
    "sae_forward", "sae_loss_and_grads", "sae_loss_backward", "sae_loss_forward",
    "sae_on_model", "train_sae",
    "AngleStats", "CapacityRow", "FeatureMetrics", "PackingResult", "PerpendicularResult",
    "ProjectionDistortion", "ToyResult", "angle_stats", "band_to_cos_tol", "capacity_sweep",
    "feature_metrics", "importance_mse_backward", "importance_mse_forward", "importance_sweep",
    "importance_weights", "init_toy_params", "neighbour_angles", "packing_loss_and_grad",
    "parallel_groups", "perpendicular_loss_and_grad", "plot_angles", "plot_capacity",
    "plot_feature_directions", "plot_wtw", "random_packing_n", "random_projection_distortion",
    "random_unit_vectors", "sample_features", "sparsity_sweep", "toy_backward", "toy_forward",
    "toy_loss_and_grads", "train_toy_model", "welch_bound", "welch_max_n",
]
