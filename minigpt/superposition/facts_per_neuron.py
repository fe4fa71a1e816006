"""Facts per neuron: how many facts an MLP of F neurons stores, measured.

The video's MLP stores "Michael Jordan plays basketball" with one neuron: a row of
``w_up`` equal to M + J, a bias of -1, and a column of ``w_down`` equal to B. One neuron
per fact is the clean picture; the video closes by suggesting that a real MLP holds more
facts than it has neurons, each fact spread over many neurons (superposition). Here an MLP
is *trained* on synthetic people and the number of facts it can hold is counted.

The world, in d dimensions:

* K first names and K last names, each a random unit direction (nearly perpendicular to
  the others, :func:`minigpt.facts.feature_directions`); every name is shared by about
  ``PEOPLE_PER_NAME`` people, so no single name tells the sport and the MLP must combine
  both (the video's AND gate; Michael Phelps is not a basketball player);
* N people, distinct (first, last) pairs, each with embedding :math:`E = M + J`;
* S sports, each a random unit direction :math:`B_s`; every person plays one, drawn
  uniformly, so each fact carries exactly :math:`\\log_2 S` bits.

The MLP (up, ReLU, down: :func:`minigpt.nn.mlp_forward`) adds its output to the residual,
and the sport is read off the result along the sport directions, as in the video:

.. math:: \\text{logits}_s = (E + \\mathrm{MLP}(E)) \\cdot B_s

A fact is recalled when its sport has the largest logit. The capacity of a width F is the
largest N whose facts are recalled at >= 99% after training, found by doubling N and then
bisecting.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..facts.handbuilt import feature_directions
from ..interp.tables import jsonable, text_table
from ..nn import (cross_entropy_backward, cross_entropy_forward, linear_backward, linear_forward,
                  mlp_backward, mlp_forward)
from ..optim import AdamW
from .capacity import ADAM_BETAS, ADAM_EPS, _blas_threads, _check_int, _check_real

DEFAULT_D = 32
DEFAULT_WIDTHS = (8, 16, 32, 64)
DEFAULT_N_SPORTS = 8
PEOPLE_PER_NAME = 4        # each first (and last) name is shared by about this many people
TARGET_RECALL = 0.99       # a width "stores" N facts when it recalls at least this share
DEFAULT_STEPS = 1000       # full-batch Adam steps per training run
DEFAULT_LR = 0.03          # peak learning rate, cosine-decayed to 0 over the steps
CHECK_EVERY = 25           # recall is checked (and training stops once reached) this often
N_START = 16               # the doubling search starts here
N_MAX = 1 << 14            # and never trains on more facts than this
RESOLUTION = 0.1           # bisect until the bracket is within 10% of the lower end
# A sweep small enough for tests and docs (about a second): 16 dims, 4 sports.
QUICK_SWEEP = dict(widths=(4, 8, 16), d=16, n_sports=4, steps=600, resolution=0.25)
ALLEN_ZHU_LI_BITS = 2.0    # bits per parameter, Allen-Zhu & Li 2024 (Physics of LMs 3.3)
ACTIVATION = "relu"


# --------------------------------------------------------------------------- the world

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


# --------------------------------------------------------------------------- the MLP

def init_mlp_params(d: int, width: int, *, seed: int | np.random.Generator = 0,
                    dtype: type = np.float32) -> dict[str, np.ndarray]:
    """Random MLP weights in minigpt's layout.

    Parameters
    ----------
    d, width : int
        C and F.
    seed : int or numpy.random.Generator
    dtype : numpy dtype

    Returns
    -------
    dict
        ``w_up`` (F, d) with entries N(0, 1/d), ``b_up`` (F,) zeros, ``w_down`` (d, F) with
        entries N(0, 1/F), ``b_down`` (d,) zeros.

    Examples
    --------
    >>> {k: v.shape for k, v in init_mlp_params(4, 8).items()}
    {'w_up': (8, 4), 'b_up': (8,), 'w_down': (4, 8), 'b_down': (4,)}
    """
    d, width = _check_int("d", d), _check_int("width", width)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return {"w_up": (rng.standard_normal((width, d)) / math.sqrt(d)).astype(dtype),
            "b_up": np.zeros(width, dtype=dtype),
            "w_down": (rng.standard_normal((d, width)) / math.sqrt(width)).astype(dtype),
            "b_down": np.zeros(d, dtype=dtype)}


def n_mlp_params(d: int, width: int) -> int:
    """Parameters of the MLP: both weight matrices and both biases, :math:`2Fd + F + d`.

    Examples
    --------
    >>> n_mlp_params(32, 16)
    1072
    """
    return 2 * width * d + width + d


def sport_logits(params: dict[str, np.ndarray], E: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The sport read off the residual after the MLP: ``(E + MLP(E)) @ B.T``.

    Parameters
    ----------
    params : dict
        ``w_up`` (F, d), ``b_up`` (F,), ``w_down`` (d, F), ``b_down`` (d,).
    E : ndarray, shape (N, d)
    B : ndarray, shape (S, d)

    Returns
    -------
    ndarray, shape (N, S)

    Examples
    --------
    >>> P = make_people(10, 8, 3)
    >>> sport_logits(init_mlp_params(8, 4), P.E, P.B).shape
    (10, 3)
    """
    y, _ = mlp_forward(E, params["w_up"], params["b_up"], params["w_down"], params["b_down"],
                       activation=ACTIVATION)
    return (E + y) @ B.T                                              # (N, d) @ (d, S) -> (N, S)


def facts_loss_and_grads(params: dict[str, np.ndarray], E: np.ndarray, B: np.ndarray,
                         sport: np.ndarray) -> tuple[float, dict[str, np.ndarray], float]:
    """Cross-entropy of the sports read off ``E + MLP(E)``, its gradients, and recall.

    Parameters
    ----------
    params : dict
        ``w_up`` (F, d), ``b_up`` (F,), ``w_down`` (d, F), ``b_down`` (d,).
    E : ndarray, shape (N, d)
        Person embeddings.
    B : ndarray, shape (S, d)
        Sport directions (fixed, not trained).
    sport : ndarray of int, shape (N,)

    Returns
    -------
    loss : float
    grads : dict
        The keys and shapes of ``params``.
    recall : float
        Share of people whose sport has the largest logit.

    Notes
    -----
    .. math::
        r = E + \\mathrm{MLP}(E), \\quad z = r B^T, \\quad
        L = -\\frac1N \\sum_n \\log \\operatorname{softmax}(z_n)_{s_n}

    Backward, each step the reverse of a forward op: :math:`dz = (\\operatorname{softmax}(z)
    - \\text{onehot}) / N`, :math:`dr = dz\\, B`, and :math:`dr` flows into the MLP branch
    (the residual's own path ends at the fixed E).

    Cross-entropy is chosen over an MSE to :math:`B_s` because recall only asks that the
    right sport wins: the loss stops pushing a fact once it is safely recalled, instead of
    spending capacity on matching a target vector exactly.

    Examples
    --------
    >>> P = make_people(20, 8, 4)
    >>> loss, grads, recall = facts_loss_and_grads(init_mlp_params(8, 4), P.E, P.B, P.sport)
    >>> sorted(grads), 0.0 <= recall <= 1.0
    (['b_down', 'b_up', 'w_down', 'w_up'], True)
    """
    y, mlp_cache = mlp_forward(E, params["w_up"], params["b_up"], params["w_down"],
                               params["b_down"], activation=ACTIVATION)  # (N, d)
    r = E + y                                                          # the residual
    z, read_cache = linear_forward(r, B)                               # (N, S)
    loss, ce_cache = cross_entropy_forward(z, sport)
    recall = float(np.mean(np.argmax(z, axis=1) == sport))
    dz = cross_entropy_backward(1.0, ce_cache)                         # (N, S)
    dr, _, _ = linear_backward(dz, read_cache)                         # fwd: z = r @ B.T
    # fwd: r = E + y  =>  dy = dr (E is fixed)
    _, dw_up, db_up, dw_down, db_down = mlp_backward(dr, mlp_cache)
    return loss, {"w_up": dw_up, "b_up": db_up, "w_down": dw_down, "b_down": db_down}, recall


@dataclass(frozen=True)
class FitResult:
    """One training run: how well an MLP of a given width learned N facts.

    Attributes
    ----------
    n_facts, width, seed : int
    recall : float
        Share of facts recalled at the end.
    loss : float
        Cross-entropy at the end.
    steps : int
        Adam steps taken (fewer than the budget when the target was reached early).
    """

    n_facts: int
    width: int
    seed: int
    recall: float
    loss: float
    steps: int


def train_fact_mlp(people: People, width: int, *, steps: int = DEFAULT_STEPS,
                   lr: float = DEFAULT_LR, seed: int = 0, target: float = TARGET_RECALL
                   ) -> tuple[dict[str, np.ndarray], FitResult]:
    """Train an MLP of F neurons on every fact at once (full batch) with Adam.

    Parameters
    ----------
    people : People
    width : int
        F, the number of neurons.
    steps : int
        Most Adam steps; the learning rate decays from ``lr`` to 0 on a cosine over them.
    lr : float
    seed : int
        Seeds the initial weights.
    target : float
        Training stops once the recall, checked every ``CHECK_EVERY`` steps, reaches this.

    Returns
    -------
    params : dict
    FitResult

    Examples
    --------
    >>> params, fit = train_fact_mlp(make_people(32, 16, 4), 8, steps=400)
    >>> fit.recall >= 0.99, params["w_up"].shape
    (True, (8, 16))
    """
    width = _check_int("width", width)
    steps = _check_int("steps", steps)
    lr = _check_real("lr", lr, 0.0, math.inf)
    E, B, sport = people.E, people.B, people.sport
    params = init_mlp_params(E.shape[1], width, seed=seed, dtype=E.dtype)
    opt = AdamW(params, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=0.0, decay=())
    step = 0
    with _blas_threads(1):                  # small products: one BLAS thread is fastest
        while True:
            loss, grads, recall = facts_loss_and_grads(params, E, B, sport)
            if step == steps or (step % CHECK_EVERY == 0 and recall >= target):
                break
            opt.step(grads, lr=lr * 0.5 * (1.0 + math.cos(math.pi * step / steps)))
            step += 1
    return params, FitResult(people.n, width, seed, recall, loss, step)


# --------------------------------------------------------------------------- capacity

@dataclass(frozen=True)
class FactCapacityRow:
    """How many facts one width stores.

    Attributes
    ----------
    d, width, n_sports : int
    n_stored : int
        The largest N found with recall >= ``TARGET_RECALL`` (0 if none).
    n_failed : int or None
        The smallest N found that failed (None if the search reached ``N_MAX``).
    n_params : int
        :func:`n_mlp_params`: w_up, b_up, w_down, b_down.
    fits : list of FitResult
        Every training run of the search, in order.
    """

    d: int
    width: int
    n_sports: int
    n_stored: int
    n_failed: int | None
    n_params: int
    fits: list[FitResult] = field(repr=False)

    @property
    def facts_per_neuron(self) -> float:
        """N / F: above 1, the neurons hold facts in superposition."""
        return self.n_stored / self.width

    @property
    def bits(self) -> float:
        """Bits stored, :math:`N \\log_2 S` (each sport is uniform over S)."""
        return self.n_stored * math.log2(self.n_sports)

    @property
    def bits_per_param(self) -> float:
        """Bits stored per MLP parameter."""
        return self.bits / self.n_params

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the row's numbers and every training run."""
        return jsonable({"d": self.d, "width": self.width, "n_sports": self.n_sports,
                         "n_stored": self.n_stored, "n_failed": self.n_failed,
                         "n_params": self.n_params, "facts_per_neuron": self.facts_per_neuron,
                         "bits": self.bits, "bits_per_param": self.bits_per_param,
                         "fits": [asdict(f) for f in self.fits]})


def fact_capacity(width: int, d: int = DEFAULT_D, n_sports: int = DEFAULT_N_SPORTS, *,
                  steps: int = DEFAULT_STEPS, lr: float = DEFAULT_LR, restarts: int = 0,
                  seed: int = 0, n_start: int = N_START, n_max: int = N_MAX,
                  resolution: float = RESOLUTION) -> FactCapacityRow:
    """The largest number of facts an MLP of F neurons recalls at >= 99%.

    Parameters
    ----------
    width : int
        F.
    d, n_sports : int
        Embedding dimension and S.
    steps, lr : int, float
        Training budget of each run (:func:`train_fact_mlp`).
    restarts : int
        Extra attempts, from new initial weights, before an N counts as failed.
    seed : int
        Seeds the people of each N (``[seed, N]``) and the initial weights.
    n_start, n_max : int
        Doubling starts at ``n_start`` and stops at ``n_max``.
    resolution : float
        Bisection stops when ``n_failed - n_stored <= max(1, resolution * n_stored)``.

    Returns
    -------
    FactCapacityRow

    Notes
    -----
    Doubling N from ``n_start`` until a run fails brackets the capacity; bisection then
    narrows the bracket. This assumes success is monotone in N, which holds on average;
    single runs are noisy near the edge, so the result is an estimate at the given
    resolution, for this training budget.

    Examples
    --------
    >>> row = fact_capacity(4, d=8, n_sports=4, steps=300, n_start=8, resolution=0.25)
    >>> row.n_stored > 0, row.n_failed > row.n_stored
    (True, True)
    """
    width, d = _check_int("width", width), _check_int("d", d)
    n_sports = _check_int("n_sports", n_sports, 2)
    restarts = _check_int("restarts", restarts, 0)
    n_start = _check_int("n_start", n_start)
    n_max = _check_int("n_max", n_max, n_start)
    resolution = _check_real("resolution", resolution, 0.0, math.inf)
    fits: list[FitResult] = []

    def stores(n: int) -> bool:
        people = make_people(n, d, n_sports, seed=np.random.default_rng([seed, n]))
        for attempt in range(restarts + 1):
            _, fit = train_fact_mlp(people, width, steps=steps, lr=lr,
                                    seed=seed + 1000 * attempt + n)
            fits.append(fit)
            if fit.recall >= TARGET_RECALL:
                return True
        return False

    lo, hi, n = 0, None, n_start
    while hi is None:                                                  # double until a failure
        if stores(n):
            lo = n
            if n == n_max:
                break
            n = min(2 * n, n_max)
        else:
            hi = n
    while hi is not None and hi - lo > max(1.0, resolution * lo):      # then bisect
        mid = (lo + hi) // 2
        if stores(mid):
            lo = mid
        else:
            hi = mid
    return FactCapacityRow(d, width, n_sports, lo, hi, n_mlp_params(d, width), fits)


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
        return (f"{table}\nparams = w_up + b_up + w_down + b_down; bits = N log2(S), "
                f"S = {self.rows[0].n_sports if self.rows else '-'}; stored = recall >= "
                f"{TARGET_RECALL:.0%}.\nAllen-Zhu & Li (2024) report ~{ALLEN_ZHU_LI_BITS:g} "
                f"bits/param for trained language models; these MLPs store "
                f"{min(bpp):.2f}-{max(bpp):.2f}, {side} it:\neach fact must be recalled "
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


def plot_facts_per_neuron(result: FactsPerNeuronResult, ax: Any = None) -> Any:
    """Facts stored against the number of neurons, beside the one-fact-per-neuron line.

    Parameters
    ----------
    result : FactsPerNeuronResult
    ax : matplotlib Axes, optional
        Drawn into when given; otherwise a new figure is made.

    Returns
    -------
    matplotlib Axes
        Needs matplotlib.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.5))
    F = np.array([r.width for r in result.rows])
    N = np.array([r.n_stored for r in result.rows])
    ax.plot(F, N, "o-", label="facts stored (recall >= 99%)")
    ax.plot(F, F, "--", color="gray", label="one fact per neuron")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("neurons F")
    ax.set_ylabel("facts N")
    ax.legend(fontsize=8)
    return ax
