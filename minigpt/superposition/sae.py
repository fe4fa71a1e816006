"""Sparse autoencoders, forward and backward by hand.

If a layer stores more features than it has neurons, each as a direction (superposition),
then reading one neuron shows a mixture. A sparse autoencoder (SAE) tries to undo the
mixing: it rewrites each activation vector x (d numbers) as a sparse, nonnegative
combination of m >= d learned unit directions, the decoder's columns. If the features
are sparse, the combination that reconstructs x with the fewest active latents tends to
use the true feature directions.

.. math::
    \\text{pre} = (x - b_{dec}) W_{enc}^T + b_{enc}, \\quad
    z = \\operatorname{ReLU}(\\text{pre}) \\ \\text{(or TopK)}, \\quad
    \\hat x = z W_{dec}^T + b_{dec}

with ``w_enc`` (m, d), ``b_enc`` (m,), ``w_dec`` (d, m) and ``b_dec`` (d,), in minigpt's
``(d_out, d_in)`` layout: column j of ``w_dec`` is the direction latent j adds. The design
follows Anthropic's *Towards Monosemanticity* (2023) and OpenAI's reference SAE (Gao et
al. 2024, "Scaling and evaluating sparse autoencoders"):

* the pre-decoder bias :math:`b_{dec}` is subtracted from the input before encoding, so
  the encoder sees x relative to the data's centre (initialized at the data mean);
* decoder columns have unit norm, so a latent cannot look small by making its direction
  long. The component of each column's gradient along the column is removed before the
  Adam step and the columns are renormalized after it;
* latents are ReLU with an L1 penalty, or TopK (keep the k largest pre-activations of each
  sample, ReLU'd) with no penalty: the sparsity is then fixed at k by construction;
* the loss is the normalized squared error (1 for always guessing the mean) plus lambda
  times the latents' L1 norm (:func:`sae_loss_forward`);
* each latent starts at the direction of a data point, which keeps latents from dying
  (:func:`init_sae`); a latent is counted dead when it has not fired on any of the last
  ``DEAD_WINDOW`` training samples.

Two experiments use it: :func:`recover_planted_features` checks that an SAE finds features
planted in synthetic data, and :func:`sae_on_model` runs one on the MLP neurons of the
trained facts model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ..facts.handbuilt import feature_directions
from ..interp.tables import jsonable, text_table
from ..nn import linear_backward, linear_forward
from ..nn.linear import LinearCache
from ..optim import AdamW
from .capacity import (ADAM_BETAS, ADAM_EPS, _blas_threads, _check_finite_array, _check_int,
                       _check_real)

DEFAULT_L1 = 0.3            # lambda of the ReLU SAE, on the scale-free loss below
DEFAULT_STEPS = 3000
DEFAULT_BATCH = 256
DEFAULT_LR = 3e-3
DEAD_WINDOW = 10_000        # a latent is dead if it fired on none of the last this many samples
LOG_EVERY = 50              # training losses are recorded every this many steps
RECOVERED_COS = 0.9         # a planted feature is recovered when some column is this close
# planted features
DEFAULT_N_FEATURES = 96
DEFAULT_SAE_D = 32
DEFAULT_P_ACTIVE = 0.03
DEFAULT_N_SAMPLES = 20_000
# the facts model
DEFAULT_LAYER = 2           # causal tracing puts the lookup in the MLPs of layers 0-2 ...
DEFAULT_POSITION = "last"   # ... at the last prompt token, not at the subject
POSITIONS = ("last", "subject")
DEFAULT_MODEL_LATENTS = 512
DEFAULT_MODEL_K = 4        # about sport + person + template, and one to spare
DEFAULT_MODEL_STEPS = 1500
DEFAULT_MODEL_BATCH = 128
MIN_TEMPLATES = 4           # a person-specific latent fires on >= this many of a person's prompts
MIN_PEOPLE = 2              # a sport-specific latent fires for >= this many people of one sport


def _check_k(k: Any, m: int) -> int | None:
    if k is None:
        return None
    k = _check_int("k", k)
    if k > m:
        raise ValueError(f"k must be at most the number of latents m = {m}, got k = {k}")
    return k


# --------------------------------------------------------------------------- the autoencoder

class SAECache(NamedTuple):
    """What :func:`sae_backward` needs."""

    enc: LinearCache     # x - b_dec and w_enc, for dw_enc and dx
    active: np.ndarray   # (B, m) bool: pre > 0 (and among the top k): dz/dpre
    dec: LinearCache     # z and w_dec, for dw_dec and dz


def sae_forward(x: np.ndarray, w_enc: np.ndarray, b_enc: np.ndarray, w_dec: np.ndarray,
                b_dec: np.ndarray, k: int | None = None
                ) -> tuple[tuple[np.ndarray, np.ndarray], SAECache]:
    """Encode to sparse latents and decode back.

    Parameters
    ----------
    x : ndarray, shape (B, d)
    w_enc : ndarray, shape (m, d)
        Row j is the direction latent j reads.
    b_enc : ndarray, shape (m,)
    w_dec : ndarray, shape (d, m)
        Column j is the direction latent j writes (unit norm in training).
    b_dec : ndarray, shape (d,)
        Pre-decoder bias: subtracted before encoding, added after decoding.
    k : int or None
        ``None``: ReLU latents. An int: TopK latents, only the k largest pre-activations of
        each row survive (then ReLU).

    Returns
    -------
    (x_hat, z) : ndarrays, shapes (B, d) and (B, m)
        Reconstruction and latents.
    cache : SAECache

    Notes
    -----
    .. math::
        \\text{pre} = (x - b_{dec}) W_{enc}^T + b_{enc}, \\quad
        z = \\text{pre} \\odot a, \\quad \\hat x = z W_{dec}^T + b_{dec}

    where :math:`a = [\\text{pre} > 0]` for ReLU, and also requires pre to be among its
    row's k largest for TopK. Ties at the k-th value are broken by ``np.argpartition``.

    Examples
    --------
    >>> d, m = 3, 5
    >>> (x_hat, z), _ = sae_forward(np.ones((2, d)), np.ones((m, d)), np.zeros(m),
    ...                             np.ones((d, m)), np.zeros(d), k=2)
    >>> x_hat.shape, z.shape, (z > 0).sum(axis=1)
    ((2, 3), (2, 5), array([2, 2]))
    """
    m = w_enc.shape[0]
    pre, enc_cache = linear_forward(x - b_dec, w_enc, b_enc)           # (B, m)
    active = pre > 0
    if k is not None and k < m:
        top = np.argpartition(pre, m - k, axis=1)[:, m - k:]           # (B, k) the k largest
        in_top = np.zeros_like(active)
        np.put_along_axis(in_top, top, True, axis=1)
        active &= in_top
    z = np.where(active, pre, pre.dtype.type(0))                       # (B, m)
    x_hat, dec_cache = linear_forward(z, w_dec, b_dec)                 # (B, d)
    return (x_hat, z), SAECache(enc_cache, active, dec_cache)


def sae_backward(dx_hat: np.ndarray, dz: np.ndarray, cache: SAECache
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`sae_forward`, given the gradients of both outputs.

    Parameters
    ----------
    dx_hat : ndarray, shape (B, d)
    dz : ndarray, shape (B, m)
        dL/dz from anything that reads the latents directly (the L1 penalty).
    cache : SAECache

    Returns
    -------
    dx : ndarray, shape (B, d)
    dw_enc : ndarray, shape (m, d)
    db_enc : ndarray, shape (m,)
    dw_dec : ndarray, shape (d, m)
    db_dec : ndarray, shape (d,)

    Notes
    -----
    .. math::
        dz_{tot} = dz + d\\hat x\\, W_{dec}, \\quad d\\text{pre} = dz_{tot} \\odot a, \\quad
        db_{dec} = \\textstyle\\sum_B d\\hat x - \\sum_B d\\text{pre}\\, W_{enc}

    :math:`b_{dec}` appears twice, added at the output and subtracted at the input, so its
    gradient has two parts. TopK's mask is piecewise constant: away from ties the
    derivative through it is the mask itself.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, w_enc = rng.standard_normal((4, 3)), rng.standard_normal((6, 3))
    >>> w_dec = rng.standard_normal((3, 6))
    >>> (x_hat, z), cache = sae_forward(x, w_enc, np.zeros(6), w_dec, np.zeros(3))
    >>> [g.shape for g in sae_backward(np.ones_like(x_hat), np.zeros_like(z), cache)]
    [(4, 3), (6, 3), (6,), (3, 6), (3,)]
    """
    enc_cache, active, dec_cache = cache
    # fwd: x_hat = z @ w_dec.T + b_dec
    dz_dec, dw_dec, db_dec_out = linear_backward(dx_hat, dec_cache)    # (B, m)
    # fwd: z = where(active, pre, 0)
    dpre = np.where(active, dz + dz_dec, dz.dtype.type(0))             # (B, m)
    # fwd: pre = (x - b_dec) @ w_enc.T + b_enc
    dxc, dw_enc, db_enc = linear_backward(dpre, enc_cache)             # (B, d)
    # fwd: xc = x - b_dec  =>  dx = dxc, db_dec gets -sum(dxc)
    return dxc, dw_enc, db_enc, dw_dec, db_dec_out - dxc.sum(axis=0)


class SAELossCache(NamedTuple):
    """What :func:`sae_loss_backward` needs."""

    diff: np.ndarray     # (B, d) x_hat - x
    scale: float         # v, the data's mean squared distance from its mean
    l1: float            # lambda
    z_shape: tuple[int, int]


def sae_loss_forward(x: np.ndarray, x_hat: np.ndarray, z: np.ndarray, scale: float,
                     l1: float = 0.0) -> tuple[float, SAELossCache]:
    """Normalized squared error plus an L1 penalty on the latents.

    Parameters
    ----------
    x, x_hat : ndarray, shape (B, d)
    z : ndarray, shape (B, m)
        Latents, nonnegative.
    scale : float
        v > 0: the mean squared distance of the data from its mean, :func:`data_scale`.
    l1 : float
        lambda >= 0.

    Returns
    -------
    loss : float
    cache : SAELossCache

    Notes
    -----
    .. math::
        L = \\frac{1}{B v} \\sum_b \\|x_b - \\hat x_b\\|^2
          + \\frac{\\lambda}{B \\sqrt v} \\sum_b \\|z_b\\|_1

    The first term is the normalized MSE: 1 for the best constant guess (the mean), so
    :math:`1 - L_{mse}` is the explained variance. v is one number for the whole data set,
    not per batch, so it is a constant of the loss. Dividing the L1 term by
    :math:`\\sqrt v` (latents scale like x) makes the loss independent of the data's
    units, so one lambda suits data of any scale. Gradients:
    :math:`d\\hat x = 2(\\hat x - x)/(Bv)` and :math:`dz = \\lambda / (B\\sqrt v)` (z >= 0).

    Examples
    --------
    >>> loss, _ = sae_loss_forward(np.ones((2, 3)), np.zeros((2, 3)), np.ones((2, 4)), 3.0, 0.5)
    >>> round(loss, 6) == round(1.0 + 0.5 * 4 / 3 ** 0.5, 6)
    True
    """
    B = x.shape[0]
    diff = x_hat - x                                                   # (B, d)
    mse = float(np.sum(diff * diff)) / (B * scale)
    penalty = l1 * float(np.sum(z)) / (B * math.sqrt(scale)) if l1 else 0.0
    return mse + penalty, SAELossCache(diff, scale, l1, z.shape)


def sae_loss_backward(dloss: float, cache: SAELossCache) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of :func:`sae_loss_forward` with respect to ``x_hat`` and ``z``.

    Returns
    -------
    dx_hat : ndarray, shape (B, d)
    dz : ndarray, shape (B, m)
        The same value everywhere: the L1 slope (active latents only pass it on).
    """
    diff, scale, l1, z_shape = cache
    t = diff.dtype.type
    B = diff.shape[0]
    # fwd: mse = sum(diff^2) / (B v)  =>  dx_hat = 2 diff / (B v)
    dx_hat = diff * t(2.0 * dloss / (B * scale))
    # fwd: penalty = lambda sum(z) / (B sqrt v)  =>  dz = lambda / (B sqrt v)
    dz = np.full(z_shape, t(dloss * l1 / (B * math.sqrt(scale))), dtype=diff.dtype)
    return dx_hat, dz


def data_scale(x: np.ndarray) -> float:
    """v, the mean squared distance of the rows of x from their mean.

    Examples
    --------
    >>> data_scale(np.array([[0.0, 0.0], [2.0, 0.0]]))
    1.0
    """
    centred = x - x.mean(axis=0)                                       # (N, d)
    return float(np.mean(np.sum(centred * centred, axis=1)))


def init_sae(d: int, m: int, *, seed: int | np.random.Generator = 0, x: np.ndarray | None = None,
             dtype: type = np.float32) -> dict[str, np.ndarray]:
    """Initial SAE parameters: unit decoder columns, the encoder their transpose.

    Parameters
    ----------
    d, m : int
        Input dimension and number of latents.
    seed : int or numpy.random.Generator
    x : ndarray, shape (N, d), optional
        Data to start from: ``b_dec`` is its mean and the decoder columns are the
        directions of m randomly chosen centred samples (drawn with replacement when
        m > N). Without data: random Gaussian directions and ``b_dec = 0``.
    dtype : numpy dtype
        Used without data; with data the parameters take the data's dtype.

    Returns
    -------
    dict
        ``w_enc`` (m, d), ``b_enc`` (m,) zeros, ``w_dec`` (d, m), ``b_dec`` (d,).

    Notes
    -----
    Starting each latent at a real sample keeps it alive: with TopK in particular, a
    latent whose direction points where there is no data is never among the k largest,
    gets no gradient and stays dead. Anthropic's SAEs revive such latents by resampling
    them at data points during training, and OpenAI's add an auxiliary loss; starting at
    data points is the cheapest version of the same idea. Samples equal to the mean (no
    direction) get a random direction instead.

    Examples
    --------
    >>> p = init_sae(4, 8)
    >>> p["w_enc"].shape, np.allclose(np.linalg.norm(p["w_dec"], axis=0), 1)
    ((8, 4), True)
    >>> p = init_sae(2, 2, x=np.array([[1.0, 0.0], [-1.0, 0.0]]))
    >>> p["b_dec"], sorted(p["w_dec"][0])        # the two samples' directions
    (array([0., 0.]), [np.float64(-1.0), np.float64(1.0)])
    """
    d, m = _check_int("d", d), _check_int("m", m)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    w_dec = rng.standard_normal((d, m))                                # (d, m)
    b_dec = np.zeros(d)
    if x is not None:
        x = _check_finite_array("x", x, 2)
        if x.shape[1] != d:
            raise ValueError(f"x must have d = {d} columns, got shape {x.shape}")
        dtype = x.dtype
        b_dec = x.mean(axis=0, dtype=np.float64)                       # (d,)
        pick = rng.choice(x.shape[0], size=m, replace=m > x.shape[0])
        centred = (x[pick] - b_dec).T                                  # (d, m)
        has_dir = np.linalg.norm(centred, axis=0) > np.finfo(dtype).eps
        w_dec[:, has_dir] = centred[:, has_dir]
    w_dec /= np.linalg.norm(w_dec, axis=0)
    return {"w_enc": w_dec.T.astype(dtype), "b_enc": np.zeros(m, dtype=dtype),
            "w_dec": w_dec.astype(dtype), "b_dec": b_dec.astype(dtype)}


def sae_loss_and_grads(params: dict[str, np.ndarray], x: np.ndarray, scale: float,
                       l1: float = 0.0, k: int | None = None
                       ) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
    """Loss of an SAE on a batch, the gradients of its four parameters, and the latents.

    Parameters
    ----------
    params : dict
        ``w_enc`` (m, d), ``b_enc`` (m,), ``w_dec`` (d, m), ``b_dec`` (d,).
    x : ndarray, shape (B, d)
    scale : float
        See :func:`sae_loss_forward`.
    l1 : float
    k : int or None

    Returns
    -------
    loss : float
    grads : dict
        Same keys and shapes as ``params`` (the raw gradient; see
        :func:`project_decoder_grad`).
    z : ndarray, shape (B, m)

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((8, 4))
    >>> loss, grads, z = sae_loss_and_grads(init_sae(4, 6, dtype=np.float64), x, data_scale(x), 0.1)
    >>> grads["w_dec"].shape, z.shape
    ((4, 6), (8, 6))
    """
    (x_hat, z), cache = sae_forward(x, params["w_enc"], params["b_enc"], params["w_dec"],
                                    params["b_dec"], k)
    loss, loss_cache = sae_loss_forward(x, x_hat, z, scale, l1)
    dx_hat, dz = sae_loss_backward(1.0, loss_cache)
    _, dw_enc, db_enc, dw_dec, db_dec = sae_backward(dx_hat, dz, cache)
    return loss, {"w_enc": dw_enc, "b_enc": db_enc, "w_dec": dw_dec, "b_dec": db_dec}, z


def project_decoder_grad(w_dec: np.ndarray, dw_dec: np.ndarray) -> np.ndarray:
    """Remove from each column's gradient its component along the (unit) column.

    Parameters
    ----------
    w_dec : ndarray, shape (d, m)
        Unit columns.
    dw_dec : ndarray, shape (d, m)

    Returns
    -------
    ndarray, shape (d, m)

    Notes
    -----
    .. math:: g_j \\leftarrow g_j - (g_j \\cdot w_j)\\, w_j

    A step along :math:`w_j` would only change the column's length, which the
    renormalization after the step undoes; removing it leaves the part that turns the
    column. Adam rescales coordinates, so its step is not exactly perpendicular: hence the
    renormalization as well.

    Examples
    --------
    >>> project_decoder_grad(np.eye(2), np.array([[3.0, 1.0], [2.0, 5.0]]))
    array([[0., 1.],
           [2., 0.]])
    """
    along = np.sum(dw_dec * w_dec, axis=0)                             # (m,)
    return dw_dec - w_dec * along


def normalize_decoder(w_dec: np.ndarray) -> None:
    """Scale each column of ``w_dec`` (d, m) to unit norm, in place.

    Examples
    --------
    >>> w = np.array([[3.0, 0.0], [4.0, 2.0]])
    >>> normalize_decoder(w); w
    array([[0.6, 0. ],
           [0.8, 1. ]])
    """
    w_dec /= np.maximum(np.linalg.norm(w_dec, axis=0), np.finfo(w_dec.dtype).tiny)


# --------------------------------------------------------------------------- training

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


def train_sae(x: np.ndarray, m: int, *, k: int | None = None, l1: float | None = None,
              steps: int = DEFAULT_STEPS, batch: int = DEFAULT_BATCH, lr: float = DEFAULT_LR,
              seed: int = 0, dead_window: int = DEAD_WINDOW) -> SAEResult:
    """Train a sparse autoencoder on the rows of x with Adam.

    Parameters
    ----------
    x : ndarray, shape (N, d)
        Finite floating-point data; the SAE trains in its dtype.
    m : int
        Number of latents.
    k : int or None
        TopK latents with this k (1 <= k <= m); ``None``: ReLU latents with an L1 penalty.
    l1 : float or None
        lambda >= 0; default ``DEFAULT_L1`` for ReLU latents, 0 for TopK (which takes no
        L1 penalty: a positive lambda with k raises ``ValueError``).
    steps, batch : int
        Adam steps and samples per step (the data is shuffled each epoch).
    lr : float
        Adam learning rate (betas (0.9, 0.999), eps 1e-8, no weight decay).
    seed : int
        Seeds the initial weights and the shuffling.
    dead_window : int
        A latent is dead if it fired on none of the last this many training samples (or,
        when training sees fewer samples, on none of them).

    Returns
    -------
    SAEResult

    Raises
    ------
    ValueError
        For non-finite or empty data, a non-positive size, k > m, a negative lambda, or
        lambda > 0 with TopK.
    TypeError
        If x is not a floating-point array.

    Notes
    -----
    Each step: forward, loss (:func:`sae_loss_forward`), backward, remove the decoder
    gradient's component along each column (:func:`project_decoder_grad`), Adam step,
    renormalize the columns (:func:`normalize_decoder`). :math:`b_{dec}` starts at the
    data mean (Towards Monosemanticity starts it at the geometric median, a robust
    relative of the mean) and the decoder columns at data points (:func:`init_sae`).

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((200, 8)).astype(np.float32)
    >>> r = train_sae(x, 16, k=4, steps=100, batch=32)
    >>> r.m, r.mean_l0 <= 4, r.params["w_dec"].dtype
    (16, True, dtype('float32'))
    """
    x = _check_finite_array("x", x, 2)
    n, d = x.shape
    if n < 1 or d < 1:
        raise ValueError(f"x must hold at least one sample of at least one dimension, "
                         f"got shape {x.shape}")
    m = _check_int("m", m)
    k = _check_k(k, m)
    if l1 is None:
        l1 = DEFAULT_L1 if k is None else 0.0
    l1 = _check_real("l1", l1, 0.0, math.inf, low_open=False)
    if k is not None and l1 > 0:
        raise ValueError(f"TopK latents take no L1 penalty: pass l1=0 or k=None, "
                         f"got k={k}, l1={l1}")
    steps, batch = _check_int("steps", steps), _check_int("batch", batch)
    lr = _check_real("lr", lr, 0.0, math.inf)
    dead_window = _check_int("dead_window", dead_window)
    scale = data_scale(x)
    if scale <= 0:
        raise ValueError("x must vary: every row is the same, so there is nothing to explain")
    rng = np.random.default_rng(seed)
    params = init_sae(d, m, seed=rng, x=x)
    opt = AdamW(params, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=0.0, decay=())
    since_fired = np.zeros(m, dtype=np.int64)                          # samples since last fired
    seen = 0
    order, pos, losses = rng.permutation(n), 0, []
    with _blas_threads(1):                  # small products: one BLAS thread is fastest
        for step in range(steps):
            if pos + batch > n:                                        # a new epoch
                order, pos = rng.permutation(n), 0
            xb = x[order[pos:pos + batch]]                             # (B, d)
            pos += batch
            loss, grads, z = sae_loss_and_grads(params, xb, scale, l1, k)
            grads["w_dec"] = project_decoder_grad(params["w_dec"], grads["w_dec"])
            opt.step(grads)
            normalize_decoder(params["w_dec"])
            since_fired += xb.shape[0]
            seen += xb.shape[0]
            since_fired[np.any(z > 0, axis=0)] = 0
            if step % LOG_EVERY == 0:
                losses.append(loss)
        ev, l0, rate = evaluate_sae(params, x, k)
    return SAEResult(params=params, d=d, m=m, k=k, l1=l1, steps=steps, batch=batch, lr=lr,
                     seed=seed, losses=np.array(losses), explained_variance=ev, mean_l0=l0,
                     dead_fraction=float(np.mean(since_fired >= min(dead_window, seen))),
                     fire_rate=rate, dead_window=dead_window)


# --------------------------------------------------------------------------- planted features

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


# --------------------------------------------------------------------------- the facts model

@dataclass(frozen=True)
class NeuronSamples:
    """MLP neuron values of a model on every fact's prompts, with who and what each is about.

    Attributes
    ----------
    acts : ndarray, shape (N, F)
        ``blocks.{layer}.mlp.post`` at one position of each prompt; N = facts x templates,
        template-major (all facts of the first template, then the next).
    person : ndarray of int64, shape (N,)
        Index of the fact (person) of each sample.
    sport : ndarray of int64, shape (N,)
        Index into ``sports``.
    template : ndarray of int64, shape (N,)
        Position in ``templates``.
    sports : list of str
        Sorted sport names.
    templates : list of int or str
    layer : int
    position : str
        ``"last"``: the last prompt token; ``"subject"``: the subject's last token.
    """

    acts: np.ndarray
    person: np.ndarray
    sport: np.ndarray
    template: np.ndarray
    sports: list[str]
    templates: list[Any]
    layer: int
    position: str


def collect_neurons(model: Any, tokenizer: Any, layer: int = DEFAULT_LAYER,
                    position: str = DEFAULT_POSITION, facts: Sequence[Any] | None = None,
                    templates: Any = None) -> NeuronSamples:
    """Read one layer's MLP neurons at one position of every fact's prompt in every template.

    Parameters
    ----------
    model : GPT
    tokenizer : WordTokenizer
    layer : int
        Block index (default 2).
    position : {"last", "subject"}
        The last prompt token (default; where the demo model looks facts up) or the
        subject's last token.
    facts : sequence of Fact, optional
        Default: the embedded athletes.
    templates : int, str or sequence of them, optional
        Default: every template of :data:`minigpt.data.TEMPLATES`.

    Returns
    -------
    NeuronSamples

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> from minigpt.facts import facts_dataset
    >>> tok, _, _ = facts_dataset()
    >>> model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=16, n_layer=2, n_head=2, d_model=8))
    >>> S = collect_neurons(model, tok, layer=1, templates=[0, 2])
    >>> S.acts.shape, S.person[:2], S.template[-1]
    ((360, 32), array([0, 1]), np.int64(1))
    """
    from ..data import load_facts
    from ..interp.prompts import check_choice, check_int, check_model, fact_prompts, template_list

    model = check_model(model)
    layer = check_int("layer", layer, 0, model.config.n_layer - 1)
    position = check_choice("position", position, POSITIONS)
    facts = list(load_facts() if facts is None else facts)
    templates = template_list(templates)
    sports = sorted({f.sport for f in facts})
    name = f"blocks.{layer}.mlp.post"
    acts, person, sport, template = [], [], [], []
    for t, tpl in enumerate(templates):
        P = fact_prompts(tokenizer, facts, tpl)
        _, cache = model.run_with_cache(P.ids, names=[name])
        col = P.T - 1 if position == "last" else P.last
        acts.append(cache[name][:, col])                               # (n_facts, F)
        person.append(np.arange(P.n))
        sport.append(np.array([sports.index(f.sport) for f in facts]))
        template.append(np.full(P.n, t))
    return NeuronSamples(np.concatenate(acts), np.concatenate(person).astype(np.int64),
                         np.concatenate(sport).astype(np.int64),
                         np.concatenate(template).astype(np.int64), sports, templates, layer,
                         position)


class LatentSpecificity(NamedTuple):
    """Which latents belong to one person, or to one sport.

    Attributes
    ----------
    person_of : ndarray of int64, shape (m,)
        The person a latent is specific to, or -1.
    sport_of : ndarray of int64, shape (m,)
        The sport a latent is specific to, or -1.
    """

    person_of: np.ndarray
    sport_of: np.ndarray


def latent_specificity(z: np.ndarray, person: np.ndarray, sport: np.ndarray,
                       min_templates: int = MIN_TEMPLATES,
                       min_people: int = MIN_PEOPLE) -> LatentSpecificity:
    """Find person-specific and sport-specific latents.

    Parameters
    ----------
    z : ndarray, shape (N, m)
        Latents of the N samples.
    person, sport : ndarray of int, shape (N,)
        Labels of each sample.
    min_templates : int
        A latent is specific to person p when it fires on at least this many of p's
        samples and on no sample of anyone else.
    min_people : int
        A latent is specific to sport s when it fires for at least this many people, all
        of whom play s (so a person-specific latent is not also counted as a sport's).

    Returns
    -------
    LatentSpecificity

    Examples
    --------
    >>> z = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> latent_specificity(z, np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0]), min_templates=2)
    LatentSpecificity(person_of=array([ 0, -1]), sport_of=array([-1,  0]))
    """
    fired = (z > 0).astype(np.int64)                                   # (N, m)
    by_person = np.zeros((int(person.max()) + 1, z.shape[1]), dtype=np.int64)
    np.add.at(by_person, person, fired)                                # (P, m) firing counts
    people_fired = np.count_nonzero(by_person, axis=0)                 # (m,)
    top_person = np.argmax(by_person, axis=0)                          # (m,)
    own = by_person[top_person, np.arange(z.shape[1])]
    person_of = np.where((people_fired == 1) & (own >= min_templates), top_person, -1)
    sport_of_person = np.zeros(by_person.shape[0], dtype=np.int64)
    sport_of_person[person] = sport
    n_sports = int(sport.max()) + 1
    onehot = np.eye(n_sports, dtype=np.int64)[sport_of_person]         # (P, S)
    people_by_sport = onehot.T @ (by_person > 0)                       # (S, m) people firing
    sports_fired = np.count_nonzero(people_by_sport, axis=0)           # (m,)
    top_sport = np.argmax(people_by_sport, axis=0)
    sport_of = np.where((sports_fired == 1) & (people_fired >= min_people), top_sport, -1)
    return LatentSpecificity(person_of.astype(np.int64), sport_of.astype(np.int64))


@dataclass(frozen=True)
class ModelSAEResult:
    """An SAE trained on a model's MLP neurons, and what its latents pick out.

    Attributes
    ----------
    layer : int
    position : str
    n_samples, n_people, n_templates : int
    sae : SAEResult
        Its metrics are measured on the same samples (there are no held-out prompts: the
        model was trained on every fact).
    specificity : LatentSpecificity
    n_person_latents : int
        Latents specific to one person.
    n_people_covered : int
        People with at least one latent of their own.
    n_sport_latents : int
        Latents specific to one sport.
    n_sports_covered : int
        Sports with at least one latent of their own.
    sports : list of str
    sport_coverage : ndarray, shape (S,)
        For each sport, the largest share of its prompts on which one of its own latents
        fires (0 when it has none): 1 means a single latent fires for every player.
    min_templates : int
    """

    layer: int
    position: str
    n_samples: int
    n_people: int
    n_templates: int
    sae: SAEResult
    specificity: LatentSpecificity = field(repr=False)
    n_person_latents: int
    n_people_covered: int
    n_sport_latents: int
    n_sports_covered: int
    sports: list[str]
    sport_coverage: np.ndarray = field(repr=False)
    min_templates: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: where the neurons came from, the latent counts and the SAE's metrics."""
        return jsonable({"layer": self.layer, "position": self.position,
                         "n_samples": self.n_samples, "n_people": self.n_people,
                         "n_templates": self.n_templates, "min_templates": self.min_templates,
                         "n_person_latents": self.n_person_latents,
                         "n_people_covered": self.n_people_covered,
                         "n_sport_latents": self.n_sport_latents,
                         "n_sports_covered": self.n_sports_covered,
                         "sport_coverage": dict(zip(self.sports, self.sport_coverage)),
                         "sae": self.sae.to_dict()})

    def to_table(self) -> str:
        """The latent counts followed by the SAE's table."""
        rows = [["neurons", f"blocks.{self.layer}.mlp.post at the {self.position} token"],
                ["samples", f"{self.n_people} people x {self.n_templates} templates"],
                ["person-specific latents", str(self.n_person_latents)],
                [f"people with their own latent (>= {self.min_templates} prompts)",
                 f"{self.n_people_covered} of {self.n_people}"],
                ["sport-specific latents", str(self.n_sport_latents)],
                ["sports with their own latent", f"{self.n_sports_covered} of {len(self.sports)}"],
                ["coverage of a sport's best latent (median)",
                 f"{np.median(self.sport_coverage):.3f}"]]
        return text_table(["quantity", "value"], rows) + "\n" + self.sae.to_table()


def sae_on_model(model: Any, tokenizer: Any, layer: int = DEFAULT_LAYER,
                 position: str = DEFAULT_POSITION, *, m: int = DEFAULT_MODEL_LATENTS,
                 k: int | None = DEFAULT_MODEL_K, l1: float | None = None,
                 steps: int = DEFAULT_MODEL_STEPS, batch: int = DEFAULT_MODEL_BATCH,
                 lr: float = DEFAULT_LR,
                 seed: int = 0, facts: Sequence[Any] | None = None,
                 min_templates: int = MIN_TEMPLATES) -> ModelSAEResult:
    """Train an SAE on a facts model's MLP neurons and count person and sport latents.

    Parameters
    ----------
    model : GPT
    tokenizer : WordTokenizer
    layer : int
        Default 2.
    position : {"last", "subject"}
        Default ``"last"``.
    m : int
        Latents (default 512, twice the demo model's 256 neurons).
    k : int or None
        TopK's k (default 4); ``None`` for ReLU latents with an L1 penalty.
    l1, steps, batch, lr, seed
        See :func:`train_sae` (defaults here: 1500 steps of 128 samples).
    facts : sequence of Fact, optional
        Default: the embedded athletes.
    min_templates : int
        See :func:`latent_specificity`; capped at the number of templates.

    Returns
    -------
    ModelSAEResult

    Notes
    -----
    Where to look: causal tracing on the demo model (restore one MLP output of a
    corrupted run) finds the lookup at the *last prompt token*, in the MLPs of layers 0-2
    (indirect effects about 0.56, 0.39, 0.36), while the subject's last token carries
    almost none (about 0.006). This differs from GPT-2 XL, where ROME finds it at the last
    subject token: with one-token names and short prompts, the small model can afford to
    look facts up where the answer is needed. Layer 2 is the last of those layers, so its
    neurons have seen the whole lookup. Each of the 180 facts gives one sample per
    template: 900 vectors of 256 neurons.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> from minigpt.facts import facts_dataset
    >>> tok, _, _ = facts_dataset()
    >>> model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=16, n_layer=3, n_head=2, d_model=8))
    >>> r = sae_on_model(model, tok, m=64, k=4, steps=50)
    >>> r.n_samples, r.sae.m
    (900, 64)
    """
    S = collect_neurons(model, tokenizer, layer, position, facts)
    sae = train_sae(S.acts, m, k=k, l1=l1, steps=steps, batch=batch, lr=lr, seed=seed)
    z = sae.encode(S.acts)                                             # (N, m)
    min_templates = min(_check_int("min_templates", min_templates), len(S.templates))
    spec = latent_specificity(z, S.person, S.sport, min_templates)
    people = spec.person_of[spec.person_of >= 0]
    sports = spec.sport_of[spec.sport_of >= 0]
    fired = z > 0                                                      # (N, m)
    coverage = np.zeros(len(S.sports))
    for s in np.unique(sports):
        own = fired[S.sport == s][:, spec.sport_of == s]               # (n_s, latents of s)
        coverage[s] = float(np.max(np.mean(own, axis=0)))
    return ModelSAEResult(layer=S.layer, position=S.position, n_samples=S.acts.shape[0],
                          n_people=int(S.person.max()) + 1, n_templates=len(S.templates),
                          sae=sae, specificity=spec, n_person_latents=int(people.size),
                          n_people_covered=int(np.unique(people).size),
                          n_sport_latents=int(sports.size),
                          n_sports_covered=int(np.unique(sports).size), sports=S.sports,
                          sport_coverage=coverage, min_templates=min_templates)


# --------------------------------------------------------------------------- plots

def plot_recovery(result: RecoveryResult, ax: Any = None) -> Any:
    """Histogram of each planted feature's best cosine with a decoder column.

    Parameters
    ----------
    result : RecoveryResult
    ax : matplotlib Axes, optional
        Drawn into when given; otherwise a new figure is made.

    Returns
    -------
    matplotlib Axes
        Needs matplotlib.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.hist(result.best_cos, bins=np.linspace(min(0.0, float(result.best_cos.min())), 1.0, 41))
    ax.axvline(RECOVERED_COS, color="k", ls="--", lw=1)
    ax.set_xlabel("best cosine with a decoder column")
    ax.set_ylabel("planted features")
    ax.set_title(f"{result.recovered_fraction:.0%} recovered (cos > {RECOVERED_COS})",
                 fontsize=9)
    return ax


def plot_latent_frequencies(result: SAEResult | RecoveryResult | ModelSAEResult,
                            ax: Any = None) -> Any:
    """Histogram of how often each latent fires (log scale); dead latents at the left.

    Parameters
    ----------
    result : SAEResult, RecoveryResult or ModelSAEResult
    ax : matplotlib Axes, optional
        Drawn into when given; otherwise a new figure is made.

    Returns
    -------
    matplotlib Axes
        Needs matplotlib.
    """
    import matplotlib.pyplot as plt

    sae = result if isinstance(result, SAEResult) else result.sae
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.2))
    n_never = int(np.count_nonzero(sae.fire_rate == 0))
    rates = sae.fire_rate[sae.fire_rate > 0]
    low = math.log10(float(rates.min())) if rates.size else -4.0
    ax.hist(np.log10(rates), bins=np.linspace(min(low, -4.0), 0.0, 41))
    ax.set_xlabel("log10 firing rate")
    ax.set_ylabel("latents")
    ax.set_title(f"m = {sae.m}, mean L0 = {sae.mean_l0:.1f}, never fire: {n_never}", fontsize=9)
    return ax
