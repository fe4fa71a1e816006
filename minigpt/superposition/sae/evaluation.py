"""A trained SAE and its measurements: explained variance, mean L0, firing rates.

:func:`evaluate_sae` measures parameters on data; :class:`SAEResult` holds the trained
weights with those measurements, and is what :func:`~minigpt.superposition.train_sae`
(``training.py``) returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...tables import jsonable, text_table
from .._common import _check_finite_array
from .autoencoder import _check_k, sae_forward
from .loss import data_scale


@dataclass(frozen=True)
class SAEResult:
    """A trained SAE and its measurements on the training data.

    Attributes
    ----------
    params : dict
        ``w_enc`` (m, d), ``b_enc`` (m,), ``w_dec`` (d, m), ``b_dec`` (d,).
    d, m : int
    k : int or None
        TopK's k; ``None`` for ReLU latents.
    l1 : float
    steps, batch, seed : int
    lr : float
    losses : ndarray
        Training loss every ``LOG_EVERY`` steps.
    explained_variance : float
        :math:`1 - \\sum\\|x - \\hat x\\|^2 / \\sum \\|x - \\bar x\\|^2` over all the data.
    mean_l0 : float
        Mean number of active latents per sample.
    dead_fraction : float
        Share of latents that fired on none of the last ``dead_window`` training samples
        (on none at all, when training saw fewer).
    fire_rate : ndarray, shape (m,)
        Share of the data's samples on which each latent fires.
    dead_window : int
    """

    params: dict[str, np.ndarray] = field(repr=False)
    d: int
    m: int
    k: int | None
    l1: float
    steps: int
    batch: int
    lr: float
    seed: int
    losses: np.ndarray = field(repr=False)
    explained_variance: float
    mean_l0: float
    dead_fraction: float
    fire_rate: np.ndarray = field(repr=False)
    dead_window: int

    def encode(self, x: np.ndarray) -> np.ndarray:
        """The latents z (N, m) of inputs x (N, d)."""
        p = self.params
        return sae_forward(x, p["w_enc"], p["b_enc"], p["w_dec"], p["b_dec"], self.k)[0][1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: settings and metrics (not the weights)."""
        return jsonable({"d": self.d, "m": self.m, "k": self.k, "l1": self.l1,
                         "steps": self.steps, "batch": self.batch, "lr": self.lr,
                         "seed": self.seed, "dead_window": self.dead_window,
                         "explained_variance": self.explained_variance,
                         "mean_l0": self.mean_l0, "dead_fraction": self.dead_fraction,
                         "losses": self.losses})

    def to_table(self) -> str:
        """A two-column text table of the settings and metrics."""
        latents = "ReLU + L1" if self.k is None else f"TopK, k = {self.k}"
        rows = [["inputs d", str(self.d)], ["latents m", str(self.m)], ["latents", latents],
                ["L1 lambda", f"{self.l1:g}"],
                ["explained variance", f"{self.explained_variance:.3f}"],
                ["mean L0", f"{self.mean_l0:.2f}"],
                [f"dead share (last {self.dead_window} samples)", f"{self.dead_fraction:.3f}"]]
        return text_table(["quantity", "value"], rows)


def evaluate_sae(params: dict[str, np.ndarray], x: np.ndarray, k: int | None = None,
                 chunk: int = 4096) -> tuple[float, float, np.ndarray]:
    """Explained variance, mean L0 and each latent's firing rate on data x.

    Parameters
    ----------
    params : dict
    x : ndarray, shape (N, d)
    k : int or None
    chunk : int
        Rows per forward pass.

    Returns
    -------
    explained_variance : float
    mean_l0 : float
    fire_rate : ndarray, shape (m,)

    Examples
    --------
    >>> from minigpt.superposition import init_sae
    >>> x = np.random.default_rng(0).standard_normal((50, 4))
    >>> ev, l0, rate = evaluate_sae(init_sae(4, 8, dtype=np.float64), x, k=2)
    >>> bool(l0 <= 2), rate.shape
    (True, (8,))
    """
    x = _check_finite_array("x", x, 2)
    m = params["w_enc"].shape[0]
    k = _check_k(k, m)
    sq_err, fires = 0.0, np.zeros(m)
    for start in range(0, x.shape[0], chunk):
        xb = x[start:start + chunk]
        (x_hat, z), _ = sae_forward(xb, params["w_enc"], params["b_enc"], params["w_dec"],
                                    params["b_dec"], k)
        sq_err += float(np.sum((x_hat - xb) ** 2))
        fires += np.count_nonzero(z > 0, axis=0)
    total = data_scale(x) * x.shape[0]
    n = x.shape[0]
    return 1.0 - sq_err / total, float(fires.sum()) / n, fires / n
