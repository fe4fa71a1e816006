"""What every benchmark shares: the model shapes, a PyTorch GPT on the same weights,
interleaved timing, thread control and markdown tables.

The three shapes are the ones the performance targets name::

    tiny    L2  d64   h4  T32   B8   V256
    small   L4  d128  h4  T64   B16  V256
    medium  L6  d384  h6  T128  B8   V512

``smoke`` is a shape small enough for the test suite to run every script in seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from minigpt import GPT, GPTConfig, count_params
from minigpt.nn import LN_EPS, causal_mask
from minigpt.optim import decay_names
from minigpt.threads import blas_threads, threadpoolctl_available

RESULTS_DIR = Path(__file__).resolve().parent / "results"
LEARNING_RATE = 1e-4  # any small value: the benchmarks time steps, they do not train
WEIGHT_DECAY = 0.1  # GPT-3's, applied to the same tensors in both libraries
MS_PER_S = 1e3
GIGA = 1e9
MIB = 2**20


class Shape(NamedTuple):
    """A benchmark shape: a model configuration and the batch it is run on."""

    name: str
    config: GPTConfig
    batch: int  # B; the sequence length T is config.n_ctx

    @property
    def seq(self) -> int:
        """T, the sequence length of every batch (the full context)."""
        return self.config.n_ctx

    @property
    def label(self) -> str:
        """The shape in the notation of the targets, e.g. ``L2 d64 h4 T32 B8 V256``."""
        c = self.config
        return (f"L{c.n_layer} d{c.d_model} h{c.n_head} T{c.n_ctx} B{self.batch} "
                f"V{c.vocab_size}")


def _shape(name: str, n_layer: int, d_model: int, n_head: int, T: int, B: int, V: int) -> Shape:
    cfg = GPTConfig(vocab_size=V, n_ctx=T, n_layer=n_layer, n_head=n_head, d_model=d_model)
    return Shape(name, cfg, B)


SHAPES: dict[str, Shape] = {
    "tiny": _shape("tiny", n_layer=2, d_model=64, n_head=4, T=32, B=8, V=256),
    "small": _shape("small", n_layer=4, d_model=128, n_head=4, T=64, B=16, V=256),
    "medium": _shape("medium", n_layer=6, d_model=384, n_head=6, T=128, B=8, V=512),
}
SMOKE = _shape("smoke", n_layer=1, d_model=16, n_head=2, T=8, B=2, V=32)
ALL_SHAPES = {**SHAPES, SMOKE.name: SMOKE}  # what a worker process may be asked to run
REPO = Path(__file__).resolve().parents[1]


def model_flops(config: GPTConfig, batch: int) -> float:
    """Floating-point operations of one forward + backward pass, by the usual model count.

    Parameters
    ----------
    config : GPTConfig
    batch : int
        B; each sequence is ``config.n_ctx`` tokens long.

    Returns
    -------
    float
        :math:`6 N n_{tok} + 12 L T C n_{tok}` with :math:`n_{tok} = B T`.

    Notes
    -----
    Each weight that multiplies a token's vector costs 2 FLOPs forward (a multiply and an
    add) and 4 backward (its input's and its own gradient): 6 per weight and token. N counts
    every parameter except the position table, which is added, not multiplied; the token
    table counts once, for the tied unembedding ``x @ tok_emb.T``. Attention adds
    :math:`Q K^T` and :math:`A V`: :math:`2 \\cdot 2 T C` FLOPs per token and layer forward,
    three times that with the backward, i.e. :math:`12 L T C` (the causal half is not
    subtracted, as is usual). Biases, LayerNorm, GELU and softmax are left out.

    Examples
    --------
    >>> cfg = GPTConfig(vocab_size=10, n_ctx=4, n_layer=1, n_head=1, d_model=2)
    >>> model_flops(cfg, batch=1) == 6 * (106 - 4 * 2) * 4 + 12 * 1 * 4 * 2 * 4
    True
    """
    n_tokens = batch * config.n_ctx
    n_matmul = count_params(config) - config.n_ctx * config.d_model
    attention = 12 * config.n_layer * config.n_ctx * config.d_model
    return float(6 * n_matmul * n_tokens + attention * n_tokens)


def make_batch(shape: Shape, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random token ids and targets of the shape's batch.

    Returns
    -------
    idx, targets : ndarray of int64, shape (B, T)

    Examples
    --------
    >>> idx, targets = make_batch(SMOKE)
    >>> idx.shape, idx.dtype
    ((2, 8), dtype('int64'))
    """
    rng = np.random.default_rng(seed)
    size = (shape.batch, shape.seq)
    V = shape.config.vocab_size
    return rng.integers(0, V, size=size), rng.integers(0, V, size=size)


def make_model(shape: Shape, seed: int = 0) -> GPT:
    """minigpt's float32 GPT of the shape, with GPT-2's initialisation."""
    return GPT(shape.config, seed=seed, dtype=np.float32)


# ---------------------------------------------------------------------- optional libraries


def import_torch(enabled: bool = True) -> Any:
    """PyTorch if it is installed and ``enabled``, else ``None`` (minigpt is then timed alone)."""
    if not enabled:
        return None
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def _threadpoolctl() -> Any:
    try:
        return importlib.import_module("threadpoolctl")
    except ImportError:
        return None


@contextlib.contextmanager
def threads(n: int | None, torch: Any = None) -> Iterator[None]:
    """Run the block with ``n`` BLAS threads for numpy and ``n`` intra-op threads for torch.

    Parameters
    ----------
    n : int or None
        ``None`` leaves both libraries at their defaults.
    torch : module or None
        When given, ``torch.set_num_threads(n)`` for the block.

    Notes
    -----
    numpy's BLAS is limited with :func:`minigpt.threads.blas_threads` (threadpoolctl, the
    ``bench`` extra) and restored on exit; without threadpoolctl numpy keeps its default
    and :func:`thread_label` says so. Nothing here changes the settings of a process that
    merely imports minigpt.
    """
    if n is None:
        yield
        return
    old_torch = torch.get_num_threads() if torch is not None else None
    with blas_threads(n):
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(old_torch)


def thread_label(n: int | None) -> str:
    """How a thread count is shown in tables: ``"2"``, or ``"default"`` when it is not set.

    Examples
    --------
    >>> thread_label(None)
    'default'
    """
    if n is None or not threadpoolctl_available():
        return "default"
    return str(n)


def blas_info() -> str:
    """Which BLAS numpy calls, its kernel and default thread count (from threadpoolctl).

    Also names ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` when the environment sets them,
    since they select OpenBLAS's kernel.
    """
    ctl = _threadpoolctl()
    env = [f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
           if k in os.environ]
    if ctl is None:
        text = "unknown (threadpoolctl not installed)"
    else:
        blas = [i for i in ctl.threadpool_info() if i.get("user_api") == "blas"]
        text = "; ".join(
            f"{i.get('internal_api')} {i.get('version')}, kernel {i.get('architecture')}, "
            f"{i.get('num_threads')} threads by default" for i in blas) or "none found"
    return text + (" (" + ", ".join(env) + ")" if env else "")


def machine_info(torch: Any = None) -> list[str]:
    """Lines that say what was measured on: CPU count, numpy, BLAS, torch."""
    lines = [f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
             f"load average {_load_average()}",
             f"numpy {np.__version__}, BLAS: {blas_info()}"]
    lines.append(f"torch {torch.__version__}" if torch is not None else "torch: not used")
    return lines


def _load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


# ---------------------------------------------------------------------- timing


def interleave(
    fns: dict[str, Callable[[], Any]], repeats: int, warmup: int = 1
) -> dict[str, np.ndarray]:
    """Time several functions taking turns: A B A B ..., so that a noisy machine slows all alike.

    Parameters
    ----------
    fns : dict of str to callable
        Each called with no arguments.
    repeats : int
        Timed calls of each function.
    warmup : int, default 1
        Untimed calls of each function first (allocations, caches, thread pools).

    Returns
    -------
    dict of str to ndarray, shape (repeats,)
        Wall-clock seconds of every timed call, in call order.

    Examples
    --------
    >>> calls = []
    >>> t = interleave({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 2, 0)
    >>> calls, t["a"].shape
    (['a', 'b', 'a', 'b'], (2,))
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: np.empty(repeats) for name in fns}
    for r in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name][r] = time.perf_counter() - t0
    return times


def median_ms(seconds: np.ndarray) -> float:
    """The median of timings in seconds, in milliseconds."""
    return float(np.median(seconds)) * MS_PER_S


def run_worker(module: str, *args: str) -> Any:
    """Run ``python -m benchmarks.<module> --worker ...`` in a fresh process; return the
    JSON it prints last.

    Some measurements must not share a process: two libraries' thread pools and memory
    interfere, and allocator settings last for the whole process.
    """
    cmd = [sys.executable, "-m", f"benchmarks.{module}", "--worker", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.splitlines()[-1])


def per_round(repeats: int, rounds: int) -> int:
    """Timed calls per round so that ``rounds`` rounds make at least ``repeats`` (>= 1).

    Examples
    --------
    >>> per_round(15, 2), per_round(1, 2)
    (8, 1)
    """
    return max(1, -(-repeats // rounds))


# ---------------------------------------------------------------------- the PyTorch reference


class TorchGPT:
    """The same GPT in plain PyTorch eager mode, on a copy of minigpt's weights.

    Pre-LayerNorm blocks, one fused qkv projection, GELU (tanh), the unembedding tied to
    ``tok_emb``, and ``torch.optim.AdamW`` decaying the same tensors as minigpt. Attention
    is PyTorch's ``scaled_dot_product_attention`` (its fused CPU kernel), or the four
    explicit steps (scores, mask, softmax, weighted sum) with ``attention="explicit"``.

    Parameters
    ----------
    torch : module
    config : GPTConfig
    params : dict of str to ndarray
        minigpt's parameters; copied, so the two models can be stepped independently.
    attention : {"sdpa", "explicit"}
    """

    def __init__(self, torch: Any, config: GPTConfig, params: dict[str, np.ndarray],
                 attention: str = "sdpa") -> None:
        if attention not in ("sdpa", "explicit"):
            raise ValueError(f"attention must be 'sdpa' or 'explicit', got {attention!r}")
        self.torch, self.config, self.attention = torch, config, attention
        self.params = {k: torch.tensor(np.array(v), requires_grad=True) for k, v in params.items()}
        self._masks = {i: torch.from_numpy(causal_mask(config.n_ctx, config.layer_window(i)))
                       for i in range(config.n_layer)}

    def _attend(self, i: int, q: Any, k: Any, v: Any) -> Any:
        F = self.torch.nn.functional
        T = q.shape[2]
        window = self.config.layer_window(i)
        if self.attention == "sdpa" and window is None:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        allowed = self._masks[i][:T, :T]
        if self.attention == "sdpa":
            return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        scores = (q @ k.transpose(-2, -1)) / q.shape[-1] ** 0.5  # (B, H, T, T)
        att = self.torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
        return att @ v  # (B, H, T, D)

    def logits(self, idx: Any) -> Any:
        """Next-token logits (B, T, V) for a LongTensor of ids (B, T)."""
        F = self.torch.nn.functional
        p, cfg = self.params, self.config
        B, T = idx.shape
        C, H = cfg.d_model, cfg.n_head
        D = C // H
        x = p["tok_emb"][idx] + p["pos_emb"][:T]  # (B, T, C)
        for i in range(cfg.n_layer):
            b = f"blocks.{i}."
            h = F.layer_norm(x, (C,), p[b + "ln1.gain"], p[b + "ln1.bias"], eps=LN_EPS)
            q, k, v = F.linear(h, p[b + "attn.w_qkv"], p[b + "attn.b_qkv"]).split(C, dim=-1)
            q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
            y = self._attend(i, q, k, v).transpose(1, 2).reshape(B, T, C)
            x = x + F.linear(y, p[b + "attn.w_out"], p[b + "attn.b_out"])
            h = F.layer_norm(x, (C,), p[b + "ln2.gain"], p[b + "ln2.bias"], eps=LN_EPS)
            u = F.gelu(F.linear(h, p[b + "mlp.w_up"], p[b + "mlp.b_up"]), approximate="tanh")
            x = x + F.linear(u, p[b + "mlp.w_down"], p[b + "mlp.b_down"])
        x = F.layer_norm(x, (C,), p["ln_f.gain"], p["ln_f.bias"], eps=LN_EPS)
        return F.linear(x, p["tok_emb"])  # tied unembedding: (B, T, V)

    def loss(self, idx: Any, targets: Any) -> Any:
        """Mean next-token cross-entropy, a scalar tensor."""
        logits = self.logits(idx)
        V = self.config.vocab_size
        return self.torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))

    def optimizer(self, lr: float = LEARNING_RATE, weight_decay: float = WEIGHT_DECAY) -> Any:
        """``torch.optim.AdamW`` with GPT-3's betas and eps, decaying :func:`decay_names`."""
        decayed = decay_names(self.params)
        groups = [
            {"params": [t for n, t in self.params.items() if n in decayed],
             "weight_decay": weight_decay},
            {"params": [t for n, t in self.params.items() if n not in decayed],
             "weight_decay": 0.0},
        ]
        return self.torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8)


# ---------------------------------------------------------------------- reports


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-style markdown table, columns padded so that it also reads as plain text.

    Examples
    --------
    >>> print(markdown_table(["a", "bb"], [[1, "x"]]))
    | a | bb |
    |---|----|
    | 1 | x  |
    """
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[j]) for r in cells) for j in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def fmt(x: float, digits: int = 2) -> str:
    """A number with ``digits`` decimals, or ``-`` for NaN (a measurement not taken)."""
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def write_report(out_dir: Path, name: str, title: str, blocks: Sequence[str]) -> Path:
    """Write ``# title`` and the text blocks to ``out_dir/name.md``; return the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.md"
    path.write_text(f"# {title}\n\n" + "\n\n".join(blocks) + "\n")
    return path


def base_parser(description: str) -> argparse.ArgumentParser:
    """The options every script takes: ``--smoke``, ``--out``, ``--no-torch``, ``--threads``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny shape and two repeats: checks the script works, in seconds")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR,
                        help=f"where the markdown result goes (default {RESULTS_DIR})")
    parser.add_argument("--no-torch", action="store_true", help="time minigpt alone")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="BLAS / torch thread counts to measure (default 1 2)")
    return parser
