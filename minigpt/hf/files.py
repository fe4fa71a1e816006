"""A Hugging Face GPT-2 folder on disk: read it into a minigpt model, write one out.

A GPT-2 folder (what ``save_pretrained`` writes, or a download of ``gpt2``) holds
``config.json``, ``model.safetensors`` and, for the tokenizer, ``vocab.json`` and
``merges.txt``: :func:`load_hf_gpt2` reads it with numpy alone.

The weights' names and layouts are translated by :mod:`minigpt.hf.mapping`, the config by
:mod:`minigpt.hf.config_json`; the tokenizer is :class:`minigpt.bpe.GPT2Tokenizer`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..runtime.atomic import atomic_path
from ..bpe import GPT2Tokenizer
from ..config import GPTConfig
from ..model import GPT
from ..runtime.tensorfile import check_dtypes, check_fits, read_header, write_safetensors
from .config_json import config_from_hf, config_to_hf
from .mapping import BUFFER_RE, HF_PREFIX, from_hf_gpt2, to_hf_gpt2

CONFIG_FILE = "config.json"
SAFETENSORS_FILE = "model.safetensors"
PICKLE_FILE = "pytorch_model.bin"
VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
# The weights' dtypes minigpt reads (GPT-2 checkpoints come in float32 and float16); they
# are converted to the model's dtype. bfloat16 and float8 have no numpy dtype.
WEIGHT_DTYPES = ("F32", "F16", "F64")
NARROWEST_WEIGHT_BYTES = 2  # float16


def _is_buffer(name: str) -> bool:
    """An attention-mask buffer, which is not a weight and is skipped."""
    return BUFFER_RE.fullmatch(name.removeprefix(HF_PREFIX)) is not None


def _read_safetensors(path: str, config: GPTConfig, config_path: str) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file, skipping attention-mask buffers.

    The header is checked first: every weight must have a dtype of :data:`WEIGHT_DTYPES`,
    and the file must be large enough for the parameters ``config`` asks for.
    """
    from safetensors import SafetensorError, safe_open

    try:
        header = read_header(path)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not a readable safetensors file "
                         f"(truncated or corrupted?): {err}") from err
    weights = {k: v for k, v in header.tensors.items() if not _is_buffer(k)}
    check_dtypes(weights, WEIGHT_DTYPES, path)
    check_fits(config, header.file_bytes, NARROWEST_WEIGHT_BYTES, config_path)
    try:
        with safe_open(path, framework="numpy") as f:
            return {k: f.get_tensor(k) for k in weights}
    except (SafetensorError, OSError, ValueError, TypeError) as err:
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
        :func:`config_from_hf`), weights of a dtype other than float32, float16 or float64
        (bfloat16, float8: the message names the tensor), or weights whose names or shapes
        do not match the config.

    Notes
    -----
    float16 weights are converted to ``dtype``. Neither file is trusted: the weights'
    header is read first, the config must fit in the weights' bytes, and its ``n_layer``
    must match the blocks present before the config's names are listed; so any folder
    is refused in time and memory of the order of its files' size.

    Examples
    --------
    >>> from minigpt import GPTConfig
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
    except (ValueError, RecursionError) as err:
        # ValueError: JSONDecodeError, UnicodeDecodeError, an integer of more than 4300
        # digits; RecursionError: arrays nested deeper than Python's recursion limit
        raise ValueError(f"{config_path} is not valid JSON (truncated?): "
                         f"{str(err)[:200]}") from err
    try:
        config = config_from_hf(hf_config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{config_path}: {err}") from err

    weights_path = os.path.join(folder, SAFETENSORS_FILE)
    pickle_path = os.path.join(folder, PICKLE_FILE)
    if os.path.isfile(weights_path):
        state = _read_safetensors(weights_path, config, config_path)
    elif os.path.isfile(pickle_path) and allow_pickle:
        weights_path = pickle_path
        check_fits(config, os.path.getsize(pickle_path), NARROWEST_WEIGHT_BYTES, config_path)
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
    >>> from minigpt import GPTConfig
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> save_hf_gpt2(folder, GPT(GPTConfig(50, 16, 1, 2, 8)))
    >>> sorted(os.listdir(folder))
    ['config.json', 'model.safetensors']
    >>> import shutil; shutil.rmtree(folder)
    """
    if not isinstance(model, GPT):
        raise TypeError(f"model must be a minigpt GPT, got {type(model).__name__}")
    if tokenizer is not None and not isinstance(tokenizer, GPT2Tokenizer):
        raise TypeError(f"tokenizer must be a GPT2Tokenizer or None, "
                        f"got {type(tokenizer).__name__}")
    hf_config = config_to_hf(model.config)
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    with atomic_path(os.path.join(folder, CONFIG_FILE)) as tmp, \
            open(tmp, "w", encoding="utf-8") as f:
        json.dump(hf_config, f, indent=2)
    tensors = to_hf_gpt2(model.params, lm_head=False)
    with atomic_path(os.path.join(folder, SAFETENSORS_FILE)) as tmp:  # its one temporary file
        write_safetensors(tmp, tensors, metadata={"format": "pt"})
    if tokenizer is not None:
        tokenizer.save_files(os.path.join(folder, VOCAB_FILE), os.path.join(folder, MERGES_FILE))
