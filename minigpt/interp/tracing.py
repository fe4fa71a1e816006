"""Causal tracing (Meng et al. 2022, ROME): which hidden states carry a fact to the answer?

Three runs of the same prompts:

1. **clean**: "Michael Jordan plays" -> p(basketball) is high;
2. **corrupted**: Gaussian noise is added to the subject tokens' embeddings, so the model
   no longer knows who it is reading about and p(basketball) falls;
3. **restored**: the corrupted run again, but one hidden state (a layer's residual stream,
   MLP output or attention output at one position) is put back to its clean value.

If restoring a state brings the right answer's probability back, that state carries the
fact. Indirect effect of a state = p(restored) - p(corrupted); total effect = p(clean) -
p(corrupted). In GPT-2 XL ROME finds the decisive states in the middle layers' MLPs at the
**last subject token**, and attention at the last prompt token in later layers;
:meth:`TraceResult.summary` says what the same measurement finds in a minigpt model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import Fact
from .prompts import answer_stats, check_choice, check_int, check_model, fact_prompts
from .tables import jsonable, text_table

TRACE_KINDS = {"resid": "resid_post", "mlp": "mlp_out", "attn": "attn_out"}  # kind -> hook point
NOISE_SCALE = 3.0  # noise std in units of the token embeddings' std, as in ROME
N_SAMPLES = 10  # noise draws averaged per fact


@dataclass
class TraceResult:
    """The three runs of :func:`causal_trace`, per fact.

    Attributes
    ----------
    template : int or str
    labels : list of str
        The prompt's tokens, with ``"First"``/``"Last"`` for the subject.
    first, last : int
        The subject's token positions.
    kinds : list of str
        Which states were restored, among ``"resid"``, ``"mlp"``, ``"attn"``.
    noise_std : float
        Standard deviation of the noise added to the subject embeddings.
    n_samples : int
    p_clean : ndarray, shape (N,)
    p_corrupt : ndarray, shape (N,)
        Mean over the noise samples.
    p_restored : ndarray, shape (K, L, T, N)
        ``p_restored[k, l, t, n]``: fact n's p(answer) with state ``kinds[k]`` of layer l at
        position t restored, mean over the noise samples.
    """

    template: int | str
    labels: list[str]
    first: int
    last: int
    kinds: list[str]
    noise_std: float
    n_samples: int
    p_clean: np.ndarray
    p_corrupt: np.ndarray
    p_restored: np.ndarray

    @property
    def total_effect(self) -> float:
        """Mean over facts of p(clean) - p(corrupted)."""
        return float(np.mean(self.p_clean - self.p_corrupt))

    def indirect_effect(self, kind: str) -> np.ndarray:
        """Mean over facts of p(restored) - p(corrupted), shape (n_layer, T)."""
        k = self.kinds.index(check_choice("kind", kind, self.kinds))
        return (self.p_restored[k] - self.p_corrupt).mean(axis=-1)  # (L, T)

    def peak(self, kind: str) -> tuple[int, int, float]:
        """The (layer, position, indirect effect) where restoring ``kind`` helps most."""
        ie = self.indirect_effect(kind)
        layer, pos = np.unravel_index(int(np.argmax(ie)), ie.shape)
        return int(layer), int(pos), float(ie[layer, pos])

    def _where(self, pos: int) -> str:
        T = len(self.labels)
        if pos == self.last:
            return "the last subject token"
        if pos == self.first:
            return "the first subject token"
        if pos == T - 1:
            return f"the last prompt token ({self.labels[pos]!r})"
        return f"token {pos} ({self.labels[pos]!r})"

    def _depth(self, layer: int) -> str:
        L = self.p_restored.shape[1]
        third = layer / max(L - 1, 1)
        return "early" if third < 1 / 3 else "late" if third > 2 / 3 else "middle"

    def summary(self) -> str:
        """What the trace says, computed from its numbers, beside ROME's GPT-2 XL finding."""
        L, T = self.p_restored.shape[1:3]
        te = self.total_effect
        lines = [f"p(answer): clean {self.p_clean.mean():.3f}, corrupted "
                 f"{self.p_corrupt.mean():.3f} (total effect {te:.3f}; noise std "
                 f"{self.noise_std:.3f}, {self.n_samples} samples)"]
        for kind in self.kinds:
            layer, pos, ie = self.peak(kind)
            share = ie / te if te > 0 else float("nan")
            lines.append(f"{kind}: strongest indirect effect {ie:.3f} ({share:.0%} of the "
                         f"total) at layer {layer} of {L} ({self._depth(layer)}), "
                         f"{self._where(pos)}")
        if "resid" in self.kinds:
            best = self.indirect_effect("resid").argmax(axis=1)  # (L,) best position per layer
            lines.append("residual stream, best position by layer: " +
                         ", ".join(f"{i}:{self.labels[p]}" for i, p in enumerate(best)))
        if "mlp" in self.kinds:
            ie = self.indirect_effect("mlp")
            at_subject, at_end = ie[:, self.last], ie[:, T - 1]
            lines.append(
                f"mlp at the last subject token: max {at_subject.max():.3f} (layer "
                f"{int(at_subject.argmax())}); at the last prompt token: max "
                f"{at_end.max():.3f} (layer {int(at_end.argmax())})")
            _, pos, _ = self.peak("mlp")
            verdict = ("agrees with" if pos == self.last else "differs from")
            lines.append(f"GPT-2 XL (ROME): mid-layer MLPs at the last subject token decide; "
                         f"here the MLP peak is at {self._where(pos)}, which {verdict} it")
        if "attn" in self.kinds:
            layer, pos, _ = self.peak("attn")
            lines.append(f"GPT-2 XL (ROME): attention matters at the last token in late layers; "
                         f"here attention peaks at {self._where(pos)}, layer {layer} "
                         f"({self._depth(layer)})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the averaged tables (not the per-fact arrays) and the summary."""
        return jsonable({
            "template": self.template, "labels": self.labels, "first": self.first,
            "last": self.last, "noise_std": self.noise_std, "n_samples": self.n_samples,
            "p_clean": float(self.p_clean.mean()), "p_corrupt": float(self.p_corrupt.mean()),
            "total_effect": self.total_effect,
            "indirect_effect": {k: self.indirect_effect(k) for k in self.kinds},
            "summary": self.summary(),
        })

    def to_table(self, kind: str | None = None) -> str:
        """Average indirect effects as text: one table per kind, layers x tokens."""
        parts = []
        for k in ([kind] if kind is not None else self.kinds):
            ie = self.indirect_effect(k)
            rows = [[f"layer {i}"] + [float(v) for v in ie[i]] for i in range(ie.shape[0])]
            parts.append(f"indirect effect, restoring {k} ({TRACE_KINDS[k]}):\n"
                         + text_table([k] + self.labels, rows))
        return "\n\n".join(parts)


def causal_trace(model: Any, tokenizer: Any, facts: Sequence[Fact] | None = None,
                 template: int | str = 0, kinds: Sequence[str] = tuple(TRACE_KINDS),
                 n_samples: int = N_SAMPLES, noise_scale: float = NOISE_SCALE,
                 seed: int = 0) -> TraceResult:
    """Causal tracing of every fact in one template, averaged over noise samples.

    Parameters
    ----------
    model : GPT
    tokenizer : WordTokenizer
    facts : sequence of Fact, optional
        Default: the embedded athletes.
    template : int or str, default 0
    kinds : sequence of {"resid", "mlp", "attn"}
        Restore ``blocks.{l}.resid_post``, ``blocks.{l}.mlp_out`` or ``blocks.{l}.attn_out``.
    n_samples : int, default 10
        Noise draws per fact.
    noise_scale : float, default 3.0
        Noise std in units of :math:`\\sigma_E`, the std of all entries of ``tok_emb``.
    seed : int
        Seeds the noise.

    Returns
    -------
    TraceResult

    Notes
    -----
    The corrupted run adds :math:`\\epsilon \\sim \\mathcal N(0, (3\\sigma_E)^2 I)` to the
    ``embed`` activation (token plus position embedding) at the subject's positions, which
    is the same as corrupting the subject's token embeddings. ROME measures the std over
    subject embeddings of a text corpus; here :math:`\\sigma_E` is the std over the whole
    embedding matrix, one number. For each sample s, fact n and state h at (l, t):

    .. math:: IE_{l,t} = \\operatorname{mean}_{n,s}
        \\left[p_{*,\\, h_{l,t} = h^{clean}_{l,t}}(a_n) - p_*(a_n)\\right]

    Restoring ``resid`` at the last layer and position gives back p(clean) exactly: only
    ``ln_f`` and the unembedding follow it. Positions before the subject are not run:
    attention is causal, so their corrupted states equal the clean ones and restoring them
    changes nothing (indirect effect 0). All N facts and all samples run as one batch; the
    loop is over kinds x layers x positions.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> from minigpt.facts import facts_dataset
    >>> tok, _, _ = facts_dataset()
    >>> model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    >>> result = causal_trace(model, tok, n_samples=2)
    >>> result.indirect_effect("mlp").shape, result.labels
    ((2, 3), ['First', 'Last', 'plays'])
    """
    check_model(model)
    kinds = [check_choice("kind", k, tuple(TRACE_KINDS)) for k in
             ([kinds] if isinstance(kinds, str) else kinds)]
    if not kinds:
        raise ValueError("kinds must not be empty")
    S = check_int("n_samples", n_samples, 1)
    if not (isinstance(noise_scale, (int, float)) and np.isfinite(noise_scale)
            and noise_scale >= 0):
        raise ValueError(f"noise_scale must be a finite number >= 0, got {noise_scale!r}")
    P = fact_prompts(tokenizer, facts, template)
    N, T, L = P.n, P.T, model.config.n_layer
    dtype = model.dtype
    names = [f"blocks.{i}.{TRACE_KINDS[k]}" for k in kinds for i in range(L)]
    logits, clean = model.run_with_cache(P.ids, names=names)
    p_clean, _ = answer_stats(logits[:, -1], P.answers)  # (N,)

    ids = np.tile(P.ids, (S, 1))  # (S*N, T), sample-major: row s*N + n is fact n
    answers = np.tile(P.answers, S)  # (S*N,)
    noise_std = dtype(noise_scale * model.params["tok_emb"].std())
    rng = np.random.default_rng(seed)
    n_subj = P.last - P.first + 1
    noise = rng.standard_normal((S * N, n_subj, model.config.d_model), dtype=dtype) * noise_std

    def corrupt(v: np.ndarray) -> np.ndarray:
        v = v.copy()
        v[:, P.first:P.last + 1] += noise  # (S*N, n_subj, C)
        return v

    def p_answer(hooks: dict[str, Any]) -> np.ndarray:
        p, _ = answer_stats(model.forward(ids, hooks=hooks)[:, -1], answers)  # (S*N,)
        return p.reshape(S, N).mean(axis=0)  # (N,)

    p_corrupt = p_answer({"embed": corrupt})
    p_restored = np.empty((len(kinds), L, T, N), dtype=dtype)  # (K, L, T, N)
    for k, kind in enumerate(kinds):
        for layer in range(L):
            name = f"blocks.{layer}.{TRACE_KINDS[kind]}"
            p_restored[k, layer, :P.first] = p_corrupt  # causal: states before the noise are clean
            for t in range(P.first, T):
                state = np.tile(clean[name][:, t], (S, 1))  # (S*N, C)

                def restore(v: np.ndarray, t: int = t, state: np.ndarray = state) -> np.ndarray:
                    v = v.copy()
                    v[:, t] = state
                    return v

                p_restored[k, layer, t] = p_answer({"embed": corrupt, name: restore})
    return TraceResult(template, P.labels, P.first, P.last, kinds, float(noise_std), S,
                       p_clean, p_corrupt, p_restored)


def plot_causal_trace(result: TraceResult, kind: str = "mlp", ax: Any = None) -> Any:
    """Heatmap of the average indirect effect: tokens down, layers across (as in ROME).

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

    ie = result.indirect_effect(kind)  # (L, T)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.7 * ie.shape[0], 0.6 + 0.45 * ie.shape[1]))
    image = ax.imshow(ie.T, cmap={"resid": "Purples", "mlp": "Greens", "attn": "Reds"}[kind],
                      aspect="auto", vmin=min(0.0, float(ie.min())))
    ax.set_yticks(range(len(result.labels)), result.labels)
    ax.set_xticks(range(ie.shape[0]))
    ax.set_xlabel("layer")
    ax.set_title(f"restoring {TRACE_KINDS[kind]}: indirect effect on p(answer)")
    ax.figure.colorbar(image, ax=ax)
    return ax
