"""The GPT-3 training recipe: AdamW, warmup + cosine learning rate, global-norm clipping.

Brown et al. 2020 ("Language Models are Few-Shot Learners"), Appendix B, trains every
GPT-3 model with Adam (beta1 = 0.9, beta2 = 0.95, eps = 1e-8), clips the global norm of
the gradient at 1.0, warms the learning rate up linearly, then decays it with a cosine
down to 10% of its peak, and applies a weight decay of 0.1. This module writes each of
those pieces in numpy:

* :class:`AdamW` -- Adam with decoupled weight decay (Loshchilov & Hutter 2019), with the
  arithmetic of ``torch.optim.AdamW``; :func:`adamw_update` is its update of one tensor in
  plain numpy, :func:`adamw_update_fast` the same in a scratch buffer;
* :func:`decay_names` -- which tensors are decayed (weight matrices, not biases/gains);
* :func:`lr_at` -- the learning rate of a step: linear warmup, then cosine decay;
* :func:`global_norm`, :func:`clip_grad_norm` -- the gradient clipping of
  ``torch.nn.utils.clip_grad_norm_``.

The paper counts warmup and decay in tokens (375M and 260B); here they are counted in
optimizer steps, which is the same thing at a fixed batch size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from ._checks import check_float, check_int

# GPT-3, Appendix B.
GPT3_BETAS = (0.9, 0.95)
GPT3_EPS = 1e-8
GPT3_WEIGHT_DECAY = 0.1
GPT3_CLIP_NORM = 1.0
GPT3_MIN_LR_RATIO = 0.1
# Added to the norm before dividing, as torch.nn.utils.clip_grad_norm_ does.
CLIP_EPS = 1e-6
# The last component of the parameter names that get weight decay.
DECAYED_SUFFIXES = ("w_qkv", "w_out", "w_up", "w_down")
DECAYED_EMBEDDING = "tok_emb"


def _check_number(name: str, value: object, *, low: float = -math.inf,
                  low_inclusive: bool = True, high: float = math.inf,
                  high_inclusive: bool = True) -> float:
    """``float(value)`` after checking it is a finite real number in the given range."""
    return check_float(name, value, None if low == -math.inf else low,
                       None if high == math.inf else high,
                       low_open=not low_inclusive, high_open=not high_inclusive)


def _check_int(name: str, value: object, minimum: int = 0) -> int:
    return check_int(name, value, minimum)


def decay_names(params: Mapping[str, np.ndarray]) -> set[str]:
    r"""The names of the parameters that receive weight decay: the weight matrices.

    Parameters
    ----------
    params : dict of str to ndarray
        A model's parameters (only the names are read).

    Returns
    -------
    set of str
        Every ``...attn.w_qkv``, ``...attn.w_out``, ``...mlp.w_up``, ``...mlp.w_down``, and
        ``tok_emb``. Biases, LayerNorm gains and biases, and ``pos_emb`` are left out.

    Notes
    -----
    Weight decay pulls each decayed entry towards 0 by a factor :math:`1 - \eta\lambda`
    per step. That is a prior "prefer small weights" that suits matrices that map one
    space into another. It does not suit a bias or a LayerNorm gain, whose natural value
    is an offset or 1, not 0; nor the position embedding, a lookup table with one row per
    position.

    The token embedding is decayed, as GPT-2 implementations such as nanoGPT do, because
    its unembedding is tied to it: ``logits = x @ tok_emb.T``. It is therefore also the
    model's last weight matrix, and a matrix by the rule above. Its embedding role gets
    the same decay as a side effect.

    Examples
    --------
    >>> from minigpt.config import GPTConfig, param_shapes
    >>> names = param_shapes(GPTConfig(16, 8, 1, 2, 8))
    >>> sorted(decay_names(names))  # doctest: +NORMALIZE_WHITESPACE
    ['blocks.0.attn.w_out', 'blocks.0.attn.w_qkv', 'blocks.0.mlp.w_down',
     'blocks.0.mlp.w_up', 'tok_emb']
    """
    return {name for name in params
            if name == DECAYED_EMBEDDING or name.rsplit(".", 1)[-1] in DECAYED_SUFFIXES}


def adamw_update(p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, *, lr: float,
                 beta1: float, beta2: float, eps: float, weight_decay: float, t: int) -> None:
    r"""One AdamW step of one tensor, in place: the update as the equations write it.

    Parameters
    ----------
    p : ndarray
        The parameter; updated in place.
    g : ndarray, shape of ``p``
        Its gradient.
    m, v : ndarray, shape of ``p``
        The first and second moment averages; updated in place.
    lr, beta1, beta2, eps, weight_decay : float
        :math:`\eta, \beta_1, \beta_2, \epsilon, \lambda` (0 for a tensor without decay).
    t : int
        The step, counted from 1.

    Notes
    -----
    .. math::
        p &\leftarrow p - \eta\lambda p \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        p &\leftarrow p - \frac{\eta}{1 - \beta_1^t} \,
            \frac{m}{\sqrt{v} / \sqrt{1 - \beta_2^t} + \epsilon}

    The scalars are Python floats, so the arithmetic stays in the arrays' dtype.
    :class:`AdamW` runs :func:`adamw_update_fast`, which gives the same numbers.

    Examples
    --------
    >>> p, g, m, v = np.ones(2), np.array([1.0, -1.0]), np.zeros(2), np.zeros(2)
    >>> adamw_update(p, g, m, v, lr=0.1, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.0, t=1)
    >>> p.round(6)
    array([0.9, 1.1])
    """
    p *= 1 - lr * weight_decay  # decoupled decay: p <- p - lr wd p
    m[...] = beta1 * m + (1 - beta1) * g
    v[...] = beta2 * v + (1 - beta2) * (g * g)
    denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps  # sqrt(v_hat) + eps
    p -= lr / (1 - beta1**t) * (m / denom)  # lr m_hat / (sqrt(v_hat) + eps)


def adamw_update_fast(p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray,
                      scratch: np.ndarray, *, lr: float, beta1: float, beta2: float,
                      eps: float, weight_decay: float, t: int) -> None:
    """:func:`adamw_update` with every intermediate written into ``scratch``.

    The same operations in the same order, so the same numbers (tested), without a fresh
    array per operator (twelve per tensor in the plain form). :class:`AdamW` runs this form.

    Parameters
    ----------
    p, g, m, v, lr, beta1, beta2, eps, weight_decay, t
        As in :func:`adamw_update`.
    scratch : ndarray, shape and dtype of ``p``
        Overwritten.

    Examples
    --------
    >>> p, g = np.ones(2), np.array([1.0, -1.0])
    >>> args = dict(lr=0.1, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, t=1)
    >>> p_fast, m, v = p.copy(), np.zeros(2), np.zeros(2)
    >>> adamw_update_fast(p_fast, g, m, v, np.empty(2), **args)
    >>> adamw_update(p, g, np.zeros(2), np.zeros(2), **args)
    >>> bool(np.array_equal(p_fast, p))
    True
    """
    dt = p.dtype.type  # each scalar in the parameter's dtype, as in the plain form
    tmp = scratch
    if weight_decay != 0.0:
        np.multiply(p, dt(1 - lr * weight_decay), out=p)  # p <- p - lr wd p
    np.multiply(m, dt(beta1), out=m)  # m <- b1 m + (1 - b1) g
    np.multiply(g, dt(1 - beta1), out=tmp)
    np.add(m, tmp, out=m)
    np.multiply(v, dt(beta2), out=v)  # v <- b2 v + (1 - b2) g^2
    np.multiply(g, g, out=tmp)
    np.multiply(tmp, dt(1 - beta2), out=tmp)
    np.add(v, tmp, out=v)
    np.sqrt(v, out=tmp)  # tmp <- sqrt(v) / sqrt(1 - b2^t) + eps
    np.divide(tmp, dt(math.sqrt(1 - beta2**t)), out=tmp)
    np.add(tmp, dt(eps), out=tmp)
    np.divide(m, tmp, out=tmp)  # p <- p - lr / (1 - b1^t) * (m / tmp)
    np.multiply(tmp, dt(lr / (1 - beta1**t)), out=tmp)
    np.subtract(p, tmp, out=p)


class AdamW:
    r"""Adam with decoupled weight decay, updating a parameter dict in place.

    Parameters
    ----------
    params : dict of str to ndarray
        The model's parameters, floating point. The optimizer keeps this dict and
        overwrites its arrays in place at every :meth:`step`.
    lr : float
        Learning rate :math:`\eta`, used when :meth:`step` is given none.
    betas : tuple of float
        :math:`(\beta_1, \beta_2)`, decay rates of the first and second moment averages.
    eps : float
        :math:`\epsilon`, added to the denominator.
    weight_decay : float
        :math:`\lambda`, applied only to the names in ``decay``.
    decay : iterable of str or None
        Names that get weight decay; ``None`` means :func:`decay_names` of ``params``.

    Raises
    ------
    ValueError
        For an out-of-range hyperparameter, an empty ``params``, or a ``decay`` name that
        is not a parameter.
    TypeError
        If ``params`` is not a dict of floating-point arrays.

    Notes
    -----
    At step :math:`t = 1, 2, \dots`, with gradient :math:`g`, each parameter :math:`p`
    (with :math:`\lambda = 0` for names not in ``decay``) becomes

    .. math::
        p &\leftarrow p - \eta\lambda p \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        p &\leftarrow p - \eta \, \frac{m / (1 - \beta_1^t)}
            {\sqrt{v} / \sqrt{1 - \beta_2^t} + \epsilon}

    which is ``torch.optim.AdamW``, operation for operation (the second-moment correction
    is applied after the square root, as there). Decay is *decoupled*: it shrinks
    :math:`p` directly instead of being added to :math:`g`, so it is not rescaled by
    Adam's per-coordinate step size. All arithmetic runs in each parameter's dtype; the
    moments :math:`m, v` share it.

    The gradients are not checked for NaN or inf here (that would cost a pass over every
    tensor); :func:`clip_grad_norm` returns a non-finite norm for the caller to act on.

    References
    ----------
    Kingma & Ba 2015, "Adam"; Loshchilov & Hutter 2019, "Decoupled Weight Decay
    Regularization"; Brown et al. 2020, Appendix B.

    Examples
    --------
    >>> params = {"w_up": np.ones((2, 2)), "b_up": np.zeros(2)}
    >>> opt = AdamW(params, lr=0.1, weight_decay=0.0)
    >>> opt.step({"w_up": np.ones((2, 2)), "b_up": -np.ones(2)})
    >>> params["w_up"][0, 0].round(6), params["b_up"].round(6), opt.t
    (np.float64(0.9), array([0.1, 0.1]), 1)
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float = 6e-4,
                 betas: tuple[float, float] = GPT3_BETAS, eps: float = GPT3_EPS,
                 weight_decay: float = GPT3_WEIGHT_DECAY, decay: Iterable[str] | None = None):
        if not isinstance(params, dict):
            raise TypeError(f"params must be a dict of str to ndarray, got {type(params).__name__}")
        if not params:
            raise ValueError("params must hold at least one array, got an empty dict")
        for name, p in params.items():
            if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
                kind = p.dtype if isinstance(p, np.ndarray) else type(p).__name__
                raise TypeError(f"params[{name!r}] must be a floating-point ndarray, got {kind}")
        self.params = params
        self.lr = _check_number("lr", lr, low=0.0)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_check_number("beta1", betas[0], low=0.0, high=1.0, high_inclusive=False),
                      _check_number("beta2", betas[1], low=0.0, high=1.0, high_inclusive=False))
        self.eps = _check_number("eps", eps, low=0.0, low_inclusive=False)
        self.weight_decay = _check_number("weight_decay", weight_decay, low=0.0)
        decay = decay_names(params) if decay is None else set(decay)
        unknown = sorted(decay - set(params))
        if unknown:
            raise ValueError(f"decay names {unknown} are not parameters; expected names from params")
        self.decay = frozenset(decay)
        self._t = 0
        self._m = {name: np.zeros_like(p) for name, p in params.items()}
        self._v = {name: np.zeros_like(p) for name, p in params.items()}
        # One flat scratch buffer per dtype, as long as the largest tensor: the step's
        # temporaries live in a view of it instead of fresh allocations.
        self._scratch: dict[np.dtype, np.ndarray] = {}
        for p in params.values():
            buf = self._scratch.get(p.dtype)
            if buf is None or buf.size < p.size:
                self._scratch[p.dtype] = np.empty(p.size, dtype=p.dtype)

    @property
    def t(self) -> int:
        """The number of steps taken so far."""
        return self._t

    def _check_grads(self, grads: Mapping[str, np.ndarray]) -> None:
        if not isinstance(grads, Mapping):
            raise TypeError(f"grads must be a dict of str to ndarray, got {type(grads).__name__}")
        if set(grads) != set(self.params):
            missing = sorted(set(self.params) - set(grads))
            extra = sorted(set(grads) - set(self.params))
            raise ValueError(f"grads must have the keys of params; missing {missing}, "
                             f"unexpected {extra}")
        for name, p in self.params.items():
            g = grads[name]
            if not isinstance(g, np.ndarray):
                raise TypeError(f"grads[{name!r}] must be an ndarray, got {type(g).__name__}")
            if g.shape != p.shape:
                raise ValueError(f"grads[{name!r}] must have shape {p.shape}, got {g.shape}")
            if g.dtype != p.dtype:
                raise TypeError(f"grads[{name!r}] must have dtype {p.dtype}, got {g.dtype}")
            if self._m[name].shape != p.shape or self._m[name].dtype != p.dtype:
                raise ValueError(f"params[{name!r}] changed to {p.dtype}{p.shape} since the "
                                 f"optimizer was made with {self._m[name].dtype}{self._m[name].shape}")

    def step(self, grads: Mapping[str, np.ndarray], lr: float | None = None) -> None:
        """Apply one AdamW update to every parameter, in place.

        Parameters
        ----------
        grads : dict of str to ndarray
            dL/dp for every parameter: the same keys, shapes and dtypes as ``params``.
            Not modified.
        lr : float or None
            The learning rate of this step (e.g. from :func:`lr_at`); ``None`` uses
            ``self.lr``.

        Raises
        ------
        ValueError
            If the keys or shapes of ``grads`` differ from ``params``, or ``lr`` is
            negative or not finite.
        TypeError
            If a gradient's dtype differs from its parameter's.

        Examples
        --------
        >>> params = {"b": np.zeros(3, dtype=np.float32)}
        >>> opt = AdamW(params, lr=0.01)
        >>> opt.step({"b": np.array([1.0, -2.0, 0.0], dtype=np.float32)}, lr=0.5)
        >>> params["b"], params["b"].dtype
        (array([-0.5,  0.5,  0. ], dtype=float32), dtype('float32'))
        """
        lr = self.lr if lr is None else _check_number("lr", lr, low=0.0)
        self._check_grads(grads)
        self._t += 1
        beta1, beta2 = self.betas
        for name, p in self.params.items():
            weight_decay = self.weight_decay if name in self.decay else 0.0
            scratch = self._scratch[p.dtype][:p.size].reshape(p.shape)
            adamw_update_fast(p, grads[name], self._m[name], self._v[name], scratch, lr=lr,
                              beta1=beta1, beta2=beta2, eps=self.eps,
                              weight_decay=weight_decay, t=self._t)

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of the optimizer's state, as arrays (ready for safetensors).

        Returns
        -------
        dict of str to ndarray
            ``m.<name>`` and ``v.<name>`` (the moments, shaped like each parameter) and
            ``t``, the step count as a 0-d int64 array. Hyperparameters are not included:
            they belong to the training configuration.

        Examples
        --------
        >>> opt = AdamW({"w": np.zeros((2, 3))})
        >>> sorted(opt.state_dict()), opt.state_dict()["t"]
        (['m.w', 't', 'v.w'], array(0))
        """
        state = {"t": np.array(self._t, dtype=np.int64)}
        for name in self.params:
            state[f"m.{name}"] = self._m[name].copy()
            state[f"v.{name}"] = self._v[name].copy()
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore the state saved by :meth:`state_dict` (copied in; ``state`` is not kept).

        Parameters
        ----------
        state : dict of str to ndarray
            Exactly the keys ``m.<name>``, ``v.<name>`` for every parameter and ``t``.

        Raises
        ------
        ValueError
            If keys are missing or unexpected, a shape or dtype differs from the
            parameter's, or ``t`` is not a non-negative integer scalar.

        Examples
        --------
        >>> params = {"w": np.ones(2)}
        >>> a = AdamW(params); a.step({"w": np.ones(2)})
        >>> b = AdamW(params); b.load_state_dict(a.state_dict()); b.t
        1
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict of str to ndarray, got {type(state).__name__}")
        expected = {"t"} | {f"{k}.{name}" for name in self.params for k in ("m", "v")}
        if set(state) != expected:
            missing = sorted(expected - set(state))
            extra = sorted(set(state) - expected)
            raise ValueError(f"optimizer state keys do not match the parameters; missing {missing}, "
                             f"unexpected {extra}")
        t = np.asarray(state["t"])
        if t.shape != () or not np.issubdtype(t.dtype, np.integer) or int(t) < 0:
            raise ValueError(f"state['t'] must be a 0-d non-negative integer array, got "
                             f"{t.dtype} shape {t.shape} value {t!r}")
        for name, p in self.params.items():
            for key in (f"m.{name}", f"v.{name}"):
                arr = state[key]
                if not isinstance(arr, np.ndarray) or arr.shape != p.shape or arr.dtype != p.dtype:
                    is_array = isinstance(arr, np.ndarray)
                    got = f"{arr.dtype}{arr.shape}" if is_array else type(arr).__name__
                    raise ValueError(f"state[{key!r}] must be {p.dtype}{p.shape}, got {got}")
        for name in self.params:
            np.copyto(self._m[name], state[f"m.{name}"])
            np.copyto(self._v[name], state[f"v.{name}"])
        self._t = int(t)


def lr_at(step: int, *, max_lr: float, warmup_steps: int, max_steps: int,
          min_ratio: float = GPT3_MIN_LR_RATIO) -> float:
    r"""The learning rate of optimizer step ``step``: linear warmup, then cosine decay.

    Parameters
    ----------
    step : int
        0-based index of the step about to be taken.
    max_lr : float
        Peak learning rate :math:`\eta_{max}` (GPT-3 Small: 6e-4).
    warmup_steps : int
        :math:`W \ge 0`, the number of warmup steps.
    max_steps : int
        :math:`S \ge W`, the step at which the decay reaches its floor.
    min_ratio : float
        :math:`r`, the floor as a fraction of ``max_lr`` (GPT-3: 0.1).

    Returns
    -------
    float

    Notes
    -----
    With :math:`\eta_{min} = r \, \eta_{max}`:

    .. math::
        \eta(s) = \begin{cases}
            \eta_{max} \, \frac{s + 1}{W} & s < W \\
            \eta_{min} + \tfrac12 (\eta_{max} - \eta_{min})
                \left(1 + \cos \pi \frac{s - W}{S - W}\right) & W \le s < S \\
            \eta_{min} & s \ge S
        \end{cases}

    Warmup starts at :math:`\eta_{max}/W` (never 0, which would waste a step) and
    reaches :math:`\eta_{max}` at :math:`s = W - 1`; the cosine starts at
    :math:`\eta_{max}` at :math:`s = W`, passes :math:`(\eta_{max} + \eta_{min})/2`
    halfway, and lands on :math:`\eta_{min}` at :math:`s = S`, where it stays.

    Examples
    --------
    >>> [round(lr_at(s, max_lr=1.0, warmup_steps=2, max_steps=6), 4) for s in range(8)]
    [0.5, 1.0, 1.0, 0.8682, 0.55, 0.2318, 0.1, 0.1]
    """
    step = _check_int("step", step)
    max_lr = _check_number("max_lr", max_lr, low=0.0)
    warmup_steps = _check_int("warmup_steps", warmup_steps)
    max_steps = _check_int("max_steps", max_steps)
    min_ratio = _check_number("min_ratio", min_ratio, low=0.0, high=1.0)
    if max_steps < warmup_steps:
        raise ValueError(f"max_steps must be >= warmup_steps, got max_steps={max_steps}, "
                         f"warmup_steps={warmup_steps}")
    min_lr = min_ratio * max_lr
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= max_steps:
        return min_lr
    progress = (step - warmup_steps) / (max_steps - warmup_steps)  # in [0, 1)
    return min_lr + 0.5 * (max_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    r"""The Euclidean norm of all gradients together, as if concatenated into one vector.

    Parameters
    ----------
    grads : dict of str to ndarray

    Returns
    -------
    float
        :math:`\sqrt{\sum_{\text{tensors}} \sum_i g_i^2}`; 0.0 for an empty dict; inf or
        nan when a gradient is.

    Notes
    -----
    Each tensor's sum of squares is a BLAS dot product in the tensor's dtype; the sums
    are added as Python floats.

    Examples
    --------
    >>> global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])})
    5.0
    """
    if not isinstance(grads, Mapping):
        raise TypeError(f"grads must be a dict of str to ndarray, got {type(grads).__name__}")
    total = 0.0
    for g in grads.values():
        flat = np.ravel(g)
        total += float(np.dot(flat, flat))
    return math.sqrt(total)


def clip_grad_norm(grads: Mapping[str, np.ndarray], max_norm: float = GPT3_CLIP_NORM) -> float:
    r"""Scale all gradients in place so their global norm is at most ``max_norm``.

    Parameters
    ----------
    grads : dict of str to ndarray
        Modified in place.
    max_norm : float
        The largest allowed global norm (GPT-3: 1.0).

    Returns
    -------
    float
        The global norm *before* clipping. A non-finite norm is returned as is and the
        gradients are left untouched, for the caller to raise.

    Notes
    -----
    Exactly ``torch.nn.utils.clip_grad_norm_``: with :math:`n` = :func:`global_norm`,

    .. math::
        g \leftarrow g \cdot \min\left(1, \frac{\text{max\_norm}}{n + 10^{-6}}\right)

    The :math:`10^{-6}` guards the division; it also means a norm within :math:`10^{-6}`
    below ``max_norm`` is shrunk by a factor just under 1, as in PyTorch.

    Examples
    --------
    >>> grads = {"a": np.array([3.0, 4.0])}
    >>> clip_grad_norm(grads, max_norm=1.0), grads["a"].round(6)
    (5.0, array([0.6, 0.8]))
    """
    max_norm = _check_number("max_norm", max_norm, low=0.0, low_inclusive=False)
    norm = global_norm(grads)
    if not math.isfinite(norm):
        return norm
    coef = max_norm / (norm + CLIP_EPS)
    if coef < 1.0:
        for g in grads.values():
            np.multiply(g, g.dtype.type(coef), out=g)
    return norm
