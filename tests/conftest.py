"""Collects the worst finite-difference error per checked function and prints it at the end."""

from __future__ import annotations

import functools
import importlib
import os

import minigpt

# the module that defines `gradcheck`; the package re-exports the function
_gradcheck = importlib.import_module("minigpt.finite_diff")

WORST: dict[str, float] = {}
_original = _gradcheck.gradcheck


@functools.wraps(_original)
def _recording_gradcheck(f, inputs, grads, **kwargs):
    result = _original(f, inputs, grads, **kwargs)
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    key = test.split("::")[0].rsplit("/", 1)[-1] + "::" + test.split("::")[-1].split("[")[0]
    if result.ok:  # deliberately failing checks (tests of gradcheck itself) are not records
        WORST[key] = max(WORST.get(key, 0.0), result.max_error)
    return result


def pytest_configure(config):
    _gradcheck.gradcheck = _recording_gradcheck
    minigpt.gradcheck = _recording_gradcheck


def pytest_terminal_summary(terminalreporter):
    if not WORST:
        return
    terminalreporter.section("worst finite-difference error per test (float64)")
    for key in sorted(WORST):
        terminalreporter.write_line(f"{WORST[key]:.2e}  {key}")


# ---------------------------------------------------------------- shared trained model

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def demo_model():
    """The `minigpt demo` model, trained once per test session: (model, tokenizer, result)."""
    from minigpt.facts import train_facts_model

    return train_facts_model(progress=False)
