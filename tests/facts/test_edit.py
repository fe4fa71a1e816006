import numpy as np
import pytest

from minigpt.data import load_facts
from minigpt.facts import fact_recall
from minigpt.facts.edit import (
    edit_fact,
    evaluate_edits,
    finetune_fact,
    key_covariance,
    rank_one_update,
)


def test_rank_one_update_is_the_constrained_least_squares_solution():
    """W' = argmin sum_j ||(W' - W) k_j||^2 subject to W' k* + b = v*, solved directly."""
    rng = np.random.default_rng(0)
    C_out, F, N = 4, 6, 50
    W, b = rng.standard_normal((C_out, F)), rng.standard_normal(C_out)
    K = rng.standard_normal((N, F))  # corpus keys, one per row
    key, value = rng.standard_normal(F), rng.standard_normal(C_out)
    C = K.T @ K / N
    W_new = rank_one_update(W, b, key, value, C)
    # direct: each output row r solves min (d_r)^T C (d_r) s.t. d_r . k* = residual_r (KKT system)
    residual = value - W @ key - b
    kkt = np.block([[2 * C, key[:, None]], [key[None, :], np.zeros((1, 1))]])
    rhs = np.concatenate([np.zeros((F, C_out)), residual[None, :]], axis=0)  # (F + 1, C_out)
    D = np.linalg.solve(kkt, rhs)[:F].T  # (C_out, F)
    np.testing.assert_allclose(W_new, W + D, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(W_new @ key + b, value, rtol=1e-10)
    assert np.linalg.matrix_rank(W_new - W) == 1


def test_key_covariance_is_symmetric_positive_definite(demo_model):
    model, tokenizer, _ = demo_model
    C = key_covariance(model, tokenizer, layer=2)
    assert C.shape == (model.config.d_ff,) * 2
    np.testing.assert_allclose(C, C.T)
    assert np.linalg.eigvalsh(C).min() > 0


def test_one_edit_end_to_end_and_the_fine_tuning_baseline(demo_model):
    model, tokenizer, _ = demo_model
    facts = load_facts()
    jordan = facts[0]
    assert jordan.name == "Michael Jordan"
    others = facts[1:]
    before = {name: p.copy() for name, p in model.params.items()}
    old = edit_fact(model, tokenizer, jordan, "golf", layer=2, lr=0.2, steps=100, position="last")
    try:
        said = fact_recall(model, tokenizer, [jordan._replace(sport="golf")])
        assert said.accuracy == 1.0, said.predictions
        assert fact_recall(model, tokenizer, others).accuracy >= 0.9
        changed = [n for n in model.params if not np.array_equal(model.params[n], before[n])]
        assert changed == ["blocks.2.mlp.w_down"]
    finally:
        model.params["blocks.2.mlp.w_down"][...] = old
    assert fact_recall(model, tokenizer, [jordan]).accuracy == 1.0  # restored

    old = finetune_fact(model, tokenizer, jordan, "golf", layer=2)
    try:
        assert fact_recall(model, tokenizer, [jordan._replace(sport="golf")]).accuracy == 1.0
    finally:
        model.params["blocks.2.mlp.w_down"][...] = old


def test_evaluate_edits_reports_both_methods(demo_model):
    model, tokenizer, _ = demo_model
    report = evaluate_edits(model, tokenizer, layer=2, n_edits=3, lr=0.2, steps=100,
                            position="last")
    rome, ft = report.summary("rome"), report.summary("finetune")
    assert rome["n"] == ft["n"] == 3
    assert rome["efficacy"] == 1.0 and rome["specificity"] >= 0.9


def test_bad_edit_arguments(demo_model):
    model, tokenizer, _ = demo_model
    with pytest.raises(ValueError, match="unknown sport 'curling'"):
        edit_fact(model, tokenizer, load_facts()[0], "curling", layer=2)
    with pytest.raises(ValueError, match="position must be one of"):
        edit_fact(model, tokenizer, load_facts()[0], "golf", layer=2, position="middle")
