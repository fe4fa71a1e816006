"""Toy Models of Superposition (Elhage et al. 2022), forward and backward by hand.

n features live in an n-dimensional input; a model must squeeze them through m < n hidden
dimensions and rebuild them:

.. math:: h = W x, \\qquad x' = \\operatorname{ReLU}(W^T h + b), \\qquad
          W \\in \\mathbb{R}^{m \\times n}

Column i of W, :math:`W_i`, is the hidden direction of feature i: the video's picture of
a feature as a direction, in a space too small to give every feature its own axis. When
features are dense the model keeps the m most important ones, perpendicular, and drops
the rest. When they are sparse (each is zero most of the time), two features rarely fire
together, interference is cheap, and the model stores more than m of them, nearly
perpendicular: superposition. With n = 5 and m = 2 at high sparsity, the five directions
form a regular pentagon.

With row vectors, as the code holds them (a batch of B inputs in ``x`` of shape (B, n)):
``h = x @ w.T`` and ``x_hat = relu(h @ w + b)``. ``w`` is ``(d_out, d_in) = (m, n)`` as
everywhere in minigpt.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..optim import AdamW
from .capacity import (ADAM_BETAS, ADAM_EPS, _check_finite_array, _check_int, _check_real)

DEFAULT_N_FEATURES = 5
DEFAULT_N_HIDDEN = 2
DEFAULT_IMPORTANCE_DECAY = 0.9  # I_i = 0.9^i
DEFAULT_BATCH = 1024
DEFAULT_STEPS = 5000
DEFAULT_LR = 1e-2
LOG_EVERY = 50                  # losses are recorded every this many steps
EVAL_BATCH = 16384              # fresh samples for the final loss
REPRESENTED_NORM = 0.5          # ||W_i|| above this: feature i is represented
ZERO_NORM = 1e-8                # below this a column has no direction
DEFAULT_SPARSITIES = (0.0, 0.7, 0.8, 0.9, 0.97)
DEFAULT_DECAYS = (1.0, 0.9, 0.7, 0.5)


# --------------------------------------------------------------------------- data

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


# --------------------------------------------------------------------------- the model

class ToyCache(NamedTuple):
    """What :func:`toy_backward` needs: the inputs of both products and the ReLU mask."""

    x: np.ndarray       # (B, n) for dW through h = x W^T, and nothing else
    w: np.ndarray       # (m, n) for dh and dx
    h: np.ndarray       # (B, m) for dW through pre = h W
    active: np.ndarray  # (B, n) bool, where pre > 0: ReLU's slope


def toy_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ToyCache]:
    """Compress features to m dimensions and rebuild them: ``relu((x @ w.T) @ w + b)``.

    Parameters
    ----------
    x : ndarray, shape (B, n)
    w : ndarray, shape (m, n)
        Column i is feature i's hidden direction.
    b : ndarray, shape (n,)

    Returns
    -------
    x_hat : ndarray, shape (B, n)
    cache : ToyCache

    Notes
    -----
    .. math:: h = x W^T, \\qquad x' = \\operatorname{ReLU}(h W + b)

    (per example: :math:`x' = \\operatorname{ReLU}(W^T W x + b)`). The same W encodes and
    decodes, so :math:`(W^T W)_{ij} = W_i \\cdot W_j` is how much feature j leaks into
    feature i's reconstruction; the bias and the ReLU can filter small leaks out.

    Examples
    --------
    >>> x_hat, _ = toy_forward(np.eye(3), np.eye(2, 3), np.zeros(3))
    >>> x_hat                       # two features pass, the third has no direction
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 0.]])
    """
    h = x @ w.T                                        # (B, n) @ (n, m) -> (B, m)
    pre = h @ w + b                                    # (B, m) @ (m, n) -> (B, n)
    active = pre > 0
    return pre * active, ToyCache(x, w, h, active)


def toy_backward(dx_hat: np.ndarray, cache: ToyCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`toy_forward`: ``(dx, dw, db)``.

    Parameters
    ----------
    dx_hat : ndarray, shape (B, n)
    cache : ToyCache

    Returns
    -------
    dx : ndarray, shape (B, n)
    dw : ndarray, shape (m, n)
    db : ndarray, shape (n,)

    Notes
    -----
    W is used twice, so its gradient has two parts:

    .. math::
        \\delta = dx' \\odot [hW + b > 0], \\quad
        db = \\textstyle\\sum_B \\delta, \\quad
        dh = \\delta W^T, \\quad
        dW = h^T \\delta + dh^T x, \\quad
        dx = dh\\, W

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, w, b = rng.random((4, 3)), rng.standard_normal((2, 3)), np.zeros(3)
    >>> y, cache = toy_forward(x, w, b)
    >>> [g.shape for g in toy_backward(np.ones_like(y), cache)]
    [(4, 3), (2, 3), (3,)]
    """
    x, w, h, active = cache
    dpre = dx_hat * active                             # fwd: x_hat = relu(pre)
    db = dpre.sum(axis=0)                              # fwd: pre = h @ w + b
    dw_decode = h.T @ dpre                             # (m, B) @ (B, n) -> (m, n)
    dh = dpre @ w.T                                    # (B, n) @ (n, m) -> (B, m)
    dw_encode = dh.T @ x                               # fwd: h = x @ w.T  =>  dw = dh^T x
    dx = dh @ w                                        # (B, m) @ (m, n) -> (B, n)
    return dx, dw_decode + dw_encode, db


class ToyLossCache(NamedTuple):
    """The weighted residual :math:`I \\odot (x' - x)`, all the loss's derivative needs."""

    weighted_diff: np.ndarray  # (B, n)


def importance_mse_forward(x_hat: np.ndarray, x: np.ndarray,
                           importance: np.ndarray) -> tuple[float, ToyLossCache]:
    """Importance-weighted squared error, summed over features, averaged over the batch.

    Parameters
    ----------
    x_hat, x : ndarray, shape (B, n)
        Reconstruction and target.
    importance : ndarray, shape (n,)

    Returns
    -------
    loss : float
    cache : ToyLossCache

    Notes
    -----
    .. math::
        L = \\frac{1}{B} \\sum_b \\sum_i I_i (x_{bi} - x'_{bi})^2, \\qquad
        \\frac{\\partial L}{\\partial x'_{bi}} = \\frac{2}{B} I_i (x'_{bi} - x_{bi})

    Examples
    --------
    >>> loss, _ = importance_mse_forward(np.zeros((2, 2)), np.ones((2, 2)), np.array([1.0, 0.5]))
    >>> loss
    1.5
    """
    diff = x_hat - x                                   # (B, n)
    weighted = diff * importance
    return float(np.sum(weighted * diff)) / x.shape[0], ToyLossCache(weighted)


def importance_mse_backward(dloss: float, cache: ToyLossCache) -> np.ndarray:
    """Gradient of :func:`importance_mse_forward` with respect to ``x_hat``, shape (B, n)."""
    weighted = cache.weighted_diff
    # fwd: L = sum(I (x_hat - x)^2) / B  =>  dx_hat = 2 I (x_hat - x) / B
    return weighted * weighted.dtype.type(2.0 * dloss / weighted.shape[0])


def toy_loss_and_grads(params: dict[str, np.ndarray], x: np.ndarray,
                       importance: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Loss of the toy model on a batch and the gradients of ``w`` and ``b``.

    Parameters
    ----------
    params : dict
        ``"w"`` shape (m, n) and ``"b"`` shape (n,).
    x : ndarray, shape (B, n)
    importance : ndarray, shape (n,)

    Returns
    -------
    loss : float
    grads : dict
        Same keys and shapes as ``params``.

    Examples
    --------
    >>> params = init_toy_params(4, 2, seed=0, dtype=np.float64)
    >>> loss, grads = toy_loss_and_grads(params, np.eye(4), np.ones(4))
    >>> grads["w"].shape, grads["b"].shape
    ((2, 4), (4,))
    """
    x_hat, cache = toy_forward(x, params["w"], params["b"])
    loss, loss_cache = importance_mse_forward(x_hat, x, importance)
    dx_hat = importance_mse_backward(1.0, loss_cache)
    _, dw, db = toy_backward(dx_hat, cache)
    return loss, {"w": dw, "b": db}


def init_toy_params(n: int, m: int, *, seed: int = 0,
                    dtype: type = np.float32) -> dict[str, np.ndarray]:
    """Xavier-normal ``w`` of shape (m, n) and zero ``b`` of shape (n,).

    Examples
    --------
    >>> p = init_toy_params(5, 2)
    >>> p["w"].shape, p["b"].shape, p["w"].dtype
    ((2, 5), (5,), dtype('float32'))
    """
    n, m = _check_int("n", n), _check_int("m", m)
    rng = np.random.default_rng(seed)
    std = math.sqrt(2.0 / (n + m))                     # Glorot & Bengio 2010, normal form
    return {"w": (rng.standard_normal((m, n)) * std).astype(dtype), "b": np.zeros(n, dtype=dtype)}


# --------------------------------------------------------------------------- metrics

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
    ndarray, shape (k,)
        For the k represented features sorted by angle, the gaps between consecutive
        directions (the last one wrapping around), in degrees; they add up to 360.
        A regular pentagon gives five gaps of 72.

    Examples
    --------
    >>> neighbour_angles(np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]))
    array([ 90.,  90., 180.])
    """
    w = _check_finite_array("w", w, 2)
    if w.shape[0] != 2:
        raise ValueError(f"neighbour_angles needs a 2-dimensional hidden space, "
                         f"got w of shape {w.shape}")
    keep = np.linalg.norm(w, axis=0) > min_norm
    theta = np.sort(np.degrees(np.arctan2(w[1, keep], w[0, keep])))   # (k,)
    if theta.size == 0:
        return theta
    return np.diff(np.append(theta, theta[0] + 360.0))


# --------------------------------------------------------------------------- training

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


# --------------------------------------------------------------------------- plots

def _as_list(results: ToyResult | Iterable[ToyResult]) -> list[ToyResult]:
    return [results] if isinstance(results, ToyResult) else list(results)


def plot_wtw(results: ToyResult | Iterable[ToyResult]) -> Any:
    """Show :math:`W^T W` (and b) for one or several trained toy models.

    Parameters
    ----------
    results : ToyResult or iterable of ToyResult

    Returns
    -------
    matplotlib.figure.Figure
        One panel per model: :math:`W^T W` as an image (red positive, blue negative),
        with b as an extra column. A clean diagonal means features on their own axes;
        off-diagonal entries are interference. Needs matplotlib.
    """
    import matplotlib.pyplot as plt

    results = _as_list(results)
    fig, axes = plt.subplots(1, len(results), figsize=(2.6 * len(results), 2.8), squeeze=False)
    for ax, r in zip(axes[0], results):
        wtw = r.w.T @ r.w                                          # (n, n)
        image = np.concatenate([wtw, r.b[:, None]], axis=1)        # (n, n + 1)
        ax.imshow(image, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.axvline(r.n - 0.5, color="k", lw=1)
        ax.set_xticks(list(range(r.n)) + [r.n], [str(i) for i in range(r.n)] + ["b"])
        ax.set_yticks(range(r.n))
        ax.set_title(f"S={r.sparsity:g}, r={r.importance_decay:g}\n"
                     f"{r.n_represented} of {r.n} represented", fontsize=9)
    fig.tight_layout()
    return fig


def plot_feature_directions(results: ToyResult | Iterable[ToyResult]) -> Any:
    """Draw each feature's hidden direction :math:`W_i` for models with m = 2.

    Parameters
    ----------
    results : ToyResult or iterable of ToyResult
        Models with two hidden dimensions.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per model, an arrow per feature, darker for more important features.
        Needs matplotlib.
    """
    import matplotlib.pyplot as plt

    results = _as_list(results)
    for r in results:
        if r.m != 2:
            raise ValueError(f"feature directions are drawn for m = 2, got m = {r.m}")
    fig, axes = plt.subplots(1, len(results), figsize=(2.6 * len(results), 2.8), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, r in zip(axes[0], results):
        for i in range(r.n):
            color = cmap(i / max(1, r.n - 1))
            ax.plot([0, r.w[0, i]], [0, r.w[1, i]], color=color, lw=2)
            ax.plot(r.w[0, i], r.w[1, i], "o", color=color, ms=4)
        ax.set_xlim(-1.5, 1.5)
        ax.set_ylim(-1.5, 1.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"S={r.sparsity:g}: {r.n_represented} of {r.n}", fontsize=9)
    fig.tight_layout()
    return fig
