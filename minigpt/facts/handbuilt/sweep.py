"""The interference sweep: more and more facts in a fixed width, until they interfere.

:func:`sweep_facts` makes a fact set of any size, :func:`interference_sweep` builds and
grades a hand-built MLP for each width and number of facts (one :class:`SweepRow` each), and
:func:`breaking_points` finds, per width, where recall first fails. The block comes from
:mod:`minigpt.facts.handbuilt`, the grading from :mod:`minigpt.facts.handbuilt.checks`;
:mod:`minigpt.facts.handbuilt.plots` draws the rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ...data import Fact
from .build import _as_facts, _check_activation, build_fact_mlp
from .checks import evaluate_fact_mlp

MIN_ACCURACY = 0.99  # a sweep row holds its facts at accuracy >= this ...
MAX_FALSE_FIRE = 0.01  # ... with mixed names firing a neuron at most this often
MIN_MIXED = 1000  # the sweep pairs names until it has at least this many mixed names
DEFAULT_WIDTHS = (16, 32, 64, 128)
DEFAULT_N_FACTS = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def sweep_facts(facts: Sequence[Any], n_facts: int) -> list[Fact]:
    """A fact set of any size: the real facts taken round-robin over sports, then made-up people.

    Parameters
    ----------
    facts : sequence of Fact or (first, last, sport)
    n_facts : int
        How many facts to return.

    Returns
    -------
    list of Fact
        The first ``n_facts`` of: the real facts reordered so that consecutive facts cycle
        through the sports, then people ``first_k last_k`` whose sports cycle the same way.

    Examples
    --------
    >>> fs = sweep_facts([("Michael", "Jordan", "basketball"), ("Tiger", "Woods", "golf"),
    ...                   ("LeBron", "James", "basketball")], 5)
    >>> [f.name for f in fs]
    ['Michael Jordan', 'Tiger Woods', 'LeBron James', 'first_0 last_0', 'first_1 last_1']
    >>> [f.sport for f in fs]
    ['basketball', 'golf', 'basketball', 'basketball', 'golf']
    """
    facts = _as_facts(facts)
    if isinstance(n_facts, bool) or not isinstance(n_facts, (int, np.integer)) or n_facts < 1:
        raise ValueError(f"n_facts must be an int >= 1, got {n_facts!r}")
    sports = list(dict.fromkeys(f.sport for f in facts))
    sport_of = np.array([sports.index(f.sport) for f in facts])  # (n,)
    rank = np.zeros(len(facts), dtype=np.int64)  # position of each fact within its sport
    for s in range(len(sports)):
        rank[sport_of == s] = np.arange(np.sum(sport_of == s))
    order = np.lexsort((sport_of, rank))  # round robin: rank first, then sport
    real = [facts[i] for i in order[:n_facts]]
    made_up = [Fact(f"first_{k}", f"last_{k}", sports[k % len(sports)])
               for k in range(n_facts - len(real))]
    return real + made_up


class SweepRow(NamedTuple):
    """One point of :func:`interference_sweep`."""

    d_model: int
    n_facts: int
    n_features: int  # distinct first names + last names + sports
    exact: bool  # directions exactly orthogonal (n_features <= d_model)
    accuracy: float
    false_fire_rate: float  # share of mixed names that fire a neuron
    mean_abs_cos: float  # mean |cos| over pairs of distinct feature directions
    max_abs_cos: float
    n_mixed: int


def interference_sweep(
    facts: Sequence[Any],
    widths: Sequence[int] = DEFAULT_WIDTHS,
    n_facts_list: Sequence[int] = DEFAULT_N_FACTS,
    seed: int = 0,
    activation: str = "relu",
) -> list[SweepRow]:
    """Store more and more facts in a fixed width and watch interference appear.

    Parameters
    ----------
    facts : sequence of Fact or (first, last, sport)
        Real facts; :func:`sweep_facts` extends them with made-up people when a size asks
        for more.
    widths : sequence of int
        The values of C to try.
    n_facts_list : sequence of int
        The numbers of facts to try at each width.
    seed : int
        Every MLP is ``build_fact_mlp(sweep_facts(facts, n), C, activation, seed)``.
    activation : {"relu", "gelu", "gelu_exact"}

    Returns
    -------
    list of SweepRow
        Width-major, in the order given.

    Notes
    -----
    While the features fit (:math:`N \\le C`) the directions are orthogonal and recall is
    perfect. Past that they are random, with :math:`|\\cos| \\approx \\sqrt{2 / (\\pi C)}`
    on average whatever their number; the errors come from the tails, so they set in when
    :math:`2/\\sqrt C` noise is no longer small beside the AND gate's margin of 1, and grow
    slowly with the number of neurons that can misfire. GELU is different: every silent
    neuron still adds :math:`\\mathrm{GELU}(-1) B_i`, so all F neurons leak into the read-out
    and its noise grows with F. Each point pairs names until it has at least
    :data:`MIN_MIXED` mixed names. Memory grows as ``n_facts ** 2``.

    Examples
    --------
    >>> facts = [("Michael", "Jordan", "basketball"), ("Tiger", "Woods", "golf")]
    >>> rows = interference_sweep(facts, widths=[8], n_facts_list=[2, 40])
    >>> [(r.n_facts, r.n_features, r.exact, r.accuracy < 1.0) for r in rows]
    [(2, 6, True, False), (40, 82, False, True)]
    """
    _check_activation(activation)
    if len(widths) == 0 or len(n_facts_list) == 0:
        raise ValueError(
            f"widths and n_facts_list must be non-empty, got {widths!r} and {n_facts_list!r}"
        )
    rows = []
    for d_model in widths:
        for n in n_facts_list:
            mlp = build_fact_mlp(sweep_facts(facts, n), d_model, activation, seed=seed)
            shifts = max(1, min(n - 1, math.ceil(MIN_MIXED / n)))
            report = evaluate_fact_mlp(mlp, mixed_shifts=shifts)
            D = mlp.directions
            cos = np.abs(D @ D.T)[np.triu_indices(len(D), k=1)]  # (N (N - 1) / 2,)
            rows.append(SweepRow(
                int(d_model), int(n), len(D), mlp.exact, report.accuracy,
                report.mixed_fire_rate, float(cos.mean()) if cos.size else 0.0,
                float(cos.max()) if cos.size else 0.0, report.n_mixed,
            ))
    return rows


class BreakingPoint(NamedTuple):
    """Where a width stops holding its facts."""

    last_ok: int | None  # largest n_facts before the first failure (None: the first failed)
    first_failure: int | None  # smallest failing n_facts (None: none failed in the sweep)


def breaking_points(
    rows: Sequence[SweepRow],
    min_accuracy: float = MIN_ACCURACY,
    max_false_fire: float = MAX_FALSE_FIRE,
) -> dict[int, BreakingPoint]:
    """Per width, the largest number of facts held before the first failing point.

    Parameters
    ----------
    rows : sequence of SweepRow
    min_accuracy, max_false_fire : float
        A point holds when ``accuracy >= min_accuracy`` and its false-fire rate is at most
        ``max_false_fire`` (no mixed names count as no false fires).

    Returns
    -------
    dict of int to BreakingPoint
        Keyed by d_model, in the order widths first appear.

    Examples
    --------
    >>> rows = [SweepRow(8, 2, 5, True, 1.0, 0.0, 0.0, 0.0, 2),
    ...         SweepRow(8, 40, 81, False, 0.7, 0.2, 0.3, 0.9, 80)]
    >>> breaking_points(rows)
    {8: BreakingPoint(last_ok=2, first_failure=40)}
    """
    out: dict[int, BreakingPoint] = {}
    for d_model in dict.fromkeys(r.d_model for r in rows):
        last_ok = first_failure = None
        for r in sorted((r for r in rows if r.d_model == d_model), key=lambda r: r.n_facts):
            if r.accuracy >= min_accuracy and not r.false_fire_rate > max_false_fire:
                last_ok = r.n_facts
            else:
                first_failure = r.n_facts
                break
        out[d_model] = BreakingPoint(last_ok, first_failure)
    return out
