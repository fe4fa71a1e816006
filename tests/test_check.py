"""minigpt.check: the finite-difference proof of every op and of the model, as a table."""

import numpy as np
import pytest

import minigpt.check
import minigpt.model
import minigpt.nn
from minigpt.check import CHECKS, CheckRow, check_gradients, format_check_table


def test_every_op_and_the_model_pass():
    rows = check_gradients(seed=0)
    assert [row.op for row in rows] == list(CHECKS)
    assert all(isinstance(row, CheckRow) for row in rows)
    failed = [row for row in rows if not row.ok]
    assert not failed, format_check_table(failed)
    assert all(row.max_error <= row.tolerance == 1e-6 and row.n_checked > 0 for row in rows)
    model = rows[-1]
    assert model.op == "GPT.loss_and_grads" and model.n_checked > 1000  # every parameter entry


def test_every_backward_of_minigpt_nn_is_checked():
    backwards = {name for name in minigpt.nn.__all__ if "_backward" in name}
    used = set(vars(minigpt.check))
    assert backwards <= used, sorted(backwards - used)


def test_another_seed_passes_too():
    rows = check_gradients(seed=1, ops=["attention (banded)", "layernorm", "cross_entropy"])
    assert [row.op for row in rows] == ["layernorm", "attention (banded)", "cross_entropy"]
    assert all(row.ok for row in rows)


def test_a_broken_op_backward_is_reported_not_ok(monkeypatch):
    def broken(dy, cache):
        dx, dgain, dbias = minigpt.nn.layernorm_backward(dy, cache)
        return dx, dgain * 1.0001, dbias  # a 0.01% mistake in one gradient

    monkeypatch.setattr(minigpt.check, "layernorm_backward", broken)
    rows = {row.op: row for row in check_gradients(ops=["layernorm", "linear"])}
    assert not rows["layernorm"].ok and rows["layernorm"].max_error > 1e-5
    assert rows["linear"].ok
    assert "layernorm" in format_check_table(list(rows.values())).split("NOT OK")[0]


def test_a_broken_model_backward_is_reported_not_ok(monkeypatch):
    def broken(dy, cache):
        dx, dgain, dbias = minigpt.nn.layernorm_backward(dy, cache)
        return dx * 1.0001, dgain, dbias

    monkeypatch.setattr(minigpt.model, "layernorm_backward", broken)
    rows = {row.op: row for row in check_gradients(ops=["GPT.loss_and_grads", "layernorm"])}
    assert not rows["GPT.loss_and_grads"].ok
    assert rows["layernorm"].ok  # the op itself is right: the model's use of it is not


def test_unknown_check_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown checks \['lienar'\]; expected names from"):
        check_gradients(ops=["lienar"])


def test_the_checks_run_in_float64_and_leave_no_trace():
    problem = CHECKS["gelu"](np.random.default_rng(0))
    assert all(x.dtype == np.float64 for x in problem.inputs)
    before = [x.copy() for x in problem.inputs]
    minigpt.gradcheck(problem.f, problem.inputs, problem.grads, dy=problem.dy)
    for x, b in zip(problem.inputs, before):
        np.testing.assert_array_equal(x, b)  # nudged entries are restored
