"""Record conformance outcomes per (feature, backend) for the backend matrix.

Active when ``WALRUS_MATRIX=path.json`` is set (``tools/backend_matrix.py``
sets it). Each conformance test is filed under its *feature* (the module name
without ``test_``: ``tests/conformance/test_zset.py`` -> ``zset``) and its
*backend* (the ``backend`` fixture's parameter, or the ``other`` parameter of
``test_differential.py``); tests with neither are not backend cells and are
left out. At the end of the session the file gets::

    {"backends": [...], "outcomes": [{"feature", "backend", "outcome"}, ...],
     "unsupported": [{"backend", "feature", "operation", "reason"}, ...],
     "not_run": {"ledis": "why"}}

where ``unsupported`` is what tests recorded with ``support.record_unsupported``.
Costs nothing when the variable is unset.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest
from support import LEDIS_URL, UNSUPPORTED_CELLS

ENV = "WALRUS_MATRIX"
BACKEND_PARAMS = ("backend", "other")


class MatrixRecorder:
    """Collects (feature, backend, outcome) per conformance test."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cells: dict[str, tuple[str, str]] = {}  # nodeid -> (feature, backend)
        self.outcomes: dict[str, str] = {}  # nodeid -> passed | failed | skipped
        self.backends: list[str] = []

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            cell = cell_of(item)
            if cell is not None:
                self.cells[item.nodeid] = cell
                if cell[1] not in self.backends:
                    self.backends.append(cell[1])

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.cells:
            return
        previous = self.outcomes.get(report.nodeid)
        if report.failed:
            self.outcomes[report.nodeid] = "failed"
        elif report.skipped and previous != "failed":
            self.outcomes[report.nodeid] = "skipped"
        elif report.when == "call" and previous is None:
            self.outcomes[report.nodeid] = "passed"

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        outcomes = [
            {"feature": feature, "backend": backend, "outcome": self.outcomes[node]}
            for node, (feature, backend) in self.cells.items()
            if node in self.outcomes
        ]
        not_run = {}
        if not LEDIS_URL:
            not_run["ledis"] = "no ledisdb server (set WALRUS_TEST_LEDIS_URL)"
        data = {
            "backends": self.backends,
            "outcomes": outcomes,
            "unsupported": [dataclasses.asdict(c) for c in UNSUPPORTED_CELLS],
            "not_run": not_run,
        }
        self.path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def cell_of(item: pytest.Item) -> tuple[str, str] | None:
    """(feature, backend) of a conformance test, or None."""
    path = Path(str(item.path))
    if path.parent.name != "conformance" or not path.stem.startswith("test_"):
        return None
    callspec: Any = getattr(item, "callspec", None)
    if callspec is None:
        return None
    for name in BACKEND_PARAMS:
        if name in callspec.params:
            return path.stem.removeprefix("test_"), str(callspec.params[name])
    return None


def pytest_configure(config: pytest.Config) -> None:
    target = os.environ.get(ENV)
    if target:
        config.pluginmanager.register(MatrixRecorder(Path(target)), "walrus-matrix")
