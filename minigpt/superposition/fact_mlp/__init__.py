"""Facts per neuron: how many facts an MLP of F neurons stores, measured.

The video's MLP stores "Michael Jordan plays basketball" with one neuron: a row of
``w_up`` equal to M + J, a bias of -1, and a column of ``w_down`` equal to B. One neuron
per fact is the clean picture; the video closes by suggesting that a real MLP holds more
facts than it has neurons, each fact spread over many neurons (superposition). Here an MLP
is *trained* on synthetic people and the number of facts it can hold is counted.

The world, in d dimensions:

* K first names and K last names, each a random unit direction (nearly perpendicular to
  the others, :func:`minigpt.facts.feature_directions`); every name is shared by about
  ``PEOPLE_PER_NAME`` people, so no single name tells the sport and the MLP must combine
  both (the video's AND gate; Michael Phelps is not a basketball player);
* N people, distinct (first, last) pairs, each with embedding :math:`E = M + J`;
* S sports, each a random unit direction :math:`B_s`; every person plays one, drawn
  uniformly, so each fact carries exactly :math:`\\log_2 S` bits.

The MLP (up, ReLU, down: :func:`minigpt.nn.mlp_forward`) adds its output to the residual,
and the sport is read off the result along the sport directions, as in the video:

.. math:: \\text{logits}_s = (E + \\mathrm{MLP}(E)) \\cdot B_s

A fact is recalled when its sport has the largest logit. The capacity of a width F is the
largest N whose facts are recalled at >= 99% after training, found by doubling N and then
bisecting.

One file per idea:

* ``people.py``: the synthetic world, ``make_people``;
* ``mlp.py``: the MLP, its sport logits, and the loss with its gradients;
* ``training.py``: one training run, ``train_fact_mlp``;
* ``capacity.py``: the largest N one width stores, ``fact_capacity``;
* ``sweep.py``: several widths in facts per neuron and bits per parameter,
  ``facts_per_neuron``;
* ``plots.py``: ``plot_facts_per_neuron``.
"""

from .capacity import N_MAX, N_START, RESOLUTION, FactCapacityRow, fact_capacity
from .mlp import ACTIVATION, facts_loss_and_grads, init_mlp_params, n_mlp_params, sport_logits
from .people import DEFAULT_D, DEFAULT_N_SPORTS, PEOPLE_PER_NAME, People, make_people
from .plots import plot_facts_per_neuron
from .sweep import (ALLEN_ZHU_LI_BITS, DEFAULT_WIDTHS, QUICK_SWEEP, FactsPerNeuronResult,
                    facts_per_neuron)
from .training import (CHECK_EVERY, DEFAULT_LR, DEFAULT_STEPS, TARGET_RECALL, FitResult,
                       train_fact_mlp)

__all__ = [
    "FactCapacityRow", "FactsPerNeuronResult", "FitResult", "People", "fact_capacity",
    "facts_loss_and_grads", "facts_per_neuron", "init_mlp_params", "make_people",
    "n_mlp_params", "plot_facts_per_neuron", "sport_logits", "train_fact_mlp",
]
