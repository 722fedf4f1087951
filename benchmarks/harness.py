"""Time walrus operations against the same work done with a plain client.

A :class:`Workload` names an operation and says how to prepare data for it:

* ``setup(db)`` writes the data into an empty walrus database;
* ``walrus(db)`` returns the zero-argument operation to time, on that database;
* ``plain(client)`` (optional) returns the equivalent minimal work done with
  the backend's plain client on the same data.

The plain client is a ``redis.Redis`` on the same server for the Redis
backend and a stock ``hirlite.Rlite`` for the rlite backends.
:func:`plain_command` gives a ``command(*args)`` function for either. Stock
hirlite kills the interpreter on any error reply (Python 3.10+), so a plain
operation must only send commands that succeed.

How the plain client gets its data: ``setup`` runs once, on a fresh walrus
database. On the server the plain client works on the keys ``setup`` wrote,
the same keys as walrus. An rlite handle cannot be shared with a stock
client in memory, so the rlite backends copy the prepared keys into the plain
client's own fresh handle (``:memory:`` or its own file) with DUMP and
RESTORE in one MULTI/EXEC, commands that cannot fail there. Either way an
operation runs thousands of times on its data: make it steady-state (what
it adds, it removes or overwrites).

Each side is timed as the median of ``repeats`` batches, a batch being the
operation called ``n`` times, ``n`` calibrated so a batch lasts about
``batch_seconds``; walrus and plain batches alternate. On the server backend
one more, untimed, call counts the commands and the round trips the
operation costs (:func:`walrus.testing.count_round_trips`).
"""

from __future__ import annotations

import itertools
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import redis

import walrus
from walrus.testing import count_round_trips

__all__ = [
    "FULL",
    "QUICK",
    "Backend",
    "Counts",
    "Operation",
    "Result",
    "Settings",
    "Workload",
    "calibrate",
    "format_table",
    "measure",
    "ops_per_second",
    "plain_command",
    "rlite_backend",
    "server_backend",
]

Operation = Callable[[], object]


@dataclass(frozen=True)
class Workload:
    """One operation to time on walrus and, optionally, on a plain client."""

    name: str
    setup: Callable[[Any], None]
    walrus: Callable[[Any], Operation]
    plain: Callable[[Any], Operation] | None = None


def plain_command(client: Any) -> Callable[..., Any]:
    """``command(*args)`` on a plain client: redis-py's or stock hirlite's."""
    if isinstance(client, redis.Redis):
        return client.execute_command
    return client.command  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Backend:
    """Where workloads run: fresh walrus databases and plain clients over them."""

    name: str
    open_walrus: Callable[[], Any]  # an empty walrus database
    open_plain: Callable[[Any], Any]  # a plain client holding this db's data
    server: bool  # commands and round trips can be counted


def server_backend(connection: dict[str, Any]) -> Backend:
    """The Redis backend: ``walrus.Database`` and ``redis.Redis`` on one server."""

    def open_walrus() -> Any:
        db = walrus.Database(**connection)
        db.flushdb()
        return db

    return Backend("redis", open_walrus, lambda db: redis.Redis(**connection), True)


def rlite_backend(name: str, directory: Path | None) -> Backend:
    """An rlite backend: in memory, or fresh files in ``directory``."""
    import hirlite

    from walrus.tusks.rlite import WalrusLite

    numbers = itertools.count()

    def path() -> str:
        if directory is None:
            return ":memory:"
        return str(directory / f"{name}-{next(numbers)}.rld")

    def open_plain(db: Any) -> Any:
        client = hirlite.Rlite(path=path())
        _copy_into(db, client)
        return client

    return Backend(name, lambda: WalrusLite(path()), open_plain, False)


def _copy_into(db: Any, client: Any) -> None:
    """Copy every key of walrus ``db`` into a fresh stock hirlite handle."""
    client.command("MULTI")
    for key in db:
        payload, ttl = db.dump(key), db.pttl(key)
        if payload is not None:
            client.command("RESTORE", key, str(max(ttl, 0)), payload)
    client.command("EXEC")


@dataclass(frozen=True)
class Settings:
    """How long to time: a batch lasts ``batch_seconds``; ``repeats`` batches."""

    batch_seconds: float
    repeats: int


QUICK = Settings(batch_seconds=0.02, repeats=3)
FULL = Settings(batch_seconds=0.2, repeats=7)


def _batch(operation: Operation, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        operation()
    return time.perf_counter() - start


def calibrate(operation: Operation, settings: Settings) -> int:
    """How many calls make a batch of ``settings.batch_seconds`` (after a warm-up)."""
    n, elapsed = 1, _batch(operation, 1)
    while elapsed < settings.batch_seconds:
        estimate = settings.batch_seconds / max(elapsed, 1e-9) * n
        n = min(n * 10, max(n * 2, math.ceil(estimate)))
        elapsed = _batch(operation, n)
    return n


def ops_per_second(operations: Sequence[Operation], settings: Settings) -> list[float]:
    """Each operation's median rate over ``settings.repeats`` batches.

    The operations' batches alternate, so a slow spell of the machine slows
    all of them alike and their ratio stays meaningful.
    """
    sizes = [calibrate(operation, settings) for operation in operations]
    times: list[list[float]] = [[] for _ in operations]
    for _ in range(settings.repeats):
        for operation, n, samples in zip(operations, sizes, times, strict=True):
            samples.append(_batch(operation, n))
    return [n / statistics.median(t) for n, t in zip(sizes, times, strict=True)]


class Counts(NamedTuple):
    """What one operation sent to the server."""

    commands: int
    round_trips: int


class Result(NamedTuple):
    """One table row."""

    workload: str
    backend: str
    walrus: float  # ops/s
    plain: float | None  # ops/s
    counts: Counts | None  # per walrus operation, server backend only


def measure(workload: Workload, backend: Backend, settings: Settings) -> Result:
    """Time ``workload`` on ``backend``, walrus and the plain client alternately."""
    db = backend.open_walrus()
    client = None
    try:
        workload.setup(db)
        operations = [workload.walrus(db)]
        if workload.plain is not None:
            client = backend.open_plain(db)
            operations.append(workload.plain(client))
        rates = ops_per_second(operations, settings)
        counts = None
        if backend.server:
            with count_round_trips() as sent:
                operations[0]()
            counts = Counts(sent.commands, sent.round_trips)
    finally:
        db.close()
        if isinstance(client, redis.Redis):
            client.close()
    plain = rates[1] if len(rates) > 1 else None
    return Result(workload.name, backend.name, rates[0], plain, counts)


HEADERS = (
    "workload",
    "backend",
    "walrus ops/s",
    "plain ops/s",
    "walrus/plain",
    "commands/op",
    "round trips/op",
)


def _rate(ops: float) -> str:
    return f"{ops:,.0f}" if ops >= 100 else f"{ops:.3g}"


def _row(result: Result) -> tuple[str, ...]:
    plain = ratio = commands = trips = "-"
    if result.plain is not None:
        plain = _rate(result.plain)
        ratio = f"{result.walrus / result.plain:.2f}"
    if result.counts is not None:
        commands, trips = (str(n) for n in result.counts)
    walrus = _rate(result.walrus)
    return (result.workload, result.backend, walrus, plain, ratio, commands, trips)


def format_table(results: Sequence[Result]) -> str:
    """A Markdown table; ``walrus/plain`` is the speed ratio (1.00 = as fast)."""
    rows = [HEADERS, *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * w if i < 2 else "-" * (w - 1) + ":" for i, w in enumerate(widths)]
    return "\n".join([line(rows[0]), line(rule), *(line(r) for r in rows[1:])])
