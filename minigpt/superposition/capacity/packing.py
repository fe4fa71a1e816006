"""The optimized lower side: search for the largest set of nearly perpendicular directions.

:func:`packing_loss_and_grad` is a squared hinge on the pairwise dot products beyond a
target, with its gradient by hand; :func:`max_packing` minimizes it with Adam on the
sphere for growing set sizes, up to the Welch bound (``welch.py``) that no set can pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...runtime import threads
from ...optim import AdamW
from .._common import (ADAM_BETAS, ADAM_EPS, _check_finite_array, _check_int,
                       _check_real)
from .welch import welch_max_n

# max_packing: the search's knobs (see its Notes).
PACK_LR = 0.02
PACK_STEPS = 1500
PACK_RESTARTS = 4
PACK_MARGIN = 0.05       # optimize towards |cos| <= (1 - margin) * cos_tol
PACK_CHECK_EVERY = 10    # test for success every this many steps
PACK_N_MAX = 1000
WELCH_ORDERS = 32        # max_packing never tries n above the order-1..32 Welch bounds


def packing_loss_and_grad(v: np.ndarray, target: float) -> tuple[float, np.ndarray]:
    """Squared hinge on the pairwise dot products beyond ``target``, and its gradient.

    Parameters
    ----------
    v : ndarray, shape (n, d) or (R, n, d)
        One set of n vectors, or R independent sets (the loss adds them up).
    target : float
        The allowed :math:`|v_i \\cdot v_j|`, >= 0.

    Returns
    -------
    loss : float
    dv : ndarray, shape of ``v``

    Notes
    -----
    With :math:`G = V V^T` and :math:`E_{ij} = \\max(|G_{ij}| - \\tau, 0)` for
    :math:`i \\ne j` (0 on the diagonal):

    .. math::
        L = \\sum_{i \\ne j} E_{ij}^2, \\qquad
        S = \\frac{\\partial L}{\\partial G} = 2 E \\odot \\operatorname{sign}(G), \\qquad
        \\frac{\\partial L}{\\partial V} = (S + S^T) V = 2 S V

    since :math:`dG = dV\\,V^T + V\\,dV^T` and S is symmetric. The square makes the
    gradient vanish smoothly at the tolerance, so a feasible set stops moving.

    Examples
    --------
    >>> loss, dv = packing_loss_and_grad(np.array([[1.0, 0.0], [0.6, 0.8]]), 0.5)
    >>> round(loss, 6), dv.shape
    (0.02, (2, 2))
    """
    _check_finite_array("v", v, (2, 3))
    target = _check_real("target", target, 0.0, math.inf, low_open=False)
    loss, dv, _ = _packing_step(v, v.dtype.type(target))
    return loss, dv


def _packing_step(v: np.ndarray, target: np.floating) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss, gradient and per-set largest off-diagonal ``|G|`` of :func:`packing_loss_and_grad`."""
    n = v.shape[-2]
    diag = np.arange(n)
    gram = v @ np.swapaxes(v, -1, -2)               # (..., n, n)
    gram[..., diag, diag] = 0.0                     # pairs i != j only
    excess = np.maximum(np.abs(gram) - target, 0.0)  # E
    loss = float(np.sum(excess * excess))
    s = 2.0 * excess * np.sign(gram)                # fwd: L = sum E^2  =>  S = dL/dG
    dv = 2.0 * (s @ v)                              # fwd: G = V V^T  =>  dV = (S + S^T) V
    worst = np.max(np.abs(gram), axis=(-1, -2))     # (...,)
    return loss, dv, worst


def _try_pack(start: np.ndarray, n: int, cos_tol: float, rng: np.random.Generator, *,
              restarts: int, steps: int, lr: float) -> tuple[np.ndarray, float] | None:
    """Look for n unit vectors with all ``|cos| <= cos_tol``; ``None`` if none was found.

    Even-numbered restarts keep the ``start`` set and add fresh directions; odd ones start
    from scratch. Rows are renormalized after every Adam step (projection to the sphere).
    """
    d = start.shape[1]
    v = rng.standard_normal((restarts, n, d))                          # (R, n, d)
    v[0::2, :start.shape[0]] = start
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    opt = AdamW({"v": v}, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=0.0, decay=())
    target = np.float64((1.0 - PACK_MARGIN) * cos_tol)
    for step in range(steps + 1):
        _, dv, worst = _packing_step(v, target)
        if step % PACK_CHECK_EVERY == 0 or step == steps:
            ok = np.flatnonzero(worst <= cos_tol)
            if ok.size:
                best = ok[np.argmin(worst[ok])]
                return v[best].copy(), float(worst[best])
        if step < steps:
            opt.step({"v": dv})
            v /= np.linalg.norm(v, axis=-1, keepdims=True)
    return None


@dataclass(frozen=True)
class PackingResult:
    """The largest set :func:`max_packing` found.

    Attributes
    ----------
    d : int
    cos_tol : float
    n : int
        Vectors found (a lower bound on the true maximum).
    max_abs_cos : float
        The set's largest ``|cos|`` between two of its vectors (<= ``cos_tol``).
    vectors : ndarray, shape (n, d)
        The set itself, rows of norm 1: the certificate.
    attempts : tuple of (int, bool)
        Every size tried, in order, and whether it succeeded.
    """

    d: int
    cos_tol: float
    n: int
    max_abs_cos: float
    vectors: np.ndarray
    attempts: tuple[tuple[int, bool], ...]


def max_packing(d: int, cos_tol: float, *, n_max: int = PACK_N_MAX,
                restarts: int = PACK_RESTARTS, steps: int = PACK_STEPS, lr: float = PACK_LR,
                seed: int = 0) -> PackingResult:
    """Estimate the most unit vectors in d dimensions with all pairwise ``|cos| <= cos_tol``.

    Parameters
    ----------
    d : int
        Dimension, >= 1.
    cos_tol : float
        Tolerance in (0, 1); see :func:`band_to_cos_tol`.
    n_max : int
        Largest n tried.
    restarts : int
        Independent starts per size (optimized together as one batch).
    steps : int
        Adam steps per size before giving up.
    lr : float
        Adam learning rate.
    seed : int

    Returns
    -------
    PackingResult
        The largest n that succeeded, with its vectors.

    Notes
    -----
    An orthonormal basis shows that n = d always fits. Above it, a size n is tried by
    minimizing :func:`packing_loss_and_grad` with target :math:`(1 - 0.05)\\,c` by Adam on
    the sphere, and it succeeds as soon as the largest :math:`|\\cos|` is at most c. The
    size grows by doubling steps after each success and is bisected after a failure
    (each new size starts from the best set so far plus fresh random directions). Sizes
    above :func:`welch_max_n` (orders 1-32) are impossible and never tried.

    The answer is a lower bound found by a local search, not the true maximum; together
    with :func:`welch_max_n` it brackets the maximum.

    Examples
    --------
    >>> from minigpt.superposition import band_to_cos_tol
    >>> r = max_packing(3, band_to_cos_tol(35.0))   # lines at 55..125 degrees in 3-D
    >>> r.n, bool(r.max_abs_cos <= r.cos_tol)
    (6, True)
    """
    d = _check_int("d", d)
    cos_tol = _check_real("cos_tol", cos_tol, 0.0, 1.0)
    n_max = _check_int("n_max", n_max)
    restarts, steps = _check_int("restarts", restarts), _check_int("steps", steps)
    lr = _check_real("lr", lr, 0.0, math.inf)
    rng = np.random.default_rng(seed)
    best, best_cos = np.eye(d), 0.0                                    # (d, d): n = d fits
    cap = min(welch_max_n(d, cos_tol, max_order=WELCH_ORDERS), float(n_max))
    lo, hi, grow = d, int(max(cap, d)) + 1, 1                          # lo fits; hi does not
    attempts = []
    with threads.blas_threads(1):
        while hi - lo > 1:
            n = min(lo + grow, hi - 1)
            found = _try_pack(best, n, cos_tol, rng, restarts=restarts, steps=steps, lr=lr)
            attempts.append((n, found is not None))
            if found is not None:
                (best, best_cos), lo, grow = found, n, grow * 2
            else:
                hi, grow = n, max(1, (n - lo) // 2)
    return PackingResult(d, cos_tol, lo, best_cos, best, tuple(attempts))
