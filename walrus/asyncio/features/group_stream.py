"""Async twin of :mod:`walrus.features.group_stream`, generated from ``walrus/features/group_stream.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from typing import TYPE_CHECKING, Any
from redis.exceptions import ResponseError
from walrus.exceptions import CommandError, NotPending, WrongType
from walrus.features.containers.stream import Message, _messages, _positive
from walrus.asyncio.features.containers.stream import Stream
from walrus.keys import key_text

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
    from walrus.asyncio.features.consumer_group import ConsumerGroup
from walrus.features.group_stream import (
    AutoClaim,
    check_name,
    group_error,
    pending_entry,
    slot_groups,
    wire,
)

__all__ = ["AutoClaim", "ConsumerGroupStream", "slot_groups", "wire"]


class ConsumerGroupStream(Stream):
    """One stream of a consumer group: a :class:`Stream` plus the group's reads,
    acknowledgements and claims, made as the group's consumer."""

    def __init__(self, database: Driver, group: ConsumerGroup, key: Any) -> None:
        super().__init__(database, key)
        self.group = group

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {key_text(self.key)!r} group={key_text(self.group.name)!r}>"

    async def _error(self, exc: ResponseError) -> BaseException:
        error = await super()._error(exc)
        if isinstance(error, CommandError) and (not isinstance(error, WrongType)):
            return group_error(error, self.group.name, [self.key])
        return error

    def _group_id(self, value: Any) -> Any:
        """A group's last delivered id: ``'$'`` or a message id."""
        return value if value == "$" else self._id(value)

    def _wrap(self, messages: list[Message]) -> list[Any]:
        """Messages as this stream returns them (TimeSeries: Message objects)."""
        return messages

    def _message_id(self, message: Any) -> Any:
        """The id of a message as :meth:`_wrap` made it."""
        return message[0]

    def _pending(self, entry: dict[str, Any]) -> Any:
        """A pending entry as :meth:`pending` returns it (TimeSeries: a tuple)."""
        return entry

    async def read(
        self, count: int | None = None, block: int | None = None, last_id: Any = None
    ) -> list[Any]:
        """Messages for this consumer (XREADGROUP): by default ``'>'``, those
        never delivered to the group; an id reads this consumer's pending
        messages after it. ``block`` waits that many ms (0: forever). One trip."""
        after = ">" if last_id is None else self._id(last_id)
        found = await self.group._read_group({self.key: after}, count, block)
        return self._wrap(found[0][1]) if found else []

    async def ack(self, *ids: Any, missing_ok: bool = False) -> int:
        """Acknowledge messages (XACK); the number acknowledged. Ids the group
        does not have pending raise :class:`NotPending` (after the others are
        acknowledged) unless ``missing_ok``. O(1) each; one round trip."""
        checked = [self._id(i) for i in ids]
        commands = self._commands("ack")
        if not checked:
            return 0
        try:
            done = int(await commands.xack(self.key, self.group.name, *checked))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        if done < len(checked) and (not missing_ok):
            try:
                await commands.xpending(self.key, self.group.name)
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
            raise NotPending(
                f"{len(checked) - done} of {len(checked)} ids were not pending in group {key_text(self.group.name)!r} of stream {key_text(self.key)!r}",
                done,
                list(ids),
            )
        return done

    async def claim(self, *ids: Any, min_idle_time: int = 0) -> list[Any]:
        """Take pending messages over for this consumer (XCLAIM), those idle
        at least ``min_idle_time`` ms; the claimed messages. One round trip."""
        checked = [self._id(i) for i in ids]
        idle = _positive(min_idle_time, "min_idle_time", zero=True)
        commands = self._commands("claim")
        if not checked:
            return []
        try:
            reply = await commands.xclaim(
                self.key, self.group.name, self.group.consumer_name, idle or 0, checked
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return self._wrap(_messages(reply))

    async def autoclaim(
        self,
        consumer: Any = None,
        min_idle_time: int = 0,
        start_id: Any = 0,
        count: int | None = None,
        justid: bool = False,
    ) -> AutoClaim:
        """Claim pending messages idle at least ``min_idle_time`` ms for
        ``consumer`` (this one by default), scanning from ``start_id``
        (XAUTOCLAIM, Redis 6.2+); at most ``count`` (100 by default). Returns
        ``(next_id, messages)``; entries deleted from the stream are dropped
        from the pending list. With ``justid``, the ids only (their delivery
        counts still grow, as with a full claim). One round trip."""
        name = self.group._consumer(consumer)
        idle = _positive(min_idle_time, "min_idle_time", zero=True)
        start = self._id(start_id)
        count = _positive(count, "count")
        commands = self._commands("autoclaim")
        try:
            reply = await commands.xautoclaim(
                self.key, self.group.name, name, idle or 0, start, count=count
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        messages = self._wrap(_messages(reply[1]))
        if justid:
            messages = [self._message_id(m) for m in messages]
        return AutoClaim(reply[0], messages)

    async def pending(
        self,
        start: Any = "-",
        stop: Any = "+",
        count: int = 1000,
        consumer: Any = None,
        idle: int | None = None,
    ) -> list[Any]:
        """Messages delivered but not acknowledged (XPENDING), oldest first:
        dicts with ``message_id``, ``consumer``, ``time_since_delivered`` (ms)
        and ``times_delivered``. Filter by ``consumer`` and by ``idle`` ms
        (Redis 6.2+). O(N) in the result; one round trip."""
        low, high = (self._bound(start), self._bound(stop))
        limit = _positive(count, "count")
        who = None if consumer is None else check_name(consumer, "consumer name")
        idle = _positive(idle, "idle", zero=True)
        commands = self._commands("pending")
        try:
            reply = await commands.xpending_range(
                self.key,
                self.group.name,
                low,
                high,
                limit or 0,
                consumername=who,
                idle=idle,
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return [self._pending(pending_entry(entry)) for entry in reply or ()]

    async def set_id(self, id: Any = "$") -> bool:
        """Set the group's last delivered id on this stream (XGROUP SETID):
        ``'$'`` marks everything read, ``'0'`` nothing. One round trip."""
        value = self._group_id(id)
        commands = self._commands("set_id")
        try:
            return bool(await commands.xgroup_setid(self.key, self.group.name, value))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def consumers_info(self, group: Any = None) -> list[dict[str, Any]]:
        """One dict per consumer of the group (XINFO CONSUMERS). One round trip."""
        return await super().consumers_info(self.group.name if group is None else group)

    async def create_consumer(self, consumer: Any = None) -> bool:
        """Register a consumer (this one by default) without reading
        (XGROUP CREATECONSUMER, Redis 6.2+); False if it existed. One trip."""
        name = self.group._consumer(consumer)
        commands = self._commands("create_consumer")
        try:
            return bool(
                await commands.xgroup_createconsumer(self.key, self.group.name, name)
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def delete_consumer(self, consumer: Any = None) -> int:
        """Remove a consumer (this one by default) from the group (XGROUP
        DELCONSUMER); the number of messages it had pending, which are no
        longer pending for anyone. One round trip."""
        name = self.group._consumer(consumer)
        commands = self._commands("delete_consumer")
        try:
            return int(
                await commands.xgroup_delconsumer(self.key, self.group.name, name)
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
