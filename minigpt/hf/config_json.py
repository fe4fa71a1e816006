"""GPT-2's ``config.json`` and minigpt's :class:`~minigpt.config.GPTConfig`, both ways.

The sizes carry over under other names (``n_embd`` is ``d_model``, ``n_positions`` is
``n_ctx``), the activation under Hugging Face's name for it, and every setting that would
change what GPT-2 computes must have the value minigpt computes. The weights are mapped in
:mod:`minigpt.hf.mapping`; :mod:`minigpt.hf.files` reads and writes the file itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import GPTConfig

LAYER_NORM_EPS = 1e-5  # minigpt's LayerNorm epsilon, and GPT-2's
# Hugging Face activation name -> minigpt's. "gelu_new" and "gelu_pytorch_tanh" are both
# the tanh approximation; Hugging Face's "gelu" is the exact erf form.
FROM_HF_ACTIVATION = {"gelu_new": "gelu", "gelu_pytorch_tanh": "gelu", "gelu": "gelu_exact",
                      "relu": "relu"}
TO_HF_ACTIVATION = {"gelu": "gelu_new", "gelu_exact": "gelu", "relu": "relu"}
# Config fields that change what GPT-2 computes, with the value minigpt computes
# (Hugging Face's defaults). Dropout rates do not matter at inference.
REQUIRED_HF_VALUES: dict[str, Any] = {
    "tie_word_embeddings": True,
    "scale_attn_weights": True,
    "scale_attn_by_inverse_layer_idx": False,
    "add_cross_attention": False,
}


def config_from_hf(hf_config: Mapping[str, Any]) -> GPTConfig:
    """The :class:`~minigpt.config.GPTConfig` of a Hugging Face GPT-2 ``config.json``.

    Parameters
    ----------
    hf_config : mapping
        The parsed ``config.json`` (or ``GPT2Config.to_dict()``). Read: ``vocab_size``,
        ``n_positions``, ``n_embd``, ``n_layer``, ``n_head``, ``n_inner`` (``None`` means
        ``4 * n_embd``), ``activation_function``, ``layer_norm_epsilon`` and the fields of
        :data:`REQUIRED_HF_VALUES`. Dropout rates are ignored (inference has none).

    Returns
    -------
    GPTConfig
        Dense attention; ``"gelu_new"`` and ``"gelu_pytorch_tanh"`` become ``"gelu"``
        (tanh), ``"gelu"`` becomes ``"gelu_exact"``, ``"relu"`` stays.

    Raises
    ------
    ValueError
        Naming the field: a missing size, another ``model_type`` than ``"gpt2"``, an
        activation not in :data:`FROM_HF_ACTIVATION`, ``layer_norm_epsilon`` other than
        1e-5, an untied output head, or any other setting minigpt does not compute.

    Examples
    --------
    >>> cfg = config_from_hf({"vocab_size": 50257, "n_positions": 1024, "n_embd": 768,
    ...                       "n_layer": 12, "n_head": 12, "activation_function": "gelu_new"})
    >>> cfg.d_ff, cfg.activation
    (3072, 'gelu')
    """
    if not isinstance(hf_config, Mapping):
        raise TypeError(f"hf_config must be a mapping, got {type(hf_config).__name__}")
    model_type = hf_config.get("model_type", "gpt2")
    if model_type != "gpt2":
        raise ValueError(f"model_type must be 'gpt2', got {model_type!r}")
    sizes = {"vocab_size": "vocab_size", "n_positions": "n_ctx", "n_embd": "d_model",
             "n_layer": "n_layer", "n_head": "n_head"}
    missing = [name for name in sizes if name not in hf_config]
    if missing:
        raise ValueError(f"GPT-2 config is missing the field(s) {missing}")
    activation = hf_config.get("activation_function", "gelu_new")
    if activation not in FROM_HF_ACTIVATION:
        raise ValueError(f"activation_function must be one of {list(FROM_HF_ACTIVATION)}, "
                         f"got {activation!r}")
    eps = hf_config.get("layer_norm_epsilon", LAYER_NORM_EPS)
    if eps != LAYER_NORM_EPS:
        raise ValueError(f"layer_norm_epsilon must be {LAYER_NORM_EPS} (minigpt's LayerNorm), "
                         f"got {eps!r}")
    for name, value in REQUIRED_HF_VALUES.items():
        if hf_config.get(name, value) != value:
            raise ValueError(f"{name} must be {value} (what minigpt computes), "
                             f"got {hf_config[name]!r}")
    fields = {mg: hf_config[hf] for hf, mg in sizes.items()}
    try:
        return GPTConfig(**fields, d_ff=hf_config.get("n_inner"),
                         activation=FROM_HF_ACTIVATION[activation])
    except TypeError as err:
        raise ValueError(f"bad GPT-2 config: {err}") from err


def config_to_hf(config: GPTConfig) -> dict[str, Any]:
    """A Hugging Face GPT-2 ``config.json`` dict for a minigpt config.

    Parameters
    ----------
    config : GPTConfig
        Must use dense attention (GPT-2 has no banded layers).

    Returns
    -------
    dict
        ``model_type`` ``"gpt2"``, the sizes, the activation's Hugging Face name, eps 1e-5,
        tied embeddings, no dropout; :func:`config_from_hf` gives ``config`` back.

    Examples
    --------
    >>> d = config_to_hf(GPTConfig(50, 16, 2, 2, 8))
    >>> d["n_embd"], d["n_inner"], d["activation_function"]
    (8, 32, 'gelu_new')
    """
    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
    if config.attention != "dense":
        raise ValueError(f"GPT-2 has dense attention only, got attention={config.attention!r}")
    return {
        "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
        "vocab_size": config.vocab_size, "n_positions": config.n_ctx, "n_embd": config.d_model,
        "n_layer": config.n_layer, "n_head": config.n_head, "n_inner": config.d_ff,
        "activation_function": TO_HF_ACTIVATION[config.activation],
        "layer_norm_epsilon": LAYER_NORM_EPS,
        "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
        "bos_token_id": None, "eos_token_id": None,
        **REQUIRED_HF_VALUES,
    }
