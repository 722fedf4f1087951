"""The rlite call path: compiled and ctypes alike, and the fast path above it.

``walrus.drivers.embedded._native`` (compiled by the build hook when a C
compiler is at hand) and the ctypes fallback must give the same replies,
error replies included, and neither may let a bad argument kill the
interpreter. ``EmbeddedDatabase.execute_command`` runs plain commands
straight on the engine while nobody watches, waits or monitors: what the
core would have done otherwise (WATCH versions, TTLs kept) must still hold.
"""

from __future__ import annotations

import importlib.util
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import redis
from support import CHILD_ENV

import walrus
from walrus.drivers.embedded.database import _pack_utf8
from walrus.drivers.embedded.types import ErrorReply
from walrus.drivers.memory import MemoryDatabase
from walrus.drivers.rlite.native import compiled, library
from walrus.exceptions import EngineError
from walrus.tusks.rlite import WalrusLite
from walrus.tusks.vedisdb import WalrusVedis

ROOT = Path(walrus.__file__).parents[1]
FUZZ = Path(__file__).with_name("rlite_fuzz.py")
# the compiled call in use (built, and not turned off by WALRUS_RLITE_CTYPES=1)
needs_compiled = pytest.mark.skipif(
    not library().compiled, reason="the C accelerator is not built or not in use"
)

COMMANDS: list[list[bytes]] = [
    [b"SET", b"k", b"v"],
    [b"GET", b"k"],
    [b"GET", b"missing"],
    [b"SET", b"bin\x00key", bytes(range(256))],
    [b"GET", b"bin\x00key"],
    [b"SET", b"", b""],
    [b"GET", b""],
    [b"INCR", b"n"],
    [b"INCRBY", b"n", b"-5"],
    [b"HMSET", b"h", *[b"f%d" % i for i in range(40)]],  # more than 16 arguments
    [b"HGETALL", b"h"],
    [b"RPUSH", b"l", b"a", b"b", b"c"],
    [b"LRANGE", b"l", b"0", b"-1"],
    [b"ZADD", b"z", b"1.5", b"a", b"2", b"b"],
    [b"ZRANGE", b"z", b"0", b"-1", b"WITHSCORES"],
    [b"HGET", b"l", b"x"],  # WRONGTYPE
    [b"NOSUCHCOMMAND", b"x"],  # rlite's message has no ERR: one is added
    [b"GET"],  # wrong arity
    [b"INCR", b"k"],  # not an integer
    [b"MSETNX", b"m", b"1", b"m", b"2"],  # queues a second reply: drained
    [b"GET", b"m"],
    [b"PING"],
    [b"KEYS", b"*"],
]


def _replies(call: Any) -> list[Any]:
    lib = library()
    handle = lib.connect(b":memory:", 0)
    try:
        return [call(handle, command) for command in COMMANDS]
    finally:
        lib.free(handle)


def test_ctypes_replies() -> None:
    replies = _replies(library().ctypes_call)
    assert replies[1] == b"v" and replies[2] is None
    assert replies[4] == bytes(range(256)) and replies[6] == b""
    assert replies[7:9] == [1, -4]
    assert sorted(replies[10]) == sorted(b"f%d" % i for i in range(40))
    assert replies[12] == [b"a", b"b", b"c"]
    assert replies[14][::2] == [b"a", b"b"]
    assert isinstance(replies[15], ErrorReply)
    assert replies[15].message.startswith("WRONGTYPE")
    assert all(isinstance(r, ErrorReply) for r in replies[16:19])
    assert all(r.message.startswith("ERR ") for r in replies[16:19])
    assert replies[20] in (b"1", b"2")  # not MSETNX's second reply: drained
    assert replies[21] == b"PONG"


@needs_compiled
def test_compiled_and_ctypes_give_the_same_replies() -> None:
    assert _replies(compiled.command) == _replies(library().ctypes_call)


@needs_compiled
def test_compiled_call_refuses_bad_arguments_without_crashing() -> None:
    lib = library()
    handle = lib.connect(b":memory:", 0)
    try:
        for args, error in (
            ([b"GET", "k"], TypeError),
            ([b"GET", 1], TypeError),
            ([], ValueError),
            (b"GET", TypeError),
        ):
            with pytest.raises(error):
                compiled.command(handle, args)
        with pytest.raises(ValueError):
            compiled.command(0, [b"PING"])
        assert compiled.command(handle, (b"PING",)) == b"PONG"  # a tuple is fine
    finally:
        lib.free(handle)


def test_the_build_hook_compiles_a_working_accelerator(tmp_path: Path) -> None:
    """What ``pip install`` builds (hatch_build.py), imported and used."""
    hook = ROOT / "hatch_build.py"
    if not hook.exists():
        pytest.skip("not a source checkout")
    spec = importlib.util.spec_from_file_location("walrus_build_hook", hook)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.compile_accelerator(str(ROOT), str(tmp_path))
    if built is None:
        pytest.skip("no working C compiler here")
    loaded = importlib.util.spec_from_file_location("_native", built)
    assert loaded is not None and loaded.loader is not None
    fresh = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(fresh)
    args = ("GET", b"k", 1, "\u00e9t\u00e9")
    packed = [b"GET", b"k", b"1", "\u00e9t\u00e9".encode()]
    assert fresh.pack(args, lambda v: str(v).encode()) == packed
    assert _pack_utf8(args, lambda v: str(v).encode()) == packed


@pytest.mark.parametrize("where", ["memory", "file"])
def test_the_ctypes_fallback_never_kills_the_interpreter(
    where: str, tmp_path: Path
) -> None:
    """WALRUS_RLITE_CTYPES=1: the fuzzer and the error replies, through ctypes."""
    env = {**CHILD_ENV, "WALRUS_RLITE_CTYPES": "1"}
    check = (
        "from walrus.drivers.rlite.native import library\n"
        "assert not library().compiled\n"
        "from walrus.tusks.rlite import WalrusLite\n"
        "db = WalrusLite()\n"
        "for bad in (('HGET',), ('NOSUCH',), ('INCR', 'k')):\n"
        "    db.set('k', 'x')\n"
        "    try:\n"
        "        db.execute_command(*bad)\n"
        "    except Exception:\n"
        "        pass\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0 and result.stdout.split() == ["ok"], result.stderr
    args = [sys.executable, str(FUZZ), "4", "400"]
    if where == "file":
        args.append(str(tmp_path / "fuzz.rld"))
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1].startswith("survived 400")


def _databases() -> list[Any]:
    return [WalrusLite(), MemoryDatabase()]


@pytest.mark.parametrize("index", [0, 1], ids=["rlite", "memory"])
def test_unwatched_writes_do_not_break_a_later_watch(index: int) -> None:
    """Writes made while nobody watched are not charged to a WATCH started
    after them (the engine's record of modified keys is emptied at WATCH)."""
    db = _databases()[index]
    for i in range(50):
        db.set("k", i)
        db.set(f"other:{i}", i)
    with db.pipeline() as pipe:
        pipe.watch("k")
        db.set("unrelated", 1)  # a write while watched: the core's path
        pipe.multi()
        pipe.set("k", "mine")
        assert pipe.execute() == [True]
    assert db.get("k") == b"mine"
    with db.pipeline() as pipe:
        pipe.watch("k")
        db.client().set("k", "theirs")  # another client: the watch breaks
        pipe.multi()
        pipe.set("k", "mine")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    db.close()


@pytest.mark.parametrize("index", [0, 1], ids=["rlite", "memory"])
def test_client_state_is_kept_on_the_fast_path(index: int) -> None:
    db = _databases()[index]
    other = db.client(db=3)
    other.set("k", "three")
    assert db.get("k") is None and other.get("k") == b"three"
    db.set("k", "zero")
    assert other.get("k") == b"three"
    ident = db.client_id()
    db.get("k")
    line = [c for c in other.client_list() if c["id"] == str(ident)]
    assert line[0]["cmd"] == "get" and line[0]["db"] == "0"
    text = db.client(decode_responses=True)
    assert text.get("k") == "zero" and text.hgetall("missing") == {}
    assert text.zadd("z", {"a": 1.5}) == 1
    assert text.zrange("z", 0, -1, withscores=True) == [("a", 1.5)]
    assert db.execute_command("GET", "k", **{redis.client.NEVER_DECODE: True}) == (
        b"zero"
    )
    assert db.set("mv", memoryview(b"bytes")) is True  # kept as bytes
    assert db.execute_command("GET", memoryview(b"mv")) == b"bytes"
    with pytest.raises(redis.DataError):
        db.set("k", True)
    db.close()
    with pytest.raises(EngineError):
        db.get("k")
    other.close()
    text.close()


@pytest.mark.parametrize("index", [0, 1, 2], ids=["rlite", "memory", "vedis"])
def test_named_operations_keep_the_core_s_rules(index: int) -> None:
    """A named operation's twin runs straight on the engine too while nobody
    watches, waits or monitors: a TTL is kept (read only once a key can
    have one), another client's WATCH breaks on its write and not on a
    twin that writes nothing, a monitor sees each command it runs."""
    db = [*_databases(), WalrusVedis()][index]
    other = db.client()
    db.set("plain", "old")
    assert db.cas("plain", "ol", "new") is True
    assert (db.get("plain"), db.pttl("plain")) == (b"new", -1)
    db.set("k", "old", px=100_000)
    assert db.cas("k", "old", "new", exact=True) is True
    assert db.get("k") == b"new" and 0 < db.pttl("k") <= 100_000
    assert db.cas("k", "other", "x") is False and db.get("k") == b"new"
    with db.pipeline() as pipe:
        pipe.watch("k")
        assert other.cas("k", "other", "x") is False  # writes nothing
        pipe.multi()
        pipe.set("k", "mine")
        assert pipe.execute() == [True]
    with db.pipeline() as pipe:
        pipe.watch("k")
        assert other.cas("k", "mine", "theirs") is True
        pipe.multi()
        pipe.set("k", "mine again")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert db.get("k") == b"theirs"
    lines, seen = db.monitor_lines(), queue.Queue[bytes]()
    reader = threading.Thread(target=lambda: [seen.put(next(lines)) for _ in range(3)])
    reader.start()
    while not db._core.monitors:
        reader.join(0.001)
    assert other.cas("k", "theirs", "last") is True
    reader.join(5)
    monitored = b" ".join(seen.get_nowait() for _ in range(3))
    assert b'"GET" "k"' in monitored and b'"SET" "k" "last"' in monitored
    assert b'"WALRUS.OP" "cas"' in monitored
    lines.close()
    assert db._core.monitors == []
    db.close()


def test_collection_writes_keep_ttls_set_every_way() -> None:
    """rlite drops a TTL on collection writes; in memory the driver reads
    TTLs back only once a command could have set one: each way must count."""
    for setter in (
        lambda db: db.expire("h", 100),
        lambda db: db.pexpire("h", 100_000),
        lambda db: db.eval("return redis.call('EXPIRE', KEYS[1], 100)", 1, "h"),
        lambda db: db.pipeline().expire("h", 100).sadd("s", "a").execute(),
        lambda db: db.restore("h", 100_000, db.dump("h"), replace=True),
        lambda db: db.expireat("h", 2**40),
    ):
        db = WalrusLite()
        db.hset("h", "f", "v")
        setter(db)
        db.hset("h", "g", "w")
        db.hset("h", mapping={"x": "1", "y": "2"})
        assert db.ttl("h") > 0, setter
        db.close()
    db = WalrusLite()
    db.set("tmp", "x", ex=100)  # a TTL on another key: collection writes check
    db.sadd("s", "a")
    db.expire("s", 100)
    db.sadd("s", "b")
    assert 0 < db.ttl("s") <= 100
    db.close()
