"""Sphinx configuration of the minigpt book: tutorials executed at build time, API reference.

Build the HTML (strict: every warning is an error) from the repository root with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The tutorials in ``docs/tutorials`` run during the build (sphinx-gallery) and train the demo
facts model once; its checkpoint is cached under ``docs/_build/demo_cache`` and reused by
every chapter, and retrained whenever the library's source changes.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import textwrap
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from sphinx.directives.code import LiteralInclude
from sphinx.util import logging as sphinx_logging

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document the source tree, installed or not
sys.path.insert(0, str(DOCS / "tutorials"))  # the tutorials' shared demo-model cache

os.environ.setdefault("MPLBACKEND", "Agg")
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
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "tutorials", "**/sg_execution_times.rst"]
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
    "ignore_pattern": r"^_",  # _shared.py is a module, not a chapter
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

        parser = build_parser()
        parser.formatter_class = formatter
        out: list[nodes.Node] = [nodes.literal_block(text=parser.format_help())]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    sub.formatter_class = formatter
                    section = nodes.section(ids=[f"command-{name}"])
                    section += nodes.title(text=f"minigpt {name}")
                    section += nodes.literal_block(text=sub.format_help())
                    out.append(section)
        return out


def warm_demo_cache(app) -> None:
    """Train (or find) the demo facts model before the chapters that share it run."""
    if str(app.config.plot_gallery) not in ("True", "true", "1"):
        return
    import _shared

    _shared.demo_model()


def setup(app):
    app.add_directive("minigpt-cli", CommandHelp)
    app.add_directive("literalinclude", LiteralIncludeCode, override=True)
    app.connect("builder-inited", warm_demo_cache, priority=400)  # before the gallery (500)
    return {"parallel_read_safe": True}
