"""Tests for minigpt.facts.handbuilt.checks: recall of every person, mixed names, and the
report's numbers in the exact and the random case."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.facts.handbuilt import build_fact_mlp
from minigpt.facts.handbuilt.checks import evaluate_fact_mlp, mixed_names
from tests.facts.handbuilt_reference import FACTS, GELUS, N_FEATURES, independent_neurons


def test_all_real_facts_exact_relu():
    report = evaluate_fact_mlp(build_fact_mlp(FACTS, N_FEATURES), "relu")
    assert report.exact and report.n_people == 180
    assert report.accuracy == 1.0 and report.wrong == ()
    assert report.right_neuron_min == 1.0 and report.right_neuron_mean == 1.0
    assert report.off_target_max == 0.0
    assert report.right_score_mean == 1.0 and report.margin_min == 1.0
    assert report.n_mixed == len(mixed_names(FACTS)) > 150
    assert report.mixed_fire_rate == 0.0 and report.mixed_neuron_max == 0.0
    assert report.mixed_score_max == 0.0 and report.mixed_score_abs_max == 0.0


@pytest.mark.parametrize("activation", ["gelu", "gelu_exact"])
def test_all_real_facts_exact_gelu(activation):
    g = GELUS[activation]
    report = evaluate_fact_mlp(build_fact_mlp(FACTS, N_FEATURES), activation)
    assert report.accuracy == 1.0  # the leak is nearly the same for every sport
    np.testing.assert_allclose(report.right_neuron_min, g(1.0), atol=1e-15)
    assert report.off_target_max == 0.0 and report.mixed_neuron_max == 0.0
    assert report.mixed_fire_rate == 0.0
    worst = 0.0  # the largest |score| any mixed name gets, counted name by name
    for first, last in mixed_names(FACTS):
        sports, pre = independent_neurons(first, last)
        worst = max(worst, *(abs(sum(g(p) for s2, p in zip(sports, pre) if s2 == s))
                             for s in set(sports)))
    np.testing.assert_allclose(report.mixed_score_abs_max, worst, atol=1e-12)
    assert report.mixed_score_max < -2.5  # every sport pushed down, by about 20 * 0.159


def test_one_dimension_short_is_no_longer_exact():
    mlp = build_fact_mlp(FACTS, N_FEATURES - 1)
    assert not mlp.exact
    report = evaluate_fact_mlp(mlp)
    assert 0.5 < report.right_neuron_min < 1.0 < report.right_neuron_mean + 0.05
    assert report.mixed_neuron_max > 0.0


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 25), seed=st.integers(0, 2**16))
def test_rotated_exact_case(n, seed):
    facts = [FACTS[i] for i in np.random.default_rng(seed).permutation(180)[:n]]
    mlp = build_fact_mlp(facts, 80, seed=seed, rotate=True)
    assert mlp.exact
    report = evaluate_fact_mlp(mlp)
    assert report.accuracy == 1.0
    assert abs(report.right_neuron_min - 1.0) < 1e-12 and abs(report.right_score_mean - 1.0) < 1e-12
    if n > 1:
        assert abs(report.off_target_max) < 1e-12
    if report.n_mixed:
        assert report.mixed_neuron_max < 1e-12 and report.mixed_score_abs_max < 1e-12


# ------------------------------------------------------------------ mixed names

def test_mixed_names_are_nobody_and_distinct():
    real = {(f.first, f.last) for f in FACTS}
    for shifts in (1, 3):
        pairs = mixed_names(FACTS, shifts)
        assert not real & set(pairs) and len(set(pairs)) == len(pairs)
        assert 0.9 * shifts * 180 < len(pairs) <= shifts * 180
    # Serena Williams is followed by Venus Williams: (Serena, Williams) is real, so skipped
    pairs = mixed_names([("Serena", "Williams", "tennis"), ("Venus", "Williams", "tennis"),
                         ("Roger", "Federer", "tennis")])
    assert pairs == [("Venus", "Federer"), ("Roger", "Williams")]
