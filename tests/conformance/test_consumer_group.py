"""ConsumerGroup and ConsumerGroupStream on every backend, in both reply modes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from support import (
    Backend,
    nodes_of,
    one_round_trip,
    one_round_trip_per_node,
    require_streams,
    round_trips,
    text,
)

from walrus import (
    ConsumerGroup,
    ConsumerGroupStream,
    InvalidType,
    InvalidValue,
    MissingKey,
    NotPending,
    StreamNameWarning,
    UnknownGroup,
    WrongType,
)
from walrus.features.consumer_group import AutoClaim
from walrus.features.group_stream import slot_groups


@pytest.fixture(autouse=True)
def _needs_streams(db: Any, backend: Backend) -> None:
    require_streams(db, backend, "consumer_group")


def fields(db: Any, **data: str) -> dict[Any, Any]:
    return {text(db, k): text(db, v) for k, v in data.items()}


def ids_of(messages: list[Any]) -> list[Any]:
    return [m[0] for m in messages]


def test_reference_walkthrough(db: Any) -> None:
    keys = ["stream-a", "stream-b", "stream-c"]
    for key in keys:
        db.xadd(key, {"data": ""})
    cg = db.consumer_group("cg-abc", keys)
    assert isinstance(cg, ConsumerGroup)
    assert cg.consumer_name == "cg-abc.c1"
    assert cg.create() == dict.fromkeys(keys, True)
    assert cg.create() == dict.fromkeys(keys, False)
    assert cg.set_id("$") == dict.fromkeys(keys, True)
    assert cg.read() == []

    a = cg.stream_a.add({"message": "new a"})
    b = cg.stream_b.add({"message": "new for b"})
    c = [cg.stream_c.add({"message": f"c-{i}"}) for i in range(10)]
    assert isinstance(cg.stream_a, ConsumerGroupStream)
    assert cg.streams["stream-a"] is cg.stream_a

    assert cg.read(count=1) == [  # keys as the server gives them, as in 0.9
        [text(db, "stream-a"), [(a, fields(db, message="new a"))]],
        [text(db, "stream-b"), [(b, fields(db, message="new for b"))]],
        [text(db, "stream-c"), [(c[0], fields(db, message="c-0"))]],
    ]
    assert cg.read(count=1) == [
        [text(db, "stream-c"), [(c[1], fields(db, message="c-1"))]]
    ]

    [pending] = cg.stream_a.pending()
    assert pending["message_id"] == a
    assert pending["consumer"] == text(db, "cg-abc.c1")
    assert pending["times_delivered"] == 1
    assert isinstance(pending["time_since_delivered"], int)
    assert cg.stream_a.ack(pending["message_id"]) == 1
    assert cg.stream_a.pending() == []

    cg2 = cg.consumer("cg-abc.c2")
    assert cg2.read(count=1) == [
        [text(db, "stream-c"), [(c[2], fields(db, message="c-2"))]]
    ]
    mc1, mc2, mc3 = cg.stream_c.pending()
    assert [p["consumer"] for p in (mc1, mc2, mc3)] == [
        text(db, "cg-abc.c1"),
        text(db, "cg-abc.c1"),
        text(db, "cg-abc.c2"),
    ]
    assert cg2.stream_c.claim(mc1["message_id"]) == [(c[0], fields(db, message="c-0"))]
    assert [p["consumer"] for p in cg.stream_c.pending()] == [
        text(db, "cg-abc.c2"),
        text(db, "cg-abc.c1"),
        text(db, "cg-abc.c2"),
    ]
    assert cg.stream_c.pending(consumer="cg-abc.c1")[0]["message_id"] == c[1]
    assert [p["message_id"] for p in cg.stream_c.pending(start=c[1], count=1)] == [c[1]]

    info = cg.stream_info()
    assert list(info) == keys
    assert info["stream-c"]["length"] == 11
    assert cg.destroy() == dict.fromkeys(keys, True)
    assert cg.destroy() == dict.fromkeys(keys, False)
    with pytest.raises(UnknownGroup):
        cg.read()


def test_keys_as_a_string_a_list_or_min_ids(db: Any) -> None:
    for i in range(1, 4):
        db.xadd("s", {"i": str(i)}, id=f"{i}-0")
    one = db.consumer_group("g1", "s")
    assert list(one.keys) == ["s"]
    one.create()
    assert ids_of(one.read()[0][1]) == [text(db, f"{i}-0") for i in range(1, 4)]

    after = db.consumer_group("g2", {"s": "2-0", "t": "$"}, consumer="me")
    assert after.consumer_name == "me"
    assert after.create() == {"s": True, "t": True}  # t made empty (MKSTREAM)
    assert db.xlen("t") == 0
    assert after.read() == [[text(db, "s"), [(text(db, "3-0"), fields(db, i="3"))]]]
    db.xadd("t", {"x": "1"}, id="5-0")
    assert after.read(consumer="other") == [
        [text(db, "t"), [(text(db, "5-0"), fields(db, x="1"))]]
    ]
    assert after.reset() == {"s": True, "t": True}
    assert len(after.read()[0][1]) == 3

    assert db.consumer_group(b"g3", [b"s"]).consumer_name == b"g3.c1"


def test_create_without_making_streams(db: Any) -> None:
    db.xadd("present", {"a": "1"})
    cg = db.consumer_group("g", ["present", "absent"])
    with pytest.raises(MissingKey, match="absent"):
        cg.create(ensure_keys_exist=False)
    assert db.xinfo_groups("present") == []  # nothing left half-created
    assert not db.exists("absent")
    assert cg.create(ensure_keys_exist=False, mkstream=True) == {
        "present": True,
        "absent": True,
    }


def test_create_refuses_a_key_of_another_type_and_undoes(db: Any) -> None:
    db.hset("h", "a", "1")
    cg = db.consumer_group("g", ["fresh", "h"])
    with pytest.raises(WrongType) as info:
        cg.create()
    assert info.value.key == "h"
    assert info.value.actual == "hash"
    assert not db.exists("fresh")  # the stream MKSTREAM made is removed again
    with pytest.raises(WrongType):
        cg.read()
    with pytest.raises(WrongType):
        db.consumer_group("g", "h").streams["h"].read()


def test_a_key_of_another_type_is_also_a_value_error(db: Any) -> None:
    """walrus 0.9 raised ValueError here: WrongType is one too."""
    db.lpush("l1", "item")
    db.set("k1", "v1")
    for key in ("l1", "k1"):
        with pytest.raises(ValueError) as info:
            db.consumer_group(f"cg-{key}", [key]).create()
        assert isinstance(info.value, WrongType)
        assert isinstance(info.value, TypeError)
    assert db.type("l1") == text(db, "list")


def test_streams_are_found_by_the_keys_reads_return(db: Any) -> None:
    cg = db.consumer_group("g", ["sa", b"sb", "ünï"])
    cg.create()
    for key in ("sa", "sb", "ünï"):
        db.xadd(key, {"k": key})
    keys = [key for key, _ in cg.read()]
    assert keys == [text(db, "sa"), text(db, "sb"), text(db, "ünï")]
    assert [cg.streams[key].key for key in keys] == ["sa", b"sb", "ünï"]
    assert cg.streams[b"sa"] is cg.streams["sa"] is cg.sa
    assert cg.streams["sb"] is cg.streams[b"sb"]
    with pytest.raises(KeyError):
        cg.streams["sc"]
    with pytest.raises(KeyError):
        cg.streams[1]


def test_stream_attribute_names(db: Any) -> None:
    cg = db.consumer_group("g", ["stream-1", "2nd", "with space", "class", "ünï"])
    assert cg.stream_1.key == "stream-1"
    assert cg._2nd.key == "2nd"
    assert cg.with_space.key == "with space"
    assert cg.class_.key == "class"
    assert cg.ünï.key == "ünï"

    with pytest.warns(StreamNameWarning, match="shadow"):
        shadow = db.consumer_group("g", ["read", "keys"])
    assert callable(shadow.read)
    assert isinstance(shadow.keys, dict)
    assert shadow.streams["read"].key == "read"

    with pytest.warns(StreamNameWarning, match="a_b"):
        twins = db.consumer_group("g", ["a-b", "a.b", "c"])
    with pytest.raises(AttributeError, match="ambiguous"):
        twins.a_b  # noqa: B018
    assert twins.streams["a.b"].key == "a.b"
    assert twins.c.key == "c"
    with pytest.raises(AttributeError, match="streams"):
        twins.nothing  # noqa: B018


def test_stream_read_ack_claim_autoclaim(db: Any) -> None:
    cg = db.consumer_group("g", "s")
    cg.create()
    s = cg.streams["s"]
    m = [s.add({"n": str(i)}) for i in range(4)]
    assert ids_of(s.read(count=2)) == m[:2]
    assert ids_of(s.read()) == m[2:]
    assert s.read() == []
    assert ids_of(s.read(last_id="0")) == m  # this consumer's pending history
    assert s.ack(m[0], m[1]) == 2
    with pytest.raises(NotPending) as info:
        s.ack(m[0], m[2])
    assert info.value.acknowledged == 1
    assert s.ack(m[0], missing_ok=True) == 0
    assert s.ack() == 0

    other = cg.consumer("g.c2").streams["s"]
    time.sleep(0.01)
    claim = other.autoclaim(min_idle_time=5, count=10)
    assert isinstance(claim, AutoClaim)
    next_id, messages = claim
    assert next_id == text(db, "0-0")
    assert messages == [(m[3], fields(db, n="3"))]
    assert s.autoclaim("g.c3", 0, justid=True).messages == [m[3]]
    assert [p["consumer"] for p in s.pending()] == [text(db, "g.c3")]
    assert s.claim(m[3], min_idle_time=60_000) == []  # not idle long enough
    assert s.claim(m[3]) == [(m[3], fields(db, n="3"))]
    assert s.pending(idle=60_000) == []
    s.delete(m[3])
    assert s.autoclaim(min_idle_time=0).messages == []  # deleted: dropped
    assert s.pending() == []


def test_consumers_info_and_delete_consumer(db: Any) -> None:
    cg = db.consumer_group("g", "s")
    cg.create()
    s = cg.streams["s"]
    s.add({"a": "1"})
    s.read()
    assert s.create_consumer("idle") is True
    assert s.create_consumer("idle") is False
    names = sorted(c["name"] for c in s.consumers_info())
    assert names == [text(db, "g.c1"), text(db, "idle")]
    assert s.delete_consumer() == 1
    assert s.delete_consumer("idle") == 0
    assert s.consumers_info() == []
    assert s.groups_info()[0]["name"] == text(db, "g")


def test_set_id_on_one_stream(db: Any) -> None:
    cg = db.consumer_group("g", ["a", "b"])
    cg.create()
    cg.streams["a"].add({"x": "1"}, id="1-0")
    cg.streams["b"].add({"x": "2"}, id="1-0")
    assert cg.streams["a"].set_id() is True
    assert [k for k, _ in cg.read()] == [text(db, "b")]
    assert cg.streams["a"].set_id("0") is True
    assert [k for k, _ in cg.read()] == [text(db, "a")]


def test_blocking_group_read_is_woken(db: Any) -> None:
    cg = db.consumer_group("g", ["a", "b"])
    cg.create()
    added: list[Any] = []

    def add_later() -> None:  # another thread, through the same database
        time.sleep(0.2)
        added.append(db.xadd("b", {"k": "v"}))

    thread = threading.Thread(target=add_later)
    thread.start()
    try:
        got = cg.read(block=5000)
    finally:
        thread.join(5)
    assert got == [[text(db, "b"), [(added[0], fields(db, k="v"))]]]
    started = time.monotonic()
    assert cg.read(block=50) == []
    assert time.monotonic() - started >= 0.04


def test_unknown_group_errors(db: Any) -> None:
    db.xadd("s", {"a": "1"}, id="1-0")
    cg = db.consumer_group("nope", "s")
    s = cg.streams["s"]
    for call in (
        cg.read,
        lambda: cg.set_id("$"),
        s.read,
        lambda: s.ack("1-0"),
        s.pending,
        lambda: s.claim("1-0"),
        lambda: s.autoclaim(min_idle_time=0),
        lambda: s.set_id("0"),
        s.consumers_info,
    ):
        with pytest.raises(UnknownGroup, match="nope"):
            call()
    with pytest.raises(UnknownGroup):
        db.consumer_group("g", "missing").read()


BAD: list[Callable[[Any], Any]] = [
    lambda db: db.consumer_group("g", []),
    lambda db: db.consumer_group("g", ["a", "a"]),
    lambda db: db.consumer_group("", "a"),
    lambda db: db.consumer_group("g", {"a": "nope"}),
    lambda db: db.consumer_group("g", "a", consumer=""),
    lambda db: db.consumer_group("g", "a").read(count=0),
    lambda db: db.consumer_group("g", "a").read(block=-1),
    lambda db: db.consumer_group("g", "a").set_id("x"),
    lambda db: db.consumer_group("g", "a").streams["a"].ack("1-x"),
    lambda db: db.consumer_group("g", "a").streams["a"].claim("abc"),
    lambda db: db.consumer_group("g", "a").streams["a"].pending(start="x"),
    lambda db: db.consumer_group("g", "a").streams["a"].pending(count=0),
    lambda db: db.consumer_group("g", "a").streams["a"].read(last_id="1-2-3"),
    lambda db: db.consumer_group("g", "a").streams["a"].autoclaim(min_idle_time=-1),
    lambda db: db.consumer_group("g", "a").streams["a"].set_id("*"),
]


def test_bad_input_fails_before_sending(db: Any) -> None:
    with round_trips(db) as sent:
        for index, call in enumerate(BAD):
            with pytest.raises(InvalidValue):
                call(db)
            assert sent.round_trips == 0, index
    for bad_type in (
        lambda: db.consumer_group("g", 5),
        lambda: db.consumer_group(None, "a"),
        lambda: db.consumer_group("g", [1.5]),
        lambda: db.consumer_group("g", "a").streams["a"].ack(None),
        lambda: db.consumer_group("g", "a").read(count="1"),
    ):
        with pytest.raises(InvalidType):
            bad_type()
    assert db.dbsize() == 0


def _scenario(db: Any) -> list[Any]:
    cg = db.consumer_group("g", ["a", "b"])
    s = cg.streams["a"]
    results: list[Any] = [cg.create()]
    s.add({"x": "1"}, id="1-0")
    s.add({"y": "ü"}, id="2-0")
    cg.streams["b"].add({"z": "3"}, id="1-0")
    results += [
        cg.read(count=1),
        cg.read(),
        cg.read(block=10),
        s.read(last_id="0"),
        [
            {k: v for k, v in p.items() if k != "time_since_delivered"}
            for p in s.pending()
        ],
        s.claim("1-0"),
        s.autoclaim("other", 0, count=1),
        s.ack("1-0", "2-0", missing_ok=True),
        s.groups_info(),
        sorted(c["name"] for c in s.consumers_info()),
        {k: v["length"] for k, v in cg.stream_info().items()},
        cg.set_id("0"),
        cg.destroy(),
    ]
    return results


def test_resp2_and_resp3_give_identical_results(
    db: Any, resp3: Any, backend: Backend
) -> None:
    first = _scenario(db)
    db.flushdb()
    assert _scenario(resp3) == first


def test_every_method_is_one_round_trip(db: Any, backend: Backend) -> None:
    """One round trip; on a cluster, one per node the group's streams are on."""
    keys = ["a", "b", "c"]
    cg = db.consumer_group("g", keys)

    def per_node(operation: Callable[[], Any]) -> Any:
        return one_round_trip_per_node(db, backend, keys, operation)

    assert per_node(cg.create) == dict.fromkeys(keys, True)
    per_node(lambda: cg.create())  # BUSYGROUP everywhere
    s = cg.streams["a"]
    mid = one_round_trip(db, backend, lambda: s.add({"x": "1"}))
    for group_operation in (
        lambda: cg.read(count=5),
        lambda: cg.set_id("0"),
        cg.reset,
        cg.stream_info,
    ):
        per_node(group_operation)
    s.add({"x": "2"})
    per_node(lambda: cg.read(block=10))  # finds one at once, even on a cluster
    if len(slot_groups(db, keys)) == 1:  # several slots: it polls (next test)
        per_node(lambda: cg.read(block=10))
    for operation in (
        lambda: s.read(last_id="0"),
        lambda: s.read(block=10),
        s.pending,
        lambda: s.claim(mid),
        lambda: s.autoclaim(min_idle_time=0),
        lambda: s.ack(mid),
        lambda: s.set_id("$"),
        s.consumers_info,
        lambda: s.create_consumer("x"),
        lambda: s.delete_consumer("x"),
    ):
        one_round_trip(db, backend, operation)
    per_node(cg.destroy)


# -- streams in several slots (a cluster; one slot elsewhere) ----------------------
def test_streams_in_several_slots_are_read_in_the_group_s_order(db: Any) -> None:
    keys = ["a", "b", "c"]  # three slots, on three nodes of the test cluster
    assert len(slot_groups(db, keys)) == (3 if db.keyspace.cluster else 1)
    cg = db.consumer_group("g", keys)
    cg.create()
    added = {key: db.xadd(key, {"k": key}) for key in reversed(keys)}
    db.xadd("a", {"k": "a2"})
    assert cg.read(count=1) == [
        [text(db, key), [(added[key], fields(db, k=key))]] for key in keys
    ]
    assert [k for k, _ in cg.read()] == [text(db, "a")]
    assert cg.read() == []
    assert [k for k, _ in cg.read(consumer="other")] == []
    cg.reset()
    assert [k for k, _ in cg.consumer("other").read(count=1)] == [
        text(db, k) for k in keys
    ]


def test_a_blocking_read_over_several_slots_waits_for_every_stream(db: Any) -> None:
    """No slot is silently left out of a blocking read: a message added to
    any of the streams while it waits wakes it (on a cluster, by polling)."""
    keys = ["a", "b", "c"]
    cg = db.consumer_group("g", keys)
    cg.create()
    for key in keys:
        added: list[Any] = []
        timer = threading.Timer(
            0.15, lambda k=key, out=added: out.append(db.xadd(k, {"k": k}))
        )
        timer.start()
        started = time.monotonic()
        try:
            got = cg.read(block=5000)
        finally:
            timer.join(5)
        assert got == [[text(db, key), [(added[0], fields(db, k=key))]]]
        assert 0.1 < time.monotonic() - started < 2
    started = time.monotonic()
    assert cg.read(block=120) == []  # waits the whole block, then gives up
    assert 0.11 <= time.monotonic() - started < 1


def test_streams_sharing_a_tag_are_read_with_one_blocking_command(
    db: Any, backend: Backend
) -> None:
    keys = ["{jobs}:a", "{jobs}:b"]  # one slot on a cluster: a true blocking read
    assert len(slot_groups(db, keys)) == 1
    cg = db.consumer_group("g", keys)
    cg.create()
    db.xadd("{jobs}:b", {"k": "v"})
    with round_trips(db) as sent:
        assert [k for k, _ in cg.read(block=100)] == [text(db, "{jobs}:b")]
        started = time.monotonic()
        assert cg.read(block=100) == []
    assert time.monotonic() - started >= 0.09
    if backend.server:
        assert (sent.round_trips, sent.commands) == (2, 2)
    assert nodes_of(db, keys) == 1


def test_errors_of_a_read_over_several_slots(db: Any) -> None:
    db.hset("h", "a", "1")
    db.xadd("s", {"a": "1"})
    with pytest.raises(WrongType) as info:
        db.consumer_group("g", ["s", "h"]).read()
    assert info.value.key == "h"
    with pytest.raises(UnknownGroup, match="'a', 'b'"):
        db.consumer_group("g", ["a", "b"]).read(block=10)
