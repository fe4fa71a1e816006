"""Training an SAE: where it starts (:func:`init_sae`) and the Adam loop (:func:`train_sae`).

Each step is the loss and gradients of :func:`sae_loss_and_grads`, the decoder's gradient projected and
its columns renormalized; the trained SAE is measured by ``evaluation.py``.
"""

from __future__ import annotations

import math

import numpy as np

from ...runtime import threads
from ...optim import AdamW
from .._common import (ADAM_BETAS, ADAM_EPS, _check_finite_array, _check_int,
                       _check_real)
from .autoencoder import _check_k, sae_backward, sae_forward
from .evaluation import SAEResult, evaluate_sae
from .loss import data_scale, sae_loss_backward, sae_loss_forward


# ---- one step: loss and gradients, and the unit-norm decoder
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
    >>> from minigpt.superposition import data_scale, init_sae
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

DEFAULT_L1 = 0.3            # lambda of the ReLU SAE, on the scale-free loss of loss.py
DEFAULT_STEPS = 3000
DEFAULT_BATCH = 256
DEFAULT_LR = 3e-3
DEAD_WINDOW = 10_000        # a latent is dead if it fired on none of the last this many samples
LOG_EVERY = 50              # training losses are recorded every this many steps

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
    with threads.blas_threads(1):                  # small products: one BLAS thread is fastest
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
