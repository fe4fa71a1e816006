"""Kept importable: this module is :mod:`minigpt.runtime.threads` (the same module object)."""

import sys

from .runtime import threads

sys.modules[__name__] = threads
