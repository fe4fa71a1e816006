"""The book and its API reference stay complete: every public name has a docstring and a page.

These checks read the package and the ``.rst``/tutorial sources; they do not build the
docs (CI does that with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import json
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


# ---------------------------------------------------------------------- the learner's path


def conf_literal(name: str):
    """A literal assigned at the top level of ``docs/conf.py``, read without Sphinx."""
    tree = ast.parse((DOCS / "conf.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name):
            return ast.literal_eval(node.value)
    raise AssertionError(f"docs/conf.py assigns no literal {name}")


VIDEO_ROLE_RE = re.compile(r":video:`([^`]+)`")


@pytest.mark.parametrize("chapter", chapters(), ids=lambda p: p.stem)
def test_chapter_opens_with_its_section_of_the_video(chapter):
    docstring = ast.get_docstring(ast.parse(chapter.read_text(encoding="utf-8"))) or ""
    opening = "\n".join(docstring.splitlines()[:6])  # title, underline, then the link
    stamps = VIDEO_ROLE_RE.findall(opening)
    assert stamps, f"{chapter.name} does not open with a :video: link"
    sections = conf_literal("VIDEO_SECTIONS")
    assert set(stamps) <= set(sections), f"no such section of the video: {stamps}"


def test_landing_table_links_a_video_section_per_chapter():
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    table = index.split(".. list-table::", 1)[1].split(".. toctree::", 1)[0]
    rows = table.split("   * - ")[2:]  # after the header row
    assert len(rows) == len(chapters())
    assert all(VIDEO_ROLE_RE.search(row) for row in rows)
    assert set(VIDEO_ROLE_RE.findall(table)) <= set(conf_literal("VIDEO_SECTIONS"))


@pytest.mark.parametrize("chapter", chapters(), ids=lambda p: p.stem)
def test_chapter_ends_with_exercises_and_hidden_solutions(chapter):
    text = chapter.read_text(encoding="utf-8")
    assert "# Exercises\n# ---------\n" in text, f"{chapter.name} has no Exercises section"
    exercises = text.split("# Exercises\n# ---------\n", 1)[1]
    n_exercises = len(re.findall(r"^# \d\. ", exercises, re.M))
    n_solutions = exercises.count(".. dropdown:: Solution")
    assert 2 <= n_exercises <= 3 and n_solutions == n_exercises, (n_exercises, n_solutions)


def glossary_terms() -> set[str]:
    text = (DOCS / "glossary.rst").read_text(encoding="utf-8")
    return {line.strip() for line in text.splitlines()
            if line.startswith("   ") and not line.startswith("    ") and line.strip()
            and not line.strip().startswith(":")}


@pytest.mark.parametrize("chapter", chapters(), ids=lambda p: p.stem)
def test_chapter_links_the_glossary(chapter):
    refs = re.findall(r":term:`([^`]+)`", chapter.read_text(encoding="utf-8"))
    assert refs, f"{chapter.name} links no glossary term"
    targets = {re.sub(r".*<(.+)>$", r"\1", ref).strip() for ref in refs}
    assert targets <= glossary_terms(), f"not in docs/glossary.rst: {targets - glossary_terms()}"


def text_cell_headings(source: str) -> list[tuple[int, str]]:
    """Section underlines (``# -----``) that fall inside a code cell: lines after code and
    before the next ``# %%``, where sphinx-gallery shows them as comments."""
    bad, in_code = [], False
    head, _, body = source.partition('"""\n\n') if source.startswith('"""') else ("", "", source)
    offset = head.count("\n") + 2  # line numbers of the file, not of the body
    for number, line in enumerate(body.splitlines(), offset + 1):
        if line.startswith("# %%"):
            in_code = False
        elif line.strip() and not line.startswith("#"):
            in_code = True
        elif in_code and re.fullmatch(r"# ([-=~^])\1{2,}", line):
            bad.append((number, line))
    return bad


def test_the_heading_check_can_fail():
    source = '"""\nT\n=\n"""\n\n# %%\n# A\n# -\n\nx = 1\n#\n# B\n# ---\n\ny = 2\n'
    assert text_cell_headings(source) == [(13, "# ---")]


@pytest.mark.parametrize("chapter", chapters(), ids=lambda p: p.stem)
def test_every_heading_is_in_a_text_cell(chapter):
    bad = text_cell_headings(chapter.read_text(encoding="utf-8"))
    assert not bad, f"{chapter.name}: headings inside code cells (a missing '# %%'): {bad}"


@pytest.mark.parametrize("chapter", chapters(), ids=lambda p: p.stem)
def test_chapter_imports_only_what_an_installed_minigpt_provides(chapter):
    """A downloaded chapter runs outside the repository: no helper module beside it."""
    sys.path.insert(0, str(DOCS))
    try:
        from run_downloads import imported_modules
    finally:
        sys.path.remove(str(DOCS))
    names = imported_modules(chapter.read_text(encoding="utf-8"))
    assert all(n.split(".")[0] not in ("_shared", "docs", "tests") for n in names)
    ours = [n for n in names if n.startswith(".") or n.split(".")[0] == "minigpt"]
    missing = sorted(n for n in ours if n.startswith(".") or importlib.util.find_spec(n) is None)
    assert not missing, f"{chapter.name} imports modules minigpt does not provide: {missing}"
    extras = sorted({n.split(".")[0] for n in names if n not in ours
                     and importlib.util.find_spec(n.split(".")[0]) is None})
    if extras:  # matplotlib, torch, ...: the docs/plot/crosscheck extras; CI's pass 2 has them
        pytest.skip(f"{chapter.name} needs {extras}: install the docs extra")


# ---------------------------------------------------------------------- the built site


def load_docs_script(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_site(root: Path, pages: dict[str, str]) -> Path:
    for name, text in pages.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_site_check_finds_remote_resources_wide_outputs_and_broken_anchors(tmp_path):
    check_site = load_docs_script("check_site")
    out = ('<div class="sphx-glr-script-out highlight-none notranslate"><div class="highlight">'
           '<pre><span></span>{}</pre></div></div>')
    site = write_site(tmp_path, {
        "index.html": ('<script src="https://cdn.example/mathjax.js"></script>'
                       '<a href="https://example.org">a link out is fine</a>'
                       '<a href="api/f.html#f">ok</a><a href="api/f.html#gone">broken</a>'
                       '<a href="missing.html">missing</a>' + out.format("x" * 87)),
        "api/f.html": '<dt id="f">f</dt><img src="../_images/a.png">' + out.format("y" * 86),
        "_static/theme.css": "@font-face { src: url(https://fonts.example/a.woff2) }",
        "figs.html": ('<ul class="sphx-glr-horizontal"><li><img src="a.png" '
                      'class = "sphx-glr-multi-img"/></li><li><img src="b.png" '
                      'class = "sphx-glr-multi-img"/></li></ul><img src="c.png" '
                      'class = "sphx-glr-single-img"/>'),
    })
    problems = check_site.check(site)
    assert any("loads https://cdn.example/mathjax.js" in p for p in problems)
    assert any("loads https://fonts.example/a.woff2" in p for p in problems)
    assert any("output line of 87 > 86" in p for p in problems)
    assert not any("output line of 86" in p for p in problems)
    assert any("no anchor 'gone'" in p for p in problems)
    assert any("missing.html: no such page" in p for p in problems)
    assert any("figs.html: 2 figures shown side by side" in p for p in problems)
    assert len(problems) == 6, problems


def test_site_check_passes_a_clean_site(tmp_path):
    check_site = load_docs_script("check_site")
    site = write_site(tmp_path, {"index.html": '<script src="_static/mathjax/tex-chtml.js">'
                                               '</script><a href="#top" id="top">top</a>'})
    assert check_site.check(site) == []
    assert check_site.main([str(site)]) == 0


def test_download_runner_flags_a_notebook_that_imports_a_missing_module(tmp_path):
    run_downloads = load_docs_script("run_downloads")
    notebook = tmp_path / "plot_99.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["import nothing_here\n"]},
        {"cell_type": "code", "source": ["import numpy as np\n", "from _shared import demo\n"]},
    ]}), encoding="utf-8")
    assert run_downloads.missing_imports(notebook) == ["_shared"]


def test_download_runner_runs_a_script_alone_in_an_empty_folder(tmp_path):
    run_downloads = load_docs_script("run_downloads")
    ok_script = tmp_path / "plot_ok.py"
    ok_script.write_text("import os\nassert os.listdir('.') == ['plot_ok.py']\n")
    bad_script = tmp_path / "plot_bad.py"
    bad_script.write_text("import _shared\n")
    env = dict(os.environ)
    assert run_downloads.run_script(ok_script, env)[0]
    ok, _, tail = run_downloads.run_script(bad_script, env)
    assert not ok and "_shared" in tail


# ---------------------------------------------------------------------- conf.py's helpers


@pytest.fixture(scope="module")
def conf():
    pytest.importorskip("sphinx")
    pytest.importorskip("sphinx_gallery")
    spec = importlib.util.spec_from_file_location("docs_conf_helpers", DOCS / "conf.py")
    module = importlib.util.module_from_spec(spec)
    environ, path = dict(os.environ), list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:  # conf.py sets thread counts and sys.path for the docs build only
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
    return module


def test_constants_lose_their_types_docstring_only(conf):
    float_doc = (inspect.getdoc(1e-5) or "").splitlines()
    lines = list(float_doc)
    conf.drop_type_docstrings(None, "data", "minigpt.nn.LN_EPS", 1e-5, {}, lines)
    assert lines == []
    own = ["A function's own docstring."]
    conf.drop_type_docstrings(None, "function", "f", len, {}, own)
    assert own == ["A function's own docstring."]


def test_chapter_times_list_the_chapters_in_reading_order(conf):
    numbers = [int(conf.CHAPTER_NUMBER.match(p.name).group(1)) for p in conf.chapter_scripts()]
    assert numbers == list(range(1, len(chapters()) + 1)), numbers


MAX_TEXT_CODE_WIDTH = 80  # a code block in a chapter's text: the column shows ~86, less in a dropdown


def text_code_blocks(path: Path) -> list[str]:
    """The lines of every ``.. code-block::`` in a chapter's text cells, unindented."""
    found, block, indent = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            block = None
            continue
        line = line[2:] if line.startswith("# ") else line[1:]
        if m := re.match(r"^(\s*)\.\. code-block::", line):
            block, indent = len(m.group(1)), None
        elif block is not None and line.strip():
            lead = len(line) - len(line.lstrip())
            if lead <= block:
                block = None
                continue
            indent = lead if indent is None else indent
            found.append(line[indent:])
    return found


@pytest.mark.parametrize("chapter", chapters(), ids=lambda p: p.stem)
def test_code_in_a_chapters_text_fits_the_column(chapter):
    wide = [line for line in text_code_blocks(chapter) if len(line) > MAX_TEXT_CODE_WIDTH]
    assert not wide, f"{chapter.name}: code lines wider than {MAX_TEXT_CODE_WIDTH}: {wide}"


def test_outputs_are_shown_whole_not_in_a_scrolled_box():
    # sphinx-gallery's stylesheet caps an output's height (max-height: 30em); the book's own
    # stylesheet, loaded after it, lifts the cap with a selector at least as specific.
    css = (DOCS / "_static" / "minigpt.css").read_text(encoding="utf-8")
    rules = dict(re.findall(r"([^{}]+)\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", css, flags=re.S)))
    lifted = {sel.strip() for sel, body in rules.items()
              if re.search(r"max-height\s*:\s*none", body)}
    assert ".sphx-glr-script-out .highlight pre" in lifted, sorted(rules)


def test_video_links_only_to_sections_that_exist(conf):
    label, url = conf.video_link("6:07")
    assert label == "Inside a multilayer perceptron (6:07)" and url.endswith("&t=367s")
    with pytest.raises(ValueError, match="sections at"):
        conf.video_link("6:08")


def test_benchmark_markdown_becomes_rst_tables(conf):
    text = ("# Title\n\nSome `code` and a_name_ here.\n\n| a | b |\n|---|---|\n| 1 | |\n"
            "| 2 | x |\n\n- a bullet\n")
    rst = conf.markdown_to_rst(text)
    assert "Title" not in rst and "``code``" in rst and "a_name\\_" in rst
    assert ".. list-table::" in rst and "   * - 1\n     - \\ " in rst
    from docutils.core import publish_doctree

    tree = publish_doctree(rst, settings_overrides={"report_level": 5})
    table = next(iter(tree.findall(lambda n: n.tagname == "table")))
    assert len(list(table.findall(lambda n: n.tagname == "row"))) == 3
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.md")):
        tree = publish_doctree(conf.markdown_to_rst(path.read_text(encoding="utf-8")),
                               settings_overrides={"report_level": 5})
        problems = [m for m in tree.findall(lambda n: n.tagname == "system_message")
                    if m["level"] >= 2]  # warnings and errors; INFO notes are harmless
        assert not problems, path.name


def test_the_performance_page_shows_every_result_as_a_table():
    # a results file shown as text is markdown in a code block, its wide columns cut off
    page = (DOCS / "performance.rst").read_text(encoding="utf-8")
    as_text = re.findall(r"^\.\. literalinclude:: (\S*benchmarks/results/\S+\.md)", page, re.M)
    assert not as_text, f"shown as text instead of with benchmark-results: {as_text}"
    assert re.search(r"^\.\. benchmark-results:: \S+", page, re.M)


def test_chapter_reading_counts_prose_and_code(conf):
    source = '"""\nT\n=\n\nOne two three.\n"""\n\n# %%\n# Four five.\n\nx = 1\ny = 2\n'
    assert conf.chapter_reading(source) == (7, 2)  # T, =, One, two, three., Four, five.


# ---------------------------------------------------------------------- README


def test_readme_demo_time_matches_its_pasted_output():
    readme = README.read_text(encoding="utf-8")
    pasted = re.search(r"for \d+ steps in ([\d.]+) s;", readme)
    assert pasted, "README.md shows no minigpt demo output with its training time"
    stated = re.findall(r"the run pasted below took ([\d.]+) s", readme)
    assert stated and all(s == pasted.group(1) for s in stated), (stated, pasted.group(1))


# ---------------------------------------------------------------------- the book's pages


FACTS_CHAPTER = "where_facts_live/plot_10_your_own_facts"
GPT2_HOWTO = "real_gpt2/plot_17_trace_and_edit_gpt2"


@pytest.mark.parametrize("page", [FACTS_CHAPTER, GPT2_HOWTO])
def test_the_general_facts_chapter_and_the_gpt2_howto_are_in_the_book(page):
    assert (TUTORIALS / f"{page}.py").is_file()
    for rst in ("index.rst", "start.rst"):
        text = (DOCS / rst).read_text(encoding="utf-8")
        assert f":doc:`auto_tutorials/{page}`" in text, f"docs/{rst} does not link {page}"


def test_site_check_finds_chapters_missing_from_the_book(tmp_path):
    check_site = load_docs_script("check_site")
    chapters = ["auto_tutorials/a/plot_01_x.html", "auto_tutorials/b/plot_02_y.html"]
    links = '<a href="a/plot_01_x.html">1</a><a href="b/plot_02_y.html#top">2</a>'
    site = write_site(tmp_path, {
        "index.html": '<a href="auto_tutorials/a/plot_01_x.html">1</a>',
        "start.html": ('<a href="auto_tutorials/a/plot_01_x.html">1</a>'
                       '<a href="auto_tutorials/b/plot_02_y.html">2</a>'),
        "auto_tutorials/index.html": links,
        "auto_tutorials/a/plot_01_x.html": "<p>one</p>",
    })
    assert check_site.missing_chapters(site, chapters) == [
        "auto_tutorials/b/plot_02_y.html: the chapter has no page",
        "index.html: does not link the chapter auto_tutorials/b/plot_02_y.html"]
    write_site(site, {"auto_tutorials/b/plot_02_y.html": '<p id="top">two</p>',
                      "index.html": '<a href="auto_tutorials/a/plot_01_x.html">1</a>'
                                    '<a href="./auto_tutorials/b/plot_02_y.html">2</a>'})
    assert check_site.missing_chapters(site, chapters) == []
    assert check_site.check(site, chapters=chapters) == []


def test_site_check_knows_every_chapter():
    check_site = load_docs_script("check_site")
    pages = check_site.chapter_pages(TUTORIALS)
    assert len(pages) == len(chapters())
    assert f"auto_tutorials/{FACTS_CHAPTER}.html" in pages
    assert f"auto_tutorials/{GPT2_HOWTO}.html" in pages
