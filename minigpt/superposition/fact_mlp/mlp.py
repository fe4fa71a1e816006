"""The MLP that stores facts: its weights, the sport it reads out, its loss and gradients.

The MLP is :func:`minigpt.nn.mlp_forward` (up, ReLU, down) added to the residual; the
sport is read along the sport directions of ``people.py``. :func:`facts_loss_and_grads`
is what each step of ``training.py`` calls.
"""

from __future__ import annotations

import math

import numpy as np

from ...nn import (cross_entropy_backward, cross_entropy_forward, linear_backward, linear_forward,
                   mlp_backward, mlp_forward)
from .._common import _check_int

ACTIVATION = "relu"


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
    >>> from minigpt.superposition import make_people
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
    >>> from minigpt.superposition import make_people
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
