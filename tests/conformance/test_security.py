"""Security: stored values never run code, signed values stay where they were
written, hostile input is bounded; every backend, both reply modes."""

from __future__ import annotations

import builtins
import os
import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from async_portal import model_base

from walrus import (
    InvalidValue,
    PickledField,
    QueryError,
    SerializationError,
    TamperedValue,
    TextField,
)
from walrus.features.models.expressions import MAX_FILTER_TERMS


class Command:
    """A pickle that, unpickled, runs a shell command (``os.system``)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> Any:
        return (os.system, (self.command,))


class Writes:
    """A pickle that, unpickled, writes a file (``builtins.exec``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (builtins.exec, (f"open({str(self.path)!r}, 'w').write('pwned')",))


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


def hostile_pickles(marker: Path) -> list[bytes]:
    """Pickles that would create ``marker`` if they were unpickled."""
    system = f"touch {marker}"
    return [
        pickle.dumps(Command(system)),
        pickle.dumps(Command(system), protocol=0),
        pickle.dumps([1, {"nested": Writes(marker)}]),
        b"cos\nsystem\n(S'" + system.encode() + b"'\ntR.",  # hand-written GLOBAL
        b"(cos\nsystem\nS'" + system.encode() + b"'\no.",  # OBJ
        b"(S'" + system.encode() + b"'\nios\nsystem\n.",  # INST
        b"cbuiltins\ngetattr\n(cdatetime\ndatetime\nS'now'\ntR)R.",  # getattr
    ]


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / f"pwned-{uuid.uuid4().hex}"
    yield path
    assert not path.exists(), "a stored value ran code"


def test_the_default_cache_refuses_hostile_pickles(db: Any, marker: Path) -> None:
    cache = db.cache("sc")
    for payload in hostile_pickles(marker):
        db.set(cache.make_key("is_admin"), payload)
        with pytest.raises(SerializationError):
            cache.get("is_admin")
        with pytest.raises(SerializationError):
            cache.get_many(["is_admin"])
        assert not marker.exists()


def test_cached_functions_refuse_hostile_pickles(db: Any, marker: Path) -> None:
    cache = db.cache("sc")
    calls: list[int] = []

    @cache.cached(timeout=60)
    def profile(user: int) -> dict[str, Any]:
        calls.append(user)
        return {"user": user}

    assert profile(1) == {"user": 1}
    key = cache.make_key(profile.key(1))
    for payload in hostile_pickles(marker):
        db.set(key, payload)
        with pytest.raises(SerializationError):
            profile(1)
    assert calls == [1]


def test_pickled_field_refuses_hostile_pickles(db: Any, marker: Path) -> None:
    class Session(model_base(db)):
        __database__ = db
        name = TextField(primary_key=True)
        data = PickledField()

    Session.create(name="alice", data={"admin": False, "since": uuid.UUID(int=1)})
    assert Session.load("alice").data == {"admin": False, "since": uuid.UUID(int=1)}
    row = Session._keys().row(b"alice")
    for payload in hostile_pickles(marker):
        db.hset(row, "data", payload)
        with pytest.raises(SerializationError):
            Session.load("alice")
    with pytest.raises(SerializationError, match="plain data"):
        Session(name="bob", data=Point(1, 2))  # refused before anything is stored


def test_signed_values_are_bound_to_their_key(db: Any) -> None:
    cache = db.cache("sc", serializer="signed-pickle", secret_key="s3cret")
    cache.set("alice:is_admin", True)
    cache.set("bob:is_admin", False)
    signed = db.execute_command(
        "GET", cache.make_key("alice:is_admin"), NEVER_DECODE=[]
    )
    db.set(cache.make_key("bob:is_admin"), signed)  # a valid signature, copied
    with pytest.raises(TamperedValue):
        cache.get("bob:is_admin")
    assert cache.get("alice:is_admin") is True
    other = db.cache("other", serializer="signed-pickle", secret_key="s3cret")
    db.set(other.make_key("alice:is_admin"), signed)  # another cache, same secret
    with pytest.raises(TamperedValue):
        other.get("alice:is_admin")


def test_signed_pickled_fields_are_bound_to_their_field(db: Any, marker: Path) -> None:
    class Account(model_base(db)):
        __database__ = db
        name = TextField(primary_key=True)
        profile = PickledField(serializer="signed-pickle", secret_key="s3cret")
        grants = PickledField(serializer="signed-pickle", secret_key="s3cret")

    Account.create(name="alice", profile=Point(1, 2), grants={"admin"})
    assert Account.load("alice").profile == Point(1, 2)
    row = Account._keys().row(b"alice")
    profile = db.execute_command("HGET", row, "profile", NEVER_DECODE=[])
    db.hset(row, "grants", profile)  # copied to another field
    with pytest.raises(TamperedValue):
        Account.load("alice")
    db.hset(row, "grants", pickle.dumps(Command(f"touch {marker}")))  # unsigned
    with pytest.raises(TamperedValue):
        Account.load("alice")


def test_secret_rotation(db: Any) -> None:
    old = db.cache("sc", serializer="signed-pickle", secret_key="old")
    old.set("k", Point(1, 2))
    rotated = db.cache("sc", serializer="signed-pickle", secret_key=["new", "old"])
    assert rotated.get("k") == Point(1, 2)  # read with the old secret
    rotated.set("k2", Point(3, 4))  # signed with the new one
    new = db.cache("sc", serializer="signed-pickle", secret_key="new")
    assert new.get("k2") == Point(3, 4)
    with pytest.raises(TamperedValue):
        new.get("k")  # the old secret is retired
    with pytest.raises(TamperedValue):
        old.get("k2")
    with pytest.raises(InvalidValue):
        db.cache(serializer="signed-pickle", secret_key=[])
    with pytest.raises(InvalidValue):
        db.cache(serializer="signed-pickle", secret_key=["new", ""])
    with pytest.raises(InvalidValue):
        db.cache(serializer="json", secret_key="s3cret")  # would not be used


def test_unsafe_pickle_only_by_name(db: Any) -> None:
    cache = db.cache("sc", serializer="unsafe-pickle")
    cache.set("p", Point(1, 2))
    assert cache.get("p") == Point(1, 2)
    with pytest.raises(SerializationError):
        db.cache("sc").get("p")  # the default refuses what it cannot vouch for


def test_values_of_walrus_09_caches_read_back(db: Any) -> None:
    cache = db.cache()
    value = {"name": "Huey", "tags": ["a", "b"], "score": 1.5, "raw": b"\x00"}
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        db.set(
            cache.make_key("old"), pickle.dumps(value, protocol)
        )  # as walrus 0.9 wrote
        assert cache.get("old") == value


def test_non_utf8_bytes_keys(db: Any) -> None:
    cache = db.cache("c")
    key = b"\xff\xfe-\x80"
    assert cache.set(key, {"v": 1})
    assert cache.get(key) == {"v": 1}
    assert cache.get_many([key, b"missing"]) == {key: {"v": 1}}
    assert cache.set_many({key: 2}, timeout=60)
    assert cache.get(key) == 2
    assert cache.keys() == [cache.make_key(key)]
    assert cache.keys(True) == [key]
    assert db.exists(cache.make_key(key))
    assert cache.delete(key) == 1
    cache.set(key, 3)
    assert cache.flush() == 1
    signed = db.cache("s", serializer="signed-pickle", secret_key="k")
    signed.set(key, Point(1, 2))
    assert signed.get(key) == Point(1, 2)


# -- bounded resources -------------------------------------------------------------
def test_autocomplete_bounds_long_words(db: Any) -> None:
    ac = db.autocomplete(namespace="ac")
    with pytest.raises(InvalidValue, match="max_phrase_length"):
        ac.store("huge", "y" * 20_000)  # about 200 MB of prefixes uncapped
    word = "x" * 9_000
    ac.store("long", word)  # 9,000 prefixes (40 MB) without the word cap
    prefixes = db.hget(db.keyspace.group("ac").key("w"), ac.object_key("long"))
    assert len(prefixes.split()) == ac.max_word_length
    assert ac.search(word) == [word]
    assert ac.search(word[:10]) == [word]
    with pytest.raises(InvalidValue, match="max_phrase_length"):
        ac.search("y" * (ac.max_phrase_length + 1))
    assert not ac.exists("huge")
    ac.max_word_length = 3
    ac.store("short", "abcdef")
    assert ac.search("abcxyz") == ["abcdef"]  # a longer word matches on 3 chars


def test_search_queries_are_bounded(db: Any) -> None:
    index = db.Index("docs")
    index.add("1", "walrus tusk")
    with pytest.raises(QueryError, match="nested"):
        index.search("(" * 500 + "walrus" + ")" * 500)
    with pytest.raises(QueryError, match="characters"):
        index.search(" OR ".join(f"w{i}" for i in range(120_000)))  # 1 MB
    with pytest.raises(QueryError, match="words"):
        index.search(" ".join(["walrus"] * (index.max_query_terms + 1)))
    assert index.search("(" * 30 + "walrus" + ")" * 30)
    index.max_query_depth = 2
    with pytest.raises(QueryError, match="nested"):
        index.search("(((walrus)))")


def test_model_filters_are_bounded(db: Any) -> None:
    class Doc(model_base(db)):
        __database__ = db
        name = TextField(primary_key=True)
        body = TextField(fts=True)

    Doc.create(name="a", body="walrus tusk")
    ors = Doc.name == "x0"
    with pytest.raises(QueryError, match="MAX_FILTER_TERMS"):
        for i in range(3_000):
            ors = ors | (Doc.name == f"x{i}")
    ors = Doc.name == "a"
    for i in range(1, MAX_FILTER_TERMS):
        ors = ors | (Doc.name == f"x{i}")
    assert [d.name for d in Doc.query(ors)] == ["a"]  # at the limit it runs
    assert "x999" in repr(ors)
    nested = Doc.name == "a"
    with pytest.raises(QueryError, match="MAX_FILTER_DEPTH"):
        for i in range(500):
            step = Doc.name == f"n{i}"
            nested = (nested | step) if i % 2 else (nested & step)
    with pytest.raises(QueryError, match="nested"):
        list(Doc.query(Doc.body.search("(" * 500 + "walrus" + ")" * 500)))
