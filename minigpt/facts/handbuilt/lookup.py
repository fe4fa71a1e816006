"""Looking a name up in the hand-built fact MLP: the vector, the block's output, its neurons.

:func:`person_vector` is the residual vector ``E = M + J`` that attention leaves at a last
name; :func:`apply_fact_mlp` runs the block with its residual connection, :func:`fact_neurons`
shows which AND gates fire, and :func:`sport_scores` reads a vector along every sport. The
block is built in :mod:`minigpt.facts.handbuilt.build`; :mod:`minigpt.facts.handbuilt.checks` asks
it about every person at once.
"""

from __future__ import annotations

import numpy as np

from ...nn.mlp import mlp_forward
from .build import FactMLP, _check_activation


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
    >>> from minigpt.facts import build_fact_mlp
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
    >>> from minigpt.facts import build_fact_mlp
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
    >>> from minigpt.facts import build_fact_mlp
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
    >>> from minigpt.facts import build_fact_mlp
    >>> mlp = build_fact_mlp([("Michael", "Jordan", "basketball")], d_model=4)
    >>> sport_scores(mlp, np.array([0.0, 0.0, 2.0, 0.0]))
    array([2.])
    """
    return np.asarray(x) @ mlp.sport_directions.T  # (..., C) @ (C, S) -> (..., S)
