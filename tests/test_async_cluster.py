"""walrus.asyncio.AsyncClusterDatabase on a real 3+3 Valkey cluster.

The async twin of tests/test_cluster.py's driver tests: opening it, walrus's
errors (CrossSlot with a hint, UnsupportedOperation for keyless commands),
transactions by default in one slot, plain pipelines across slots, per-slot
key commands, named operations, keyspace-wide commands, MONITOR on every
primary, round trips, and writes never sent twice.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
from async_support import run_async
from cluster import CLUSTER, ClusterProcess
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode

from walrus.asyncio.cluster import AsyncClusterDatabase, AsyncClusterDatabasePipeline
from walrus.asyncio.server import AsyncNoResendRetry
from walrus.drivers.server.database import SERVER_CAPABILITIES
from walrus.exceptions import (
    CommandError,
    CrossSlot,
    InvalidType,
    InvalidValue,
    OutcomeUnknown,
    ScriptNotFound,
    UnsupportedOperation,
    WrongType,
)
from walrus.testing import count_round_trips


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[ClusterProcess]:
    """The session's cluster when the cluster backend runs, else one for this module."""
    if CLUSTER:
        yield request.getfixturevalue("servers")["cluster"]
        return
    started = ClusterProcess().start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(params=[False, True], ids=["bytes", "decoded"])
def decode(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


class Opened:
    """Async cluster databases of one test, flushed and closed at its end."""

    def __init__(self, cluster: ClusterProcess, decode: bool) -> None:
        self.cluster = cluster
        self.decode = decode
        self.opened: list[AsyncClusterDatabase] = []

    async def __call__(self, **kwargs: Any) -> AsyncClusterDatabase:
        kwargs.setdefault("decode_responses", self.decode)
        db = AsyncClusterDatabase(startup_nodes=self.cluster.startup_nodes, **kwargs)
        if not self.opened:
            await db.flushdb()
        self.opened.append(db)
        return db

    def text(self, value: str) -> Any:
        return value if self.decode else value.encode()

    async def close(self) -> None:
        """Flush and close what the test opened (again: a no-op)."""
        opened, self.opened = self.opened, []
        if opened:
            await opened[0].flushdb()
        for db in opened:
            await db.aclose()

    close_after_test = close  # run_async's hook: also when the test failed


@pytest.fixture
def cdb(cluster: ClusterProcess, decode: bool) -> Opened:
    return Opened(cluster, decode)


async def keys_on_every_primary(db: Any) -> list[str]:
    """One key owned by each primary."""
    if db._initialize:
        await db.initialize()
    found: dict[str, str] = {}
    n = 0
    while len(found) < 3:
        key = f"key-{n}"
        found.setdefault(db.get_node_from_key(key).name, key)
        n += 1
    return list(found.values())


# -- opening it ------------------------------------------------------------------------
@run_async
async def test_ways_to_open_it(cluster: ClusterProcess) -> None:
    port = cluster.nodes[0].port
    for db in (
        AsyncClusterDatabase(startup_nodes=cluster.startup_nodes),
        AsyncClusterDatabase(startup_nodes=[AsyncClusterNode("127.0.0.1", port)]),
        AsyncClusterDatabase(startup_nodes=[f"127.0.0.1:{port}"]),
        AsyncClusterDatabase(startup_nodes=[("127.0.0.1", port)]),
        AsyncClusterDatabase(startup_nodes=[{"host": "127.0.0.1", "port": port}]),
        AsyncClusterDatabase(host="127.0.0.1", port=port),
        AsyncClusterDatabase.from_url(cluster.url),
        AsyncClusterDatabase.from_url(cluster.url + "/0"),
    ):
        assert isinstance(db, redis.asyncio.RedisCluster)
        assert db.keyspace.cluster and db.backend_name == "cluster"
        assert db.keyspace.group("m").key("row") == "{m}:row"
        assert db.capabilities == SERVER_CAPABILITIES
        assert isinstance(db.retry, AsyncNoResendRetry)
        async with db:
            await db.set("{t}open", "1")
            assert await db.get("{t}open") == b"1"
            assert len(db.get_primaries()) == 3
            await db.delete("{t}open")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, InvalidValue),
        ({"startup_nodes": ["no-port"]}, InvalidValue),
        ({"startup_nodes": [3]}, InvalidType),
        ({"host": "127.0.0.1", "db": 1}, InvalidValue),
        ({"host": "127.0.0.1", "unix_socket_path": "/tmp/x.sock"}, InvalidValue),
        ({"host": "127.0.0.1", "topology_refresh_min_interval": -1}, InvalidValue),
    ],
)
def test_bad_arguments_are_walrus_errors(kwargs: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        AsyncClusterDatabase(**kwargs)


@pytest.mark.parametrize("url", ["memory://", "unix:///tmp/x.sock", "rlite://x.rld"])
def test_from_url_takes_server_urls_only(url: str) -> None:
    with pytest.raises(InvalidValue, match="redis://"):
        AsyncClusterDatabase.from_url(url)


# -- errors ----------------------------------------------------------------------------
@run_async
async def test_cross_slot_use_raises_walrus_errors_and_writes_nothing(
    cdb: Opened,
) -> None:
    db = await cdb()
    a, b, c = await keys_on_every_primary(db)
    await db.sadd(a, "x")
    with pytest.raises(CrossSlot, match="hash tag"):
        await db.sunionstore(c, [a, b])
    with pytest.raises(CrossSlot, match="hash tag"):
        await db.eval("return redis.call('SET', KEYS[2], 1)", 2, a, b)
    with pytest.raises(CrossSlot, match="hash tag"):
        await db.execute_command("RENAME", a, b)
    pipe = db.pipeline()  # a transaction by default
    pipe.set(b, 1)
    pipe.set(c, 1)
    with pytest.raises(CrossSlot, match="hash tag"):
        await pipe.execute()
    assert await db.exists(b) == 0 and await db.exists(c) == 0
    await cdb.close()


@run_async
async def test_error_replies_are_walrus_exceptions(cdb: Opened) -> None:
    db = await cdb(protocol=2)
    for key in await keys_on_every_primary(db):
        await db.set(key, "v")
        with pytest.raises(WrongType):
            await db.lpush(key, "x")
    with pytest.raises(ScriptNotFound):
        await db.evalsha("0" * 40, 1, "k")
    pipe = db.pipeline(transaction=False)
    pipe.get("k").lpush(key, "x")
    replies = await pipe.execute(raise_on_error=False)
    assert replies[0] is None and isinstance(replies[1], WrongType)
    await cdb.close()


@run_async
async def test_keyless_commands_without_a_node_are_unsupported(cdb: Opened) -> None:
    db = await cdb()
    for word in ("MULTI", "EXEC", "DISCARD", "UNWATCH"):
        with pytest.raises(UnsupportedOperation, match=r"db\.atomic\(\)"):
            await db.execute_command(word)
    with pytest.raises(CommandError, match="unknown command"):
        await db.execute_command("NO-SUCH-COMMAND")
    with pytest.raises(CommandError, match="wrong number of arguments"):
        await db.execute_command("GET")
    with pytest.raises(UnsupportedOperation, match="target_nodes"):
        await db.execute_command("ROLE")
    assert await db.execute_command("ROLE", target_nodes=db.get_primaries()[0])
    await cdb.close()


# -- pipelines, key commands, scripts --------------------------------------------------
@run_async
async def test_a_transaction_in_one_slot_is_one_round_trip(cdb: Opened) -> None:
    db = await cdb()
    group = db.keyspace.group("tx")
    pipe = db.pipeline()
    assert isinstance(pipe, AsyncClusterDatabasePipeline)
    pipe.get(group.key("n"))  # warms the connection to the slot's node
    await pipe.execute()
    with count_round_trips() as sent:
        pipe = db.pipeline()
        assert pipe.set(group.key("n"), 1) is pipe  # queued
        pipe.incr(group.key("n")).hset(group.key("h"), "f", "v")
        pipe.hgetall(group.key("h"))
        replies = await pipe.execute()
    assert (sent.round_trips, sent.commands) == (1, 6)  # MULTI ... EXEC
    assert replies == [True, 2, 1, {cdb.text("f"): cdb.text("v")}]
    with count_round_trips() as sent:
        pipe = db.pipeline(transaction=False)
        pipe.incr(group.key("n")).get(group.key("n"))
        assert await pipe.execute() == [3, cdb.text("3")]
    assert (sent.round_trips, sent.commands) == (1, 2)
    await cdb.close()


@run_async
async def test_queueing_in_a_transaction_starts_no_thread(cdb: Opened) -> None:
    """redis.asyncio finds a queued command's slot in a new thread, blocking
    the event loop meanwhile; commands whose keys are at fixed places and
    scripts are queued at once (others still take redis.asyncio's way)."""
    db = await cdb()
    group = db.keyspace.group("q")
    await db.ping()
    started: list[threading.Thread] = []
    start = threading.Thread.start

    def counted(thread: threading.Thread) -> None:
        started.append(thread)
        start(thread)

    threading.Thread.start = counted  # type: ignore[method-assign]
    try:
        pipe = db.pipeline()
        pipe.set(group.key("a"), 1).hset(group.key("h"), "f", "v")
        pipe.eval("return redis.call('INCR', KEYS[1])", 1, group.key("a"))
        assert started == []
        pipe.eval("return 1", 0)  # no key: redis.asyncio's way
        pipe.xread({group.key("s"): 0})  # keys found by their place after STREAMS
    finally:
        threading.Thread.start = start  # type: ignore[method-assign]
    assert await pipe.execute() == [True, 1, 2, 1, []]
    await cdb.close()


@run_async
async def test_keys_found_from_arguments_cost_no_round_trip(cdb: Opened) -> None:
    """XREAD, XREADGROUP and SORT: redis.asyncio would ask a node for their
    keys (COMMAND GETKEYS) before sending them."""
    db = await cdb()
    group = db.keyspace.group("f")
    stream, items = group.key("s"), group.key("l")
    await db.xadd(stream, {"a": 1}, id="1-1")
    await db.xgroup_create(stream, "g", id="0")
    await db.rpush(items, 3, 1, 2)
    replies = []
    for call in (
        lambda: db.sort(items),
        lambda: db.sort(items, store=group.key("sorted")),
        lambda: db.xread({stream: 0}),
        lambda: db.xreadgroup("g", "c", {stream: ">"}),
    ):
        with count_round_trips() as sent:
            replies.append(await call())
        assert sent.round_trips == 1
    assert replies[0] == [cdb.text("1"), cdb.text("2"), cdb.text("3")]
    assert replies[1] == 3
    for reply in replies[2:]:  # one entry of one stream
        assert str(reply).count("1-1") == 1
    a, b, _ = await keys_on_every_primary(db)
    with pytest.raises(CrossSlot, match="hash tag"):
        await db.xread({a: 0, b: 0})
    await cdb.close()


@run_async
async def test_a_plain_pipeline_spans_slots(cdb: Opened) -> None:
    db = await cdb()
    keys = await keys_on_every_primary(db)
    pipe = db.pipeline(transaction=False)
    for n, key in enumerate(keys):
        pipe.set(key, n)
    for key in keys:
        pipe.incr(key)
    assert await pipe.execute() == [True] * 3 + [1, 2, 3]
    await cdb.close()


@run_async
async def test_key_commands_of_several_slots_run_per_slot(cdb: Opened) -> None:
    db = await cdb()
    keys = await keys_on_every_primary(db)
    await db.mset_nonatomic({key: n for n, key in enumerate(keys)})
    assert await db.mget_nonatomic(keys) == [cdb.text(str(n)) for n in range(3)]
    assert await db.exists(*keys) == 3 and await db.touch(*keys) == 3
    tag = db.keyspace.group("d")
    await db.set(tag.key("a"), 1)
    await db.set(tag.key("b"), 1)
    with count_round_trips() as sent:
        assert await db.delete(tag.key("a"), tag.key("b"), tag.key("c")) == 2
    assert (sent.round_trips, sent.commands) == (1, 1)  # no MULTI around it
    assert await db.delete(keys[0], keys[1]) == 2
    assert await db.unlink(*keys) == 1
    assert await db.exists(*keys) == 0
    await cdb.close()


@run_async
async def test_watch_in_one_slot(cdb: Opened) -> None:
    db = await cdb()
    key = db.keyspace.group("w").key("n")
    await db.set(key, 1)
    async with db.pipeline() as pipe:
        await pipe.watch(key)
        other = await cdb()
        await other.set(key, 5)
        pipe.multi()
        pipe.incr(key)
        with pytest.raises(redis.WatchError):
            await pipe.execute()
    await cdb.close()


@run_async
async def test_named_operations_run_on_the_owner_of_their_keys(cdb: Opened) -> None:
    db = await cdb()
    keys = await keys_on_every_primary(db)
    await db.run_named_operation("cas", [keys[0]], ["x", "y"])  # loaded on first use
    for key in keys:
        await db.set(key, "old")
        with count_round_trips() as sent:
            assert await db.run_named_operation("cas", [key], ["old", "new"]) == 1
        assert sent.round_trips == 1
        assert await db.get(key) == cdb.text("new")
    pipe = db.pipeline(transaction=False)
    for key in keys:
        queued = await db.run_named_operation("cas", [key], ["new", "newer"], pipe)
        assert queued is pipe
    assert await pipe.execute() == [1, 1, 1]
    key = db.keyspace.group("s").key("a")
    await db.set(key, "x")
    pipe = db.pipeline()
    await db.run_named_operation("cas", [key], ["x", "y"], client=pipe)
    pipe.get(key)
    assert await pipe.execute() == [1, cdb.text("y")]
    await db.script_flush()  # every node forgets it: NOSCRIPT, then SCRIPT LOAD
    assert await db.run_named_operation("cas", [key], ["y", "z"]) == 1
    await cdb.close()


# -- the keyspace ----------------------------------------------------------------------
@run_async
async def test_keyspace_wide_commands_cover_every_primary(cdb: Opened) -> None:
    db = await cdb()
    keys = [f"spread-{n}" for n in range(30)]
    for key in keys:
        await db.set(key, 1)
    assert len({db.get_node_from_key(k).name for k in keys}) == 3
    assert await db.ping() is True
    assert await db.dbsize() == 30
    assert len(await db.keys()) == 30 and len(await db.keys("spread-1*")) == 11
    assert len([k async for k in db.scan_iter()]) == 30
    await db.flushdb()
    assert await db.dbsize() == 0
    await cdb.close()


@run_async
async def test_monitor_lines_see_every_primary(cdb: Opened) -> None:
    db = await cdb()
    other = await cdb()
    keys = await keys_on_every_primary(db)
    lines = db.monitor_lines()
    first = asyncio.ensure_future(lines.__anext__())
    seen: list[str] = []
    async with asyncio.timeout(10):
        while not all(any(f"marker-{k}" in s for s in seen) for k in keys):
            for key in keys:
                await other.set(key, f"marker-{key}")
            if first.done() and not seen:
                seen.append(str(first.result()))
            elif seen:
                seen.append(str(await lines.__anext__()))
            else:
                await asyncio.sleep(0.02)
    await lines.aclose()
    await cdb.close()


@run_async
async def test_many_tasks_share_it(cdb: Opened) -> None:
    db = await cdb()
    key = db.keyspace.group("tasks").key("n")
    await asyncio.gather(*(db.incr(key) for _ in range(50)))
    assert await db.get(key) == cdb.text("50")
    await cdb.close()


# -- writes are sent once --------------------------------------------------------------
# INCR, then keep the node busy for ARGV[1] loop turns: the reply comes late
# (the write must be running when the client gives up: a paused client's
# write is dropped when it disconnects).
SLOW_INCR = """
local n = redis.call('INCR', KEYS[1])
local x = 0
for i = 1, tonumber(ARGV[1]) do x = x + i end
return n
"""
RESEND_WINDOW = 0.5  # seconds: a second send would have run by then


async def _lose_reply(
    db: Any, key: str, send: Callable[[int], Awaitable[Any]]
) -> tuple[int, OutcomeUnknown]:
    """Await ``send(turns)`` (a SLOW_INCR of ``key``) with twice the turns
    until its reply comes after the client's timeout: the value ``key`` then
    settles at, and the error. Each answered try took under the timeout, so
    the last takes at most about twice that: well inside the cluster's node
    timeout (a node busy for longer is failed over, losing the write)."""
    turns = 100_000
    while True:
        expected = int(await db.get(key)) + 1
        try:
            await send(turns)
        except OutcomeUnknown as error:
            return expected, error
        turns *= 2


async def _settled(db: Any, key: str, expected: int) -> int:
    """The key's value once it reached ``expected`` (the script ran) and a
    second send had time to run too."""
    deadline = time.monotonic() + 10
    while True:
        try:
            value = int(await db.get(key))
        except redis.RedisError:
            value = -1  # the node is still busy with the script
        if value >= expected or time.monotonic() > deadline:
            await asyncio.sleep(RESEND_WINDOW)
            return int(await db.get(key))
        await asyncio.sleep(0.05)


def _pipelined(db: Any, key: str, transaction: bool) -> Callable[[int], Awaitable[Any]]:
    async def send(turns: int) -> Any:
        pipe = db.pipeline(transaction=transaction)
        pipe.execute_command("EVAL", SLOW_INCR, 1, key, turns)
        return await pipe.execute()

    return send


@run_async
async def test_a_write_whose_reply_is_lost_is_not_sent_again(cdb: Opened) -> None:
    db = await cdb(socket_timeout=0.1)
    key = db.keyspace.group("once").key("n")
    await db.set(key, 0)
    sends = [
        lambda turns: db.eval(SLOW_INCR, 1, key, turns),
        _pipelined(db, key, transaction=True),
        _pipelined(db, key, transaction=False),
    ]
    for send in sends:
        expected, error = await _lose_reply(db, key, send)
        assert await _settled(db, key, expected) == expected  # ran once, not again
        assert "EVAL" in str(error)  # names the command it gave up on
    await cdb.close()


@run_async
async def test_reads_are_retried_through_a_pause(
    cdb: Opened, cluster: ClusterProcess
) -> None:
    db = await cdb(socket_timeout=0.3)
    key = db.keyspace.group("read").key("n")
    await db.set(key, "1")
    cluster.pause_owner(db, key, 500)
    assert await db.get(key) == cdb.text("1")
    await cdb.close()
