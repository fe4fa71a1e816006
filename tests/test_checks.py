"""One rule for boundary checks: TypeError for the wrong type, ValueError for a wrong value."""

import numpy as np
import pytest

import minigpt
from minigpt import GPTConfig, _checks, optim
from minigpt.interp import prompts
from minigpt.superposition import _common

CFG = GPTConfig(vocab_size=16, n_ctx=8, n_layer=1, n_head=2, d_model=8)

# Every integer argument of the package, checked by the same rule.
INT_CHECKS = {
    "check_int": lambda v: _checks.check_int("n", v, 1),
    "config": lambda v: GPTConfig(16, 8, v, 2, 8),
    "optim": lambda v: optim.lr_at(v, max_lr=1e-3, warmup_steps=0, max_steps=10),
    "superposition": lambda v: _common._check_int("n", v, 1),
    "interp": lambda v: prompts.check_int("n", v, 1),
    "generate": lambda v: minigpt.GPT(CFG).generate([1], v, temperature=0),
}


@pytest.mark.parametrize("where", INT_CHECKS)
@pytest.mark.parametrize("bad", [True, np.bool_(True), 2.0, "2", None])
def test_a_non_integer_is_a_type_error(where, bad):
    with pytest.raises(TypeError, match=r"must be an int, got"):
        INT_CHECKS[where](bad)


@pytest.mark.parametrize("where", INT_CHECKS)
def test_an_integer_out_of_range_is_a_value_error(where):
    with pytest.raises(ValueError, match=r"must be an int >= \d, got -1"):
        INT_CHECKS[where](-1)


@pytest.mark.parametrize("where", INT_CHECKS)
def test_numpy_integers_are_integers(where):
    INT_CHECKS[where](np.int64(2))


def test_config_stores_python_ints():
    cfg = GPTConfig(np.int64(16), 8, 1, 2, 8)
    assert type(cfg.vocab_size) is int
    assert cfg == CFG


def test_check_int_bounds_and_return():
    assert _checks.check_int("k", np.int32(3), 1, 3) == 3
    assert type(_checks.check_int("k", np.int32(3))) is int
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 3\], got 4"):
        _checks.check_int("k", 4, 1, 3)
    with pytest.raises(ValueError, match=r"k must be an int <= 3, got 4"):
        _checks.check_int("k", 4, maximum=3)


def test_check_float():
    assert _checks.check_float("p", 1, 0, 1, low_open=True) == 1.0
    with pytest.raises(TypeError, match="p must be a real number, got bool True"):
        _checks.check_float("p", True)
    with pytest.raises(ValueError, match=r"p must be a finite number in \(0, 1\], got 0"):
        _checks.check_float("p", 0, 0, 1, low_open=True)
    with pytest.raises(ValueError, match="p must be a finite number, got nan"):
        _checks.check_float("p", float("nan"))
    with pytest.raises(ValueError, match="p must be a finite number >= 0, got -1"):
        _checks.check_float("p", -1, 0)


def test_check_choice():
    assert _checks.check_choice("a", "relu", ("gelu", "relu")) == "relu"
    with pytest.raises(ValueError, match=r"a must be one of \['gelu', 'relu'\], got 'tanh'"):
        _checks.check_choice("a", "tanh", ("gelu", "relu"))
    with pytest.raises(ValueError, match="got \\['relu'\\]"):
        _checks.check_choice("a", ["relu"], ("gelu", "relu"))


def test_check_token_ids():
    assert _checks.check_token_ids([[1, 2]], 3).dtype == np.int64
    with pytest.raises(TypeError, match="idx must hold integer token ids, got dtype bool"):
        _checks.check_token_ids([True], 3)
    with pytest.raises(ValueError, match=r"idx must be in \[0, 3\), got an id of 3"):
        _checks.check_token_ids([3], 3)
    with pytest.raises(ValueError, match="at least one token"):
        _checks.check_token_ids(np.zeros(0, int), 3)
