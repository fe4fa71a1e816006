"""Resource bombs: tiny files whose config asks for an enormous model, given to the loaders.

A ``config.json`` of a few hundred bytes can say ``n_layer = 10**6``; a checkpoint's
metadata can say the same (its SHA-256 digest is unkeyed, so whoever edits the file signs
it again). Every case here is a small file (under 1 MB) that a loader must accept or
refuse quickly and in bounded memory: the target is < 1 s and < 100 MB per case.

Each case runs in a child process with a memory limit (``RLIMIT_AS``) and a timeout, so a
loader that does explode does not take the machine with it. The table gives the outcome
(the exception's type and the start of its message), the wall time and the growth of the
process's peak resident memory of a first load, and the peak of Python allocations
(``tracemalloc``) of a second, traced load.

``python -m benchmarks.loader_bombs`` (``--smoke`` for a few cases, ``--case NAME`` for one).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ._common import RESULTS_DIR, markdown_table, write_report

MIB = 2**20
TARGET_SECONDS = 1.0
TARGET_MB = 100.0
MAX_FILE_BYTES = 2**20  # the target covers files up to 1 MB
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY_LIMIT_MB = 4096
MESSAGE_CHARS = 90  # how much of an error message the table shows
DEEP = 100_000  # nesting depth of the deeply nested JSON cases (200 KB)
MANY_TENSORS = 10_000  # tensors in the many-tensors case (a 0.9 MB file)
HUGE = 2**63
BASE_HF = {"model_type": "gpt2", "vocab_size": 16, "n_positions": 8, "n_embd": 8,
           "n_layer": 1, "n_head": 2, "activation_function": "gelu_new"}
BASE_CKPT = {"vocab_size": 16, "n_ctx": 8, "n_layer": 1, "n_head": 2, "d_model": 8}


class Case(NamedTuple):
    """One bomb: a name, which loader reads it, and what to write into a folder."""

    name: str
    loader: str  # "hf" (load_hf_gpt2 on a folder) or "checkpoint" (load_checkpoint on a file)
    build: Callable[[Path], Path]  # writes the case into a folder, returns what to load


def _deep_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def _tiny_model() -> Any:
    from minigpt import GPT, GPTConfig

    return GPT(GPTConfig(**BASE_CKPT), seed=0)


def hf_folder(folder: Path, config_text: str) -> Path:
    """A GPT-2 folder with a tiny model's weights and the given ``config.json`` text."""
    from minigpt.hf import save_hf_gpt2

    save_hf_gpt2(folder, _tiny_model())
    (folder / "config.json").write_text(config_text)
    return folder


def _hf_case(name: str, **fields: Any) -> Case:
    return Case(name, "hf", lambda d: hf_folder(d, json.dumps({**BASE_HF, **fields})))


def _hf_raw_case(name: str, text: str) -> Case:
    return Case(name, "hf", lambda d: hf_folder(d, text))


def signed_checkpoint(folder: Path, metadata_edits: dict[str, str],
                      tensors: dict[str, np.ndarray] | None = None) -> Path:
    """A tiny checkpoint with some metadata (or all tensors) replaced and its digest
    computed again, as anyone who edits a checkpoint can."""
    from safetensors import safe_open

    from minigpt.checkpoint import DIGEST_FIELD, _digest, save_checkpoint
    from minigpt.tensorfile import write_safetensors

    path = folder / "ckpt.safetensors"
    model = _tiny_model()
    save_checkpoint(path, model.params, config=model.config)
    with safe_open(str(path), framework="numpy") as f:
        metadata = dict(f.metadata())
        stored = {k: f.get_tensor(k) for k in f.keys()}
    metadata.update(metadata_edits)
    metadata.pop(DIGEST_FIELD)
    stored = stored if tensors is None else tensors
    metadata[DIGEST_FIELD] = _digest(stored, metadata)
    write_safetensors(path, stored, metadata)
    return path


def _ckpt_case(name: str, **fields: Any) -> Case:
    text = json.dumps({**BASE_CKPT, **fields})
    return Case(name, "checkpoint", lambda d: signed_checkpoint(d, {"config": text}))


def _ckpt_raw_case(name: str, key: str, text: str) -> Case:
    return Case(name, "checkpoint", lambda d: signed_checkpoint(d, {key: text}))


def _many_tensors(folder: Path) -> Path:
    """Thousands of one-number tensors named like blocks (a ~1 MB header)."""
    tensors = {f"params.blocks.{i}.ln1.gain": np.zeros(1, np.float32) for i in range(MANY_TENSORS)}
    return signed_checkpoint(folder, {}, tensors)


CASES: tuple[Case, ...] = (
    _hf_case("hf n_layer=10**6", n_layer=10**6),
    _hf_case("hf n_layer=2**63", n_layer=HUGE),
    _hf_case("hf vocab_size=2**63", vocab_size=HUGE),
    _hf_case("hf n_positions=2**63", n_positions=HUGE),
    _hf_case("hf n_embd=2**62", n_embd=2**62),
    _hf_case("hf n_head=2**63", n_head=HUGE),
    _hf_case("hf n_inner=2**63", n_inner=HUGE),
    _hf_case("hf n_layer=-1", n_layer=-1),
    _hf_case("hf n_layer=1.5", n_layer=1.5),
    _hf_case("hf n_layer=true", n_layer=True),
    _hf_case("hf n_layer=[1]", n_layer=[1]),
    _hf_case("hf n_layer={}", n_layer={}),
    _hf_raw_case("hf n_layer 5000 digits", json.dumps(BASE_HF).replace(
        '"n_layer": 1', '"n_layer": ' + "9" * 5000)),
    _hf_raw_case("hf nested 10**5 deep", json.dumps(BASE_HF)[:-1] + ', "x": '
                 + _deep_list(DEEP) + "}"),
    _ckpt_case("ckpt n_layer=10**6", n_layer=10**6),
    _ckpt_case("ckpt n_layer=2**63", n_layer=HUGE),
    _ckpt_case("ckpt vocab_size=2**63", vocab_size=HUGE),
    _ckpt_case("ckpt n_ctx=2**63", n_ctx=HUGE),
    _ckpt_case("ckpt d_model=2**62", d_model=2**62),
    _ckpt_case("ckpt d_ff=2**63", d_ff=HUGE),
    _ckpt_case("ckpt local_window=2**63", attention="alternating", local_window=HUGE),
    _ckpt_case("ckpt n_layer=-1", n_layer=-1),
    _ckpt_case("ckpt n_layer=1.5", n_layer=1.5),
    _ckpt_case("ckpt n_layer=[1]", n_layer=[1]),
    _ckpt_raw_case("ckpt config nested 10**5 deep", "config", _deep_list(DEEP)),
    _ckpt_raw_case("ckpt extra nested 10**5 deep", "extra", _deep_list(DEEP)),
    _ckpt_raw_case("ckpt step 5000 digits", "step", "9" * 5000),
    Case(f"ckpt {MANY_TENSORS} tensors", "checkpoint", _many_tensors),
)
SMOKE_CASES = ("hf n_layer=10**6", "ckpt n_layer=2**63", "ckpt extra nested 10**5 deep")


def load(loader: str, path: Path) -> Any:
    """Call the loader a case names."""
    if loader == "hf":
        from minigpt.hf import load_hf_gpt2

        return load_hf_gpt2(path)
    from minigpt.checkpoint import load_checkpoint

    return load_checkpoint(path)


def file_bytes(path: Path) -> int:
    """The size of the case on disk (a folder: all its files)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir())
    return path.stat().st_size


class Outcome(NamedTuple):
    """What loading one case did."""

    outcome: str  # "loaded" or "ExceptionType: message"
    seconds: float
    traced_mb: float  # peak of Python allocations during the load (tracemalloc)


def measure(loader: str, path: Path, trace: bool = True) -> Outcome:
    """Load once, in this process, with tracemalloc on (``trace``; it slows allocation-heavy
    code several times) or off (``traced_mb`` is then NaN)."""
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        load(loader, path)
        outcome = "loaded"
    except Exception as err:  # the table reports whatever the loader raised
        outcome = f"{type(err).__name__}: {err}"
    seconds = time.perf_counter() - start
    if not trace:
        return Outcome(outcome, seconds, float("nan"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Outcome(outcome, seconds, peak / MIB)


def _max_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS)
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MIB


def _child(loader: str, path: str, trace: bool) -> None:
    """Measure one case and print it as JSON (run in a child process).

    The time and the resident memory come from a first load without tracemalloc (which
    slows allocation-heavy code several times); the traced peak from a second load.
    """
    import minigpt.checkpoint  # noqa: F401  (imports are not part of the measurement)
    import minigpt.hf  # noqa: F401

    rss_before = _max_rss_mb()
    untraced = measure(loader, Path(path), trace=False)
    rss_mb = _max_rss_mb() - rss_before
    traced_mb = measure(loader, Path(path), trace=True).traced_mb if trace else float("nan")
    print(json.dumps({"outcome": untraced.outcome, "seconds": untraced.seconds,
                      "traced_mb": traced_mb, "rss_mb": rss_mb}))


def run_case(case: Case, folder: Path, timeout: float, memory_limit_mb: int,
             trace: bool = True) -> dict[str, Any]:
    """Build one case and load it in a child process under a memory limit and a timeout."""
    folder.mkdir()
    path = case.build(folder)
    size = file_bytes(path)

    def limit_memory() -> None:
        limit = memory_limit_mb * MIB
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    cmd = [sys.executable, "-m", "benchmarks.loader_bombs", "--child", case.loader, str(path)]
    if not trace:
        cmd.append("--no-tracemalloc")
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=limit_memory, cwd=Path(__file__).resolve().parents[1])
    except subprocess.TimeoutExpired:
        return {"case": case.name, "bytes": size, "outcome": f"timeout after {timeout:g} s",
                "seconds": time.perf_counter() - start, "traced_mb": float("nan"),
                "rss_mb": float("nan")}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"case": case.name, "bytes": size, "outcome": f"crashed: {last}",
                "seconds": time.perf_counter() - start, "traced_mb": float("nan"),
                "rss_mb": float("nan")}
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["outcome"] = row["outcome"].replace(str(folder), "DIR")  # the same in every run
    return {"case": case.name, "bytes": size, **row}


def within_target(row: dict[str, Any]) -> bool:
    """The case was refused or loaded in < 1 s and < 100 MB, without crashing."""
    refused_cleanly = row["outcome"] == "loaded" or row["outcome"].startswith(
        ("ValueError", "TypeError", "CheckpointError"))
    traced_ok = row["traced_mb"] != row["traced_mb"] or row["traced_mb"] < TARGET_MB  # NaN: off
    return (refused_cleanly and row["seconds"] < TARGET_SECONDS and traced_ok
            and row["rss_mb"] < TARGET_MB)


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The markdown table of the measured cases."""
    return markdown_table(
        ["case", "bytes", "outcome", "s", "traced MB", "RSS growth MB", "in target"],
        [[r["case"], r["bytes"], r["outcome"][:MESSAGE_CHARS].replace("|", "/"),
          f"{r['seconds']:.3f}", f"{r['traced_mb']:.1f}", f"{r['rss_mb']:.1f}",
          "yes" if within_target(r) else "NO"] for r in rows])


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help=f"only {', '.join(SMOKE_CASES)}")
    parser.add_argument("--case", action="append", default=None,
                        help="run only the case of this name (repeatable)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"seconds before a case is stopped (default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--memory-limit-mb", type=int, default=DEFAULT_MEMORY_LIMIT_MB,
                        help=f"address-space limit of each child (default "
                             f"{DEFAULT_MEMORY_LIMIT_MB})")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR,
                        help=f"where the markdown result goes (default {RESULTS_DIR})")
    parser.add_argument("--no-tracemalloc", action="store_true",
                        help="skip the second, traced load of each case (a bomb that "
                             "explodes takes several times longer traced)")
    parser.add_argument("--child", nargs=2, metavar=("LOADER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child, trace=not args.no_tracemalloc)
        return []
    wanted = SMOKE_CASES if args.smoke else args.case
    cases = [c for c in CASES if wanted is None or c.name in wanted]
    if wanted is not None and len(cases) != len(set(wanted)):
        parser.error(f"unknown case in {wanted}; known: {[c.name for c in CASES]}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, case in enumerate(cases):
            rows.append(run_case(case, Path(tmp) / str(n), args.timeout, args.memory_limit_mb,
                                 trace=not args.no_tracemalloc))
            print(f"{case.name}: {rows[-1]['outcome'][:MESSAGE_CHARS]} "
                  f"({rows[-1]['seconds']:.2f} s)", flush=True)
    text = table(rows)
    print(text)
    note = (f"Each case loaded once in a child process (address space limited to "
            f"{args.memory_limit_mb} MB, timeout {args.timeout:g} s). Target: every file up to "
            f"{MAX_FILE_BYTES // 1024} KB accepted or refused with ValueError/TypeError in < "
            f"{TARGET_SECONDS:g} s and < {TARGET_MB:g} MB.")
    write_report(args.out, "loader_bombs", "Resource bombs given to the loaders", [note, text])
    return rows


if __name__ == "__main__":
    main()
