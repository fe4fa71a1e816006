"""Hugging Face GPT-2's weights in minigpt: the same arrays under other names and layouts.

GPT-2 and minigpt compute the same function; only the bookkeeping differs.

=========================================  ===========================  =========
Hugging Face ``GPT2LMHeadModel``           minigpt                      layout
=========================================  ===========================  =========
``transformer.wte.weight`` (V, C)          ``tok_emb`` (V, C)           same
``transformer.wpe.weight`` (n_ctx, C)      ``pos_emb`` (n_ctx, C)       same
``h.{i}.ln_1.weight`` / ``.bias``          ``blocks.{i}.ln1.gain``/...  same
``h.{i}.attn.c_attn.weight`` (C, 3C)       ``blocks.{i}.attn.w_qkv``    transposed
``h.{i}.attn.c_proj.weight`` (C, C)        ``blocks.{i}.attn.w_out``    transposed
``h.{i}.ln_2.weight`` / ``.bias``          ``blocks.{i}.ln2.gain``/...  same
``h.{i}.mlp.c_fc.weight`` (C, F)           ``blocks.{i}.mlp.w_up``      transposed
``h.{i}.mlp.c_proj.weight`` (F, C)         ``blocks.{i}.mlp.w_down``    transposed
``transformer.ln_f.weight`` / ``.bias``    ``ln_f.gain``/``.bias``      same
``lm_head.weight`` (V, C)                  tied to ``tok_emb``          (dropped)
=========================================  ===========================  =========

GPT-2's linear layers are ``Conv1D`` modules that store their weight as ``(d_in, d_out)``
and compute ``x @ w + b``; minigpt stores ``(d_out, d_in)`` and computes ``x @ w.T + b``,
so each weight is transposed on the way and biases are copied. The fused ``c_attn``
already has minigpt's order: its output columns are ``[q | k | v]`` and the heads are
consecutive slices of width D within each.

The ``config.json`` that goes with the weights is translated in :mod:`minigpt.hf.config_json`,
and a whole GPT-2 folder is read and written by :mod:`minigpt.hf.files`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..config import GPTConfig, param_shapes
from ..runtime.tensorfile import clipped_repr

HF_PREFIX = "transformer."
LM_HEAD = "lm_head.weight"
MAX_SHOWN = 5  # how many names an error message lists
# Per block: (GPT-2 name, minigpt name, transposed).
BLOCK_NAMES = (
    ("ln_1.weight", "ln1.gain", False),
    ("ln_1.bias", "ln1.bias", False),
    ("attn.c_attn.weight", "attn.w_qkv", True),
    ("attn.c_attn.bias", "attn.b_qkv", False),
    ("attn.c_proj.weight", "attn.w_out", True),
    ("attn.c_proj.bias", "attn.b_out", False),
    ("ln_2.weight", "ln2.gain", False),
    ("ln_2.bias", "ln2.bias", False),
    ("mlp.c_fc.weight", "mlp.w_up", True),
    ("mlp.c_fc.bias", "mlp.b_up", False),
    ("mlp.c_proj.weight", "mlp.w_down", True),
    ("mlp.c_proj.bias", "mlp.b_down", False),
)
OUTER_NAMES = (
    ("wte.weight", "tok_emb", False),
    ("wpe.weight", "pos_emb", False),
    ("ln_f.weight", "ln_f.gain", False),
    ("ln_f.bias", "ln_f.bias", False),
)
# Non-learned buffers some GPT-2 checkpoints carry: the causal mask and its fill value.
BUFFER_RE = re.compile(r"h\.\d+\.attn\.(bias|masked_bias)")
BLOCK_RE = re.compile(r"(?:blocks|h)\.(\d+)\.")


def _name_map(n_layer: int) -> list[tuple[str, str, bool]]:
    """(GPT-2 name without the ``transformer.`` prefix, minigpt name, transposed), in order."""
    names = list(OUTER_NAMES[:2])
    for i in range(n_layer):
        names += [(f"h.{i}.{hf}", f"blocks.{i}.{mg}", t) for hf, mg, t in BLOCK_NAMES]
    return names + list(OUTER_NAMES[2:])


def _to_numpy(name: str, value: Any) -> np.ndarray:
    """A fresh numpy copy of an array or a torch tensor (bfloat16 is widened to float32)."""
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":  # numpy has no bfloat16
            value = value.float()
        value = value.numpy()
    arr = np.array(value, copy=True)
    if arr.dtype.kind != "f":
        raise TypeError(f"{name} must hold floating-point numbers, got dtype {arr.dtype}")
    return arr


def _n_layer(names: list[str]) -> int:
    """How many distinct block indices ``names`` hold (at least 1).

    Not the largest index plus one: a single name ``h.1000000.ln_1.weight`` must not make
    a million-block model whose names are then listed; with the count, the name check
    finds the gap.
    """
    return max(1, len({m.group(1) for m in map(BLOCK_RE.match, names) if m}))


def _check_n_layer(names: list[str], config: GPTConfig, source: str) -> None:
    """Raise ValueError unless ``names`` hold ``config.n_layer`` blocks, before the config's
    names are listed (a config may claim 2**63 blocks)."""
    blocks = len({m.group(1) for m in map(BLOCK_RE.match, names) if m})
    if blocks != config.n_layer:
        raise ValueError(f"the config has n_layer={config.n_layer}, but the {source} holds "
                         f"{blocks} block(s)")


def _read_config(arrays: Mapping[str, Any], tok: str, pos: str, up: str, up_axis: int,
                 n_layer: int, source: str) -> GPTConfig:
    """A config with the sizes read off the token embedding, the position embedding and the
    first up-projection (``n_head`` does not change any shape, so it is 1 here)."""
    missing = [name for name in (tok, pos, up) if name not in arrays]
    if missing:
        raise ValueError(f"{source}: missing {missing}, needed to read the model's sizes")
    shapes = {name: tuple(np.shape(arrays[name])) for name in (tok, pos, up)}
    if any(len(shape) != 2 for shape in shapes.values()):
        raise ValueError(f"{source}: {tok}, {pos} and {up} must be 2-D, got shapes {shapes}")
    (V, C), n_ctx, F = shapes[tok], shapes[pos][0], shapes[up][up_axis]
    return GPTConfig(vocab_size=V, n_ctx=n_ctx, n_layer=n_layer, n_head=1, d_model=C, d_ff=F)


def _first(names: list[str]) -> str:
    """The first :data:`MAX_SHOWN` names, each cut short if long, as a list."""
    return "[" + ", ".join(clipped_repr(name) for name in names[:MAX_SHOWN]) + "]"


def _check_names_and_shapes(given: Mapping[str, np.ndarray], expected: Mapping[str, tuple],
                            source: str) -> None:
    """Raise ValueError unless ``given`` has exactly the names and shapes of ``expected``."""
    missing = [n for n in expected if n not in given]
    unexpected = [n for n in given if n not in expected]
    if missing or unexpected:
        raise ValueError(f"{source}: {len(missing)} missing name(s) {_first(missing)}, "
                         f"{len(unexpected)} unexpected name(s) {_first(unexpected)}")
    for name, shape in expected.items():
        if tuple(np.shape(given[name])) != tuple(shape):
            raise ValueError(f"{source}: {name} must have shape {tuple(shape)}, "
                             f"got {tuple(np.shape(given[name]))}")


def from_hf_gpt2(state_dict: Mapping[str, Any], config: GPTConfig | None = None
                 ) -> dict[str, np.ndarray]:
    """minigpt parameters from a Hugging Face GPT-2 state dict.

    Parameters
    ----------
    state_dict : mapping of str to ndarray or torch.Tensor
        ``GPT2LMHeadModel.state_dict()``, ``GPT2Model.state_dict()`` or the contents of a
        ``model.safetensors``: names with or without the ``transformer.`` prefix. The
        attention-mask buffers ``h.{i}.attn.bias`` / ``h.{i}.attn.masked_bias`` are ignored,
        and so is an ``lm_head.weight`` equal to ``wte.weight``.
    config : GPTConfig, optional
        If given, every shape is checked against it; otherwise the sizes are read off
        ``wte``, ``wpe`` and ``h.0.mlp.c_fc`` and the others must agree.

    Returns
    -------
    dict of str to ndarray
        Keyed as :func:`minigpt.config.param_shapes`, in the source's floating dtype, as
        fresh contiguous arrays (Conv1D weights transposed to ``(d_out, d_in)``).

    Raises
    ------
    ValueError
        For missing or unexpected names, a wrong shape, or an ``lm_head.weight`` that
        differs from ``wte.weight`` (an untied head, which minigpt does not have).
    TypeError
        For a non-mapping or non-floating arrays.

    Notes
    -----
    GPT-2's Conv1D computes :math:`y = x W + b` with :math:`W \\in \\mathbb R^{C_{in} \\times
    C_{out}}`; minigpt computes :math:`y = x W'^T + b` with :math:`W' = W^T`.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> sd = to_hf_gpt2(GPT(GPTConfig(50, 16, 2, 2, 8)).params)
    >>> sd["transformer.h.0.mlp.c_fc.weight"].shape
    (8, 32)
    >>> from_hf_gpt2(sd)["blocks.0.mlp.w_up"].shape
    (32, 8)
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping, got {type(state_dict).__name__}")
    arrays: dict[str, Any] = {}
    lm_head = None
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"state_dict keys must be str, got {type(key).__name__}")
        name = key[len(HF_PREFIX):] if key.startswith(HF_PREFIX) else key
        if BUFFER_RE.fullmatch(name):
            continue
        if name == LM_HEAD:
            lm_head = value
            continue
        if name in arrays:
            raise ValueError(f"state_dict holds {clipped_repr(name)} twice (with and without "
                             f"{HF_PREFIX!r})")
        arrays[name] = value
    if config is None:
        config = _read_config(arrays, "wte.weight", "wpe.weight", "h.0.mlp.c_fc.weight", 1,
                              _n_layer(list(arrays)), "state_dict")
    _check_n_layer(list(arrays), config, "state_dict")
    names = _name_map(config.n_layer)
    shapes = param_shapes(config)
    expected = {hf: shapes[mg][::-1] if t else shapes[mg] for hf, mg, t in names}
    _check_names_and_shapes(arrays, expected, "state_dict")
    params = {}
    for hf, mg, transposed in names:
        arr = _to_numpy(hf, arrays[hf])
        params[mg] = np.ascontiguousarray(arr.T) if transposed else arr
    if lm_head is not None:
        head = _to_numpy(LM_HEAD, lm_head)
        if head.shape != params["tok_emb"].shape or not np.array_equal(head, params["tok_emb"]):
            raise ValueError(f"{LM_HEAD} differs from wte.weight: an untied output head is not "
                             f"supported (minigpt's unembedding is tok_emb)")
    return params


def to_hf_gpt2(params: Mapping[str, np.ndarray], lm_head: bool = True) -> dict[str, np.ndarray]:
    """A Hugging Face ``GPT2LMHeadModel`` state dict from minigpt parameters.

    Parameters
    ----------
    params : mapping of str to ndarray
        Keyed as :func:`minigpt.config.param_shapes` (e.g. ``model.params``).
    lm_head : bool, default True
        Include ``lm_head.weight``, a copy of ``tok_emb``, as ``GPT2LMHeadModel.state_dict()``
        does; ``save_pretrained`` leaves the tied head out.

    Returns
    -------
    dict of str to ndarray
        Names with the ``transformer.`` prefix, weights in Conv1D layout ``(d_in, d_out)``,
        fresh contiguous arrays in the dtype of ``params``; loadable with
        ``GPT2LMHeadModel.load_state_dict`` after conversion to tensors.

    Raises
    ------
    ValueError
        For missing or unexpected names or inconsistent shapes.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> sd = to_hf_gpt2(GPT(GPTConfig(50, 16, 1, 2, 8)).params)
    >>> sd["transformer.h.0.attn.c_attn.weight"].shape, sd["lm_head.weight"].shape
    ((8, 24), (50, 8))
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping, got {type(params).__name__}")
    config = _read_config(params, "tok_emb", "pos_emb", "blocks.0.mlp.w_up", 0,
                          _n_layer(list(params)), "params")
    _check_names_and_shapes(params, param_shapes(config), "params")
    out = {}
    for hf, mg, transposed in _name_map(config.n_layer):
        arr = np.asarray(params[mg])
        out[HF_PREFIX + hf] = np.ascontiguousarray(arr.T) if transposed else arr.copy()
    if lm_head:
        out[LM_HEAD] = out[HF_PREFIX + "wte.weight"].copy()
    return out
