"""Training toy models with Adam, one at a time or in sweeps over sparsity and importance.

:func:`train_toy_model` minimizes the loss of ``loss.py`` on fresh batches from
``data.py`` and measures the result with ``metrics.py``; ``plots.py`` draws the
:class:`ToyResult` it returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...optim import AdamW
from .._common import ADAM_BETAS, ADAM_EPS, _check_int, _check_real
from .metrics import REPRESENTED_NORM, FeatureMetrics, feature_metrics
from .model import importance_mse_forward, init_toy_params, toy_forward, toy_loss_and_grads


# ---- the data: feature importances and batches of sparse features
DEFAULT_N_FEATURES = 5
DEFAULT_N_HIDDEN = 2
DEFAULT_IMPORTANCE_DECAY = 0.9  # I_i = 0.9^i

def importance_weights(n: int, decay: float = DEFAULT_IMPORTANCE_DECAY,
                       dtype: type = np.float32) -> np.ndarray:
    """Feature importances :math:`I_i = r^i`, i = 0 .. n-1.

    Parameters
    ----------
    n : int
        Number of features, >= 1.
    decay : float
        r, in (0, 1]; 1 makes all features equally important.
    dtype : numpy dtype

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> importance_weights(3, 0.5)
    array([1.  , 0.5 , 0.25], dtype=float32)
    """
    n = _check_int("n", n)
    decay = _check_real("decay", decay, 0.0, 1.0, high_open=False)
    return (decay ** np.arange(n, dtype=np.float64)).astype(dtype)

def sample_features(batch: int, n: int, sparsity: float, rng: np.random.Generator,
                    dtype: type = np.float32) -> np.ndarray:
    """Draw a batch of sparse feature vectors.

    Parameters
    ----------
    batch, n : int
        Shape of the batch, >= 1.
    sparsity : float
        S in [0, 1): the probability that a feature is zero.
    rng : numpy.random.Generator
    dtype : numpy dtype

    Returns
    -------
    ndarray, shape (batch, n)
        Each entry independently 0 with probability S, else uniform on [0, 1).

    Examples
    --------
    >>> x = sample_features(1000, 4, 0.9, np.random.default_rng(0))
    >>> x.shape, x.dtype, bool(0.05 < np.mean(x > 0) < 0.15)
    ((1000, 4), dtype('float32'), True)
    """
    batch, n = _check_int("batch", batch), _check_int("n", n)
    sparsity = _check_real("sparsity", sparsity, 0.0, 1.0, low_open=False)
    values = rng.random((batch, n), dtype=dtype)                  # (B, n)
    present = rng.random((batch, n)) >= sparsity                  # (B, n) bool
    return values * present

DEFAULT_BATCH = 1024
DEFAULT_STEPS = 5000
DEFAULT_LR = 1e-2
LOG_EVERY = 50                  # losses are recorded every this many steps
EVAL_BATCH = 16384              # fresh samples for the final loss
DEFAULT_SPARSITIES = (0.0, 0.7, 0.8, 0.9, 0.97)
DEFAULT_DECAYS = (1.0, 0.9, 0.7, 0.5)

@dataclass(frozen=True)
class ToyResult:
    """A trained toy model and its measurements.

    Attributes
    ----------
    n, m : int
    sparsity, importance_decay : float
    steps, batch, seed : int
    lr : float
    w : ndarray, shape (m, n)
    b : ndarray, shape (n,)
    losses : ndarray
        Training loss every ``LOG_EVERY`` steps.
    final_loss : float
        Loss on a fresh batch of ``EVAL_BATCH`` samples.
    metrics : FeatureMetrics
    n_represented : int
        Features with :math:`\\|W_i\\| > 0.5`.
    """

    n: int
    m: int
    sparsity: float
    importance_decay: float
    steps: int
    batch: int
    lr: float
    seed: int
    w: np.ndarray
    b: np.ndarray
    losses: np.ndarray
    final_loss: float
    metrics: FeatureMetrics
    n_represented: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the settings, weights and metrics."""
        return {"n": self.n, "m": self.m, "sparsity": self.sparsity,
                "importance_decay": self.importance_decay, "steps": self.steps,
                "batch": self.batch, "lr": self.lr, "seed": self.seed,
                "w": self.w.tolist(), "b": self.b.tolist(), "final_loss": self.final_loss,
                "norms": self.metrics.norms.tolist(),
                "interference": self.metrics.interference.tolist(),
                "dimensionality": self.metrics.dimensionality.tolist(),
                "n_represented": self.n_represented}

def train_toy_model(n: int = DEFAULT_N_FEATURES, m: int = DEFAULT_N_HIDDEN, *,
                    sparsity: float = 0.0, importance_decay: float = DEFAULT_IMPORTANCE_DECAY,
                    steps: int = DEFAULT_STEPS, batch: int = DEFAULT_BATCH, lr: float = DEFAULT_LR,
                    seed: int = 0, dtype: type = np.float32) -> ToyResult:
    """Train one toy model with Adam on fresh batches of sparse features.

    Parameters
    ----------
    n : int
        Features (default 5).
    m : int
        Hidden dimensions (default 2).
    sparsity : float
        S in [0, 1), the probability that a feature is zero.
    importance_decay : float
        r in (0, 1]: :math:`I_i = r^i` (default 0.9, as in the paper's demonstrations).
    steps, batch : int
        Adam steps, each on a fresh batch of this many samples.
    lr : float
        Adam learning rate (betas (0.9, 0.999), eps 1e-8, no weight decay).
    seed : int
        Seeds the initial weights and the data.
    dtype : numpy dtype

    Returns
    -------
    ToyResult

    Notes
    -----
    Adam minimizes :func:`importance_mse_forward` of :func:`toy_forward`, each step on a
    fresh batch from :func:`sample_features`. With n = 5, m = 2 and the default
    importance 0.9^i: dense features (S = 0) keep features 0 and 1 at right angles and
    drop the rest; at S = 0.9 all five are kept as a pentagon (neighbouring angles within
    a few degrees of 72). With the steeper 0.7^i the least important feature is still
    dropped at S = 0.9 and the other four form two antipodal pairs; at S = 0.95 two of
    three seeds tried gave the pentagon.

    Examples
    --------
    >>> r = train_toy_model(4, 2, steps=200)
    >>> r.w.shape, r.n_represented <= 4
    ((2, 4), True)
    """
    n, m = _check_int("n", n), _check_int("m", m)
    sparsity = _check_real("sparsity", sparsity, 0.0, 1.0, low_open=False)
    steps, batch = _check_int("steps", steps), _check_int("batch", batch)
    lr = _check_real("lr", lr, 0.0, math.inf)
    params = init_toy_params(n, m, seed=seed, dtype=dtype)
    importance = importance_weights(n, importance_decay, dtype=dtype)
    rng = np.random.default_rng([seed, 1])                         # data stream apart from init
    opt = AdamW(params, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=0.0, decay=())
    losses = []
    for step in range(steps):
        x = sample_features(batch, n, sparsity, rng, dtype)        # (B, n)
        loss, grads = toy_loss_and_grads(params, x, importance)
        opt.step(grads)
        if step % LOG_EVERY == 0:
            losses.append(loss)
    x_eval = sample_features(EVAL_BATCH, n, sparsity, rng, dtype)
    final_loss = importance_mse_forward(toy_forward(x_eval, params["w"], params["b"])[0],
                                        x_eval, importance)[0]
    metrics = feature_metrics(params["w"])
    return ToyResult(n=n, m=m, sparsity=sparsity, importance_decay=importance_decay,
                     steps=steps, batch=batch, lr=lr, seed=seed, w=params["w"], b=params["b"],
                     losses=np.array(losses), final_loss=final_loss, metrics=metrics,
                     n_represented=int(np.count_nonzero(metrics.norms > REPRESENTED_NORM)))

def sparsity_sweep(sparsities: Iterable[float] = DEFAULT_SPARSITIES,
                   **kwargs: Any) -> list[ToyResult]:
    """Train one toy model per sparsity, everything else equal.

    Parameters
    ----------
    sparsities : iterable of float
        Each in [0, 1).
    **kwargs
        Passed to :func:`train_toy_model`.

    Returns
    -------
    list of ToyResult

    Examples
    --------
    >>> [r.sparsity for r in sparsity_sweep([0.0, 0.9], steps=50)]
    [0.0, 0.9]
    """
    return [train_toy_model(sparsity=s, **kwargs) for s in sparsities]

def importance_sweep(decays: Iterable[float] = DEFAULT_DECAYS, **kwargs: Any) -> list[ToyResult]:
    """Train one toy model per importance decay r (:math:`I_i = r^i`), everything else equal.

    Parameters
    ----------
    decays : iterable of float
        Each in (0, 1].
    **kwargs
        Passed to :func:`train_toy_model`.

    Returns
    -------
    list of ToyResult

    Examples
    --------
    >>> [r.importance_decay for r in importance_sweep([1.0, 0.5], steps=50)]
    [1.0, 0.5]
    """
    return [train_toy_model(importance_decay=r, **kwargs) for r in decays]
