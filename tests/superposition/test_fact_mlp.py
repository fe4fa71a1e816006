import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt import gradcheck
from minigpt.superposition.fact_mlp import (
    ALLEN_ZHU_LI_BITS, QUICK_SWEEP, TARGET_RECALL, fact_capacity, facts_loss_and_grads,
    facts_per_neuron, init_mlp_params, make_people, n_mlp_params, plot_facts_per_neuron,
    sport_logits, train_fact_mlp)

RTOL = 1e-6
KEYS = ("w_up", "b_up", "w_down", "b_down")


def generic_params(rng, E, width):
    """Float64 MLP weights whose ReLU inputs stay clear of the kink at 0."""
    while True:
        params = init_mlp_params(E.shape[1], width, seed=rng, dtype=np.float64)
        params["b_up"] = rng.standard_normal(width) * 0.3
        params["b_down"] = rng.standard_normal(E.shape[1]) * 0.3
        if np.min(np.abs(E @ params["w_up"].T + params["b_up"])) > 1e-3:
            return params


# --------------------------------------------------------------------------- loss and gradients

@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 12), d=st.integers(2, 6), width=st.integers(1, 5),
       n_sports=st.integers(2, 4), seed=st.integers(0, 2**16))
def test_facts_loss_gradients_match_finite_differences(n, d, width, n_sports, seed):
    rng = np.random.default_rng(seed)
    P = make_people(n, d, n_sports, seed=rng, dtype=np.float64)
    params = generic_params(rng, P.E, width)
    _, grads, _ = facts_loss_and_grads(params, P.E, P.B, P.sport)

    def loss(*arrays):
        return facts_loss_and_grads(dict(zip(KEYS, arrays)), P.E, P.B, P.sport)[0]

    result = gradcheck(loss, [params[k] for k in KEYS], [grads[k] for k in KEYS])
    assert result.ok, result


def test_facts_loss_matches_a_direct_formula_and_recall_counts_argmax():
    rng = np.random.default_rng(0)
    P = make_people(30, 8, 3, seed=1, dtype=np.float64)
    params = generic_params(rng, P.E, 5)
    loss, _, recall = facts_loss_and_grads(params, P.E, P.B, P.sport)
    h = np.maximum(P.E @ params["w_up"].T + params["b_up"], 0.0)
    z = (P.E + h @ params["w_down"].T + params["b_down"]) @ P.B.T
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert loss == pytest.approx(-np.mean(logp[np.arange(30), P.sport]), rel=1e-12)
    assert recall == pytest.approx(np.mean(z.argmax(axis=1) == P.sport))
    np.testing.assert_allclose(sport_logits(params, P.E, P.B), z, rtol=1e-12)


def test_float32_training_stays_float32():
    P = make_people(20, 8, 3)
    params, _ = train_fact_mlp(P, 4, steps=5)
    assert P.E.dtype == np.float32
    assert all(v.dtype == np.float32 for v in params.values())


# --------------------------------------------------------------------------- the world

def test_people_are_distinct_pairs_with_shared_names_and_unit_directions():
    P = make_people(200, 16, 5, seed=3, dtype=np.float64)
    assert len(set(zip(P.first.tolist(), P.last.tolist()))) == 200
    # names are shared, so a single name cannot tell the sport
    assert np.bincount(P.first).max() >= 2 and np.bincount(P.last).max() >= 2
    np.testing.assert_allclose(np.linalg.norm(P.B, axis=1), 1.0, atol=1e-12)
    assert set(P.sport.tolist()) <= set(range(5))
    # E = M + J of two unit, nearly perpendicular directions: norm close to sqrt(2)
    assert np.all(np.abs(np.linalg.norm(P.E, axis=1) - math.sqrt(2)) < 0.6)
    same = make_people(200, 16, 5, seed=3, dtype=np.float64)
    np.testing.assert_array_equal(P.E, same.E)


def test_mlp_parameter_count():
    params = init_mlp_params(32, 16)
    assert sum(v.size for v in params.values()) == n_mlp_params(32, 16) == 2 * 16 * 32 + 16 + 32


# --------------------------------------------------------------------------- capacity

def test_a_wide_mlp_learns_few_facts_and_a_narrow_one_fails_many():
    P = make_people(32, 16, 4, seed=0)
    _, fit = train_fact_mlp(P, 16, steps=400)
    assert fit.recall >= TARGET_RECALL and fit.steps < 400   # stopped early at the target
    many = make_people(400, 16, 4, seed=0)
    _, fit = train_fact_mlp(many, 2, steps=300)
    assert fit.recall < 0.8


def test_capacity_search_brackets_the_edge():
    row = fact_capacity(4, d=12, n_sports=4, steps=400, n_start=8, resolution=0.25)
    assert 0 < row.n_stored < row.n_failed
    assert row.n_failed - row.n_stored <= max(1, 0.25 * row.n_stored)
    by_n = {}
    for fit in row.fits:
        by_n.setdefault(fit.n_facts, []).append(fit.recall)
    assert max(by_n[row.n_stored]) >= TARGET_RECALL
    assert max(by_n[row.n_failed]) < TARGET_RECALL


def test_capacity_stops_at_n_max():
    row = fact_capacity(16, d=16, n_sports=4, steps=300, n_start=4, n_max=16)
    assert row.n_stored == 16 and row.n_failed is None


def test_quick_sweep_stores_more_facts_than_neurons():
    r = facts_per_neuron(**QUICK_SWEEP)
    stored = [row.n_stored for row in r.rows]
    assert [row.width for row in r.rows] == list(QUICK_SWEEP["widths"])
    assert all(row.facts_per_neuron > 1 for row in r.rows)     # superposition
    assert stored == sorted(stored) and stored[-1] > stored[0]
    for row in r.rows:
        assert row.bits == pytest.approx(row.n_stored * 2.0)   # log2(4) bits per fact
        assert row.bits_per_param == pytest.approx(row.bits / n_mlp_params(16, row.width))
        assert 0.1 < row.bits_per_param < 2 * ALLEN_ZHU_LI_BITS
    table = r.to_table()
    assert "facts/neuron" in table and "bits/param" in table and "Allen-Zhu" in table
    d = json.loads(json.dumps(r.to_dict()))
    assert d["rows"][0]["n_stored"] == stored[0] and d["target_recall"] == TARGET_RECALL


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("kwargs, match", [
    (dict(n_facts=0), "n_facts"),
    (dict(n_facts=5, d=0), "d must"),
    (dict(n_facts=5, n_sports=1), "n_sports"),
    (dict(n_facts=5, people_per_name=0), "people_per_name"),
])
def test_make_people_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_people(**kwargs)


def test_bad_arguments_raise_clear_errors():
    P = make_people(8, 4, 2)
    with pytest.raises(TypeError, match="n_facts must be an int"):
        make_people(2.5)
    with pytest.raises(ValueError, match="width"):
        train_fact_mlp(P, 0)
    with pytest.raises(ValueError, match="lr"):
        train_fact_mlp(P, 2, lr=float("nan"))
    with pytest.raises(ValueError, match="restarts"):
        fact_capacity(2, restarts=-1)
    with pytest.raises(ValueError, match="widths"):
        facts_per_neuron([])


def test_plot_facts_per_neuron():
    plt = pytest.importorskip("matplotlib.pyplot")
    r = facts_per_neuron([2, 4], d=8, n_sports=2, steps=200, resolution=0.5)
    fig, ax = plt.subplots()
    assert plot_facts_per_neuron(r, ax=ax) is ax
    assert len(ax.lines) == 2
    plt.close("all")


# --------------------------------------------------------------------------- names

def test_facts_per_neuron_is_the_function():
    import minigpt.superposition as sp

    assert sp.facts_per_neuron is facts_per_neuron and callable(sp.facts_per_neuron)
