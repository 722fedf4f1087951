"""Async twin of :mod:`walrus.features.containers.stream`, generated from ``walrus/features/containers/stream.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from collections.abc import AsyncIterator
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from redis.exceptions import ResponseError
from walrus.exceptions import (
    CommandError,
    InvalidType,
    InvalidValue,
    MissingKey,
    UnsupportedOperation,
    WalrusError,
)
from walrus.features.containers.base import SCAN_COUNT, check_pairs, check_value
from walrus.asyncio.features.containers.base import Container
from walrus.keys import key_text

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.containers.stream import (
    Message,
    _ADD_ID,
    _BOUND,
    _ID,
    _READ_ID,
    _STREAMS,
    _checked_id,
    _messages,
    _positive,
    read_reply,
)

__all__ = ["Message", "Stream"]


class Stream(Container):
    """A Redis stream, standalone: add, read by id range, block for new messages.

    ``s[id]`` is one message (``KeyError`` if missing); ``s[start:stop:count]``
    reads an inclusive id range, at most ``count`` messages; iterating yields
    every message, oldest first.
    """

    kind = "stream"

    def _commands(self, operation: str) -> Driver:
        """The database's stream commands; UnsupportedOperation without streams."""
        if _STREAMS not in self.database.capabilities:
            name = getattr(self.database, "backend_name", type(self.database).__name__)
            raise UnsupportedOperation(
                name,
                f"Stream.{operation}",
                f"{name} has no streams and walrus does not emulate them",
            )
        return self.database

    async def _error(self, exc: ResponseError) -> BaseException:
        """The exception for an error reply: WrongType naming both types,
        MissingKey, CommandError (``exc`` itself: raised as it is)."""
        error = await super()._error(exc)
        if error is not exc:
            return error
        if str(exc) == "no such key":
            return MissingKey(f"no stream at key {key_text(self.key)!r}")
        if isinstance(exc, WalrusError):
            return exc
        return CommandError(str(exc))

    def _id(self, value: Any) -> Any:
        """A message id given by the user, as sent (TimeSeries converts datetimes)."""
        return _checked_id(value, _ID, "stream message id")

    def _bound(self, value: Any) -> Any:
        """A range bound given by the user (an id, ``'-'``, ``'+'`` or ``'(id'``)."""
        if type(value) is str and value in ("-", "+"):
            return value
        return _checked_id(value, _BOUND, "range bound")

    async def add(
        self,
        data: Mapping[Any, Any],
        id: Any = "*",
        maxlen: int | None = None,
        approximate: bool = True,
    ) -> Any:
        """Append a message (XADD) and return its id; ``'*'`` lets the server
        choose it. ``maxlen`` trims the stream as it grows (about that length
        unless ``approximate=False``). O(1), O(N) in evicted messages; one trip."""
        if type(data) is not dict and (not isinstance(data, Mapping)):
            raise InvalidType(
                f"message data must be a mapping, not {type(data).__name__}"
            )
        fields = check_pairs(data)
        if not fields:
            raise InvalidValue("a stream message needs at least one field")
        if type(id) is not str or id != "*":
            id = _checked_id(id, _ADD_ID, "stream message id")
        if _positive(maxlen, "maxlen", zero=True) is None:
            trim: tuple[Any, ...] = ()
        else:
            trim = ("MAXLEN", "~", maxlen) if approximate else ("MAXLEN", maxlen)
        commands = self._commands("add")
        try:
            return await commands.execute_command("XADD", self.key, *trim, id, *fields)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def delete(self, *ids: Any) -> int:
        """Delete messages by id (XDEL); the number deleted. O(1) each; one trip."""
        checked = [self._id(i) for i in ids]
        commands = self._commands("delete")
        if not checked:
            return 0
        try:
            return int(await commands.xdel(self.key, *checked))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def delitem(self, item: Any) -> None:
        """Delete one message or a list of them (XDEL); ids that are not in the
        stream are ignored, as in walrus 0.9. One round trip."""
        ids = list(item) if isinstance(item, (list, tuple)) else [item]
        await self.delete(*ids)

    async def trim(
        self,
        count: int | None = None,
        approximate: bool = True,
        minid: Any = None,
        limit: int | None = None,
    ) -> int:
        """Evict the oldest messages (XTRIM); the number removed.

        Keep about ``count`` messages (exactly with ``approximate=False``), or
        drop those with ids below ``minid``; ``limit`` caps the evictions (only
        with ``approximate``). O(N) in evicted messages; one round trip.
        """
        if (count is None) == (minid is None):
            raise InvalidValue("trim() needs exactly one of count and minid")
        count = _positive(count, "count", zero=True)
        if minid is not None:
            minid = self._id(minid)
        limit = _positive(limit, "limit", zero=True)
        if limit is not None and (not approximate):
            raise InvalidValue("trim(limit=...) needs approximate=True")
        commands = self._commands("trim")
        try:
            return int(
                await commands.xtrim(
                    self.key,
                    maxlen=count,
                    approximate=approximate,
                    minid=minid,
                    limit=limit,
                )
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def set_id(self, id: Any) -> bool:
        """Set the stream's last id (XSETID); later ids must be greater.

        O(1); one round trip.
        """
        message_id = self._id(id)
        commands = self._commands("set_id")
        try:
            return bool(await commands.xsetid(self.key, message_id))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def get(self, id: Any) -> Message | None:
        """The message with this id, or None (XRANGE id id). O(log N); one trip."""
        message_id = self._id(id)
        if isinstance(message_id, bytes):
            message_id = message_id.decode("ascii")
        message_id = str(message_id)
        if "-" not in message_id:
            message_id += "-0"
        commands = self._commands("get")
        try:
            found = _messages(
                await commands.xrange(self.key, message_id, message_id, count=1)
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return found[0] if found else None

    async def range(
        self, start: Any = "-", stop: Any = "+", count: int | None = None
    ) -> list[Message]:
        """Messages with ids from ``start`` to ``stop``, both inclusive (XRANGE).

        ``'-'``/``'+'`` are the oldest/newest; ``'(id'`` excludes ``id``; at
        most ``count`` messages. O(log N + M); one round trip.
        """
        return await self._range("range", start, stop, count)

    async def revrange(
        self, start: Any = "+", stop: Any = "-", count: int | None = None
    ) -> list[Message]:
        """Messages from ``start`` down to ``stop``, newest first (XREVRANGE).

        O(log N + M); one round trip.
        """
        return await self._range("revrange", start, stop, count)

    async def _range(
        self, operation: str, start: Any, stop: Any, count: int | None
    ) -> list[Message]:
        """XRANGE, or XREVRANGE for ``operation='revrange'``, of checked bounds."""
        args = [self.key, self._bound(start), self._bound(stop)]
        if _positive(count, "count") is not None:
            args += ("COUNT", count)
        commands = self._commands(operation)
        name = "XREVRANGE" if operation == "revrange" else "XRANGE"
        try:
            return _messages(await commands.execute_command(name, *args))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def __getitem__(self, item: Any) -> Any:
        """``s[id]``: one message (``KeyError`` if missing); ``s[start:stop:count]``:
        an inclusive range of at most ``count`` messages. One round trip."""
        if isinstance(item, slice):
            start = "-" if item.start is None else item.start
            stop = "+" if item.stop is None else item.stop
            return await self.range(start, stop, item.step)
        message = await self.get(item)
        if message is None:
            raise KeyError(item)
        return message

    async def length(self) -> int:
        """The number of messages (XLEN). O(1); one round trip."""
        commands = self._commands("len")
        try:
            return int(await commands.xlen(self.key))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    def __aiter__(self) -> AsyncIterator[Message]:
        """Every message, oldest first (XRANGE, 10,000 per round trip)."""
        return self._scan(self._commands("iter"))

    async def _scan(self, commands: Driver) -> AsyncIterator[Message]:
        start: Any = "-"
        while True:
            try:
                batch = _messages(
                    await commands.xrange(self.key, start, "+", count=SCAN_COUNT)
                )
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
            for _item in batch:
                yield _item
            if len(batch) < SCAN_COUNT:
                return
            last = batch[-1][0]
            start = b"(" + last if isinstance(last, bytes) else f"({last}"

    async def read(
        self, count: int | None = None, block: int | None = None, last_id: Any = None
    ) -> list[Message]:
        """Messages after ``last_id`` (XREAD): an exclusive bound, ``None`` for
        the start, ``'$'`` for only what arrives from now on. ``block`` waits
        that many milliseconds (0: forever) when there is nothing; a timeout
        gives ``[]``. At most ``count`` messages. O(M); one round trip."""
        after = "0-0" if last_id is None else _checked_id(last_id, _READ_ID, "last id")
        count = _positive(count, "count")
        block = _positive(block, "block", zero=True)
        commands = self._commands("read")
        try:
            found = read_reply(
                await commands.xread({self.key: after}, count=count, block=block)
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return found[0][1] if found else []

    async def info(self) -> dict[str, Any]:
        """The stream's metadata (XINFO STREAM); ``MissingKey`` if there is no
        stream. O(1); one round trip."""
        commands = self._commands("info")
        try:
            return dict(await commands.xinfo_stream(self.key))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def groups_info(self) -> list[dict[str, Any]]:
        """One dict per consumer group (XINFO GROUPS). O(groups); one round trip."""
        commands = self._commands("groups_info")
        try:
            return [dict(group) for group in await commands.xinfo_groups(self.key)]
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def consumers_info(self, group: Any) -> list[dict[str, Any]]:
        """One dict per consumer of ``group`` (XINFO CONSUMERS). One round trip."""
        name = check_value(group, "group name")
        commands = self._commands("consumers_info")
        try:
            return [dict(c) for c in await commands.xinfo_consumers(self.key, name)]
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
