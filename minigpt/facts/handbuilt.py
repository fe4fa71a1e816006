"""A fact-storing MLP built by hand: "Michael Jordan plays basketball" in four matrices.

The construction of 3Blue1Brown's "How might LLMs store facts", generalized from one athlete
to a whole fact bank. Every first name, last name and sport gets a direction in the residual
stream. Attention is assumed to have already gathered the full name at the last name's
position, so the vector there is ``E = M + J`` (first-name direction plus last-name
direction). One neuron per person then stores that person's sport:

- row i of ``w_up`` is the question neuron i asks, ``M_i + J_i``: the dot product with E is 2
  for the person, 1 when only one name matches ("Michael Phelps"), 0 otherwise;
- the bias ``b_up = -1`` moves those answers to 1, 0, -1, and ReLU keeps only the 1: the
  neuron is an AND gate of the two names (GELU, the smooth version, leaks ``GELU(-1)``);
- column i of ``w_down`` is the direction the neuron adds when it fires, the sport ``B_i``;
- the block's output is added to the residual stream: ``E + MLP(E)`` now points along ``B_i``.

When there are more features than dimensions, they cannot all be perpendicular; random unit
vectors are *nearly* perpendicular (``|cos|`` about ``1 / sqrt(C)``), so many more facts fit, with
some interference. :func:`interference_sweep` measures where that interference starts to cost
accuracy: facts stored in superposition.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..data import Fact
from ..nn.activations import ACTIVATIONS
from ..nn.mlp import mlp_forward

KINDS = ("first", "last", "sport")
AND_BIAS = -1.0  # the video's bias: a row M + J answers 2, 1 or 0; only 2 - 1 stays positive
FIRE_THRESHOLD = 0.5  # a neuron "fires" above this: halfway between off (0) and on (1)
MIN_ACCURACY = 0.99  # a sweep row holds its facts at accuracy >= this ...
MAX_FALSE_FIRE = 0.01  # ... with mixed names firing a neuron at most this often
MIN_MIXED = 1000  # the sweep pairs names until it has at least this many mixed names
DEFAULT_WIDTHS = (16, 32, 64, 128)
DEFAULT_N_FACTS = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


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


def person_vector(mlp: FactMLP, first: str, last: str) -> np.ndarray:
    """The residual vector at a last name once attention has brought the first name to it.

    Parameters
    ----------
    mlp : FactMLP
    first, last : str
        Names the MLP has directions for (they need not be one real person).

    Returns
    -------
    E : ndarray, shape (C,)
        ``M + J``.

    Examples
    --------
    >>> mlp = build_fact_mlp([("Michael", "Jordan", "basketball")], d_model=4)
    >>> person_vector(mlp, "Michael", "Jordan")
    array([1., 1., 0., 0.])
    """
    return mlp.vector("first", first) + mlp.vector("last", last)


def _run(mlp: FactMLP, E: np.ndarray, activation: str | None) -> tuple[np.ndarray, np.ndarray]:
    """``(E + MLP(E), neurons)`` for E of shape (..., C)."""
    activation = mlp.activation if activation is None else activation
    _check_activation(activation)
    E = np.asarray(E, dtype=np.float64)
    if E.ndim == 0 or E.shape[-1] != mlp.d_model:
        raise ValueError(f"E must have shape (..., {mlp.d_model}), got {E.shape}")
    seen: dict[str, np.ndarray] = {}

    def keep(name: str, value: np.ndarray) -> np.ndarray:
        seen[name] = value
        return value

    y, _ = mlp_forward(E, mlp.w_up, mlp.b_up, mlp.w_down, mlp.b_down, activation, tap=keep)
    return E + y, seen["post"]  # residual add: (..., C), neurons: (..., F)


def apply_fact_mlp(mlp: FactMLP, E: np.ndarray, activation: str | None = None) -> np.ndarray:
    """The residual stream after the block: ``E + MLP(E)``.

    Parameters
    ----------
    mlp : FactMLP
    E : ndarray, shape (..., C)
    activation : {"relu", "gelu", "gelu_exact"} or None
        ``None`` uses ``mlp.activation``.

    Returns
    -------
    ndarray, shape (..., C)

    Examples
    --------
    >>> mlp = build_fact_mlp([("Michael", "Jordan", "basketball")], d_model=4)
    >>> apply_fact_mlp(mlp, person_vector(mlp, "Michael", "Jordan"))
    array([1., 1., 1., 0.])
    """
    return _run(mlp, E, activation)[0]


def fact_neurons(mlp: FactMLP, E: np.ndarray, activation: str | None = None) -> np.ndarray:
    """The neurons of the block: its post-activation values for input E.

    Parameters
    ----------
    mlp : FactMLP
    E : ndarray, shape (..., C)
    activation : {"relu", "gelu", "gelu_exact"} or None
        ``None`` uses ``mlp.activation``.

    Returns
    -------
    h : ndarray, shape (..., F)
        Neuron i is person ``mlp.facts[i]``.

    Examples
    --------
    >>> mlp = build_fact_mlp([("Michael", "Jordan", "basketball")], d_model=4)
    >>> fact_neurons(mlp, person_vector(mlp, "Michael", "Jordan"))
    array([1.])
    """
    return _run(mlp, E, activation)[1]


def sport_scores(mlp: FactMLP, x: np.ndarray) -> np.ndarray:
    """How far x points along each sport.

    Parameters
    ----------
    mlp : FactMLP
    x : ndarray, shape (..., C)

    Returns
    -------
    ndarray, shape (..., S)
        ``x @ mlp.sport_directions.T``; column s is ``mlp.sports[s]``.

    Examples
    --------
    >>> mlp = build_fact_mlp([("Michael", "Jordan", "basketball")], d_model=4)
    >>> sport_scores(mlp, np.array([0.0, 0.0, 2.0, 0.0]))
    array([2.])
    """
    return np.asarray(x) @ mlp.sport_directions.T  # (..., C) @ (C, S) -> (..., S)


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
