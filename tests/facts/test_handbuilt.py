import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt.data import Fact, load_facts
from minigpt.facts.handbuilt import (
    FIRE_THRESHOLD,
    BreakingPoint,
    SweepRow,
    apply_fact_mlp,
    breaking_points,
    build_fact_mlp,
    evaluate_fact_mlp,
    fact_neurons,
    feature_directions,
    interference_sweep,
    mixed_names,
    person_vector,
    plot_sweep,
    sport_scores,
    sweep_facts,
)

FACTS = load_facts()
N_FEATURES = (len({f.first for f in FACTS}) + len({f.last for f in FACTS})
              + len({f.sport for f in FACTS}))


def gelu_tanh(x):
    """GPT-2's GELU, written out independently of minigpt."""
    return 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def gelu_exact(x):
    return 0.5 * x * (1 + math.erf(x / math.sqrt(2)))


GELUS = {"gelu": gelu_tanh, "gelu_exact": gelu_exact}


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
    _, pre_expected = _independent_neurons("Michael", "James")
    assert sorted(set(pre_expected)) == [-1, 0]  # two half matches, the rest strangers
    np.testing.assert_array_equal(fact_neurons(mlp, E), np.zeros(180))
    np.testing.assert_array_equal(sport_scores(mlp, apply_fact_mlp(mlp, E)), np.zeros(9))


def _independent_neurons(first, last):
    """Pre-activations from counting name matches, person by person."""
    pre = [(f.first == first) + (f.last == last) - 1 for f in FACTS]
    return [f.sport for f in FACTS], pre


@pytest.mark.parametrize("activation", ["gelu", "gelu_exact"])
@pytest.mark.parametrize("first, last", [("Michael", "Jordan"), ("Michael", "James"),
                                         ("Serena", "Williams"), ("Joe", "Montana")])
def test_gelu_leaks_exact_numbers(activation, first, last):
    """GELU(1) for the person, GELU(0) = 0 for a half match, GELU(-1) for every stranger."""
    g = GELUS[activation]
    mlp = build_fact_mlp(FACTS, N_FEATURES)
    E = person_vector(mlp, first, last)
    sports, pre = _independent_neurons(first, last)
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
        sports, pre = _independent_neurons(first, last)
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


# ------------------------------------------------------------------ mixed names, fact sets

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


def test_sweep_facts_round_robin_then_made_up():
    fs = sweep_facts(FACTS, 200)
    assert len(fs) == 200 and set(fs[:180]) == set(FACTS)
    assert len({f.sport for f in fs[:9]}) == 9  # the first nine cover every sport
    assert fs[180] == Fact("first_0", "last_0", fs[0].sport)
    assert len({(f.first, f.last) for f in fs}) == 200


# ------------------------------------------------------------------ the sweep

def test_sweep_accuracy_falls_past_the_width():
    rows = interference_sweep(FACTS, widths=[16], n_facts_list=[4, 16, 1024])
    acc = {r.n_facts: r.accuracy for r in rows}
    assert [r.exact for r in rows] == [True, False, False]
    assert acc[4] == 1.0 > acc[16] > acc[1024]
    assert acc[1024] < 0.7  # measured 0.44 at seed 0
    for r in rows:
        fs = sweep_facts(FACTS, r.n_facts)
        distinct = [len({getattr(f, k) for f in fs}) for k in ("first", "last", "sport")]
        assert r.n_features == sum(distinct)
        assert r.exact == (r.n_features <= r.d_model)
        if r.exact:
            assert r.mean_abs_cos == 0.0 and r.false_fire_rate == 0.0
        else:
            assert abs(r.mean_abs_cos - math.sqrt(2 / (math.pi * 16))) < 0.02


def test_larger_widths_break_later():
    rows = interference_sweep(FACTS, widths=[16, 32, 64], n_facts_list=[4, 8, 16, 32])
    bp = breaking_points(rows)
    assert bp == {16: BreakingPoint(4, 8), 32: BreakingPoint(8, 16), 64: BreakingPoint(16, 32)}
    # superposition: at C = 128 random directions hold 16 times more features than dimensions
    rows = interference_sweep(FACTS, widths=[128], n_facts_list=[64, 1024])
    assert all(r.accuracy == 1.0 and r.false_fire_rate <= 0.01 for r in rows)
    assert rows[-1].n_features > 15 * 128
    assert breaking_points(rows)[128] == BreakingPoint(1024, None)


def test_gelu_leak_grows_with_the_number_of_neurons():
    rows = interference_sweep(FACTS, widths=[128], n_facts_list=[32, 512], activation="gelu")
    assert rows[0].accuracy == 1.0 and rows[1].accuracy < 0.3  # chance is 1/9


def test_sweep_row_is_build_then_evaluate():
    (row,) = interference_sweep(FACTS, widths=[24], n_facts_list=[40], seed=5)
    report = evaluate_fact_mlp(build_fact_mlp(sweep_facts(FACTS, 40), 24, seed=5), mixed_shifts=25)
    assert (row.accuracy, row.false_fire_rate, row.n_mixed) == (
        report.accuracy, report.mixed_fire_rate, report.n_mixed)
    assert row.n_mixed >= 975 and FIRE_THRESHOLD == 0.5


def test_breaking_points_stop_at_the_first_failure():
    def row(d, n, acc, ff):
        return SweepRow(d, n, 2 * n + 9, False, acc, ff, 0.1, 0.5, 10)

    rows = [row(8, 16, 0.5, 0.0), row(8, 4, 1.0, 0.0), row(8, 8, 1.0, 0.02), row(8, 32, 1.0, 0.0),
            row(9, 4, 0.98, 0.0), row(10, 4, 1.0, math.nan), row(10, 8, 0.995, 0.01)]
    assert breaking_points(rows) == {8: BreakingPoint(4, 8), 9: BreakingPoint(None, 4),
                                     10: BreakingPoint(8, None)}
    assert breaking_points(rows, max_false_fire=0.05)[8] == BreakingPoint(8, 16)


def test_plot_sweep():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = interference_sweep(FACTS, widths=[16, 32], n_facts_list=[4, 32])
    ax = plot_sweep(rows)
    assert len(ax.get_lines()) == 2 * 2 + 2  # accuracy + false fires per width, 2 exact markers
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [r.accuracy for r in rows[:2]])
    plt.close(ax.figure)
