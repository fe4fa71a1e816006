"""Checks of the built book that Sphinx's own warnings do not make.

Run after a build, on its output folder::

    python docs/check_site.py docs/_build/html

It fails (exit code 1, one line per problem) when

* a page loads anything from the network: a ``<script>``, ``<link>``, ``<img>`` or
  ``<source>`` whose ``src``/``href``/``srcset`` is an ``http(s)://`` or ``//`` address, or a
  stylesheet's ``url()`` that is one (links a reader clicks, ``<a href>``, may go anywhere);
* a line of a chapter's printed output is wider than :data:`MAX_OUTPUT_WIDTH` characters,
  the width the text column shows on a 1280-pixel screen;
* a chapter shows figures side by side (one code cell drew several): sphinx-gallery then
  shrinks each to a fraction of the column, where its labels cannot be read; each figure
  needs a cell of its own;
* a link inside the site points at a page that does not exist, or at an anchor
  (``page.html#name``) that the page does not have;
* a chapter of ``docs/tutorials`` (``plot_*.py``) has no page in a site that holds the
  tutorials, or is missing from the book's table of contents (``auto_tutorials/index``),
  the landing page or the Start-here page.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import unquote, urldefrag

MAX_OUTPUT_WIDTH = 86  # characters of a tutorial's output that fit the text column

REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host/...
RESOURCE_TAG = re.compile(r"<(script|link|img|source|iframe|video|audio)\b[^>]*>", re.I | re.S)
RESOURCE_ATTR = re.compile(r"\b(src|href|srcset|data-src)\s*=\s*(\"[^\"]*\"|'[^']*')", re.I)
CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)", re.I)
CSS_IMPORT = re.compile(r"@import\s+(['\"])([^'\"]+)\1", re.I)
STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style>", re.I | re.S)
STYLE_ATTR = re.compile(r"\bstyle\s*=\s*(\"[^\"]*\"|'[^']*')", re.I)
OUTPUT_BLOCK = re.compile(
    r'<div class="sphx-glr-script-out[^"]*">.*?<pre[^>]*>(.*?)</pre>', re.S)
SIDE_BY_SIDE = re.compile(r'class\s*=\s*"sphx-glr-multi-img"')  # sphinx-gallery's figure row
LINK = re.compile(r"<a\b[^>]*?\bhref\s*=\s*\"([^\"]*)\"", re.I | re.S)
ELEMENT_ID = re.compile(r"\bid\s*=\s*\"([^\"]+)\"")
URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
TUTORIALS = Path(__file__).resolve().parent / "tutorials"  # the chapters' sources
GALLERY = "auto_tutorials"  # where the built chapters go (sphinx_gallery_conf's gallery_dirs)
# The pages that must link every chapter: the book's table of contents, the landing page
# with its table, and the Start-here page.
CHAPTER_INDEXES = (f"{GALLERY}/index.html", "index.html", "start.html")


def _attr_urls(value: str, attr: str) -> list[str]:
    """The addresses in one attribute value (``srcset`` lists several)."""
    value = html.unescape(value[1:-1]).strip()
    if attr.lower() == "srcset":
        return [part.split()[0] for part in value.split(",") if part.strip()]
    return [value]


def remote_resources(page: str) -> list[str]:
    """Addresses of the network resources an HTML page would load.

    Examples
    --------
    >>> remote_resources('<script src="https://cdn.example/x.js"></script>'
    ...                  '<a href="https://example.org">fine</a><img src="_images/a.png">')
    ['https://cdn.example/x.js']
    >>> remote_resources('<div style="background: url(//cdn.example/bg.png)"></div>')
    ['//cdn.example/bg.png']
    """
    found = []
    for tag in RESOURCE_TAG.finditer(page):
        for attr, value in RESOURCE_ATTR.findall(tag.group(0)):
            found += [url for url in _attr_urls(value, attr) if REMOTE.match(url)]
    for css in STYLE_BLOCK.findall(page) + [v[1:-1] for v in STYLE_ATTR.findall(page)]:
        found += remote_in_css(html.unescape(css))
    return found


def remote_in_css(css: str) -> list[str]:
    """Addresses of network resources a stylesheet would load (``url()`` and ``@import``).

    Examples
    --------
    >>> remote_in_css("@font-face { src: url('https://fonts.example/a.woff2') } "
    ...               "b { background: url(img/local.png) }")
    ['https://fonts.example/a.woff2']
    """
    urls = [m.group(2) for m in CSS_URL.finditer(css)] + [m.group(2)
                                                         for m in CSS_IMPORT.finditer(css)]
    return [url.strip() for url in urls if REMOTE.match(url.strip())]


def output_lines(page: str) -> Iterator[str]:
    """The lines of every printed output block of a sphinx-gallery page, as text."""
    for block in OUTPUT_BLOCK.findall(page):
        yield from html.unescape(re.sub(r"<[^>]+>", "", block)).splitlines()


def wide_output_lines(page: str, width: int = MAX_OUTPUT_WIDTH) -> list[str]:
    """Output lines longer than ``width`` characters.

    Examples
    --------
    >>> page = ('<div class="sphx-glr-script-out highlight-none notranslate">'
    ...         '<div class="highlight"><pre><span></span>short\\n' + 'x' * 90 + '</pre></div>')
    >>> [len(line) for line in wide_output_lines(page)]
    [90]
    """
    return [line for line in output_lines(page) if len(line) > width]


def broken_links(root: Path) -> list[str]:
    """Links between the site's pages to a missing page or a missing anchor."""
    pages = sorted(root.rglob("*.html"))
    ids = {p.resolve(): set(ELEMENT_ID.findall(p.read_text(encoding="utf-8"))) for p in pages}
    problems = []
    for page in pages:
        for href in LINK.findall(page.read_text(encoding="utf-8")):
            href = html.unescape(href)
            if not href or URL_SCHEME.match(href) or href.startswith("//"):
                continue  # another site, mailto:, javascript:
            path, fragment = urldefrag(href)
            target = (page.parent / unquote(path)).resolve() if path else page.resolve()
            where = f"{page.relative_to(root)}: {href}"
            if target.suffix == ".html" and target not in ids:
                problems.append(f"{where}: no such page")
            elif fragment and target in ids and unquote(fragment) not in ids[target]:
                problems.append(f"{where}: the page has no anchor {unquote(fragment)!r}")
    return problems


def chapter_pages(tutorials: Path) -> list[str]:
    """The site path of every chapter's page (``auto_tutorials/.../plot_x.html``)."""
    return [f"{GALLERY}/{p.relative_to(tutorials).with_suffix('.html').as_posix()}"
            for p in sorted(tutorials.rglob("plot_*.py"))]


def missing_chapters(root: Path, chapters: Sequence[str]) -> list[str]:
    """Chapters (site paths) without a page, or not linked from a page of
    :data:`CHAPTER_INDEXES`."""
    problems = [f"{c}: the chapter has no page" for c in chapters if not (root / c).is_file()]
    for index in CHAPTER_INDEXES:
        page = root / index
        if not page.is_file():
            problems.append(f"{index}: no such page")
            continue
        linked = {(page.parent / unquote(urldefrag(html.unescape(href))[0])).resolve()
                  for href in LINK.findall(page.read_text(encoding="utf-8"))}
        problems += [f"{index}: does not link the chapter {c}" for c in chapters
                     if (root / c).resolve() not in linked]
    return problems


def check(root: Path, width: int = MAX_OUTPUT_WIDTH,
          chapters: Sequence[str] | None = None) -> list[str]:
    """Every problem found in the built site at ``root``, one line each.

    ``chapters``: site paths of the chapter pages that must exist and be linked from
    :data:`CHAPTER_INDEXES` (default: none are checked).
    """
    problems = []
    for page in sorted(root.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        rel = page.relative_to(root)
        problems += [f"{rel}: loads {url} from the network" for url in remote_resources(text)]
        problems += [f"{rel}: output line of {len(line)} > {width} characters: {line[:60]}..."
                     for line in wide_output_lines(text, width)]
        if n_side := len(SIDE_BY_SIDE.findall(text)):
            problems.append(f"{rel}: {n_side} figures shown side by side as thumbnails; "
                            "give each figure a code cell of its own")
    for sheet in sorted(root.rglob("*.css")):
        problems += [f"{sheet.relative_to(root)}: loads {url} from the network"
                     for url in remote_in_css(sheet.read_text(encoding="utf-8", errors="replace"))]
    if chapters:
        problems += missing_chapters(root, chapters)
    return problems + broken_links(root)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built HTML folder (docs/_build/html)")
    parser.add_argument("--width", type=int, default=MAX_OUTPUT_WIDTH,
                        help=f"widest output line allowed (default {MAX_OUTPUT_WIDTH})")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        parser.error(f"{args.site} holds no built site (no index.html)")
    # a site built from this repository holds the chapters of docs/tutorials
    chapters = chapter_pages(TUTORIALS) if (args.site / GALLERY).is_dir() else None
    problems = check(args.site, args.width, chapters)
    for problem in problems:
        print(problem)
    n_pages = sum(1 for _ in args.site.rglob("*.html"))
    print(f"{n_pages} pages checked: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
