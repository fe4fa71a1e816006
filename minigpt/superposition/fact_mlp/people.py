"""The synthetic world: people with shared first and last names, and one sport each.

Every name and sport is a random unit direction; a person's embedding is the sum of their
two names. The MLP of ``mlp.py`` must read the sport off that sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...facts import feature_directions
from .._common import _check_int

DEFAULT_D = 32
DEFAULT_N_SPORTS = 8
PEOPLE_PER_NAME = 4        # each first (and last) name is shared by about this many people


@dataclass(frozen=True)
class People:
    """Synthetic people, their embeddings and their sports.

    Attributes
    ----------
    first, last : ndarray of int64, shape (N,)
        Name indices, in ``[0, K)``; the pairs are distinct.
    sport : ndarray of int64, shape (N,)
        The sport of each person, in ``[0, S)``.
    E : ndarray, shape (N, d)
        Person embeddings :math:`M_{first} + J_{last}`.
    B : ndarray, shape (S, d)
        Unit sport directions.
    """

    first: np.ndarray
    last: np.ndarray
    sport: np.ndarray
    E: np.ndarray
    B: np.ndarray

    @property
    def n(self) -> int:
        """N, the number of people (facts)."""
        return self.E.shape[0]


def make_people(n_facts: int, d: int = DEFAULT_D, n_sports: int = DEFAULT_N_SPORTS, *,
                seed: int | np.random.Generator = 0, people_per_name: int = PEOPLE_PER_NAME,
                dtype: type = np.float32) -> People:
    """Draw N people with shared first and last names and a random sport each.

    Parameters
    ----------
    n_facts : int
        N, the number of people, >= 1.
    d : int
        Dimension of the embeddings, >= 1.
    n_sports : int
        S, >= 2.
    seed : int or numpy.random.Generator
    people_per_name : int
        About how many people share each first name (and each last name).
    dtype : numpy dtype

    Returns
    -------
    People

    Notes
    -----
    With :math:`K = \\max(\\lceil N / p \\rceil, \\lceil \\sqrt N \\rceil)` names of each
    kind, the N people are N distinct cells of the K x K grid of (first, last) pairs, drawn
    without replacement. All 2K + S directions come from one call of
    :func:`~minigpt.facts.feature_directions`: random unit vectors, nearly perpendicular.

    Examples
    --------
    >>> P = make_people(100, 16, 4, seed=0)
    >>> P.E.shape, P.B.shape, P.n, len(set(zip(P.first, P.last)))
    ((100, 16), (4, 16), 100, 100)
    """
    n = _check_int("n_facts", n_facts)
    d = _check_int("d", d)
    n_sports = _check_int("n_sports", n_sports, 2)
    people_per_name = _check_int("people_per_name", people_per_name)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    K = max(math.ceil(n / people_per_name), math.ceil(math.sqrt(n)))
    cells = rng.choice(K * K, size=n, replace=False)                  # (N,) distinct pairs
    first, last = cells // K, cells % K
    sport = rng.integers(0, n_sports, size=n)                          # (N,)
    names = [("first", i) for i in range(K)] + [("last", i) for i in range(K)]
    names += [("sport", s) for s in range(n_sports)]
    D, _ = feature_directions(names, d, seed=rng, rotate=True)         # (2K + S, d)
    D = D.astype(dtype)
    E = D[first] + D[K + last]                                         # (N, d)
    return People(first.astype(np.int64), last.astype(np.int64), sport.astype(np.int64), E,
                  D[2 * K:])
