"""A fact-storing MLP built by hand: "Michael Jordan plays basketball" in four matrices.

The construction of 3Blue1Brown's "How might LLMs store facts", generalized from one athlete
to a whole fact bank. Every first name, last name and sport gets a direction in the residual
stream. Attention is assumed to have already gathered the full name at the last name's
position, so the vector there is ``E = M + J`` (first-name direction plus last-name
direction). One neuron per person then stores that person's sport:

- row i of ``w_up`` is the question neuron i asks, ``M_i + J_i``: the dot product with E is 2
  for the person, 1 when only one name matches ("Michael Phelps"), 0 otherwise;
- the bias ``b_up = -1`` moves those answers to 1, 0, -1, and ReLU keeps only the 1: the
  neuron is an AND gate of the two names (GELU, the smooth version, leaks ``GELU(-1)``);
- column i of ``w_down`` is the direction the neuron adds when it fires, the sport ``B_i``;
- the block's output is added to the residual stream: ``E + MLP(E)`` now points along ``B_i``.

When there are more features than dimensions, they cannot all be perpendicular; random unit
vectors are *nearly* perpendicular (``|cos|`` about ``1 / sqrt(C)``), so many more facts fit, with
some interference. :func:`interference_sweep` measures where that interference starts to cost
accuracy: facts stored in superposition.

The package's modules, in reading order:

* :mod:`~minigpt.facts.handbuilt.build` gives every feature its direction
  (:func:`feature_directions`) and writes the weights of a :class:`FactMLP`
  (:func:`build_fact_mlp`);
* :mod:`~minigpt.facts.handbuilt.lookup` looks a name up in it (:func:`person_vector`,
  :func:`apply_fact_mlp`, :func:`fact_neurons`, :func:`sport_scores`);
* :mod:`~minigpt.facts.handbuilt.checks` grades it on every person and on mixed names
  (:func:`evaluate_fact_mlp`);
* :mod:`~minigpt.facts.handbuilt.sweep` runs the interference sweep, and
  :mod:`~minigpt.facts.handbuilt.plots` draws it and the block's own weights
  (:func:`plot_fact_mlp`: rows of ``w_up`` ask, columns of ``w_down`` answer).
"""

from __future__ import annotations

from .build import AND_BIAS, KINDS, FactMLP, build_fact_mlp, feature_directions
from .checks import (
    FIRE_THRESHOLD,
    FactMLPReport,
    evaluate_fact_mlp,
    mixed_names,
)
from .lookup import (
    apply_fact_mlp,
    fact_neurons,
    person_vector,
    sport_scores,
)
from .plots import feature_labels, plot_fact_mlp, plot_sweep
from .sweep import (
    DEFAULT_N_FACTS,
    DEFAULT_WIDTHS,
    MAX_FALSE_FIRE,
    MIN_ACCURACY,
    MIN_MIXED,
    BreakingPoint,
    SweepRow,
    breaking_points,
    interference_sweep,
    sweep_facts,
)
