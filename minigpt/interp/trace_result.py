"""What causal tracing found, per fact and averaged: tables, ROME's token categories, a plot.

Facts of one shape (same prompt length, subject at the same tokens: the athletes of one
template) average position by position into a (layer, position) table. Facts of different
shapes average by **ROME's token categories** instead (Meng et al. 2022, Figure 2 and its
notebook): the first subject token, the middle subject tokens, the last subject token, the
first token after the subject, the further tokens, and the prompt's last token. As in ROME,
each category pools every (fact, position) pair that falls in it, and one position may
count in two categories (a one-token subject is both its first and last token).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import FactPrompt
from .prompts import check_choice
from .tables import jsonable, text_table

TRACE_KINDS = {"resid": "resid_post", "mlp": "mlp_out", "attn": "attn_out"}  # kind -> hook point
CATEGORIES = ("first subject token", "middle subject tokens", "last subject token",
              "first subsequent token", "further tokens", "last token")


def category_positions(first: int, last: int, T: int) -> list[range]:
    """The positions of each of ROME's six token categories in one prompt.

    Parameters
    ----------
    first, last : int
        The subject's token span (inclusive).
    T : int
        The prompt length.

    Returns
    -------
    list of range
        One per :data:`CATEGORIES`: ``[first]``, ``first+1 .. last-1``, ``[last]``,
        ``[last+1]`` (empty when the subject ends the prompt), ``last+2 .. T-2``,
        ``[T-1]``.

    Examples
    --------
    >>> [list(r) for r in category_positions(1, 3, 8)]
    [[1], [2], [3], [4], [5, 6], [7]]
    """
    return [range(first, first + 1), range(first + 1, last), range(last, last + 1),
            range(last + 1, min(last + 2, T)), range(last + 2, T - 1), range(T - 1, T)]


@dataclass
class TraceResult:
    """The runs of :func:`~minigpt.interp.causal_trace`, per fact.

    Attributes
    ----------
    facts : list of FactPrompt
    tokens : list of list of str
        Each fact's prompt tokens, decoded one by one.
    spans : list of (int, int)
        Each fact's subject span (first, last), inclusive.
    kinds : list of str
        Which states were restored, among ``"resid"``, ``"mlp"``, ``"attn"``.
    noise_std : float
        Standard deviation of the noise added to the subject embeddings.
    n_samples : int
    window : int
        Layers restored together for ``"mlp"`` and ``"attn"`` (1: one layer).
    mode : {"product", "first"}
        How p(answer) was computed (see :mod:`minigpt.interp.scoring`).
    p_clean, p_corrupt : ndarray, shape (N,)
        p(answer) clean and corrupted (the mean over the noise samples).
    restored : list of ndarray, each shape (K, L, T_n)
        ``restored[n][k, l, t]``: fact n's p(answer) with state ``kinds[k]`` of layer l at
        position t restored, mean over the noise samples. Before the subject it equals
        ``p_corrupt[n]`` (those states are clean already).
    labels : list of str or None
        One label per position when all facts share one shape (see :attr:`same_shape`).
    template : int, str or None
        The athletes' template, when athletes were traced.
    """

    facts: list[FactPrompt]
    tokens: list[list[str]]
    spans: list[tuple[int, int]]
    kinds: list[str]
    noise_std: float
    n_samples: int
    window: int
    mode: str
    p_clean: np.ndarray
    p_corrupt: np.ndarray
    restored: list[np.ndarray]
    labels: list[str] | None = None
    template: int | str | None = None

    # ---------------------------------------------------------------- shape

    @property
    def same_shape(self) -> bool:
        """Whether every fact has the same prompt length and subject span, so that effects
        average position by position."""
        return len({(len(t), s) for t, s in zip(self.tokens, self.spans)}) == 1

    def _require_same_shape(self, what: str) -> None:
        if not self.same_shape:
            raise ValueError(f"{what} needs facts of one shape (prompt length and subject "
                             f"span); these differ: use category_effect(kind) instead")

    @property
    def first(self) -> int:
        """The subject's first token position, shared by all facts."""
        self._require_same_shape("first")
        return self.spans[0][0]

    @property
    def last(self) -> int:
        """The subject's last token position, shared by all facts."""
        self._require_same_shape("last")
        return self.spans[0][1]

    @property
    def p_restored(self) -> np.ndarray:
        """``restored`` stacked, shape (K, L, T, N), for facts of one shape."""
        self._require_same_shape("p_restored")
        return np.stack(self.restored, axis=-1)  # (K, L, T, N)

    @property
    def n_layer(self) -> int:
        """L, the number of layers traced."""
        return self.restored[0].shape[1]

    # ---------------------------------------------------------------- effects

    @property
    def total_effect(self) -> float:
        """Mean over facts of p(clean) - p(corrupted)."""
        return float(np.mean(self.p_clean - self.p_corrupt))

    def fact_effect(self, n: int, kind: str) -> np.ndarray:
        """Fact n's indirect effects p(restored) - p(corrupted), shape (L, T_n)."""
        k = self.kinds.index(check_choice("kind", kind, self.kinds))
        return self.restored[n][k] - self.p_corrupt[n]  # (L, T_n)

    def indirect_effect(self, kind: str) -> np.ndarray:
        """Mean over facts of p(restored) - p(corrupted), shape (L, T); facts of one shape."""
        check_choice("kind", kind, self.kinds)
        self._require_same_shape("indirect_effect")
        return np.mean([self.fact_effect(n, kind) for n in range(len(self.facts))], axis=0)

    def category_effect(self, kind: str) -> np.ndarray:
        """Indirect effect averaged by ROME's token categories, shape (L, 6).

        Column c is the mean over every (fact, position) pair of category
        :data:`CATEGORIES` [c]; NaN where no fact has such a position (no middle subject
        tokens when every subject is at most two tokens long).
        """
        L = self.n_layer
        total = np.zeros((L, len(CATEGORIES)))
        count = np.zeros(len(CATEGORIES))
        for n, ((first, last), tokens) in enumerate(zip(self.spans, self.tokens)):
            ie = self.fact_effect(n, kind)  # (L, T_n)
            for c, positions in enumerate(category_positions(first, last, len(tokens))):
                total[:, c] += ie[:, positions].sum(axis=1)
                count[c] += len(positions)
        with np.errstate(invalid="ignore"):
            return total / count  # (L, 6); 0/0 -> NaN for an empty category

    def peak(self, kind: str) -> tuple[int, int, float]:
        """The (layer, position, indirect effect) where restoring ``kind`` helps most;
        facts of one shape."""
        ie = self.indirect_effect(kind)
        layer, pos = np.unravel_index(int(np.argmax(ie)), ie.shape)
        return int(layer), int(pos), float(ie[layer, pos])

    def category_peak(self, kind: str) -> tuple[int, str, float]:
        """The (layer, category, indirect effect) of the largest category average."""
        ce = self.category_effect(kind)
        layer, c = np.unravel_index(int(np.nanargmax(ce)), ce.shape)
        return int(layer), CATEGORIES[c], float(ce[layer, c])

    # ---------------------------------------------------------------- words

    def _where(self, pos: int) -> str:
        T = len(self.tokens[0])
        if pos == self.last:
            return "the last subject token"
        if pos == self.first:
            return "the first subject token"
        if pos == T - 1:
            return f"the last prompt token ({self.labels[pos]!r})"
        return f"token {pos} ({self.labels[pos]!r})"

    def _depth(self, layer: int) -> str:
        third = layer / max(self.n_layer - 1, 1)
        return "early" if third < 1 / 3 else "late" if third > 2 / 3 else "middle"

    def _peak_words(self, kind: str) -> tuple[int, str, float, bool]:
        """Layer, place in words, effect, and whether the place is the last subject token."""
        if self.same_shape:
            layer, pos, ie = self.peak(kind)
            return layer, self._where(pos), ie, pos == self.last
        layer, category, ie = self.category_peak(kind)
        return layer, f"the {category}", ie, category == "last subject token"

    def summary(self) -> str:
        """What the trace says, computed from its numbers, beside ROME's GPT-2 XL finding."""
        L, te = self.n_layer, self.total_effect
        lines = [f"p(answer): clean {self.p_clean.mean():.3f}, corrupted "
                 f"{self.p_corrupt.mean():.3f} (total effect {te:.3f}; noise std "
                 f"{self.noise_std:.3f}, {self.n_samples} samples, {len(self.facts)} facts)"]
        for kind in self.kinds:
            layer, where, ie, _ = self._peak_words(kind)
            share = (f"{ie / te:.0%} of the total" if te > 0 else
                     "share of the total n/a: total effect <= 0")  # no share of nothing
            lines.append(f"{kind}: strongest indirect effect {ie:.3f} ({share}) at layer "
                         f"{layer} of {L} ({self._depth(layer)}), {where}")
        if "resid" in self.kinds and self.same_shape:
            best = self.indirect_effect("resid").argmax(axis=1)  # (L,) best position per layer
            lines.append("residual stream, best position by layer: " +
                         ", ".join(f"{i}:{self.labels[p]}" for i, p in enumerate(best)))
        if "mlp" in self.kinds:
            ce = np.nan_to_num(self.category_effect("mlp"), nan=-np.inf)
            at_subject, at_end = ce[:, CATEGORIES.index("last subject token")], ce[:, -1]
            lines.append(
                f"mlp at the last subject token: max {at_subject.max():.3f} (layer "
                f"{int(at_subject.argmax())}); at the last prompt token: max "
                f"{at_end.max():.3f} (layer {int(at_end.argmax())})")
            _, where, _, agrees = self._peak_words("mlp")
            lines.append(f"GPT-2 XL (ROME): mid-layer MLPs at the last subject token decide; "
                         f"here the MLP peak is at {where}, which "
                         f"{'agrees with' if agrees else 'differs from'} it")
        if "attn" in self.kinds:
            layer, where, _, _ = self._peak_words("attn")
            lines.append(f"GPT-2 XL (ROME): attention matters at the last token in late layers; "
                         f"here attention peaks at {where}, layer {layer} "
                         f"({self._depth(layer)})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the averaged tables, the summary, and every fact's own table."""
        out: dict[str, Any] = {
            "template": self.template, "kinds": self.kinds, "mode": self.mode,
            "window": self.window, "noise_std": self.noise_std, "n_samples": self.n_samples,
            "p_clean": float(self.p_clean.mean()), "p_corrupt": float(self.p_corrupt.mean()),
            "total_effect": self.total_effect, "categories": list(CATEGORIES),
            "category_effect": {k: self.category_effect(k) for k in self.kinds},
            "summary": self.summary(),
            "facts": [{"prompt": f.prompt, "subject": f.subject, "answer": f.answer,
                       "tokens": tokens, "subject_span": list(span), "p_clean": pc,
                       "p_corrupt": pk,
                       "indirect_effect": {k: self.fact_effect(n, k) for k in self.kinds}}
                      for n, (f, tokens, span, pc, pk) in enumerate(zip(
                          self.facts, self.tokens, self.spans, self.p_clean, self.p_corrupt))],
        }
        if self.same_shape:
            out.update(labels=self.labels, first=self.first, last=self.last,
                       indirect_effect={k: self.indirect_effect(k) for k in self.kinds})
        # NaN (an empty category) is not JSON: it becomes null
        return jsonable(_nan_to_none(out))

    def to_table(self, kind: str | None = None) -> str:
        """Average indirect effects as text, one table per kind: layers x tokens for facts
        of one shape, layers x ROME's categories otherwise."""
        parts = []
        for k in ([kind] if kind is not None else self.kinds):
            if self.same_shape:
                ie, columns = self.indirect_effect(k), self.labels
            else:
                ie, columns = self.category_effect(k), list(CATEGORIES)
            rows = [[f"layer {i}"] + [float(v) for v in ie[i]] for i in range(ie.shape[0])]
            parts.append(f"indirect effect, restoring {k} ({TRACE_KINDS[k]}):\n"
                         + text_table([k] + columns, rows))
        return "\n\n".join(parts)


def _nan_to_none(value: Any) -> Any:
    """Replace NaN floats (also inside arrays, lists, dicts) by None."""
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_none(v) for v in value]
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return _nan_to_none(value.tolist())
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return None
    return value


def plot_causal_trace(result: TraceResult, kind: str = "mlp", ax: Any = None) -> Any:
    """Heatmap of the average indirect effect: tokens (or ROME's categories) down, layers
    across, as in ROME.

    Parameters
    ----------
    result : TraceResult
    kind : {"resid", "mlp", "attn"}
    ax : matplotlib Axes, optional
        Drawn into a new figure when not given.

    Returns
    -------
    matplotlib Axes
        Needs matplotlib (the ``plot`` extra), imported only here.
    """
    import matplotlib.pyplot as plt

    if result.same_shape:
        ie, rows = result.indirect_effect(kind), result.labels  # (L, T)
    else:
        ie, rows = result.category_effect(kind), list(CATEGORIES)  # (L, 6)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.7 * ie.shape[0], 0.6 + 0.45 * ie.shape[1]))
    image = ax.imshow(ie.T, cmap={"resid": "Purples", "mlp": "Greens", "attn": "Reds"}[kind],
                      aspect="auto", vmin=min(0.0, float(np.nanmin(ie))))
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xticks(range(ie.shape[0]))
    ax.set_xlabel("layer")
    ax.set_title(f"restoring {TRACE_KINDS[kind]}: indirect effect on p(answer)")
    ax.figure.colorbar(image, ax=ax)
    return ax
