"""FactPrompt, the general fact, and the athletes as one dataset of them."""

from __future__ import annotations

import dataclasses

import pytest

from minigpt.data import TEMPLATES, Fact, FactPrompt, athlete_prompts, load_facts, prompt


def test_joint_rule_puts_one_space_unless_the_prompt_ends_in_whitespace():
    assert FactPrompt("The capital of France is", "France", "Paris").sentence == \
        "The capital of France is Paris"
    assert FactPrompt("Q: France?\nA:\n", "France", "Paris").continuation == "Paris"
    assert FactPrompt("Capital of France: ", "France", "Paris").sentence == "Capital of France: Paris"
    assert FactPrompt("France", "France", "Paris").sentence == "France Paris"


def test_first_occurrence_of_the_subject_counts():
    fact = FactPrompt("Paris is in France. The capital of France is", "France", "Paris")
    assert fact.subject_start == len("Paris is in ")


def test_fields_are_checked():
    with pytest.raises(ValueError, match="the subject 'Spain' does not occur in the prompt"):
        FactPrompt("The capital of France is", "Spain", "Madrid")
    with pytest.raises(ValueError, match="answer must not be empty"):
        FactPrompt("The capital of France is", "France", "")
    with pytest.raises(ValueError, match="answer must not be empty"):
        FactPrompt("The capital of France is", "France", "  ")
    with pytest.raises(ValueError, match="subject must not start or end with whitespace"):
        FactPrompt("The capital of France is", " France", "Paris")
    with pytest.raises(ValueError, match="answer must not start or end with whitespace"):
        FactPrompt("The capital of France is", "France", " Paris")
    with pytest.raises(TypeError, match="prompt must be a str, got int"):
        FactPrompt(3, "France", "Paris")
    with pytest.raises(ValueError, match=r"does not occur in the paraphrases\[1\]"):
        FactPrompt("The capital of France is", "France", "Paris",
                   ["France's capital is", "Its capital is"])
    with pytest.raises(TypeError, match="paraphrases must be a sequence of str"):
        FactPrompt("The capital of France is", "France", "Paris", "France's capital is")


def test_frozen_hashable_and_paraphrases_as_tuple():
    fact = FactPrompt("The capital of France is", "France", "Paris", ["France's capital is"])
    assert fact.paraphrases == ("France's capital is",)
    assert hash(fact) == hash(dataclasses.replace(fact))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fact.answer = "Lyon"
    moved = dataclasses.replace(fact, answer="Lyon")
    assert moved.sentence == "The capital of France is Lyon" and fact.answer == "Paris"
    assert fact.paraphrase_facts() == [FactPrompt("France's capital is", "France", "Paris")]


def test_athletes_as_fact_prompts():
    facts = athlete_prompts()
    athletes = load_facts()
    assert len(facts) == len(athletes)
    for fact, athlete in zip(facts, athletes):
        assert (fact.prompt, fact.subject, fact.answer) == (prompt(athlete), athlete.name,
                                                            athlete.sport)
        assert fact.paraphrases == tuple(prompt(athlete, t) for t in range(1, len(TEMPLATES)))
    jordan = Fact("Michael", "Jordan", "basketball")
    (third,) = athlete_prompts([jordan], template=2)
    assert third.prompt == "The sport Michael Jordan plays is"
    assert third.paraphrases == tuple(prompt(jordan, t) for t in (0, 1, 3, 4))
    (custom,) = athlete_prompts([jordan], template="Ask {name} about {sport}.")
    assert custom.prompt == "Ask Michael Jordan about" and len(custom.paraphrases) == 5
    with pytest.raises(TypeError, match=r"facts\[0\] must be a Fact"):
        athlete_prompts([third])
    with pytest.raises(ValueError, match="template index"):
        athlete_prompts([jordan], template=9)
