"""The book and its API reference stay complete: every public name has a docstring and a page.

These checks read the package and the ``.rst``/tutorial sources; they do not build the
docs (CI does that with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import minigpt

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API_DIR = DOCS / "api"
TUTORIALS = DOCS / "tutorials"
README = ROOT / "README.md"

AUTO_DIRECTIVES = ("autofunction", "autoclass", "autoexception", "autodata", "automethod")
DIRECTIVE_RE = re.compile(r"^\s*\.\.\s+([\w:-]+)::\s*(\S*)")
AUTOSUMMARY_ENTRY_RE = re.compile(r"^\s+(~?[\w.]+)\s*$")


# ---------------------------------------------------------------------- what is public


def public_modules() -> list[str]:
    """minigpt and every submodule without a leading underscore in its dotted name."""
    names = ["minigpt"]
    for info in pkgutil.walk_packages(minigpt.__path__, "minigpt."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts):
            continue  # private modules and __main__ (importing it would run the command)
        names.append(info.name)
    return names


def public_names(module_name: str) -> dict[str, object]:
    """``{"module.name": object}``: ``__all__`` if the module has one, else its own
    functions and classes without a leading underscore."""
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return {f"{module_name}.{n}": getattr(module, n) for n in module.__all__
                if not inspect.ismodule(getattr(module, n))}  # a submodule is checked on its own
    return {
        f"{module_name}.{n}": obj
        for n, obj in vars(module).items()
        if not n.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module_name
    }


def all_public() -> dict[str, object]:
    """Every public name of every public module. Functions from outside minigpt (a wrapper
    that instruments ``minigpt.gradcheck`` during the test session) are left out."""
    found: dict[str, object] = {}
    for module_name in public_modules():
        for name, obj in public_names(module_name).items():
            if inspect.isfunction(obj) and not obj.__module__.startswith("minigpt"):
                continue
            found[name] = obj
    return found


# ---------------------------------------------------------------------- what is documented


def documented_in(text: str) -> list[str]:
    """Full names that an ``.rst`` text documents with autosummary or ``auto*`` directives."""
    names = []
    current = ""
    in_autosummary = False
    for line in text.splitlines():
        m = DIRECTIVE_RE.match(line)
        if m:
            directive, arg = m.groups()
            in_autosummary = directive == "autosummary"
            if directive in ("currentmodule", "py:currentmodule", "module", "py:module"):
                current = arg
            elif directive in AUTO_DIRECTIVES and arg:
                names.append(arg if arg.startswith("minigpt") else f"{current}.{arg}")
            continue
        if in_autosummary:
            if line.strip().startswith(":") or not line.strip():
                continue  # an option or a blank line inside the directive
            if not line.startswith((" ", "\t")):
                in_autosummary = False
                continue
            entry = AUTOSUMMARY_ENTRY_RE.match(line)
            if entry:
                name = entry.group(1).lstrip("~")
                names.append(name if name.startswith("minigpt") else f"{current}.{name}")
    return names


def api_sources() -> list[Path]:
    return sorted(p for p in API_DIR.rglob("*.rst") if "generated" not in p.parts)


def documented() -> list[str]:
    names = []
    for path in api_sources():
        names.extend(documented_in(path.read_text(encoding="utf-8")))
    return names


def resolve(full_name: str) -> object:
    """The object a dotted name refers to, as Python would find it: an attribute of the
    longest importable parent module first (``minigpt.gradcheck`` is the function that
    ``minigpt`` exports, not the module of the same name), else the module itself."""
    parts = full_name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            break
        return obj
    return importlib.import_module(full_name)


def undocumented(public: dict[str, object], documented_names: list[str]) -> list[str]:
    """Public names whose object appears under no documented name."""
    documented_objects = {}
    for name in documented_names:
        try:
            documented_objects[name] = resolve(name)
        except (ImportError, AttributeError):
            continue  # reported by test_every_documented_name_exists
    ids = {id(obj) for obj in documented_objects.values()}
    missing = []
    for name, obj in public.items():
        if name in documented_objects:
            continue
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and id(obj) in ids:
            continue  # the same function or class, documented under another public path
        missing.append(name)
    return sorted(missing)


def own_docstring(obj: object) -> str:
    """The docstring written for ``obj``; not the signature that dataclasses and
    NamedTuples invent for a class without one."""
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__") or ""
        if doc.startswith(f"{obj.__name__}("):
            return ""
        return doc.strip()
    return (inspect.getdoc(obj) or "").strip()


def public_methods(cls: type) -> dict[str, object]:
    """Public methods and properties defined by ``cls`` or by its minigpt base classes."""
    methods = {}
    for base in reversed(cls.__mro__):
        if not base.__module__.startswith("minigpt"):
            continue
        for name, member in vars(base).items():
            if name.startswith("_"):
                continue
            wrapped = isinstance(member, (property, classmethod, staticmethod))
            if inspect.isfunction(member) or wrapped:
                methods[name] = member.__func__ if hasattr(member, "__func__") else member
    return methods


# ---------------------------------------------------------------------- the tests


def test_the_public_api_is_found():
    public = all_public()
    for name in ("minigpt.GPT", "minigpt.nn.mlp_forward", "minigpt.optim.lr_at",
                 "minigpt.nn.linear.LinearCache"):
        assert name in public
    assert not any(name.startswith("minigpt.__main__") for name in public)


def test_every_public_function_and_class_has_a_docstring():
    missing = [
        name for name, obj in all_public().items()
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and not own_docstring(obj)
    ]
    assert not missing, f"public functions/classes without a docstring: {missing}"


def test_every_public_method_has_a_docstring():
    missing = []
    for name, obj in all_public().items():
        if inspect.isclass(obj):
            for method_name, method in public_methods(obj).items():
                doc = method.__doc__ if isinstance(method, property) else inspect.getdoc(method)
                if not (doc or "").strip():
                    missing.append(f"{name}.{method_name}")
    assert not missing, f"public methods without a docstring: {sorted(set(missing))}"


def test_every_public_name_has_a_page():
    missing = undocumented(all_public(), documented())
    assert not missing, (
        f"public names missing from the API reference: {missing}; add each to an autosummary "
        f"list (or an autodata directive) in {API_DIR.relative_to(ROOT)}/*.rst"
    )


def test_every_documented_name_exists():
    stale = []
    for name in documented():
        try:
            resolve(name)
        except (ImportError, AttributeError):
            stale.append(name)
    assert not stale, f"the API reference documents names that do not exist: {stale}"


def test_the_page_check_can_fail():
    text = """
.. currentmodule:: minigpt.nn

.. autosummary::
   :toctree: generated/

   linear_forward
   ~minigpt.nn.linear_backward

.. autodata:: minigpt.nn.LN_EPS
"""
    names = documented_in(text)
    assert names == ["minigpt.nn.linear_forward", "minigpt.nn.linear_backward",
                     "minigpt.nn.LN_EPS"]
    public = public_names("minigpt.nn")
    missing = undocumented(public, names)
    assert "minigpt.nn.mlp_forward" in missing
    assert "minigpt.nn.linear_forward" not in missing and "minigpt.nn.LN_EPS" not in missing


# ---------------------------------------------------------------------- the tutorials


def chapters() -> list[Path]:
    return sorted(TUTORIALS.rglob("plot_*.py"))


def literalincludes(path: Path) -> list[tuple[str, dict[str, str]]]:
    """``(path argument, options)`` of every literalinclude in a tutorial's text cells."""
    found = []
    lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in
             path.read_text(encoding="utf-8").splitlines()]
    for i, line in enumerate(lines):
        m = re.match(r"\.\. literalinclude::\s*(\S+)", line)
        if not m:
            continue
        options = {}
        for opt in lines[i + 1:]:
            o = re.match(r"\s+:([\w-]+):\s*(.*)", opt)
            if not o:
                break
            options[o.group(1)] = o.group(2).strip()
        found.append((m.group(1), options))
    return found


def python_objects(source: str) -> set[str]:
    """Dotted names of the functions and classes (and their methods) defined in a module."""
    names = set()

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(prefix + child.name)
                visit(child, prefix + child.name + ".")

    visit(ast.parse(source), "")
    return names


def test_the_six_chapters_exist_in_order():
    stems = [p.stem for p in chapters() if p.parent == TUTORIALS]
    numbers = [int(re.match(r"plot_(\d+)_", s).group(1)) for s in stems]
    assert numbers[:6] == [1, 2, 3, 4, 5, 6], stems


def gallery_subsection_order() -> list[str]:
    """``sphinx_gallery_conf["subsection_order"]`` of ``docs/conf.py``, read without Sphinx."""
    tree = ast.parse((DOCS / "conf.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                and any(isinstance(t, ast.Name) and t.id == "sphinx_gallery_conf"
                        for t in node.targets)):
            for key, value in zip(node.value.keys, node.value.values):
                if isinstance(key, ast.Constant) and key.value == "subsection_order":
                    return ast.literal_eval(value)
    raise AssertionError("docs/conf.py sets no sphinx_gallery_conf['subsection_order']")


def test_the_parts_follow_each_other_and_number_their_chapters_on():
    order = gallery_subsection_order()
    parts = sorted({p.parent for p in chapters()})
    folders = [p.relative_to(DOCS).as_posix() for p in parts]
    missing = [f for f in folders if f not in order]
    assert not missing, f"chapter folders missing from subsection_order in conf.py: {missing}"
    numbers = []
    for folder in sorted(folders, key=order.index):
        header = DOCS / folder / "GALLERY_HEADER.rst"
        assert header.is_file(), f"{folder} has no GALLERY_HEADER.rst"
        lines = header.read_text(encoding="utf-8").splitlines()
        titled = any(len(u) >= len(t) > 0 and set(u) <= set("=-~^") and u
                     for t, u in zip(lines, lines[1:]))
        assert titled, f"{header.relative_to(DOCS)} has no title"
        numbers += [int(re.match(r"plot_(\d+)_", p.stem).group(1))
                    for p in sorted((DOCS / folder).glob("plot_*.py"))]
    assert numbers == list(range(1, len(numbers) + 1)), numbers


def test_landing_page_links_every_chapter():
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    linked = set(re.findall(r":doc:`auto_tutorials/([\w/]+)`", index))
    expected = {p.relative_to(TUTORIALS).with_suffix("").as_posix() for p in chapters()}
    assert linked == expected, (f"not linked from docs/index.rst: {sorted(expected - linked)}; "
                                f"linked but missing: {sorted(linked - expected)}")


@pytest.mark.parametrize("chapter", chapters(), ids=lambda p: p.stem)
def test_chapter_shows_library_code_and_a_plot(chapter):
    text = chapter.read_text(encoding="utf-8")
    includes = literalincludes(chapter)
    assert any("pyobject" in opts for _, opts in includes), "no literalinclude :pyobject:"
    assert re.search(r"plt\.(subplots|figure)\(", text), "no matplotlib figure"
    assert re.search(r"^\s*print\(", text, re.M), "no executed check that prints a number"
    assert ".. math::" in text, "no equation"


@pytest.mark.parametrize("chapter", chapters(), ids=lambda p: p.stem)
def test_literalincludes_point_at_existing_code(chapter):
    for arg, options in literalincludes(chapter):
        assert arg.startswith("/../minigpt/"), f"{arg}: include library files from the srcdir root"
        target = (DOCS / arg.lstrip("/")).resolve()
        assert target.is_file(), f"{chapter.name}: {arg} does not exist"
        if "pyobject" in options:
            objects = python_objects(target.read_text(encoding="utf-8"))
            assert options["pyobject"] in objects, (
                f"{chapter.name}: {options['pyobject']} is not defined in {arg}")
        text = target.read_text(encoding="utf-8")
        for key in ("start-at", "start-after", "end-at", "end-before"):
            if key in options:
                assert options[key] in text, f"{chapter.name}: {key} {options[key]!r} not in {arg}"


def test_landing_page_shows_the_readme_set_up_commands():
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", section, re.S)
    assert len(commands) == 2, commands
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    for command in commands:
        assert f"   {command}\n" in index, f"docs/index.rst lacks the README command {command!r}"


def test_strip_docstring_keeps_the_code():
    pytest.importorskip("sphinx")
    pytest.importorskip("sphinx_gallery")
    spec = importlib.util.spec_from_file_location("docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    environ, path = dict(os.environ), list(sys.path)
    try:
        spec.loader.exec_module(conf)
    finally:  # conf.py sets thread counts and sys.path for the docs build only
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
    code = 'def f(x):\n    """Doc.\n\n    More.\n    """\n    return x  # kept\n'
    assert conf.strip_docstring(code) == "def f(x):\n    return x  # kept\n"
    method = '    def g(self):\n        """One line."""\n        return 1\n'
    assert conf.strip_docstring(method) == "    def g(self):\n        return 1\n"
    assert conf.strip_docstring("x = 1\ny = 2\n") is None
