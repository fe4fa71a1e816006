"""Grading the hand-built fact MLP: every person it stores, and mixed names that are nobody.

:func:`mixed_names` pairs one person's first name with another's last name ("Michael
James"); :func:`evaluate_fact_mlp` asks the block about every person and every mixed name
and sums up recall, margins and false fires in a :class:`FactMLPReport`. The block is built
in :mod:`minigpt.facts.handbuilt` and run by :mod:`minigpt.facts.handbuilt.lookup`;
:mod:`minigpt.facts.handbuilt.sweep` repeats this grading over widths and numbers of facts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...data import Fact
from .build import FactMLP, _as_facts, _check_activation
from .lookup import _run, sport_scores

FIRE_THRESHOLD = 0.5  # a neuron "fires" above this: halfway between off (0) and on (1)


def _mixed_pairs(fi: np.ndarray, li: np.ndarray, shifts: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids of (first of person k, last of person k + s), s = 1..shifts, that are nobody."""
    F = len(fi)
    k = (np.arange(F)[None, :] + np.arange(1, shifts + 1)[:, None]) % F  # (shifts, F)
    cand_f = np.broadcast_to(fi, k.shape).ravel()  # (shifts * F,)
    cand_l = li[k].ravel()  # (shifts * F,)
    base = int(max(fi.max(), li.max())) + 1
    codes = cand_f * base + cand_l  # one integer per (first, last) pair
    fresh = ~np.isin(codes, fi * base + li)  # not a real person
    _, first_seen = np.unique(codes[fresh], return_index=True)  # each pair once ...
    keep = np.flatnonzero(fresh)[np.sort(first_seen)]  # ... in order of appearance
    return cand_f[keep], cand_l[keep]


def mixed_names(facts: Sequence[Any], shifts: int = 1) -> list[tuple[str, str]]:
    """Name pairs that are nobody: person k's first name with person k + s's last name.

    Parameters
    ----------
    facts : sequence of Fact or (first, last, sport), length F
    shifts : int
        Pair with the next ``shifts`` people (cyclically): up to ``shifts * F`` pairs.

    Returns
    -------
    list of (str, str)
        Each pair once, in order (s = 1 for every k first), without any real person.

    Examples
    --------
    >>> mixed_names([("Michael", "Jordan", "basketball"), ("LeBron", "James", "basketball")])
    [('Michael', 'James'), ('LeBron', 'Jordan')]
    """
    facts = _as_facts(facts)
    if isinstance(shifts, bool) or not isinstance(shifts, (int, np.integer)) or shifts < 1:
        raise ValueError(f"shifts must be an int >= 1, got {shifts!r}")
    firsts = list(dict.fromkeys(f.first for f in facts))
    lasts = list(dict.fromkeys(f.last for f in facts))
    fid = {s: k for k, s in enumerate(firsts)}
    lid = {s: k for k, s in enumerate(lasts)}
    mf, ml = _mixed_pairs(np.array([fid[f.first] for f in facts]),
                          np.array([lid[f.last] for f in facts]), shifts)
    return [(firsts[a], lasts[b]) for a, b in zip(mf, ml)]


@dataclass(frozen=True)
class FactMLPReport:
    """How well a :class:`FactMLP` recalls its facts and ignores mixed names.

    Attributes
    ----------
    activation : str
    d_model, n_people, n_mixed : int
    exact : bool
        The directions were exactly orthogonal.
    accuracy : float
        Share of people for whom ``E + MLP(E)`` has its largest dot product with their sport.
    wrong : tuple of Fact
        The people recalled wrongly.
    right_neuron_min, right_neuron_mean : float
        Each person's own neuron (1 in the exact ReLU case).
    off_target_max : float
        Largest activation of any other person's neuron (nan with one neuron).
    right_score_mean : float
        Mean of ``(E + MLP(E)) . B_sport`` for the right sport (1 in the exact ReLU case).
    margin_min : float
        Smallest (right sport's score - best other sport's score); nan with one sport.
    mixed_fire_rate : float
        Share of mixed names for which some neuron exceeds :data:`FIRE_THRESHOLD`.
    mixed_neuron_max : float
        Largest neuron over all mixed names.
    mixed_score_max, mixed_score_abs_max : float
        Largest signed and absolute sport score of ``E + MLP(E)`` over mixed names
        (0 when nothing leaks). The mixed fields are nan when there are no mixed names.
    """

    activation: str
    d_model: int
    exact: bool
    n_people: int
    accuracy: float
    wrong: tuple[Fact, ...]
    right_neuron_min: float
    right_neuron_mean: float
    off_target_max: float
    right_score_mean: float
    margin_min: float
    n_mixed: int
    mixed_fire_rate: float
    mixed_neuron_max: float
    mixed_score_max: float
    mixed_score_abs_max: float


def _fact_ids(mlp: FactMLP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fi = np.array([mlp.first_index[f.first] for f in mlp.facts])  # (F,)
    li = np.array([mlp.last_index[f.last] for f in mlp.facts])  # (F,)
    sports = list(mlp.sport_index)
    sj = np.array([sports.index(f.sport) for f in mlp.facts])  # (F,) column of sport_scores
    return fi, li, sj


def evaluate_fact_mlp(
    mlp: FactMLP, activation: str | None = None, mixed_shifts: int = 1
) -> FactMLPReport:
    """Ask the MLP about every person and about mixed names that are nobody.

    Parameters
    ----------
    mlp : FactMLP
    activation : {"relu", "gelu", "gelu_exact"} or None
        ``None`` uses ``mlp.activation``.
    mixed_shifts : int
        How many mixed names per person, see :func:`mixed_names`.

    Returns
    -------
    FactMLPReport

    Notes
    -----
    For person i, :math:`E_i = M_i + J_i`, :math:`h = \\sigma(E_i W_{up}^T + b_{up})` and the
    prediction is :math:`\\arg\\max_s (E_i + h W_{down}^T) \\cdot B_s`. With random directions
    each dot product between different features adds noise of standard deviation
    :math:`1/\\sqrt C`: a neuron asked about a stranger sees :math:`-1 \\pm 2/\\sqrt C`, one
    asked about a mixed name :math:`0 \\pm \\sqrt{3/C}`.

    Examples
    --------
    >>> from minigpt.facts import build_fact_mlp
    >>> mlp = build_fact_mlp([("Michael", "Jordan", "basketball"),
    ...                       ("Michael", "Phelps", "swimming")], d_model=8)
    >>> r = evaluate_fact_mlp(mlp)
    >>> r.accuracy, r.right_score_mean, r.n_mixed, r.mixed_neuron_max
    (1.0, 1.0, 0, nan)
    """
    activation = mlp.activation if activation is None else activation
    _check_activation(activation)
    fi, li, sj = _fact_ids(mlp)
    F, S = len(fi), len(mlp.sport_index)
    rows = np.arange(F)
    X = mlp.directions[fi] + mlp.directions[li]  # (F, C): each person's M + J
    out, h = _run(mlp, X, activation)  # (F, C), (F, F)
    scores = sport_scores(mlp, out)  # (F, S)
    right = scores[rows, sj]  # (F,)
    others = np.where(np.arange(S)[None, :] == sj[:, None], -np.inf, scores)  # (F, S)
    off = np.where(np.eye(F, dtype=bool), -np.inf, h)  # (F, F): other people's neurons
    correct = scores.argmax(axis=1) == sj  # (F,)

    mf, ml = _mixed_pairs(fi, li, min(mixed_shifts, max(F - 1, 1)))
    n_mixed = len(mf)
    if n_mixed:
        X_m = mlp.directions[mf] + mlp.directions[ml]  # (Mx, C): mixed names
        out_m, h_m = _run(mlp, X_m, activation)  # (Mx, C), (Mx, F)
        scores_m = sport_scores(mlp, out_m)  # (Mx, S)
        mixed = (float(np.mean(h_m.max(axis=1) > FIRE_THRESHOLD)), float(h_m.max()) + 0.0,
                 float(scores_m.max()) + 0.0, float(np.abs(scores_m).max()))  # + 0.0: no -0.0
    else:
        mixed = (math.nan,) * 4
    return FactMLPReport(
        activation=activation, d_model=mlp.d_model, exact=mlp.exact, n_people=F,
        accuracy=float(correct.mean()),
        wrong=tuple(mlp.facts[i] for i in np.flatnonzero(~correct)),
        right_neuron_min=float(h[rows, rows].min()), right_neuron_mean=float(h[rows, rows].mean()),
        off_target_max=float(off.max()) + 0.0 if F > 1 else math.nan,
        right_score_mean=float(right.mean()),
        margin_min=float((right - others.max(axis=1)).min()) if S > 1 else math.nan,
        n_mixed=n_mixed, mixed_fire_rate=mixed[0], mixed_neuron_max=mixed[1],
        mixed_score_max=mixed[2], mixed_score_abs_max=mixed[3],
    )
