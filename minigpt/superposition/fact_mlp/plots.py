"""Facts stored against the number of neurons, beside the one-fact-per-neuron line.

Draws a :class:`~minigpt.superposition.FactsPerNeuronResult` (``sweep.py``); matplotlib is
imported when a plot is made, not when the package is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .sweep import FactsPerNeuronResult


def plot_facts_per_neuron(result: FactsPerNeuronResult, ax: Any = None) -> Any:
    """Facts stored against the number of neurons, beside the one-fact-per-neuron line.

    Parameters
    ----------
    result : FactsPerNeuronResult
    ax : matplotlib Axes, optional
        Drawn into when given; otherwise a new figure is made.

    Returns
    -------
    matplotlib Axes
        Needs matplotlib.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.5))
    F = np.array([r.width for r in result.rows])
    N = np.array([r.n_stored for r in result.rows])
    ax.plot(F, N, "o-", label="facts stored (recall >= 99%)")
    ax.plot(F, F, "--", color="gray", label="one fact per neuron")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("neurons F")
    ax.set_ylabel("facts N")
    ax.legend(fontsize=8)
    return ax
