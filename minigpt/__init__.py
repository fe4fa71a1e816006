"""minigpt: a GPT-3-shaped transformer in numpy, with every gradient written by hand.

The public names are re-exported here; the operations themselves live in
:mod:`minigpt.nn`.
"""

from . import hf
from .config import GPTConfig, count_params, gpt3_config, param_shapes
from .finite_diff import GradcheckResult, gradcheck
from .model import GPT, init_params

__version__ = "0.1.0"

__all__ = [
    "GPT",
    "GPTConfig",
    "GradcheckResult",
    "count_params",
    "gpt3_config",
    "gradcheck",
    "hf",
    "init_params",
    "param_shapes",
]
