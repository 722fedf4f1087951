"""The async embedded databases (walrus/asyncio/embedded.py) on every engine.

Memory, rlite (memory and file) and Vedis (memory and file), both reply
modes, real engines. The sync embedded database of the same engine is the
oracle for replies and errors. Each test runs its scenario with
``asyncio.run`` (no pytest-asyncio); blocking commands are checked to wait
on the loop: other coroutines run meanwhile, writes wake them, the timeout
holds and a cancelled wait pops nothing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import WatchError
from support import (
    CHILD_ENV,
    REPLY_MODE_IDS,
    REPLY_MODES,
    memory_opener,
    rlite_opener,
    vedis_opener,
)

import walrus
from walrus.asyncio import embedded_blocking
from walrus.asyncio.embedded import (
    AsyncEmbeddedDatabase,
    AsyncMemoryDatabase,
    AsyncRliteDatabase,
    AsyncVedisDatabase,
    open_embedded,
)
from walrus.exceptions import CommandNameError, EngineError, InvalidValue

ENGINES = ["memory", "rlite-memory", "rlite-file", "vedis-memory", "vedis-file"]
Opener = Callable[..., AsyncEmbeddedDatabase]


def async_opener(engine: str, tmp: Path, name: str = "db") -> Opener:
    """Opens async clients of one fresh engine of kind ``engine``."""
    path = {"rlite-file": tmp / f"{name}.rld", "vedis-file": tmp / f"{name}.vdb"}

    def open_db(**kwargs: Any) -> AsyncEmbeddedDatabase:
        if engine == "memory":
            return AsyncMemoryDatabase(**kwargs)
        if engine.startswith("rlite"):
            return AsyncRliteDatabase(path.get(engine, ":memory:"), **kwargs)
        return AsyncVedisDatabase(path.get(engine, ":memory:"), **kwargs)

    return open_db


def sync_opener(engine: str, tmp: Path, decoded: bool) -> Any:
    """The sync database of the same kind (the oracle), on its own engine,
    opened as tests/conftest.py opens the sync backends."""
    return {
        "memory": memory_opener(),
        "rlite-memory": rlite_opener(None),
        "rlite-file": rlite_opener(str(tmp / "sync.rld")),
        "vedis-memory": vedis_opener(None),
        "vedis-file": vedis_opener(str(tmp / "sync.vdb")),
    }[engine](decode_responses=decoded)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=REPLY_MODES, ids=REPLY_MODE_IDS)
def decoded(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def open_async(engine: str, decoded: bool, tmp_path: Path) -> Iterator[Opener]:
    """Async clients of one fresh engine in the test's reply mode; the first
    one opens the engine, ``client()`` gives more; all closed at the end."""
    opened: list[AsyncEmbeddedDatabase] = []
    make = async_opener(engine, tmp_path)

    def open_db(**kwargs: Any) -> AsyncEmbeddedDatabase:
        kwargs.setdefault("decode_responses", decoded)
        db = opened[0].client(**kwargs) if opened else make(**kwargs)
        opened.append(db)
        return db

    yield open_db
    for db in opened:
        db._sync.close()


def run(scenario: Awaitable[Any]) -> Any:
    """Run a scenario on a new loop in a thread of its own, failing (not
    hanging) after 30 s, even if something blocks the loop."""
    outcome: dict[str, Any] = {}

    async def bounded() -> Any:
        return await asyncio.wait_for(scenario, 30)

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(bounded())
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(40)
    if thread.is_alive():
        pytest.fail("the scenario hung: something blocked its event loop")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def text(db: Any, value: str) -> Any:
    return value if db.get_encoder().decode_responses else value.encode()


def outcome(call: Callable[[], Any]) -> Any:
    try:
        return ("value", call())
    except Exception as exc:
        return ("error", type(exc), str(exc))


async def async_outcome(call: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return ("value", await call())
    except Exception as exc:
        return ("error", type(exc), str(exc))


# Each step is called with a database; on an async one its result is awaited.
STEPS: list[Callable[[Any], Any]] = [
    lambda db: db.set("s", "v"),
    lambda db: db.get("s"),
    lambda db: db.get("missing"),
    lambda db: db.set("s", "w", nx=True),
    lambda db: db.mget("s", "missing"),
    lambda db: db.incr("n"),
    lambda db: db.incrbyfloat("f", 1.5),
    lambda db: db.hset("h", mapping={"a": "1", "b": "2"}),
    lambda db: db.hgetall("h"),
    lambda db: db.hget("h", "zz"),
    lambda db: db.rpush("l", "x", "y", "z"),
    lambda db: db.lrange("l", 0, -1),
    lambda db: db.zadd("z", {"m1": 1, "m2": 2.5}),
    lambda db: db.zrange("z", 0, -1, withscores=True),
    lambda db: db.zscore("z", "m2"),
    lambda db: db.sadd("set", "a"),
    lambda db: db.smembers("set"),
    lambda db: db.expire("s", 100),
    lambda db: db.ttl("s"),
    lambda db: db.type("h"),
    lambda db: db.exists("s", "h", "missing"),
    lambda db: db.xadd("st", {"f": "v"}, id="1-1"),
    lambda db: db.xrange("st"),
    lambda db: db.xread({"st": "0-0"}),
    lambda db: db.lpop("missing"),
    lambda db: db.blpop(["l"], timeout=1),
    lambda db: db.bzpopmin("z", timeout=1),
    lambda db: db.xread({"st": "0-0"}, block=100),
    lambda db: db.delete("s", "missing"),
    lambda db: db.dbsize(),
    # errors
    lambda db: db.lpush("h", "x"),
    lambda db: db.incr("l"),
    lambda db: db.execute_command("NOSUCHCOMMAND", "a"),
    lambda db: db.execute_command("GET"),
    lambda db: db.execute_command("BLPOP", "l", "soon"),
    lambda db: db.execute_command("BLPOP", "l", "-1"),
    lambda db: db.execute_command("BLPOP"),
    lambda db: db.blpop(["h"], timeout=1),
    lambda db: db.eval("return redis.call('NOPE')", 0),
    lambda db: db.eval("return {1, 'two', nil}", 0),
]


def test_replies_and_errors_match_the_sync_driver(
    engine: str, open_async: Opener, decoded: bool, tmp_path: Path
) -> None:
    sync_db = sync_opener(engine, tmp_path, decoded)
    try:
        expected = [outcome(lambda step=step: step(sync_db)) for step in STEPS]
    finally:
        sync_db.close()

    async def scenario() -> list[Any]:
        db = open_async()
        return [await async_outcome(lambda step=step: step(db)) for step in STEPS]

    got = run(scenario())
    for n, (want, have) in enumerate(zip(expected, got, strict=True)):
        assert have == want, f"step {n}"
    assert sum(o[0] == "error" for o in got) >= 9  # the error steps did fail


def test_sync_attributes_are_the_sync_drivers(
    engine: str, open_async: Opener, decoded: bool
) -> None:
    db = open_async()
    assert db.capabilities == db._sync.capabilities
    assert db.backend_name == db._sync.backend_name
    assert db.get_encoder().decode_responses is decoded
    assert engine.split("-")[0] in repr(db)


def test_pipelines_queue_and_run_in_one_call(open_async: Opener) -> None:
    async def scenario() -> None:
        db = open_async()
        pipe = db.pipeline()
        assert pipe.set("a", 1) is pipe
        assert pipe.incr("a").get("a") is pipe
        assert len(pipe) == 3
        assert await pipe.execute() == [True, 2, text(db, "2")]
        assert len(pipe) == 0 and await pipe.execute() == []

        async with db.pipeline(transaction=False) as pipe:
            pipe.rpush("l", "x").llen("l")
            assert await pipe.execute() == [1, 1]

        pipe = db.pipeline()
        pipe.set("s", "v").lpush("s", "x").get("s")
        with pytest.raises(Exception, match="WRONGTYPE") as raised:
            await pipe.execute()
        assert type(raised.value).__name__ == "WrongType"
        pipe.set("s", "v").lpush("s", "x").get("s")
        replies = await pipe.execute(raise_on_error=False)
        assert replies[0] is True and replies[2] == text(db, "v")
        assert type(replies[1]).__name__ == "WrongType"

        pipe = db.pipeline()  # refused while queueing: EXECABORT, nothing ran
        pipe.set("t", "1").execute_command("NOSUCHCOMMAND")
        with pytest.raises(Exception, match="unknown command"):
            await pipe.execute()
        assert await db.get("t") is None

        pipe = db.pipeline()
        pipe.set("r", "1")
        await pipe.reset()
        assert await pipe.execute() == [] and await db.get("r") is None

    run(scenario())


def test_watch_and_the_transaction_helper(open_async: Opener) -> None:
    async def scenario() -> None:
        db, other = open_async(), open_async()
        await db.set("w", "1")
        pipe = db.pipeline()
        await pipe.watch("w")
        assert await pipe.get("w") == text(db, "1")  # immediate after WATCH
        await other.set("w", "changed")
        pipe.multi()
        pipe.set("w", "mine")
        with pytest.raises(WatchError):
            await pipe.execute()
        assert await db.get("w") == text(db, "changed")

        async def increment(pipe: Any) -> None:
            value = int(await pipe.get("n") or 0)
            pipe.multi()
            pipe.set("n", value + 1)

        for _ in range(3):
            assert await db.transaction(increment, "n") == [True]
        assert await db.get("n") == text(db, "3")

    run(scenario())


def test_scripts_and_named_operations(
    engine: str, open_async: Opener, decoded: bool, tmp_path: Path
) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "double.lua").write_text(
        "return redis.call('INCRBY', KEYS[1], ARGV[1] * 2)"
    )

    async def scenario() -> None:
        db = open_async(script_dir=str(tmp_path / "scripts"))
        script = db.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        assert await script(keys=["n"], args=[5]) == 5
        pipe = db.pipeline()
        await script(keys=["n"], args=[1], client=pipe)
        pipe.get("n")
        assert await pipe.execute() == [6, text(db, "6")]

        await db.set("c", "old")  # a named operation's Python twin
        assert await db.run_named_operation("cas", ["c"], ["old", "new", b"1"]) == 1
        pipe = db.pipeline()
        queued = await db.run_named_operation(
            "cas", ["c"], ["new", "newer", b"1"], client=pipe
        )
        assert queued is pipe
        assert await pipe.execute() == [1]
        assert await db.get("c") == text(db, "newer")
        # a script of script_dir: not a twin, its Lua runs
        assert await db.run_named_operation("double", ["d"], [2]) == 4
        pipe = db.pipeline()
        await db.run_named_operation("double", ["d"], [1], client=pipe)
        assert await pipe.execute() == [6]
        with pytest.raises(Exception) as raised:
            await db.run_named_operation("no_such_operation", [], [])
        sync_error = outcome(lambda: db._sync.run_named_operation("nope", [], []))
        assert type(raised.value) is sync_error[1]
        with pytest.raises(InvalidValue):
            await db.run_named_operation("cas", ["c"], ["a", "b", b"1"], client=db)

    run(scenario())


def test_scans_are_async_iterators(open_async: Opener) -> None:
    async def scenario() -> None:
        db = open_async()
        await db.mset({f"k{i}": i for i in range(30)})
        await db.hset("h", mapping={f"f{i}": i for i in range(20)})
        keys = {k async for k in db.scan_iter(match="k*", count=7)}
        assert keys == {text(db, f"k{i}") for i in range(30)}
        fields = {f async for f, _ in db.hscan_iter("h", count=5)}
        assert len(fields) == 20

    run(scenario())


# -- blocking commands ------------------------------------------------------------
def test_a_waiting_blpop_lets_the_loop_run_and_a_push_wakes_it(
    open_async: Opener,
) -> None:
    async def scenario() -> None:
        db, other = open_async(), open_async()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            for _ in range(10):
                await asyncio.sleep(0.01)
                ticks += 1

        waiting = asyncio.create_task(db.blpop(["q1", "q2"], timeout=0))
        await ticker()
        assert ticks == 10 and not waiting.done()
        pushed = time.monotonic()
        await other.rpush("q2", "job")
        assert await waiting == (text(db, "q2"), text(db, "job"))
        assert time.monotonic() - pushed < 0.5  # woken, not found by a long poll
        assert db._core._blocked == {}

    run(scenario())


def test_an_async_write_wakes_the_waiter_without_polling(
    open_async: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded_blocking, "FIRST_PAUSE", 30.0)  # no poll in time

    async def scenario() -> None:
        db, other = open_async(), open_async()
        db._core.poll_interval = 60.0
        waiting = asyncio.create_task(db.blpop(["q"], timeout=0))
        await asyncio.sleep(0.05)
        pushed = time.monotonic()
        await other.rpush("q", "now")
        assert await waiting == (text(db, "q"), text(db, "now"))
        assert time.monotonic() - pushed < 5

    run(scenario())


# command, what makes it answer, the expected reply (decoded to text)
BLOCKERS: list[tuple[str, Callable[[Any], Any], Callable[[Any], Any], Any]] = [
    ("brpop", lambda db: db.brpop(["q"], 0), lambda o: o.rpush("q", "a"), ("q", "a")),
    (
        "brpoplpush",
        lambda db: db.brpoplpush("q", "dst", 0),
        lambda o: o.rpush("q", "a"),
        "a",
    ),
    (
        "blmove",
        lambda db: db.blmove("q", "dst", 0, "LEFT", "RIGHT"),
        lambda o: o.rpush("q", "a"),
        "a",
    ),
    (
        "bzpopmin",
        lambda db: db.bzpopmin(["z"], 0),
        lambda o: o.zadd("z", {"m": 2}),
        ("z", "m", 2.0),
    ),
    (
        "bzpopmax",
        lambda db: db.bzpopmax(["z"], 0),
        lambda o: o.zadd("z", {"m": 3}),
        ("z", "m", 3.0),
    ),
    (
        "xread",
        lambda db: db.xread({"st": "$"}, block=0),
        lambda o: o.xadd("st", {"f": "v"}, id="5-1"),
        [["st", [("5-1", {"f": "v"})]]],
    ),
    (
        "xreadgroup",
        lambda db: db.xreadgroup("g", "c", {"st": ">"}, block=0),
        lambda o: o.xadd("st", {"f": "v"}, id="6-1"),
        [["st", [("6-1", {"f": "v"})]]],
    ),
]


def as_text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, (list, tuple)):
        return type(value)(as_text(v) for v in value)
    if isinstance(value, dict):
        return {as_text(k): as_text(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("blocker", BLOCKERS, ids=[b[0] for b in BLOCKERS])
def test_each_blocking_command_waits_on_the_loop(
    open_async: Opener, blocker: tuple[str, Any, Any, Any]
) -> None:
    _, wait, write, expected = blocker

    async def scenario() -> None:
        db, other = open_async(), open_async()
        await other.xgroup_create("st", "g", id="0", mkstream=True)
        waiting = asyncio.create_task(wait(db))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await write(other)
        assert as_text(await waiting) == expected

    run(scenario())


def test_the_timeout_is_honoured(open_async: Opener) -> None:
    async def scenario() -> None:
        db = open_async()
        await db.xgroup_create("st", "g", id="0", mkstream=True)
        waits = [
            db.blpop(["q"], timeout=0.2),
            db.brpoplpush("q", "d", timeout=0.2),
            db.bzpopmin(["z"], timeout=0.2),
            db.xread({"st": "$"}, block=200),
            db.xreadgroup("g", "c", {"st": ">"}, block=200),
        ]
        started = time.monotonic()
        replies = await asyncio.gather(*waits)  # they wait together
        took = time.monotonic() - started
        assert all(not r for r in replies), replies
        assert 0.19 <= took < 1.0

    run(scenario())


def test_a_cancelled_blpop_pops_nothing(open_async: Opener) -> None:
    async def scenario() -> None:
        db, other = open_async(), open_async()
        waiting = asyncio.create_task(db.blpop(["q"], timeout=0))
        await asyncio.sleep(0.03)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert db._core._blocked == {}
        await other.rpush("q", "kept")
        await asyncio.sleep(0.05)  # a wait still going would pop it now
        assert await other.lrange("q", 0, -1) == [text(db, "kept")]
        # wait_for's timeout cancels it the same way
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(db.blpop(["empty"], timeout=0), 0.05)
        assert await db.blpop(["q"], timeout=1) == (text(db, "q"), text(db, "kept"))

    run(scenario())


def test_a_push_by_a_sync_client_in_a_thread_wakes_it(open_async: Opener) -> None:
    async def scenario() -> None:
        db = open_async()
        sync_client = db._sync.client()
        timer = threading.Timer(0.1, sync_client.rpush, ("q", "from a thread"))
        timer.start()
        try:
            reply = await db.blpop(["q"], timeout=5)
        finally:
            timer.join()
            sync_client.close()
        assert reply == (text(db, "q"), text(db, "from a thread"))

    run(scenario())


def test_client_unblock_wakes_a_waiting_client(open_async: Opener) -> None:
    async def scenario() -> None:
        db, other = open_async(), open_async()
        client_id = await db.client_id()
        waiting = asyncio.create_task(db.blpop(["q"], timeout=0))
        await asyncio.sleep(0.03)
        assert await other.client_unblock(client_id) is True
        assert await waiting is None
        waiting = asyncio.create_task(db.blpop(["q"], timeout=0))
        await asyncio.sleep(0.03)
        assert await other.client_unblock(client_id, error=True) is True
        with pytest.raises(Exception, match="UNBLOCKED"):
            await waiting

    run(scenario())


def test_blocking_commands_in_a_transaction_run_once(open_async: Opener) -> None:
    async def scenario() -> None:
        db = open_async()
        pipe = db.pipeline()
        pipe.blpop(["q"], 0).rpush("q", "a").blpop(["q"], 0)
        assert await pipe.execute() == [None, 1, (text(db, "q"), text(db, "a"))]
        await db.execute_command("MULTI")  # sent by hand: queued, run once
        await db.blpop(["q"], 0)  # (QUEUED, through redis-py's BLPOP callback)
        assert await db.execute_command("EXEC") == [None]

    run(scenario())


@pytest.mark.parametrize("decoded", [False], ids=["bytes"])
@pytest.mark.parametrize("engine", ["rlite-file"])
def test_a_push_by_another_process_wakes_it(open_async: Opener, tmp_path: Path) -> None:
    push = (
        "import time; from walrus.tusks.rlite import WalrusLite; "
        f"db = WalrusLite({str(tmp_path / 'db.rld')!r}); "
        "time.sleep(0.3); db.rpush('q', 'from another process'); db.close()"
    )

    async def scenario() -> None:
        db = open_async()
        await db.set("opened", 1)  # the file exists before the child opens it
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", push, env=CHILD_ENV
        )
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        counting = asyncio.create_task(ticker())
        try:
            reply = await db.blpop(["q"], timeout=20)
        finally:
            counting.cancel()
            assert await child.wait() == 0
        assert reply == (b"q", b"from another process")
        assert ticks >= 10  # the loop ran while the child started and pushed

    run(scenario())


# -- pub/sub, MONITOR -------------------------------------------------------------
def test_pubsub_waits_on_the_loop_and_publish_wakes_it(open_async: Opener) -> None:
    async def scenario() -> None:
        db, other = open_async(), open_async()
        pubsub = db.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe("news")
        await pubsub.psubscribe("ne*")
        assert pubsub.subscribed
        for _ in range(2):  # the subscribe replies: ignored
            assert await pubsub.get_message(timeout=0) is None
        assert pubsub._sync._queue.empty()

        async def publish_later() -> int:
            await asyncio.sleep(0.1)
            return int(await other.publish("news", "hello"))

        started = time.monotonic()
        publishing = asyncio.create_task(publish_later())
        message = await pubsub.get_message(timeout=5)
        assert time.monotonic() - started < 1
        assert await publishing == 2
        assert message == {
            "type": "message",
            "pattern": None,
            "channel": text(db, "news"),
            "data": text(db, "hello"),
        }
        message = await pubsub.get_message(timeout=1)
        assert message is not None and message["type"] == "pmessage"

        seen: list[Any] = []

        async def handler(message: dict[str, Any]) -> None:
            seen.append(message["data"])

        await pubsub.subscribe(alerts=handler)
        assert await pubsub.get_message(timeout=0) is None  # its reply: ignored
        thread = threading.Thread(target=db._sync.publish, args=("alerts", "fire"))
        thread.start()  # a sync publisher in another thread wakes the loop too
        message = await pubsub.get_message(timeout=5)
        thread.join()
        assert message is None and seen == [text(db, "fire")]  # handled

        await other.publish("news", "second")
        received = []
        async for message in pubsub.listen():
            received.append(message["data"])
            if len(received) == 2:
                await pubsub.aclose()
        assert received == [text(db, "second")] * 2
        assert not pubsub.subscribed

    run(scenario())


def test_monitor_lines_are_an_async_iterator(open_async: Opener) -> None:
    async def scenario() -> None:
        db, other = open_async(), open_async()
        lines = db.monitor_lines()
        first = asyncio.create_task(anext(lines))
        await asyncio.sleep(0.01)
        await other.set("watched", "1")
        line = await asyncio.wait_for(first, 5)
        assert text(db, '"SET" "watched" "1"') in line
        await lines.aclose()
        assert db._core.monitors == []
        with pytest.raises(walrus.UnsupportedOperation):
            db.monitor()

    run(scenario())


# -- opening and closing -------------------------------------------------------------
def test_urls_open_shared_engines(engine: str, tmp_path: Path) -> None:
    label = f"u{os.getpid()}{engine}"
    url = {
        "memory": f"memory://{label}",
        "rlite-memory": f"rlite://{label}",
        "rlite-file": f"rlite:///{tmp_path / 'u.rld'}",
        "vedis-memory": f"vedis://{label}",
        "vedis-file": f"vedis:///{tmp_path / 'u.vdb'}",
    }[engine]

    async def scenario() -> None:
        first = open_embedded(url)
        second = open_embedded(url + "?decode_responses=true")
        third = open_embedded(url, db=1)
        try:
            await first.set("shared", "yes")
            assert await second.get("shared") == "yes"
            assert await third.get("shared") is None
            assert (
                type(first).__name__.lower().startswith("async" + engine.split("-")[0])
            )
        finally:
            for db in (first, second, third):
                await db.flushall()
                await db.aclose()

    run(scenario())
    with pytest.raises(InvalidValue):
        open_embedded("redis://localhost:6379")
    with pytest.raises(InvalidValue):
        AsyncMemoryDatabase.from_url("rlite://other")


def test_clients_and_closing(open_async: Opener, decoded: bool) -> None:
    async def scenario() -> None:
        db = open_async()
        other = db.client(db=1)
        await db.set("k", "0")
        assert await other.get("k") is None
        assert await db.client().get("k") == text(db, "0")
        assert other.get_encoder().decode_responses is decoded
        async with open_async() as scoped:
            assert await scoped.get("k") == text(db, "0")
        with pytest.raises(EngineError):
            await scoped.get("k")
        assert await db.get("k") == text(db, "0")  # the engine stays open
        await db.aclose()
        with pytest.raises(EngineError):
            await db.get("k")

    run(scenario())


@pytest.mark.parametrize("engine", ["vedis-memory", "vedis-file"])
def test_vedis_custom_commands_are_awaitable(open_async: Opener) -> None:
    async def scenario() -> None:
        db: Any = open_async()

        @db.command("TITLE")
        def title(context: Any, key: Any) -> Any:
            value = context[key].title()
            context[key] = value
            return value

        await db.set("name", "ada lovelace")
        assert await db.TITLE("name") == text(db, "Ada Lovelace")
        assert await db.get("name") == text(db, "Ada Lovelace")
        with pytest.raises(CommandNameError):
            db.command("pipeline")
        db.delete_command("TITLE")
        assert not hasattr(db, "TITLE")

    run(scenario())


# -- containment ---------------------------------------------------------------------
CHILD = """
import asyncio, random, sys
from walrus.asyncio.embedded import AsyncRliteDatabase
from walrus.drivers.command_table import COMMANDS
from redis.exceptions import RedisError

NAMES = sorted(n for n in COMMANDS if " " not in n) + ["NOSUCH", "", "EVAL"]
VALUES = ["k", "l", "z", "h", "", "0", "-1", "1.5", "nan", "WITHSCORES", "GET",
          "\\xff", "*", "#", "a" * 300, "10", "LIMIT", "BY", "STORE", "BLOCK"]

async def main(path, seed, count):
    db = AsyncRliteDatabase(path)
    rng = random.Random(seed)
    await db.rpush("l", "a", "b"); await db.zadd("z", {"m": 1}); await db.set("", "x")
    for n in range(count):
        args = [rng.choice(NAMES)]
        args += [rng.choice(VALUES) for _ in range(rng.randrange(5))]
        print(n, args, flush=True)
        try:
            await asyncio.wait_for(db.execute_command(*args), 0.05)
        except (RedisError, ValueError, TypeError, TimeoutError):
            pass
    for bad in (
        lambda: db.zrange("l", 0, -1, withscores=True),
        lambda: db.eval("return redis.call('NOPE')", 0),
        lambda: db.eval("error('boom')", 0),
        lambda: db.keys("z*"),
        lambda: db.sort("l", by="nosort", get="w_*", store="out"),
    ):
        try:
            await bad()
        except RedisError:
            pass
    pipe = db.pipeline()
    pipe.set("s", "v").lpush("s", "x").execute_command("NOSUCH")
    try:
        await pipe.execute()
    except RedisError:
        pass
    await db.aclose()
    print("survived", count)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


@pytest.mark.parametrize("where", ["memory", "file"])
def test_bad_commands_on_async_rlite_never_kill_the_interpreter(
    where: str, tmp_path: Path
) -> None:
    path = ":memory:" if where == "memory" else str(tmp_path / "fuzz.rld")
    result = subprocess.run(
        [sys.executable, "-c", CHILD, path, "7", "600"],
        capture_output=True,
        text=True,
        timeout=300,
        env=CHILD_ENV,
    )
    last = result.stdout.strip().splitlines()[-1:] or ["<nothing>"]
    assert result.returncode == 0, (
        f"exit {result.returncode} after {last[0]}\n{result.stderr[-2000:]}"
    )
    assert last[0] == "survived 600"
