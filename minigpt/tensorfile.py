"""Kept importable: this module is :mod:`minigpt.runtime.tensorfile` (the same module object)."""

import sys

from .runtime import tensorfile

sys.modules[__name__] = tensorfile
