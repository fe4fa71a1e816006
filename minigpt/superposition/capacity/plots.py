"""The capacity table as a picture: log(n) against d for each angle band.

Draws the rows of :func:`~minigpt.superposition.capacity_sweep` (``sweep.py``);
matplotlib is imported when a plot is made, not when the package is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .sweep import CapacityRow


def plot_capacity(rows: Iterable[CapacityRow]) -> Any:
    """Plot log(n) against d for each band: found, random, union bound and Welch bound.

    Parameters
    ----------
    rows : iterable of CapacityRow
        From :func:`capacity_sweep`.

    Returns
    -------
    matplotlib.figure.Figure
        One panel; log-scale n: the found sets, the random baseline, the union bound
        and the Welch bound for each band. Needs matplotlib (imported here, not at module import).
    """
    import matplotlib.pyplot as plt

    rows = list(rows)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    bands = sorted({r.band_deg for r in rows}, reverse=True)
    for color, band in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], bands):
        sel = sorted((r for r in rows if r.band_deg == band), key=lambda r: r.d)
        d = [r.d for r in sel]
        label = f"{90 - band:g}-{90 + band:g} deg"
        ax.plot(d, [r.n_found for r in sel], "o-", color=color, label=f"{label}: found")
        ax.plot(d, [r.n_random for r in sel], "s--", color=color, alpha=0.6, ms=4)
        welch = [r.n_welch if math.isfinite(r.n_welch) else np.nan for r in sel]
        ax.plot(d, welch, "v:", color=color, alpha=0.6, ms=4)
        ax.plot(d, [r.n_jl for r in sel], "x-.", color=color, alpha=0.6, ms=5)
    ax.plot([], [], "k--s", ms=4, alpha=0.6, label="random directions (median)")
    ax.plot([], [], "k-.x", ms=5, alpha=0.6, label="union bound for random, exp(d c^2/4)")
    ax.plot([], [], "k:v", ms=4, alpha=0.6, label="Welch upper bound")
    ax.plot(sorted({r.d for r in rows}), sorted({r.d for r in rows}), color="0.7", lw=1,
            label="n = d (exactly perpendicular)")
    ax.set_yscale("log")
    ax.set_xlabel("dimension d")
    ax.set_ylabel("number of directions n")
    ax.set_title("How many nearly perpendicular directions fit")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
