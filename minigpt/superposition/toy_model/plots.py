"""Pictures of trained toy models: :math:`W^T W` and each feature's hidden direction.

Both draw :class:`~minigpt.superposition.ToyResult` objects (``training.py``); matplotlib is
imported when a plot is made, not when the package is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .training import ToyResult


def _as_list(results: ToyResult | Iterable[ToyResult]) -> list[ToyResult]:
    return [results] if isinstance(results, ToyResult) else list(results)


def plot_wtw(results: ToyResult | Iterable[ToyResult]) -> Any:
    """Show :math:`W^T W` (and b) for one or several trained toy models.

    Parameters
    ----------
    results : ToyResult or iterable of ToyResult

    Returns
    -------
    matplotlib.figure.Figure
        One panel per model: :math:`W^T W` as an image (red positive, blue negative),
        with b as an extra column. A clean diagonal means features on their own axes;
        off-diagonal entries are interference. Needs matplotlib.
    """
    import matplotlib.pyplot as plt

    results = _as_list(results)
    fig, axes = plt.subplots(1, len(results), figsize=(2.6 * len(results), 2.8), squeeze=False)
    for ax, r in zip(axes[0], results):
        wtw = r.w.T @ r.w                                          # (n, n)
        image = np.concatenate([wtw, r.b[:, None]], axis=1)        # (n, n + 1)
        ax.imshow(image, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.axvline(r.n - 0.5, color="k", lw=1)
        ax.set_xticks(list(range(r.n)) + [r.n], [str(i) for i in range(r.n)] + ["b"])
        ax.set_yticks(range(r.n))
        ax.set_title(f"S={r.sparsity:g}, r={r.importance_decay:g}\n"
                     f"{r.n_represented} of {r.n} represented", fontsize=9)
    fig.tight_layout()
    return fig


def plot_feature_directions(results: ToyResult | Iterable[ToyResult]) -> Any:
    """Draw each feature's hidden direction :math:`W_i` for models with m = 2.

    Parameters
    ----------
    results : ToyResult or iterable of ToyResult
        Models with two hidden dimensions.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per model, an arrow per feature, darker for more important features.
        Needs matplotlib.
    """
    import matplotlib.pyplot as plt

    results = _as_list(results)
    for r in results:
        if r.m != 2:
            raise ValueError(f"feature directions are drawn for m = 2, got m = {r.m}")
    fig, axes = plt.subplots(1, len(results), figsize=(2.6 * len(results), 2.8), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, r in zip(axes[0], results):
        for i in range(r.n):
            color = cmap(i / max(1, r.n - 1))
            ax.plot([0, r.w[0, i]], [0, r.w[1, i]], color=color, lw=2)
            ax.plot(r.w[0, i], r.w[1, i], "o", color=color, ms=4)
        ax.set_xlim(-1.5, 1.5)
        ax.set_ylim(-1.5, 1.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"S={r.sparsity:g}: {r.n_represented} of {r.n}", fontsize=9)
    fig.tight_layout()
    return fig
