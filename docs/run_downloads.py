"""Run every chapter as a reader downloads it: the ``.py`` alone, in an empty folder.

After a build, sphinx-gallery's downloads sit in ``docs/_build/html/_downloads``. This script
copies each chapter's ``.py`` into a fresh temporary folder and runs it there with the
current Python (``MPLBACKEND=Agg``: figures are drawn, not shown), so a chapter that leans on
a file of the repository, or on the folder it was built in, fails here. Each notebook
(``.ipynb``) is checked too: every module its code cells import must be importable.

::

    python docs/run_downloads.py docs/_build/html

prints one line per chapter with its time and exits 1 if any chapter failed. The chapters
that need the trained demo model share it through ``MINIGPT_DEMO_CACHE``: pass the build's
cache (``docs/_build/demo_cache``) to reuse the model the build trained.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

TIMEOUT_S = 600  # one chapter; the slowest takes well under a minute on an idle machine


def downloads(site: Path, suffix: str) -> list[Path]:
    """The chapters' downloadable files with ``suffix`` (``.py`` or ``.ipynb``), by name."""
    return sorted((site / "_downloads").rglob(f"plot_*{suffix}"), key=lambda p: p.name)


def imported_modules(source: str) -> set[str]:
    """Top-level names of the modules a piece of Python imports (relative imports too)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or "").split(".")[0])
    return names


def missing_imports(notebook: Path) -> list[str]:
    """Modules imported by a notebook's code cells that cannot be found."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return sorted(name for name in imported_modules(code)
                  if name.startswith(".") or importlib.util.find_spec(name) is None)


def run_script(script: Path, env: dict[str, str], timeout: float = TIMEOUT_S) -> tuple[
        bool, float, str]:
    """Run ``script`` alone in a fresh temporary folder: ``(ok, seconds, last output)``."""
    with tempfile.TemporaryDirectory(prefix="chapter-") as folder:
        copy = Path(folder) / script.name
        shutil.copyfile(script, copy)
        t0 = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, copy.name], cwd=folder, env=env,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, time.perf_counter() - t0, f"timed out after {timeout:.0f} s"
        seconds = time.perf_counter() - t0
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return done.returncode == 0, seconds, "\n".join(tail)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built HTML folder (docs/_build/html)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S,
                        help=f"seconds allowed per chapter (default {TIMEOUT_S})")
    args = parser.parse_args(argv)
    scripts, notebooks = downloads(args.site, ".py"), downloads(args.site, ".ipynb")
    if not scripts:
        parser.error(f"no chapter downloads under {args.site / '_downloads'}")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    failed, total = [], 0.0
    for script in scripts:
        ok, seconds, tail = run_script(script, env, args.timeout)
        total += seconds
        print(f"{'ok  ' if ok else 'FAIL'} {seconds:6.1f} s  {script.name}", flush=True)
        if not ok:
            failed.append(script.name)
            print("      " + tail.replace("\n", "\n      "))
    for notebook in notebooks:
        missing = missing_imports(notebook)
        if missing:
            failed.append(notebook.name)
            print(f"FAIL {notebook.name} imports what cannot be found: {missing}")
    print(f"{len(scripts)} scripts in {total:.0f} s, {len(notebooks)} notebooks checked: "
          f"{len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
