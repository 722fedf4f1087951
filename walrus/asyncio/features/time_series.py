"""Async twin of :mod:`walrus.features.time_series`, generated from ``walrus/features/time_series.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from typing import Any
from walrus.asyncio.features.consumer_group import ConsumerGroup
from walrus.features.containers.stream import Message as Entry
from walrus.asyncio.features.group_stream import ConsumerGroupStream
from walrus.keys import key_text
from walrus.features.time_series import (
    Message,
    PendingMessage,
    datetime_to_id,
    id_to_datetime,
)

__all__ = [
    "Message",
    "PendingMessage",
    "TimeSeries",
    "TimeSeriesStream",
    "datetime_to_id",
    "id_to_datetime",
]


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
            key_text(entry["consumer"]),
            entry["time_since_delivered"],
            entry["times_delivered"],
        )

    async def add(
        self,
        data: Any,
        id: Any = "*",
        maxlen: int | None = None,
        approximate: bool = True,
    ) -> Any:
        """Append a message (XADD) with a datetime id (or ``'*'``); returns the
        id as ``(datetime, seq)``. One round trip."""
        added = await super().add(data, datetime_to_id(id), maxlen, approximate)
        return id_to_datetime(added)

    async def get(self, id: Any) -> Any:
        """The message at this datetime id, or None. One round trip."""
        found = await super().get(id)
        return None if found is None else Message.from_entry(self.key, found)

    async def __getitem__(self, item: Any) -> Any:
        """``s[datetime]``: one :class:`Message`; ``s[start:stop:count]``: a
        list of them. One round trip."""
        return await super().__getitem__(item)

    async def range(
        self, start: Any = "-", stop: Any = "+", count: int | None = None
    ) -> list[Any]:
        """Messages from ``start`` to ``stop`` (datetimes, inclusive). One trip."""
        return self._wrap(await super().range(start, stop, count))

    async def revrange(
        self, start: Any = "+", stop: Any = "-", count: int | None = None
    ) -> list[Any]:
        """Messages from ``start`` down to ``stop``, newest first. One trip."""
        return self._wrap(await super().revrange(start, stop, count))

    def __aiter__(self) -> Any:
        return (Message.from_entry(self.key, e) async for e in super().__aiter__())


class TimeSeries(ConsumerGroup):
    """A consumer group over streams whose ids are datetimes (see module doc)."""

    stream_class = TimeSeriesStream

    async def read(
        self, count: int | None = None, block: int | None = None, consumer: Any = None
    ) -> list[Any]:
        """Messages never delivered to the group from every stream, as one
        list of :class:`Message` in time order (ties: streams in key order).
        At most ``count`` per stream. One round trip (on a cluster, streams in
        several slots: one per node, see :meth:`ConsumerGroup.read`)."""
        found = await super().read(count, block, consumer)
        messages = [m for _, batch in found for m in batch]
        order = {key_text(k): i for i, k in enumerate(self.keys)}
        messages.sort(
            key=lambda m: (
                *map(int, m.message_id.split("-")),
                order.get(key_text(m.stream), 0),
            )
        )
        return messages
