"""The logit lens: read the residual stream after every layer as if it were the last.

The model's final step turns the residual stream into next-token scores with ``ln_f`` and
the (tied) unembedding. Applying that same step to the stream after layer l asks: "if the
model stopped here, what would it say?" Watching the right sport's rank climb to 1 layer
by layer shows where the answer appears in the stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import Fact
from ..nn import layernorm_forward
from .prompts import answer_stats, check_choice, check_model, fact_prompts, template_list
from .tables import jsonable, text_table

LENS_WHERES = ("last", "last_subject")  # the prompt's last token, or the subject's last token


def decode_residual(model: Any, x: np.ndarray) -> np.ndarray:
    """Next-token logits of a residual-stream state: the model's own final step.

    Parameters
    ----------
    model : GPT
    x : ndarray, shape (..., C)

    Returns
    -------
    ndarray, shape (..., V)
        :math:`\\mathrm{LN}_f(x)\\, E^T` with ``E = tok_emb``.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> model = GPT(GPTConfig(vocab_size=16, n_ctx=8, n_layer=1, n_head=2, d_model=8))
    >>> decode_residual(model, np.ones((2, 8), dtype=np.float32)).shape
    (2, 16)
    """
    p = check_model(model).params
    h, _ = layernorm_forward(x, p["ln_f.gain"], p["ln_f.bias"])  # (..., C)
    return h @ p["tok_emb"].T  # (..., C) @ (C, V) -> (..., V)


@dataclass
class LensResult:
    """Rank and probability of the right sport, decoded after each layer.

    Attributes
    ----------
    points : list of str
        The decoded activations: ``embed``, then ``blocks.{l}.resid_post`` for each layer.
    where : {"last", "last_subject"}
        The position decoded.
    templates : list
    ranks : ndarray of int64, shape (n_prompts, n_layer + 1)
        1 = the right sport is the top token.
    probs : ndarray, shape (n_prompts, n_layer + 1)
    """

    points: list[str]
    where: str
    templates: list
    ranks: np.ndarray
    probs: np.ndarray

    @property
    def labels(self) -> list[str]:
        """Short names of the points: ``embed``, ``layer 0``, ..."""
        return ["embed"] + [f"layer {i}" for i in range(len(self.points) - 1)]

    @property
    def top1(self) -> np.ndarray:
        """Share of prompts whose right sport is the top token, per point, shape (n_layer + 1,)."""
        return (self.ranks == 1).mean(axis=0)

    @property
    def mean_rank(self) -> np.ndarray:
        """Mean rank of the right sport per point, shape (n_layer + 1,)."""
        return self.ranks.mean(axis=0)

    @property
    def median_rank(self) -> np.ndarray:
        """Median rank per point, shape (n_layer + 1,)."""
        return np.median(self.ranks, axis=0)

    @property
    def mean_p(self) -> np.ndarray:
        """Mean probability of the right sport per point, shape (n_layer + 1,)."""
        return self.probs.mean(axis=0)

    def summary(self) -> str:
        """Where the answer first becomes the top token for most prompts."""
        top1 = self.top1
        hit = np.flatnonzero(top1 > 0.5)
        where = "the last prompt token" if self.where == "last" else "the last subject token"
        if hit.size == 0:
            return f"at {where}, the right sport is never the top token for most prompts"
        i = int(hit[0])
        return (f"at {where}, the right sport first tops the decoded stream for most prompts "
                f"after {self.labels[i]} ({top1[i]:.0%}; mean rank {self.mean_rank[i]:.1f})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per-point averages and the summary."""
        return jsonable({"where": self.where, "templates": self.templates,
                         "points": self.points, "top1": self.top1,
                         "mean_rank": self.mean_rank, "median_rank": self.median_rank,
                         "mean_p": self.mean_p, "summary": self.summary()})

    def to_table(self) -> str:
        """A text table: one line per decoded point."""
        rows = [[lab, float(m), float(md), float(t), float(p)] for lab, m, md, t, p in
                zip(self.labels, self.mean_rank, self.median_rank, self.top1, self.mean_p)]
        return text_table(["decoded after", "mean rank", "median rank", "top-1", "p(sport)"], rows)


def logit_lens(model: Any, tokenizer: Any, facts: Sequence[Fact] | None = None,
               templates: Any = None, where: str = "last") -> LensResult:
    """Decode the residual stream after the embedding and after each layer.

    Parameters
    ----------
    model : GPT
    tokenizer : WordTokenizer
    facts : sequence of Fact, optional
        Default: the embedded athletes.
    templates : int, str or sequence of them, optional
        Default: every template, pooled.
    where : {"last", "last_subject"}
        Decode at the prompt's last token (where the answer is predicted) or at the
        subject's last token (does the stream there already name the sport?).

    Returns
    -------
    LensResult

    Notes
    -----
    For the stream :math:`x^{(l)}` after layer l, logits :math:`\\mathrm{LN}_f(x^{(l)}) E^T`,
    then the right sport's rank and softmax probability. After the last layer this is the
    model's own output, so that column equals the model's real ranks.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> from minigpt.facts import facts_dataset
    >>> tok, _, _ = facts_dataset()
    >>> model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    >>> lens = logit_lens(model, tok, templates=0)
    >>> lens.ranks.shape, lens.labels
    ((180, 3), ['embed', 'layer 0', 'layer 1'])
    """
    check_model(model)
    check_choice("where", where, LENS_WHERES)
    points = ["embed"] + [f"blocks.{i}.resid_post" for i in range(model.config.n_layer)]
    ranks, probs = [], []
    for template in template_list(templates):
        P = fact_prompts(tokenizer, facts, template)
        pos = P.T - 1 if where == "last" else P.last
        _, cache = model.run_with_cache(P.ids, names=points)
        x = np.stack([cache[name][:, pos] for name in points], axis=1)  # (N, L+1, C)
        logits = decode_residual(model, x)  # (N, L+1, V)
        n, k, V = logits.shape
        p, r = answer_stats(logits.reshape(n * k, V), np.repeat(P.answers, k))  # (N*(L+1),)
        probs.append(p.reshape(n, k))
        ranks.append(r.reshape(n, k))
    return LensResult(points, where, template_list(templates), np.concatenate(ranks),
                      np.concatenate(probs))


def plot_logit_lens(result: LensResult, ax: Any = None) -> Any:
    """Mean rank (log scale) and top-1 share of the right sport, per decoded layer.

    Parameters
    ----------
    result : LensResult
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        Needs matplotlib (the ``plot`` extra), imported only here.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    x = np.arange(len(result.labels))
    ax.plot(x, result.mean_rank, "o-", label="mean rank")
    ax.set_yscale("log")
    ax.set_ylabel("rank of the right sport (1 = top)")
    ax.set_xticks(x, result.labels)
    twin = ax.twinx()
    twin.plot(x, result.top1, "s--", color="tab:green", label="top-1 share")
    twin.set_ylim(0, 1.05)
    twin.set_ylabel("top-1 share")
    ax.set_title(f"logit lens at the {result.where.replace('_', ' ')} token")
    return ax
