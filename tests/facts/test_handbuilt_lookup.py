"""Tests for minigpt.facts.handbuilt.lookup: the exact numbers of the block for real and
mixed names, under ReLU and both GELUs."""

import numpy as np
import pytest

from minigpt.data import Fact
from minigpt.facts.handbuilt import build_fact_mlp
from minigpt.facts.handbuilt.lookup import (
    apply_fact_mlp,
    fact_neurons,
    person_vector,
    sport_scores,
)
from tests.facts.handbuilt_reference import FACTS, GELUS, N_FEATURES, independent_neurons


def test_michael_jordan_exact_numbers_relu():
    mlp = build_fact_mlp(FACTS, N_FEATURES)
    E = person_vector(mlp, "Michael", "Jordan")
    h = fact_neurons(mlp, E)
    i = FACTS.index(Fact("Michael", "Jordan", "basketball"))
    expected = np.zeros(180)
    expected[i] = 1.0
    np.testing.assert_array_equal(h, expected)
    scores = sport_scores(mlp, apply_fact_mlp(mlp, E))
    np.testing.assert_array_equal(scores, [1.0 if s == "basketball" else 0.0 for s in mlp.sports])
    # Before the MLP, E does not point toward any sport at all
    np.testing.assert_array_equal(sport_scores(mlp, E), np.zeros(9))


def test_mixed_name_stays_off_relu():
    """Michael (Jordan's first name) + James (LeBron's last name): nobody."""
    mlp = build_fact_mlp(FACTS, N_FEATURES)
    E = person_vector(mlp, "Michael", "James")
    _, pre_expected = independent_neurons("Michael", "James")
    assert sorted(set(pre_expected)) == [-1, 0]  # two half matches, the rest strangers
    np.testing.assert_array_equal(fact_neurons(mlp, E), np.zeros(180))
    np.testing.assert_array_equal(sport_scores(mlp, apply_fact_mlp(mlp, E)), np.zeros(9))


@pytest.mark.parametrize("activation", ["gelu", "gelu_exact"])
@pytest.mark.parametrize("first, last", [("Michael", "Jordan"), ("Michael", "James"),
                                         ("Serena", "Williams"), ("Joe", "Montana")])
def test_gelu_leaks_exact_numbers(activation, first, last):
    """GELU(1) for the person, GELU(0) = 0 for a half match, GELU(-1) for every stranger."""
    g = GELUS[activation]
    mlp = build_fact_mlp(FACTS, N_FEATURES)
    E = person_vector(mlp, first, last)
    sports, pre = independent_neurons(first, last)
    np.testing.assert_allclose(fact_neurons(mlp, E, activation), [g(p) for p in pre],
                               rtol=0, atol=1e-15)
    expected_scores = [sum(g(p) for s2, p in zip(sports, pre) if s2 == s) for s in mlp.sports]
    np.testing.assert_allclose(sport_scores(mlp, apply_fact_mlp(mlp, E, activation)),
                               expected_scores, rtol=0, atol=1e-13)


def test_gelu_leak_values():
    mlp = build_fact_mlp(FACTS, N_FEATURES)
    h = fact_neurons(mlp, person_vector(mlp, "Michael", "James"), "gelu")
    assert h.max() == 0.0  # GELU(0) = 0 exactly: a half match is silent under GELU too
    np.testing.assert_allclose(h.min(), -0.158808, atol=1e-6)  # GELU(-1), tanh form
    h = fact_neurons(mlp, person_vector(mlp, "Michael", "James"), "gelu_exact")
    np.testing.assert_allclose(h.min(), -0.158655, atol=1e-6)  # -Phi(-1)


@pytest.mark.parametrize("activation", ["relu", "gelu", "gelu_exact"])
def test_apply_matches_the_formula(activation):
    mlp = build_fact_mlp(FACTS[:50], 24, activation=activation, seed=1)
    E = np.random.default_rng(0).standard_normal((2, 3, 24))
    pre = E @ mlp.w_up.T + mlp.b_up
    g = np.vectorize({"relu": lambda x: max(x, 0.0), **GELUS}[activation])
    expected = E + g(pre) @ mlp.w_down.T
    np.testing.assert_allclose(apply_fact_mlp(mlp, E), expected, rtol=1e-12, atol=1e-12)
    assert fact_neurons(mlp, E).shape == (2, 3, 50)


def test_bias_is_the_gate_threshold():
    mlp = build_fact_mlp(FACTS, N_FEATURES, bias=0.0)  # no threshold: a linear-ish map
    h = fact_neurons(mlp, person_vector(mlp, "Michael", "James"))
    assert h.max() == 1.0  # half matches now fire: the AND gate needs the bias
