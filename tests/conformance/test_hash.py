"""Hash: a dict-like Redis hash, on every backend and in both reply modes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from async_portal import twin
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Backend, one_round_trip, round_trips, run_stateful, text

import walrus
from walrus import CommandError, Hash, UnsupportedOperation, WrongType


def test_reference_example(db: Any) -> None:
    h = db.Hash("charlie")
    assert h.update(name="Charlie", favorite_cat="Huey") is h
    assert h["name"] == text(db, "Charlie")
    assert sorted(h) == sorted(
        [
            (text(db, "name"), text(db, "Charlie")),
            (text(db, "favorite_cat"), text(db, "Huey")),
        ]
    )
    del h["favorite_cat"]
    h["age"] = 31
    assert h.as_dict(decode=True) == {"age": "31", "name": "Charlie"}
    assert "name" in h
    assert len(h) == 2
    first, last = h["name", "missing"]
    assert (first, last) == (text(db, "Charlie"), None)


def test_item_access(db: Any) -> None:
    h = db.Hash("h")
    with pytest.raises(KeyError):
        h["missing"]
    with pytest.raises(KeyError):
        del h["missing"]
    assert h.get("missing") is None
    assert h.get("missing", 7) == 7
    h["a"] = 1.5
    assert h.get("a") == text(db, "1.5")
    assert h[["a"]] == [text(db, "1.5")]
    assert h[()] == []
    assert "missing" not in h
    assert len(db.Hash("empty")) == 0
    assert list(db.Hash("empty")) == []


def test_keys_values_items(db: Any) -> None:
    h = twin(db, Hash).from_dict(db, "h", {"a": 1, "b": 2})
    assert sorted(h.keys()) == [text(db, "a"), text(db, "b")]
    assert sorted(h.values()) == [text(db, "1"), text(db, "2")]
    items = h.items()
    assert isinstance(items, list)
    assert sorted(items) == [
        (text(db, "a"), text(db, "1")),
        (text(db, "b"), text(db, "2")),
    ]
    lazy = h.items(lazy=True)
    assert not isinstance(lazy, list)
    assert sorted(lazy) == sorted(items)


def test_update_never_mutates_the_callers_dict(db: Any) -> None:
    data = {"a": 1}
    h = db.Hash("h")
    h.update(data, b=2)
    assert data == {"a": 1}
    assert h.as_dict(decode=True) == {"a": "1", "b": "2"}
    h.update()
    h.update({})
    assert len(h) == 2


def test_setnx_incr_and_floats(db: Any) -> None:
    h = db.Hash("h")
    assert h.setnx("a", "x") is True
    assert h.setnx("a", "y") is False
    assert h["a"] == text(db, "x")
    assert h.incr("n") == 1
    assert h.incr("n", 5) == 6
    assert h.incr_float("f", 1.5) == 1.5
    assert h.incr_float("f") == 2.5


def test_search(db: Any) -> None:
    h = twin(db, Hash).from_dict(
        db, "h", {f"user:{i}": i for i in range(30)} | {"other": 1}
    )
    found = dict(h.search("user:1*"))
    assert sorted(found) == sorted(text(db, f"user:{i}") for i in [1, *range(10, 20)])
    assert len(list(h.search("user:*", count=5))) == 5
    assert list(h.search("nothing*")) == []


def test_from_dict_and_clear(db: Any) -> None:
    twin(db, Hash).from_dict(db, "h", {"old": 1})
    h = twin(db, Hash).from_dict(db, "h", {"new": 2}, clear=True)
    assert h.as_dict(decode=True) == {"new": "2"}
    assert twin(db, Hash).from_dict(db, "h", {"more": 3}).as_dict(decode=True) == {
        "new": "2",
        "more": "3",
    }
    h.clear()
    assert not db.exists("h")


def test_unicode_and_bytes_round_trip(db: Any) -> None:
    h = db.Hash("h ü")
    h["clé"] = "北京 ü"
    assert h.as_dict(decode=True) == {"clé": "北京 ü"}
    assert h["clé"] == text(db, "北京 ü")
    if not db.get_encoder().decode_responses:  # bytes that are not UTF-8
        h[b"\x00raw"] = b"\xff\x00"
        assert h[b"\x00raw"] == b"\xff\x00"


@pytest.mark.parametrize("bad", [None, [1], {"a": 1}, object(), True])
def test_bad_values_are_type_errors(db: Any, bad: Any) -> None:
    h = db.Hash("h")
    with pytest.raises(TypeError, match=type(bad).__name__):
        h["a"] = bad
    with pytest.raises(TypeError, match=type(bad).__name__):
        h.update({"a": bad})
    with pytest.raises(TypeError, match=type(bad).__name__):
        h.update({bad: 1} if not isinstance(bad, (list, dict)) else {"x": bad})
    assert not db.exists("h")


def test_wrong_type_names_key_and_types(db: Any) -> None:
    db.rpush("l", "x")
    h = db.Hash("l")
    with pytest.raises(WrongType) as info:
        h["a"] = 1
    assert info.value.key == "l"
    assert info.value.actual == "list"
    assert "list" in str(info.value) and "hash" in str(info.value)
    with pytest.raises(WrongType):
        list(h)
    with pytest.raises(WrongType):
        len(h)


def test_container_base(db: Any) -> None:
    h = db.Hash("h")
    h["a"] = 1
    assert repr(h) == "<Hash 'h'>"
    assert h == db.Hash("h")
    assert h != db.Hash("other")
    assert h != db.List("h")
    assert len({h, db.Hash("h")}) == 1
    assert h.database is db and h.key == "h"
    assert isinstance(h.dump(), bytes)
    assert h.expire(100) is True
    assert 0 < db.ttl("h") <= 100
    assert h.expire(None) is True
    assert db.ttl("h") == -1
    assert h.pexpire(100_000) is True
    assert 0 < db.pttl("h") <= 100_000
    h.pexpire()
    assert db.ttl("h") == -1
    h.clear()
    assert not db.exists("h")


def test_get_key_returns_a_hash(db: Any) -> None:
    db.hset("h", "a", 1)
    assert db.get_key("h") == db.Hash("h")
    assert isinstance(db.get_key("h"), walrus.Hash)


def test_get_key_for_strings_and_streams(db: Any) -> None:
    db.set("s", "v")
    assert db.get_key("s") == text(db, "v")
    try:
        db.xadd("stream", {"a": 1})
    except (UnsupportedOperation, CommandError):
        return  # this backend has no streams yet
    assert db.get_key("stream") == db.Stream("stream")  # more in test_stream.py


def test_round_trips(db: Any, backend: Backend) -> None:
    h = twin(db, Hash).from_dict(db, "h", {"a": 1, "n": 1})
    for operation in [
        lambda: h["a"],
        lambda: h["a", "n"],
        lambda: h.get("x"),
        lambda: h.__setitem__("b", 2),
        lambda: h.__delitem__("b"),
        lambda: "a" in h,
        lambda: len(h),
        lambda: list(iter(h)),
        h.keys,
        h.values,
        h.items,
        lambda: list(h.items(lazy=True)),
        lambda: h.update({"c": 1}, d=2),
        lambda: h.setnx("e", 1),
        lambda: h.incr("n"),
        lambda: h.incr_float("n"),
        lambda: list(h.search("*")),
        h.as_dict,
        lambda: twin(db, Hash).from_dict(db, "h2", {"a": 1}, clear=True),
        lambda: h.expire(10),
        lambda: h.pexpire(None),
        h.dump,
    ]:
        one_round_trip(db, backend, operation)


def test_iterating_10000_fields(db: Any, backend: Backend) -> None:
    n = 10_000 if backend.server else 2_500  # embedded engines are not measured
    h = twin(db, Hash).from_dict(db, "big", {f"field:{i}": i for i in range(n)})
    if backend.server:
        with round_trips(db) as counter:
            pairs = dict(iter(h))
        assert counter.round_trips <= 10_000 // 1000 + 1
    else:
        pairs = dict(iter(h))
    assert len(pairs) == n
    assert pairs[text(db, f"field:{n - 1}")] == text(db, str(n - 1))


class HashMachine(RuleBasedStateMachine):
    """A Hash against a dict of str -> str."""

    database: Any = None
    fields = st.sampled_from(["a", "b", "c", "ü", ""])
    values = st.one_of(st.text(max_size=5), st.integers(-100, 100))

    def __init__(self) -> None:
        super().__init__()
        self.hash = twin(self.database, Hash)(
            self.database, f"machine:{uuid.uuid4().hex}"
        )
        self.model: dict[str, str] = {}

    def out(self, value: str) -> Any:
        return text(self.database, value)

    @rule(field=fields, value=values)
    def set(self, field: str, value: Any) -> None:
        self.hash[field] = value
        self.model[field] = str(value)

    @rule(data=st.dictionaries(fields, values, max_size=3))
    def update(self, data: dict[str, Any]) -> None:
        self.hash.update(data)
        self.model.update({f: str(v) for f, v in data.items()})

    @rule(field=fields)
    def delete(self, field: str) -> None:
        if field in self.model:
            del self.hash[field]
            del self.model[field]
        else:
            with pytest.raises(KeyError):
                del self.hash[field]

    @rule(field=fields, value=values)
    def setnx(self, field: str, value: Any) -> None:
        assert self.hash.setnx(field, value) == (field not in self.model)
        self.model.setdefault(field, str(value))

    @rule(field=fields)
    def get(self, field: str) -> None:
        expected = self.model.get(field)
        assert self.hash.get(field) == (
            None if expected is None else self.out(expected)
        )
        assert (field in self.hash) == (field in self.model)

    @invariant()
    def same_contents(self) -> None:
        assert len(self.hash) == len(self.model)
        assert dict(iter(self.hash)) == {
            self.out(f): self.out(v) for f, v in self.model.items()
        }

    def teardown(self) -> None:
        self.hash.clear()


def test_stateful(db: Any) -> None:
    HashMachine.database = db
    run_stateful(HashMachine, db)
