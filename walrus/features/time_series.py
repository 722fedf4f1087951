"""TimeSeries: a consumer group whose message ids are datetimes.

``db.time_series(group, keys, consumer=None)`` works as
:func:`~walrus.Database.consumer_group`, except that ids are written and read
as datetimes (or ``(datetime, sequence)`` pairs) and messages come back as
:class:`Message` objects; :meth:`TimeSeries.read` returns one flat list, in
time order, across the streams.

Datetimes follow the standard library: a naive datetime is local time (as
``datetime.timestamp()`` treats it), an aware one keeps its instant; ids
hold milliseconds, so microseconds below a millisecond are dropped, and a
datetime read back is naive local time equal to the one written (to the
millisecond). Datetimes before the epoch raise
:class:`~walrus.exceptions.InvalidValue`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from walrus.exceptions import InvalidType, InvalidValue
from walrus.features.consumer_group import ConsumerGroup
from walrus.features.containers.stream import Message as Entry
from walrus.features.group_stream import ConsumerGroupStream
from walrus.keys import key_text

__all__ = [
    "Message",
    "PendingMessage",
    "TimeSeries",
    "TimeSeriesStream",
    "datetime_to_id",
    "id_to_datetime",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


def datetime_to_ms(value: dt.datetime) -> int:
    """Milliseconds since the epoch, exactly (naive means local time)."""
    aware = value if value.tzinfo is not None else value.astimezone()
    if aware < _EPOCH:
        raise InvalidValue(
            f"{value!r} is before the epoch (1970-01-01 UTC): stream ids cannot hold it"
        )
    return (aware - _EPOCH) // _MS


def datetime_to_id(value: Any) -> Any:
    """A stream id for a datetime, a ``(datetime, seq)`` pair or an id."""
    if isinstance(value, tuple):
        if (
            len(value) != 2
            or not isinstance(value[0], dt.datetime)
            or isinstance(value[1], bool)
            or not isinstance(value[1], int)
        ):
            raise InvalidType(f"{value!r} is not a (datetime, sequence) pair")
        if value[1] < 0:
            raise InvalidValue(f"sequence must be >= 0, not {value[1]}")
        return f"{datetime_to_ms(value[0])}-{value[1]}"
    if isinstance(value, dt.datetime):
        return f"{datetime_to_ms(value)}-0"
    if isinstance(value, dt.date):
        raise InvalidType("a stream id needs a datetime, not a date")
    return value


def id_to_datetime(message_id: Any) -> tuple[dt.datetime, int]:
    """``(naive local datetime, sequence)`` for a stream id ``'ms-seq'``."""
    text = key_text(message_id)
    ms, _, seq = text.partition("-")
    millis = int(ms)
    moment = dt.datetime.fromtimestamp(millis // 1000)
    return moment.replace(microsecond=(millis % 1000) * 1000), int(seq or 0)


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


@dataclass(frozen=True, eq=True)
class Message:
    """A stream message: ``stream`` key, ``message_id`` (str), its
    ``timestamp`` (naive local datetime) and ``sequence``, and ``data``
    (fields and values as str; values that are not UTF-8 stay bytes)."""

    stream: Any
    message_id: str
    data: dict[Any, Any] = field(hash=False)
    timestamp: dt.datetime = field(init=False, compare=False)
    sequence: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        moment, seq = id_to_datetime(self.message_id)
        object.__setattr__(self, "timestamp", moment)
        object.__setattr__(self, "sequence", seq)

    @classmethod
    def from_entry(cls, stream: Any, entry: Entry) -> Message:
        message_id, fields = entry
        data = {_text(k): _text(v) for k, v in fields.items()}
        return cls(_text(stream), key_text(message_id), data)

    def __repr__(self) -> str:
        return f"<Message {key_text(self.stream)} {self.message_id}: {self.data!r}>"


class PendingMessage(NamedTuple):
    """A pending message of a TimeSeries stream: id as ``(datetime, seq)``."""

    message_id: tuple[dt.datetime, int]
    consumer: Any
    time_since_delivered: int
    times_delivered: int


class TimeSeriesStream(ConsumerGroupStream):
    """A stream of a :class:`TimeSeries`: ids are datetimes, messages are
    :class:`Message` objects."""

    def _id(self, value: Any) -> Any:
        return super()._id(datetime_to_id(value))

    def _bound(self, value: Any) -> Any:
        return super()._bound(datetime_to_id(value))

    def _wrap(self, messages: list[Entry]) -> list[Any]:
        return [Message.from_entry(self.key, entry) for entry in messages]

    def _message_id(self, message: Any) -> Any:
        return id_to_datetime(message.message_id)

    def _pending(self, entry: dict[str, Any]) -> Any:
        return PendingMessage(
            id_to_datetime(entry["message_id"]),
            key_text(entry["consumer"]),  # text, as in walrus 0.9
            entry["time_since_delivered"],
            entry["times_delivered"],
        )

    def add(
        self,
        data: Any,
        id: Any = "*",
        maxlen: int | None = None,
        approximate: bool = True,
    ) -> Any:
        """Append a message (XADD) with a datetime id (or ``'*'``); returns the
        id as ``(datetime, seq)``. One round trip."""
        added = super().add(data, datetime_to_id(id), maxlen, approximate)
        return id_to_datetime(added)

    # Reads return Message objects (ids and bounds go through _id and _bound).
    def get(self, id: Any) -> Any:
        """The message at this datetime id, or None. One round trip."""
        found = super().get(id)
        return None if found is None else Message.from_entry(self.key, found)

    def __getitem__(self, item: Any) -> Any:
        """``s[datetime]``: one :class:`Message`; ``s[start:stop:count]``: a
        list of them. One round trip."""
        return super().__getitem__(item)

    def range(
        self, start: Any = "-", stop: Any = "+", count: int | None = None
    ) -> list[Any]:
        """Messages from ``start`` to ``stop`` (datetimes, inclusive). One trip."""
        return self._wrap(super().range(start, stop, count))

    def revrange(
        self, start: Any = "+", stop: Any = "-", count: int | None = None
    ) -> list[Any]:
        """Messages from ``start`` down to ``stop``, newest first. One trip."""
        return self._wrap(super().revrange(start, stop, count))

    def __iter__(self) -> Any:
        return (Message.from_entry(self.key, e) for e in super().__iter__())


class TimeSeries(ConsumerGroup):
    """A consumer group over streams whose ids are datetimes (see module doc)."""

    stream_class = TimeSeriesStream

    def read(
        self, count: int | None = None, block: int | None = None, consumer: Any = None
    ) -> list[Any]:
        """Messages never delivered to the group from every stream, as one
        list of :class:`Message` in time order (ties: streams in key order).
        At most ``count`` per stream. One round trip (on a cluster, streams in
        several slots: one per node, see :meth:`ConsumerGroup.read`)."""
        found = super().read(count, block, consumer)
        messages = [m for _, batch in found for m in batch]
        order = {key_text(k): i for i, k in enumerate(self.keys)}
        messages.sort(
            key=lambda m: (
                *map(int, m.message_id.split("-")),
                order.get(key_text(m.stream), 0),
            )
        )
        return messages
