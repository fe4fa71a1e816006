"""Pictures of the hand-built fact MLP: its weights, and the interference sweep.

:func:`plot_fact_mlp` draws the video's MLP from a :class:`~minigpt.facts.FactMLP`'s own
weights: the rows of ``w_up`` (the questions) and the columns of ``w_down`` (the answers),
each read along the feature directions. :func:`plot_sweep` draws the rows of
:func:`~minigpt.facts.interference_sweep` (:mod:`minigpt.facts.handbuilt.sweep`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .build import FactMLP
from .sweep import SweepRow

WEIGHT_LIMIT = 1.0  # the colour scale of plot_fact_mlp runs from -1 to 1
LABEL_FLOOR = 0.05  # cells whose weight is smaller than this in size are left unlabelled


def feature_labels(mlp: FactMLP) -> list[str]:
    """One label per row of ``mlp.directions``: ``"M Michael"``, ``"J Jordan"``,
    ``"B basketball"`` (first name, last name, sport, as the video writes them).

    Examples
    --------
    >>> from minigpt.facts import build_fact_mlp
    >>> feature_labels(build_fact_mlp([("Michael", "Jordan", "basketball")], d_model=3))
    ['M Michael', 'J Jordan', 'B basketball']
    """
    labels = [""] * len(mlp.directions)
    for letter, index in (("M", mlp.first_index), ("J", mlp.last_index),
                          ("B", mlp.sport_index)):
        for name, row in index.items():
            labels[row] = f"{letter} {name}"
    return labels


def _draw(ax: Any, values: np.ndarray, rows: Sequence[str], cols: Sequence[str],
          title: str) -> Any:
    image = ax.imshow(values, cmap="RdBu_r", vmin=-WEIGHT_LIMIT, vmax=WEIGHT_LIMIT,
                      aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        if abs(v) >= LABEL_FLOOR:
            ax.text(j, i, f"{v:+.2g}", ha="center", va="center", fontsize=7,
                    color="white" if abs(v) > WEIGHT_LIMIT / 2 else "black")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_title(title, fontsize=9)
    return image


def plot_fact_mlp(mlp: FactMLP, axes: Any = None) -> Any:
    """The video's MLP, drawn from its weights: rows of ``w_up`` ask, columns of ``w_down``
    answer.

    Needs matplotlib (the ``plot`` extra).

    Parameters
    ----------
    mlp : FactMLP
        Best with a handful of facts: one row and one column per person are drawn.
    axes : pair of matplotlib Axes, optional
        Where to draw ``w_up`` and ``w_down``; by default a new figure with the two side by
        side.

    Returns
    -------
    pair of matplotlib Axes

    Notes
    -----
    Both matrices are read along the feature directions :math:`D` (``mlp.directions``,
    one row per first name, last name and sport), so that each cell names a feature:
    left, :math:`W_{up} D^T` with :math:`b_{up}` as a last column, where row :math:`i` is
    the question neuron :math:`i` asks (1 on its person's first and last name, the bias
    -1); right, :math:`D \\, W_{down}`, where column :math:`i` is what neuron :math:`i`
    adds when it fires (1 on its person's sport). With exactly perpendicular directions
    these are the weights themselves, written in the feature basis; in superposition they
    show the small overlaps too.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        n_features = len(mlp.directions)
        _, axes = plt.subplots(1, 2, figsize=(5 + 0.5 * n_features, 1.5 + 0.4 * n_features),
                               gridspec_kw={"width_ratios": [n_features + 1, len(mlp.facts)]},
                               layout="constrained")
    ax_up, ax_down = axes
    labels = feature_labels(mlp)
    people = [f.name for f in mlp.facts]
    asks = np.column_stack([mlp.w_up @ mlp.directions.T, mlp.b_up])  # (F, N + 1)
    answers = mlp.directions @ mlp.w_down  # (N, F)
    _draw(ax_up, asks, [f"neuron {i}: {p}?" for i, p in enumerate(people)],
          labels + ["bias b_up"], "rows of W_up ask (read along each feature)")
    image = _draw(ax_down, answers, labels, [f"neuron {i}" for i in range(len(people))],
                  "columns of W_down answer")
    ax_down.yaxis.tick_right()  # its feature names beside it, not under the left panel
    ax_down.figure.colorbar(image, ax=list(axes), location="bottom", shrink=0.4,
                            label="weight")
    return ax_up, ax_down


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
