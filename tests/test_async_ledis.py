"""The async ledisdb driver (``walrus.asyncio.AsyncLedisDatabase``), without
a ledisdb server, as tests/test_ledis.py tests the sync one.

No ledisdb server can be installed here (engines.md §1.3). These tests run
the async executors over the sync driver's translation with scripted ledisdb
replies (the table of tests/test_ledis.py: the same batches in the same
round trips), ``AsyncLedisDatabase`` with its ``send_batch`` replaced by a
script (redis-py's side: callbacks, decoding, pipelines, refusals), and the
transport on the suite's Valkey server (not ledisdb), where the round trips
are counted against the sync driver's for the same commands.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from redis.exceptions import ResponseError
from support import EXTERNAL_URL
from test_ledis import CTX, ERRORS, OK, TABLE, Round, Scripted, words

from walrus import UnsupportedOperation
from walrus.asyncio import AsyncDatabase, AsyncLedisDatabase
from walrus.asyncio.ledis import drive, drive_many
from walrus.drivers.ledis.commands import translate
from walrus.drivers.ledis.plan import Kind, Plan
from walrus.drivers.ledis.plan import drive as sync_drive
from walrus.testing import count_round_trips
from walrus.tusks.ledisdb import WalrusLedis


def translated(args: Sequence[bytes]) -> Plan:
    return translate(list(args), CTX)


def arun(command: str | Sequence[bytes], rounds: Sequence[Round]) -> tuple[Kind, Any]:
    """Drive the plan of ``command`` with the async executor, checking each
    batch sent (each one awaited); (kind, reply)."""
    args = list(words(command)) if isinstance(command, str) else list(command)
    plan = translated(args)
    script = iter(rounds)

    async def send(batch: list[tuple[bytes, ...]]) -> list[Any]:
        await asyncio.sleep(0)
        expected, replies = next(script)
        assert batch == [words(c) for c in expected]
        assert len(replies) == len(batch)
        return list(replies)

    reply = asyncio.run(drive(plan, send, translated))
    assert next(script, None) is None, "fewer round trips than expected"
    return plan.kind, reply


# -- the async executor: the sync driver's plans, batch for batch ----------------
@pytest.mark.parametrize(
    ("command", "kind", "rounds", "reply"), TABLE, ids=[t[0] for t in TABLE]
)
def test_the_async_executor_sends_the_sync_batches(
    command: str, kind: Kind, rounds: list[Round], reply: Any
) -> None:
    """Every case of the sync table (pass-through, rewritten, type-dispatched,
    emulated over several rounds): the same batches, the same reply."""
    assert arun(command, rounds) == (kind, reply)


@pytest.mark.parametrize(("command", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_arguments_answer_an_error_without_sending(
    command: str, message: str
) -> None:
    _kind, reply = arun(command, [])
    assert isinstance(reply, ResponseError)
    assert message in str(reply)


def test_an_error_reply_ends_a_plan() -> None:
    _, reply = arun("HSETNX h f v", [(["HEXISTS h f"], [ResponseError("ERR boom")])])
    assert isinstance(reply, ResponseError)
    assert str(reply) == "ERR boom"


def test_pipelines_merge_one_round_plans_and_keep_order() -> None:
    plans = [
        translated(words(c))
        for c in ("GET a", "SET b 1", "DEL c", "SPOP s", "HLEN h", "LLEN l")
    ]
    sent: list[list[tuple[bytes, ...]]] = []
    answers = iter([[b"1", OK, 0, 0, 0, 0, 0, 0], [[b"m"]], [1], [2, 3]])

    async def send(batch: list[tuple[bytes, ...]]) -> list[Any]:
        sent.append(batch)
        return next(answers)

    replies = asyncio.run(drive_many(plans, send, translated))
    assert replies == [b"1", OK, 0, b"m", 2, 3]
    assert [len(b) for b in sent] == [8, 1, 1, 2]
    assert sent[2] == [(b"SREM", b"s", b"m")]


def test_a_pipeline_of_plans_that_send_nothing_sends_nothing() -> None:
    async def send(batch: list[tuple[bytes, ...]]) -> list[Any]:
        raise AssertionError("nothing should be sent")

    plans = [translated(words("SET k v EX 0")), translated(words("TYPE"))]
    replies = asyncio.run(drive_many(plans, send, translated))
    assert all(isinstance(r, ResponseError) for r in replies)


CAS_ROUNDS: list[Round] = [
    (["GET k"], [b"old"]),
    (["EXISTS k", "GET k", "TTL k"], [1, b"old", 5]),  # SET KEEPTTL reads first
    (["SETEX k 5 new"], [OK]),
]


def test_named_operations_run_their_twin_through_the_translation() -> None:
    """The rounds of tests/test_ledis.py's cas case, awaited one by one."""
    assert arun("WALRUS.OP cas 1 k old new", CAS_ROUNDS) == (Kind.EMULATE, 1)


def test_an_error_inside_a_twin_is_its_reply() -> None:
    _, reply = arun("WALRUS.OP cas 1 k a b", [(["GET k"], [ResponseError("ERR no")])])
    assert isinstance(reply, ResponseError)
    assert str(reply) == "ERR no"


def answer(command: tuple[bytes, ...]) -> Any:
    """A plausible ledisdb reply to any command a twin's plan sends."""
    verb = command[0]
    if verb == b"TIME":
        return [b"1700000000", b"250000"]
    if verb == b"GET":
        return b"12" if command[1] == b"f" else b"tok"  # f: a lock's fence
    if verb == b"LRANGE":
        return [b"1699999990.000000", b"1699999950.000000"]
    if verb in (b"SET", b"LTRIM", b"HMSET"):
        return OK
    return 5 if verb.endswith(b"TTL") else 1


# (named operation, keys, args, round trips)
TWIN_CALLS = [
    ("cas", [b"k"], [b"tok", b"new", b"0"], 3),
    ("cas", [b"k"], [b"other", b"new", b"1"], 1),
    ("lock_acquire", [b"l", b"e", b"f"], [b"tok", b"1500", b"100"], 5),
    ("lock_release", [b"l", b"e", b"f"], [b"tok", b"1000", b"0"], 6),
    ("lock_extend", [b"l", b"e", b"f"], [b"tok", b"500", b"100"], 4),
    ("rate_limit", [b"r"], [b"2", b"60000", b"1"], 2),  # refused
    ("rate_limit", [b"r"], [b"5", b"60000", b"1"], 5),  # recorded
]


@pytest.mark.parametrize(
    ("name", "keys", "args", "rounds"),
    TWIN_CALLS,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(TWIN_CALLS)],
)
def test_a_replayed_twin_sends_what_the_sync_twin_sends(
    name: str, keys: list[bytes], args: list[bytes], rounds: int
) -> None:
    """The async executor runs a twin again with the replies known so far
    (walrus.drivers.ledis.plan.twin_steps); the sync one calls it once with a
    blocking call. The batches and the reply are the same."""
    command = [b"WALRUS.OP", name.encode(), str(len(keys)).encode(), *keys, *args]

    def sync_send(batch: list[tuple[bytes, ...]]) -> list[Any]:
        sync_sent.append(batch)
        return [answer(c) for c in batch]

    async def async_send(batch: list[tuple[bytes, ...]]) -> list[Any]:
        async_sent.append(batch)
        return [answer(c) for c in batch]

    sync_sent: list[list[tuple[bytes, ...]]] = []
    async_sent: list[list[tuple[bytes, ...]]] = []
    expected = sync_drive(translated(command), sync_send, translated)
    got = asyncio.run(drive(translated(command), async_send, translated))
    assert got == expected
    assert async_sent == sync_sent
    assert len(sync_sent) == rounds


def test_a_twin_that_calls_other_commands_on_a_replay_is_refused() -> None:
    counter = itertools.count()

    def twin(call: Callable[..., Any]) -> Any:
        call(b"GET", str(next(counter)).encode())
        return call(b"GET", b"k")

    async def send(batch: list[tuple[bytes, ...]]) -> list[Any]:
        return [b"v"]

    plan = Plan(Kind.EMULATE, None, False, local=twin)
    with pytest.raises(RuntimeError, match="not deterministic"):
        asyncio.run(drive(plan, send, translated))


def test_a_twin_does_not_hold_the_loop_between_its_round_trips() -> None:
    """Each command of a twin is an await: other tasks run between them."""
    events: list[str] = []

    async def send(batch: list[tuple[bytes, ...]]) -> list[Any]:
        events.append("send")
        await asyncio.sleep(0.001)
        return [answer(c) for c in batch]

    async def ticker() -> None:
        while True:
            events.append("tick")
            await asyncio.sleep(0)

    async def main() -> Any:
        tick = asyncio.create_task(ticker())
        command = words("WALRUS.OP cas 1 k tok new")
        reply = await drive(translated(command), send, translated)
        tick.cancel()
        return reply

    assert asyncio.run(main()) == 1
    sends = [i for i, e in enumerate(events) if e == "send"]
    assert len(sends) == 3
    assert all("tick" in events[a:b] for a, b in itertools.pairwise(sends))


# -- the database: redis-py's side, over a scripted send_batch ------------------
class AsyncScripted(Scripted):
    """tests/test_ledis.py's script, awaited."""

    async def __call__(self, batch: list[tuple[bytes, ...]]) -> list[Any]:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().__call__(batch)


def scripted(
    replies: dict[str, Any], **kwargs: Any
) -> tuple[AsyncLedisDatabase, AsyncScripted]:
    db = AsyncLedisDatabase(**kwargs)
    fake = AsyncScripted(replies)
    db.send_batch = fake  # type: ignore[method-assign]
    return db, fake


def run(test: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(test())


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
def test_redis_py_methods_return_what_a_server_gives(decode: bool) -> None:
    db, fake = scripted(
        {
            "HEXISTS h a": 0,
            "HEXISTS h b": 1,
            "HMSET h a 1 b 2": OK,
            "EXISTS k": 0,
            "HKEYEXISTS k": 1,
            "LKEYEXISTS k": 0,
            "SKEYEXISTS k": 0,
            "ZKEYEXISTS k": 0,
            "ZRANGE z 0 -1 WITHSCORES": [b"a", b"1", b"b", b"2"],
            "SET s v": OK,
            "PERSIST s": 0,
            "ZSCORE z a": b"1",
            "ZINCRBY z 2 a": b"3",
            "HGETALL h": [b"a", b"1", b"b", b"2"],
            "GET missing": None,
        },
        decode_responses=decode,
    )
    text = (lambda s: s) if decode else (lambda s: s.encode())

    async def test() -> None:
        assert await db.hset("h", mapping={"a": 1, "b": 2}) == 1
        assert await db.type("k") == text("hash")
        assert await db.zrange("z", 0, -1, withscores=True) == [
            (text("a"), 1.0),
            (text("b"), 2.0),
        ]
        assert await db.set("s", "v") is True
        assert await db.zscore("z", "a") == 1.0
        assert await db.zincrby("z", 2, "a") == 3.0
        assert await db.hgetall("h") == {text("a"): text("1"), text("b"): text("2")}
        assert await db.get("missing") is None

    run(test)
    assert fake.round_trips[0] == ["HEXISTS h a", "HEXISTS h b", "HMSET h a 1 b 2"]
    assert len(fake.round_trips) == 8


def test_unsupported_commands_send_nothing() -> None:
    db, fake = scripted({})

    async def test() -> None:
        with pytest.raises(UnsupportedOperation, match="streams"):
            await db.xadd("s", {"a": 1})
        with pytest.raises(UnsupportedOperation, match="int64"):
            await db.zadd("z", {"a": 0.5})
        with pytest.raises(UnsupportedOperation, match="pub/sub"):
            db.pubsub()
        with pytest.raises(UnsupportedOperation, match="MONITOR"):
            await db.stream_log(lambda line: False)
        with pytest.raises(UnsupportedOperation, match="MONITOR"):
            db.monitor_lines()

    run(test)
    assert fake.round_trips == []


def test_error_replies_raise_redis_errors() -> None:
    db, _ = scripted({"INCRBY k 1": ResponseError("ERR value is not an integer")})
    with pytest.raises(ResponseError, match="not an integer"):
        run(lambda: db.incr("k"))


def test_transactions_are_refused_unless_opened_non_atomic() -> None:
    db, fake = scripted({"GET a": b"1", "SET b 2": OK, "PERSIST b": 0})

    async def test() -> None:
        with pytest.raises(UnsupportedOperation, match="MULTI"):
            db.pipeline()
        with pytest.raises(UnsupportedOperation):
            async with db.atomic():
                pass
        pipe = db.pipeline(transaction=False)
        with pytest.raises(UnsupportedOperation, match="WATCH"):
            pipe.watch("a")
        with pytest.raises(UnsupportedOperation):
            pipe.multi()
        assert pipe.get("a") is pipe  # queued, not sent
        pipe.set("b", 2)
        assert fake.round_trips == []
        assert await pipe.execute() == [b"1", True]
        assert len(pipe) == 0

    run(test)
    assert fake.round_trips == [["GET a", "SET b 2", "PERSIST b"]]

    relaxed, fake = scripted(
        {"SET b 2": OK, "PERSIST b": 0}, non_atomic_transactions=True
    )

    async def non_atomic() -> None:
        async with relaxed.atomic() as atomic:
            atomic.set("b", 2)
        assert relaxed.atomic_results() == [True]

    run(non_atomic)
    assert fake.round_trips == [["SET b 2", "PERSIST b"]]


def test_pipeline_errors_are_reported_in_place() -> None:
    db, _ = scripted({"GET a": b"1", "INCRBY b 1": ResponseError("ERR not an integer")})

    async def test() -> None:
        pipe = db.pipeline(transaction=False)
        pipe.get("a")
        pipe.incr("b")
        first, second = await pipe.execute(raise_on_error=False)
        assert first == b"1"
        assert isinstance(second, ResponseError)
        pipe.get("a").incr("b")
        with pytest.raises(ResponseError, match="Command # 2"):
            await pipe.execute()

    run(test)


def test_named_operations_and_scripts() -> None:
    replies = {c: r for cs, rs in CAS_ROUNDS for c, r in zip(cs, rs, strict=True)}
    db, fake = scripted({**replies, "EVAL return 1 1 k": 1})

    async def test() -> None:
        assert await db.cas("k", "old", "new") is True
        assert fake.round_trips == [cs for cs, _ in CAS_ROUNDS]
        assert await db.eval("return 1", 1, "k") == 1
        pipe = db.pipeline(transaction=False)
        queued = await db.run_named_operation("cas", ["k"], ["old", "new"], pipe)
        assert queued is pipe
        assert await pipe.execute() == [1]

    run(test)


def test_user_scripts_without_a_twin_go_to_ledisdb_lua(tmp_path: Any) -> None:
    (tmp_path / "mine.lua").write_text("return 7\n")
    db, _fake = scripted({"EVAL return 7\n 0": 7}, script_dir=str(tmp_path))
    assert run(lambda: db.run_script("mine")) == 7


def test_construction_and_urls() -> None:
    db = AsyncLedisDatabase.from_url("ledis://example:6399/3", decode_responses=True)
    kwargs = db.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("example", 6399, 3)
    assert kwargs["protocol"] == 2
    assert db.auto_close_connection_pool
    relaxed = AsyncLedisDatabase.from_url(
        "redis://example/0", non_atomic_transactions=True
    )
    assert relaxed.pipeline().is_transaction is False
    default = AsyncLedisDatabase().connection_pool.connection_kwargs
    assert (default["host"], default["port"], default["db"]) == ("localhost", 6380, 0)
    with pytest.raises(ValueError, match="RESP2"):
        AsyncLedisDatabase(protocol=3)
    with pytest.raises(ValueError, match="RESP2"):
        AsyncLedisDatabase.from_url("ledis://example/0", protocol=3)
    assert db.backend_name == "ledis"
    assert db.capabilities == WalrusLedis().capabilities
    with pytest.raises(ValueError, match="scheme"):  # chosen by its class
        AsyncDatabase.from_url("ledis://example:6399/3")
    native, fake = scripted({"HCLEAR h": 2})
    assert run(lambda: native.ledis_command("HCLEAR", "h")) == 2
    assert fake.round_trips == [["HCLEAR h"]]


# -- the transport on a real RESP server (Valkey, not ledisdb) ------------------
def open_pair(servers: dict[str, Any], **kwargs: Any) -> tuple[Any, Any]:
    """A sync and an async ledis database on the suite's server."""
    if EXTERNAL_URL:
        return (
            WalrusLedis.from_url(EXTERNAL_URL, **kwargs),
            AsyncLedisDatabase.from_url(EXTERNAL_URL, **kwargs),
        )
    connection = servers["valkey"].connection_kwargs
    return WalrusLedis(**connection, **kwargs), AsyncLedisDatabase(
        **connection, **kwargs
    )


@pytest.mark.parametrize("single", [False, True], ids=["pooled", "single-connection"])
def test_the_transport_over_a_real_resp_server(
    servers: dict[str, Any], single: bool
) -> None:
    """send_batch on a Valkey server (not ledisdb): one write, raw replies in
    order, error replies as values, the connection still usable after them."""
    sync_db, db = open_pair(
        servers, decode_responses=True, single_connection_client=single
    )
    sync_db.flushdb()

    async def test() -> None:
        async with db:
            replies = await db.send_batch(
                [
                    (b"SET", b"t", b"1"),
                    (b"NOSUCH",),
                    (b"INCRBY", b"t", b"2"),
                    (b"GET", b"t"),
                ]
            )
            assert replies[0] == b"OK"
            assert isinstance(replies[1], ResponseError)
            assert replies[2:] == [3, b"3"]
            assert await db.ledis_command("GET", "t") == "3"
            assert await db.get("t") == "3"
            pipe = db.pipeline(transaction=False)
            pipe.get("t")
            pipe.lpush("l", "a", "b")
            pipe.lrange("l", 0, -1)
            assert await pipe.execute() == ["3", 2, ["b", "a"]]

    try:
        run(test)
    finally:
        sync_db.flushdb()
        sync_db.close()


# Commands whose ledisdb plans Valkey also answers: one round trip or several,
# a pipeline mixing both, and a named operation's twin (cas: GET, then the
# reads of SET KEEPTTL, then SET + PERSIST).
OPS: list[Callable[[Any], Any]] = [
    lambda db: db.set("a", "1"),  # SET + PERSIST
    lambda db: db.get("a"),
    lambda db: db.hset("h", mapping={"x": 1, "y": 2}),  # HEXISTS x2 + HMSET
    lambda db: db.incrbyfloat("f", 1.5),  # GET + TTL, then SET + PERSIST
    lambda db: db.rpush("l", "a", "b", "c"),
    lambda db: db.lpop("l", 2),  # LRANGE + LTRIM
    lambda db: db.sadd("s", "m"),
    lambda db: db.spop("s"),  # SMEMBERS, then SREM
    lambda db: db.hsetnx("h", "z", 3),  # HEXISTS, then HSET
    lambda db: (
        db.pipeline(transaction=False)
        .get("a")
        .spop("s")
        .incr("n")
        .hsetnx("h", "w", 1)
        .llen("l")
        .execute()
    ),
    lambda db: db.cas("a", "1", "2"),
]


def test_round_trips_are_the_sync_drivers(servers: dict[str, Any]) -> None:
    """The same commands cost the same round trips and commands, counted by
    walrus.testing.count_round_trips on redis-py's and redis.asyncio's
    connections, and give the same replies."""
    sync_db, db = open_pair(servers)

    def outcome(op: Callable[[Any], Any]) -> Any:
        try:
            return op(sync_db)
        except ResponseError as exc:
            return type(exc), str(exc)

    async def async_outcome(op: Callable[[Any], Any]) -> Any:
        try:
            return await op(db)
        except ResponseError as exc:
            return type(exc), str(exc)

    async def test() -> tuple[list[Any], Any]:
        async with db:
            await db.send_batch([(b"PING",)])  # connected: no handshake counted
            with count_round_trips() as count:
                replies = [await async_outcome(op) for op in OPS]
        return replies, count

    try:
        sync_db.flushdb()
        sync_db.ping()
        with count_round_trips() as sync_count:
            expected = [outcome(op) for op in OPS]
        sync_db.flushdb()
        got, count = run(test)
        assert got == expected
        assert expected[-1] is True
        assert (count.round_trips, count.commands) == (
            sync_count.round_trips,
            sync_count.commands,
        )
        assert count.round_trips == 21  # 6 + 3 x 2, the pipeline's 6, cas's 3
    finally:
        sync_db.flushdb()
        sync_db.close()


def test_a_blocking_pop_waits_on_the_loop(servers: dict[str, Any]) -> None:
    """BLPOP (native on ledisdb, sent as it is) is an awaited read: the task
    that pushes, and a ticker, run while it waits."""
    sync_db, db = open_pair(servers, decode_responses=True)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def push() -> None:
        await asyncio.sleep(0.1)
        await db.rpush("queue", "job")

    async def test() -> Any:
        async with db:
            tick, pusher = asyncio.create_task(ticker()), asyncio.create_task(push())
            popped = await db.blpop(["queue"], timeout=5)
            await pusher
            tick.cancel()
            return popped

    try:
        sync_db.flushdb()
        assert run(test) == ("queue", "job")
        assert ticks >= 5
    finally:
        sync_db.flushdb()
        sync_db.close()


def test_a_dropped_connection_is_retried(servers: dict[str, Any]) -> None:
    """A connection killed between commands is reconnected and the batch sent
    again, as redis.asyncio retries a command."""
    sync_db, db = open_pair(servers, decode_responses=True)

    async def test() -> None:
        async with db:
            await db.set("r", "1")
            sync_db.ledis_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            assert await db.get("r") == "1"

    try:
        run(test)
    finally:
        sync_db.flushdb()
        sync_db.close()
