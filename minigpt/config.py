"""Model shapes: :class:`GPTConfig`, the GPT-3 presets of Table 2.1, and exact parameter counts.

Nothing here allocates a weight. :func:`count_params` multiplies shapes, so it can count
GPT-3 175B on a laptop: the same shapes :class:`minigpt.GPT` would allocate, given by
:func:`param_shapes`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ._checks import check_choice, check_int
from .nn.activations import ACTIVATIONS  # the MLP nonlinearities, by name

ATTENTIONS = ("dense", "alternating")


def _check_size(config: GPTConfig, name: str) -> None:
    """Check that the field ``name`` is an int >= 1 and store it as a Python int."""
    object.__setattr__(config, name, check_int(name, getattr(config, name), minimum=1))


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a GPT-2/GPT-3 style decoder-only transformer.

    Parameters
    ----------
    vocab_size : int
        V, the number of token ids.
    n_ctx : int
        The longest sequence the model accepts (number of learned positions).
    n_layer : int
        Number of residual blocks.
    n_head : int
        H, attention heads per block; must divide ``d_model``.
    d_model : int
        C, the width of the residual stream.
    d_ff : int or None
        F, the width of the MLP's hidden layer (its number of neurons); ``None`` means
        ``4 * d_model`` as in GPT-2 and GPT-3.
    activation : {"gelu", "gelu_exact", "relu"}
        The MLP nonlinearity: tanh-approximated GELU (GPT-2/3), the exact erf GELU, or ReLU
        (the video's AND gate).
    attention : {"dense", "alternating"}
        ``"dense"``: every layer is causal. ``"alternating"``: GPT-3's pattern, layers
        0, 2, 4, ... dense causal and layers 1, 3, 5, ... locally banded (position t sees
        t - local_window + 1 .. t).
    local_window : int or None
        Band width of the local layers; required when ``attention="alternating"``
        (the GPT-3 paper does not publish its value).

    Raises
    ------
    ValueError
        If a size is not positive, ``n_head`` does not divide ``d_model``, or an option is
        unknown.
    TypeError
        If a size is not an int.

    Examples
    --------
    >>> cfg = GPTConfig(vocab_size=64, n_ctx=32, n_layer=2, n_head=4, d_model=32)
    >>> cfg.d_ff, cfg.d_head
    (128, 8)
    """

    vocab_size: int
    n_ctx: int
    n_layer: int
    n_head: int
    d_model: int
    d_ff: int | None = None
    activation: str = "gelu"
    attention: str = "dense"
    local_window: int | None = None

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_ctx", "n_layer", "n_head", "d_model"):
            _check_size(self, name)
        if self.d_ff is None:
            object.__setattr__(self, "d_ff", 4 * self.d_model)
        _check_size(self, "d_ff")
        if self.d_model % self.n_head != 0:
            raise ValueError(
                f"d_model must be divisible by n_head, got d_model={self.d_model}, "
                f"n_head={self.n_head}"
            )
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("attention", self.attention, ATTENTIONS)
        if self.attention == "alternating" and self.local_window is None:
            raise ValueError("attention='alternating' needs local_window (an int >= 1), got None")
        if self.local_window is not None:
            _check_size(self, "local_window")

    @property
    def d_head(self) -> int:
        """D = d_model / n_head, the width of one attention head."""
        return self.d_model // self.n_head

    def layer_window(self, layer: int) -> int | None:
        """The attention band width of block ``layer``: ``None`` for dense causal layers.

        Parameters
        ----------
        layer : int
            Block index, 0-based.

        Returns
        -------
        int or None
            ``local_window`` for the odd layers of an ``"alternating"`` model, else ``None``.

        Examples
        --------
        >>> cfg = GPTConfig(64, 32, 4, 4, 32, attention="alternating", local_window=8)
        >>> [cfg.layer_window(i) for i in range(4)]
        [None, 8, None, 8]
        """
        if self.attention == "alternating" and layer % 2 == 1:
            return self.local_window
        return None

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (the inverse of :meth:`from_dict`)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GPTConfig:
        """Build a config from :meth:`to_dict` output; unknown keys raise ``ValueError``."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        if unknown:
            raise ValueError(f"unknown GPTConfig fields {unknown}; expected a subset of {sorted(fields)}")
        return cls(**d)


# GPT-3 Table 2.1 (Brown et al. 2020): name -> (n_layer, d_model, n_head, paper's n_params).
# Two rows of the paper do not add up, and are resolved here:
#   * XL lists 24 heads of d_head 128, but 24 x 128 = 3072 != d_model 2048, and 2048 / 24 is
#     not an integer. We keep d_head = 128 and use 2048 / 128 = 16 heads.
#   * 13B lists d_model 5140, which 40 heads cannot split; 40 x 128 = 5120 is meant.
# Head count does not change the parameter count, only how attention is split.
GPT3_TABLE: dict[str, tuple[int, int, int, float]] = {
    "small": (12, 768, 12, 125e6),
    "medium": (24, 1024, 16, 350e6),
    "large": (24, 1536, 16, 760e6),
    "xl": (24, 2048, 16, 1.3e9),
    "2.7B": (32, 2560, 32, 2.7e9),
    "6.7B": (32, 4096, 32, 6.7e9),
    "13B": (40, 5120, 40, 13.0e9),
    "175B": (96, 12288, 96, 175.0e9),
}
GPT3_VOCAB = 50257
GPT3_N_CTX = 2048


def gpt3_config(name: str, **overrides: Any) -> GPTConfig:
    """The :class:`GPTConfig` of one of the eight GPT-3 models in Table 2.1 of Brown et al.

    Parameters
    ----------
    name : str
        One of ``small medium large xl 2.7B 6.7B 13B 175B`` (case-insensitive).
    **overrides
        Fields to change, e.g. ``attention="alternating", local_window=256``. The presets
        are dense unless asked, since the paper does not publish the band width.

    Returns
    -------
    GPTConfig
        vocab 50,257, n_ctx 2048, d_ff = 4 d_model, GELU (tanh).

    Notes
    -----
    The paper's XL row (24 heads, d_head 128, d_model 2048) is inconsistent; minigpt keeps
    d_head 128 and uses 16 heads. Its 13B row says d_model 5140, a typo for 5120 = 40 x 128.

    Examples
    --------
    >>> cfg = gpt3_config("175B")
    >>> cfg.n_layer, cfg.d_model, cfg.n_head, cfg.d_ff
    (96, 12288, 96, 49152)
    """
    if not isinstance(name, str):
        raise TypeError(f"preset name must be a str, got {type(name).__name__}")
    key = {k.lower(): k for k in GPT3_TABLE}.get(name.lower())
    if key is None:
        raise ValueError(f"unknown GPT-3 preset {name!r}; expected one of {list(GPT3_TABLE)}")
    n_layer, d_model, n_head, _ = GPT3_TABLE[key]
    fields = dict(vocab_size=GPT3_VOCAB, n_ctx=GPT3_N_CTX, n_layer=n_layer, n_head=n_head,
                  d_model=d_model, activation="gelu", attention="dense")
    fields.update(overrides)
    return GPTConfig(**fields)


def param_shapes(config: GPTConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of every parameter tensor of :class:`minigpt.GPT`.

    Weights are ``(d_out, d_in)`` and applied as ``x @ w.T``, so row i of ``w_up`` is the
    question neuron i asks and column i of ``w_down`` the direction it adds.

    Parameters
    ----------
    config : GPTConfig

    Returns
    -------
    dict of str to tuple of int
        In the model's order: ``tok_emb`` (V, C), ``pos_emb`` (n_ctx, C), per block
        ``ln1``, ``attn`` (``w_qkv`` (3C, C), ``b_qkv``, ``w_out`` (C, C), ``b_out``),
        ``ln2``, ``mlp`` (``w_up`` (F, C), ``b_up``, ``w_down`` (C, F), ``b_down``), then
        ``ln_f``. The unembedding is tied to ``tok_emb`` and has no entry of its own.

    Examples
    --------
    >>> shapes = param_shapes(GPTConfig(64, 32, 1, 4, 32))
    >>> shapes["blocks.0.mlp.w_up"], shapes["blocks.0.mlp.w_down"]
    ((128, 32), (32, 128))
    """
    V, C, F = config.vocab_size, config.d_model, config.d_ff
    shapes: dict[str, tuple[int, ...]] = {"tok_emb": (V, C), "pos_emb": (config.n_ctx, C)}
    for i in range(config.n_layer):
        p = f"blocks.{i}."
        shapes.update({
            p + "ln1.gain": (C,), p + "ln1.bias": (C,),
            p + "attn.w_qkv": (3 * C, C), p + "attn.b_qkv": (3 * C,),
            p + "attn.w_out": (C, C), p + "attn.b_out": (C,),
            p + "ln2.gain": (C,), p + "ln2.bias": (C,),
            p + "mlp.w_up": (F, C), p + "mlp.b_up": (F,),
            p + "mlp.w_down": (C, F), p + "mlp.b_down": (C,),
        })
    shapes.update({"ln_f.gain": (C,), "ln_f.bias": (C,)})
    return shapes


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def count_params(config: GPTConfig, by: str | None = None) -> int | dict[str, int]:
    """Count the parameters of a model with this config, exactly, without allocating it.

    The count is integer arithmetic on one block's shapes, so it takes the same few
    microseconds for ``n_layer = 2**63`` as for one layer, and allocates nothing.

    Parameters
    ----------
    config : GPTConfig
    by : {None, "group"}
        ``None`` returns the total. ``"group"`` returns a dict splitting it into
        ``embedding`` (tokens + positions), ``attention``, ``mlp`` (weights and biases of
        the up- and down-projections) and ``layernorm``.

    Returns
    -------
    int or dict of str to int

    Notes
    -----
    Per block: attention :math:`4C^2 + 4C`, MLP :math:`2CF + F + C`, two LayerNorms
    :math:`4C`; plus :math:`VC + n_{ctx}C` for the embeddings and :math:`2C` for the final
    LayerNorm. With :math:`F = 4C` a block holds :math:`12C^2 + 13C`.

    Examples
    --------
    >>> count_params(GPTConfig(vocab_size=10, n_ctx=4, n_layer=1, n_head=1, d_model=2))
    106
    >>> round(count_params(gpt3_config("175B")) / 1e9, 1)
    174.6
    """
    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
    if by not in (None, "group"):
        raise ValueError(f"by must be None or 'group', got {by!r}")
    groups = {"embedding": 0, "attention": 0, "mlp": 0, "layernorm": 0}
    # The shapes of a one-block model, with each block's tensors counted n_layer times:
    # as exact as listing every block, and as cheap for 2**63 blocks as for one.
    for name, shape in param_shapes(dataclasses.replace(config, n_layer=1)).items():
        if name in ("tok_emb", "pos_emb"):
            group = "embedding"
        elif ".attn." in name:
            group = "attention"
        elif ".mlp." in name:
            group = "mlp"
        else:
            group = "layernorm"
        copies = config.n_layer if name.startswith("blocks.") else 1
        groups[group] += _size(shape) * copies
    return groups if by == "group" else sum(groups.values())
