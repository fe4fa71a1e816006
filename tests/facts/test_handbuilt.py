"""Tests for minigpt.facts.handbuilt: feature directions, the construction of the fact MLP,
and the errors of every function the module exports."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.data import Fact
from minigpt.facts.handbuilt import (
    apply_fact_mlp,
    build_fact_mlp,
    evaluate_fact_mlp,
    feature_directions,
    interference_sweep,
    mixed_names,
    person_vector,
    sweep_facts,
)
from tests.facts.handbuilt_reference import FACTS, N_FEATURES


# ------------------------------------------------------------------ directions

def test_feature_count_of_the_fact_bank():
    assert N_FEATURES == 345  # 159 first names + 177 last names + 9 sports


def test_identity_directions_are_exactly_orthonormal():
    E, exact = feature_directions(list("abcde"), 7)
    assert exact and E.shape == (5, 7) and E.dtype == np.float64
    np.testing.assert_array_equal(E @ E.T, np.eye(5))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 12), extra=st.integers(0, 6), seed=st.integers(0, 2**16))
def test_rotated_directions_are_orthonormal_and_seeded(n, extra, seed):
    E, exact = feature_directions(range(n), n + extra, seed=seed, rotate=True)
    assert exact
    np.testing.assert_allclose(E @ E.T, np.eye(n), atol=1e-12)
    np.testing.assert_array_equal(E, feature_directions(range(n), n + extra, seed, rotate=True)[0])


def test_random_directions_when_features_outnumber_dimensions():
    C, n = 64, 2000
    E, exact = feature_directions(range(n), C, seed=3)
    assert not exact and E.shape == (n, C)
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, rtol=1e-12)
    cos = np.abs(E @ E.T)[np.triu_indices(n, 1)]
    # |N(0, 1/C)| has mean sqrt(2 / (pi C)) = 0.0997 for C = 64
    assert abs(cos.mean() - math.sqrt(2 / (math.pi * C))) < 0.003
    np.testing.assert_array_equal(E, feature_directions(range(n), C, seed=3)[0])
    assert not np.array_equal(E, feature_directions(range(n), C, seed=4)[0])


@pytest.mark.parametrize("d_model", [0, -3])
def test_directions_reject_nonpositive_width(d_model):
    with pytest.raises(ValueError, match=f"d_model must be >= 1, got {d_model}"):
        feature_directions(["a"], d_model)


@pytest.mark.parametrize("d_model", [2.0, True, "8"])
def test_directions_reject_non_int_width(d_model):
    with pytest.raises(TypeError, match="d_model must be an int"):
        feature_directions(["a"], d_model)


def test_directions_reject_duplicates_and_empty():
    with pytest.raises(ValueError, match="distinct"):
        feature_directions(["a", "b", "a"], 8)
    with pytest.raises(ValueError, match="at least one"):
        feature_directions([], 8)


# ------------------------------------------------------------------ construction

def test_rows_ask_and_columns_add():
    mlp = build_fact_mlp(FACTS, N_FEATURES)
    assert mlp.w_up.shape == (180, N_FEATURES) and mlp.w_down.shape == (N_FEATURES, 180)
    assert mlp.exact and mlp.d_model == N_FEATURES and len(mlp.sports) == 9
    i = FACTS.index(Fact("Michael", "Jordan", "basketball"))
    M, J = mlp.vector("first", "Michael"), mlp.vector("last", "Jordan")
    np.testing.assert_array_equal(mlp.w_up[i], M + J)
    np.testing.assert_array_equal(mlp.w_down[:, i], mlp.vector("sport", "basketball"))
    np.testing.assert_array_equal(mlp.b_up, np.full(180, -1.0))
    np.testing.assert_array_equal(mlp.b_down, np.zeros(N_FEATURES))
    # Jordan Spieth's first name is a different feature from Michael Jordan's last name
    assert mlp.vector("first", "Jordan") @ mlp.vector("last", "Jordan") == 0.0


# ------------------------------------------------------------------ errors

def test_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        build_fact_mlp([], 8)
    with pytest.raises(ValueError, match="d_model must be >= 1, got 0"):
        build_fact_mlp(FACTS, 0)
    with pytest.raises(ValueError, match="activation must be one of .*got 'tanh'"):
        build_fact_mlp(FACTS, 8, activation="tanh")
    with pytest.raises(ValueError, match="Michael Jordan twice"):
        build_fact_mlp(FACTS + [Fact("Michael", "Jordan", "golf")], 8)
    with pytest.raises(TypeError, match="three non-empty strings"):
        build_fact_mlp([("Michael", "Jordan")], 8)
    with pytest.raises(TypeError, match=r"facts\[0\] must be three"):
        build_fact_mlp([42], 8)
    with pytest.raises(TypeError, match="sequence"):
        build_fact_mlp("Michael Jordan basketball", 8)
    mlp = build_fact_mlp(FACTS[:5], 16)
    with pytest.raises(ValueError, match="activation must be one of .*got 'sigmoid'"):
        apply_fact_mlp(mlp, np.zeros(16), "sigmoid")
    with pytest.raises(ValueError, match="activation must be one of"):
        evaluate_fact_mlp(mlp, "sigmoid")
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 16\), got \(15,\)"):
        apply_fact_mlp(mlp, np.zeros(15))
    with pytest.raises(ValueError, match="unknown last name 'Phelps'"):
        person_vector(mlp, "Michael", "Phelps")
    with pytest.raises(ValueError, match="kind must be one of"):
        mlp.vector("middle", "Michael")
    with pytest.raises(ValueError, match="n_facts must be an int >= 1, got 0"):
        sweep_facts(FACTS, 0)
    with pytest.raises(ValueError, match="shifts must be an int >= 1, got 0"):
        mixed_names(FACTS, 0)
    with pytest.raises(ValueError, match="non-empty"):
        interference_sweep(FACTS, [], [4])
    with pytest.raises(ValueError, match="activation must be one of"):
        interference_sweep(FACTS, [8], [4], activation="elu")
