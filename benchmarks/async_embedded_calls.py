"""Cost per call of the async embedded databases against their sync twins.

Run: ``python benchmarks/async_embedded_calls.py [--ops N] [--rounds N]``.
For memory, rlite and Vedis in memory, times GET, SET and HGET through the
sync database (``db.get(k)``) and through the async one (``await
db.get(k)`` in a loop inside one coroutine), alternating sync and async
rounds in one run, and prints microseconds per call (the best round) and
the async/sync ratio. The machine is shared: compare ratios, not times.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from walrus.asyncio.embedded import (
    AsyncMemoryDatabase,
    AsyncRliteDatabase,
    AsyncVedisDatabase,
)
from walrus.drivers.memory import MemoryDatabase
from walrus.tusks.rlite import WalrusLite
from walrus.tusks.vedisdb import WalrusVedis

BACKENDS: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    "memory": (MemoryDatabase, AsyncMemoryDatabase),
    "rlite": (lambda: WalrusLite(":memory:"), lambda: AsyncRliteDatabase(":memory:")),
    "vedis": (lambda: WalrusVedis(":memory:"), lambda: AsyncVedisDatabase(":memory:")),
}
CALLS: dict[str, Callable[[Any], Any]] = {
    "GET": lambda db: db.get("k"),
    "SET": lambda db: db.set("k", "v"),
    "HGET": lambda db: db.hget("h", "f"),
}


def sync_round(db: Any, call: Callable[[Any], Any], ops: int) -> float:
    start = time.perf_counter()
    for _ in range(ops):
        call(db)
    return time.perf_counter() - start


async def async_round(db: Any, call: Callable[[Any], Any], ops: int) -> float:
    start = time.perf_counter()
    for _ in range(ops):
        await call(db)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    loop = asyncio.new_event_loop()
    print(f"{'backend':8} {'call':5} {'sync us':>8} {'async us':>9} {'ratio':>6}")
    for name, (open_sync, open_async) in BACKENDS.items():
        sync_db, async_db = open_sync(), loop.run_until_complete(_opened(open_async))
        for db in (sync_db, async_db._sync):
            db.set("k", "v")
            db.hset("h", "f", "v")
        for call_name, call in CALLS.items():
            best_sync = best_async = float("inf")
            for _ in range(options.rounds):
                best_sync = min(best_sync, sync_round(sync_db, call, options.ops))
                took = loop.run_until_complete(async_round(async_db, call, options.ops))
                best_async = min(best_async, took)
            per_sync = best_sync / options.ops * 1e6
            per_async = best_async / options.ops * 1e6
            print(
                f"{name:8} {call_name:5} {per_sync:8.2f} {per_async:9.2f} "
                f"{per_async / per_sync:6.2f}"
            )
        sync_db.close()
        loop.run_until_complete(async_db.aclose())
    loop.close()


async def _opened(open_async: Callable[[], Any]) -> Any:
    return open_async()  # opened inside the loop, as an application does


if __name__ == "__main__":
    main()
