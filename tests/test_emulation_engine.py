"""The emulation engine's own contracts: what it reports as modified (for
WATCH), what it writes to its store, numbered databases, bounded scans and
glob matching, DUMP/RESTORE between backends, blocking multi-key pops."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import redis
from emulation_support import ENGINES, open_engine

from walrus.drivers import glob
from walrus.drivers.emulation import EmulationEngine, Entry, MemoryStore, engine
from walrus.drivers.memory import MemoryDatabase, memory_engine
from walrus.exceptions import CommandError


def _run(db: EmulationEngine, line: str) -> Any:
    return db.execute([part.encode() for part in line.split()])


# -- modified keys (WATCH) and store writes -------------------------------------------
# (setup, command that changes nothing) as Redis 7.0 sees it: no WATCH breaks.
NO_CHANGE = [
    ("SADD s a", "SREM s b"),
    ("SADD s a", "SADD s a"),
    ("SADD s a", "SMOVE s s a"),
    ("SET k 0", "SETBIT k 0 0"),
    ("SET k 0", "SETRANGE k 0 ''"),
    ("SET k 0", "PERSIST k"),
    ("SET k 0", "GETEX k PERSIST"),
    ("SET k 0", "EXPIRE k 100 XX"),
    ("SET k 0", "MSETNX k 1 j 2"),
    ("HSET h f v", "HDEL h g"),
    ("HSET h f v", "HSETNX h f w"),
    ("ZADD z 1 a", "ZADD z 1 a"),
    ("ZADD z 1 a", "ZADD z GT 0 a"),
    ("ZADD z 1 a", "ZREM z b"),
    ("ZADD z 1 a", "ZREMRANGEBYSCORE z 5 6"),
    ("RPUSH l a", "LREM l 0 b"),
    ("RPUSH l a", "LINSERT l BEFORE b c"),
    ("RPUSH l a", "LPOP l 0"),
    ("PFADD p a", "PFADD p a"),
    ("SET k 0", "BITFIELD k GET u8 0"),
    ("XADD x 1-1 f v", "XDEL x 2-2"),
    ("XADD x 1-1 f v", "XTRIM x MAXLEN 5"),
    ("SET k 0", "RENAME k k"),
    ("SET k 0", "DEL nokey"),
    ("SET k 0", "SINTERSTORE nokey nokey2 nokey3"),
]


class CountingStore(MemoryStore):
    """A MemoryStore that counts the writes it is told about."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def put(self, key: bytes, entry: Entry) -> None:
        self.writes += 1
        super().put(key, entry)

    def remove(self, key: bytes) -> None:
        self.writes += 1
        super().remove(key)

    def changed(self, key: bytes, entry: Entry, members: Iterable[Any]) -> None:
        self.writes += 1

    def meta_changed(self, key: bytes, entry: Entry) -> None:
        self.writes += 1

    def database(self, index: int) -> CountingStore:
        return CountingStore()


@pytest.mark.parametrize(("setup", "noop"), NO_CHANGE, ids=[c for _, c in NO_CHANGE])
def test_a_write_that_changes_nothing_is_no_modification(setup: str, noop: str) -> None:
    store = CountingStore()
    db = EmulationEngine(store, "test", frozenset())
    _run(db, setup)
    assert db.take_modified()
    before = store.writes
    _run(db, noop.replace("''", ""))
    assert db.take_modified() == set()
    assert store.writes == before  # nothing reached the store either


def test_modified_keys_are_per_database() -> None:
    db = memory_engine()
    _run(db, "SET a 1")
    _run(db, "SADD s x")
    assert db.take_modified() == {(0, b"a"), (0, b"s")}
    assert db.take_modified() == set()
    _run(db, "SMOVE s t x")  # the source is emptied (deleted), the target made
    assert db.take_modified() == {(0, b"s"), (0, b"t")}
    _run(db, "MOVE a 3")
    assert db.take_modified() == {(0, b"a"), (3, b"a")}
    db.select(3)
    _run(db, "SET b 1")
    assert db.take_modified() == {(3, b"b")}
    _run(db, "SWAPDB 3 5")  # keys of either database, in both
    assert db.take_modified() == {(d, k) for d in (3, 5) for k in (b"a", b"b")}
    _run(db, "FLUSHALL")
    assert db.take_modified() == {(5, b"a"), (5, b"b"), (0, b"t")}
    _run(db, "SET gone 1 PX 1")
    db.take_modified()
    time.sleep(0.01)
    assert _run(db, "GET gone") is None
    assert db.take_modified() == {(3, b"gone")}  # an expiry is a deletion


def test_ltrim_that_keeps_everything_counts_as_a_change() -> None:
    """Redis 7.0 signals every LTRIM of an existing list (Valkey 9 does not)."""
    db = memory_engine()
    _run(db, "RPUSH l a b")
    db.take_modified()
    _run(db, "LTRIM l 0 -1")
    assert db.take_modified() == {(0, b"l")}


def test_modified_keys_are_bounded() -> None:
    db = memory_engine()
    for i in range(engine.MODIFIED_LIMIT + 1):
        db.execute([b"SET", b"k%d" % i, b"v"])
    assert db.take_modified() is None  # too many: "everything"
    assert db.take_modified() == set()


def test_modified_keys_are_not_recorded_once_not_kept() -> None:
    """``take_modified(False)`` (nobody watches): the writes after it are
    not recorded, and the next call answers "unknown" and records again."""
    db = memory_engine()
    db.execute([b"SET", b"a", b"1"])
    assert db.take_modified(False) == {(0, b"a")}
    db.execute([b"SET", b"b", b"1"])
    assert db._modified is None  # nothing recorded: no cost per write
    assert db.take_modified() is None
    db.execute([b"SET", b"c", b"1"])
    assert db.take_modified() == {(0, b"c")}


def test_a_watch_sees_writes_after_unwatched_ones() -> None:
    """Writes while nobody watches are not recorded; a WATCH that follows
    still fails its transaction on a change, and only on a change."""
    db = MemoryDatabase()
    other = db.client()
    with db.pipeline() as pipe:  # a watch and its end: recording stops
        pipe.watch("k")
        pipe.multi()
        pipe.set("k", "1")
        pipe.execute()
    db.set("k", "2")  # the fast path, unrecorded
    assert db._core.engine._modified is None
    for write, aborted in ((False, False), (True, True)):
        with db.pipeline() as pipe:
            pipe.watch("k")
            if write:
                other.set("k", "3")
            pipe.multi()
            pipe.set("w", "x")
            if aborted:
                with pytest.raises(redis.WatchError):
                    pipe.execute()
            else:
                assert pipe.execute() == [True]


# -- numbered databases ---------------------------------------------------------------
@pytest.mark.parametrize("name", ENGINES)
def test_databases_are_separate_and_vedis_keeps_them(tmp_path: Path, name: str) -> None:
    db = open_engine(name, tmp_path)
    other = db.client(db=7)
    try:
        db.set("k", "zero")
        other.set("k", "seven")
        other.hset("h", "f", "v")
        assert db.get("k") == b"zero" and other.get("k") == b"seven"
        assert db.move("k", 5) and not db.exists("k")
        assert db.swapdb(0, 7) and db.hget("h", "f") == b"v"
        other.flushdb()
        assert db.dbsize() == 2 and other.dbsize() == 0
    finally:
        other.close()
        db.close()
    if name == "vedis-file":  # reopened: each database kept its own keys
        db = open_engine(name, tmp_path)
        try:
            assert db.dbsize() == 2 and db.get("k") == b"seven"
            db.execute_command("SELECT", 5)
            assert db.get("k") == b"zero"
            db.flushall()
        finally:
            db.close()


def test_an_engine_over_a_plain_store_has_database_0_only() -> None:
    class Plain(MemoryStore):
        database = None  # type: ignore[assignment]

    db = EmulationEngine(Plain(), "plain", frozenset())
    assert db.databases == 1
    assert _run(db, "MOVE k 1").message == "ERR DB index is out of range"
    with pytest.raises(ValueError):
        db.select(1)


# -- DUMP / RESTORE ----------------------------------------------------------------
def test_dump_restores_on_every_backend(tmp_path: Path) -> None:
    source = open_engine("memory", tmp_path)
    source.rpush("l", "a", "", "\x00")
    source.zadd("z", {"a": 1.5, "b": float("-inf")})
    source.xadd("x", {"f": "v"}, id="1-1")
    source.xgroup_create("x", "g", id="0")
    payloads = {key: source.dump(key) for key in ("l", "z", "x")}
    source.close()
    for name in ENGINES[1:]:
        db = open_engine(name, tmp_path)
        try:
            for key, payload in payloads.items():
                assert db.restore(key, 0, payload)
                assert db.dump(key) == payload
            assert db.lrange("l", 0, -1) == [b"a", b"", b"\x00"]
            assert db.xinfo_groups("x")[0]["name"] == b"g"
            for broken in (payloads["l"][:-1], b"x" * 20, payloads["l"][:5]):
                with pytest.raises(CommandError, match="checksum are wrong"):
                    db.restore("other", 0, broken)
            assert not db.exists("other")
        finally:
            db.flushall()
            db.close()


def test_restore_refuses_a_payload_that_does_not_parse() -> None:
    from walrus.drivers.emulation.dump import _checksum

    db = memory_engine()
    body = b"W\x01" + b"\x05\x01a" + (1).to_bytes(2, "little")  # 5 items, 1 given
    reply = db.execute([b"RESTORE", b"k", b"0", body + _checksum(body)])
    assert reply.message == "ERR Bad data format"


# -- scans and globs ---------------------------------------------------------------
def test_abandoned_scans_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "SCAN_BUDGET", 2_500)
    db = memory_engine()
    db.execute([b"HSET", b"h", *(b"f%d" % (i // 2) for i in range(2_000))])
    for _ in range(10):  # each abandoned after one step: a 1,000-field snapshot
        assert db.execute([b"HSCAN", b"h", b"0"])[0] != b"0"
    assert len(db._scans) == 2 and db._scanned == 2_000
    assert db._scanned == sum(len(items) for items, _ in db._scans.values())
    cursor = db.execute([b"HSCAN", b"h", b"0", b"COUNT", b"400"])[0]
    seen: set[bytes] = set()
    while cursor != b"0":  # a scan in progress finishes (the newest are kept)
        cursor, step = db.execute([b"HSCAN", b"h", cursor, b"COUNT", b"400"])
        seen.update(step[::2])
    assert len(seen) == 600  # and its snapshot is released (it had evicted one)
    assert len(db._scans) == 1 and db._scanned == 1_000


def test_glob_is_one_implementation() -> None:
    assert engine.glob_matcher is glob.glob_matcher


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        (b"*a" * 50 + b"*b", b"a" * 100),
        (b"a*" * 30 + b"c", b"a" * 100),
        (b"*?" * 40 + b"[b]", b"a" * 100),
        (b"*" + b"a?" * 20 + b"*c*", b"ab" * 60),
        (b"*[a-z]*[0-9]" * 10 + b"x", b"a1" * 50),
    ],
)
def test_glob_steps_are_bounded(pattern: bytes, value: bytes) -> None:
    matched, steps = glob.match_steps(pattern, value)
    assert not matched
    assert steps <= len(pattern) * len(value)


def test_glob_agrees_with_a_backtracking_reference() -> None:
    def reference(pattern: bytes, value: bytes) -> bool:  # plain glob, no classes
        if not pattern:
            return not value
        if pattern[:1] == b"*":
            return any(reference(pattern[1:], value[i:]) for i in range(len(value) + 1))
        return (
            bool(value)
            and pattern[:1] in (b"?", value[:1])
            and reference(pattern[1:], value[1:])
        )

    rng = random.Random(15)
    for _ in range(3_000):
        pattern = bytes(rng.choice(b"ab*?") for _ in range(rng.randint(1, 7)))
        value = bytes(rng.choice(b"ab") for _ in range(rng.randint(1, 7)))
        assert glob.glob_match(pattern, value) == reference(pattern, value)


# -- blocking multi-key pops ----------------------------------------------------------
@pytest.mark.parametrize("name", ENGINES)
def test_blmpop_and_bzmpop_wake_on_a_write(tmp_path: Path, name: str) -> None:
    db = open_engine(name, tmp_path)
    try:
        pusher = threading.Timer(0.1, lambda: db.rpush("l", "a", "b"))
        pusher.start()
        assert db.blmpop(0, 2, "none", "l", direction="RIGHT", count=5) == [
            b"l",
            [b"b", b"a"],
        ]
        adder = threading.Timer(0.1, lambda: db.zadd("z", {"m": 2}))
        adder.start()
        reply = db.execute_command("BZMPOP", 0, 1, "z", "MIN")
        assert reply == [b"z", [[b"m", b"2"]]]
        assert db.blmpop(0.05, 1, "none", direction="LEFT") is None
        pusher.join()
        adder.join()
    finally:
        db.close()


# -- hangs: each trigger runs in a child process, which must answer in time ---------
HANG_TRIGGERS = {
    # Python's LCS table: about a second per 4 million cells; Redis refuses
    # beyond 2**27 cells, the embedded engines beyond LCS_MAX_CELLS.
    "lcs-of-long-strings": """
db.set('a', 'ab' * 50_000); db.set('b', 'ba' * 50_000)
for options in ([], ['LEN'], ['IDX']):
    try:
        db.execute_command('LCS', 'a', 'b', *options)
    except redis.ResponseError as exc:
        assert 'LCS refused' in str(exc), exc
    else:
        raise AssertionError('answered')
db.set('a', 'x' * 1000 + 'common'); db.set('b', 'common' + 'y' * 1000)
assert db.execute_command('LCS', 'a', 'b') == b'common'
""",
    "random-picks-beyond-any-reply": """
db.sadd('s', 'a'); db.zadd('z', {'a': 1}); db.hset('h', 'a', 1)
for command in (['SRANDMEMBER', 's', -(2**63 - 1)],
                ['ZRANDMEMBER', 'z', -(2**62), 'WITHSCORES'],
                ['HRANDFIELD', 'h', -(2**40)]):
    try:
        db.execute_command(*command)
    except redis.ResponseError as exc:
        assert 'out of range' in str(exc), exc
    else:
        raise AssertionError('answered')
""",
}

_HANG_CHILD = """
import sys, redis
from walrus.drivers.memory import MemoryDatabase
from walrus.tusks.rlite import WalrusLite
for db in (MemoryDatabase(), WalrusLite(':memory:')):
    exec(sys.argv[1])
print('ok')
"""


@pytest.mark.parametrize("trigger", sorted(HANG_TRIGGERS))
def test_hang_triggers_answer_in_a_child(trigger: str) -> None:
    started = time.monotonic()
    child = subprocess.run(
        [sys.executable, "-c", _HANG_CHILD, HANG_TRIGGERS[trigger]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip() == "ok"
    assert time.monotonic() - started < 60  # answered, not computed for hours
