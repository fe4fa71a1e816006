"""Training: the GPT-3 recipe on a token stream, as one function you can read top to bottom.

Each step samples a batch of windows, runs :meth:`minigpt.GPT.loss_and_grads`, clips the
global gradient norm, sets the learning rate from the warmup + cosine schedule and takes an
AdamW step. Checkpoints hold everything needed to resume bit for bit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .checkpoint import load_checkpoint, restore_rng, save_checkpoint
from .model import GPT, NonFiniteError, check_token_ids
from .nn import cross_entropy_forward
from .optim import AdamW, clip_grad_norm, lr_at
from .config import GPTConfig, count_params
from .threads import blas_threads, check_thread_count, threadpoolctl_available, usable_cpus

class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`train` between two steps.

    A ``KeyboardInterrupt``, so it stops a script as Ctrl-C always does; it also says
    where training stopped and what it saved.

    Attributes
    ----------
    step : int
        The last step completed.
    checkpoint : str or None
        The checkpoint holding the state at ``step`` (resume from it), or ``None`` when
        nothing was saved (no ``out``, or no step taken in this run).
    """

    def __init__(self, step: int, checkpoint: str | None) -> None:
        saved = f"saved to {checkpoint}" if checkpoint else "nothing saved"
        super().__init__(f"training interrupted after step {step}; {saved}")
        self.step = step
        self.checkpoint = checkpoint


@dataclass
class TrainSettings:
    """How to train. The defaults follow GPT-3's Appendix B, scaled down.

    Parameters
    ----------
    steps : int
        Total optimizer steps (the cosine schedule ends here).
    batch_size : int
        Windows per step.
    block_size : int or None
        Tokens per window; ``None`` means the model's ``n_ctx``.
    lr : float
        Peak learning rate, reached at the end of the warmup.
    warmup_steps : int
        Linear warmup length.
    min_lr_ratio : float
        The cosine decays to ``lr * min_lr_ratio`` (GPT-3: 10%).
    weight_decay : float
        Decoupled weight decay on the weight matrices (GPT-3: 0.1).
    grad_clip : float
        Global gradient-norm clipping threshold (GPT-3: 1.0).
    eval_every : int
        Evaluate (and log) every this many steps; 0 disables periodic evaluation.
    eval_batches : int
        Batches averaged per evaluation.
    checkpoint_every : int
        Save every this many steps when ``out`` is given (and always at the end, and on
        Ctrl-C); 0 means only then. Each save first runs a forward pass to check that the
        state's loss is finite.
    seed : int
        Seeds the batch sampling.
    data_parallel : bool or None
        Compute each step's gradients with :func:`data_parallel_grads`: the batch split
        between two Python threads, the same loss and gradients up to rounding. ``None``
        (the default) decides by :func:`data_parallel_pays`: on when it pays, off
        otherwise; ``True`` or ``False`` forces it.
    """

    steps: int = 1000
    batch_size: int = 16
    block_size: int | None = None
    lr: float = 1e-3
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_batches: int = 4
    checkpoint_every: int = 0
    seed: int = 0
    data_parallel: bool | None = None

    def __post_init__(self) -> None:
        if self.data_parallel is not None and not isinstance(self.data_parallel, bool):
            raise TypeError(f"data_parallel must be a bool or None, got "
                            f"{type(self.data_parallel).__name__}")
        for name in ("steps", "batch_size", "eval_batches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        for name in ("warmup_steps", "eval_every", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        if self.warmup_steps > self.steps:
            raise ValueError(f"warmup_steps must be <= steps, got warmup_steps="
                             f"{self.warmup_steps}, steps={self.steps}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.block_size is not None and self.block_size < 1:
            raise ValueError(f"block_size must be None or >= 1, got {self.block_size}")


@dataclass
class TrainResult:
    """What a training run did.

    Attributes
    ----------
    losses : list of float
        Training loss at each step taken in this run (from the start step).
    evals : list of (int, float)
        (step, evaluation loss) pairs.
    start_step, step : int
        The step this run began at (0, or where a resumed checkpoint stopped) and ended at.
    seconds : float
        Wall time of the steps.
    tokens_per_second : float
    data_parallel : bool
        Whether each step's gradients came from :func:`data_parallel_grads`.
    """

    losses: list[float] = field(default_factory=list)
    evals: list[tuple[int, float]] = field(default_factory=list)
    start_step: int = 0
    step: int = 0
    seconds: float = 0.0
    tokens_per_second: float = 0.0
    data_parallel: bool = False


def window_starts(n_tokens: int, block_size: int, starts: np.ndarray | None = None) -> np.ndarray:
    """The positions a training window of ``block_size + 1`` tokens may start at.

    Parameters
    ----------
    n_tokens : int
        Length of the token stream.
    block_size : int
        Inputs per window (one more token is read as the last target).
    starts : ndarray of int, optional
        Allowed starts (e.g. the beginnings of lines); default: every position.

    Returns
    -------
    ndarray of int64
        The allowed starts whose window fits in the stream.

    Raises
    ------
    ValueError
        If no window fits (the message names the stream's length and the window's).

    Examples
    --------
    >>> window_starts(10, 4)
    array([0, 1, 2, 3, 4, 5])
    """
    last = n_tokens - block_size - 1  # the last start whose targets stay inside the stream
    candidates = np.arange(n_tokens) if starts is None else np.asarray(starts, dtype=np.int64)
    candidates = candidates[(candidates >= 0) & (candidates <= last)].astype(np.int64)
    if candidates.size == 0:
        raise ValueError(
            f"the data has {n_tokens} tokens: too few for one window of block_size "
            f"{block_size} + 1"
        )
    return candidates


def get_batch(
    data: np.ndarray, starts: np.ndarray, batch_size: int, block_size: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``batch_size`` windows: inputs and their next-token targets.

    Parameters
    ----------
    data : ndarray of int, shape (N,)
    starts : ndarray of int
        Allowed window starts, from :func:`window_starts`.
    batch_size, block_size : int
    rng : numpy.random.Generator

    Returns
    -------
    x, y : ndarray of int64, shape (batch_size, block_size)
        ``y[b, t] = x[b, t + 1]``: each position's target is the token after it.

    Examples
    --------
    >>> data = np.arange(10)
    >>> x, y = get_batch(data, window_starts(10, 3), 2, 3, np.random.default_rng(0))
    >>> bool(np.all(y == x + 1))
    True
    """
    s = rng.choice(starts, size=batch_size)  # (B,) window starts
    offsets = s[:, None] + np.arange(block_size + 1)  # (B, block_size + 1) positions
    window = data[offsets]  # (B, block_size + 1)
    return window[:, :-1].astype(np.int64), window[:, 1:].astype(np.int64)


def evaluate(
    model: GPT, data: np.ndarray, starts: np.ndarray, settings: TrainSettings, block_size: int,
) -> float:
    """Mean loss over ``settings.eval_batches`` batches drawn with a fixed seed.

    The fixed seed makes evaluations comparable across steps and leaves the training
    sampler untouched.
    """
    rng = np.random.default_rng(settings.seed + 1)
    losses = []
    for _ in range(settings.eval_batches):
        x, y = get_batch(data, starts, settings.batch_size, block_size, rng)
        logits = model.forward(x)
        losses.append(cross_entropy_forward(logits, y)[0])
    return float(np.mean(losses))


# NaN and inf are caught inside and raise NonFiniteError, which says more than the
# RuntimeWarnings numpy would print on the way
@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def train(
    model: GPT,
    data: np.ndarray,
    settings: TrainSettings | None = None,
    *,
    starts: np.ndarray | None = None,
    val_data: np.ndarray | None = None,
    tokenizer: Any = None,
    out: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    progress: bool = True,
    extra: dict[str, Any] | None = None,
    until: int | None = None,
) -> TrainResult:
    """Train ``model`` in place on a token stream with the GPT-3 recipe.

    Parameters
    ----------
    model : GPT
        Updated in place.
    data : ndarray of int, shape (N,)
        The training tokens.
    settings : TrainSettings, optional
    starts : ndarray of int, optional
        Allowed window starts (e.g. line beginnings); default every position.
    val_data : ndarray of int, optional
        Held-out tokens for evaluation; without it, evaluation uses ``data``.
    tokenizer : object with ``to_json()``, optional
        Stored in the checkpoints so they can be used on their own.
    out : path, optional
        Checkpoint file, written atomically every ``checkpoint_every`` steps and at the end.
    resume : path, optional
        A checkpoint of a previous run with the same model shape: its weights, optimizer
        state, step and sampler state are restored, so the run continues exactly as if it
        had never stopped.
    progress : bool, default True
        Show a tqdm progress bar with loss, learning rate and tokens/s.
    extra : dict, optional
        JSON-serializable information stored in the checkpoint.
    until : int, optional
        Stop after this step (and save), although the schedule spans ``settings.steps``:
        a run can be split into pieces that ``resume`` joins without a trace.

    Returns
    -------
    TrainResult

    Raises
    ------
    NonFiniteError
        If the loss or gradient norm is not finite, or an update makes a weight NaN or
        infinite; the message names the step. A state is saved only after its loss was
        seen to be finite (on the batch the next step trains on), so the last checkpoint
        is always a good one.
    TrainingInterrupted
        On Ctrl-C (a ``KeyboardInterrupt``): training stops between two steps and, when
        ``out`` is given and a step was taken, the state at that step is saved first.
    ValueError
        If the data is too short, ids are out of range, or the resume checkpoint does not
        match the model.
    """
    settings = settings or TrainSettings()
    cfg = model.config
    block_size = settings.block_size or cfg.n_ctx
    if block_size > cfg.n_ctx:
        raise ValueError(f"block_size must be <= n_ctx={cfg.n_ctx}, got {block_size}")
    data = check_token_ids(data, cfg.vocab_size, "data")
    train_starts = window_starts(len(data), block_size, starts)
    eval_data = data if val_data is None else check_token_ids(val_data, cfg.vocab_size, "val_data")
    eval_starts = train_starts if val_data is None else window_starts(len(eval_data), block_size)

    optimizer = AdamW(model.params, lr=settings.lr, weight_decay=settings.weight_decay)
    parallel = (data_parallel_pays(cfg, settings.batch_size, block_size)
                if settings.data_parallel is None else settings.data_parallel)
    rng = np.random.default_rng(settings.seed)
    step = 0
    if resume is not None:
        ckpt = load_checkpoint(resume)
        if ckpt.config != cfg:
            raise ValueError(f"checkpoint {resume} holds a model of config {ckpt.config}, "
                             f"not {cfg}")
        for name, value in ckpt.params.items():
            model.params[name][...] = value
        if ckpt.optimizer_state is not None:
            optimizer.load_state_dict(ckpt.optimizer_state)
        if ckpt.rng_state is not None:
            rng = restore_rng(ckpt.rng_state)
        step = ckpt.step
    saved_at: list[int] = []  # the steps this run saved, the last one the last good state

    def save(at_step: int, sampler: Mapping[str, Any]) -> None:
        """Save the state at ``at_step`` (``sampler``: the batch sampler's state then), once
        its loss on the batch the next step would train on has been seen to be finite."""
        if out is None:
            return
        x, y = get_batch(data, train_starts, settings.batch_size, block_size, restore_rng(sampler))
        loss = cross_entropy_forward(model.forward(x), y)[0]
        if not np.isfinite(loss):
            raise NonFiniteError(f"step {at_step}: the weights give loss {loss}; not saved "
                                 f"({_last_good(saved_at)})")
        save_checkpoint(out, model.params, config=cfg, step=at_step, optimizer=optimizer,
                        rng=restore_rng(sampler), tokenizer=tokenizer,
                        extra={**(extra or {}), "train_settings": dataclasses.asdict(settings)})
        saved_at.append(at_step)

    last = settings.steps if until is None else min(until, settings.steps)
    result = TrainResult(start_step=step, step=step, data_parallel=parallel)
    bar = _progress_bar(last, step, progress)
    tokens = settings.batch_size * block_size
    sampler = rng.bit_generator.state  # the sampler as step `step` begins
    t0 = time.perf_counter()
    try:
        while step < last:
            x, y = get_batch(data, train_starts, settings.batch_size, block_size, rng)
            loss, grads = (data_parallel_grads(model, x, y) if parallel
                           else model.loss_and_grads(x, y))
            norm = clip_grad_norm(grads, settings.grad_clip)
            if not (np.isfinite(loss) and np.isfinite(norm)):
                raise NonFiniteError(f"step {step}: loss {loss}, gradient norm {norm}; "
                                     f"stopping ({_last_good(saved_at)})")
            lr = lr_at(step, max_lr=settings.lr, warmup_steps=settings.warmup_steps,
                       max_steps=settings.steps, min_ratio=settings.min_lr_ratio)
            with _sigint_held():  # an update is all or nothing: Ctrl-C waits for its end
                optimizer.step(grads, lr=lr)
                step += 1
                sampler = rng.bit_generator.state
            n_bad = _count_non_finite(model.params)
            if n_bad:
                raise NonFiniteError(f"step {step}: the update (learning rate {lr:.3g}) made "
                                     f"{n_bad:,} weights NaN or infinite; stopping "
                                     f"({_last_good(saved_at)})")
            result.losses.append(loss)
            elapsed = time.perf_counter() - t0
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.1e}",
                                tok_s=f"{tokens * len(result.losses) / elapsed:,.0f}")
            if settings.eval_every and (step % settings.eval_every == 0 or step == settings.steps):
                result.evals.append((step, evaluate(model, eval_data, eval_starts, settings,
                                                    block_size)))
            if settings.checkpoint_every and step % settings.checkpoint_every == 0:
                save(step, sampler)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        if step > result.start_step and (not saved_at or saved_at[-1] != step):
            save(step, sampler)
        raise TrainingInterrupted(step, os.fspath(out) if saved_at else None) from None
    if bar is not None:
        bar.close()
    save(step, sampler)
    result.step = step
    result.seconds = time.perf_counter() - t0
    result.tokens_per_second = tokens * len(result.losses) / max(result.seconds, 1e-9)
    return result


def _last_good(saved_at: list[int]) -> str:
    """Where the last good state of a failed run is, in words."""
    if saved_at:
        return f"the checkpoint holds step {saved_at[-1]}, the last good state"
    return "this run saved no checkpoint"


def _count_non_finite(params: Mapping[str, np.ndarray]) -> int:
    """How many entries of all parameters are NaN or infinite."""
    return sum(int(p.size - np.count_nonzero(np.isfinite(p))) for p in params.values())


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block ends, then deliver it.

    An optimizer update changes every parameter and moment in turn: stopped halfway, it
    would leave a state no step produced. Only the main thread receives signals, so in
    other threads (or if a C library owns the handler) the block runs unguarded.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is None):
        yield
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        signal.raise_signal(signal.SIGINT)  # now the handler that was there reacts to it


def _progress_bar(total: int, initial: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="training", unit="step", dynamic_ncols=True)


# Splitting a batch between threads costs a fixed time per step (a thread started, the
# halves' gradients added, numpy's small calls taking turns for the interpreter), which pays
# back only once the step's matrix products are large. In processes of their own on an idle
# 2-core machine, the split took 1.2-1.7x the time of one thread's step at 0.19-0.37 GFLOP per
# step, 0.85-0.9x at 1.3 GFLOP, 0.56-0.8x at 2.7-2.9 GFLOP and 0.75-0.96x at 5.5-70 GFLOP.
DATA_PARALLEL_MIN_FLOPS = 2e9  # the step's matrix FLOPs, 6 x parameters x tokens
DATA_PARALLEL_CPUS = 2  # the machine shape those figures come from


def data_parallel_pays(config: GPTConfig, batch_size: int, block_size: int) -> bool:
    r"""Whether :func:`train` splits each batch between two threads when
    ``TrainSettings.data_parallel`` is ``None``.

    Parameters
    ----------
    config : GPTConfig
    batch_size, block_size : int
        Windows per step and tokens per window.

    Returns
    -------
    bool
        True when all of these hold: this process may run on exactly two CPUs (the
        machine shape where it was measured; with more cores, BLAS's own threads use them
        all), ``threadpoolctl`` is installed (each thread's BLAS is held to one thread; see
        :func:`data_parallel_grads`), the batch has two windows or more, and a step's
        matrix products take at least ``DATA_PARALLEL_MIN_FLOPS`` (2e9):

        .. math:: 6 \, N_{\text{params}} \, B \, T \ge 2 \times 10^9

    Notes
    -----
    Splitting costs a fixed time per step, which a large step repays: on an idle 2-core
    machine it took 1.2-1.7x the time at 0.19-0.37 GFLOP per step, 0.56-0.8x at 2.7-2.9
    GFLOP and 0.75-0.96x at the benchmarks' small and medium shapes (5.5 and 70 GFLOP).
    Between 0.4 and 2 GFLOP the gain was small and within the machine's noise, so those
    steps keep one thread; pass ``data_parallel=True`` to split them anyway.

    Examples
    --------
    >>> from minigpt import GPTConfig
    >>> tiny = GPTConfig(vocab_size=256, n_ctx=32, n_layer=2, n_head=4, d_model=64)
    >>> data_parallel_pays(tiny, batch_size=8, block_size=32)
    False
    """
    flops = 6 * count_params(config) * batch_size * block_size
    return (usable_cpus() == DATA_PARALLEL_CPUS and threadpoolctl_available()
            and batch_size >= 2 and flops >= DATA_PARALLEL_MIN_FLOPS)


def data_parallel_grads(
    model: GPT, idx: Any, targets: Any, n_threads: int = 2, ignore_index: int | None = None
) -> tuple[float, dict[str, np.ndarray]]:
    r""":meth:`GPT.loss_and_grads <minigpt.GPT.loss_and_grads>` with the batch split across
    Python threads: the same loss and gradients, computed in parallel.

    Parameters
    ----------
    model : GPT
        Only read.
    idx : array_like of int, shape (B, T) or (T,)
    targets : array_like of int, same shape as ``idx``
    n_threads : int, default 2
        Threads, each taking a contiguous slice of the B sequences (at most B are used).
    ignore_index : int or None
        Targets equal to this do not count, as in ``loss_and_grads``.

    Returns
    -------
    loss : float
        Mean cross-entropy over all counted targets of the batch.
    grads : dict of str to ndarray
        dloss/dparam, keyed and shaped like ``model.params``.

    Raises
    ------
    TypeError, ValueError
        As :meth:`GPT.loss_and_grads <minigpt.GPT.loss_and_grads>`, and for an
        ``n_threads`` that is not an int >= 1.

    Notes
    -----
    The loss is a mean over the :math:`n` counted targets. A slice :math:`s` with
    :math:`n_s` of them has mean :math:`L_s`, so

    .. math:: L = \sum_s \frac{n_s}{n} L_s, \qquad
        \frac{\partial L}{\partial \theta} = \sum_s \frac{n_s}{n}
        \frac{\partial L_s}{\partial \theta}

    and the result equals the full batch's up to rounding. Each thread scales its own
    gradients by :math:`n_s / n`; the main thread adds them.

    numpy releases the GIL inside its loops and matrix products, so the threads run on
    separate cores: the elementwise passes (LayerNorm, GELU, softmax), which run on one core
    whatever BLAS does, now run side by side. While they run, numpy's BLAS is limited to
    one thread (:func:`~minigpt.threads.blas_threads`, process-wide, restored after), so
    the threads do not compete with BLAS's own workers; without ``threadpoolctl`` BLAS
    keeps its default. Call :func:`~minigpt.allocator.keep_freed_memory` first (the
    ``minigpt`` command does): otherwise the worker thread's memory goes back to the kernel
    after every step and is faulted in again.

    Whether it is faster depends on the shape and the machine. In one run on two cores
    with nothing else running (``benchmarks/results/two_threads.md``), a training step with
    it took 7.91 / 55.1 / 471 ms at the benchmark's tiny / small / medium shapes, against
    4.68 / 73.2 / 506 ms with two BLAS threads (PyTorch: 7.62 / 84.0 / 459 ms): 0.75x the
    time at small, 0.93x at medium, 1.69x at tiny. An earlier run on cores loaded by other
    work (load average 7 to 11) found it no faster than one BLAS thread. :func:`train` uses
    it where :func:`data_parallel_pays` says so, or when asked:
    ``TrainSettings(data_parallel=True)``, ``minigpt train --data-parallel``.

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> model = GPT(GPTConfig(vocab_size=16, n_ctx=8, n_layer=1, n_head=2, d_model=8),
    ...             seed=0, dtype=np.float64)
    >>> idx = np.arange(32).reshape(4, 8) % 16
    >>> loss, grads = data_parallel_grads(model, idx, (idx + 1) % 16)
    >>> full_loss, full_grads = model.loss_and_grads(idx, (idx + 1) % 16)
    >>> bool(abs(loss - full_loss) < 1e-12), grads["tok_emb"].shape
    (True, (16, 8))
    """
    if check_thread_count(n_threads, "n_threads") is None:
        raise TypeError("n_threads must be an int >= 1, got None")
    idx = check_token_ids(idx, model.config.vocab_size)
    targets = np.asarray(targets)
    if targets.shape != idx.shape:
        raise ValueError(f"targets must have the shape of idx {idx.shape}, got {targets.shape}")
    if idx.ndim != 2 or min(n_threads, len(idx)) == 1:  # one sequence (or a shape error)
        return model.loss_and_grads(idx, targets, ignore_index)
    rows = np.array_split(np.arange(len(idx)), min(n_threads, len(idx)))  # contiguous slices
    counted = [targets[r].size if ignore_index is None
               else int(np.count_nonzero(targets[r] != ignore_index)) for r in rows]
    n = sum(counted)
    slices = [(r, n_s) for r, n_s in zip(rows, counted) if n_s > 0]
    if len(slices) < 2:  # nothing to split (or nothing counted: loss_and_grads says so)
        return model.loss_and_grads(idx, targets, ignore_index)

    def part(r: np.ndarray, n_s: int) -> tuple[float, dict[str, np.ndarray]]:
        loss_s, grads_s = model.loss_and_grads(idx[r], targets[r], ignore_index)
        share = n_s / n  # this slice's weight in the mean over the whole batch
        for g in grads_s.values():
            g *= share
        return loss_s * share, grads_s

    with blas_threads(1), ThreadPoolExecutor(len(slices) - 1) as pool:
        others = [pool.submit(part, r, n_s) for r, n_s in slices[1:]]
        loss, grads = part(*slices[0])  # the calling thread takes the first slice
        for future in others:
            loss_s, grads_s = future.result()  # re-raises an error from that thread
            loss += loss_s
            for name, g in grads_s.items():
                grads[name] += g
    return loss, grads
