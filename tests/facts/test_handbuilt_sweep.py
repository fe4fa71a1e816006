"""Tests for minigpt.facts.handbuilt.sweep and handbuilt.plots: fact sets of any size, the
interference sweep, its breaking points and its plot."""

import math

import numpy as np
import pytest

from minigpt.data import Fact
from minigpt.facts.handbuilt import build_fact_mlp
from minigpt.facts.handbuilt.checks import FIRE_THRESHOLD, evaluate_fact_mlp
from minigpt.facts.handbuilt.plots import plot_sweep
from minigpt.facts.handbuilt.sweep import (
    BreakingPoint,
    SweepRow,
    breaking_points,
    interference_sweep,
    sweep_facts,
)
from tests.facts.handbuilt_reference import FACTS


# ------------------------------------------------------------------ fact sets

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
