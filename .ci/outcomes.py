"""A pytest plugin for .ci/run: appends "passed NODEID" or "skipped NODEID" for every test
to the file named by $MINIGPT_OUTCOMES, so a second pass can run exactly what was skipped.
A module skipped while it is collected (``pytest.importorskip`` at its top) is recorded
as "skipped MODULE", so the second pass runs all of it."""

import os


def pytest_runtest_logreport(report):
    if report.skipped:  # a skip in the test or in one of its fixtures
        outcome = "skipped"
    elif report.when == "call" and report.passed:
        outcome = "passed"
    else:
        return
    with open(os.environ["MINIGPT_OUTCOMES"], "a", encoding="utf-8") as f:
        f.write(f"{outcome} {report.nodeid}\n")


def pytest_collectreport(report):
    if report.skipped:  # a whole module skipped at import: none of its tests was reported
        with open(os.environ["MINIGPT_OUTCOMES"], "a", encoding="utf-8") as f:
            f.write(f"skipped {report.nodeid}\n")
