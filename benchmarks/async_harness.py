"""``python -m benchmarks --async``: walrus.asyncio against its yardsticks.

On the Redis backend each workload of :mod:`benchmarks.async_workloads` runs
on ``walrus.asyncio.AsyncDatabase`` and, doing the same commands, on a plain
``redis.asyncio.Redis`` of the same server. On the embedded backends the
async database (``AsyncRliteDatabase``, ``AsyncVedisDatabase``, over another
client of the same engine) runs against the sync walrus database doing the
sync workload of the same name: what ``await`` costs there.

Each workload runs at two concurrencies: 1 (one task awaiting the operation
in a loop) and 50 (50 tasks started with ``asyncio.gather``, each doing its
share of the batch; the sync side is its one loop). As in the sync harness
a batch is calibrated to last ``batch_seconds``, the sides' batches
alternate and each repeat reverses their order, and each side's rate is the
median of its batches. The ratio is the median of the per-repeat ratios
(the two batches of a repeat run back to back), steadier than the ratio of
the medians on a busy machine. The data comes from the sync workload's
``setup``; timing starts on a settled heap, as in the sync harness.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import redis.asyncio

from benchmarks.async_workloads import WORKLOADS, AsyncOperation, AsyncWorkload
from benchmarks.harness import (
    FULL,
    QUICK,
    Backend,
    Counts,
    Operation,
    Settings,
    Workload,
    markdown_table,
    next_batch_size,
    settled_heap,
)
from benchmarks.harness import _batch as _sync_batch

__all__ = [
    "ASYNC_BACKENDS",
    "ASYNC_QUICK",
    "CONCURRENCY",
    "AsyncResult",
    "format_async_table",
    "run_async",
]

CONCURRENCY = (1, 50)
# quick: the sync harness's 20 ms batches, more of them (the ratios of
# one-command operations are judged against 0.95: a median of 4 is too noisy)
ASYNC_QUICK = Settings(batch_seconds=QUICK.batch_seconds, repeats=10)
ASYNC_BACKENDS = ("redis", "rlite-memory", "rlite-file", "vedis-memory", "vedis-file")

# one side of a comparison: a sync operation (timed in a plain loop) or one
# async operation per task
Side = Operation | list[AsyncOperation]


class AsyncResult(NamedTuple):
    """One table row."""

    workload: str
    backend: str
    tasks: int
    walrus: float  # ops/s
    against: str  # what the yardstick is
    other: float | None  # the yardstick's ops/s
    ratio: float | None  # walrus's rate over the yardstick's, per repeat: median
    counts: Counts | None  # per async walrus operation, server only


async def _batch(side: Side, n: int) -> float:
    if not isinstance(side, list):
        return _sync_batch(side, n)

    async def loop(operation: AsyncOperation, calls: int) -> None:
        for _ in range(calls):
            await operation()

    share, extra = divmod(n, len(side))
    start = time.perf_counter()
    if len(side) == 1:
        await loop(side[0], n)
    else:
        await asyncio.gather(
            *(loop(op, share + (i < extra)) for i, op in enumerate(side))
        )
    return time.perf_counter() - start


async def _calibrate(side: Side, settings: Settings) -> int:
    """As :func:`benchmarks.harness.calibrate`, for either kind of side."""
    n, elapsed = len(_tasks(side)), await _batch(side, len(_tasks(side)))
    while elapsed < settings.batch_seconds:
        n = next_batch_size(n, elapsed, settings)
        elapsed = await _batch(side, n)
    return n


def _tasks(side: Side) -> list[Any]:
    return side if isinstance(side, list) else [side]


async def _rates(
    sides: Sequence[Side], settings: Settings
) -> tuple[list[float], float | None]:
    """Each side's median rate, and the median over the repeats of the first
    side's rate over the second's (None with one side). The batches of a
    repeat run back to back, each repeat in the reverse order of the last:
    a ratio within a repeat sees one moment of a shared machine."""
    with settled_heap():
        sizes = [await _calibrate(side, settings) for side in sides]
        times: list[list[float]] = [[] for _ in sides]
        order = list(range(len(sides)))
        for _ in range(settings.repeats):
            for index in order:
                times[index].append(await _batch(sides[index], sizes[index]))
            order.reverse()
    rates = [n / statistics.median(t) for n, t in zip(sizes, times, strict=True)]
    if len(sides) < 2:
        return rates, None
    pairs = zip(times[0], times[1], strict=True)
    ratio = statistics.median(sizes[0] * b / (sizes[1] * a) for a, b in pairs)
    return rates, ratio


async def _working(side: list[AsyncOperation]) -> list[AsyncOperation] | None:
    """``side``, or None where its operation fails (no such command ...)."""
    try:
        await side[0]()
    except Exception:
        return None
    return side


async def _server(
    workload: AsyncWorkload, connection: dict[str, Any], settings: Settings
) -> list[AsyncResult]:
    """Walrus's AsyncDatabase against redis.asyncio on the data already set up."""
    from walrus.asyncio import AsyncDatabase
    from walrus.testing import count_round_trips

    results = []
    async with (
        AsyncDatabase(**connection) as db,
        redis.asyncio.Redis(**connection) as client,
    ):
        for tasks in CONCURRENCY:
            sides: list[Side] = [[workload.walrus(db, t) for t in range(tasks)]]
            if workload.plain is not None:
                plain = await _working(
                    [workload.plain(client, t) for t in range(tasks)]
                )
                if plain is not None:
                    sides.append(plain)
            rates, ratio = await _rates(sides, settings)
            with count_round_trips() as sent:
                await _tasks(sides[0])[0]()
            other = rates[1] if len(rates) > 1 else None
            counts = Counts(sent.commands, sent.round_trips)
            row = (workload.name, "redis", tasks, rates[0], "redis.asyncio", other)
            results.append(AsyncResult(*row, ratio, counts))
    return results


def _async_twin(backend: Backend, sync_db: Any) -> Any:
    """The async database over another client of ``sync_db``'s engine."""
    from walrus.asyncio.embedded import AsyncRliteDatabase, AsyncVedisDatabase

    cls = AsyncRliteDatabase if backend.name.startswith("rlite") else AsyncVedisDatabase
    return cls._over(sync_db.client())


async def _embedded(
    workload: AsyncWorkload,
    sync: Workload,
    sync_db: Any,
    backend: Backend,
    settings: Settings,
) -> list[AsyncResult]:
    """The async database against the sync one, on the same engine."""
    db = _async_twin(backend, sync_db)
    results = []
    try:
        for tasks in CONCURRENCY:
            sides: list[Side] = [
                [workload.walrus(db, t) for t in range(tasks)],
                sync.walrus(sync_db),
            ]
            (walrus, other), ratio = await _rates(sides, settings)
            row = (workload.name, backend.name, tasks, walrus, "sync walrus", other)
            results.append(AsyncResult(*row, ratio, None))
    finally:
        await db.aclose()
    return results


def run_async(
    workloads: Sequence[Workload],
    backend: Backend,
    connection: dict[str, Any] | None,
    quick: bool,
) -> list[AsyncResult]:
    """The async twins of ``workloads`` (those that have one) on ``backend``;
    ``connection`` is the Redis backend's server (None: an embedded engine)."""
    settings = ASYNC_QUICK if quick else FULL
    twins = {w.name: w for w in WORKLOADS}
    results: list[AsyncResult] = []
    for sync in workloads:
        workload = twins.get(sync.name)
        if workload is None:
            continue
        started = time.perf_counter()
        db = backend.open_walrus()
        try:
            sync.setup(db)
            if connection is not None:
                measured = _server(workload, connection, settings)
            else:
                measured = _embedded(workload, sync, db, backend, settings)
            results.extend(asyncio.run(measured))
        finally:
            with contextlib.suppress(Exception):
                db.close()
        took = time.perf_counter() - started
        print(f"  {sync.name} on {backend.name} (async): {took:.1f} s", file=sys.stderr)
    return results


HEADERS = (
    "workload",
    "backend",
    "tasks",
    "walrus.asyncio ops/s",
    "against",
    "its ops/s",
    "ratio",
    "commands/op",
    "round trips/op",
)


def _row(result: AsyncResult) -> tuple[str, ...]:
    against = other = ratio = commands = trips = "-"
    if result.other is not None and result.ratio is not None:
        against, other = result.against, f"{result.other:,.0f}"
        ratio = f"{result.ratio:.2f}"
    if result.counts is not None:
        commands, trips = (str(n) for n in result.counts)
    return (
        result.workload,
        result.backend,
        str(result.tasks),
        f"{result.walrus:,.0f}",
        against,
        other,
        ratio,
        commands,
        trips,
    )


def format_async_table(results: Sequence[AsyncResult]) -> str:
    """A Markdown table; ``ratio`` is walrus.asyncio's speed over the yardstick's."""
    return markdown_table(HEADERS, [_row(r) for r in results])
