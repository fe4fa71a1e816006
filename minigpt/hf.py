"""Hugging Face GPT-2 in minigpt: the same weights under other names, and the folder format.

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

A GPT-2 folder (what ``save_pretrained`` writes, or a download of ``gpt2``) holds
``config.json``, ``model.safetensors`` and, for the tokenizer, ``vocab.json`` and
``merges.txt``: :func:`load_hf_gpt2` reads it with numpy alone.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from .bpe import GPT2Tokenizer
from .config import GPTConfig, param_shapes
from .model import GPT

HF_PREFIX = "transformer."
LM_HEAD = "lm_head.weight"
CONFIG_FILE = "config.json"
SAFETENSORS_FILE = "model.safetensors"
PICKLE_FILE = "pytorch_model.bin"
VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
LAYER_NORM_EPS = 1e-5  # minigpt's LayerNorm epsilon, and GPT-2's
MAX_SHOWN = 5  # how many names an error message lists
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
    """One more than the largest block index among ``names`` (at least 1)."""
    indices = [int(m.group(1)) for m in map(BLOCK_RE.match, names) if m]
    return max(indices) + 1 if indices else 1


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


def _check_names_and_shapes(given: Mapping[str, np.ndarray], expected: Mapping[str, tuple],
                            source: str) -> None:
    """Raise ValueError unless ``given`` has exactly the names and shapes of ``expected``."""
    missing = [n for n in expected if n not in given]
    unexpected = [n for n in given if n not in expected]
    if missing or unexpected:
        raise ValueError(f"{source}: {len(missing)} missing name(s) {missing[:MAX_SHOWN]}, "
                         f"{len(unexpected)} unexpected name(s) {unexpected[:MAX_SHOWN]}")
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
            raise ValueError(f"state_dict holds {name!r} twice (with and without {HF_PREFIX!r})")
        arrays[name] = value
    if config is None:
        config = _read_config(arrays, "wte.weight", "wpe.weight", "h.0.mlp.c_fc.weight", 1,
                              _n_layer(list(arrays)), "state_dict")
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


def _read_safetensors(path: str) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file, skipping attention-mask buffers."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="numpy") as f:
            return {k: f.get_tensor(k) for k in f.keys()
                    if not BUFFER_RE.fullmatch(k.removeprefix(HF_PREFIX))}
    except TypeError as err:  # a dtype numpy lacks, such as bfloat16
        raise ValueError(f"{path} holds a dtype numpy cannot read ({err}); save the weights "
                         f"as float32 or float16") from err
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"{path} is not a readable safetensors file "
                         f"(truncated or corrupted?): {err}") from err


def _read_pickle(path: str) -> dict[str, Any]:
    """The tensors of a PyTorch ``.bin`` file, through torch's restricted unpickler."""
    try:
        import torch
    except ImportError as err:
        raise ImportError(f"reading {path} needs torch; convert it to model.safetensors "
                          f"instead") from err
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds on a broken archive
        raise ValueError(f"{path} is not a readable PyTorch state dict: {err}") from err
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} must hold a state dict, got {type(state).__name__}")
    return state


def load_hf_gpt2(folder: str | os.PathLike, dtype: Any = np.float32, allow_pickle: bool = False
                 ) -> tuple[GPT, GPT2Tokenizer | None]:
    """Load a Hugging Face GPT-2 folder into a minigpt model, on numpy alone.

    Parameters
    ----------
    folder : path
        Holds ``config.json`` and ``model.safetensors``, and optionally ``vocab.json`` with
        ``merges.txt`` (the tokenizer).
    dtype : {numpy.float32, numpy.float64}, default float32
        The model's compute dtype.
    allow_pickle : bool, default False
        If there is no ``model.safetensors``, read ``pytorch_model.bin`` instead (needs
        torch). **That file is a pickle**: unpickling can run code chosen by whoever made
        the file. It is read with ``torch.load(weights_only=True)``, which refuses anything
        but tensors and plain containers; still, only pass True for files you trust.

    Returns
    -------
    model : GPT
        Computes the same logits as ``transformers.GPT2LMHeadModel`` on the same folder.
    tokenizer : GPT2Tokenizer or None
        ``None`` when the folder has neither ``vocab.json`` nor ``merges.txt``.

    Raises
    ------
    FileNotFoundError
        If the folder, ``config.json`` or the weights are missing, or one of the two
        tokenizer files is there without the other.
    ValueError
        Naming the file: a truncated or malformed file, an unsupported config (see
        :func:`config_from_hf`), or weights whose names or shapes do not match the config.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> save_hf_gpt2(folder, GPT(GPTConfig(50, 16, 2, 2, 8), seed=0))
    >>> model, tokenizer = load_hf_gpt2(folder)
    >>> model.config.n_layer, model.params["blocks.1.mlp.w_down"].shape, tokenizer
    (2, (8, 32), None)
    >>> import shutil; shutil.rmtree(folder)
    """
    if not isinstance(allow_pickle, bool):
        raise TypeError(f"allow_pickle must be a bool, got {type(allow_pickle).__name__}")
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"GPT-2 folder {folder!r} does not exist or is not a directory")
    config_path = os.path.join(folder, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"{config_path} not found: a GPT-2 folder needs {CONFIG_FILE}")
    try:
        with open(config_path, encoding="utf-8") as f:
            hf_config = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{config_path} is not valid JSON (truncated?): {err}") from err
    try:
        config = config_from_hf(hf_config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{config_path}: {err}") from err

    weights_path = os.path.join(folder, SAFETENSORS_FILE)
    pickle_path = os.path.join(folder, PICKLE_FILE)
    if os.path.isfile(weights_path):
        state = _read_safetensors(weights_path)
    elif os.path.isfile(pickle_path) and allow_pickle:
        weights_path = pickle_path
        state = _read_pickle(pickle_path)
    elif os.path.isfile(pickle_path):
        raise FileNotFoundError(
            f"{weights_path} not found; {pickle_path} is there, but it is a pickle, which can "
            f"run code when loaded: pass allow_pickle=True if you trust it")
    else:
        raise FileNotFoundError(f"{weights_path} not found: a GPT-2 folder needs "
                                f"{SAFETENSORS_FILE}")
    try:
        params = from_hf_gpt2(state, config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{weights_path} does not match {config_path}: {err}") from err
    model = GPT(config, dtype=dtype, params=params)

    vocab_path = os.path.join(folder, VOCAB_FILE)
    merges_path = os.path.join(folder, MERGES_FILE)
    have = [os.path.isfile(vocab_path), os.path.isfile(merges_path)]
    if not any(have):
        return model, None
    if not all(have):
        lacking = merges_path if have[0] else vocab_path
        raise FileNotFoundError(f"{lacking} not found; the tokenizer needs both {VOCAB_FILE} "
                                f"and {MERGES_FILE}")
    tokenizer = GPT2Tokenizer.from_files(vocab_path, merges_path)
    if tokenizer.vocab_size > config.vocab_size:
        raise ValueError(f"{vocab_path} has {tokenizer.vocab_size} tokens but the model "
                         f"({config_path}) only {config.vocab_size}")
    return model, tokenizer


def save_hf_gpt2(folder: str | os.PathLike, model: GPT,
                 tokenizer: GPT2Tokenizer | None = None) -> None:
    """Write a model as a Hugging Face GPT-2 folder.

    Parameters
    ----------
    folder : path
        Created if needed; ``config.json`` and ``model.safetensors`` (and ``vocab.json``
        with ``merges.txt`` when a tokenizer is given) are written into it.
    model : GPT
        Must use dense attention.
    tokenizer : GPT2Tokenizer, optional

    Notes
    -----
    ``transformers.GPT2LMHeadModel.from_pretrained(folder)`` and :func:`load_hf_gpt2` both
    read the result. Weights keep the model's dtype; the tied head is not stored.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> save_hf_gpt2(folder, GPT(GPTConfig(50, 16, 1, 2, 8)))
    >>> sorted(os.listdir(folder))
    ['config.json', 'model.safetensors']
    >>> import shutil; shutil.rmtree(folder)
    """
    from safetensors.numpy import save_file

    if not isinstance(model, GPT):
        raise TypeError(f"model must be a minigpt GPT, got {type(model).__name__}")
    if tokenizer is not None and not isinstance(tokenizer, GPT2Tokenizer):
        raise TypeError(f"tokenizer must be a GPT2Tokenizer or None, "
                        f"got {type(tokenizer).__name__}")
    hf_config = config_to_hf(model.config)
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(hf_config, f, indent=2)
    tensors = to_hf_gpt2(model.params, lm_head=False)
    save_file(tensors, os.path.join(folder, SAFETENSORS_FILE), metadata={"format": "pt"})
    if tokenizer is not None:
        tokenizer.save_files(os.path.join(folder, VOCAB_FILE), os.path.join(folder, MERGES_FILE))
