"""Sphinx configuration of the minigpt book: tutorials executed at build time, API reference.

Build the HTML (strict: every warning is an error) from the repository root with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The tutorials in ``docs/tutorials`` run during the build (sphinx-gallery) and train the demo
facts model once (:func:`minigpt.facts.demo.demo_model`); its checkpoint is cached under
``docs/_build/demo_cache`` and reused by every chapter, and retrained whenever the library's
source changes. MathJax is served from the built site (``sphinx-mathjax-offline``), so the
pages need no network; ``docs/check_site.py`` checks that after a build.
"""

from __future__ import annotations

import argparse
import ast
import html
import inspect
import os
import posixpath
import re
import sys
import textwrap
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList
from sphinx.directives.code import LiteralInclude
from sphinx.util import logging as sphinx_logging

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document the source tree, installed or not

os.environ.setdefault("MPLBACKEND", "Agg")
# The chapters that need the trained demo model call minigpt.facts.demo.demo_model(), which
# trains it once and caches it here (outside the build, in ~/.cache/minigpt/demo).
os.environ.setdefault("MINIGPT_DEMO_CACHE", str(DOCS / "_build" / "demo_cache"))
# One BLAS thread: the build often shares the machine with other jobs, and beside one busy
# process training the demo model took 19 s on one thread and 54 s on two (on an idle
# machine two threads are faster: 15 s against 18 s; see the Performance page). Set before
# numpy is first imported; an explicit setting in the environment wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import minigpt  # noqa: E402
from minigpt.allocator import keep_freed_memory  # noqa: E402

keep_freed_memory()  # the build's process is ours: reuse freed memory (minigpt.allocator)

project = "minigpt"
author = "the minigpt authors"
copyright = "minigpt authors, MIT licence"
version = release = minigpt.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "sphinx_design",  # the exercises' hidden solutions (dropdowns)
    "sphinx-mathjax-offline",  # MathJax 3 copied into the site: math renders offline
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "tutorials", "sg_execution_times.rst", "**/sg_execution_times.rst"]
root_doc = "index"
nitpicky = False

# -- autodoc, autosummary, numpydoc ---------------------------------------------------------

autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # numpydoc's Parameters already give types and shapes
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
numpydoc_show_class_members = False  # the class template lists members itself
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- sphinx-gallery -------------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": ["tutorials"],
    "gallery_dirs": ["auto_tutorials"],
    "filename_pattern": r"[\\/]plot_",  # every chapter is executed
    "ignore_pattern": r"^_",  # a helper module beside the chapters would not be one
    "within_subsection_order": "FileNameSortKey",  # plot_01_..., plot_02_...: the video's order
    # later parts of the book are subfolders of tutorials/, in this order
    "subsection_order": ["tutorials", "tutorials/where_facts_live", "tutorials/superposition",
                         "tutorials/real_gpt2", "*"],
    "abort_on_example_error": True,
    "run_stale_examples": True,  # every number is recomputed from the current code
    "doc_module": ("minigpt",),
    "backreferences_dir": "api/generated/backreferences",
    "inspect_global_variables": True,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "min_reported_time": 0,
    "image_scrapers": ("matplotlib",),
    "image_srcset": ["2x"],  # every figure also at twice the resolution, for sharp screens
    "matplotlib_animations": False,
    "capture_repr": (),
}

# -- HTML -----------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = "minigpt"
html_static_path = ["_static"]
html_css_files = ["minigpt.css"]
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "navbar_align": "left",
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": []}
html_show_sourcelink = True
html_copy_source = True

copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

mathjax3_config = {"tex": {"macros": {"R": r"\mathbb{R}"}}}


# -- literalinclude, optionally without the docstring -----------------------------------------


class LiteralIncludeCode(LiteralInclude):
    """``literalinclude`` with one more flag, ``:no-docstring:``.

    With ``:pyobject:``, the tutorials show a function's code as it is in the library; the
    flag leaves out its docstring (which its API page renders) so the code reads at a glance.
    """

    option_spec = {**LiteralInclude.option_spec, "no-docstring": directives.flag}

    def run(self) -> list[nodes.Node]:
        result = super().run()
        if "no-docstring" not in self.options:
            return result
        for block in (n for node in result for n in node.findall(nodes.literal_block)):
            text = block.astext()
            stripped = strip_docstring(text)
            if stripped is None:
                sphinx_logging.getLogger(__name__).warning(
                    "literalinclude :no-docstring: needs a whole function or class "
                    "(use :pyobject:), got %r", self.options.get("pyobject"),
                    location=self.get_location())
                continue
            block.rawsource = stripped
            block.children = [nodes.Text(stripped)]
        return result


def strip_docstring(code: str) -> str | None:
    """``code`` (one ``def`` or ``class``) without its docstring; ``None`` if not parseable."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(
        tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    ):
        return None
    body = tree.body[0].body
    first = body[0]
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        return code
    lines = code.splitlines(keepends=True)
    del lines[first.lineno - 1:first.end_lineno]  # 1-based, inclusive
    return "".join(lines)


# -- the command-line reference, rendered from the parser itself ----------------------------

HELP_WIDTH = 88


class CommandHelp(Directive):
    """``.. minigpt-cli::`` renders ``minigpt --help`` and each subcommand's help."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from minigpt.cli import build_parser

        def formatter(prog: str) -> argparse.HelpFormatter:
            return argparse.HelpFormatter(prog, width=HELP_WIDTH)

        def sections(parser: argparse.ArgumentParser, words: list[str]) -> list[nodes.Node]:
            """One section per subcommand, nested subcommands (``facts trace``) after it."""
            out: list[nodes.Node] = []
            for action in parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    for name, sub in action.choices.items():
                        sub.formatter_class = formatter
                        section = nodes.section(ids=["command-" + "-".join(words + [name])])
                        section += nodes.title(text=" ".join(["minigpt", *words, name]))
                        section += nodes.literal_block(text=sub.format_help())
                        out.append(section)
                        out.extend(sections(sub, words + [name]))
            return out

        parser = build_parser()
        parser.formatter_class = formatter
        return [nodes.literal_block(text=parser.format_help()), *sections(parser, [])]


def warm_demo_cache(app) -> None:
    """Train (or find) the demo facts model before the chapters that share it run."""
    if str(app.config.plot_gallery) not in ("True", "true", "1"):
        return
    from minigpt.facts.demo import demo_model

    demo_model()


# -- the video, by its sections -------------------------------------------------------------

VIDEO_URL = "https://www.youtube.com/watch?v=9-Jl0dxWQs8"
VIDEO_TITLE = "How might LLMs store facts"
# The section marks of the video's own description (3Blue1Brown, Deep Learning chapter 7).
VIDEO_SECTIONS = {
    "0:00": "Where facts in LLMs live",
    "2:15": "Quick refresher on transformers",
    "4:39": "Assumptions for our toy example",
    "6:07": "Inside a multilayer perceptron",
    "15:38": "Counting parameters",
    "17:04": "Superposition",
    "21:37": "Up next",
}


def video_link(stamp: str) -> tuple[str, str]:
    """``(link text, url)`` of the video's section that starts at ``stamp`` ("m:ss")."""
    if stamp not in VIDEO_SECTIONS:
        raise ValueError(f"the video has sections at {sorted(VIDEO_SECTIONS)}, got {stamp!r}")
    minutes, seconds = (int(part) for part in stamp.split(":"))
    return f"{VIDEO_SECTIONS[stamp]} ({stamp})", f"{VIDEO_URL}&t={60 * minutes + seconds}s"


def video_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``:video:`6:07``` links the video's section that starts at 6:07, by its title."""
    try:
        label, url = video_link(text.strip())
    except ValueError as err:
        message = inliner.reporter.error(str(err), line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    return [nodes.reference(rawtext, label, refuri=url, classes=["video-link"])], []


# -- constants: their own description, not their type's ------------------------------------


def drop_type_docstrings(app, what, name, obj, options, lines) -> None:
    """A constant documented with ``autodata`` shows no docstring of its type.

    Without a ``#:`` comment, autodoc falls back to ``obj.__doc__``, which for a float, a
    tuple or a dataclass instance is the docstring of ``float``, ``tuple`` or the class.
    The description written under the directive is what the reader should see.
    """
    if what not in ("data", "attribute") or not lines:
        return
    own = inspect.getdoc(obj) or ""
    type_doc = inspect.getdoc(type(obj)) or ""
    if own.strip() and own.strip() == type_doc.strip():
        lines.clear()


# -- viewcode's back-links, to the anchors that exist --------------------------------------

VIEWCODE_BACKLINK = re.compile(
    r'(?P<open><div class="viewcode-block" id="(?P<name>[^"]+)">\s*'
    r'<a class="viewcode-back" href=")(?P<href>[^"#]*)#(?P<anchor>[^"]*)"')


def fix_viewcode_backlinks(app, pagename, templatename, context, doctree) -> None:
    """Point each ``[docs]`` link of a highlighted source page at the object's real anchor.

    viewcode keeps one module name per source file and builds every back-link from it.
    minigpt documents some objects of a file under the package that re-exports them
    (``minigpt.nn.linear_forward``) and others under the file's module
    (``minigpt.nn.linear.LinearCache``), so half of such a file's back-links named an anchor
    that does not exist. The page each link goes to is right; the anchor is taken from the
    Python domain's record of what that page documents.
    """
    if not pagename.startswith("_modules/") or "body" not in context:
        return
    by_page: dict[str, dict[str, str]] = {}
    for fullname, entry in app.env.get_domain("py").objects.items():
        by_page.setdefault(entry.docname, {})[fullname] = entry.node_id
    here = posixpath.dirname(pagename)

    def fix(match: re.Match) -> str:
        target = posixpath.normpath(posixpath.join(here, html.unescape(match["href"])))
        anchors = by_page.get(target.removesuffix(app.builder.out_suffix), {})
        if match["anchor"] in anchors.values():
            return match[0]
        found = {node_id for fullname, node_id in anchors.items()
                 if fullname.endswith("." + match["name"])}  # an alias shares the node id
        if len(found) != 1:
            return match[0]
        return f'{match["open"]}{match["href"]}#{found.pop()}"'

    context["body"] = VIEWCODE_BACKLINK.sub(fix, context["body"])


# -- the benchmark tables, as tables --------------------------------------------------------

EMPTY_CELL = "\\ "  # an escaped space: a list-table cell with nothing in it
MD_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def md_inline_to_rst(text: str) -> str:
    """Markdown inline markup of the benchmark files as reStructuredText."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"``{part[1:-1]}``")
        else:
            part = part.replace("\\", "\\\\").replace("|", "\\|")
            out.append(re.sub(r"(\w)_(?=\W|$)", r"\1\\_", part))
    return "".join(out)


def md_table_cells(line: str) -> list[str]:
    """The cells of one markdown table row, stripped."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def markdown_to_rst(text: str) -> str:
    """A benchmark result file (title, paragraphs, bullets, pipe tables) as rst.

    The ``# title`` line is dropped (the page has its own heading); each pipe table becomes
    a ``list-table`` with a header row.
    """
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("# "):
            i += 1
            continue
        if line.lstrip().startswith("|") and i + 1 < len(lines) and MD_TABLE_RULE.match(
                lines[i + 1].strip()):
            header = md_table_cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(md_table_cells(lines[i]))
                i += 1
            out += ["", ".. list-table::", "   :header-rows: 1", "   :class: benchmark-table", ""]
            for row in [header] + rows:
                if len(row) != len(header):
                    raise ValueError(f"a table row has {len(row)} cells, the header "
                                     f"{len(header)}: {row}")
                cells = [md_inline_to_rst(cell) or EMPTY_CELL for cell in row]
                out.append(f"   * - {cells[0]}")
                out += [f"     - {cell}" for cell in cells[1:]]
            out.append("")
            continue
        out.append(md_inline_to_rst(line))
        i += 1
    return "\n".join(out)


class MarkdownResults(Directive):
    """``.. benchmark-results:: ../benchmarks/results/x.md`` renders the file's tables as
    tables (read at build time, so the page always shows the file as it is)."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        rel, path = env.relfn2path(self.arguments[0])
        env.note_dependency(rel)
        text = Path(path).read_text(encoding="utf-8")
        container = nodes.container(classes=["benchmark-results"])
        self.state.nested_parse(StringList(markdown_to_rst(text).splitlines(), path), 0,
                                container)
        return [container]


# -- how long each chapter takes ------------------------------------------------------------

WORDS_PER_MINUTE = 200  # reading prose
CODE_LINES_PER_MINUTE = 20  # reading code
RUN_TIME = re.compile(r"Total running time of the script:\*\* \((\d+) minutes ([\d.]+) seconds\)")


def chapter_reading(source: str) -> tuple[int, int]:
    """``(words of prose, lines of code)`` of a sphinx-gallery chapter's source."""
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree) or ""
    body = source.split('"""', 2)[2] if source.lstrip().startswith('"""') else source
    prose, code = [docstring], 0
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith("# %%") or not stripped:
            continue
        if stripped.startswith("#"):
            prose.append(stripped.lstrip("#"))
        else:
            code += 1
    return len(" ".join(prose).split()), code


CHAPTER_NUMBER = re.compile(r"plot_(\d+)_")


def chapter_scripts() -> list[Path]:
    """Every chapter's source, in reading order: by the number in its name (``plot_07_...``),
    not by its folder, whose names (``real_gpt2``, ``superposition``, ...) sort otherwise."""
    scripts = (DOCS / "tutorials").rglob("plot_*.py")
    return sorted(scripts, key=lambda p: int(CHAPTER_NUMBER.match(p.name).group(1)))


def chapter_title(source: str) -> str:
    """The title of a chapter: the first line of its docstring."""
    return (ast.get_docstring(ast.parse(source)) or "").splitlines()[0].strip()


class ChapterTimes(Directive):
    """``.. chapter-times::`` tabulates every chapter: run time measured in this build (from
    sphinx-gallery's record) and a reading estimate from its words and lines of code."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        rows, total_run, total_read = [], 0.0, 0.0
        for script in chapter_scripts():
            rel = script.relative_to(DOCS / "tutorials").with_suffix("")
            generated = DOCS / "auto_tutorials" / rel.with_suffix(".rst")
            source = script.read_text(encoding="utf-8")
            words, code = chapter_reading(source)
            read = words / WORDS_PER_MINUTE + code / CODE_LINES_PER_MINUTE
            run = None
            if generated.is_file():
                env.note_dependency(str(generated))
                m = RUN_TIME.search(generated.read_text(encoding="utf-8"))
                run = 60 * int(m.group(1)) + float(m.group(2)) if m else None
            total_read += read
            total_run += run or 0.0
            rows.append((f":doc:`auto_tutorials/{rel.as_posix()}`",
                         "not run" if run is None else f"{run:.0f} s",
                         f"{read:.0f} min", f"{words:,} words, {code} lines of code"))
        rows.append(("**all chapters**", f"**{total_run / 60:.1f} min**",
                     f"**{total_read / 60:.1f} h**", ""))
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 40 15 15 30", "",
                 "   * - Chapter", "     - run (this build)", "     - reading (estimate)",
                 "     - measured from"]
        for row in rows:
            lines.append(f"   * - {row[0]}")
            lines += [f"     - {cell or EMPTY_CELL}" for cell in row[1:]]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, "<chapter-times>"), 0, container)
        return container.children


def setup(app):
    app.add_directive("minigpt-cli", CommandHelp)
    app.add_directive("literalinclude", LiteralIncludeCode, override=True)
    app.add_directive("benchmark-results", MarkdownResults)
    app.add_directive("chapter-times", ChapterTimes)
    app.add_role("video", video_role)
    app.connect("builder-inited", warm_demo_cache, priority=400)  # before the gallery (500)
    app.connect("autodoc-process-docstring", drop_type_docstrings, priority=100)  # numpydoc: 500
    app.connect("html-page-context", fix_viewcode_backlinks)
    return {"parallel_read_safe": True}
