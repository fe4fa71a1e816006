"""What a trained W does with each feature: norm, interference, dimensionality, angles.

:func:`feature_metrics` gives Elhage et al.'s per-feature geometry; with two hidden
dimensions :func:`neighbour_angles` reads off the polygon the features form (a pentagon's
five gaps of 72 degrees). ``training.py`` stores the metrics with each trained model.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._common import _check_finite_array

REPRESENTED_NORM = 0.5          # ||W_i|| above this: feature i is represented
ZERO_NORM = 1e-8                # below this a column has no direction
FULL_TURN_DEG = 360.0
HALF_TURN_DEG = 180.0           # no two directions are further apart than this


class FeatureMetrics(NamedTuple):
    """Per-feature geometry of a trained W (Elhage et al. 2022).

    Attributes
    ----------
    norms : ndarray, shape (n,)
        :math:`\\|W_i\\|`: about 1 when feature i is represented, about 0 when dropped.
    interference : ndarray, shape (n,)
        :math:`\\sum_{j \\ne i} (\\hat W_i \\cdot W_j)^2`: how much the other features
        project onto feature i's direction.
    dimensionality : ndarray, shape (n,)
        :math:`D_i = \\|W_i\\|^2 / \\sum_j (\\hat W_i \\cdot W_j)^2`: the share of a
        hidden dimension feature i owns (1 alone on an axis, 1/2 in an antipodal pair,
        2/5 in a pentagon).
    """

    norms: np.ndarray
    interference: np.ndarray
    dimensionality: np.ndarray


def feature_metrics(w: np.ndarray) -> FeatureMetrics:
    """Norm, interference and dimensionality of each feature's direction.

    Parameters
    ----------
    w : ndarray, shape (m, n)

    Returns
    -------
    FeatureMetrics
        Features with a zero column get interference 0 and dimensionality 0.

    Examples
    --------
    >>> angles = 2 * np.pi * np.arange(5) / 5
    >>> pentagon = np.stack([np.cos(angles), np.sin(angles)])       # (2, 5)
    >>> feature_metrics(pentagon).dimensionality.round(3)
    array([0.4, 0.4, 0.4, 0.4, 0.4])
    """
    w = _check_finite_array("w", w, 2).astype(np.float64)
    norms = np.linalg.norm(w, axis=0)                              # (n,)
    has_dir = norms > ZERO_NORM
    safe = np.where(has_dir, norms, 1.0)
    overlaps = (w.T @ w) / safe[:, None]                           # (n, n) row i: W_i_hat . W_j
    total = np.sum(overlaps ** 2, axis=1)                          # (n,) includes j = i
    interference = np.where(has_dir, total - norms ** 2, 0.0)
    dimensionality = np.where(has_dir, norms ** 2 / np.where(has_dir, total, 1.0), 0.0)
    return FeatureMetrics(norms, np.maximum(interference, 0.0), dimensionality)


def neighbour_angles(w: np.ndarray, min_norm: float = REPRESENTED_NORM) -> np.ndarray:
    """Angles between neighbouring feature directions in a 2-dimensional hidden space.

    Parameters
    ----------
    w : ndarray, shape (2, n)
    min_norm : float
        Only columns longer than this take part.

    Returns
    -------
    ndarray, shape (k,) or (k - 1,)
        For the k represented features sorted by angle, the angle from each direction to
        the next one round the circle, in degrees. A gap wider than 180 degrees is left
        out: it is the empty side of the circle, not an angle between two directions (no
        two directions are more than 180 degrees apart); two directions have one angle
        between them. So a regular pentagon gives five angles of 72, two perpendicular
        directions one angle of 90, and one direction none.

    Examples
    --------
    >>> neighbour_angles(np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]))
    array([ 90.,  90., 180.])
    >>> neighbour_angles(np.array([[1.0, 0.0], [0.0, 1.0]]))  # the 270 round the back: out
    array([90.])
    """
    w = _check_finite_array("w", w, 2)
    if w.shape[0] != 2:
        raise ValueError(f"neighbour_angles needs a 2-dimensional hidden space, "
                         f"got w of shape {w.shape}")
    keep = np.linalg.norm(w, axis=0) > min_norm
    theta = np.sort(np.degrees(np.arctan2(w[1, keep], w[0, keep])))   # (k,)
    if theta.size == 0:
        return theta
    gaps = np.diff(np.append(theta, theta[0] + FULL_TURN_DEG))          # (k,), sum 360
    if gaps.size == 2:
        return gaps[:1] if gaps[0] <= gaps[1] else gaps[1:]             # one angle, not two
    return gaps[gaps <= HALF_TURN_DEG]
