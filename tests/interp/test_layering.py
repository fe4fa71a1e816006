"""Dependencies point one way: data < interp < facts. Nothing below imports what is above."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "minigpt"
ABOVE = {"data": ("model", "interp", "facts", "hf", "train", "cli"),
         "interp": ("facts", "cli", "superposition")}


def imported(path: Path) -> set[str]:
    """The minigpt subpackages a module imports (relative imports resolved by hand)."""
    names = set()
    depth_of_package = len(path.relative_to(PACKAGE).parts) - 1
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # from ..facts import x: climb to minigpt, then take the first part
                parts = list(path.relative_to(PACKAGE).parts[:depth_of_package])
                parts = parts[:len(parts) - (node.level - 1)] + (node.module or "").split(".")
                names.add(parts[0] if parts and parts[0] else "")
            elif node.module and node.module.startswith("minigpt."):
                names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("minigpt."))
    return names


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_no_module_imports_a_package_above_it(package):
    for path in sorted((PACKAGE / package).rglob("*.py")):
        bad = imported(path) & set(ABOVE[package])
        assert not bad, f"{path.relative_to(PACKAGE)} imports minigpt.{sorted(bad)}"


def test_importing_interp_loads_nothing_from_facts():
    code = ("import sys, minigpt.interp; "
            "print(sorted(m for m in sys.modules if m.startswith('minigpt.facts')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent)
    assert out.stdout.strip() == "[]"
