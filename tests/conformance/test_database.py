"""The Database extras, on every backend and in both reply modes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import WatchError
from support import Backend, record_unsupported, round_trips, text

import walrus
from walrus import (
    Capability,
    MissingKey,
    UnknownScript,
    UnsupportedOperation,
    WrongType,
)
from walrus.scripts import TWINS, twin


def test_strings_round_trip_unicode_and_bytes(db: Any) -> None:
    db.set("walrus", "tusk ü 北京")
    assert db.get("walrus") == text(db, "tusk ü 北京")
    db.set("raw", b"\x00\x01")
    assert (
        db.get(
            "raw",
        )
        is not None
    )
    assert db.get("not-here") is None


@pytest.mark.sync_only("db[key]: redis-py's sync client spelling")
def test_database_item_spelling(db: Any) -> None:
    db["walrus"] = "tusk ü 北京"
    assert db["walrus"] == text(db, "tusk ü 北京")
    with pytest.raises(KeyError):
        db["not-here"]


def test_iterate_len_and_search(db: Any) -> None:
    names = [f"user:{i}" for i in range(25)] + ["other"]
    with db.pipeline(transaction=False) as pipe:  # keys of every cluster slot
        for name in names:
            pipe.set(name, 1)
        pipe.execute()
    assert sorted(db) == sorted(text(db, n) for n in names)
    assert len(db) == 26
    assert sorted(db.search("user:1*")) == sorted(
        text(db, n) for n in names if n.startswith("user:1")
    )
    assert list(db.search("nothing*")) == []


def test_iteration_skips_expired_keys(db: Any) -> None:
    db.set("stays", 1)
    db.set("goes", 1, px=20)
    time.sleep(0.05)
    assert list(db) == [text(db, "stays")]
    assert len(db) == 1


def test_a_write_whose_deadline_has_passed_deletes_the_key(db: Any) -> None:
    """SET ... PXAT/EXAT and GETEX ... EXAT in the past, as EXPIREAT in the
    past: the key is gone, and no longer counted (found by the fuzzer)."""
    db.set("kept", 1)
    db.set("new", 1, pxat=1)
    db.set("old", "x")
    assert db.set("old", "y", exat=1)
    db.set("read", "v")
    assert db.getex("read", exat=1) == text(db, "v")
    db.rpush("list", "a")
    assert db.pexpireat("list", 1)
    assert db.dbsize() == 1 == len(db)
    assert db.exists("new", "old", "read", "list") == 0


def test_an_empty_string_keeps_its_deadline(db: Any) -> None:
    """``SET k "" PXAT`` (with GET too) keeps the TTL, as for any value
    (rlite lost it; found by the fuzzer)."""
    deadline = int(time.time() * 1000) + 100_000
    assert db.set("plain", "", pxat=deadline)
    assert db.set("read", "", pxat=deadline, get=True) is None
    assert db.set("twice", "", exat=deadline // 1000, nx=True)
    for key in ("plain", "read", "twice"):
        assert 0 < db.pttl(key) <= 100_000
        assert db.get(key) == text(db, "")


def test_iteration_round_trips(db: Any, backend: Backend) -> None:
    with db.pipeline(transaction=False) as pipe:  # keys of every cluster slot
        for i in range(2500):
            pipe.set(f"k{i}", i)
        pipe.execute()
    if not backend.server:
        assert len(list(db)) == 2500
        return
    with round_trips(db) as counter:
        assert len(list(db)) == 2500
    # per node (every primary of a cluster): a SCAN per 1,000 keys, one to end
    nodes = len(db.get_primaries()) if backend.name == "cluster" else 1
    assert counter.round_trips <= nodes * (2500 // nodes // 1000 + 2)


def test_get_temp_key_is_new_each_time(db: Any) -> None:
    first, second = db.get_temp_key(), db.get_temp_key()
    assert first != second
    assert first.startswith("temp.")
    assert not db.exists(first)


def test_get_key_on_missing_key(db: Any) -> None:
    with pytest.raises(MissingKey, match="nope"):
        db.get_key("nope")


def test_cas(db: Any) -> None:
    db.set("k", "old", px=60_000)
    assert db.cas("k", "wrong", "new") is False
    assert db.get("k") == text(db, "old")
    assert db.cas("k", "old", "new") is True
    assert db.get("k") == text(db, "new")
    assert 0 < db.pttl("k") <= 60_000  # the TTL is kept
    assert db.cas("missing", "x", "y") is False
    assert not db.exists("missing")


def test_cas_matches_a_prefix(db: Any) -> None:
    """As in walrus 0.9, the expected value is a prefix of the current one."""
    db.set("k", "v1")
    assert db.cas("k", "v1", "v1-x") is True
    assert db.cas("k", "v1-z", "v1-y") is False
    assert db.cas("k", "v1-", "v2") is True
    assert db.cas("k", "v1", "v3") is False
    assert db.get("k") == text(db, "v2")
    assert db.cas("k", "", "v4") is True  # the empty prefix matches any value
    assert db.cas("k", "v4-longer", "v5") is False  # longer than the value
    assert db.cas("missing", "", "y") is False
    db.set("raw", b"\x00\x01tail")  # bytes compare, NUL included
    assert db.cas("raw", b"\x00\x02", b"no") is False
    assert db.cas("raw", b"\x00\x01", b"yes") is True
    assert db.get("raw") == text(db, "yes")


def test_cas_lua_and_twin_agree(redis_db: Any) -> None:
    """lua/cas.lua (on the server) and its Python twin give the same replies."""

    def call(*command: Any) -> Any:
        return redis_db.execute_command(*command, NEVER_DECODE=[])

    steps = [
        (b"v1", b"v1-x", b"0"),
        (b"v1-z", b"v1-y", b"0"),
        (b"v1-", b"v2", b"0"),
        (b"v1", b"v3", b"0"),
        (b"", b"v22", b"0"),
        (b"v2", b"v4", b"1"),
        (b"v22", b"v4", b"1"),
        (b"v4-and-more", b"v5", b"0"),
    ]
    redis_db.set("lua", "v1", px=60_000)
    redis_db.set("py", "v1", px=60_000)
    for expected, new, exact in steps:
        lua = redis_db.scripts.run("cas", ["lua"], [expected, new, exact])
        python = TWINS["cas"](call, [b"py"], [expected, new, exact])
        assert lua == python, (expected, new, exact)
        assert redis_db.get("lua") == redis_db.get("py")
    assert abs(redis_db.pttl("lua") - redis_db.pttl("py")) <= 50
    for side in ("lua", "py"):  # a missing key, and the 0.9 call with two arguments
        redis_db.delete(side)
    assert redis_db.scripts.run("cas", ["lua"], [b"", b"x"]) == 0
    assert TWINS["cas"](call, [b"py"], [b"", b"x"]) == 0
    redis_db.set("lua", "abc")
    redis_db.set("py", "abc")
    assert redis_db.scripts.run("cas", ["lua"], [b"ab", b"x"]) == 1
    assert TWINS["cas"](call, [b"py"], [b"ab", b"x"]) == 1


def test_cas_exact(db: Any) -> None:
    db.set("k", "v10")
    assert db.cas("k", "v1", "x", exact=True) is False
    assert db.get("k") == text(db, "v10")
    assert db.cas("k", "v10", "x", exact=True) is True
    assert db.get("k") == text(db, "x")


def test_cas_on_a_key_of_another_type(db: Any) -> None:
    db.rpush("a-list", "x")
    with pytest.raises(WrongType):
        db.cas("a-list", "x", "y")
    assert db.lrange("a-list", 0, -1) == [text(db, "x")]


def test_cas_is_one_round_trip(db: Any, backend: Backend) -> None:
    db.set("k", "v")
    with round_trips(db) as counter:
        assert db.cas("k", "v", "w") is True
    if backend.server:
        assert counter.round_trips == 1
    assert db.get("k") == text(db, "w")


def test_cas_under_contention(db: Any) -> None:
    """Concurrent increments through cas lose nothing."""
    db.set("n", "0")

    def bump() -> None:
        for _ in range(50):
            while True:
                current = db.get("n")
                if db.cas("n", current, str(int(current) + 1), exact=True):
                    break

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert int(db.get("n")) == 200


def test_run_script_by_name(db: Any) -> None:
    db.set("k", "a")
    assert db.run_script("cas", keys=["k"], args=["a", "b"]) == 1
    assert db.get("k") == text(db, "b")
    with pytest.raises(UnknownScript):
        db.run_script("no-such-script", keys=["k"])


def test_user_scripts_from_script_dir(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "double.lua").write_text(
        "-- KEYS[1] a key; returns twice its integer value\n"
        "return 2 * tonumber(redis.call('GET', KEYS[1]))\n"
    )
    database = backend.open(script_dir=str(tmp_path))
    try:
        database.set("n", 21)
        if Capability.LUA in database.capabilities:
            assert database.run_script("double", keys=["n"]) == 42
            return
        with pytest.raises(UnsupportedOperation) as info:
            database.run_script("double", keys=["n"])
        record_unsupported(str(backend), "database", info.value)

        @twin("double")  # a Python twin makes it run where Lua cannot
        def double(call: Any, keys: list[bytes], args: list[bytes]) -> int:
            return 2 * int(call(b"GET", keys[0]))

        try:
            assert database.run_script("double", keys=["n"]) == 42
        finally:
            del TWINS["double"]
    finally:
        database.flushdb()
        database.close()


def test_script_dir_must_exist(backend: Backend, tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        backend.open(script_dir=str(tmp_path / "missing"))


def test_atomic_commits_on_exit(db: Any, backend: Backend) -> None:
    if backend.server:
        with round_trips(db) as counter, db.atomic():
            db.pipe.set("a", 1)
            db.pipe.incr("a")
            assert db.get("a") is None  # not yet committed
        assert counter.round_trips == 2  # the GET inside, then one for the block
    else:
        with db.atomic():
            db.pipe.set("a", 1)
            db.pipe.incr("a")
            assert db.get("a") is None
    assert db.get("a") == text(db, "2")
    assert db.atomic_results() == [True, 2]


def test_atomic_discards_on_exception(db: Any) -> None:
    with pytest.raises(ZeroDivisionError), db.atomic():
        db.pipe.set("a", 1)
        1 / 0  # noqa: B018
    assert db.get("a") is None


def test_nested_atomic_commits_on_exit(db: Any) -> None:
    with db.atomic() as outer:
        outer.set("{t}kept", 1)  # one hash tag: a cluster transaction is one slot
        with pytest.raises(ValueError), db.atomic():
            db.pipe.set("{t}dropped", 1)
            raise ValueError
        with db.atomic():
            db.pipe.set("{t}inner", 1)
        assert db.exists("{t}inner")  # committed when the inner block ended
        assert not db.exists("{t}kept")
        assert db.pipe is outer.pipe
    assert db.exists("{t}kept", "{t}inner") == 2
    assert not db.exists("{t}dropped")


def test_pipe_outside_atomic(db: Any) -> None:
    with pytest.raises(RuntimeError):
        db.pipe  # noqa: B018


def test_watch_detects_a_concurrent_write(db: Any) -> None:
    db.set("w", 1)
    with db.pipeline() as pipe:
        pipe.watch("w")
        db.set("w", 2)  # another client changes it
        pipe.multi()
        pipe.set("w", 3)
        with pytest.raises(WatchError):
            pipe.execute()
    assert db.get("w") == text(db, "2")
    with db.pipeline() as pipe:
        pipe.watch("w")
        pipe.multi()
        pipe.set("w", 4)
        assert pipe.execute() == [True]
    assert db.get("w") == text(db, "4")


SAME_VALUE_WRITES: dict[str, Callable[[Any], Any]] = {
    "HSET": lambda db: db.hset("w", "f", "v"),
    "HSET several": lambda db: db.hset("w", mapping={"f": "v", "g": "x"}),
    "HMSET": lambda db: db.hmset("w", {"f": "v"}),
    "SET": lambda db: db.set("s", "v"),
    "SET GET": lambda db: db.set("s", "v", get=True),
    "MSET": lambda db: db.mset({"s": "v"}),
    "LSET": lambda db: db.lset("l", 0, "v"),
}


@pytest.mark.parametrize("write", SAME_VALUE_WRITES)
def test_watch_sees_a_write_of_the_value_a_key_holds(db: Any, write: str) -> None:
    """Redis counts these writes as modifying the key even when they leave
    its value as it was (an engine may skip rewriting its storage)."""
    db.hset("w", mapping={"f": "v", "g": "x"})
    db.set("s", "v")
    db.rpush("l", "v")
    key = {"H": "w", "S": "s", "M": "s", "L": "l"}[write[0]]
    before = db.dump(key)
    with db.pipeline() as pipe:
        pipe.watch(key)
        SAME_VALUE_WRITES[write](db)  # another client writes what it holds
        pipe.multi()
        pipe.delete(key)
        with pytest.raises(WatchError):
            pipe.execute()
    assert db.dump(key) == before


def test_blocking_pop_wakes_on_push(db: Any) -> None:
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(db.blpop(["q"], timeout=5)))
    waiter.start()
    time.sleep(0.1)
    db.rpush("q", "job")
    waiter.join(5)
    assert got == [(text(db, "q"), text(db, "job"))]
    assert db.blpop(["q"], timeout=0.1) is None


@pytest.mark.sync_only("listener() runs a thread; async code reads db.pubsub()")
def test_listener_receives_messages(db: Any) -> None:
    received: list[dict[str, Any]] = []

    @db.listener(channels=["news"], patterns=["sport.*"], is_async=True)
    def handle(**message: Any) -> None:
        received.append(message)
        if len(received) == 2:
            raise StopIteration

    thread = handle()
    assert isinstance(thread, threading.Thread)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and thread.is_alive() and len(received) < 2:
        db.publish("news", "hello")
        db.publish("sport.chess", "mate")
        time.sleep(0.05)
    thread.join(5)
    assert not thread.is_alive()
    assert {m["type"] for m in received} <= {"message", "pmessage"}
    assert all(set(m) == {"type", "pattern", "channel", "data"} for m in received)


@pytest.mark.sync_only("listener() runs a thread; async code reads db.pubsub()")
def test_listener_needs_a_channel(db: Any) -> None:
    with pytest.raises(ValueError):
        db.listener()


def test_stream_log_sees_commands(db: Any, backend: Backend) -> None:
    lines: list[Any] = []

    def callback(line: Any) -> bool:
        lines.append(line)
        return "walrus-marker" not in str(line)

    watcher = threading.Thread(target=db.stream_log, args=(callback,))
    watcher.start()
    deadline = time.monotonic() + 5
    other = backend.open()
    try:
        while watcher.is_alive() and time.monotonic() < deadline:
            other.set("walrus-marker", 1) if backend.server else db.set(
                "walrus-marker", 1
            )
            time.sleep(0.05)
    finally:
        other.close() if backend.server else None
    watcher.join(5)
    assert not watcher.is_alive()
    assert any("walrus-marker" in str(line) for line in lines)


def test_xsetid(db: Any, backend: Backend) -> None:
    if Capability.STREAMS not in db.capabilities:
        with pytest.raises(UnsupportedOperation) as info:
            db.xsetid("stream", "5-0")
        record_unsupported(str(backend), "database", info.value)
        return
    db.xadd("stream", {"a": 1}, id="1-1")
    assert db.xsetid("stream", "5-0") is True
    assert db.xinfo_stream("stream")["last-generated-id"] == text(db, "5-0")


def test_walrus_alias_and_exports() -> None:
    assert walrus.Walrus is walrus.Database
    assert set(walrus.__all__) <= set(dir(walrus))
