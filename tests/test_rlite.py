"""What is specific to the rlite driver: containment, files, threads, gaps."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from differential_cases import SHAPES
from emulation_support import assert_replays_as, raw
from emulation_support import oracle as oracle  # a fixture
from support import CHILD_ENV

from walrus import DatabaseOpenError, UnsupportedOperation
from walrus.tusks.rlite import WalrusLite

FUZZ = Path(__file__).with_name("rlite_fuzz.py")
# Children import the same walrus as these tests (installed, or a checkout).


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("where", ["memory", "file"])
def test_fuzzed_commands_never_kill_the_interpreter(
    seed: int, where: str, tmp_path: Path
) -> None:
    args = [sys.executable, str(FUZZ), str(seed), "1500"]
    if where == "file":
        args.append(str(tmp_path / "fuzz.rld"))
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=300, env=CHILD_ENV
    )
    last = result.stdout.strip().splitlines()[-1:] or ["<nothing>"]
    assert result.returncode == 0, (
        f"exit {result.returncode} after {last[0]}\n{result.stderr[-2000:]}"
    )
    assert last[0].startswith("survived 1500 commands")


def test_known_native_crash_triggers_are_contained() -> None:
    """Each of these killed the interpreter through stock hirlite or rlite itself."""
    db = WalrusLite()
    db.set("", "empty key")
    assert db.keys("z*") == []  # rlite's matcher crashes with an empty key
    db.rpush("l", "a")
    with pytest.raises(Exception, match="WRONGTYPE"):
        db.zrange("l", 0, -1, withscores=True)  # native crash on a non-zset
    with pytest.raises(Exception, match="unknown command"):
        db.execute_command("NOSUCHCOMMAND")  # an error reply (stock wrapper crashes)
    with pytest.raises(Exception, match="wrong number"):
        db.execute_command("GET")
    db.rpush("nums", 3, 1, 2)
    db.set("w_1", "one")
    assert db.sort("nums", by="nosort", get="w_*", store="out") == 3
    assert db.lrange("out", 0, -1) == [b"", b"one", b""]
    db.set("e", "")
    with pytest.raises(Exception, match="not an integer"):
        db.incr("e")  # native crash on an empty string
    with pytest.raises(Exception, match="not an integer"):
        db.eval("return redis.call('INCR', KEYS[1])", 1, "e")  # ... also from Lua
    assert db.msetnx({"m": 1}) is True  # a repeated key queued two replies:
    assert db.execute_command("MSETNX", "n1", "1", "n1", "2") == 1  # no desync
    assert db.get("n1") == b"2"
    db.close()


def test_lua_through_the_trampoline() -> None:
    """rlite's Lua: big tables, numbers and crashing calls are made safe."""
    db = WalrusLite()
    assert db.eval("return {1,2,3,4,5,6,7,8,9,10}", 0) == list(range(1, 11))
    assert db.eval(
        "return {'a', {'b', 2}, redis.status_reply('OK'), false, 3.9}", 0
    ) == [
        b"a",
        [b"b", 2],
        b"OK",
        None,
        3,
    ]
    db.eval("redis.call('ZADD', KEYS[1], 1, 'a', 2, 'b')", 1, "z")  # two numbers
    assert db.zrange("z", 0, -1, withscores=True) == [(b"a", 1.0), (b"b", 2.0)]
    db.rpush("l", "x")
    with pytest.raises(Exception, match="WRONGTYPE"):
        db.eval("return redis.call('ZRANGE', KEYS[1], 0, -1)", 1, "l")
    with pytest.raises(Exception, match="arguments must be strings"):
        db.eval("return redis.call('GET', nil)", 0)
    script = db.register_script("return ARGV[1] .. KEYS[1]")
    assert script(keys=["k"], args=["v"]) == b"vk"
    assert db.script_exists(script.sha) == [True]
    db.script_flush()  # rlite's own SCRIPT FLUSH would crash the next script
    assert db.script_exists(script.sha) == [False]
    assert script(keys=["k"], args=["w"]) == b"wk"  # reloaded after NOSCRIPT
    with pytest.raises(Exception, match="MYERR"):
        db.eval("return redis.error_reply('MYERR bad')", 0)
    db.close()


def test_plain_multi_belongs_to_the_calling_thread() -> None:
    """MULTI sent as a plain command queues only this thread's commands (as
    redis-py's pool gives each thread its own connection)."""
    db = WalrusLite()
    assert db.execute_command("MULTI") == b"OK"
    db.execute_command("SET", "k", "mine")  # queued
    other = threading.Thread(target=lambda: db.set("other", "now"))
    other.start()
    other.join()
    assert db.get("other") == b"QUEUED"  # this thread is still inside MULTI
    assert db.execute_command("EXEC") == [b"OK", b"now"]
    assert db.get("k") == b"mine"


def test_collection_writes_keep_the_ttl() -> None:
    """rlite drops a key's TTL on HSET, SADD, ZADD, RPUSH ...; Redis does not."""
    db = WalrusLite()
    db.hset("h", "f", "v")
    db.sadd("s", "a")
    db.zadd("z", {"a": 1})
    db.rpush("l", "a")
    for key in ("h", "s", "z", "l"):
        db.expire(key, 100)
    db.hset("h", "g", "w")
    db.sadd("s", "b")
    db.zadd("z", {"b": 2})
    db.rpush("l", "b")
    assert all(0 < db.ttl(key) <= 100 for key in ("h", "s", "z", "l"))


def test_file_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "data.rld"
    db = WalrusLite(str(path))
    db.set("k", "v")
    db.hset("h", mapping={"a": "1", "b": "2"})
    db.zadd("z", {"x": 1.5})
    db.close()
    again = WalrusLite(path)
    assert again.get("k") == b"v"
    assert again.hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert again.zscore("z", "x") == 1.5
    again.close()


def test_another_process_sees_the_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.rld"
    db = WalrusLite(str(path))
    db.set("from-parent", "1")
    code = (
        "import sys; from walrus.tusks.rlite import WalrusLite; "
        "db = WalrusLite(sys.argv[1]); "
        "assert db.get('from-parent') == b'1'; db.set('from-child', '2')"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(path)], check=True, timeout=60, env=CHILD_ENV
    )
    assert db.get("from-child") == b"2"
    db.close()


@pytest.mark.parametrize("where", ["memory", "file"])
def test_threads_sharing_a_database_lose_no_writes(where: str, tmp_path: Path) -> None:
    db = WalrusLite(":memory:" if where == "memory" else str(tmp_path / "t.rld"))
    per_thread = 300 if where == "memory" else 60

    def work(n: int) -> None:
        for i in range(per_thread):
            db.incr("counter")
            db.hincrby("hash", "field", 2)
            db.rpush(f"list:{n}", i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert int(db.get("counter")) == 4 * per_thread
    assert int(db.hget("hash", "field")) == 8 * per_thread
    for n in range(4):  # each thread's order is kept
        assert [int(x) for x in db.lrange(f"list:{n}", 0, -1)] == list(
            range(per_thread)
        )
    db.close()


def test_bad_paths_get_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatabaseOpenError, match="no directory"):
        WalrusLite(str(tmp_path / "missing" / "x.rld"))
    with pytest.raises(DatabaseOpenError, match="a directory"):
        WalrusLite(str(tmp_path))
    foreign = tmp_path / "foreign.rld"
    foreign.write_bytes(b"this is not an rlite database")
    with pytest.raises(DatabaseOpenError, match="not an rlite database"):
        WalrusLite(str(foreign))
    if os.geteuid() != 0:  # root may write anywhere
        readonly = tmp_path / "ro"
        readonly.mkdir(mode=0o500)
        with pytest.raises(DatabaseOpenError, match="read-only"):
            WalrusLite(str(readonly / "x.rld"))


def test_closed_database_raises() -> None:
    db = WalrusLite()
    db.close()
    with pytest.raises(Exception, match="closed"):
        db.get("k")


def test_none_path_is_memory() -> None:
    db = WalrusLite(None)
    db.set("k", "v")
    assert db.path == ":memory:"
    assert db.get("k") == b"v"


def test_abandoned_scans_hold_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from walrus.drivers.rlite.scan_gaps import CursorTable

    monkeypatch.setattr(CursorTable, "max_items", 500)
    db = WalrusLite(":memory:")
    db.hset("h", mapping={f"f{i:04}": i for i in range(1000)})
    cursors = db._core.engine.cursors
    for _ in range(50):  # abandoned after their first page
        db.hscan("h", 0, count=10)
    assert cursors._held <= 500
    # A scan whose snapshot was dropped still returns every field exactly once.
    cursor, page = db.hscan("h", 0, count=10)
    seen = list(page)
    for _ in range(60):
        db.hscan("h", 0, count=10)  # push the first scan's snapshot out
    while cursor:
        cursor, page = db.hscan("h", cursor, count=100)
        seen += list(page)
    assert sorted(seen) == sorted(f"f{i:04}".encode() for i in range(1000))
    assert cursors._held <= 500


# Each of these killed the interpreter (or broke the handle) through rlite; each
# runs in a child process, which must exit normally and print "ok".
CRASH_TRIGGERS = {
    "smove-member-in-both": """
db.sadd('a', 'x'); db.sadd('b', 'x')
assert db.smove('a', 'b', 'x') is True
assert db.smembers('b') == {b'x'} and not db.exists('a')
""",
    "pubsub-numsub-three-channels": """
assert db.pubsub_numsub('a', 'b', 'c') == [(b'a', 0), (b'b', 0), (b'c', 0)]
assert db.execute_command('PUBSUB', 'NUMSUB') == []
""",
    "srandmember-huge-negative-count": """
db.sadd('s', 'x')
try:
    db.srandmember('s', -10_000_000)
except walrus.WalrusError:
    pass
""",
    "numeric-sort-of-an-empty-string": """
db.rpush('l', '', '1'); db.sadd('s', '', '2')
for key in ('l', 's'):
    try:
        db.sort(key)
    except redis.ResponseError as exc:
        assert "can't be converted into double" in str(exc)
    else:
        raise AssertionError('sorted')
assert db.sort('l', alpha=True) == [b'', b'1']
""",
    "setrange-at-512-mb": """
assert db.setrange('k', 536870912, '') == 0 and not db.exists('k')
try:
    db.setrange('k', 536870912, 'x')
except redis.ResponseError as exc:
    assert 'maximum allowed size' in str(exc)
assert not db.exists('k')
""",
    "bit-offsets-of-2-to-the-32": """
db.set('k', 'v')
for call in (lambda: db.getbit('k', 2**32), lambda: db.setbit('k', 2**32, 1),
             lambda: db.setbit('k', 2**63 - 1, 1)):
    try:
        call()
    except redis.ResponseError as exc:
        assert 'bit offset' in str(exc)
    else:
        raise AssertionError('accepted')
assert db.get('k') == b'v'
""",
    "debug-segfault-in-a-transaction": """
pipe = db.pipeline()
pipe.set('k', 'v'); pipe.execute_command('DEBUG', 'SEGFAULT')
try:
    pipe.execute()
except redis.ResponseError:
    pass
assert db.get('k') is None
""",
    "multi-queued-by-hand": """
pipe = db.pipeline()
pipe.execute_command('MULTI'); pipe.set('k', 'v')
try:
    pipe.execute()
except redis.ResponseError:
    pass
assert db.get('k') is None and db.set('k', 'w') is True and db.get('k') == b'w'
""",
    "unsubscribe-in-a-transaction": """
pipe = db.pipeline()
pipe.execute_command('UNSUBSCRIBE'); pipe.set('k', 'v')
try:
    pipe.execute()
except redis.ResponseError:
    pass
assert db.get('k') is None
""",
}


@pytest.mark.parametrize("where", ["memory", "file"])
def test_crash_triggers_run_in_a_child(where: str, tmp_path: Path) -> None:
    """Every trigger in one child, each on an emptied database: a death or a
    failed check names the trigger."""
    path = ":memory:" if where == "memory" else str(tmp_path / "crash.rld")
    code = ["import redis, walrus", "from walrus.tusks.rlite import WalrusLite"]
    code.append(f"db = WalrusLite({path!r})")
    for name in sorted(CRASH_TRIGGERS):
        code += [f"print({name!r}, flush=True)", "db.flushdb()", CRASH_TRIGGERS[name]]
    code.append("print('ok')")
    result = subprocess.run(
        [sys.executable, "-c", "\n".join(code)],
        capture_output=True,
        text=True,
        timeout=600,
        env=CHILD_ENV,
    )
    last = result.stdout.split()[-1:] or ["(none)"]
    assert result.returncode == 0, (
        f"exit {result.returncode} in {last[0]}: {result.stderr[-2000:]}"
    )
    assert last == ["ok"]


@pytest.mark.parametrize("case", sorted(SHAPES))
@pytest.mark.parametrize("where", ["memory", "file"])
def test_same_replies_as_valkey(
    oracle: Any, where: str, case: str, tmp_path: Path
) -> None:
    """The routing sends each shape rlite would answer wrongly to the
    emulation (or through a guard): replies as Valkey's, step by step."""
    db = raw(WalrusLite(":memory:" if where == "memory" else str(tmp_path / "s.rld")))
    try:
        assert_replays_as(oracle, db, case, SHAPES[case])
    finally:
        db.close()


def test_subnormal_scores_are_refused_before_anything_is_written() -> None:
    """rlite stores a subnormal double as garbage (5e-324 read back as
    -1.6e+293): refused as unsupported, whichever command computes it."""
    db = WalrusLite()
    db.zadd("z", {"a": 1})
    for call in (
        lambda: db.zadd("z", {"tiny": 4.9e-324, "b": 2}),
        lambda: db.zincrby("z", -4.9e-324, "x"),
        lambda: db.execute_command("ZADD", "z", "LT", "1e-320", "a"),
        lambda: db.zunionstore("u", {"z": 1e-310}),
    ):
        with pytest.raises(UnsupportedOperation, match="subnormal"):
            call()
    assert db.zrange("z", 0, -1, withscores=True) == [(b"a", 1.0)]
    assert not db.exists("u")
    db.close()


EXPIRING_ROUTES = {
    "set-px": lambda db: db.set("gone", "v", px=1),
    "psetex": lambda db: db.psetex("gone", 1, "v"),
    "pexpire": lambda db: (db.sadd("gone", "m"), db.pexpire("gone", 1)),
    "transaction": lambda db: (
        db.pipeline().set("gone", "v").pexpire("gone", 1).execute()
    ),
    "getex": lambda db: (db.set("gone", "v"), db.getex("gone", px=1)),
    "lua": lambda db: db.eval(
        "redis.call('SET', KEYS[1], 'v') return redis.call('PEXPIRE', KEYS[1], 1)",
        1,
        "gone",
    ),
}


@pytest.mark.parametrize("route", sorted(EXPIRING_ROUTES))
def test_keys_and_dbsize_leave_out_an_expired_key(route: str) -> None:
    """In memory KEYS, SCAN and DBSIZE trust rlite's own list until a key may
    have a TTL: each way of giving one must be noticed (rlite still lists a
    key whose TTL has passed)."""
    import time

    db = WalrusLite()
    db.set("kept", "v")
    assert len(db) == 1 and list(db) == [b"kept"]
    EXPIRING_ROUTES[route](db)
    time.sleep(0.01)
    assert db.keys() == [b"kept"]
    assert list(db) == [b"kept"]
    assert len(db) == db.dbsize() == 1
    db.close()
