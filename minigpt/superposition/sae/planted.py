"""Does an SAE find features planted in synthetic data?

:func:`planted_features` makes activations from sparse features in superposition;
:func:`recover_planted_features` trains an SAE on them (``training.py``) and matches its
decoder columns to the planted directions (:func:`best_match_cosines`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...facts import feature_directions
from ...tables import jsonable, text_table
from .._common import _check_int, _check_real
from .evaluation import SAEResult
from .training import DEFAULT_BATCH, DEFAULT_LR, DEFAULT_STEPS, train_sae

RECOVERED_COS = 0.9         # a planted feature is recovered when some column is this close
DEFAULT_N_FEATURES = 96
DEFAULT_SAE_D = 32
DEFAULT_P_ACTIVE = 0.03
DEFAULT_N_SAMPLES = 20_000


def planted_features(n_features: int = DEFAULT_N_FEATURES, d: int = DEFAULT_SAE_D,
                     p_active: float = DEFAULT_P_ACTIVE, n_samples: int = DEFAULT_N_SAMPLES, *,
                     seed: int = 0, dtype: type = np.float32
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic activations made of sparse features in superposition.

    Parameters
    ----------
    n_features : int
        Number of planted features (more than d: they cannot all be perpendicular).
    d : int
        Dimension of the data.
    p_active : float
        In (0, 1]: the probability that a feature is active in a sample.
    n_samples : int
    seed : int
    dtype : numpy dtype

    Returns
    -------
    x : ndarray, shape (n_samples, d)
        :math:`x = \\sum_i c_i f_i`, with :math:`c_i \\sim U[0, 1]` when feature i is
        active, else 0.
    features : ndarray, shape (n_features, d)
        The planted unit directions :math:`f_i` (random, nearly perpendicular).

    Examples
    --------
    >>> x, f = planted_features(10, 4, 0.2, 100)
    >>> x.shape, f.shape, np.allclose(np.linalg.norm(f, axis=1), 1)
    ((100, 4), (10, 4), True)
    """
    n_features, d = _check_int("n_features", n_features), _check_int("d", d)
    p_active = _check_real("p_active", p_active, 0.0, 1.0, high_open=False)
    n_samples = _check_int("n_samples", n_samples)
    rng = np.random.default_rng(seed)
    features, _ = feature_directions(range(n_features), d, seed=rng, rotate=True)
    features = features.astype(dtype)                                  # (n, d)
    active = rng.random((n_samples, n_features)) < p_active            # (N, n)
    codes = np.where(active, rng.random((n_samples, n_features)), 0.0).astype(dtype)
    return codes @ features, features                                  # (N, n) @ (n, d)


def best_match_cosines(features: np.ndarray, w_dec: np.ndarray) -> np.ndarray:
    """For each planted feature, the largest cosine with any decoder column.

    Parameters
    ----------
    features : ndarray, shape (n, d)
    w_dec : ndarray, shape (d, m)

    Returns
    -------
    ndarray, shape (n,)
        Signed: a column pointing the opposite way does not count as a match.

    Examples
    --------
    >>> best_match_cosines(np.eye(2), np.array([[0.6, 0.0, -1.0], [0.8, 1.0, 0.0]]))
    array([0.6, 1. ])
    """
    f = features / np.linalg.norm(features, axis=1, keepdims=True)
    w = w_dec / np.maximum(np.linalg.norm(w_dec, axis=0), np.finfo(w_dec.dtype).tiny)
    return np.max(f @ w, axis=1)                                       # (n, m) -> (n,)


@dataclass(frozen=True)
class RecoveryResult:
    """How well an SAE recovered planted features.

    Attributes
    ----------
    n_features, d : int
    p_active : float
    n_samples : int
    best_cos : ndarray, shape (n_features,)
        :func:`best_match_cosines`.
    recovered_fraction : float
        Share of features with best cosine > ``RECOVERED_COS``.
    sae : SAEResult
    """

    n_features: int
    d: int
    p_active: float
    n_samples: int
    best_cos: np.ndarray = field(repr=False)
    recovered_fraction: float
    sae: SAEResult

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: data settings, recovery and the SAE's metrics."""
        return jsonable({"n_features": self.n_features, "d": self.d, "p_active": self.p_active,
                         "n_samples": self.n_samples, "threshold": RECOVERED_COS,
                         "recovered_fraction": self.recovered_fraction,
                         "best_cos": self.best_cos,
                         "median_best_cos": float(np.median(self.best_cos)),
                         "sae": self.sae.to_dict()})

    def to_table(self) -> str:
        """The recovery numbers followed by the SAE's table."""
        rows = [["planted features", f"{self.n_features} in d = {self.d}"],
                ["P(feature active)", f"{self.p_active:g}"],
                [f"recovered (cos > {RECOVERED_COS})", f"{self.recovered_fraction:.3f}"],
                ["median best cosine", f"{np.median(self.best_cos):.3f}"],
                ["min best cosine", f"{np.min(self.best_cos):.3f}"]]
        return text_table(["quantity", "value"], rows) + "\n" + self.sae.to_table()


def recover_planted_features(n_features: int = DEFAULT_N_FEATURES, d: int = DEFAULT_SAE_D,
                             p_active: float = DEFAULT_P_ACTIVE,
                             n_samples: int = DEFAULT_N_SAMPLES, *, m: int | None = None,
                             k: int | None = None, l1: float | None = None,
                             steps: int = DEFAULT_STEPS, batch: int = DEFAULT_BATCH,
                             lr: float = DEFAULT_LR, seed: int = 0) -> RecoveryResult:
    """Plant sparse features in superposition, train an SAE, and match its decoder to them.

    Parameters
    ----------
    n_features, d, p_active, n_samples
        See :func:`planted_features`.
    m : int or None
        Latents; default ``2 * n_features``.
    k, l1, steps, batch, lr
        See :func:`train_sae`.
    seed : int
        Seeds the data and the SAE.

    Returns
    -------
    RecoveryResult

    Examples
    --------
    >>> r = recover_planted_features(8, 4, 0.1, 2000, steps=300)
    >>> r.best_cos.shape, 0.0 <= r.recovered_fraction <= 1.0
    ((8,), True)
    """
    x, features = planted_features(n_features, d, p_active, n_samples, seed=seed)
    m = 2 * n_features if m is None else m
    sae = train_sae(x, m, k=k, l1=l1, steps=steps, batch=batch, lr=lr, seed=seed)
    best = best_match_cosines(features, sae.params["w_dec"])
    return RecoveryResult(n_features, d, p_active, n_samples, best,
                          float(np.mean(best > RECOVERED_COS)), sae)
