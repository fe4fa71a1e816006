"""What each optimization bought: the training step with it, and with that one file as it was.

Every optimization of the op pairs lives in one file of :mod:`minigpt.nn`. For each, this
script builds a copy of the installed ``minigpt`` in which that file is replaced by its
version at an older git revision (``--before``, the last one before the optimizations),
and times a training step of the copy against the current code, the two taking turns. The
last row puts every file back at once: the whole gain. It needs git and the repository's
history, so it is not part of ``python -m benchmarks``.

Run ``python -m benchmarks.ablation`` (``--help`` for the options).
"""

from __future__ import annotations

import contextlib
import importlib
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import minigpt
from minigpt.allocator import keep_freed_memory

from ._common import (
    LEARNING_RATE,
    SHAPES,
    SMOKE,
    Shape,
    base_parser,
    fmt,
    interleave,
    machine_info,
    make_batch,
    markdown_table,
    median_ms,
    thread_label,
    threads,
    write_report,
)

BEFORE = "9d98c60"  # the last revision before the optimizations of minigpt/nn
# The optimizations the code keeps. Two more were measured and reverted to their plain
# forms: the cross-entropy's probabilities in place (0.99-1.00x) and the embedding's
# scatter-add by sort + reduceat (0.99-1.02x).
OPTIMIZATIONS = {
    "linear: one GEMM over all rows (2-D reshape)": ["nn/linear.py"],
    "GELU: two buffers, in place": ["nn/activations.py"],
    "attention: dq, dk, dv and heads written in place; in-place softmax": ["nn/attention.py"],
}
# Swapped in with any file of minigpt/nn: the old package index imports only the names the
# old files define (the current one also imports the fast forms added beside the plain ones).
NN_INDEX = "nn/__init__.py"
ALL = "all of the above"
VARIANT_PREFIX = "minigpt_without_"
REPEATS = {"tiny": 20, "small": 10, "medium": 5}
SMOKE_REPEATS = 2


def _git_show(repo: Path, rev: str, path: str) -> str:
    return subprocess.run(["git", "show", f"{rev}:{path}"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


def variant(name: str, files: Sequence[str], rev: str, root: Path) -> Any:
    """A copy of the repository's ``minigpt`` named ``name`` under ``root``, with ``files``
    (paths inside the package) as at git revision ``rev``.

    The package imports its own modules relatively, so the copy is self-contained.
    """
    repo = Path(__file__).resolve().parent.parent  # the repository these benchmarks sit in
    src = repo / "minigpt"
    dst = root / name
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
    if any(f.startswith("nn/") for f in files):
        files = [*files, NN_INDEX]
    for f in files:
        (dst / f).write_text(_git_show(repo, rev, f"minigpt/{f}"))
    if NN_INDEX in files:  # modules the old index imports that have been renamed since
        for module in re.findall(r"^from \.(\w+) import", (dst / NN_INDEX).read_text(), re.M):
            if not (dst / "nn" / f"{module}.py").exists():
                (dst / "nn" / f"{module}.py").write_text(
                    _git_show(repo, rev, f"minigpt/nn/{module}.py"))
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module(name)


def step_of(package: Any, shape: Shape) -> Any:
    """A training step (forward, backward, AdamW) of ``package``'s GPT on the shape's batch."""
    config = package.GPTConfig(**shape.config.to_dict())
    model = package.GPT(config, seed=0, dtype=np.float32)
    opt = importlib.import_module(package.__name__ + ".optim").AdamW(model.params,
                                                                     lr=LEARNING_RATE)
    idx, targets = make_batch(shape)

    def step() -> None:
        _, grads = model.loss_and_grads(idx, targets)
        opt.step(grads)

    return step


@contextlib.contextmanager
def _forgotten_after(root: str) -> Iterator[None]:
    """On exit, drop the variant packages from ``sys.modules`` and ``root`` from ``sys.path``."""
    try:
        yield
    finally:
        for name in [m for m in sys.modules if m.startswith(VARIANT_PREFIX)]:
            del sys.modules[name]
        if root in sys.path:
            sys.path.remove(root)


def run(shapes: Sequence[Shape], thread_counts: Sequence[int], repeats: dict[str, int],
        rev: str = BEFORE) -> list[dict[str, Any]]:
    """Time the current step against each one-file revert; one dict per (shape, threads, row).

    ``now_ms`` and ``before_ms`` are medians; ``bought`` = before_ms / now_ms, how many times
    faster the optimization made the step.
    """
    items = dict(OPTIMIZATIONS)
    items[ALL] = sorted({f for files in OPTIMIZATIONS.values() for f in files})
    rows = []
    with tempfile.TemporaryDirectory() as tmp, _forgotten_after(tmp):
        packages = {label: variant(f"{VARIANT_PREFIX}{k}", files, rev, Path(tmp))
                    for k, (label, files) in enumerate(items.items())}
        for shape in shapes:
            for n in thread_counts:
                with threads(n):
                    for label, package in packages.items():
                        t = interleave({"now": step_of(minigpt, shape),
                                        "before": step_of(package, shape)},
                                       repeats[shape.name])
                        now, before = median_ms(t["now"]), median_ms(t["before"])
                        rows.append({"shape": shape.name, "threads": thread_label(n),
                                     "optimization": label, "now_ms": now,
                                     "before_ms": before, "bought": before / now})
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parse the options, run, print the table and write ``ablation.md``."""
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--before", default=BEFORE, help=f"git revision (default {BEFORE})")
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the minigpt command does; see minigpt.allocator
    shapes = [SMOKE] if args.smoke else [SHAPES[s] for s in args.shapes]
    repeats = {s.name: SMOKE_REPEATS if args.smoke else REPEATS[s.name] for s in shapes}
    rows = run(shapes, args.threads, repeats, args.before)
    table = markdown_table(
        ["shape", "threads", "optimization", "step ms now", "step ms without it",
         "without / now"],
        [[r["shape"], r["threads"], r["optimization"], fmt(r["now_ms"]), fmt(r["before_ms"]),
          fmt(r["bought"])] for r in rows])
    blocks = [f"Training step (forward, backward, AdamW), float32, medians; each row times the "
              f"current code against a copy with the named file(s) as at git revision "
              f"{args.before}, alternately in one run. *without / now* > 1: the "
              "optimization made the step that many times faster.",
              "\n".join(f"- {line}" for line in machine_info()),
              table]
    print("\n\n".join(blocks[1:]))
    path = write_report(args.out, "ablation", "What each optimization bought", blocks)
    print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
