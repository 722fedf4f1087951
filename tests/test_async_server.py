"""walrus.asyncio.AsyncDatabase, the async server driver, on a real Valkey server.

The driver's own part: commands and their reply shapes (the sync driver of
the same server is the oracle), walrus's error classes through each of
redis.asyncio's parsers, pipelines (transactions by default), named
operations (EVALSHA, re-loaded after NOSCRIPT), MONITOR, ``from_url``, round
trips, and writes never sent twice (a server of the test's own, stalled and
killed: tests/faults.py). Each test runs its coroutine with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
from async_support import run_async
from faults import LOST_WRITES, SOCKET_TIMEOUT, FaultyServer
from redis._parsers import _AsyncHiredisParser, _AsyncRESP2Parser, _AsyncRESP3Parser
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from support import free_port

import walrus
from walrus.asyncio.server import (
    AsyncDatabase,
    AsyncGuardedPipeline,
    AsyncNoResendRetry,
    guarded,
)
from walrus.drivers.server.database import SERVER_CAPABILITIES
from walrus.drivers.server.resend import refuses_unknown
from walrus.exceptions import (
    CommandError,
    InvalidValue,
    OutcomeUnknown,
    ScriptNotFound,
    TransactionDiscarded,
    WrongType,
)
from walrus.testing import count_round_trips

EXTERNAL = bool(os.environ.get("WALRUS_TEST_URL"))
ECHO = """-- KEYS[1] a key, ARGV[1] a value; returns the value and the key's
return {ARGV[1], redis.call('GET', KEYS[1])}
"""


@pytest.fixture
def server(servers: Any) -> dict[str, Any]:
    """How to reach the session's server (``url`` for WALRUS_TEST_URL)."""
    if EXTERNAL:
        return {"url": os.environ["WALRUS_TEST_URL"]}
    return dict(servers["valkey"].connection_kwargs)


def opener(server: dict[str, Any]) -> Callable[..., AsyncDatabase]:
    def open_db(**kwargs: Any) -> AsyncDatabase:
        if "url" in server:
            return AsyncDatabase.from_url(server["url"], **kwargs)
        return AsyncDatabase(**server, **kwargs)

    return open_db


def sync_db(server: dict[str, Any], **kwargs: Any) -> walrus.Database:
    if "url" in server:
        return walrus.Database.from_url(server["url"], **kwargs)
    return walrus.Database(**server, **kwargs)


@pytest.fixture(params=[False, True], ids=["bytes", "decoded"])
def decode(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def clean(server: dict[str, Any]) -> Iterator[None]:
    """The server's database empty before and after the test."""
    db = sync_db(server)
    db.flushdb()
    yield
    db.flushdb()
    db.close()


# -- commands: the sync driver is the oracle --------------------------------------
# (method, args) run in order on both drivers; every reply must be equal
SCRIPT = [
    ("set", ("s", "v")),
    ("get", ("s",)),
    ("mget", (["s", "nothing"],)),
    ("incrby", ("n", 5)),
    ("hset", ("h",), {"mapping": {"a": "1", "b": "2"}}),
    ("hgetall", ("h",)),
    ("hget", ("h", "a")),
    ("rpush", ("l", "x", "y", "z")),
    ("lrange", ("l", 0, -1)),
    ("sadd", ("st", "m")),
    ("smembers", ("st",)),
    ("zadd", ("z", {"a": 1.5, "b": 2})),
    ("zrange", ("z", 0, -1), {"withscores": True}),
    ("zscore", ("z", "a")),
    ("xadd", ("x", {"f": "v"}), {"id": "1-1"}),
    ("xrange", ("x",)),
    ("type", ("h",)),
    ("exists", ("s", "h", "nothing")),
    ("delete", ("s", "nothing")),
    ("ttl", ("n",)),
]


@pytest.mark.parametrize("protocol", [2, 3])
@run_async
async def test_replies_are_shaped_as_the_sync_driver_shapes_them(
    server: dict[str, Any], clean: None, decode: bool, protocol: int
) -> None:
    sync = sync_db(server, decode_responses=decode, protocol=protocol)
    db = opener(server)(decode_responses=decode, protocol=protocol)
    async with db:
        expected, got = [], []
        for method, args, *options in SCRIPT:
            kwargs = options[0] if options else {}
            expected.append(getattr(sync, method)(*args, **kwargs))
        sync.flushdb()
        for method, args, *options in SCRIPT:
            kwargs = options[0] if options else {}
            got.append(await getattr(db, method)(*args, **kwargs))
    sync.close()
    assert got == expected
    assert got[1] == ("v" if decode else b"v")


@run_async
async def test_what_the_driver_is(server: dict[str, Any], clean: None) -> None:
    db = opener(server)()
    assert isinstance(db, redis.asyncio.Redis)
    assert db.backend_name == "redis"
    assert db.capabilities == SERVER_CAPABILITIES
    assert not db.get_encoder().decode_responses
    assert refuses_unknown(db.get_retry())
    async with db:
        assert await db.ping() is True
        await db.set("k", "v")
        assert [k async for k in db.scan_iter()] == [b"k"]
    assert db.connection_pool._in_use_connections == set()


@run_async
async def test_many_tasks_share_it(server: dict[str, Any], clean: None) -> None:
    db = opener(server)()
    await asyncio.gather(*(db.incr("n") for _ in range(50)))
    assert await db.get("n") == b"50"
    await db.aclose()


# -- error replies -----------------------------------------------------------------
# parser class given, and protocol (None: redis.asyncio's default, RESP3)
PARSERS: dict[str, tuple[Any, int | None]] = {
    "default": (None, None),
    "hiredis": (_AsyncHiredisParser, 2),
    "resp2": (_AsyncRESP2Parser, 2),
    "resp3": (_AsyncRESP3Parser, 3),
    "resp2-class-speaking-3": (_AsyncRESP2Parser, None),
    "resp3-class-speaking-2": (_AsyncRESP3Parser, 2),
}


@pytest.mark.parametrize("parser", list(PARSERS))
@run_async
async def test_error_replies_are_walrus_exceptions(
    server: dict[str, Any], clean: None, decode: bool, parser: str
) -> None:
    parser_class, protocol = PARSERS[parser]
    options: dict[str, Any] = {"decode_responses": decode}
    if parser_class is not None:
        options["parser_class"] = parser_class
    if protocol is not None:
        options["protocol"] = protocol
    if "url" in server:
        pool = redis.asyncio.ConnectionPool.from_url(server["url"], **options)
    else:
        pool = redis.asyncio.ConnectionPool(**server, **options)
    db = AsyncDatabase(connection_pool=pool)
    async with db:
        await db.rpush("l", "x")
        with pytest.raises(WrongType) as wrong:
            await db.get("l")
        assert isinstance(wrong.value, redis.ResponseError)
        with pytest.raises(CommandError, match="unknown command"):
            await db.execute_command("NO-SUCH-COMMAND")
        with pytest.raises(ScriptNotFound):
            await db.evalsha("0" * 40, 0)
        connection = await db.connection_pool.get_connection()
        try:
            assert type(connection._parser).__module__ == "walrus.asyncio.server"
        finally:
            await db.connection_pool.release(connection)
        pipe = db.pipeline(transaction=False)
        pipe.set("s", "v").get("l").get("s")
        replies = await pipe.execute(raise_on_error=False)
        assert isinstance(replies[1], WrongType)
        assert replies[2] == ("v" if decode else b"v")
        pipe = db.pipeline()
        pipe.set("t", "v").execute_command("SET", "only-a-key")  # refused while queued
        with pytest.raises(CommandError, match="wrong number of arguments") as bad:
            await pipe.execute()  # the command's error, as the sync driver raises it
        assert isinstance(bad.value.__context__, TransactionDiscarded)
        assert await db.exists("t") == 0  # nothing of it ran
    await pool.aclose()  # the database does not close a pool it was given


# -- pipelines -------------------------------------------------------------------------
@run_async
async def test_pipelines_queue_and_are_transactions_by_default(
    server: dict[str, Any], clean: None, decode: bool
) -> None:
    db = opener(server)(decode_responses=decode)
    async with db:
        await db.ping()  # connected: the handshake is not counted below
        pipe = db.pipeline()
        assert isinstance(pipe, AsyncGuardedPipeline) and pipe.is_transaction
        assert pipe.set("a", 1) is pipe  # queued, not awaitable work
        assert pipe.incr("a").hgetall("h") is pipe
        with count_round_trips() as sent:
            assert await pipe.execute() == [True, 2, {}]
        assert sent.round_trips == 1 and sent.commands == 5  # MULTI ... EXEC
        assert not db.pipeline(transaction=False).is_transaction
        pipe.set("b", 1)
        await pipe.reset()
        assert await pipe.execute() == []
        async with db.pipeline() as pipe:  # WATCH, then MULTI by hand
            await pipe.watch("a")
            value = await pipe.get("a")
            pipe.multi()
            pipe.set("a", int(value) + 1)
            assert await pipe.execute() == [True]
        assert int(await db.get("a")) == 3


@run_async
async def test_round_trips(server: dict[str, Any], clean: None) -> None:
    db = opener(server)()
    async with db:
        await asyncio.gather(db.ping(), db.ping())  # two connections open
        with count_round_trips() as sent:
            await db.set("k", "v")
            await db.get("k")
            await asyncio.gather(db.hset("h", "f", "v"), db.hget("h", "f"))
        assert (sent.round_trips, sent.commands) == (4, 4)


# -- named operations ----------------------------------------------------------------
@run_async
async def test_named_operation_is_evalsha_reloaded_after_noscript(
    server: dict[str, Any], clean: None, decode: bool, tmp_path: Path
) -> None:
    (tmp_path / "echo.lua").write_text(ECHO)
    db = opener(server)(decode_responses=decode, script_dir=str(tmp_path))
    async with db:
        await db.script_flush()
        await db.set("k", "v")
        v = "v" if decode else b"v"
        with count_round_trips() as first:
            assert await db.run_named_operation("echo", ["k"], ["hi"]) == [
                "hi" if decode else b"hi",
                v,
            ]
        assert first.round_trips == 3  # NOSCRIPT, SCRIPT LOAD, EVALSHA
        with count_round_trips() as again:
            assert (await db.run_named_operation("echo", ["k"], ["a"]))[1] == v
        assert again.round_trips == 1
        await db.script_flush()  # the server forgets it: reloaded
        assert (await db.run_named_operation("echo", ["k"], ["b"]))[1] == v
        # on a pipeline: queued (the pipeline is returned), loaded on execute
        pipe = db.pipeline()
        assert await db.run_named_operation("echo", ["k"], ["c"], client=pipe) is pipe
        pipe.get("k")
        await db.script_flush()
        assert (await pipe.execute())[1:] == [v]
        # a built-in named operation, through the generated API
        assert await db.run_named_operation("cas", ["k"], ["v", "w"]) == 1
        assert await db.get("k") == ("w" if decode else b"w")


def test_script_dir_must_be_a_directory(server: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        opener(server)(script_dir=str(tmp_path / "missing"))


# -- from_url ------------------------------------------------------------------------
@run_async
async def test_from_url(server: dict[str, Any], clean: None, tmp_path: Path) -> None:
    (tmp_path / "echo.lua").write_text(ECHO)
    if "url" in server:
        url = server["url"]
    else:
        url = f"redis://{server['host']}:{server['port']}/3"
    db = AsyncDatabase.from_url(url, script_dir=str(tmp_path), decode_responses=True)
    try:
        assert isinstance(db, AsyncDatabase)
        assert refuses_unknown(db.get_retry())
        await db.set("k", "v")
        assert await db.run_named_operation("echo", ["k"], ["x"]) == ["x", "v"]
        with pytest.raises(WrongType):
            await db.hget("k", "f")
    finally:
        await db.flushdb()
        await db.aclose()
    with pytest.raises(InvalidValue, match="AsyncClusterDatabase"):
        AsyncDatabase.from_url(url, cluster=True)
    # a URL gives no retry policy: the connections' own (no retry, or one
    # with retry_on_timeout), guarded
    for query, retries in (("", 0), ("?retry_on_timeout=true", 1)):
        db = AsyncDatabase.from_url(url + query)
        assert refuses_unknown(db.get_retry())
        assert db.get_retry().get_retries() == retries
        await db.aclose()


@pytest.mark.parametrize("url", ["memory://", "memory://async-test/2"])
@run_async
async def test_from_url_opens_an_embedded_engine(url: str) -> None:
    from walrus.asyncio.embedded import AsyncMemoryDatabase

    db = AsyncDatabase.from_url(url, decode_responses=True)
    assert isinstance(db, AsyncMemoryDatabase)
    await db.set("k", "v")
    assert await db.get("k") == "v"
    await db.flushdb()
    await db.aclose()


@run_async
async def test_pubsub(server: dict[str, Any], clean: None, decode: bool) -> None:
    db = opener(server)(decode_responses=decode)
    async with db, db.pubsub(ignore_subscribe_messages=True) as pubsub:
        await pubsub.subscribe("news")
        assert await db.publish("news", "hello") == 1
        async with asyncio.timeout(5):
            message = None
            while message is None:
                message = await pubsub.get_message(timeout=1)
        assert message["data"] == ("hello" if decode else b"hello")


# -- MONITOR ---------------------------------------------------------------------------
@run_async
async def test_monitor_lines(server: dict[str, Any], clean: None, decode: bool) -> None:
    db = opener(server)(decode_responses=decode)
    other = opener(server)()
    lines = db.monitor_lines()
    first = asyncio.ensure_future(lines.__anext__())
    seen: list[Any] = []
    async with asyncio.timeout(10):
        while not first.done():  # MONITOR starts in the background
            await other.set("monitored", "1")
            await asyncio.sleep(0.02)
        seen.append(first.result())
        while not any("monitored" in str(line) for line in seen):
            seen.append(await lines.__anext__())
    await lines.aclose()
    assert all(isinstance(line, str if decode else bytes) for line in seen)
    await db.aclose()
    await other.aclose()


# -- writes are sent once --------------------------------------------------------------
def faulty_db(faulty: FaultyServer, **kwargs: Any) -> AsyncDatabase:
    """An async client with a short timeout and retry policy (as faulty.open())."""
    options: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": SOCKET_TIMEOUT,
        "retry": Retry(ExponentialBackoff(cap=0.1, base=0.01), 3),
        **kwargs,
    }
    return AsyncDatabase(host="127.0.0.1", port=faulty.port, **options)


faults = pytest.mark.skipif(EXTERNAL, reason="stalls and kills a server of its own")


class OwnRetry(Retry):
    """A user's retry policy class: wrapped, not copied."""


@faults
@pytest.mark.parametrize("policy", [Retry, OwnRetry])
@run_async
async def test_a_stalled_write_runs_once(
    faulty: FaultyServer, policy: type[Retry]
) -> None:
    db = faulty_db(faulty, retry=policy(ExponentialBackoff(cap=0.1, base=0.01), 3))
    # redis.asyncio's own policy refuses OutcomeUnknown with its own check (no
    # wrapper on the way of every command); any other policy is wrapped
    assert isinstance(db.get_retry(), AsyncNoResendRetry) is (policy is OwnRetry)
    await db.incr("n")  # connected
    with faulty.stalled(1.5), pytest.raises(OutcomeUnknown) as info:
        await db.incr("n")  # the reply times out; redis.asyncio would resend it
    assert "INCR" in str(info.value) and "may or may not have run" in str(info.value)
    assert isinstance(info.value, RedisConnectionError)
    assert await db.get("n") == b"2"  # the server ran it once it resumed, once
    assert await db.incr("n") == 3  # and the database works again
    await db.aclose()


@faults
@pytest.mark.parametrize(
    "options",
    [
        {"single_connection_client": True},
        {"retry": Retry(NoBackoff(), 0)},  # no retries at all
    ],
    ids=["single connection", "no retries"],
)
@run_async
async def test_a_lost_write_is_outcome_unknown_on_every_path(
    faulty: FaultyServer, options: dict[str, Any]
) -> None:
    db = faulty_db(faulty, **options)
    await db.set("n", 0)
    with faulty.stalled(1.5), pytest.raises(OutcomeUnknown, match="INCRBY"):
        await db.incr("n")
    assert await db.get("n") == b"1"
    await db.aclose()


@faults
@pytest.mark.parametrize("spelling", list(LOST_WRITES))
@run_async
async def test_a_lost_write_is_not_sent_again_however_it_is_spelled(
    faulty: FaultyServer, spelling: str
) -> None:
    args, name = LOST_WRITES[spelling]
    db = faulty_db(faulty)
    await db.set("n", 0)
    with faulty.stalled(1.5), pytest.raises(OutcomeUnknown) as info:
        await db.execute_command(*args)
    assert info.value.command == name
    assert await db.get("n") == (b"1" if name == "INCRBY" else b"0")  # run once
    assert await db.xinfo_groups("s") if name != "INCRBY" else True  # ran, once
    await db.aclose()


# -- redis.asyncio's per-command extras ------------------------------------------------
@pytest.fixture
def recorder() -> Any:
    from walrus.asyncio import server as server_module

    if server_module._recorder is None:
        pytest.skip("a redis-py without 8.2's metrics recorder: its own path")
    return server_module._recorder


@run_async
async def test_redis_metrics_are_recorded_while_they_are_on(
    server: dict[str, Any], recorder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While redis-py records metrics every command takes redis.asyncio's
    own ``execute_command`` and is recorded; once its recorder has found none
    to record, walrus's shorter path, which records nothing and sends the
    same commands."""
    recorded: list[str] = []
    full = redis.asyncio.Redis.execute_command
    took_full: list[Any] = []

    async def counted(client: Any, *args: Any, **options: Any) -> Any:
        took_full.append(args[0])
        return await full(client, *args, **options)

    class Collector:
        def record_operation_duration(self, command_name: str, **rest: Any) -> None:
            recorded.append(command_name)

    monkeypatch.setattr(redis.asyncio.Redis, "execute_command", counted)
    # not looked for yet: redis-py looks on the first command, and finds one
    monkeypatch.setattr(recorder, "_async_metrics_collector", None)
    monkeypatch.setattr(recorder, "_async_collector_resolved", False)
    monkeypatch.setattr(recorder, "_get_or_create_collector", Collector)
    db = opener(server)()
    await db.set("metered", "1")
    monkeypatch.setattr(recorder, "_async_metrics_collector", Collector())
    monkeypatch.setattr(recorder, "_async_collector_resolved", True)  # found one
    assert await db.get("metered") == b"1"
    assert recorded == took_full == ["SET", "GET"]
    monkeypatch.setattr(recorder, "_async_metrics_collector", None)  # found none
    with count_round_trips() as sent:
        assert await db.incr("metered") == 2
    assert (sent.commands, sent.round_trips) == (1, 1)
    assert recorded == took_full == ["SET", "GET"]  # the short path
    await db.aclose()


@faults
@run_async
async def test_a_retried_read_is_logged_as_redis_asyncio_logs_it(
    faulty: FaultyServer, recorder: Any, caplog: pytest.LogCaptureFixture
) -> None:
    db = faulty_db(faulty)
    await db.set("k", "v")
    assert recorder._async_collector_resolved  # the short path from here
    with caplog.at_level("DEBUG", "redis.asyncio.client"), faulty.stalled(1.0):
        assert await db.get("k") == b"v"  # retried
    assert any("for command GET" in record.getMessage() for record in caplog.records), [
        record.getMessage() for record in caplog.records
    ]
    await db.aclose()


@faults
@run_async
async def test_after_a_lost_write_reads_are_retried_again(faulty: FaultyServer) -> None:
    """Only the lost write is OutcomeUnknown: a read on the same connection
    through a stall is retried, and the next write is sent."""
    db = faulty_db(faulty, single_connection_client=True)
    await db.set("n", 0)
    with faulty.stalled(1.5), pytest.raises(OutcomeUnknown):
        await db.incr("n")
    with faulty.stalled(1.0):
        assert await db.get("n") == b"1"
    assert await db.incr("n") == 2
    await db.aclose()


@faults
@run_async
async def test_a_pipeline_command_sent_at_once_runs_once(faulty: FaultyServer) -> None:
    """After WATCH a pipeline sends each command at once (redis.asyncio's
    own failure callback, not the database's): a write is still sent once."""
    db = faulty_db(faulty)
    await db.set("n", 0)
    async with db.pipeline() as pipe:
        await pipe.watch("n")
        with faulty.stalled(1.5), pytest.raises(OutcomeUnknown, match="INCRBY"):
            await pipe.incr("n")
    assert await db.get("n") == b"1"
    await db.aclose()


@faults
@run_async
async def test_a_stalled_pipeline_of_writes_runs_once(faulty: FaultyServer) -> None:
    db = faulty_db(faulty)
    for transaction in (True, False):
        await db.ping()  # connected (a failure to connect would be retried)
        pipe = db.pipeline(transaction=transaction)
        pipe.incr("n").get("n")
        kind = "MULTI/EXEC" if transaction else "pipeline"
        what = rf"{kind} of 2 commands \(INCRBY, GET\)"
        with faulty.stalled(1.5), pytest.raises(OutcomeUnknown, match=what):
            await pipe.execute()
    assert await db.get("n") == b"2"
    await db.aclose()


@faults
@run_async
async def test_a_write_killed_in_flight_is_not_resent(faulty: FaultyServer) -> None:
    db = faulty_db(faulty)
    await db.set("n", 0)
    faulty.pause()  # the write reaches a server that never runs it
    faulty.kill_and_restart(after=0.2, down_for=0.3)
    with pytest.raises(OutcomeUnknown):
        await db.incr("n")
    async with asyncio.timeout(10):
        while True:
            try:
                assert await db.get("n") == b"0"  # never ran, not sent again
                break
            except RedisConnectionError:
                await asyncio.sleep(0.05)
    assert await db.incr("n") == 1
    await db.aclose()


@faults
@run_async
async def test_reads_are_retried_through_a_stall(faulty: FaultyServer) -> None:
    db = faulty_db(faulty)
    await db.set("k", "v")
    with faulty.stalled(1.0):
        assert await db.get("k") == b"v"  # safe to send again
    pipe = db.pipeline()
    pipe.get("k").exists("k")
    with faulty.stalled(1.0):
        assert await pipe.execute() == [b"v", 1]
    await db.aclose()


@faults
@run_async
async def test_a_write_to_a_server_that_is_down_is_retried(
    faulty: FaultyServer,
) -> None:
    """Nothing was sent while connecting: redis.asyncio's retry applies."""
    db = faulty_db(faulty, retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 30))
    faulty.kill()
    faulty.later(0.3, faulty.restart)
    assert await db.incr("n") == 1
    assert await db.incr("n") == 2
    await db.aclose()


@run_async
async def test_a_request_that_cannot_connect_is_dropped_unsent() -> None:
    """The guard opens the connection before it guards: a refused connection
    is the retryable ConnectionError (nothing was sent), not OutcomeUnknown,
    and the request's coroutine is closed without running (no warning that
    it was never awaited)."""
    connection = redis.asyncio.Connection(host="127.0.0.1", port=free_port())
    ran = []

    async def request() -> None:
        ran.append(True)

    pending = request()
    with pytest.raises(RedisConnectionError) as raised:
        await guarded(connection, "SET", pending, connect=True)
    assert not isinstance(raised.value, OutcomeUnknown)
    assert inspect.getcoroutinestate(pending) == inspect.CORO_CLOSED
    assert not ran
