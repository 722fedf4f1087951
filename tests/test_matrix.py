"""tools/backend_matrix.py renders a recorded conformance run (no pytest run here)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from matrix_plugin import cell_of

from walrus import UnsupportedOperation

TOOL = Path(__file__).resolve().parent.parent / "tools" / "backend_matrix.py"


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("backend_matrix", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def outcome(feature: str, backend: str, result: str) -> dict[str, str]:
    return {"feature": feature, "backend": backend, "outcome": result}


RUN: dict[str, Any] = {
    "backends": ["redis", "rlite-memory", "rlite-file", "memory", "redis-server"],
    "outcomes": [
        outcome("hash", "redis", "passed"),
        outcome("hash", "redis", "passed"),
        outcome("hash", "rlite-memory", "passed"),
        outcome("hash", "rlite-file", "failed"),
        outcome("hash", "memory", "skipped"),
        outcome("stream", "redis", "passed"),
        outcome("stream", "rlite-memory", "passed"),
        outcome("stream", "rlite-file", "passed"),
        outcome("stream", "redis-server", "passed"),
    ],
    "unsupported": [
        {
            "backend": "rlite",
            "feature": "stream",
            "operation": "XADD",
            "reason": "no streams",
        },
    ],
    "not_run": {"ledis": "no ledisdb server (set WALRUS_TEST_LEDIS_URL)"},
}


def test_cells(tool: ModuleType) -> None:
    assert tool.cell(RUN, "hash", "redis") == "yes"
    assert tool.cell(RUN, "hash", "rlite-file") == "FAIL"
    assert tool.cell(RUN, "hash", "memory") == "not run"
    assert tool.cell(RUN, "hash", "ledis") == "not run"
    assert tool.cell(RUN, "stream", "rlite-memory") == "yes, except XADD: no streams"
    assert tool.cell(RUN, "stream", "rlite-file") == "yes, except XADD: no streams"
    assert tool.cell(RUN, "stream", "redis") == "yes"
    assert tool.cell(RUN, "differential", "redis") == "oracle"


def test_render(tool: ModuleType) -> None:
    page = tool.render(json.loads(json.dumps(RUN)), "2026-01-01")
    assert "on 2026-01-01" in page
    header = (
        "| feature | redis | cluster | rlite-memory | rlite-file | vedis-memory"
        " | vedis-file | memory | ledis | redis-server |"
    )
    assert header in page
    assert (
        "| hash | yes | not run | yes | FAIL | not run | not run | not run | not run"
        " | not run |" in page
    )
    assert (
        "| stream | yes | not run | yes, except XADD: no streams | yes, except XADD:"
        " no streams | not run | not run | not run | not run | yes |" in page
    )
    assert "- **ledis**: no ledisdb server (set WALRUS_TEST_LEDIS_URL)" in page
    assert "| rlite | stream | XADD | no streams |" in page


def test_record_unsupported_registry() -> None:
    import support

    before = list(support.UNSUPPORTED_CELLS)
    try:
        exc = UnsupportedOperation("rlite", "XADD", "no streams")
        support.record_unsupported("rlite-file", "stream", exc)
        support.record_unsupported("rlite-file", "stream", exc)
        assert support.UNSUPPORTED_CELLS[len(before) :] == [
            support.UnsupportedCell("rlite-file", "stream", "XADD", "no streams")
        ]
    finally:
        support.UNSUPPORTED_CELLS[:] = before


def test_only_backend_parametrized_conformance_tests_are_cells(
    request: pytest.FixtureRequest,
) -> None:
    assert cell_of(request.node) is None  # not under tests/conformance
