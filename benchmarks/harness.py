"""Time walrus operations against the same work done with a plain client.

A :class:`Workload` names an operation and says how to prepare data for it:

* ``setup(db)`` writes the data into an empty walrus database;
* ``walrus(db)`` returns the zero-argument operation to time, on that database;
* ``plain(client)`` (optional) returns the equivalent minimal work done with
  the backend's plain client on the same data.

The plain client is a ``redis.Redis`` on the same server for the Redis
backend, a stock ``hirlite.Rlite`` for the rlite backends and a stock
``vedis.Vedis`` for the Vedis backends. :func:`plain_command` gives a
``command(*args)`` function for each. Stock hirlite kills the interpreter on
any error reply (Python 3.10+), so a plain operation must only send commands
that succeed. Vedis lacks most of Redis's commands: where a plain operation
fails on it, the row has no plain column.

How the plain client gets its data: ``setup`` runs once, on a fresh walrus
database. On the server the plain client works on the keys ``setup`` wrote,
the same keys as walrus. An rlite handle cannot be shared with a stock
client, so on a file the plain client opens a copy of walrus's file, and in
memory ``setup`` runs a second time, on a fresh walrus database whose
engine reports each write (rlite's write hook), and those writes are run
again on the plain client's own handle, in the same order: rlite reads a
value faster when it was written in its own order (HGETALL of 10,000 fields
about twice as fast after DUMP and RESTORE or an HMSET of the fields in the
order rlite lists them), so only the same writes give the same data. The
Vedis backends rebuild the strings, hashes, sets and lists with Vedis's own
commands (it has no sorted sets). Either way an operation runs thousands of
times on its data: make it steady-state (what it adds, it removes or
overwrites).

Each side is timed as the median of ``repeats`` batches, a batch being the
operation called ``n`` times, ``n`` calibrated so a batch lasts about
``batch_seconds``; walrus and plain batches alternate. On the server backend
one more, untimed, call counts the commands and the round trips the
operation costs (:func:`walrus.testing.count_round_trips`).

Timing starts on a settled heap (:func:`settled_heap`): a full garbage
collection that lands in a batch then scans what the batch allocates, not
the setup's data, so a side is not charged for the size of the benchmark's
own heap (unsettled, a 2-million-object setup made one side of a pair read
0.7x on one run and 0.9x on the next).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import math
import os
import shutil
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import redis

import walrus

try:
    from redis.cluster import RedisCluster
except ImportError:  # redis-py 3.5, walrus 0.9.7's (benchmarks/original.py)
    RedisCluster = None

SERVER_CLIENTS: tuple[type, ...] = (redis.Redis,) + (
    () if RedisCluster is None else (RedisCluster,)
)

__all__ = [
    "FULL",
    "QUICK",
    "Backend",
    "Counts",
    "Operation",
    "Original",
    "Result",
    "Settings",
    "Workload",
    "calibrate",
    "cluster_backend",
    "format_table",
    "group_key",
    "is_server_client",
    "markdown_table",
    "measure",
    "next_batch_size",
    "ops_per_second",
    "plain_command",
    "rlite_backend",
    "server_backend",
    "vedis_backend",
    "versus_original",
]

Operation = Callable[[], object]
Setup = Callable[[Any], None]


@dataclass(frozen=True)
class Workload:
    """One operation to time on walrus and, optionally, on a plain client."""

    name: str
    setup: Setup
    walrus: Callable[[Any], Operation]
    plain: Callable[[Any], Operation] | None = None
    quick: bool = True  # part of --quick (False: a long setup, full runs only)
    # False: the plain operation reads keys only this walrus lays out, so on
    # walrus 0.9's data it does no work; walrus/0.9 then compares raw rates
    plain_on_original: bool = True


def is_server_client(client: Any) -> bool:
    """Whether ``client`` is redis-py's, standalone or cluster (not an engine's)."""
    return isinstance(client, SERVER_CLIENTS)


def group_key(client: Any, base: str, suffix: str = "") -> str:
    """The name walrus gives a key of group ``base``: hash-tagged ``{base}suffix``
    on a cluster (walrus/keys.py), ``base + suffix`` everywhere else.

    ``client`` is a plain client or a walrus database (``ClusterDatabase`` is a
    ``RedisCluster``): workloads also name their own multi-key data with it.
    """
    if RedisCluster is not None and isinstance(client, RedisCluster):
        return f"{{{base}}}{suffix}"
    return base + suffix


def plain_command(client: Any) -> Callable[..., Any]:
    """``command(*args)`` on a plain client: redis-py's, hirlite's or vedis's."""
    if is_server_client(client):
        return client.execute_command
    if hasattr(client, "command"):  # hirlite
        return client.command  # type: ignore[no-any-return]

    def vedis_command(name: str, *args: Any) -> Any:
        template = " ".join([name, *["%s"] * len(args)])
        return client.execute(template, tuple(str(a) for a in args))

    return vedis_command


@dataclass(frozen=True)
class Backend:
    """Where workloads run: fresh walrus databases and plain clients over them."""

    name: str
    open_walrus: Callable[[], Any]  # an empty walrus database
    # a plain client holding the data ``setup`` wrote in this walrus database
    open_plain: Callable[[Any, Setup], Any]
    server: bool  # commands and round trips can be counted


def server_backend(connection: dict[str, Any]) -> Backend:
    """The Redis backend: ``walrus.Database`` and ``redis.Redis`` on one server."""

    def open_walrus() -> Any:
        db = walrus.Database(**connection)
        db.flushdb()
        return db

    def open_plain(db: Any, setup: Setup) -> Any:
        return redis.Redis(**connection)

    return Backend("redis", open_walrus, open_plain, True)


def cluster_backend(startup_nodes: list[Any], flush: Callable[[], None]) -> Backend:
    """The cluster backend: ``walrus.ClusterDatabase`` and ``RedisCluster`` on one
    cluster; ``flush`` empties every primary before each workload."""

    def open_walrus() -> Any:
        flush()
        return walrus.ClusterDatabase(startup_nodes=startup_nodes)

    def open_plain(db: Any, setup: Setup) -> Any:
        return RedisCluster(startup_nodes=startup_nodes)

    return Backend("cluster", open_walrus, open_plain, True)


def rlite_backend(name: str, directory: Path | None) -> Backend:
    """An rlite backend: in memory, or fresh files in ``directory``."""
    import hirlite

    from walrus.tusks.rlite import WalrusLite

    numbers = itertools.count()

    def path() -> str:
        if directory is None:
            return ":memory:"
        return str(directory / f"{name}-{os.getpid()}-{next(numbers)}.rld")

    def open_plain(db: Any, setup: Setup) -> Any:
        stock = getattr(db, "_db", None)  # walrus 0.9.7 keeps its data in a
        if stock is not None and hasattr(stock, "command"):  # stock hirlite handle
            return stock
        if directory is not None:
            copy = path()
            shutil.copyfile(db._core.engine.path, copy)
            return hirlite.Rlite(path=copy)
        client = hirlite.Rlite(path=":memory:")
        _replay(_writes_of(setup), client)
        return client

    return Backend(name, lambda: WalrusLite(path()), open_plain, False)


def _writes_of(setup: Setup) -> list[tuple[int, list[bytes]]]:
    """The write commands rlite runs while ``setup`` fills a fresh walrus
    database in memory, as ``(database number, command)``, in order (rlite's
    write hook reports each command that changed something)."""
    import ctypes

    from walrus.drivers.rlite.native import WRITE_HOOK
    from walrus.tusks.rlite import WalrusLite

    writes: list[tuple[int, list[bytes]]] = []

    def written(dbid: int, argc: int, argv: Any, lengths: Any) -> None:
        starts = ctypes.cast(argv, ctypes.POINTER(ctypes.c_void_p))  # not C strings
        writes.append(
            (dbid, [ctypes.string_at(starts[i], lengths[i]) for i in range(argc)])
        )

    hook = WRITE_HOOK(written)
    db = WalrusLite(":memory:")
    engine: Any = db._core.engine
    context = engine._context
    context.writeCommand = ctypes.cast(hook, ctypes.c_void_p).value
    try:
        setup(db)
    finally:
        context.writeCommand = None
        db.close()
    return writes


def _replay(writes: list[tuple[int, list[bytes]]], client: Any) -> None:
    """Run ``writes`` on a stock hirlite handle (each succeeded on the same
    data, so none answers an error, which would kill the interpreter)."""
    selected = 0
    for dbid, command in writes:
        if dbid != selected:
            client.command("SELECT", str(dbid))
            selected = dbid
        client.command(*command)
    if selected:
        client.command("SELECT", "0")


def vedis_backend(name: str, directory: Path | None) -> Backend:
    """A Vedis backend: in memory, or fresh files in ``directory``."""
    import vedis

    from walrus.tusks.vedisdb import WalrusVedis

    numbers = itertools.count()

    def path() -> str:
        if directory is None:
            return ":memory:"
        return str(directory / f"{name}-{os.getpid()}-{next(numbers)}.vdb")

    def open_plain(db: Any, setup: Setup) -> Any:
        client = vedis.Vedis(path())
        _rebuild_in_vedis(db, client)
        return client

    return Backend(name, lambda: WalrusVedis(path()), open_plain, False)


def _rebuild_in_vedis(db: Any, client: Any) -> None:
    """Write ``db``'s strings, hashes, sets and lists with Vedis's own commands."""
    for key in db:
        kind = db.type(key)
        if kind == b"string":
            client.set(key, db.get(key))
        elif kind == b"hash":
            client.hmset(key, db.hgetall(key))
        elif kind == b"set":
            client.smadd(key, list(db.smembers(key)))
        elif kind == b"list":
            client.lmpush(key, db.lrange(key, 0, -1))
    client.commit()


@dataclass(frozen=True)
class Settings:
    """How long to time: a batch lasts ``batch_seconds``; ``repeats`` batches."""

    batch_seconds: float
    repeats: int


QUICK = Settings(batch_seconds=0.02, repeats=4)  # even: each side first as often
FULL = Settings(batch_seconds=0.2, repeats=8)


def _batch(operation: Operation, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        operation()
    return time.perf_counter() - start


def calibrate(operation: Operation, settings: Settings) -> int:
    """How many calls make a batch of ``settings.batch_seconds`` (after a warm-up)."""
    n, elapsed = 1, _batch(operation, 1)
    while elapsed < settings.batch_seconds:
        n = next_batch_size(n, elapsed, settings)
        elapsed = _batch(operation, n)
    return n


def next_batch_size(n: int, elapsed: float, settings: Settings) -> int:
    """The next try at a batch of ``settings.batch_seconds``, after ``n``
    calls took ``elapsed`` seconds: the estimate, between 2n and 10n."""
    estimate = settings.batch_seconds / max(elapsed, 1e-9) * n
    return min(n * 10, max(n * 2, math.ceil(estimate)))


@contextlib.contextmanager
def settled_heap() -> Iterator[None]:
    """Collect garbage, then keep what is alive out of the collector's scans
    (``gc.freeze``) until the block ends."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def ops_per_second(operations: Sequence[Operation], settings: Settings) -> list[float]:
    """Each operation's median rate over ``settings.repeats`` batches.

    The operations' batches alternate, so a slow spell of the machine slows
    all of them alike and their ratio stays meaningful; each repeat reverses
    the order of the last one, so none of them always runs first (the first
    of a pair measured a few percent slower here).
    """
    with settled_heap():
        sizes = [calibrate(operation, settings) for operation in operations]
        times: list[list[float]] = [[] for _ in operations]
        order = list(range(len(operations)))
        for _ in range(settings.repeats):
            for index in order:
                times[index].append(_batch(operations[index], sizes[index]))
            order.reverse()
    return [n / statistics.median(t) for n, t in zip(sizes, times, strict=True)]


class Counts(NamedTuple):
    """What one operation sent to the server."""

    commands: int
    round_trips: int


# walrus 0.9's (ops/s, its run's plain ops/s or None), or why it has no rate
Original = tuple[float, float | None] | str


class Result(NamedTuple):
    """One table row."""

    workload: str
    backend: str
    walrus: float  # ops/s
    plain: float | None  # ops/s
    counts: Counts | None  # per walrus operation, server backend only
    original: Original | None = None  # walrus 0.9's run, or why it has none


def measure(workload: Workload, backend: Backend, settings: Settings) -> Result:
    """Time ``workload`` on ``backend``, walrus and the plain client alternately."""
    db = backend.open_walrus()
    client = None
    try:
        workload.setup(db)
        operations = [workload.walrus(db)]
        if workload.plain is not None:
            client = backend.open_plain(db, workload.setup)
            operations.extend(_working(workload.plain, client))
        rates = ops_per_second(operations, settings)
        counts = None
        if backend.server:
            from walrus.testing import count_round_trips  # walrus 0.9 has none

            with count_round_trips() as sent:
                operations[0]()
            counts = Counts(sent.commands, sent.round_trips)
    finally:
        with contextlib.suppress(AttributeError):  # walrus 0.9.7's WalrusLite
            db.close()
        if client is not None and (
            is_server_client(client) or not hasattr(client, "command")
        ):
            client.close()  # redis-py or vedis; closing stock hirlite crashes
    plain = rates[1] if len(rates) > 1 else None
    return Result(workload.name, backend.name, rates[0], plain, counts)


def _working(plain: Callable[[Any], Operation], client: Any) -> list[Operation]:
    """``[operation]``, or ``[]`` where the plain client cannot do the work."""
    try:
        operation = plain(client)
        operation()
    except Exception:
        return []
    return [operation]


HEADERS = (
    "workload",
    "backend",
    "walrus ops/s",
    "plain ops/s",
    "walrus/plain",
    "commands/op",
    "round trips/op",
    "0.9 ops/s",
    "walrus/0.9",
)


def _rate(ops: float) -> str:
    return f"{ops:,.0f}" if ops >= 100 else f"{ops:.3g}"


def _row(result: Result) -> tuple[str, ...]:
    plain = ratio = commands = trips = original = versus = "-"
    if result.plain is not None:
        plain = _rate(result.plain)
        ratio = f"{result.walrus / result.plain:.2f}"
    if result.counts is not None:
        commands, trips = (str(n) for n in result.counts)
    if isinstance(result.original, tuple):
        original = _rate(result.original[0])
        versus = f"{versus_original(result):.2f}"
    elif isinstance(result.original, str):
        original = "fails"  # the reasons are listed under the table
    walrus = _rate(result.walrus)
    return (
        result.workload,
        result.backend,
        walrus,
        plain,
        ratio,
        commands,
        trips,
        original,
        versus,
    )


def versus_original(result: Result) -> float:
    """walrus's speed over walrus 0.9's, each against its own run's plain client.

    The two runs happen at different moments of a shared machine; dividing
    each by the plain client's rate in the same run cancels the drift. Raw
    rates are compared where a workload has no plain operation.
    """
    assert isinstance(result.original, tuple)
    original, original_plain = result.original
    if result.plain and original_plain:
        return (result.walrus / result.plain) / (original / original_plain)
    return result.walrus / original


def format_table(results: Sequence[Result]) -> str:
    """A Markdown table; ``walrus/plain`` is the speed ratio (1.00 = as fast)."""
    return markdown_table(HEADERS, [_row(r) for r in results])


def markdown_table(
    headers: Sequence[str], body: Sequence[Sequence[str]], left: int = 2
) -> str:
    """``headers`` and ``body`` as a Markdown table: the first ``left``
    columns aligned left, the others (numbers) right."""
    rows = [headers, *body]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * w if i < left else "-" * (w - 1) + ":" for i, w in enumerate(widths)]
    return "\n".join([line(rows[0]), line(rule), *(line(r) for r in rows[1:])])
