"""Sparse autoencoders, forward and backward by hand.

If a layer stores more features than it has neurons, each as a direction (superposition),
then reading one neuron shows a mixture. A sparse autoencoder (SAE) tries to undo the
mixing: it rewrites each activation vector x (d numbers) as a sparse, nonnegative
combination of m >= d learned unit directions, the decoder's columns. If the features
are sparse, the combination that reconstructs x with the fewest active latents tends to
use the true feature directions.

.. math::
    \\text{pre} = (x - b_{dec}) W_{enc}^T + b_{enc}, \\quad
    z = \\operatorname{ReLU}(\\text{pre}) \\ \\text{(or TopK)}, \\quad
    \\hat x = z W_{dec}^T + b_{dec}

with ``w_enc`` (m, d), ``b_enc`` (m,), ``w_dec`` (d, m) and ``b_dec`` (d,), in minigpt's
``(d_out, d_in)`` layout: column j of ``w_dec`` is the direction latent j adds. The design
follows Anthropic's *Towards Monosemanticity* (2023) and OpenAI's reference SAE (Gao et
al. 2024, "Scaling and evaluating sparse autoencoders"):

* the pre-decoder bias :math:`b_{dec}` is subtracted from the input before encoding, so
  the encoder sees x relative to the data's centre (initialized at the data mean);
* decoder columns have unit norm, so a latent cannot look small by making its direction
  long. The component of each column's gradient along the column is removed before the
  Adam step and the columns are renormalized after it;
* latents are ReLU with an L1 penalty, or TopK (keep the k largest pre-activations of each
  sample, ReLU'd) with no penalty: the sparsity is then fixed at k by construction;
* the loss is the normalized squared error (1 for always guessing the mean) plus lambda
  times the latents' L1 norm (:func:`.sae_loss_forward`);
* each latent starts at the direction of a data point, which keeps latents from dying
  (:func:`.init_sae`); a latent is counted dead when it has not fired on any of the last
  ``DEAD_WINDOW`` training samples.

Two experiments use it: :func:`.recover_planted_features` checks that an SAE finds features
planted in synthetic data, and :func:`.sae_on_model` runs one on the MLP neurons of the
trained facts model.

One file per idea:

* ``autoencoder.py``: the SAE's forward and backward;
* ``loss.py``: the normalized squared error plus L1, forward and backward;
* ``evaluation.py``: a trained SAE's measurements, ``SAEResult``;
* ``training.py``: one step (loss and gradients, the unit-norm decoder), the starting point
  and the Adam loop, ``train_sae``;
* ``planted.py``: features planted in synthetic data, and how many the SAE recovers;
* ``neurons.py``: the facts model's MLP neurons, and latents specific to a person or a sport;
* ``on_model.py``: an SAE trained on those neurons, ``sae_on_model``;
* ``plots.py``: recovery and latent firing-rate histograms.
"""

from .autoencoder import SAECache, sae_backward, sae_forward
from .evaluation import SAEResult, evaluate_sae
from .loss import SAELossCache, data_scale, sae_loss_backward, sae_loss_forward
from .neurons import (DEFAULT_LAYER, DEFAULT_POSITION, MIN_PEOPLE, MIN_TEMPLATES, POSITIONS,
                      LatentSpecificity, NeuronSamples, collect_neurons, latent_specificity)
from .on_model import (DEFAULT_MODEL_BATCH, DEFAULT_MODEL_K, DEFAULT_MODEL_LATENTS,
                       DEFAULT_MODEL_STEPS, ModelSAEResult, sae_on_model)
from .planted import (DEFAULT_N_FEATURES, DEFAULT_N_SAMPLES, DEFAULT_P_ACTIVE, DEFAULT_SAE_D,
                      RECOVERED_COS, RecoveryResult, best_match_cosines, planted_features,
                      recover_planted_features)
from .plots import plot_latent_frequencies, plot_recovery
from .training import normalize_decoder, project_decoder_grad, sae_loss_and_grads
from .training import (DEAD_WINDOW, DEFAULT_BATCH, DEFAULT_L1, DEFAULT_LR, DEFAULT_STEPS,
                       LOG_EVERY, init_sae, train_sae)

__all__ = [
    "LatentSpecificity", "ModelSAEResult", "NeuronSamples", "RecoveryResult", "SAECache",
    "SAELossCache", "SAEResult", "best_match_cosines", "collect_neurons", "data_scale",
    "evaluate_sae", "init_sae", "latent_specificity", "normalize_decoder", "planted_features",
    "plot_latent_frequencies", "plot_recovery", "project_decoder_grad",
    "recover_planted_features", "sae_backward", "sae_forward", "sae_loss_and_grads",
    "sae_loss_backward", "sae_loss_forward", "sae_on_model", "train_sae",
]
