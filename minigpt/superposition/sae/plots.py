"""Histograms of an SAE's results: planted-feature recovery and latent firing rates.

They draw :class:`~minigpt.superposition.RecoveryResult` (``planted.py``),
:class:`~minigpt.superposition.SAEResult` (``evaluation.py``) and
:class:`~minigpt.superposition.ModelSAEResult` (``on_model.py``); matplotlib is imported
when a plot is made, not when the package is.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .evaluation import SAEResult
from .on_model import ModelSAEResult
from .planted import RECOVERED_COS, RecoveryResult


def plot_recovery(result: RecoveryResult, ax: Any = None) -> Any:
    """Histogram of each planted feature's best cosine with a decoder column.

    Parameters
    ----------
    result : RecoveryResult
    ax : matplotlib Axes, optional
        Drawn into when given; otherwise a new figure is made.

    Returns
    -------
    matplotlib Axes
        Needs matplotlib.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.hist(result.best_cos, bins=np.linspace(min(0.0, float(result.best_cos.min())), 1.0, 41))
    ax.axvline(RECOVERED_COS, color="k", ls="--", lw=1)
    ax.set_xlabel("best cosine with a decoder column")
    ax.set_ylabel("planted features")
    ax.set_title(f"{result.recovered_fraction:.0%} recovered (cos > {RECOVERED_COS})",
                 fontsize=9)
    return ax


def plot_latent_frequencies(result: SAEResult | RecoveryResult | ModelSAEResult,
                            ax: Any = None) -> Any:
    """Histogram of how often each latent fires (log scale); dead latents at the left.

    Parameters
    ----------
    result : SAEResult, RecoveryResult or ModelSAEResult
    ax : matplotlib Axes, optional
        Drawn into when given; otherwise a new figure is made.

    Returns
    -------
    matplotlib Axes
        Needs matplotlib.
    """
    import matplotlib.pyplot as plt

    sae = result if isinstance(result, SAEResult) else result.sae
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.2))
    n_never = int(np.count_nonzero(sae.fire_rate == 0))
    rates = sae.fire_rate[sae.fire_rate > 0]
    low = math.log10(float(rates.min())) if rates.size else -4.0
    ax.hist(np.log10(rates), bins=np.linspace(min(low, -4.0), 0.0, 41))
    ax.set_xlabel("log10 firing rate")
    ax.set_ylabel("latents")
    ax.set_title(f"m = {sae.m}, mean L0 = {sae.mean_l0:.1f}, never fire: {n_never}", fontsize=9)
    return ax
