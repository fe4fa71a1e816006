"""The toy model's data: feature importances and batches of sparse features.

Each feature is 0 with probability S (the sparsity), else uniform on [0, 1); feature i
weighs :math:`I_i = r^i` in the loss (``loss.py``). ``training.py`` draws a fresh batch
every step.
"""

from __future__ import annotations

import numpy as np

from .._common import _check_int, _check_real

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
