"""Kept importable: this module is :mod:`minigpt.runtime.allocator` (the same module object)."""

import sys

from .runtime import allocator

sys.modules[__name__] = allocator
