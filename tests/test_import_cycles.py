"""The package's parts import one another in one direction only: no cycles.

The parts are the top-level modules and subpackages of ``minigpt`` (``model``, ``nn``,
``interp``, ``facts``, ...). Every ``import`` in their source counts, also one inside a
function: a cycle hidden in a function is still a cycle for the reader. Imports under
``if TYPE_CHECKING:`` (names for annotations, never run) do not count.
"""

import ast
from pathlib import Path

import minigpt

PACKAGE = Path(minigpt.__file__).parent


def _module_name(path: Path, root: Path) -> str:
    """``minigpt/interp/prompts.py`` -> ``minigpt.interp.prompts`` (a package: its folder)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str, root: Path) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def imported_modules(path: Path, root: Path) -> set[str]:
    """The ``minigpt`` modules that the file at ``path`` imports, by full name."""
    here = _module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            node.body = []  # typing-only imports: cut them out of the tree before walking it
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:  # `from . import x` imports the module x
                sub = f"{module}.{alias.name}"
                found.add(sub if _is_module(sub, root) else module)
    return {name for name in found if name.split(".")[0] == root.name}


def part_of(module: str) -> str | None:
    """``minigpt.interp.prompts`` -> ``interp``; the package itself (its facade) -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def part_graph(root: Path) -> dict[str, set[str]]:
    """Which part imports which, from every ``.py`` file under ``root``."""
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        src = part_of(_module_name(path, root))
        if src is None:
            continue
        for module in imported_modules(path, root):
            dst = part_of(module)
            if dst is not None and dst != src:
                graph.setdefault(src, set()).add(dst)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}}) is None


def test_the_graph_sees_relative_and_function_level_imports(tmp_path):
    root = tmp_path / "minigpt"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("from .. import other\n")
    (root / "other.py").write_text("def f():\n    from .sub import x\n")
    (root / "typed.py").write_text("if TYPE_CHECKING:\n    from .sub import x\n")
    assert part_graph(root) == {"sub": {"other"}, "other": {"sub"}}


def test_no_import_cycles_between_parts_of_the_package():
    cycle = find_cycle(part_graph(PACKAGE))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
