"""Stream: a standalone Redis stream, on every backend with streams."""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest
from support import (
    Backend,
    one_round_trip,
    record_unsupported,
    require_streams,
    round_trips,
    text,
)

import walrus
from walrus import (
    Capability,
    CommandError,
    InvalidType,
    InvalidValue,
    MissingKey,
    Stream,
    UnsupportedOperation,
    WrongType,
)
from walrus.keys import key_text


@pytest.fixture
def sdb(db: Any, backend: Backend) -> Any:
    """``db`` on a backend with streams (others must refuse them clearly)."""
    require_streams(db, backend, "stream")
    return db


def fields(db: Any, **data: str) -> dict[Any, Any]:
    return {text(db, k): text(db, v) for k, v in data.items()}


def test_reference_example(sdb: Any) -> None:
    db = sdb
    stream = db.Stream("stream-a")
    msgid = stream.add({"message": "hello streams"})
    assert isinstance(msgid, str if db.get_encoder().decode_responses else bytes)
    msgid2 = stream.add({"message": "message 2"})
    msgid3 = stream.add({"message": "message 3"})
    first = (msgid, fields(db, message="hello streams"))
    second = (msgid2, fields(db, message="message 2"))
    third = (msgid3, fields(db, message="message 3"))

    assert stream[msgid2:] == [second, third]
    assert stream[msgid::2] == [first, second]
    assert stream[msgid:msgid2] == [first, second]
    assert list(stream) == [first, second, third]
    assert stream.range() == [first, second, third]
    assert stream.revrange(count=2) == [third, second]

    msgid4 = stream.add({"message": "delete me"})
    del stream[msgid4]
    assert len(stream) == 3

    stream2 = db.Stream("stream-2")
    for i in range(1000):
        stream2.add({"data": f"message-{i}"})
    assert stream2.trim(10, approximate=False) == 990
    assert len(stream2) == 10
    assert stream2.trim(10) == 0

    assert stream.read() == [first, second, third]
    assert stream.read(last_id=msgid2) == [third]
    assert stream.read(last_id=msgid3) == []
    assert stream.read(count=1) == [first]
    started = time.monotonic()
    assert stream.read(block=50, last_id="$") == []
    assert time.monotonic() - started >= 0.04


def test_blocking_read_is_woken_by_an_add(sdb: Any, backend: Backend) -> None:
    reader = sdb.Stream("s")
    # another client on a server; the same database from another thread on
    # embedded engines (a second in-memory database would be another one)
    writer_db = backend.open() if backend.server else sdb
    added: list[Any] = []

    def add_later() -> None:
        time.sleep(0.2)
        added.append(writer_db.Stream("s").add({"k": "v"}))

    thread = threading.Thread(target=add_later)
    thread.start()
    try:
        messages = reader.read(block=5000, last_id="$")
    finally:
        thread.join(5)
        if writer_db is not sdb:
            writer_db.close()
    assert messages == [(text(sdb, key_text(added[0])), fields(sdb, k="v"))]


def test_get_and_item_access(sdb: Any) -> None:
    s = sdb.Stream("s")
    mid = s.add({"a": "1"}, id="5-1")
    assert mid == text(sdb, "5-1")
    assert s.get("5-1") == (mid, fields(sdb, a="1"))
    assert s.get(b"5-1") == s["5-1"]
    assert s.get("5-2") is None
    assert s.get("5") is None  # a bare millisecond means ms-0 here
    s.add({"b": "2"}, id="6")
    assert s[6] == (text(sdb, "6-0"), fields(sdb, b="2"))
    with pytest.raises(KeyError):
        s["7-0"]
    del s["7-0"]  # a missing id is ignored, as XDEL does (walrus 0.9 too)
    assert s.delete() == 0
    assert s.delete("5-1", "7-0") == 1
    del s[[]]
    del s[["6-0", "8-0"]]
    assert len(s) == 0
    assert list(s) == []
    assert s.read() == []
    assert len(sdb.Stream("missing")) == 0
    assert sdb.Stream("missing").range() == []


def test_ids_ranges_and_trim_by_minid(sdb: Any) -> None:
    s = sdb.Stream("s")
    for ms in range(1, 6):
        s.add({"n": str(ms)}, id=f"{ms}-0")
    ids = [m[0] for m in s]
    assert ids == [text(sdb, f"{ms}-0") for ms in range(1, 6)]
    assert [m[0] for m in s.range("(2-0", "4")] == ids[2:4]
    assert [m[0] for m in s.revrange("4", "2")] == ids[3:0:-1]
    assert s.add({"n": "x"}, id="6-*") == text(sdb, "6-0")
    assert s.trim(minid="3-0", approximate=False) == 2
    assert len(s) == 4
    assert s.set_id("100-0") is True
    assert s.info()["last-generated-id"] == text(sdb, "100-0")
    with pytest.raises(CommandError):
        s.add({"n": "old"}, id="50-0")  # ids must grow: the server refuses


def test_add_with_maxlen(sdb: Any) -> None:
    s = sdb.Stream("s")
    for i in range(20):
        s.add({"i": str(i)}, maxlen=5, approximate=False)
    assert len(s) == 5
    assert s.range(count=1)[0][1] == fields(sdb, i="15")


def test_iteration_crosses_batches(sdb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("walrus.features.containers.stream.SCAN_COUNT", 3)
    s = sdb.Stream("s")
    for i in range(7):
        s.add({"i": str(i)}, id=f"1-{i}")
    assert [m[0] for m in s] == [text(sdb, f"1-{i}") for i in range(7)]


def test_unicode_and_bytes_values(sdb: Any) -> None:
    s = sdb.Stream("s ü")
    mid = s.add({"clé": "北京 ü"})
    decoded = sdb.get_encoder().decode_responses
    expected = {"clé": "北京 ü"} if decoded else {"clé".encode(): "北京 ü".encode()}
    assert s[mid] == (mid, expected)
    if not decoded:
        raw = s.add({b"\x00raw": b"\xff\x00"})
        assert s[raw] == (raw, {b"\x00raw": b"\xff\x00"})


def test_info_groups_and_consumers(sdb: Any) -> None:
    s = sdb.Stream("s")
    with pytest.raises(MissingKey):
        s.info()
    mid = s.add({"a": "1"})
    info = s.info()
    assert info["length"] == 1
    assert info["first-entry"] == (mid, fields(sdb, a="1"))
    assert s.groups_info() == []
    sdb.xgroup_create("s", "g", id="0")
    sdb.xreadgroup("g", "c1", {"s": ">"})
    [group] = s.groups_info()
    assert group["name"] == text(sdb, "g")
    assert group["pending"] == 1
    [consumer] = s.consumers_info("g")
    assert consumer["name"] == text(sdb, "c1")
    with pytest.raises(CommandError):
        s.consumers_info("no-such-group")


BAD_ARGUMENTS = [
    lambda s: s.get("abc"),
    lambda s: s.get("1-2-3"),
    lambda s: s["-"],
    lambda s: s.range("nope"),
    lambda s: s["1-x":],
    lambda s: s.read(last_id="+x"),
    lambda s: s.add({"a": 1}, id="1-*-1"),
    lambda s: s.add({}),
    lambda s: s.add({"a": 1}, maxlen=-1),
    lambda s: s.delete("x"),
    lambda s: s.trim(),
    lambda s: s.trim(5, minid="1-0"),
    lambda s: s.trim(5, approximate=False, limit=10),
    lambda s: s.trim(-1),
    lambda s: s.range(count=0),
    lambda s: s[::-1],
    lambda s: s.read(block=-1),
    lambda s: s.set_id("*"),
]


def test_bad_arguments_fail_before_sending(sdb: Any, backend: Backend) -> None:
    s = sdb.Stream("s")
    with round_trips(sdb) as sent:
        for index, call in enumerate(BAD_ARGUMENTS):
            with pytest.raises(InvalidValue):
                call(s)
            assert sent.round_trips == 0, index


def test_bad_types(sdb: Any) -> None:
    s = sdb.Stream("s")
    with pytest.raises(InvalidType):
        s.add([("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(InvalidType):
        s.add({"a": None})
    with pytest.raises(InvalidType, match="field"):
        s.add({"a": 1, None: 1})
    with pytest.raises(InvalidType, match="value"):
        s.add({"a": 1, "b": [2]})
    with pytest.raises(InvalidType):
        s.get(1.5)
    with pytest.raises(InvalidType):
        s.range(count="3")  # type: ignore[arg-type]
    assert not sdb.exists("s")


class Text(str):
    pass


def test_add_takes_any_mapping_of_storable_values(sdb: Any) -> None:
    s = sdb.Stream("s")
    first = s.add(types.MappingProxyType({"a": 1, "b": b"2"}))
    second = s.add({Text("c"): 3.5})
    assert [fields for _, fields in s.range()] == [
        {text(sdb, "a"): text(sdb, "1"), text(sdb, "b"): text(sdb, "2")},
        {text(sdb, "c"): text(sdb, "3.5")},
    ]
    assert [i for i, _ in s.range()] == [first, second]


def test_wrong_type_names_the_key(sdb: Any) -> None:
    sdb.hset("h", "a", 1)
    s = sdb.Stream("h")
    for call in (
        lambda: s.add({"a": 1}),
        lambda: len(s),
        lambda: list(s),
        lambda: s.read(),
        lambda: s.range(),
        lambda: s.info(),
    ):
        with pytest.raises(WrongType) as info:
            call()
        assert info.value.key == "h"
        assert info.value.actual == "hash"
        assert "stream" in str(info.value)


def test_resp2_and_resp3_give_identical_results(sdb: Any, backend: Backend) -> None:
    decoded = sdb.get_encoder().decode_responses
    # RESP3 is a server protocol: embedded engines compare with themselves
    resp3 = (
        backend.open(decode_responses=decoded, protocol=3) if backend.server else sdb
    )
    try:
        s2, s3 = sdb.Stream("s"), resp3.Stream("s")
        mids = [s2.add({"a": "1", "b": "ü"}), s3.add({"c": "3"}), s2.add({"d": "4"})]

        def results(s: Stream) -> list[Any]:
            info = s.info()
            return [
                s.get(mids[1]),
                s[mids[0] :],
                s[mids[0] :: 2],
                s.range(),
                s.revrange(),
                list(s),
                len(s),
                s.read(),
                s.read(count=1, last_id=mids[0]),
                s.read(block=10, last_id="$"),
                s.read(last_id=mids[2]),
                {k: info[k] for k in ("length", "first-entry", "last-entry")},
                s.groups_info(),
            ]

        assert results(s2) == results(s3)
        assert s3.read() == [(m, s2[m][1]) for m in mids]
    finally:
        if resp3 is not sdb:
            resp3.close()


def test_every_method_is_one_round_trip(sdb: Any, backend: Backend) -> None:
    s = sdb.Stream("s")
    mid = one_round_trip(sdb, backend, lambda: s.add({"a": "1"}))
    sdb.xgroup_create("s", "g", id="0")
    for operation in (
        lambda: s.get(mid),
        lambda: s[mid],
        lambda: s[mid:],
        lambda: s.range(),
        lambda: s.revrange(),
        lambda: list(iter(s)),  # list(s) would first ask len(s) as a size hint
        lambda: len(s),
        lambda: s.read(),
        lambda: s.read(block=10, last_id="$"),
        lambda: s.info(),
        lambda: s.groups_info(),
        lambda: s.consumers_info("g"),
        lambda: s.set_id("9999999999999-0"),
        lambda: s.trim(10),
        lambda: s.delete(mid),
    ):
        one_round_trip(sdb, backend, operation)


def test_get_key_returns_a_stream(sdb: Any) -> None:
    sdb.xadd("stream", {"a": 1})
    assert sdb.get_key("stream") == sdb.Stream("stream")
    assert isinstance(sdb.get_key("stream"), walrus.Stream)
    assert repr(sdb.Stream("stream")) == "<Stream 'stream'>"


def _stream_calls(s: Stream) -> Iterator[Any]:
    yield lambda: s.add({"a": 1})
    yield lambda: s.get("1-0")
    yield lambda: s["1-0"]
    yield lambda: s["1-0":]
    yield lambda: s.range()
    yield lambda: s.revrange()
    yield lambda: list(s)
    yield lambda: len(s)
    yield lambda: s.read()
    yield lambda: s.read(block=10, last_id="$")
    yield lambda: s.trim(10)
    yield lambda: s.delete("1-0")
    yield lambda: s.delete()
    yield lambda: s.__delitem__("1-0")
    yield lambda: s.info()
    yield lambda: s.groups_info()
    yield lambda: s.consumers_info("g")
    yield lambda: s.set_id("5-0")


def test_every_backend_has_streams(db: Any, backend: Backend) -> None:
    """Servers have streams and the embedded engines emulate them: no stream call
    is refused anywhere (errors about missing ids or groups are the other tests')."""
    assert Capability.STREAMS in db.capabilities
    s = db.Stream("s")
    for call in _stream_calls(s):
        try:
            call()
        except UnsupportedOperation as exc:
            record_unsupported(str(backend), "stream", exc)
            raise
        except Exception:  # missing entries or groups: not the point here
            continue
    assert db.type("s") in (b"stream", "stream")


def test_ids_are_read_as_redis_reads_them(sdb: Any) -> None:
    """An id part is an integer or what C's strtoull reads whole (leading
    whitespace, a sign): Redis's own reading, which the fuzzer compared."""
    run = sdb.execute_command
    assert run("XADD", "ids", " 7-1", "a", "1") == text(sdb, "7-1")
    assert run("XADD", "ids", "+8", "a", "1") == text(sdb, "8-0")
    assert run("XADD", "ids", "+9- 4", "a", "1") == text(sdb, "9-4")
    assert run("XADD", "ids", "\t10-*", "a", "1") == text(sdb, "10-0")
    assert len(run("XRANGE", "ids", " 8", "+")) == 3
    assert len(run("XRANGE", "ids", "(+8", "+")) == 2
    assert len(run("XRANGE", "ids", "0" * 126 + "9", "+")) == 2
    assert run("XTRIM", "ids", "MINID", " 9") == 2
    assert run("XTRIM", "missing", "MINID", "+1") == 0
    for bad in ["-1", "-0", "3 ", "1-", "1-18446744073709551616", "0" * 127 + "9"]:
        with pytest.raises(CommandError, match="Invalid stream ID"):
            run("XRANGE", "ids", bad, "+")
    assert run("XADD", "ids", " " * 123 + "11-*", "a", "1") == text(sdb, "11-0")
    with pytest.raises(CommandError, match="Invalid stream ID"):
        run("XADD", "ids", " " * 124 + "12-*", "a", "1")  # 128 bytes: too long
