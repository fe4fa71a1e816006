"""Histograms of the pairwise angles before and after, and the loss curve.

Draws a :class:`~minigpt.superposition.PerpendicularResult` (``result.py``); matplotlib is
imported when a plot is made, not when the package is.
"""

from __future__ import annotations

from typing import Any

from .angles import CLAIM_BAND_DEG, FULL_ANGLE_DEG, VIDEO_PLOT_DEG
from .result import PerpendicularResult


def plot_angles(result: PerpendicularResult, range_deg: tuple[float, float] = VIDEO_PLOT_DEG,
                bin_deg: float = 0.05) -> Any:
    """Histograms of the pairwise angles before and after, in the video's window and in full.

    Parameters
    ----------
    result : PerpendicularResult
    range_deg : (float, float)
        Angles shown in the first panel (the video's plot: 80 to 100).
    bin_deg : float
        Bin width of the first panel.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels, one above the other (each at full width): top, the window, linear
        counts, with the 89-91 band and the Welch angles; middle, all of 0-180 degrees on
        a log scale, where nearly parallel pairs show up; bottom, the loss curve. Needs
        matplotlib (imported here, not at module import).
    """
    import matplotlib.pyplot as plt

    fig, (ax, ax_full, ax_loss) = plt.subplots(3, 1, figsize=(7.5, 10), height_ratios=(3, 3, 2))
    stages = ((result.before, "random start"), (result.after, f"after {result.steps} steps"))
    lo, hi = CLAIM_BAND_DEG
    for panel, (a, b), width in ((ax, range_deg, bin_deg), (ax_full, (0.0, FULL_ANGLE_DEG), 1.0)):
        for stats, label in stages:
            edges, counts = stats.binned(a, b, bin_deg=width)
            panel.stairs(counts, edges, fill=True, alpha=0.5, label=label)
        panel.axvspan(lo, hi, color="0.85", zorder=0, label=f"the video's claim: {lo:g}-{hi:g}")
        for angle in (result.welch_angle_deg, FULL_ANGLE_DEG - result.welch_angle_deg):
            panel.axvline(angle, color="k", ls="--", lw=1)
        panel.set_xlim(a, b)
        panel.set_xlabel("angle between two vectors (degrees)")
        panel.set_ylabel(f"pairs per {width:g} degree")
    ax.plot([], [], "k--", lw=1, label=f"Welch bound: {result.welch_angle_deg:.2f} deg")
    ax.legend(fontsize=8)
    ax.set_title(f"{result.n:,} vectors in {result.d} dimensions, the video's window")
    ax_full.set_yscale("log")
    ax_full.set_title(f"all angles (log scale): min {result.after.min_deg:.2f}, "
                      f"max {result.after.max_deg:.2f}")
    ax_loss.plot(result.losses)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("Adam step")
    ax_loss.set_ylabel("loss")
    fig.tight_layout()
    return fig
