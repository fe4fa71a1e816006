"""The MLP block: where, the video argues, a transformer keeps its facts.

``w_up``'s rows ask questions of the vector ("is this Michael Jordan?"), ``b_up`` sets the
threshold that turns an answer into an AND gate, the activation fires, and ``w_down``'s
columns are what each firing neuron adds ("basketball").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .activations import ACTIVATIONS
from .linear import LinearCache, linear_backward, linear_forward


class MLPCache(NamedTuple):
    """The caches of the three steps, and which activation ran."""

    up: LinearCache  # x and w_up
    act: Any  # the activation's own cache
    down: LinearCache  # the neurons h and w_down
    activation: str


def mlp_forward(
    x: np.ndarray,
    w_up: np.ndarray,
    b_up: np.ndarray,
    w_down: np.ndarray,
    b_down: np.ndarray,
    activation: str = "gelu",
    tap: Callable[[str, np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, MLPCache]:
    r"""Up-project, apply the nonlinearity, down-project.

    Parameters
    ----------
    x : ndarray, shape (..., C)
    w_up : ndarray, shape (F, C)
        Row i is the direction neuron i asks about.
    b_up : ndarray, shape (F,)
    w_down : ndarray, shape (C, F)
        Column i is the direction neuron i adds when it fires.
    b_down : ndarray, shape (C,)
    activation : {"gelu", "gelu_exact", "relu"}
    tap : callable, optional
        ``tap("pre", pre)`` and ``tap("post", h)`` see each neuron's input and output
        (..., F) and return the values to use (for reading and patching neurons).

    Returns
    -------
    y : ndarray, shape (..., C)
    cache : MLPCache

    Notes
    -----
    .. math:: h = \sigma(x W_{up}^T + b_{up}), \qquad y = h W_{down}^T + b_{down}

    The backward (:func:`mlp_backward`) chains :func:`~minigpt.nn.linear_backward` and the
    activation's backward, with :math:`a = x W_{up}^T + b_{up}`:

    .. math:: da = dy\, W_{down} \odot \sigma'(a), \qquad dx = da\, W_{up}

    Examples
    --------
    >>> C, F = 4, 16
    >>> y, cache = mlp_forward(np.ones((2, 3, C)), np.ones((F, C)), np.zeros(F),
    ...                        np.ones((C, F)), np.zeros(C), activation="relu")
    >>> y.shape
    (2, 3, 4)
    """
    act_forward, _ = ACTIVATIONS[activation]
    pre, up_cache = linear_forward(x, w_up, b_up)  # (..., F): each neuron's answer
    if tap is not None:
        pre = tap("pre", pre)
    h, act_cache = act_forward(pre)  # (..., F): the neurons
    if tap is not None:
        h = tap("post", h)
    y, down_cache = linear_forward(h, w_down, b_down)  # (..., C)
    return y, MLPCache(up_cache, act_cache, down_cache, activation)


def mlp_backward(
    dy: np.ndarray, cache: MLPCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of :func:`mlp_forward`.

    Parameters
    ----------
    dy : ndarray, shape (..., C)
    cache : MLPCache

    Returns
    -------
    dx : ndarray, shape (..., C)
    dw_up : ndarray, shape (F, C)
    db_up : ndarray, shape (F,)
    dw_down : ndarray, shape (C, F)
    db_down : ndarray, shape (C,)

    Notes
    -----
    .. math:: a = x W_{up}^T + b_{up}, \qquad h = \sigma(a), \qquad y = h W_{down}^T + b_{down}

    .. math::
        dh = dy\, W_{down}, \qquad da = dh \odot \sigma'(a), \qquad dx = da\, W_{up}

    .. math::
        dW_{down} = \sum_{\text{rows}} dy^T h, \quad db_{down} = \sum_{\text{rows}} dy, \quad
        dW_{up} = \sum_{\text{rows}} da^T x, \quad db_{up} = \sum_{\text{rows}} da
    """
    up_cache, act_cache, down_cache, activation = cache
    _, act_backward = ACTIVATIONS[activation]
    # fwd: y = h @ w_down.T + b_down
    dh, dw_down, db_down = linear_backward(dy, down_cache)  # (..., F)
    # fwd: h = act(pre)
    dpre = act_backward(dh, act_cache)  # (..., F)
    # fwd: pre = x @ w_up.T + b_up
    dx, dw_up, db_up = linear_backward(dpre, up_cache)  # (..., C)
    return dx, dw_up, db_up, dw_down, db_down
