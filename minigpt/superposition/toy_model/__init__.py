"""Toy Models of Superposition (Elhage et al. 2022), forward and backward by hand.

n features live in an n-dimensional input; a model must squeeze them through m < n hidden
dimensions and rebuild them:

.. math:: h = W x, \\qquad x' = \\operatorname{ReLU}(W^T h + b), \\qquad
          W \\in \\mathbb{R}^{m \\times n}

Column i of W, :math:`W_i`, is the hidden direction of feature i: the video's picture of
a feature as a direction, in a space too small to give every feature its own axis. When
features are dense the model keeps the m most important ones, perpendicular, and drops
the rest. When they are sparse (each is zero most of the time), two features rarely fire
together, interference is cheap, and the model stores more than m of them, nearly
perpendicular: superposition. With n = 5 and m = 2 at high sparsity, the five directions
form a regular pentagon.

With row vectors, as the code holds them (a batch of B inputs in ``x`` of shape (B, n)):
``h = x @ w.T`` and ``x_hat = relu(h @ w + b)``. ``w`` is ``(d_out, d_in) = (m, n)`` as
everywhere in minigpt.

One file per idea:

* ``model.py``: the model's forward and backward, its initial weights, and the
  importance-weighted squared error (loss plus gradients);
* ``metrics.py``: what a trained W does with each feature (norm, interference, dimensionality);
* ``training.py``: feature importances and sparse feature batches, ``train_toy_model`` and
  the sweeps over sparsity and importance;
* ``plots.py``: :math:`W^T W` and the feature directions.
"""

from .training import (DEFAULT_IMPORTANCE_DECAY, DEFAULT_N_FEATURES, DEFAULT_N_HIDDEN,
                   importance_weights, sample_features)
from .model import (ToyLossCache, importance_mse_backward, importance_mse_forward,
                   toy_loss_and_grads)
from .metrics import (REPRESENTED_NORM, ZERO_NORM, FeatureMetrics, feature_metrics,
                      neighbour_angles)
from .model import ToyCache, init_toy_params, toy_backward, toy_forward
from .plots import plot_feature_directions, plot_wtw
from .training import (DEFAULT_BATCH, DEFAULT_DECAYS, DEFAULT_LR, DEFAULT_SPARSITIES,
                       DEFAULT_STEPS, EVAL_BATCH, LOG_EVERY, ToyResult, importance_sweep,
                       sparsity_sweep, train_toy_model)

__all__ = [
    "FeatureMetrics", "ToyCache", "ToyLossCache", "ToyResult", "feature_metrics",
    "importance_mse_backward", "importance_mse_forward", "importance_sweep",
    "importance_weights", "init_toy_params", "neighbour_angles", "plot_feature_directions",
    "plot_wtw", "sample_features", "sparsity_sweep", "toy_backward", "toy_forward",
    "toy_loss_and_grads", "train_toy_model",
]
