"""The benchmark harness runs end to end: ``python -m benchmarks --quick``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[1]


def run_benchmarks(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_quick_run_prints_the_table() -> None:
    result = run_benchmarks("--quick", "--filter", "get")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    table = [cells(line) for line in lines if line.startswith("| ")]
    assert table[0] == [
        "workload",
        "backend",
        "walrus ops/s",
        "plain ops/s",
        "walrus/plain",
        "commands/op",
        "round trips/op",
    ]
    assert all("get" in row[0] for row in table[2:])
    rows = {row[1]: row for row in table[2:] if row[0] == "get"}
    assert list(rows) == ["redis", "rlite-memory"]
    assert rows["redis"][-2:] == ["1", "1"]  # one command, one round trip per GET
    assert rows["rlite-memory"][-2:] == ["-", "-"]  # counted on the server only
    for fact in ("CPU: ", "Python: ", "redis-py: ", "server: Valkey "):
        assert any(line.startswith(fact) for line in lines), fact


def test_unknown_filter_fails() -> None:
    result = run_benchmarks("--quick", "--filter", "no-such-thing")
    assert result.returncode == 2
    assert "no workload matches" in result.stderr
