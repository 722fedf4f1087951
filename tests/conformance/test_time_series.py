"""TimeSeries and Message: consumer groups with datetime ids, on every backend."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from support import (
    Backend,
    one_round_trip,
    one_round_trip_per_node,
    require_streams,
    round_trips,
)

from walrus import (
    InvalidType,
    InvalidValue,
    Message,
    TimeSeries,
    TimeSeriesStream,
)
from walrus.features.time_series import (
    PendingMessage,
    datetime_to_id,
    id_to_datetime,
)


@pytest.fixture(autouse=True)
def _needs_streams(db: Any, backend: Backend) -> None:
    require_streams(db, backend, "time_series")


JAN = dt.datetime(2018, 1, 1)
DAY = dt.timedelta(days=1)


def ms(moment: dt.datetime) -> int:
    return int(datetime_to_id(moment).split("-")[0])


def test_reference_walkthrough(db: Any) -> None:
    ts = db.time_series("demo-ts", ["s1", "s2"])
    assert isinstance(ts, TimeSeries)
    assert isinstance(ts.s1, TimeSeriesStream)
    db.xadd("s1", {"": ""}, id="0-1")
    db.xadd("s2", {"": ""}, id="0-1")
    ts.create()
    ts.set_id("$")

    date = JAN
    for _ in range(10):
        assert ts.s1.add({"message": f"s1-{date}"}, id=date) == (date, 0)
        date += DAY

    got = ts.s1[dt.datetime(2018, 1, 2) :: 3]
    assert [m.timestamp for m in got] == [JAN + DAY, JAN + 2 * DAY, JAN + 3 * DAY]
    first = got[0]
    assert isinstance(first, Message)
    assert first.stream == "s1"
    assert first.message_id == f"{ms(JAN + DAY)}-0"
    assert first.sequence == 0
    assert first.data == {"message": "s1-2018-01-02 00:00:00"}
    assert repr(first) == (
        f"<Message s1 {ms(JAN + DAY)}-0: {{'message': 's1-2018-01-02 00:00:00'}}>"
    )

    date = JAN
    for _ in range(5):
        ts.s2.add({"message": f"s2-{date}"}, id=date)
        date += DAY

    messages = ts.read(count=2)
    assert [(m.stream, m.timestamp) for m in messages] == [
        ("s1", JAN),
        ("s2", JAN),
        ("s1", JAN + DAY),
        ("s2", JAN + DAY),
    ]

    pending = ts.s1.pending()
    assert [p.message_id for p in pending] == [(JAN, 0), (JAN + DAY, 0)]
    assert isinstance(pending[0], PendingMessage)
    for msgts_seq, _, _, _ in pending:
        assert ts.s1.ack(msgts_seq) == 1
    assert ts.s1.pending() == []

    ts.s1.set_id(JAN)
    assert [m.timestamp for m in ts.s1.read(count=2)] == [JAN + DAY, JAN + 2 * DAY]


def test_datetime_round_trip_is_exact(db: Any) -> None:
    ts = db.time_series("g", "s")
    ts.create()
    s = ts.streams["s"]
    naive = dt.datetime(2021, 3, 14, 1, 59, 26, 535000)
    assert s.add({"a": "1"}, id=naive) == (naive, 0)
    assert s.add({"a": "2"}, id=(naive, 7)) == (naive, 7)
    assert s[naive].timestamp == naive
    assert s[(naive, 7)].sequence == 7
    aware = dt.datetime(2022, 6, 1, 12, 0, 0, 1000, tzinfo=dt.UTC)
    stamp, _ = s.add({"a": "3"}, id=aware)
    assert stamp.tzinfo is None  # naive local time, the same instant
    assert stamp.astimezone(dt.UTC) == aware
    assert ms(stamp) == ms(aware)
    moment = dt.datetime(2023, 1, 1, 0, 0, 0, 999)  # below a millisecond: dropped
    assert s.add({"a": "4"}, id=moment)[0] == moment.replace(microsecond=0)
    assert [m.timestamp for m in s] == [
        naive,
        naive,
        stamp,
        moment.replace(microsecond=0),
    ]
    assert [m.timestamp for m in s.range(naive, aware)] == [naive, naive, stamp]
    assert [m.timestamp for m in s.revrange(count=1)] == [moment.replace(microsecond=0)]
    assert s.delete((naive, 7)) == 1
    assert s.trim(minid=aware, approximate=False) == 1
    assert id_to_datetime(b"0-5") == (dt.datetime.fromtimestamp(0), 5)


def test_messages_read_claimed_and_decoded(db: Any) -> None:
    ts = db.time_series("g", ["a", "b"])
    ts.create()
    data: dict[str, Any] = {"k": "ü"}
    if not db.get_encoder().decode_responses:
        data["raw"] = b"\xff"  # not UTF-8: stays bytes in Message.data
    ts.streams["b"].add(data, id=JAN)
    ts.streams["a"].add({"k": "x"}, id=JAN + DAY)
    [first, second] = ts.read()
    assert (first.stream, first.data) == ("b", data)
    assert second.stream == "a"
    other = ts.consumer("g.c2")
    [claimed] = other.streams["b"].claim(JAN)
    assert claimed == first
    _, ids = other.streams["a"].autoclaim(min_idle_time=0, justid=True)
    assert ids == [(JAN + DAY, 0)]
    assert other.streams["a"].read(last_id=0) == [second]
    assert ts.streams["a"].get(JAN) is None
    with pytest.raises(KeyError):
        ts.streams["a"][JAN]


def test_bad_datetimes(db: Any) -> None:
    ts = db.time_series("g", "s")
    s = ts.streams["s"]
    before = dt.datetime(1969, 12, 31, 23, 59, tzinfo=dt.UTC)
    with round_trips(db) as sent:
        for call in (
            lambda: s.add({"a": "1"}, id=before),
            lambda: s.ack(before),
            lambda: s[before:],
            lambda: ts.set_id(before),
            lambda: s.pending(start=before),
            lambda: s.add({"a": "1"}, id=(JAN, -1)),
        ):
            with pytest.raises(InvalidValue):
                call()
        assert sent.round_trips == 0
    with pytest.raises(InvalidValue, match="epoch"):
        datetime_to_id(before)
    for call in (
        lambda: s.add({"a": "1"}, id=dt.date(2018, 1, 1)),
        lambda: s.ack((JAN, "1")),
        lambda: s.ack((JAN,)),
    ):
        with pytest.raises(InvalidType):
            call()
    assert db.dbsize() == 0


def _scenario(db: Any) -> list[Any]:
    ts = db.time_series("g", ["a", "b"])
    ts.create()
    ts.streams["a"].add({"x": "1"}, id=JAN)
    ts.streams["b"].add({"y": "2"}, id=JAN)
    return [
        ts.read(),
        [p[:2] + p[3:] for p in ts.streams["a"].pending()],
        ts.streams["a"].claim(JAN),
        ts.streams["b"].autoclaim(min_idle_time=0),
        ts.streams["a"][JAN:],
        ts.streams["b"].ack(JAN),
    ]


def test_resp2_and_resp3_give_identical_results(db: Any, resp3: Any) -> None:
    first = _scenario(db)
    db.flushdb()
    assert _scenario(resp3) == first


def test_every_method_is_one_round_trip(db: Any, backend: Backend) -> None:
    """One round trip; on a cluster the group's are one per node of its streams."""
    keys = ["a", "b"]
    ts = db.time_series("g", keys)
    one_round_trip_per_node(db, backend, keys, ts.create)
    s = ts.streams["a"]
    one_round_trip(db, backend, lambda: s.add({"x": "1"}, id=JAN))
    for group_operation in (lambda: ts.read(count=1), lambda: ts.set_id(JAN)):
        one_round_trip_per_node(db, backend, keys, group_operation)
    for operation in (
        lambda: s.pending(),
        lambda: s.claim(JAN),
        lambda: s[JAN:],
        lambda: s.get(JAN),
        lambda: s.ack(JAN),
        lambda: s.set_id(JAN),
    ):
        one_round_trip(db, backend, operation)
