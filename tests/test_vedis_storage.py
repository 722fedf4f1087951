"""The Vedis file format (format 2), its safety rules, and format-1 files.

Format 2 keeps everything in Vedis key/value records (vedisstore,
vedisbuckets, vedisrecords); format-1 files (native Vedis hashes) are
rewritten on open (vedisformat1). The two Vedis bugs these rules avoid are
reproduced in ``tests/test_vedis.py``.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from base64 import b64encode
from pathlib import Path
from typing import Any

import pytest
import support
import vedis

from walrus.drivers.memory import MemoryDatabase
from walrus.drivers.vedis.buckets import SPLIT, Buckets, bucket_of
from walrus.drivers.vedis.records import Records
from walrus.drivers.vedis.store import CODECS
from walrus.exceptions import CorruptDatabase
from walrus.tusks.vedisdb import WalrusVedis

DATA = Path(__file__).with_name("data")


def run_child(code: str, *args: str, timeout: float = 120) -> str:
    """:func:`support.run_child` with this checkout on the child's path."""
    return support.run_child(code, *args, env=support.CHILD_ENV, timeout=timeout)


def raw_records(path: str) -> Any:
    return vedis.Vedis(path)


# -- maps of buckets ----------------------------------------------------------------
def _records(handle: Any, persistent: bool) -> Records:
    ids = iter(range(1, 10**9))
    records = Records(handle, persistent, lambda: None, lambda: next(ids))
    records.commit = lambda: (handle.commit(), records.committed())
    return records


def _buckets(tmp_path: Path, where: str) -> tuple[Any, Records, Buckets]:
    """A Vedis handle in memory or on a file, its records and its maps."""
    handle = vedis.Vedis(":mem:" if where == "memory" else str(tmp_path / "m.vdb"))
    records = _records(handle, where == "file")
    return handle, records, Buckets(records)


@pytest.mark.parametrize("where", ["memory", "file"])
def test_a_map_grows_and_shrinks_one_bucket_at_a_time(
    tmp_path: Path, where: str
) -> None:
    handle, records, buckets = _buckets(tmp_path, where)
    rng = random.Random(7)
    model: dict[str, str] = {}
    prefix = b"walrus:b:1"
    sizes = []
    for step in range(3000):
        grow = step < 1500
        if model and (not grow or rng.random() < 0.2):
            field = rng.choice(sorted(model))
            changes: dict[str, str | None] = {field: None}
            del model[field]
        else:
            field = f"~f{rng.randrange(10**6)}"
            big = rng.random() < 0.01  # a few values large enough to move out
            value = "v" * (120_000 if big else rng.randrange(1, 40))
            changes = {field: value}
            model[field] = value
        buckets.update(prefix, changes)
        shape = buckets.shapes.get(prefix, [1, len(model)])
        sizes.append(shape[0])
        assert shape[1] == len(model)
    assert max(sizes) > 500 // SPLIT and sizes[-1] == 1  # grew, then shrank
    fields, values = Buckets(records).load(prefix)
    assert dict(zip(fields, values, strict=True)) == model
    size = buckets.shapes.get(prefix, [1])[0]
    for field in model:  # every field sits in its bucket
        found = records.fetch(b"%s:%d" % (prefix, bucket_of(field, size)))
        assert found is not None
    buckets.drop(prefix)
    assert Buckets(records).load(prefix) == ([], [])
    leftovers = [n for n in range(1, 200) if records.fetch(b"walrus:x:%d" % n)]
    assert leftovers == []  # large buckets' records went with them
    handle.close()


@pytest.mark.parametrize("where", ["memory", "file"])
def test_bulk_writes_respread_a_map_of_many_buckets(tmp_path: Path, where: str) -> None:
    """A write that leaves more than twice ``SPLIT`` fields per bucket spreads
    every bucket's fields at once (a map of several buckets included), and
    a bulk delete merges them back."""
    handle, records, buckets = _buckets(tmp_path, where)
    rng = random.Random(11)
    model: dict[str, str] = {}
    prefix = b"walrus:b:2"
    sizes = []
    for step in range(40):
        if step % 4 == 3 and model:  # delete most of the map in one write
            gone = rng.sample(sorted(model), k=len(model) * 9 // 10)
            changes: dict[str, str | None] = dict.fromkeys(gone)
            for field in gone:
                del model[field]
        else:  # add up to five times what the map holds, in one write
            count = rng.randrange(1, 5 * len(model) + 40)
            added = {f"~b{rng.randrange(10**7)}": f"v{step}" for _ in range(count)}
            model.update(added)
            changes = dict(added)
        before = buckets.shapes.get(prefix, [1])[0]
        buckets.update(prefix, changes)
        size = buckets.shapes.get(prefix, [1])[0]
        sizes.append((before, size))
        fields, values = Buckets(records).load(prefix)
        assert dict(zip(fields, values, strict=True)) == model
        for field in model:
            found = records.fetch(b"%s:%d" % (prefix, bucket_of(field, size)))
            assert found is not None and f"{field} ".encode() in found
    assert any(
        b > 1 and s > 2 * b for b, s in sizes
    )  # a map of several buckets respread
    assert any(s < b for b, s in sizes)  # and merged back
    handle.close()


class CountingHandle:
    """A real Vedis handle that counts the record calls made through it."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.handle, name)
        if name not in ("store", "fetch", "delete"):
            return method

        def counted(*args: Any) -> Any:
            self.calls += 1
            return method(*args)

        return counted


@pytest.mark.parametrize("op", ["hset", "sadd", "zadd", "lpush", "rpop", "hdel"])
def test_a_one_member_write_touches_the_same_records_at_any_size(
    tmp_path: Path, op: str
) -> None:
    db = WalrusVedis(str(tmp_path / "count.vdb"))
    calls = {
        "hset": lambda k, i: db.hset(f"h{k}", f"new{i}", 1),
        "hdel": lambda k, i: db.hdel(f"h{k}", f"m{i}"),
        "sadd": lambda k, i: db.sadd(f"s{k}", f"new{i}"),
        "zadd": lambda k, i: db.zadd(f"z{k}", {f"new{i}": 1}),
        "lpush": lambda k, i: db.lpush(f"l{k}", "new"),
        "rpop": lambda k, i: db.rpop(f"l{k}"),
    }
    counts = {}
    for size in (10, 100_000):
        members = {f"m{i}": i for i in range(size)}
        db.hset(f"h{size}", mapping=members)
        db.sadd(f"s{size}", *members)
        db.zadd(f"z{size}", members)
        db.rpush(f"l{size}", *members)
        calls[op](size, 9)  # loads the container
        records = db._core.engine.store._records
        counter = CountingHandle(records.db)
        records.db = counter
        for i in range(8):  # two record calls each, and a bucket split or not
            calls[op](size, i)
        records.db = counter.handle
        counts[size] = counter.calls
    assert counts[10] <= 16 and counts[100_000] <= 16 + 5, counts
    db.close()


# -- large transactions (Vedis's pager bug) -----------------------------------------
CHURN = """
import json, random, sys
from walrus.tusks.vedisdb import WalrusVedis
path, seed, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(seed)
model = {}
db = WalrusVedis(path, commit_interval=interval)
for i in range(1500):
    key = f"k{rng.randrange(50)}"
    size = rng.randint(1, 40000) if rng.random() < 0.95 else rng.randint(1, 400000)
    value = (f"{i}-" * size)[:size]
    kind = rng.random()
    if kind < 0.6:
        db.set(key, value)
        model[key] = ["string", value]
    elif kind < 0.9:
        if model.get(key, ["hash"])[0] != "hash":
            db.delete(key)
            del model[key]
        field = f"f{rng.randrange(4)}"
        db.hset(key, field, value)
        model.setdefault(key, ["hash", {}])[1][field] = value
    else:
        db.delete(key)
        model.pop(key, None)
db.close()
db = WalrusVedis(path, decode_responses=True)
found = {}
for key in db.keys("*"):
    if db.type(key) == "string":
        found[key] = ["string", db.get(key)]
    else:
        found[key] = ["hash", db.hgetall(key)]
db.close()
print(json.dumps(found == model))
"""


@pytest.mark.parametrize("interval", [0.0, 60.0])
@pytest.mark.parametrize("seed", [1, 2])
def test_large_values_survive_large_transactions(
    tmp_path: Path, seed: int, interval: float
) -> None:
    """Hundreds of kilobytes rewritten and deleted between commits (with a
    60 s interval, until close): Vedis frees pages in use past 127 hot pages
    unless the store commits first; nothing may come back short or lost."""
    path = str(tmp_path / "churn.vdb")
    assert run_child(CHURN, path, str(seed), str(interval), timeout=300) == "true"


# -- format-1 files -------------------------------------------------------------------
def write_format1(path: str, source: Any, ids: dict[bytes, int]) -> None:
    """Write ``source``'s keys (database 0, a memory engine) as a format-1
    file, as walrus wrote it before format 2: a native-hash directory,
    native-hash members, string records. ``ids`` gives each key's id."""
    handle = vedis.Vedis(path)
    handle.store(b"walrus:format", b"1")
    handle.store(b"walrus:next-id", b"%d" % (max(ids.values()) + 1))
    store = source._core.engine.database(0)
    for key in store:
        entry = store.get(key)
        ident = ids[key]
        expire = "-" if entry.expire_at is None else str(entry.expire_at)
        name = "~" + b64encode(key).decode()
        handle.execute(
            f'HSET walrus:keys "{name}" "{entry.kind} {ident} {expire} {entry.base}"'
        )
        entry.ident = ident
        if entry.kind == "string":
            handle.store(b"walrus:v:%d" % ident, entry.value)
            continue
        pairs = [f'"{f}" "{v}"' for f, v in CODECS[entry.kind].pairs(entry)]
        for i in range(0, len(pairs), 100):  # small transactions (Vedis's pager)
            handle.execute(f"HMSET walrus:m:{ident} " + " ".join(pairs[i : i + 100]))
            handle.commit()
    handle.commit()
    handle.close()


def snapshot(db: Any) -> dict[bytes, Any]:
    """Every key's type and value, read through walrus."""
    readers = {
        b"string": lambda k: db.get(k),
        b"hash": lambda k: db.hgetall(k),
        b"list": lambda k: db.lrange(k, 0, -1),
        b"set": lambda k: db.smembers(k),
        b"zset": lambda k: db.zrange(k, 0, -1, withscores=True),
        b"stream": lambda k: (db.xrange(k), db.xinfo_groups(k)),
    }
    found: dict[bytes, Any] = {}
    for key in db.keys("*"):
        kind = db.type(key)
        found[key] = (kind, readers[kind](key), db.pttl(key) > 0)
    return found


def source_db() -> Any:
    source = MemoryDatabase()
    source.set("s", b'bin\x00"quote"\xff')
    source.hset("h", mapping={"f": "1", "\x00g": "x y", "": "empty field"})
    source.rpush("l", 1, 2, 3)
    source.lpush("l", 0)
    source.sadd("set", "a", "b", "")
    source.zadd("z", {"a": 1.5, "b": "-inf"})
    source.set("ttl", "v", ex=1000)
    source.xadd("st", {"a": "1"}, id="1-1")
    source.xgroup_create("st", "g", id="0")
    source.xreadgroup("g", "c", {"st": ">"}, count=1)
    return source


IDS = {b"s": 1, b"h": 2, b"l": 3, b"set": 4, b"z": 5, b"ttl": 6, b"st": 7}


def test_a_format1_file_is_migrated_on_open(tmp_path: Path) -> None:
    path = str(tmp_path / "old.vdb")
    source = source_db()
    write_format1(path, source, IDS)
    db = WalrusVedis(path)
    assert snapshot(db) == snapshot(source)
    db.hset("h", "after", "migration")
    db.close()
    handle = raw_records(path)
    assert handle.fetch(b"walrus:format") == b"2"
    for gone in (b"vt1walrus:keys", b"vt1walrus:m:2", b"walrus:format1-leftovers"):
        assert not handle.exists(gone)
    handle.close()
    db = WalrusVedis(path)
    expected = snapshot(source)
    expected[b"h"][1][b"after"] = b"migration"
    assert snapshot(db) == expected
    db.close()


def test_a_file_written_by_the_format1_store_reads_back(tmp_path: Path) -> None:
    """``data/vedis-format1.vdb`` was written by walrus's format-1 store
    (before format 2) in two databases; see data/README.md."""
    path = str(tmp_path / "kept.vdb")
    shutil.copyfile(DATA / "vedis-format1.vdb", path)
    db = WalrusVedis(path)
    assert db.get("s") == b'bin\x00"quote"\xff'
    assert db.hgetall("h") == {b"f": b"1", b"\x00g": b"x y"}
    assert db.lrange("l", 0, -1) == [b"0", b"1", b"2"]
    assert db.smembers("set") == {b"a", b"b"}
    assert db.zrange("z", 0, -1, withscores=True) == [
        (b"b", float("-inf")),
        (b"a", 1.5),
    ]
    assert db.pexpiretime("ttl") == 4102444800000 and db.pfcount("hll") == 2
    assert [f for _, f in db.xrange("st")] == [{b"a": b"1"}, {b"b": b"2"}]
    assert db.xpending("st", "g")["pending"] == 1 and not db.exists("gone")
    db.lpush("l", "x")
    db.close()
    other = WalrusVedis(path, db=1)
    assert other.get("one") == b"in db 1" and other.smembers("s1") == {b"x"}
    other.close()
    db = WalrusVedis(path)
    assert db.lrange("l", 0, -1) == [b"x", b"0", b"1", b"2"]
    db.close()


OPEN_DAMAGED = """
import sys
from walrus.exceptions import CorruptDatabase
from walrus.tusks.vedisdb import WalrusVedis
try:
    WalrusVedis(sys.argv[1])
except CorruptDatabase as exc:
    print(exc)
"""


def test_a_format1_file_damaged_by_vedis_is_refused_unchanged(tmp_path: Path) -> None:
    """Hash 1's 11th field and hash 11's first share a Vedis record: hash 1
    lost a field in the file; Vedis's HGETALL would loop forever on it."""
    path = str(tmp_path / "damaged.vdb")
    source = MemoryDatabase()
    source.hset("big", mapping={f"f{i}": i for i in range(11)})
    source.hset("small", "x", "y")
    write_format1(path, source, {b"big": 1, b"small": 11})
    before = Path(path).read_bytes()
    message = run_child(OPEN_DAMAGED, path, timeout=60)
    assert "b'big' (a hash) in database 0" in message and "unchanged" in message
    assert Path(path).read_bytes() == before
    with pytest.raises(CorruptDatabase):
        WalrusVedis(path)


MIGRATE = """
import sys
from walrus.tusks.vedisdb import WalrusVedis
print("opening", flush=True)
WalrusVedis(sys.argv[1]).close()
print("done", flush=True)
"""


def _migrating(path: str) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(
        [sys.executable, "-c", MIGRATE, path],
        stdout=subprocess.PIPE,
        env=support.CHILD_ENV,
    )
    assert child.stdout is not None and child.stdout.readline() == b"opening\n"
    return child


def test_a_crash_during_the_migration_leaves_a_readable_file(tmp_path: Path) -> None:
    """kill -9 while a big format-1 file is being migrated: the next open
    finds the format-1 file intact (and migrates it) or the finished one."""
    source = MemoryDatabase()
    for n in range(2, 10):  # ids 2-9: no Vedis record names collide
        source.hset(f"h{n}", mapping={f"f{i}": f"{n}:{i}" for i in range(2000)})
    ids = {f"h{n}".encode(): n for n in range(2, 10)}
    pristine = str(tmp_path / "pristine.vdb")
    write_format1(pristine, source, ids)
    expected = snapshot(source)
    path = str(tmp_path / "migrating.vdb")
    durations = []  # opening = migrating; the quicker of two, as a busy
    for _ in range(2):  # machine can stretch one run past the later ones
        shutil.copyfile(pristine, path)
        child = _migrating(path)
        start = time.monotonic()
        assert child.stdout is not None and child.stdout.readline() == b"done\n"
        durations.append(time.monotonic() - start)
        child.communicate(timeout=60)
    duration = min(durations)
    formats = []
    for trial in range(4):  # killed in the first half of the migration
        shutil.copyfile(pristine, path)
        child = _migrating(path)
        time.sleep(duration * (2 * trial + 1) / 16)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
        handle = raw_records(path)
        formats.append(handle.fetch(b"walrus:format"))
        handle.close()
        db = WalrusVedis(path)
        assert snapshot(db) == expected, f"trial {trial}"
        db.close()
    assert b"1" in formats, json.dumps([f.decode() for f in formats])


def test_a_database_opened_before_fork_is_refused_in_the_child(tmp_path: Path) -> None:
    """A plain command, a named operation and a pipeline in the child raise
    EngineError (Vedis's handle is the parent's); the parent's data is
    untouched, and the parent goes on."""
    code = (
        "import os, sys\n"
        "from walrus.tusks.vedisdb import WalrusVedis\n"
        "db = WalrusVedis(sys.argv[1]); db.set('k', 'v')\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    for act in (lambda: db.get('k'), lambda: db.cas('k', 'v', 'child'),\n"
        "                lambda: db.pipeline().set('k', 'pipe').execute()):\n"
        "        try:\n"
        "            act()\n"
        "            print('ran', flush=True)\n"
        "        except Exception as exc:\n"
        "            print(type(exc).__name__, exc, flush=True)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0); print(db.get('k'), db.cas('k', 'v', 'parent'))\n"
    )
    lines = run_child(code, str(tmp_path / "f.vdb")).splitlines()
    assert len(lines) == 4, lines
    assert all(
        line.startswith("EngineError") and "before fork()" in line for line in lines[:3]
    ), lines
    assert lines[3] == "b'v' True"
