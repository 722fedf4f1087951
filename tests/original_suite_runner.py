"""Run walrus 0.9.8's own unittest suite against this walrus (a subprocess).

``python original_suite_runner.py ROOT RESULTS``: ``ROOT/walrus/tests`` holds
the original's tests (fetched from the package index at test time, never kept
in the repository); they become ``walrus.tests`` by extending this walrus's
package path with ``ROOT/walrus``, so ``walrus`` itself is this project's
package. The server comes from ``WALRUS_REDIS_HOST``/``WALRUS_REDIS_PORT``
(the original suite reads them; it uses database 15). Each test's outcome
(``pass``, ``fail``, ``error`` or ``skip``) is written to RESULTS as JSON,
keyed by its id without the ``walrus.tests.`` prefix.
"""

from __future__ import annotations

import io
import json
import sys
import unittest
from pathlib import Path

PREFIX = "walrus.tests."


def main(root: str, results_path: str) -> None:
    import walrus

    walrus.__path__.append(str(Path(root) / "walrus"))
    suite = unittest.defaultTestLoader.loadTestsFromName("walrus.tests")
    ran = [t.id().removeprefix(PREFIX) for t in _tests(suite)]  # the run drops them
    result = unittest.TextTestResult(io.StringIO(), descriptions=False, verbosity=0)
    suite.run(result)
    outcomes: dict[str, str] = {}

    def note(test: unittest.TestCase, outcome: str) -> None:
        outcomes[test.id().removeprefix(PREFIX)] = outcome

    for test, _ in result.failures:
        note(test, "fail")
    for test, _ in result.errors:
        note(test, "error")
    for test, _ in result.skipped:
        note(test, "skip")
    details = {t.id().removeprefix(PREFIX): tb for t, tb in result.failures}
    details.update({t.id().removeprefix(PREFIX): tb for t, tb in result.errors})
    for test_id in ran:
        outcomes.setdefault(test_id, "pass")
    Path(results_path).write_text(
        json.dumps({"outcomes": outcomes, "details": details}, indent=1)
    )


def _tests(suite: unittest.TestSuite) -> list[unittest.TestCase]:
    found: list[unittest.TestCase] = []
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            found.extend(_tests(item))
        else:
            found.append(item)
    return found


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
