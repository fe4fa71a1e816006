"""Plain-text tables and JSON-ready values, for every result the package prints or saves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render rows as a fixed-width text table: text left-aligned, numbers right-aligned.

    Parameters
    ----------
    headers : sequence of str
    rows : sequence of sequences
        Each row holds one value per header; floats are shown with 3 decimals.

    Returns
    -------
    str
        A header line, a rule of dashes, one line per row.

    Examples
    --------
    >>> print(text_table(["layer", "recall"], [[0, 0.5], [1, 1.0]]))
    layer  recall
    -------------
        0   0.500
        1   1.000
    """
    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return f"{v:.3f}"
        return str(v)

    cells = [[cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(row[j], (int, float, np.number)) and not isinstance(row[j], bool)
                   for row in rows) if rows else False for j in range(len(headers))]
    widths = [max([len(h)] + [len(r[j]) for r in cells]) for j, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric)).rstrip()

    out = [line(list(headers)), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    return "\n".join(out + [line(r) for r in cells])


def jsonable(value: Any) -> Any:
    """Convert numpy arrays and scalars (also inside dicts, lists, tuples) to Python types.

    Examples
    --------
    >>> jsonable({"a": np.arange(2), "b": (np.float32(0.5), "x")})
    {'a': [0, 1], 'b': [0.5, 'x']}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
