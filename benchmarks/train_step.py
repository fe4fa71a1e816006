"""Training-step time: minigpt against PyTorch eager on the same weights, shapes and threads.

For each shape (tiny, small, medium) and thread count, three phases are timed, the two
libraries taking turns (A B A B ...) so that a busy machine slows both alike:

* ``forward``: logits for a batch, no gradient kept (``GPT.forward`` / ``torch.no_grad``);
* ``forward+backward``: the loss and every parameter's gradient;
* ``step``: forward, backward and an AdamW update, i.e. one training step;
* ``step, thread rule``: minigpt's step under the BLAS thread count that its training loop
  chooses within the given budget (:func:`minigpt.threads.training_blas_threads`: one
  thread for small models), against the same PyTorch step as above.

The ratio minigpt / torch (below 1: minigpt is faster) is taken between medians of the
same run. Without torch, minigpt is timed alone.

Run ``python -m benchmarks.train_step`` (``--help`` for the options).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigpt.optim import AdamW
from minigpt.threads import blas_threads, training_blas_threads

from ._common import (
    LEARNING_RATE,
    SHAPES,
    SMOKE,
    WEIGHT_DECAY,
    Shape,
    TorchGPT,
    base_parser,
    fmt,
    import_torch,
    interleave,
    machine_info,
    make_batch,
    make_model,
    markdown_table,
    median_ms,
    thread_label,
    threads,
    write_report,
)

PHASES = ("forward", "forward+backward", "step", "step, thread rule")
REPEATS = {"tiny": 30, "small": 15, "medium": 7}  # timed calls of each phase and library
SMOKE_REPEATS = 2
HEADERS = ["shape", "threads", "phase", "minigpt ms", "torch ms", "minigpt / torch",
           "ratio of fastest runs"]


def minigpt_phases(shape: Shape) -> dict[str, Callable[[], Any]]:
    """The three timed phases of minigpt for a shape, as functions of no arguments."""
    model = make_model(shape)
    opt = AdamW(model.params, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    idx, targets = make_batch(shape)

    def step() -> None:
        _, grads = model.loss_and_grads(idx, targets)
        opt.step(grads)

    def step_thread_rule() -> None:
        with blas_threads(training_blas_threads(model.config, idx.size)):
            step()

    return {"forward": lambda: model.forward(idx),
            "forward+backward": lambda: model.loss_and_grads(idx, targets),
            "step": step, "step, thread rule": step_thread_rule}


def torch_phases(torch: Any, shape: Shape, attention: str = "sdpa") -> dict[str, Callable[[], Any]]:
    """The same three phases in PyTorch, on a copy of minigpt's initial weights."""
    ref = TorchGPT(torch, shape.config, make_model(shape).params, attention)
    opt = ref.optimizer()
    idx, targets = (torch.from_numpy(a) for a in make_batch(shape))

    def forward() -> None:
        with torch.no_grad():
            ref.logits(idx)

    def forward_backward() -> None:
        opt.zero_grad(set_to_none=True)
        ref.loss(idx, targets).backward()

    def step() -> None:
        forward_backward()
        opt.step()

    return {"forward": forward, "forward+backward": forward_backward, "step": step,
            "step, thread rule": step}


def initial_losses(torch: Any, shape: Shape) -> tuple[float, float]:
    """Both libraries' loss on the shape's batch at the same initial weights."""
    model = make_model(shape)
    idx, targets = make_batch(shape)
    loss, _ = model.loss_and_grads(idx, targets)
    ref = TorchGPT(torch, shape.config, model.params)
    with torch.no_grad():
        tloss = ref.loss(torch.from_numpy(idx), torch.from_numpy(targets)).item()
    return loss, tloss


def run(shapes: Sequence[Shape], thread_counts: Sequence[int], repeats: dict[str, int],
        torch: Any = None, attention: str = "sdpa") -> list[dict[str, Any]]:
    """Time every (shape, threads, phase); one dict per row of the table.

    Each row has ``shape``, ``threads``, ``phase``, ``minigpt_ms`` and ``torch_ms`` (medians;
    NaN without torch), ``ratio`` = minigpt_ms / torch_ms, and ``ratio_min``, the same
    ratio between the fastest call of each: a cross-check that a burst of load from other
    processes, which can hold up a two-thread run many times over, does not move.
    """
    rows = []
    for shape in shapes:
        for n in thread_counts:
            with threads(n, torch):
                mine = minigpt_phases(shape)
                theirs = torch_phases(torch, shape, attention) if torch is not None else {}
                for phase in PHASES:
                    fns = {"minigpt": mine[phase]}
                    if theirs:
                        fns["torch"] = theirs[phase]
                    t = interleave(fns, repeats[shape.name])
                    m = median_ms(t["minigpt"])
                    tt = median_ms(t["torch"]) if "torch" in t else float("nan")
                    fastest = (t["minigpt"].min() / t["torch"].min() if "torch" in t
                               else float("nan"))
                    rows.append({"shape": shape.name, "threads": thread_label(n), "phase": phase,
                                 "minigpt_ms": m, "torch_ms": tt, "ratio": m / tt,
                                 "ratio_min": fastest})
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows of :func:`run` as a markdown table."""
    return markdown_table(HEADERS, [
        [r["shape"], r["threads"], r["phase"], fmt(r["minigpt_ms"]), fmt(r["torch_ms"]),
         fmt(r["ratio"]), fmt(r["ratio_min"])] for r in rows])


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parse the options, run, print the table and write ``train_step.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed calls per phase and library (default: 30 / 15 / 7 by shape)")
    parser.add_argument("--torch-attention", choices=["sdpa", "explicit"], default="sdpa",
                        help="PyTorch's fused attention kernel, or its four explicit steps")
    args = parser.parse_args(argv)
    torch = import_torch(not args.no_torch)
    shapes = [SMOKE] if args.smoke else [SHAPES[s] for s in args.shapes]
    default = SMOKE_REPEATS if args.smoke else None
    repeats = {s.name: args.repeats or default or REPEATS[s.name] for s in shapes}
    rows = run(shapes, args.threads, repeats, torch, args.torch_attention)

    blocks = ["Median milliseconds per call, the two libraries interleaved in one run; "
              "float32; a ratio below 1 means minigpt is faster. The last column divides "
              "the fastest call of each library instead of the medians.",
              "\n".join(f"- {line}" for line in machine_info(torch)),
              "- shapes: " + "; ".join(f"{s.name} = {s.label}" for s in shapes),
              f"- torch attention: {args.torch_attention}; repeats: "
              + ", ".join(f"{k} {v}" for k, v in repeats.items()),
              table(rows)]
    if torch is not None:
        checks = [[s.name, *(f"{x:.6f}" for x in initial_losses(torch, s))] for s in shapes]
        blocks += ["Same weights, same loss (at initialisation):",
                   markdown_table(["shape", "minigpt loss", "torch loss"], checks)]
    print("\n\n".join(blocks[1:]))
    path = write_report(args.out, "train_step", "Training step: minigpt vs PyTorch eager", blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
