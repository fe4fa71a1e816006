"""Kept importable: this module is :mod:`minigpt.runtime.atomic` (the same module object)."""

import sys

from .runtime import atomic

sys.modules[__name__] = atomic
