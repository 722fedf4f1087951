"""Named operations: their Lua file against their Python twin, on the embedded engines.

``python -m benchmarks.lua_vs_twins [--backends memory,rlite-memory,...]``

Every benchmark workload that runs a named operation is timed twice on each
embedded backend, in one run: as walrus runs it (the Python twin, through
``WALRUS.OP``) and with the twins switched off, so the same calls run the
operation's ``lua/<name>.lua`` on the engine's Lua runtime (EVALSHA). The
ratio is Lua time / twin time (1.10 = Lua costs 10 % more). Each side is the
median of 5 batches of about 0.2 s, the two sides alternating.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import benchmarks.workloads
from benchmarks.harness import Workload

BACKENDS = ("memory", "rlite-memory", "vedis-memory", "rlite-file", "vedis-file")


def _opener(name: str, directory: Path) -> Callable[[], Any]:
    counter = iter(range(10**9))

    def open_db() -> Any:
        if name == "memory":
            from walrus.drivers.memory import MemoryDatabase

            return MemoryDatabase()
        if name.startswith("rlite"):
            from walrus.tusks.rlite import WalrusLite

            path = (
                ":memory:"
                if name.endswith("memory")
                else str(directory / f"r{next(counter)}.rld")
            )
            return WalrusLite(path)
        from walrus.tusks.vedisdb import WalrusVedis

        path = (
            ":memory:"
            if name.endswith("memory")
            else str(directory / f"v{next(counter)}.vdb")
        )
        return WalrusVedis(path)

    return open_db


def _workloads() -> list[Workload]:
    found: list[Workload] = []
    for module in pkgutil.iter_modules(benchmarks.workloads.__path__):
        loaded = importlib.import_module(f"benchmarks.workloads.{module.name}")
        found.extend(getattr(loaded, "WORKLOADS", []))
    return found


def _operations_used(db: Any, operation: Callable[[], Any]) -> Counter[str]:
    """The named operations one call runs (from the engine's MONITOR feed)."""
    lines: list[bytes] = []
    core = db._core
    with core.lock:
        core.monitors.append(lines.append)
    try:
        operation()
    finally:
        with core.lock:
            core.monitors.remove(lines.append)
    used: Counter[str] = Counter()
    for line in lines:
        words = line.split(b'"')
        if len(words) > 3 and words[1].upper() == b"WALRUS.OP":
            used[words[3].decode()] += 1
    return used


def _rate(operation: Callable[[], Any], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        operation()
    return (time.perf_counter() - started) / n


def _calibrate(operation: Callable[[], Any], seconds: float) -> int:
    n = 1
    while True:
        if _rate(operation, n) * n >= seconds / 4 or n >= 100_000:
            return max(1, int(n * seconds / max(_rate(operation, n) * n, 1e-9)))
        n *= 4


def compare(
    workload: Workload, open_db: Callable[[], Any]
) -> tuple[Counter[str], float, float] | None:
    twin_db, lua_db = open_db(), open_db()
    try:
        lua_db._core.twins = {}  # every named operation runs its Lua file
        for db in (twin_db, lua_db):
            workload.setup(db)
        twin_op, lua_op = workload.walrus(twin_db), workload.walrus(lua_db)
        used = _operations_used(twin_db, twin_op)
        if not used:
            return None
        lua_op()  # load the scripts
        n = _calibrate(twin_op, 0.2)
        twin, lua = [], []
        for _ in range(5):
            twin.append(_rate(twin_op, n))
            lua.append(_rate(lua_op, n))
        return used, statistics.median(twin), statistics.median(lua)
    finally:
        twin_db.close()
        lua_db.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("-k", default="", help="only workloads whose name has this")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for backend in options.backends.split(","):
            open_db = _opener(backend, Path(tmp))
            print(
                f"\n{backend}: workload  [named operations]  twin µs  Lua µs  Lua/twin"
            )
            for workload in _workloads():
                if options.k not in workload.name:
                    continue
                result = compare(workload, open_db)
                if result is None:
                    continue
                used, twin, lua = result
                names = ", ".join(f"{k}x{v}" if v > 1 else k for k, v in used.items())
                print(
                    f"  {workload.name:38} [{names}]  {twin * 1e6:9.1f}  "
                    f"{lua * 1e6:9.1f}  {lua / twin:6.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
