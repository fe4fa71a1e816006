"""Hugging Face GPT-2 in minigpt: the same weights under other names, and the folder format.

GPT-2 and minigpt compute the same function; only the bookkeeping differs. It is kept in
three modules:

- :mod:`minigpt.hf.mapping`: the names and layouts of the weights, with the table of every
  name (:func:`from_hf_gpt2`, :func:`to_hf_gpt2`);
- :mod:`minigpt.hf.config_json`: GPT-2's ``config.json`` and :class:`~minigpt.config.GPTConfig`
  (:func:`config_from_hf`, :func:`config_to_hf`);
- :mod:`minigpt.hf.files`: a GPT-2 folder on disk (:func:`load_hf_gpt2`,
  :func:`save_hf_gpt2`).

Every name of the three is importable from ``minigpt.hf``.
"""

from .config_json import (
    FROM_HF_ACTIVATION,
    LAYER_NORM_EPS,
    REQUIRED_HF_VALUES,
    TO_HF_ACTIVATION,
    config_from_hf,
    config_to_hf,
)
from .files import (
    CONFIG_FILE,
    MERGES_FILE,
    PICKLE_FILE,
    SAFETENSORS_FILE,
    VOCAB_FILE,
    load_hf_gpt2,
    save_hf_gpt2,
)
from .mapping import (
    BLOCK_NAMES,
    BLOCK_RE,
    BUFFER_RE,
    HF_PREFIX,
    LM_HEAD,
    MAX_SHOWN,
    OUTER_NAMES,
    from_hf_gpt2,
    to_hf_gpt2,
)

__all__ = [
    "config_from_hf",
    "config_to_hf",
    "from_hf_gpt2",
    "load_hf_gpt2",
    "save_hf_gpt2",
    "to_hf_gpt2",
]
