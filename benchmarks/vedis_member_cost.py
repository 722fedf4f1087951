"""Ops/s of one-member commands on small (10) and big (100,000) containers.

Run: ``python benchmarks/vedis_member_cost.py [--size N] [--ops N]``. For the
memory engine and Vedis (in memory and in a file, default commit interval),
each command runs ``--ops`` times against a container of 10 members and one
of ``--size`` members; a flat cost shows as similar numbers in both columns.
For the file, it also times reopening it and the first read of the big hash
(its members are read once, on first use).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from walrus.drivers.memory import MemoryDatabase
from walrus.tusks.vedisdb import WalrusVedis

OPS: dict[str, Callable[[Any, str, int], Any]] = {
    "HSET": lambda db, key, i: db.hset(key, f"new{i}", i),
    "HGET": lambda db, key, i: db.hget(key, f"m{i % 10}"),
    "SADD": lambda db, key, i: db.sadd(key, f"new{i}"),
    "ZADD": lambda db, key, i: db.zadd(key, {f"new{i}": i}),
    "ZSCORE": lambda db, key, i: db.zscore(key, f"m{i % 10}"),
    "LPUSH": lambda db, key, i: db.lpush(key, i),
}


def fill(db: Any, suffix: str, size: int) -> None:
    members = {f"m{i}": i for i in range(size)}
    db.hset(f"HSET{suffix}", mapping=members)
    db.sadd(f"SADD{suffix}", *members)
    db.zadd(f"ZADD{suffix}", members)
    db.rpush(f"LPUSH{suffix}", *members)
    db.hset(f"HGET{suffix}", mapping=members)
    db.zadd(f"ZSCORE{suffix}", members)


def rate(db: Any, name: str, key: str, ops: int) -> float:
    call = OPS[name]
    start = time.perf_counter()
    for i in range(ops):
        call(db, key, i)
    return ops / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--ops", type=int, default=20_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engines: dict[str, Callable[[], Any]] = {
            "memory": MemoryDatabase,
            "vedis-memory": lambda: WalrusVedis(":memory:"),
            "vedis-file": lambda: WalrusVedis(str(Path(tmp) / "bench.vdb")),
        }
        print(
            f"{'engine':<13} {'command':<7} {'10 members':>12}"
            f" {options.size:>9,} members"
        )
        for engine, open_db in engines.items():
            db = open_db()
            fill(db, ":small", 10)
            fill(db, ":big", options.size)
            for name in OPS:
                small = rate(db, name, f"{name}:small", options.ops)
                big = rate(db, name, f"{name}:big", options.ops)
                print(f"{engine:<13} {name:<7} {small:>10,.0f}/s {big:>11,.0f}/s")
            db.close()
        start = time.perf_counter()
        db = engines["vedis-file"]()
        opened = time.perf_counter()
        db.hget("HGET:big", "m1")
        loaded = time.perf_counter()
        db.close()
        print(
            f"vedis-file reopen {opened - start:.3f} s; first HGET of the "
            f"{options.size:,}-member hash {loaded - opened:.3f} s"
        )


if __name__ == "__main__":
    main()
