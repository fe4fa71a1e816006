"""Choosing the next token from logits: kept importable; the code is in :mod:`minigpt.generation`."""

from .generation import check_sampling_args, sample_logits  # noqa: F401
