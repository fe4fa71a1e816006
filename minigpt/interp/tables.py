"""Kept importable: the table/JSON helpers are in :mod:`minigpt.tables`."""
from ..tables import jsonable, text_table  # noqa: F401
