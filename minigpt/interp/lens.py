"""The logit lens: read the residual stream after every layer as if it were the last.

The model's final step turns the residual stream into next-token scores with ``ln_f`` and
the (tied) unembedding. Applying that same step to the stream after layer l asks: "if the
model stopped here, what would it say?" Watching the right answer's rank climb to 1 layer
by layer shows where the answer appears in the stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..nn import layernorm_forward
from .encoding import encode_facts, is_athletes
from .prompts import answer_stats, check_choice, check_model, template_list
from .scoring import group_facts
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
    # one (n, C) @ (C, V) product: a stacked (..., C) operand would be multiplied slice by
    # slice, reading the whole (V, C) table once per slice
    logits = h.reshape(-1, h.shape[-1]) @ p["tok_emb"].T  # (n, C) @ (C, V) -> (n, V)
    return logits.reshape(*h.shape[:-1], -1)  # (..., V)


@dataclass
class LensResult:
    """Rank and probability of the right answer, decoded after each layer.

    Attributes
    ----------
    points : list of str
        The decoded activations: ``embed``, then ``blocks.{l}.resid_post`` for each layer.
    where : {"last", "last_subject"}
        The position decoded.
    templates : list
    ranks : ndarray of int64, shape (n_prompts, n_layer + 1)
        1 = the right answer is the top token.
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
        """Share of prompts whose right answer is the top token, per point, shape (n_layer + 1,)."""
        return (self.ranks == 1).mean(axis=0)

    @property
    def mean_rank(self) -> np.ndarray:
        """Mean rank of the right answer per point, shape (n_layer + 1,)."""
        return self.ranks.mean(axis=0)

    @property
    def median_rank(self) -> np.ndarray:
        """Median rank per point, shape (n_layer + 1,)."""
        return np.median(self.ranks, axis=0)

    @property
    def mean_p(self) -> np.ndarray:
        """Mean probability of the right answer per point, shape (n_layer + 1,)."""
        return self.probs.mean(axis=0)

    def summary(self) -> str:
        """Where the answer first becomes the top token for most prompts."""
        top1 = self.top1
        hit = np.flatnonzero(top1 > 0.5)
        where = "the last prompt token" if self.where == "last" else "the last subject token"
        if hit.size == 0:
            return f"at {where}, the right answer is never the top token for most prompts"
        i = int(hit[0])
        return (f"at {where}, the right answer first tops the decoded stream for most prompts "
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
        return text_table(["decoded after", "mean rank", "median rank", "top-1", "p(answer)"], rows)


def logit_lens(model: Any, tokenizer: Any, facts: Any = None,
               templates: Any = None, where: str = "last") -> LensResult:
    """Decode the residual stream after the embedding and after each layer.

    Parameters
    ----------
    model : GPT
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
    facts : sequence of FactPrompt or of Fact, optional
        Default: the embedded athletes.
    templates : int, str or sequence of them, optional
        For athletes only. Default: every template, pooled.
    where : {"last", "last_subject"}
        Decode at the prompt's last token (where the answer is predicted) or at the
        subject's last token (does the stream there already name the answer?).

    Returns
    -------
    LensResult

    Notes
    -----
    For the stream :math:`x^{(l)}` after layer l, logits :math:`\\mathrm{LN}_f(x^{(l)}) E^T`,
    then the rank and softmax probability of the answer's **first token** (the one
    predicted after the prompt). After the last layer, at the last token, this is the
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
    if is_athletes(facts):
        sets = [encode_facts(tokenizer, facts, model, t) for t in template_list(templates)]
        asked = template_list(templates)
    elif templates is not None:
        raise ValueError("templates apply to athletes' Facts only")
    else:
        sets, asked = [encode_facts(tokenizer, facts, model)], ["prompt"]
    ranks, probs = [], []
    for encoded in sets:
        rank = np.empty((len(encoded), len(points)), dtype=np.int64)  # (N, L+1)
        prob = np.empty((len(encoded), len(points)), dtype=model.dtype)
        for g in group_facts(encoded):
            pos = np.full(g.n, g.T - 1) if where == "last" else g.last  # (n,)
            _, cache = model.run_with_cache(g.ids, names=points, logits_to_keep=1)
            for j, name in enumerate(points):  # one layer at a time: (n, V) logits, not (n, L+1, V)
                logits = decode_residual(model, cache[name][np.arange(g.n), pos])  # (n, V)
                prob[g.rows, j], rank[g.rows, j] = answer_stats(logits, g.answers[:, 0])
        ranks.append(rank)
        probs.append(prob)
    return LensResult(points, where, asked, np.concatenate(ranks), np.concatenate(probs))


def plot_logit_lens(result: LensResult, ax: Any = None) -> Any:
    """Mean rank (log scale) and top-1 share of the right answer, per decoded layer.

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
    ax.set_ylabel("rank of the right answer (1 = top)")
    ax.set_xticks(x, result.labels)
    twin = ax.twinx()
    twin.plot(x, result.top1, "s--", color="tab:green", label="top-1 share")
    twin.set_ylim(0, 1.05)
    twin.set_ylabel("top-1 share")
    ax.set_title(f"logit lens at the {result.where.replace('_', ' ')} token")
    return ax
