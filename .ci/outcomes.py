"""A pytest plugin for .ci/run: appends "passed NODEID" or "skipped NODEID" for every test
to the file named by $MINIGPT_OUTCOMES, so a second pass can run exactly what was skipped."""

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
