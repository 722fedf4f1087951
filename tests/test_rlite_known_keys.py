"""rlite on a file: what the driver remembers of keys to save rlite sessions
(each rlite command on a file costs about 0.2 ms), and what makes it forget.

* Collection writes keep TTLs (rlite drops them): the driver asks rlite for
  the TTL first, unless it saw the key without one since.
* INCR and its family check the value first (rlite crashes on some, does
  not check overflow): with a GET, unless the driver's last INCR of the key
  left the value.
* ZRANGE, SUNION and the like check the keys' types first (rlite crashes on
  a key of another type): unless checked since and nothing wrote. A wrong
  guess would crash the interpreter, so those tests run in a child.

What may change a key must make it forget: a command of its own, a write by
another process, a unit rolled back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import run_child

from walrus.tusks.rlite import WalrusLite

# a write rlite would make drop the TTL, for each kind of key, and its command
WRITES: dict[str, Callable[[Any, str], Any]] = {
    "hash": lambda db, key: db.hset(key, "f", "v"),
    "set": lambda db, key: db.sadd(key, "m"),
    "zset": lambda db, key: db.zadd(key, {"m": 1}),
    "list": lambda db, key: db.rpush(key, "m"),
}
COMMANDS = {"hash": b"HSET", "set": b"SADD", "zset": b"ZADD", "list": b"RPUSH"}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Any]:
    opened = WalrusLite(str(tmp_path / "ttl.rld"))
    yield opened
    opened.close()


def sent(db: Any, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The names of the commands the database sends rlite from now on
    (``TYPE+`` before one sent with a check of its keys' types)."""
    engine = db._core.engine
    names: list[bytes] = []
    for attribute, mark in (("_call", b""), ("_typed", b"TYPE+")):
        send = getattr(engine, attribute)

        def recording(
            handle: int, args: list[bytes], *more: Any, send: Any = send, mark=mark
        ) -> Any:
            names.append(mark + args[0].upper())
            return send(handle, args, *more)

        monkeypatch.setattr(engine, attribute, recording)
    return names


@pytest.mark.parametrize("kind", WRITES)
def test_a_write_to_a_key_known_without_a_ttl_is_one_rlite_command(
    db: Any, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = WRITES[kind]
    write(db, "k")  # asks rlite for its TTL: none
    names = sent(db, monkeypatch)
    write(db, "k")
    assert names == [COMMANDS[kind]]  # no PTTL first
    assert db.ttl("k") == -1


def test_a_hash_update_is_one_rlite_command(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Hash.update`` sends HMSET: HSET of several fields would count the new
    ones with an HLEN before and after, two more rlite sessions on a file."""
    h = db.Hash("h")
    h.update({"a": "1"})  # asks rlite for its TTL: none
    names = sent(db, monkeypatch)
    h.update({"a": "2", "b": "3"})
    assert names == [b"HMSET"]
    assert db.hgetall("h") == {b"a": b"2", b"b": b"3"}
    assert db.hset("h", mapping={"b": "4", "c": "5"}) == 1  # HSET still counts


def _ttl_by_expire(db: Any, path: str) -> None:
    db.expire("k", 100)


def _ttl_by_pexpireat(db: Any, path: str) -> None:
    db.pexpireat("k", db.time()[0] * 1000 + 100_000)


def _ttl_by_rename(db: Any, path: str) -> None:
    WRITES_BY_TYPE[db.type("k")](db, "other")
    db.expire("other", 100)
    db.rename("other", "k")


def _ttl_by_restore(db: Any, path: str) -> None:
    db.restore("k", 100_000, db.dump("k"), replace=True)


def _ttl_by_copy(db: Any, path: str) -> None:
    db.copy("k", "other")
    db.expire("other", 100)
    db.copy("other", "k", replace=True)


def _ttl_by_move(db: Any, path: str) -> None:
    kind = db.type("k")
    db.delete("k")
    other = WalrusLite(path, db=1)
    WRITES_BY_TYPE[kind](other, "k")
    other.expire("k", 100)
    assert other.move("k", 0)
    other.close()


def _ttl_by_a_script(db: Any, path: str) -> None:
    db.eval("return redis.call('EXPIRE', KEYS[1], 100)", 1, "k")


def in_another_process(code: str) -> Callable[[Any, str], Any]:
    """A change made by another process: ``code`` run in a child with
    ``other``, the file opened there."""

    def change(db: Any, path: str) -> Any:
        return run_child(
            "import sys; from walrus.tusks.rlite import WalrusLite; "
            f"other = WalrusLite(sys.argv[1]); {code}; other.close()",
            path,
        )

    return change


def _ttl_by_another_process(db: Any, path: str) -> None:
    in_another_process("assert other.expire('k', 100)")(db, path)


WRITES_BY_TYPE: dict[bytes, Callable[[Any, str], Any]] = {
    b"hash": WRITES["hash"],
    b"set": WRITES["set"],
    b"zset": WRITES["zset"],
    b"list": WRITES["list"],
}
TTL_ROUTES = [
    _ttl_by_expire,
    _ttl_by_pexpireat,
    _ttl_by_rename,
    _ttl_by_restore,
    _ttl_by_copy,
    _ttl_by_move,
    _ttl_by_a_script,
    _ttl_by_another_process,
]


@pytest.mark.parametrize("kind", WRITES)
@pytest.mark.parametrize("give_ttl", TTL_ROUTES, ids=lambda f: f.__name__[8:])
def test_a_ttl_given_after_the_key_was_seen_without_one_is_kept(
    db: Any, tmp_path: Path, kind: str, give_ttl: Callable[[Any, str], None]
) -> None:
    write = WRITES[kind]
    write(db, "k")
    write(db, "k")  # known without a TTL now
    give_ttl(db, str(tmp_path / "ttl.rld"))
    assert 0 < db.pttl("k") <= 100_000
    write(db, "k")
    assert 0 < db.pttl("k") <= 100_000


def test_a_ttl_in_another_numbered_database_is_kept(tmp_path: Path) -> None:
    path = str(tmp_path / "ttl.rld")
    first, second = WalrusLite(path), WalrusLite(path, db=1)
    second.hset("k", "f", "v")
    second.expire("k", 100)
    first.hset("k", "f", "v")
    first.hset("k", "g", "v")  # known without a TTL, in database 0
    second.hset("k", "g", "v")
    assert 0 < second.ttl("k") <= 100
    first.hset("k", "h", "v")
    assert first.ttl("k") == -1
    first.close()
    second.close()


def test_what_a_rolled_back_unit_taught_is_forgotten(db: Any) -> None:
    db.hset("k", "f", "v")
    db.expire("k", 100)
    engine = db._core.engine
    with pytest.raises(KeyboardInterrupt), engine.exclusive():
        engine.raw([b"PERSIST", b"k"])
        assert engine.pttl_before_write(b"k") == -1  # learnt inside the unit
        raise KeyboardInterrupt  # undoes PERSIST
    assert 0 < db.ttl("k") <= 100
    db.hset("k", "g", "v")
    assert 0 < db.ttl("k") <= 100


# -- INCR and its family ----------------------------------------------------------
INT64_MAX = 2**63 - 1


def test_an_incr_after_an_incr_is_one_rlite_command(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = db.counter("c")
    counter.incr()  # reads the value first
    names = sent(db, monkeypatch)
    assert counter.incr(2) == 3
    assert counter.decr() == 2
    assert names == [b"INCRBY", b"INCRBY"]  # no GET (decr is INCRBY -1)


# rlite reads "7\0" as 7 (Redis: not an integer): only the check sees it
NOT_AN_INTEGER = "7\0"
CHANGES: dict[str, Callable[[Any, str], Any]] = {
    "set": lambda db, path: db.set("c", NOT_AN_INTEGER),
    "append": lambda db, path: db.append("c", "\0"),
    "a pipeline": lambda db, path: db.pipeline().set("c", NOT_AN_INTEGER).execute(),
    "another process": in_another_process("other.set('c', '7\\0')"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_an_incr_after_another_change_checks_the_value(
    db: Any, tmp_path: Path, change: str
) -> None:
    db.incr("c")
    db.incr("c")
    CHANGES[change](db, str(tmp_path / "ttl.rld"))
    with pytest.raises(Exception, match="not an integer"):
        db.incr("c")
    assert db.get("c")[-1:] == b"\0"  # unchanged


def test_an_increment_past_64_bits_is_refused_after_an_incr(db: Any) -> None:
    db.incrby("c", INT64_MAX - 3)  # remembered
    pipe = db.pipeline(transaction=True)
    pipe.incrby("c", 2)  # INT64_MAX - 1, by a transaction
    pipe.execute()
    with pytest.raises(Exception, match="overflow"):
        db.incrby("c", 5)
    assert db.get("c") == str(INT64_MAX - 1).encode()


def test_an_increment_of_a_key_expired_since_starts_from_zero(db: Any) -> None:
    db.set("c", "0", px=50)
    db.incrby("c", -5)  # remembered: -5 (INCR keeps the TTL)
    time.sleep(0.1)
    assert db.incrby("c", 3) == 3


# -- types checked before ZRANGE, SUNION ... ----------------------------------------
def test_a_read_of_a_key_of_a_checked_type_is_one_rlite_command(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.zadd("z", {"a": 1})
    db.sadd("s1", "a")
    names = sent(db, monkeypatch)
    for _ in range(2):
        assert db.zrange("z", 0, -1) == [b"a"]
        assert db.sunion("s1", "s2") == {b"a"}
    assert names == [b"TYPE+ZRANGE", b"TYPE+SUNION", b"ZRANGE", b"SUNION"]


# Each scenario, in a child: learn that "k" is a sorted set, make it a string
# (NAME), then ZRANGE it: WRONGTYPE, where rlite itself would crash.
TYPE_CHANGES = {
    "a write here": "db.delete('k'); db.set('k', 'x')",
    "a transaction": "db.pipeline().delete('k').set('k', 'x').execute()",
    "another process": (
        "subprocess.run([sys.executable, '-c', 'import sys; "
        "from walrus.tusks.rlite import WalrusLite; o = WalrusLite(sys.argv[1]); "
        'o.delete("k"); o.set("k", "x"); o.close()\', path], check=True)'
    ),
    "a rollback": (
        "db.delete('k'); db.set('k', 'x'); engine = db._core.engine\n"
        "try:\n"
        "    with engine.exclusive():\n"
        "        engine.raw([b'DEL', b'k'])\n"
        "        db.zrange('k', 0, -1)  # checked: missing\n"
        "        raise KeyboardInterrupt\n"
        "except KeyboardInterrupt:\n"
        "    pass"
    ),
}
TYPE_SCENARIO = """
import subprocess, sys
from walrus.tusks.rlite import WalrusLite
path = sys.argv[1]
db = WalrusLite(path)
db.zadd('k', {{'a': 1}})
db.zrange('k', 0, -1)
{change}
try:
    db.zrange('k', 0, -1)
except Exception as exc:
    print(type(exc).__name__, str(exc)[:9])
"""


@pytest.mark.parametrize("change", TYPE_CHANGES)
def test_a_key_whose_type_changed_is_checked_again(tmp_path: Path, change: str) -> None:
    code = TYPE_SCENARIO.format(change=TYPE_CHANGES[change])
    assert run_child(code, str(tmp_path / "t.rld")) == "WrongType WRONGTYPE"


def test_the_keys_of_a_file_are_checked_in_one_rlite_transaction(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rlite's KEYS lists keys that expired: each is checked with PTTL, all
    in one MULTI/EXEC (alone, each would cost rlite a commit on the file)."""
    db.mset({f"k{i}": "v" for i in range(20)})
    db.pexpire("k3", 1)
    time.sleep(0.01)
    names = sent(db, monkeypatch)
    assert sorted(db.keys()) == sorted(f"k{i}".encode() for i in range(20) if i != 3)
    assert names == [b"KEYS", b"MULTI", *[b"PTTL"] * 20, b"EXEC"]
    assert db.dbsize() == 19


# -- listing keys -------------------------------------------------------------------
def test_a_listing_that_found_no_ttl_answers_the_next_without_rlite(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``list(db)`` asks DBSIZE (for its length hint), then SCANs: the first
    listing found no key with a TTL, so nothing can expire and the scan and
    every listing after it, until a write, need no rlite command."""
    db.mset({f"k{i}": "v" for i in range(30)})
    expected = sorted(f"k{i}".encode() for i in range(30))
    names = sent(db, monkeypatch)
    assert sorted(db.scan_iter(count=7)) == expected  # no listing yet: pages checked
    assert names.count(b"KEYS") == 1 and names.count(b"PTTL") == 30
    names.clear()
    assert sorted(list(db)) == expected
    assert names == [b"KEYS", b"MULTI", *[b"PTTL"] * 30, b"EXEC"]  # DBSIZE's
    names.clear()
    assert sorted(list(db)) == expected
    assert sorted(db.keys()) == expected
    assert sorted(db.keys("k1*")) == sorted(k for k in expected if k.startswith(b"k1"))
    assert len(db) == 30
    assert names == []


WRITES_SEEN_BY_A_LISTING: dict[str, Callable[[Any, str], Any]] = {
    "a new key": lambda db, path: db.set("new", "v"),
    "a deleted key": lambda db, path: db.delete("k0"),
    "a renamed key": lambda db, path: db.rename("k0", "renamed"),
    "a flush": lambda db, path: db.flushdb(),
    "another database": lambda db, path: (db.select(1), db.set("other", "v")),
    "a ttl that passed": lambda db, path: (db.pexpire("k0", 1), time.sleep(0.01)),
    "a script": lambda db, path: db.eval("redis.call('DEL', 'k0')", 0),
    "another process": in_another_process(
        "other.delete('k0'); other.set('theirs', 'v')"
    ),
}


@pytest.mark.parametrize("change", WRITES_SEEN_BY_A_LISTING)
def test_a_remembered_listing_is_forgotten_after_a_write(
    db: Any, tmp_path: Path, change: str
) -> None:
    db.mset({f"k{i}": "v" for i in range(5)})
    assert len(db) == 5  # remembered: no key has a TTL
    WRITES_SEEN_BY_A_LISTING[change](db, str(tmp_path / "ttl.rld"))
    found = sorted(db.keys())
    assert sorted(list(db)) == found
    assert len(db) == db.dbsize() == len(found)
    assert found == sorted(
        db.execute_command("EVAL", "return redis.call('KEYS', '*')", 0)
    )
    expected = {
        "a new key": [b"k0", b"k1", b"k2", b"k3", b"k4", b"new"],
        "a deleted key": [b"k1", b"k2", b"k3", b"k4"],
        "a renamed key": [b"k1", b"k2", b"k3", b"k4", b"renamed"],
        "a flush": [],
        "another database": [b"other"],
        "a ttl that passed": [b"k1", b"k2", b"k3", b"k4"],
        "a script": [b"k1", b"k2", b"k3", b"k4"],
        "another process": [b"k1", b"k2", b"k3", b"k4", b"theirs"],
    }
    assert found == expected[change]


def test_a_listing_with_a_ttl_is_checked_each_time(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key with a TTL may expire without a write: nothing is remembered."""
    db.mset({f"k{i}": "v" for i in range(5)})
    db.pexpire("k0", 150)
    assert len(db) == 5
    names = sent(db, monkeypatch)
    assert len(db) == 5
    assert names == [b"KEYS", b"MULTI", *[b"PTTL"] * 5, b"EXEC"]
    time.sleep(0.2)
    assert sorted(db) == [b"k1", b"k2", b"k3", b"k4"]
    assert len(db) == 4


def test_a_listing_learnt_in_a_rolled_back_unit_is_forgotten(db: Any) -> None:
    db.mset({"a": "v", "b": "v"})
    engine = db._core.engine
    with pytest.raises(KeyboardInterrupt), engine.exclusive():
        engine.raw([b"DEL", b"a"])
        assert db.dbsize() == 1  # learnt inside the unit
        raise KeyboardInterrupt  # undoes DEL
    assert sorted(db.keys()) == [b"a", b"b"]
    assert len(db) == 2
