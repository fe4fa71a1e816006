"""What the experiment measured, and its verdict on the video's "89 to 91 degrees" claim.

:class:`PerpendicularResult` is filled by :func:`~minigpt.superposition.nearly_perpendicular`
(``experiment.py``); :func:`_verdict` writes the finding in words from the angles
(``angles.py``), the lines (``groups.py``) and the Welch bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._common import _wrap
from .angles import CLAIM_BAND_DEG, FULL_ANGLE_DEG, VIDEO_PLOT_DEG, AngleStats
from .groups import PARALLEL_COS


@dataclass(frozen=True)
class PerpendicularResult:
    """What :func:`nearly_perpendicular` measured.

    Attributes
    ----------
    n, d, steps : int
    lr, cutoff : float
    seed : int
    dtype : str
    before, after : AngleStats
        The angles of the random start and of the optimized vectors.
    losses : ndarray, shape (steps,)
        The loss before each Adam step.
    welch_cos : float
        :func:`~minigpt.superposition.welch_bound` of (n, d).
    welch_angle_deg : float
        :math:`\\arccos` of it: some pair is at most this far apart, or at least
        180 minus it.
    share_outside_plot : float
        Share of pairs after optimization outside the 80-100 degrees the video plotted.
    n_lines : int
        Number of :func:`parallel_groups` of the optimized vectors with two or more
        members: lines shared by nearly parallel or antiparallel vectors.
    n_on_lines : int
        How many vectors share a line with another.
    largest_line : int
        Size of the largest group (1 when no two vectors share a line).
    claim_holds : bool
        Whether every pairwise angle ended within 89..91 degrees.
    verdict : str
        The finding in one paragraph, folded into lines of at most 86 characters.
    seconds : float
        Wall time of the whole run.
    vectors : ndarray, shape (n, d)
        The optimized vectors.
    """

    n: int
    d: int
    steps: int
    lr: float
    cutoff: float
    seed: int
    dtype: str
    before: AngleStats
    after: AngleStats
    losses: np.ndarray
    welch_cos: float
    welch_angle_deg: float
    share_outside_plot: float
    n_lines: int
    n_on_lines: int
    largest_line: int
    claim_holds: bool
    verdict: str
    seconds: float
    vectors: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no vectors, no histograms)."""
        return {"n": self.n, "d": self.d, "steps": self.steps, "lr": self.lr,
                "cutoff": self.cutoff, "seed": self.seed, "dtype": self.dtype,
                "before": self.before.to_dict(), "after": self.after.to_dict(),
                "losses": [float(x) for x in self.losses], "welch_cos": self.welch_cos,
                "welch_angle_deg": self.welch_angle_deg,
                "share_outside_plot": self.share_outside_plot, "n_lines": self.n_lines,
                "n_on_lines": self.n_on_lines, "largest_line": self.largest_line,
                "claim_holds": self.claim_holds,
                "verdict": self.verdict, "seconds": self.seconds}


def _verdict(r: dict[str, Any]) -> str:
    lo, hi = CLAIM_BAND_DEG
    after = r["after"]
    if r["claim_holds"]:
        return _wrap(f"Holds: after {r['steps']} steps all {after.n_pairs:,} pairwise angles "
                     f"lie in [{after.min_deg:.2f}, {after.max_deg:.2f}] degrees, inside "
                     f"{lo:g}-{hi:g}.")
    text = (f"Does not hold. After {r['steps']} steps {after.share_in_band:.1%} of the "
            f"{after.n_pairs:,} pairs lie within {lo:g}-{hi:g} degrees, but the angles span "
            f"{after.min_deg:.2f} to {after.max_deg:.2f}, and {r['share_outside_plot']:.2%} of "
            f"the pairs fall outside the {VIDEO_PLOT_DEG[0]:g}-{VIDEO_PLOT_DEG[1]:g} degrees "
            f"the video plotted. ")
    if r["n_lines"]:
        text += (f"{r['n_on_lines']:,} of the {r['n']:,} vectors have gathered on "
                 f"{r['n_lines']:,} lines (groups of nearly parallel or antiparallel vectors, "
                 f"|cos| > {PARALLEL_COS:g}, up to {r['largest_line']:,} each): most pairs are "
                 f"perpendicular because many vectors are parallel. ")
    if r["welch_angle_deg"] < lo:
        text += (f"No arrangement could satisfy the claim: by the Welch bound, among "
                 f"{r['n']:,} unit vectors in {r['d']} dimensions some pair is at most "
                 f"{r['welch_angle_deg']:.2f} degrees (or at least "
                 f"{FULL_ANGLE_DEG - r['welch_angle_deg']:.2f}) apart, and even the "
                 f"root-mean-square cosine is at least {r['welch_cos']:.4f} (measured: "
                 f"{after.rms_cos:.4f}).")
    else:
        text += (f"The Welch bound ({r['welch_angle_deg']:.2f} degrees) does not forbid it; "
                 f"this optimization did not get there.")
    return _wrap(text)
