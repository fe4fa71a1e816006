"""Building the hand-made fact MLP: a direction per feature, then the four matrices.

:func:`feature_directions` gives every first name, last name and sport its direction
(one-hot when there is room, random unit vectors in superposition when there is not);
:func:`build_fact_mlp` writes ``w_up`` (rows ``M_i + J_i``), ``b_up`` (the AND bias -1),
``w_down`` (columns ``B_i``) and ``b_down`` of a :class:`FactMLP`. See
:mod:`minigpt.facts.handbuilt` for the whole construction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...data import Fact
from ...nn.activations import ACTIVATIONS

KINDS = ("first", "last", "sport")
AND_BIAS = -1.0  # the video's bias: a row M + J answers 2, 1 or 0; only 2 - 1 stays positive


def _check_d_model(d_model: Any) -> None:
    if isinstance(d_model, bool) or not isinstance(d_model, (int, np.integer)):
        raise TypeError(f"d_model must be an int, got {type(d_model).__name__} {d_model!r}")
    if d_model < 1:
        raise ValueError(f"d_model must be >= 1, got {d_model}")


def _check_activation(activation: Any) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")


def _as_facts(facts: Any) -> tuple[Fact, ...]:
    if isinstance(facts, (str, bytes)) or not isinstance(facts, Sequence):
        raise TypeError(
            f"facts must be a sequence of (first, last, sport), got {type(facts).__name__}"
        )
    if len(facts) == 0:
        raise ValueError("facts must hold at least one (first, last, sport), got an empty sequence")
    out = []
    for i, f in enumerate(facts):
        if not (isinstance(f, (tuple, list)) and len(f) == 3
                and all(isinstance(s, str) and s for s in f)):
            raise TypeError(
                f"facts[{i}] must be three non-empty strings (first, last, sport), got {f!r}"
            )
        out.append(Fact(*f))
    counts = Counter((f.first, f.last) for f in out)
    twice = [pair for pair, c in counts.items() if c > 1]
    if twice:
        raise ValueError(
            f"each person may appear once (one neuron each), got {' '.join(twice[0])} twice"
        )
    return tuple(out)


def feature_directions(
    names: Sequence[Any], d_model: int, seed: int | np.random.Generator = 0, rotate: bool = False
) -> tuple[np.ndarray, bool]:
    """One unit direction in the residual stream per feature.

    Parameters
    ----------
    names : sequence of hashable, length n
        The features, all distinct; row k of the result belongs to ``names[k]``.
    d_model : int
        C, the width of the residual stream.
    seed : int or numpy.random.Generator
        Source of randomness for random directions (unused for the identity basis).
    rotate : bool
        When the features fit (n <= C): ``False`` takes rows of the identity (exact
        arithmetic), ``True`` rows of a random orthogonal matrix (same geometry, no
        privileged axes).

    Returns
    -------
    E : ndarray, shape (n, C), float64
        Unit rows.
    exact : bool
        ``True`` when the rows are exactly orthogonal (n <= C).

    Notes
    -----
    Only C directions can be exactly perpendicular in C dimensions. Beyond that the rows are
    independent Gaussian vectors scaled to unit length; for two of them

    .. math:: \\cos\\theta = E_i \\cdot E_j \\approx \\mathcal N(0, 1/C)

    so they are nearly perpendicular when C is large, however many there are
    (Johnson-Lindenstrauss). Rotated orthonormal rows are the transposed Q of a (C, n)
    Gaussian matrix's QR decomposition, with the signs of R's diagonal moved into Q: n rows
    of a uniformly random (Haar) orthogonal matrix.

    Examples
    --------
    >>> E, exact = feature_directions(["Michael", "Jordan", "basketball"], 4)
    >>> E.shape, exact, float(E[0] @ E[1])
    ((3, 4), True, 0.0)
    """
    _check_d_model(d_model)
    n = len(names)
    if n == 0:
        raise ValueError("names must contain at least one feature, got none")
    if len(set(names)) != n:
        raise ValueError(
            f"names must be distinct, got {n} names of which {len(set(names))} are distinct"
        )
    rng = np.random.default_rng(seed)
    if n <= d_model:
        if not rotate:
            return np.eye(d_model)[:n], True  # (n, C)
        q, r = np.linalg.qr(rng.standard_normal((d_model, n)))  # (C, n), (n, n)
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)  # sign fix: uniformly random frame
        return q.T.copy(), True  # (n, C): orthonormal rows
    e = rng.standard_normal((n, d_model))  # (n, C)
    return e / np.linalg.norm(e, axis=1, keepdims=True), False


@dataclass(frozen=True, eq=False)
class FactMLP:
    """An MLP block whose neuron i stores ``facts[i]``, and the directions it speaks in.

    Attributes
    ----------
    w_up : ndarray, shape (F, C)
        Row i = first-name direction + last-name direction of person i.
    b_up : ndarray, shape (F,)
        The AND-gate threshold, -1 in the video.
    w_down : ndarray, shape (C, F)
        Column i = the direction of person i's sport.
    b_down : ndarray, shape (C,)
        Zeros.
    directions : ndarray, shape (N, C)
        Every feature's unit direction: first names, then last names, then sports.
    first_index, last_index, sport_index : dict of str to int
        Name -> row of ``directions``. A first name and a last name that are spelled alike
        ("Jordan") are different features.
    facts : tuple of Fact, length F
    activation : str
        The nonlinearity used unless another is asked for.
    exact : bool
        Whether ``directions`` are exactly orthogonal.

    Examples
    --------
    >>> mlp = build_fact_mlp([("Michael", "Jordan", "basketball")], d_model=4)
    >>> mlp.d_model, mlp.sports, mlp.vector("sport", "basketball")
    (4, ('basketball',), array([0., 0., 1., 0.]))
    """

    w_up: np.ndarray
    b_up: np.ndarray
    w_down: np.ndarray
    b_down: np.ndarray
    directions: np.ndarray
    first_index: dict[str, int]
    last_index: dict[str, int]
    sport_index: dict[str, int]
    facts: tuple[Fact, ...]
    activation: str
    exact: bool

    @property
    def d_model(self) -> int:
        """C, the residual width."""
        return self.w_up.shape[1]

    @property
    def sports(self) -> tuple[str, ...]:
        """The sport names, in the order of :attr:`sport_directions`."""
        return tuple(self.sport_index)

    @property
    def sport_directions(self) -> np.ndarray:
        """The sports' directions, shape (S, C)."""
        return self.directions[list(self.sport_index.values())]

    def vector(self, kind: str, name: str) -> np.ndarray:
        """The direction of a feature: ``kind`` is "first", "last" or "sport"; shape (C,)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        index = {"first": self.first_index, "last": self.last_index,
                 "sport": self.sport_index}[kind]
        if name not in index:
            raise ValueError(
                f"unknown {kind} name {name!r}; this MLP knows {len(index)} {kind} names"
            )
        return self.directions[index[name]]


def build_fact_mlp(
    facts: Sequence[Any],
    d_model: int,
    activation: str = "relu",
    seed: int | np.random.Generator = 0,
    bias: float = AND_BIAS,
    rotate: bool = False,
) -> FactMLP:
    """Build the video's fact-storing MLP: one AND-gate neuron per person.

    Parameters
    ----------
    facts : sequence of Fact or (first, last, sport), length F
        Distinct people; neuron i stores ``facts[i]``.
    d_model : int
        C. The features are the distinct first names, last names and sports; they are
        exactly orthogonal when they number at most C, else random unit vectors.
    activation : {"relu", "gelu", "gelu_exact"}
        The default nonlinearity of the returned MLP.
    seed : int or numpy.random.Generator
    bias : float
        Every neuron's ``b_up``.
    rotate : bool
        See :func:`feature_directions`.

    Returns
    -------
    FactMLP

    Notes
    -----
    With :math:`M_i, J_i, B_i` the first-name, last-name and sport directions of person i:

    .. math:: W_{up}[i, :] = M_i + J_i, \\quad b_{up}[i] = -1, \\quad
        W_{down}[:, i] = B_i, \\quad b_{down} = 0

    so that :math:`E + \\mathrm{MLP}(E) = E + \\sum_i \\sigma(E \\cdot (M_i + J_i) - 1)\\, B_i`.
    For orthonormal directions and :math:`E = M_a + J_b`, the pre-activation is
    :math:`[a = \\text{first}_i] + [b = \\text{last}_i] - 1 \\in \\{-1, 0, 1\\}`, and ReLU
    turns it into :math:`[\\text{both match}]`: an AND gate. Without the nonlinearity a neuron
    is linear in E, so it cannot be one: h(Michael Jordan) would equal h(Michael Phelps) +
    h(LeBron Jordan) - h(LeBron Phelps), whatever the weights. GELU gives
    :math:`\\mathrm{GELU}(1) \\approx 0.841` for the person, exactly 0 for one matching name,
    and leaks
    :math:`\\mathrm{GELU}(-1) \\approx -0.159` times its sport for everyone else.

    Examples
    --------
    >>> mlp = build_fact_mlp([("Michael", "Jordan", "basketball")], d_model=4)
    >>> mlp.w_up, mlp.w_down[:, 0]
    (array([[1., 1., 0., 0.]]), array([0., 0., 1., 0.]))
    """
    facts = _as_facts(facts)
    _check_d_model(d_model)
    _check_activation(activation)
    firsts = list(dict.fromkeys(f.first for f in facts))  # distinct, in order of appearance
    lasts = list(dict.fromkeys(f.last for f in facts))
    sports = list(dict.fromkeys(f.sport for f in facts))
    names = ([("first", s) for s in firsts] + [("last", s) for s in lasts]
             + [("sport", s) for s in sports])  # "Jordan" the first name != "Jordan" the last
    directions, exact = feature_directions(names, d_model, seed=seed, rotate=rotate)  # (N, C)
    first_index = {s: k for k, s in enumerate(firsts)}
    last_index = {s: len(firsts) + k for k, s in enumerate(lasts)}
    sport_index = {s: len(firsts) + len(lasts) + k for k, s in enumerate(sports)}
    fi = np.array([first_index[f.first] for f in facts])  # (F,)
    li = np.array([last_index[f.last] for f in facts])  # (F,)
    si = np.array([sport_index[f.sport] for f in facts])  # (F,)
    w_up = directions[fi] + directions[li]  # (F, C): row i asks "first_i AND last_i?"
    b_up = np.full(len(facts), float(bias))  # (F,)
    w_down = directions[si].T.copy()  # (C, F): column i adds sport_i
    b_down = np.zeros(d_model)  # (C,)
    return FactMLP(w_up, b_up, w_down, b_down, directions, first_index, last_index,
                   sport_index, facts, activation, exact)
