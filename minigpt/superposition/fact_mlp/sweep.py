"""Several widths side by side: facts stored, facts per neuron and bits per parameter.

:func:`facts_per_neuron` runs :func:`fact_capacity` (``capacity.py``) for each width and
compares the bits per parameter with the ~2 that Allen-Zhu & Li report for language
models; ``plots.py`` draws the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ...tables import text_table
from .._common import _check_int, _wrap
from .capacity import RESOLUTION, FactCapacityRow, fact_capacity
from .people import DEFAULT_D, DEFAULT_N_SPORTS
from .training import DEFAULT_LR, DEFAULT_STEPS, TARGET_RECALL

DEFAULT_WIDTHS = (8, 16, 32, 64)
# A sweep small enough for tests and docs (about a second): 16 dims, 4 sports.
QUICK_SWEEP = dict(widths=(4, 8, 16), d=16, n_sports=4, steps=600, resolution=0.25)
ALLEN_ZHU_LI_BITS = 2.0    # bits per parameter, Allen-Zhu & Li 2024 (Physics of LMs 3.3)


@dataclass(frozen=True)
class FactsPerNeuronResult:
    """Capacity of several MLP widths, in facts, facts per neuron and bits per parameter.

    Attributes
    ----------
    rows : list of FactCapacityRow
        One per width.
    steps : int
    lr : float
    seed : int
    """

    rows: list[FactCapacityRow]
    steps: int
    lr: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: settings, one dict per width, and the reference figure."""
        return {"steps": self.steps, "lr": self.lr, "seed": self.seed,
                "target_recall": TARGET_RECALL,
                "reference_bits_per_param": ALLEN_ZHU_LI_BITS,
                "rows": [r.to_dict() for r in self.rows]}

    def to_table(self) -> str:
        """One line per width, then the comparison with ~2 bits per parameter."""
        rows = [[r.d, r.width, r.n_stored, r.facts_per_neuron, r.n_params, r.bits,
                 r.bits_per_param] for r in self.rows]
        table = text_table(["d", "F", "N stored", "facts/neuron", "params", "bits",
                            "bits/param"], rows)
        bpp = [r.bits_per_param for r in self.rows] or [0.0]
        side = "below" if max(bpp) < ALLEN_ZHU_LI_BITS else "at or above"
        return _wrap(f"{table}\nparams = w_up + b_up + w_down + b_down; bits = N log2(S), "
                f"S = {self.rows[0].n_sports if self.rows else '-'}; stored = recall >= "
                f"{TARGET_RECALL:.0%}.\nAllen-Zhu & Li (2024) report ~{ALLEN_ZHU_LI_BITS:g} "
                f"bits/param for trained language models; these MLPs store "
                f"{min(bpp):.2f}-{max(bpp):.2f}, {side} it: each fact must be recalled "
                f"exactly, within {self.steps} full-batch steps, by one small MLP reading "
                f"fixed random embeddings.")


def facts_per_neuron(widths: Iterable[int] = DEFAULT_WIDTHS, d: int = DEFAULT_D,
                     n_sports: int = DEFAULT_N_SPORTS, *, steps: int = DEFAULT_STEPS,
                     lr: float = DEFAULT_LR, restarts: int = 0, seed: int = 0,
                     resolution: float = RESOLUTION) -> FactsPerNeuronResult:
    """Measure the fact capacity of MLPs of several widths.

    Parameters
    ----------
    widths : iterable of int
        The F values (default 8, 16, 32, 64).
    d : int
        Embedding dimension (default 32).
    n_sports : int
        S (default 8: 3 bits per fact).
    steps, lr, restarts, seed, resolution
        See :func:`fact_capacity`.

    Returns
    -------
    FactsPerNeuronResult

    Notes
    -----
    Facts per neuron grow with d: each neuron owns :math:`2d + 1` parameters, so at a
    fixed number of bits per parameter it holds about
    :math:`(2d + 1) \\cdot \\text{bits/param} / \\log_2 S` facts. Bits per parameter is
    the figure that compares across sizes.

    The comparison with Allen-Zhu & Li's ~2 bits per parameter is loose on purpose: they
    train whole transformers on synthetic biographies for many exposures and estimate the
    bits from the loss, counting partly known facts; here a single tiny MLP must recall
    each fact exactly (argmax, >= 99% of them) within a fixed budget of full-batch steps,
    its inputs are fixed random embeddings rather than learned ones, and ``N log2 S``
    counts only the sport. Small widths also spend a share of their parameters on biases
    and on undoing the interference between the nearly perpendicular embeddings.

    Examples
    --------
    >>> r = facts_per_neuron([4], d=8, n_sports=4, steps=300, resolution=0.25)
    >>> r.rows[0].width, r.rows[0].n_stored > 0
    (4, True)
    """
    widths = [_check_int("width", w) for w in widths]
    if not widths:
        raise ValueError("widths must hold at least one width, got none")
    rows = [fact_capacity(w, d, n_sports, steps=steps, lr=lr, restarts=restarts, seed=seed,
                          resolution=resolution) for w in widths]
    return FactsPerNeuronResult(rows, steps, lr, seed)
