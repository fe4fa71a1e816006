"""One training run: an MLP of F neurons learns every fact at once, full batch, with Adam.

:func:`train_fact_mlp` minimizes the loss of ``mlp.py`` on the people of ``people.py``
and stops early once the recall reaches the target; ``capacity.py`` runs it for growing N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...runtime import threads
from ...optim import AdamW
from .._common import ADAM_BETAS, ADAM_EPS, _check_int, _check_real
from .mlp import facts_loss_and_grads, init_mlp_params
from .people import People

TARGET_RECALL = 0.99       # a width "stores" N facts when it recalls at least this share
DEFAULT_STEPS = 1000       # full-batch Adam steps per training run
DEFAULT_LR = 0.03          # peak learning rate, cosine-decayed to 0 over the steps
CHECK_EVERY = 25           # recall is checked (and training stops once reached) this often


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
    >>> from minigpt.superposition import make_people
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
    with threads.blas_threads(1):                  # small products: one BLAS thread is fastest
        while True:
            loss, grads, recall = facts_loss_and_grads(params, E, B, sport)
            if step == steps or (step % CHECK_EVERY == 0 and recall >= target):
                break
            opt.step(grads, lr=lr * 0.5 * (1.0 + math.cos(math.pi * step / steps)))
            step += 1
    return params, FitResult(people.n, width, seed, recall, loss, step)
