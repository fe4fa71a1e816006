"""A plot of the interference sweep: recall and false fires against the number of facts.

The rows come from :func:`~minigpt.facts.interference_sweep`
(:mod:`minigpt.facts.handbuilt.sweep`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .sweep import SweepRow


def plot_sweep(rows: Sequence[SweepRow], ax: Any = None) -> Any:
    """Accuracy (solid) and false-fire rate (dashed) against the number of facts, per width.

    A dotted vertical line marks, per width, the last size whose directions were exactly
    orthogonal. Needs matplotlib (the ``plot`` extra).

    Parameters
    ----------
    rows : sequence of SweepRow
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for k, d_model in enumerate(dict.fromkeys(r.d_model for r in rows)):
        pts = sorted((r for r in rows if r.d_model == d_model), key=lambda r: r.n_facts)
        n = [r.n_facts for r in pts]
        color = f"C{k}"
        ax.plot(n, [r.accuracy for r in pts], "o-", color=color, label=f"C = {d_model}: accuracy")
        ax.plot(n, [r.false_fire_rate for r in pts], "x--", color=color,
                label=f"C = {d_model}: mixed names firing")
        exact = [r.n_facts for r in pts if r.exact]
        if exact:
            ax.axvline(max(exact), color=color, linestyle=":", alpha=0.6)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("facts stored (one neuron each)")
    ax.set_ylabel("share")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Facts in superposition: recall and false fires vs width C")
    ax.legend(fontsize="small", ncol=2)
    return ax
