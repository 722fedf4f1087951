"""Cache: values, expiry, serializers and decorators; every backend, both modes.

A cache's keys are walrus 0.9's ``<name>:<key>``; on a cluster the name is
their hash tag (``{<name>}:<key>``), so they share one slot.
"""

from __future__ import annotations

import datetime
import queue
import threading
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.crc import key_slot
from support import Backend, round_trips

from walrus import (
    Cache,
    InvalidCacheKey,
    SerializationError,
    TamperedValue,
)
from walrus.serializers import KeyBoundSerializer


def stored(db: Any, name: str, key: str) -> str:
    """The Redis key of ``key`` in the cache ``name``."""
    if db.keyspace.cluster:
        return f"{{{name}}}:{key}"
    return f"{name}:{key}"


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


def test_get_set_delete(db: Any) -> None:
    cache = db.cache()
    assert isinstance(cache, Cache)
    assert cache.get("foo") is None
    assert cache.get("foo", "default") == "default"
    assert cache.set("foo", "bar") is True
    assert cache.get("foo") == "bar"
    assert db.exists(stored(db, "cache", "foo"))
    assert cache.delete("foo") == 1
    assert cache.delete("foo") == 0
    assert cache.get("foo") is None


def test_plain_data_round_trips(db: Any) -> None:
    cache = db.cache("objects")
    values = [
        None,
        0,
        b"\xff\x00 raw bytes",
        "text \u00e9\u4e2d",
        {"a": [1, 2.5, (3, 4)], "b": {1, 2}},
        datetime.datetime(2015, 1, 7, 18, 26, 42, 730638),
    ]
    for i, value in enumerate(values):
        cache.set(f"k{i}", value)
    for i, value in enumerate(values):
        assert cache.get(f"k{i}", "missing") == value
    assert cache.get(b"k1") == 0  # bytes keys name the same entries
    with pytest.raises(SerializationError, match="plain data"):
        cache.set("point", Point(1, 2))  # refused before anything is written
    assert not db.exists(stored(db, "objects", "point"))


@pytest.mark.parametrize(
    "options",
    [
        {"serializer": "signed-pickle", "secret_key": "s"},
        {"serializer": "unsafe-pickle"},
    ],
    ids=["signed", "unsafe"],
)
def test_any_python_object_round_trips(db: Any, options: dict[str, Any]) -> None:
    cache = db.cache("objects", **options)
    cache.set("point", Point(1, 2))
    assert cache.get("point") == Point(1, 2)
    assert cache.get_many(["point"]) == {"point": Point(1, 2)}


def test_timeouts_expire_values(db: Any) -> None:
    cache = db.cache("t", default_timeout=0.2)
    cache.set("default", 1)
    cache.set("own", 2, timeout=60)
    cache.set_many({"m1": 1, "m2": 2})
    cache.set_many({"m3": 3}, timeout=60)
    assert 0 < db.pttl(stored(db, "t", "default")) <= 200
    assert 59_000 < db.pttl(stored(db, "t", "own")) <= 60_000
    assert 0 < db.pttl(stored(db, "t", "m1")) <= 200
    assert db.pttl(stored(db, "t", "m3")) > 59_000
    time.sleep(0.3)
    assert cache.get("default") is None
    assert cache.get_many(["m1", "m2", "m3"]) == {"m3": 3}
    assert cache.get("own") == 2
    assert db.pttl(db.cache("forever").make_key("x")) == -2
    db.cache("forever").set("x", 1)
    assert db.pttl(stored(db, "forever", "x")) == -1


def test_many(db: Any) -> None:
    cache = db.cache()
    assert cache.set_many({"k1": "v1", "k2": "v2"}, 300) is True
    assert cache.get_many(["k1", "kx", "k2"]) == {"k1": "v1", "k2": "v2"}
    assert cache.set_many(k3=None, k4=[4]) is True
    assert cache.get_many(["k3", "k4"]) == {"k3": None, "k4": [4]}
    assert cache.get_many([]) == {}
    assert cache.delete_many(["k1", "kx", "k2"]) == 2
    assert cache.delete_many([]) == 0
    # text in both reply modes, as in walrus 0.9
    assert sorted(cache.keys()) == [stored(db, "cache", k) for k in ("k3", "k4")]
    assert sorted(cache.keys(True)) == ["k3", "k4"]
    assert sorted(cache.keys(strip_prefix=True)) == ["k3", "k4"]


def test_keys_that_are_not_utf8_come_back_as_bytes(db: Any) -> None:
    cache = db.cache("raw")
    cache.set(b"\xff\xfe", 1)
    cache.set("é", 2)
    prefix = stored(db, "raw", "")
    expected = [f"{prefix}é", prefix.encode() + b"\xff\xfe"]
    assert sorted(cache.keys(), key=repr) == expected
    assert sorted(cache.keys(True), key=repr) == ["é", b"\xff\xfe"]
    assert cache.get(b"\xff\xfe") == 1


def test_flush_uses_scan_and_only_its_own_keys(db: Any, monkeypatch: Any) -> None:
    cache = db.cache("c[1]*")
    other = db.cache("c")
    cache.set_many({f"k{i}": i for i in range(1050)})
    other.set("k", 1)
    db.set("c[1]*extra", 1)  # not under "c[1]*:"

    def no_keys(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("flush must not use KEYS")

    monkeypatch.setattr(db, "keys", no_keys)
    assert len(cache.keys()) == 1050
    assert sorted(cache.keys(True))[:2] == ["k0", "k1"]
    assert cache.flush() == 1050
    assert cache.keys() == []
    assert cache.keys(True) == []
    assert other.get("k") == 1
    assert db.exists("c[1]*extra")


def test_a_cache_is_one_slot_on_a_cluster(db: Any, backend: Backend) -> None:
    cache = db.cache("pages")
    cache.set_many({f"k{i}": i for i in range(20)})
    cache.set(b"\xff", 1)
    cache.set_many({"k0": 0, "x": 1}, timeout=60)
    names = cache.keys()
    found = [k if isinstance(k, bytes) else k.encode() for k in names]
    assert len(found) == 22
    if backend.name == "cluster":  # elsewhere: walrus 0.9's names (tests above)
        assert {key_slot(k) for k in found} == {key_slot(b"pages")}
    assert cache.get_many(["k1", "x", b"\xff"]) == {"k1": 1, "x": 1, b"\xff": 1}
    assert cache.flush() == 22
    assert db.dbsize() == 0


def test_debug_mode_is_a_no_op(db: Any) -> None:
    cache = db.cache(debug=True)
    assert cache.set("k", 1) is True
    assert cache.get("k", "d") == "d"
    assert cache.set_many({"a": 1}) is True
    assert cache.get_many(["a"]) == {}
    assert cache.delete("k") == 0
    calls = []

    @cache.cached()
    def f(x: int) -> int:
        calls.append(x)
        return x

    assert (f(1), f(1)) == (1, 1)
    assert calls == [1, 1]
    assert db.dbsize() == 0


def test_cached_decorator(db: Any) -> None:
    cache = db.cache()
    calls: list[Any] = []

    @cache.cached(timeout=60, metrics=True)
    def get_time(seed: Any = None) -> Any:
        calls.append(seed)
        return None if seed == "none" else (seed, len(calls))

    first = get_time()
    assert get_time() == first
    assert get_time("foo") != first
    assert get_time("foo") == get_time("foo")
    assert get_time("none") is None
    assert get_time("none") is None  # None results are cached too
    assert calls == [None, "foo", "none"]
    assert (get_time.metrics.hits, get_time.metrics.misses) == (4, 3)
    assert get_time.bust("foo") == 1
    get_time("foo")
    assert calls[-1] == "foo"
    assert get_time.metrics.misses == 4
    assert get_time.__name__ == "get_time"


def test_cached_methods_and_custom_key_function(db: Any) -> None:
    cache = db.cache()

    class Adder:
        def __init__(self, base: int) -> None:
            self.base = base

        @cache.cached(key_fn=lambda args, kwargs: str(args[1]))
        def add(self, n: int) -> int:
            return self.base + n

    assert Adder(10).add(1) == 11
    assert Adder(20).add(1) == 11  # the key ignores the instance
    assert Adder(20).add(2) == 22


def test_cached_property(db: Any) -> None:
    cache = db.cache()
    counter = iter(range(100))

    class Clock:
        def __init__(self, name: str) -> None:
            self.name = name

        @cache.cached_property()
        def now(self) -> int:
            return next(counter)

    clock = Clock("a")
    assert clock.now == clock.now == 0
    assert Clock("b").now == 1
    assert Clock("a").now == 0  # same state, same key
    type(clock).now.bust(clock)
    assert clock.now == 2


@pytest.mark.sync_only("cache_async runs a thread; async code has tasks")
def test_cache_async(db: Any) -> None:
    cache = db.cache()
    release = threading.Event()
    calls: list[Any] = []

    @cache.cache_async()
    def slow(seed: Any = None) -> Any:
        calls.append(seed)
        release.wait(5)
        return f"value {seed}"

    result = slow()
    with pytest.raises(queue.Empty):
        result(block=False)
    with pytest.raises(queue.Empty):
        result(timeout=0.05)
    release.set()
    assert result(block=True) == "value None"
    assert result() == "value None"
    assert slow()() == "value None"
    assert calls == [None]

    @cache.cache_async()
    def broken() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        broken()(timeout=5)


def test_json_serializer(db: Any) -> None:
    cache = db.cache("j", serializer="json")
    cache.set("k", {"a": [1, 2], "b": None})
    assert cache.get("k") == {"a": [1, 2], "b": None}
    assert db.get(stored(db, "j", "k")) in (
        b'{"a":[1,2],"b":null}',
        '{"a":[1,2],"b":null}',
    )
    with pytest.raises(SerializationError):
        cache.set("bad", {1, 2})
    assert not db.exists(stored(db, "j", "bad"))
    db.set(stored(db, "j", "corrupt"), b"\x80not json")
    with pytest.raises(SerializationError):
        cache.get("corrupt")


class Reversed:
    """A serializer of one's own: text, stored reversed."""

    def dumps(self, value: Any) -> bytes:
        return str(value)[::-1].encode()

    def loads(self, data: bytes) -> Any:
        return data.decode()[::-1]


class TextOut(Reversed):
    """Breaks the contract: ``dumps`` returns text."""

    def dumps(self, value: Any) -> Any:
        return str(value)


class KeyTagged(KeyBoundSerializer):
    """A key-bound serializer of one's own: the value tagged with its key."""

    def dumps(self, value: Any, key: bytes) -> bytes:
        return key + b"|" + str(value).encode()

    def loads(self, data: bytes, key: bytes) -> Any:
        tag, _, value = data.partition(b"|")
        if tag != key:
            raise TamperedValue(f"stored for {tag!r}, read at {key!r}")
        return value.decode()


def test_serializers_of_ones_own(db: Any) -> None:
    cache = db.cache("own", serializer=Reversed())
    cache.set("k", "walrus")
    assert cache.get("k") == "walrus"
    assert cache.get_many(["k", "missing"]) == {"k": "walrus"}
    assert db.get(stored(db, "own", "k")) in (b"surlaw", "surlaw")
    with pytest.raises(SerializationError, match="returned str, not bytes"):
        db.cache("own", serializer=TextOut()).set("text", "x")
    assert not db.exists(stored(db, "own", "text"))
    tagged = db.cache("own", serializer=KeyTagged())
    tagged.set("k2", "v")
    assert tagged.get("k2") == "v"
    key = stored(db, "own", "k2")
    assert db.get(key) in (key.encode() + b"|v", key + "|v")
    db.set(stored(db, "own", "k3"), db.get(key))  # copied to another key
    with pytest.raises(TamperedValue):
        tagged.get("k3")


def test_signed_pickle_refuses_tampered_values(db: Any) -> None:
    cache = db.cache("s", serializer="signed-pickle", secret_key="sekrit")
    cache.set("k", Point(3, 4))
    assert cache.get("k") == Point(3, 4)
    raw = db.execute_command("GET", stored(db, "s", "k"), NEVER_DECODE=[])
    tampered = raw[:-2] + bytes([raw[-2] ^ 1]) + raw[-1:]
    db.set(stored(db, "s", "k"), tampered)
    with pytest.raises(TamperedValue):
        cache.get("k")
    db.set(stored(db, "s", "k"), b"short")
    with pytest.raises(TamperedValue):
        cache.get("k")
    other_key = db.cache("s", serializer="signed-pickle", secret_key="other")
    cache.set("k", 1)
    with pytest.raises(TamperedValue):
        other_key.get("k")
    with pytest.raises(ValueError):
        db.cache(serializer="signed-pickle")
    with pytest.raises(ValueError):
        db.cache(serializer="yaml")


def test_bad_input_writes_nothing(db: Any) -> None:
    cache = db.cache()
    with pytest.raises(SerializationError):
        cache.set("k", lambda: 1)
    with pytest.raises(SerializationError):
        cache.set_many({"good": 1, "bad": threading.Lock()})
    with pytest.raises(SerializationError):
        cache.set_many({"good": 1, "bad": threading.Lock()}, timeout=10)
    for bad_key in (1, None, ("a",), 1.5):
        with pytest.raises(InvalidCacheKey):
            cache.set(bad_key, 1)
        with pytest.raises(TypeError):
            cache.get(bad_key)
        with pytest.raises(InvalidCacheKey):
            cache.set_many({"good": 1, bad_key: 2})
    with pytest.raises(ValueError):
        cache.set("k", 1, timeout=-1)
    with pytest.raises(ValueError):
        db.cache(default_timeout=-5)
    db.set(stored(db, "cache", "corrupt"), b"not a pickle")
    with pytest.raises(SerializationError):
        cache.get("corrupt")
    assert db.dbsize() == 1


def test_round_trip_budgets(db: Any, backend: Backend) -> None:
    cache = db.cache(default_timeout=60)

    @cache.cached()
    def f(x: int) -> int:
        return x

    f(1)
    operations = [
        lambda: cache.set("k", 1),
        lambda: cache.get("k"),
        lambda: cache.delete("k"),
        lambda: cache.set_many({f"k{i}": i for i in range(50)}, timeout=30),
        lambda: cache.set_many({f"k{i}": i for i in range(50)}),
        lambda: cache.get_many([f"k{i}" for i in range(50)]),
        lambda: cache.delete_many([f"k{i}" for i in range(50)]),
        lambda: f(1),
    ]
    for operation in operations:
        with round_trips(db) as sent:
            operation()
        if backend.server:
            assert sent.round_trips == 1


def test_cached_under_contention(db: Any) -> None:
    cache = db.cache()
    calls: list[int] = []

    @cache.cached(timeout=60, metrics=True)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    results: list[tuple[int, int]] = []
    guard = threading.Lock()

    def work() -> None:
        for i in range(40):
            x = i % 5
            value = square(x)
            with guard:
                results.append((x, value))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 8 * 40
    assert all(value == x * x for x, value in results)
    assert sorted(set(calls)) == [0, 1, 2, 3, 4]
    assert len(calls) <= 8 * 5  # each thread misses a value at most once
    assert square.metrics.hits + square.metrics.misses == 8 * 40
    assert square.metrics.misses == len(calls)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=10,
)


@given(
    key=st.text(min_size=1, max_size=10),
    value=JSON_VALUES | st.binary() | st.tuples(st.integers(), st.text()),
)
def test_values_round_trip(db: Any, key: str, value: Any) -> None:
    cache = db.cache("prop")
    cache.set(key, value)
    assert cache.get(key, "missing") == value
    assert cache.get_many([key]) == {key: value}
    json_cache = db.cache("prop-json", serializer="json")
    if not isinstance(value, bytes | tuple):
        json_cache.set(key, value)
        assert json_cache.get(key, "missing") == value
