"""What is specific to the Vedis driver: files, threads, custom commands, cost."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support import run_child

from walrus.drivers.embedded import shared as embedded
from walrus.exceptions import (
    CommandError,
    CommandNameError,
    DatabaseOpenError,
    WalrusError,
)
from walrus.tusks.vedisdb import WalrusVedis


def fill(db: Any) -> None:
    db.set("s", b'bin\x00"quote"\xff')
    db.hset("h", mapping={"f": "1", "\x00g": "x y"})
    db.rpush("l", 1, 2, 3)
    db.lpush("l", 0)
    db.rpop("l")
    db.sadd("set", "a", "b")
    db.zadd("z", {"a": 1.5, "b": "-inf"})
    db.set("ttl", "v", ex=100)
    db.pfadd("hll", "x", "y")


def check(db: Any) -> None:
    assert db.get("s") == b'bin\x00"quote"\xff'
    assert db.hgetall("h") == {b"f": b"1", b"\x00g": b"x y"}
    assert db.lrange("l", 0, -1) == [b"0", b"1", b"2"]
    assert db.smembers("set") == {b"a", b"b"}
    assert db.zrange("z", 0, -1, withscores=True) == [
        (b"b", float("-inf")),
        (b"a", 1.5),
    ]
    assert 0 < db.ttl("ttl") <= 100 and db.pfcount("hll") == 2
    assert db.type("hll") == b"string"


def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "data.vdb")
    db = WalrusVedis(path)
    fill(db)
    db.close()
    db = WalrusVedis(path)
    check(db)
    db.delete("h")
    db.hset("h", "new", "1")  # a re-created key starts empty
    db.lpop("l")
    db.zrem("z", "a")
    db.close()
    db = WalrusVedis(path)
    assert db.hgetall("h") == {b"new": b"1"} and db.lrange("l", 0, -1) == [b"1", b"2"]
    assert db.zrange("z", 0, -1) == [b"b"] and db.dbsize() == 7
    db.flushdb()
    db.close()
    db = WalrusVedis(path)
    assert db.dbsize() == 0
    db.close()


READER = """
import sys
from walrus.tusks.vedisdb import WalrusVedis
db = WalrusVedis(sys.argv[1])
print(db.get("k"), db.hlen("h"))
"""


def read_elsewhere(path: str) -> str:
    """What another process reads from a copy of the file (one process at a
    time may open a Vedis file, so it cannot open the file itself)."""
    copy = f"{path}.copy"
    shutil.copyfile(path, copy)
    done = subprocess.run(
        [sys.executable, "-c", READER, copy], capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


def test_commits_reach_the_file_while_open(tmp_path: Path) -> None:
    path = str(tmp_path / "commit.vdb")
    db = WalrusVedis(path, commit_interval=0)
    db.set("k", "v")
    db.hset("h", mapping={"a": 1, "b": 2})
    assert read_elsewhere(path) == "b'v' 2"
    db.close()
    timed = WalrusVedis(str(tmp_path / "timed.vdb"), commit_interval=0.2)
    timed.set("k", "later")
    time.sleep(0.6)  # the timer commits without another write
    assert read_elsewhere(str(tmp_path / "timed.vdb")) == "b'later' 0"
    timed.close()


@pytest.mark.parametrize("where", ["memory", "file"])
def test_threads_lose_nothing(tmp_path: Path, where: str) -> None:
    db = WalrusVedis(":memory:" if where == "memory" else str(tmp_path / "t.vdb"))

    def work(n: int) -> None:
        for i in range(300):
            db.incr("counter")
            db.hincrby("h", "f", 2)
            db.rpush("l", f"{n}-{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert db.get("counter") == b"1200" and db.hget("h", "f") == b"2400"
    assert db.llen("l") == 1200 and len(set(db.lrange("l", 0, -1))) == 1200
    db.close()


def test_two_databases_on_one_file_share_it(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.vdb")
    first, second = WalrusVedis(path), WalrusVedis(path)
    first.set("k", "v")
    assert second.get("k") == b"v"
    first.close()
    assert second.get("k") == b"v"
    with pytest.raises(WalrusError):
        first.get("k")
    second.close()


# -- custom commands -------------------------------------------------------------
@pytest.mark.parametrize("decode", [False, True])
def test_documented_custom_commands(decode: bool) -> None:
    db = WalrusVedis(decode_responses=decode)

    @db.command("SUNION")
    def sunion(context: Any, key1: str, key2: str) -> list[Any]:
        return list(db.smembers(key1) | db.smembers(key2))

    @db.command("KTITLE")
    def ktitle(context: Any, source: str, dest_key: str) -> bool:
        source_val = context[source]
        if source_val:
            context[dest_key] = source_val.title()
            return True
        return False

    db.sadd("s1", *range(3))
    db.sadd("s2", *range(1, 5))
    members = sorted(db.SUNION("s1", "s2"))
    assert members == (
        [str(i) for i in range(5)] if decode else [b"0", b"1", b"2", b"3", b"4"]
    )
    db["user.1.username"] = "charles"
    assert db.KTITLE("user.1.username", "user.1.display_name")
    assert db["user.1.display_name"] == ("Charles" if decode else b"Charles")
    assert not db.KTITLE("missing", "other") and not db.exists("other")
    db.close()


def test_context_methods_and_errors() -> None:
    db = WalrusVedis()

    @db.command("SWAP")
    def swap(context: Any, a: str, b: str) -> int:
        first, second = context.fetch(a), context.fetch(b)
        context.store(a, second)
        context.store(b, first)
        context.append(a, "!")
        assert context.exists(a) and b in context
        return 1

    @db.command("BROKEN")
    def broken(context: Any, key: str) -> None:
        context[key] = "half-written"
        del context["a"]
        raise ValueError("boom")

    db.mset({"a": "1", "b": "2"})
    assert db.SWAP("a", "b") == 1 and db.mget("a", "b") == [b"2!", b"1"]
    with pytest.raises(CommandError, match="boom"):
        db.BROKEN("new")
    assert (
        db.get("new") is None and db.get("a") == b"2!"
    )  # the context's writes are undone
    for name in ("get", "hset", "Hash", "SWAP"):
        with pytest.raises(CommandNameError):
            db.command(name)
    db.delete_command("SWAP")
    assert not hasattr(db, "SWAP")
    db.close()


# -- bad files, missing package ----------------------------------------------------
def test_bad_files_and_paths(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.vdb"
    garbage.write_bytes(b"not a vedis database " * 200)
    with pytest.raises(DatabaseOpenError, match=r"garbage\.vdb"):
        WalrusVedis(str(garbage))
    assert garbage.read_bytes().startswith(b"not a vedis")
    with pytest.raises(DatabaseOpenError):
        WalrusVedis(str(tmp_path / "no" / "such" / "dir.vdb"))
    with pytest.raises(DatabaseOpenError):
        WalrusVedis(str(tmp_path))


def test_missing_vedis_package_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "vedis", None)
    with pytest.raises(ImportError, match=r"python -m walrus install vedis"):
        WalrusVedis()


# -- cost ---------------------------------------------------------------------------
def _rate(db: Any, key: str, op: str) -> float:
    calls = {
        "hset": lambda i: db.hset(key, f"x{i}", i),
        "sadd": lambda i: db.sadd(key, f"x{i}"),
        "zadd": lambda i: db.zadd(key, {f"x{i}": i}),
        "lpush": lambda i: db.lpush(key, i),
    }[op]
    start = time.perf_counter()
    for i in range(2000):
        calls(i)
    return time.perf_counter() - start


@pytest.mark.parametrize("where", ["memory", "file"])
def test_member_cost_does_not_grow_with_size(tmp_path: Path, where: str) -> None:
    db = WalrusVedis(":memory:" if where == "memory" else str(tmp_path / "cost.vdb"))
    big = 100_000
    for size, suffix in ((10, "small"), (big, "big")):
        db.hset(f"h{suffix}", mapping={f"m{i}": i for i in range(size)})
        db.sadd(f"s{suffix}", *range(size))
        db.zadd(f"z{suffix}", {f"m{i}": i for i in range(size)})
        db.rpush(f"l{suffix}", *range(size))
    for op in ("hset", "sadd", "zadd", "lpush"):
        # alternated, best of four: a busy spell of a shared machine slows
        # both sizes, not one
        times = [
            (_rate(db, f"{op[0]}small", op), _rate(db, f"{op[0]}big", op))
            for _ in range(4)
        ]
        small = min(t for t, _ in times)
        large = min(t for _, t in times)
        assert large < 5 * small, (
            f"{op}: {large:.3f}s on {big} members vs {small:.3f}s on 10"
        )
    db.close()


def test_a_failed_open_leaves_the_file_closed(tmp_path: Path) -> None:
    path = str(tmp_path / "free.vdb")
    with pytest.raises(NotADirectoryError):
        WalrusVedis(path, script_dir=str(tmp_path / "missing"))
    assert not any(path in name for name in embedded._SHARED)
    WalrusVedis(path).close()  # the file is free


# -- Vedis's own bugs, which the store avoids ------------------------------------
# Each runs the raw ``vedis`` package (no walrus) in a child with a time limit.
# They are strict xfails: the day a Vedis release fixes a bug, its test passes
# and fails the run, so the workaround in walrus can be reconsidered.
NATIVE_HASHES = """
import sys, vedis
path, variant = sys.argv[1], sys.argv[2]
db = vedis.Vedis(path)
db.execute("HMSET a " + " ".join(f"f{i} {i}" for i in range(11)))  # entries 0-10
db.execute("HSET a1 x y")  # entry 0 of 'a1' is record 'vt'+'a1'+'1'+'0', as 'a' 10
if variant == "delete":
    db.execute("HDEL a1 x")
db.commit()
db.close()
db = vedis.Vedis(path)
print(sorted(db.hgetall("a").items()) == [(b"f%d" % i, b"%d" % i) for i in range(11)])
"""


@pytest.mark.xfail(
    strict=True,
    reason="Vedis's bug, not walrus's: a native hash field's record is named "
    "'vt' + hash + type + entry id without a separator, so hash 'a' entry 10 "
    "and hash 'a1' entry 0 share a record; format 2 uses no native hash",
)
@pytest.mark.parametrize("variant", ["overwrite", "delete"])
def test_vedis_native_hashes_keep_their_fields(tmp_path: Path, variant: str) -> None:
    """``overwrite``: 'a' reads 'a1''s field back; ``delete``: HGETALL of
    'a' loops forever (its header counts a record that is gone)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", NATIVE_HASHES, str(tmp_path / "h.vdb"), variant],
            capture_output=True,
            text=True,
            timeout=5,  # the script takes about 0.3 s; the bug loops forever
        )
    except subprocess.TimeoutExpired:
        pytest.fail("HGETALL hangs on the reopened file")
    assert done.stdout.strip() == "True", done.stderr[-2000:]


PAGER = """
import random, sys, vedis
path = sys.argv[1]
rng = random.Random(1)
db = vedis.Vedis(path)
kept = {}
for i in range(2000):  # one transaction: no commit
    key = b"k%d" % rng.randrange(50)
    value = bytes([97 + i % 26]) * rng.randint(1, 40000)
    db.store(key, value)
    kept[key] = value
    if db.fetch(key) != value:
        print(f"write {i}: stored {len(value)} bytes, read {len(db.fetch(key))}")
        sys.exit()
db.close()
db = vedis.Vedis(path)
print(all(db.fetch(key) == value for key, value in kept.items()))
"""


@pytest.mark.xfail(
    strict=True,
    reason="Vedis's bug, not walrus's: past 127 hot pages the pager writes out "
    "and frees them, also those referenced again since, and goes on writing "
    "into freed memory; walrus commits before a transaction gets there",
)
def test_vedis_keeps_records_in_a_large_transaction(tmp_path: Path) -> None:
    """Overwriting records of 1-40 KB (overflow pages) 2,000 times in one
    transaction: a record comes back cut after two pages (8,163 bytes)."""
    assert run_child(PAGER, str(tmp_path / "p.vdb")) == "True"
