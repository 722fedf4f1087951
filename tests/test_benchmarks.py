"""The benchmark harness runs end to end: ``python -m benchmarks --quick``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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
        "0.9 ops/s",
        "walrus/0.9",
    ]
    assert all("get" in row[0] for row in table[2:])
    rows = {row[1]: row for row in table[2:] if row[0] == "get"}
    assert list(rows) == ["redis", "rlite-memory"]
    assert rows["redis"][5:7] == ["1", "1"]  # one command, one round trip per GET
    assert rows["rlite-memory"][5:7] == ["-", "-"]  # counted on the server only
    assert rows["redis"][7:] == ["-", "-"]  # walrus 0.9 was not asked for
    for fact in ("CPU: ", "Python: ", "redis-py: ", "server: Valkey "):
        assert any(line.startswith(fact) for line in lines), fact


def test_unknown_filter_fails() -> None:
    result = run_benchmarks("--quick", "--filter", "no-such-thing")
    assert result.returncode == 2
    assert "no workload matches" in result.stderr


def test_comparison_with_an_original_interpreter() -> None:
    """``--original`` runs the workloads in another interpreter (here: this one)."""
    result = run_benchmarks(
        "--quick",
        "--filter",
        "hash get",
        "--backend",
        "redis",
        "vedis-memory",
        "--original",
        sys.executable,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = [cells(line) for line in result.stdout.splitlines() if line[:2] == "| "]
    rows = {row[1]: row for row in table[2:]}
    assert list(rows) == ["redis", "vedis-memory"]
    assert float(rows["redis"][8]) > 0  # a walrus/0.9 ratio
    assert rows["vedis-memory"][7:] == ["-", "-"]  # compared on Redis and rlite only
    assert float(rows["vedis-memory"][4]) > 0  # plain vedis did HGET too


def test_ratio_to_the_original_is_relative_to_each_runs_plain_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(REPO))  # benchmarks/ is not installed
    from benchmarks.harness import Result, versus_original

    # walrus at 50% of its plain client, 0.9 at 25% of its own: 2x, whatever
    # the machine's speed was during each run.
    result = Result("w", "redis", 500.0, 1000.0, None, (100.0, 400.0))
    assert versus_original(result) == 2.0
    no_plain = Result("w", "redis", 500.0, None, None, (100.0, None))
    assert versus_original(no_plain) == 5.0


def test_cluster_backend_runs_on_a_real_cluster() -> None:
    """``--backend cluster`` starts a 3+3 cluster: ClusterDatabase vs RedisCluster."""
    result = run_benchmarks("--quick", "--backend", "cluster", "--filter", "hash get")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    table = [cells(line) for line in lines if line.startswith("| ")]
    rows = {(row[0], row[1]): row for row in table[2:]}
    assert list(rows) == [("hash get", "cluster"), ("hash get, 10 fields", "cluster")]
    row = rows["hash get", "cluster"]
    assert float(row[4]) > 0  # plain RedisCluster did the same HGET: a ratio
    assert row[5:7] == ["1", "1"]  # one command, one round trip on the cluster
    assert any(
        line.startswith("server: Valkey ") and "cluster" in line for line in lines
    )


def test_cluster_skips_a_workload_whose_keys_span_slots(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(REPO))  # benchmarks/ is not installed
    from benchmarks.__main__ import run, valkey_cluster
    from benchmarks.harness import Workload

    spans = Workload("spans", lambda db: db.mset({"a": 1, "b": 2}), lambda db: print)
    with valkey_cluster(None) as (backend, _):
        assert run([spans], [backend], quick=True) == []
    assert "spans on cluster: skipped, MSET: its keys" in capsys.readouterr().out


def test_benchmarks_rtt_runs_the_server_behind_the_proxy() -> None:
    result = run_benchmarks(
        "--quick", "--backend", "redis", "--filter", "hash get", "--rtt", "0.5ms"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    network = [line for line in lines if line.startswith("network: ")]
    assert network and "0.5 ms RTT added by benchmarks/proxy.py" in network[0]
    rows = [line for line in lines if line.startswith("| hash get ")]
    assert rows and all("| redis " in row for row in rows)


def test_benchmarks_rtt_needs_the_redis_backend() -> None:
    result = run_benchmarks("--quick", "--backend", "rlite-memory", "--rtt", "1ms")
    assert result.returncode == 2
    assert "--rtt delays the redis backend only" in result.stderr


def test_batches_alternate_and_reverse_their_order_each_repeat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(REPO))  # benchmarks/ is not installed
    from benchmarks.harness import Settings, ops_per_second

    calls: list[str] = []
    operations = [lambda: calls.append("walrus"), lambda: calls.append("plain")]
    ops_per_second(operations, Settings(batch_seconds=0.0, repeats=4))
    batches = calls[2:]  # after one calibration call each
    assert batches == ["walrus", "plain", "plain", "walrus"] * 2


def test_async_mode_compares_with_redis_asyncio_and_sync_walrus() -> None:
    """``--async``: walrus.asyncio at 1 and 50 tasks, a ratio on each row."""
    result = run_benchmarks(
        "--async",
        "--quick",
        "--filter",
        "hash get",
        "--backend",
        "redis",
        "rlite-memory",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = [cells(line) for line in result.stdout.splitlines() if line[:2] == "| "]
    assert table[0][:3] == ["workload", "backend", "tasks"]
    rows = {(row[1], row[2]): row for row in table[2:] if row[0] == "hash get"}
    assert list(rows) == [
        ("redis", "1"),
        ("redis", "50"),
        ("rlite-memory", "1"),
        ("rlite-memory", "50"),
    ]
    assert rows["redis", "1"][4] == "redis.asyncio"
    assert rows["redis", "1"][7:] == ["1", "1"]  # one HGET, one round trip
    assert rows["rlite-memory", "50"][4] == "sync walrus"
    assert all(float(row[6]) > 0 for row in rows.values())  # walrus / yardstick


def test_async_mode_refuses_what_it_cannot_run() -> None:
    result = run_benchmarks("--async", "--quick", "--backend", "cluster")
    assert result.returncode == 2
    assert "--async runs on" in result.stderr


@pytest.mark.parametrize("on_file", [False, True], ids=["memory", "file"])
def test_rlite_plain_client_holds_the_data_setup_wrote(
    on_file: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In memory the plain hirlite handle gets setup's writes again, in order;
    on a file, a copy of walrus's file: the same keys, types, values, TTLs."""
    pytest.importorskip("hirlite")
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks.harness import rlite_backend

    def setup(db: Any) -> None:
        db.set("string", "value", ex=100)
        db.set("binary", bytes(range(256)) * 3)  # NUL bytes: not C strings
        h = db.Hash("hash")
        for i in reversed(range(300)):  # not rlite's own order
            h[f"field:{i}"] = str(i)
        db.Set("set").add(*[f"m{i}" for i in range(50)])
        db.ZSet("zset").add({f"m{i}": i / 3 for i in range(50)})
        db.List("list").extend([str(i) for i in range(20)])
        db.Array("array").extend(["a", "b", "c"])

    backend = rlite_backend("rlite", tmp_path if on_file else None)
    db = backend.open_walrus()
    try:
        setup(db)
        plain = backend.open_plain(db, setup)
        engine = db._core.engine
        keys = sorted(engine.raw([b"KEYS", b"*"]))
        assert len(keys) >= 7
        assert sorted(plain.command("KEYS", "*")) == keys
        reads = {
            b"string": ["GET"],
            b"hash": ["HGETALL"],
            b"set": ["SMEMBERS"],
            b"zset": ["ZRANGE", "0", "-1", "WITHSCORES"],
            b"list": ["LRANGE", "0", "-1"],
        }
        for key in keys:
            kind = engine.raw([b"TYPE", key])
            assert plain.command("TYPE", key) == kind
            name, *rest = reads[kind]
            theirs = plain.command(name, key, *rest)
            ours = engine.raw([name.encode(), key, *(r.encode() for r in rest)])
            assert sorted(theirs) == sorted(ours)
        assert 0 < plain.command("PTTL", "string") <= 100_000
    finally:
        db.close()
