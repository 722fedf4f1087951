"""Async twin of :mod:`walrus.features.containers.list`, generated from ``walrus/features/containers/list.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from collections.abc import AsyncIterator
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from redis.exceptions import ResponseError
from walrus.exceptions import InvalidType, InvalidValue
from walrus.features.containers.base import (
    SCAN_COUNT,
    check_value,
    check_values,
    redis_range,
)
from walrus.asyncio.features.containers.base import Sortable

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.containers.list import _bound, _index, _marker

__all__ = ["List"]


class List(Sortable):
    """A Redis list with Python list semantics."""

    kind = "list"

    async def __getitem__(self, index: int | slice) -> Any:
        """An item (LINDEX, ``IndexError`` out of range) or a slice (LRANGE).

        A slice with a step other than 1 reads the whole list. One round trip.
        """
        if isinstance(index, slice):
            bounds = redis_range(index)
            try:
                if bounds is None:
                    return (await self.database.lrange(self.key, 0, -1))[index]
                if bounds == ():
                    return []
                return await self.database.lrange(self.key, *bounds)
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
        try:
            value = await self.database.execute_command(
                "LINDEX", self.key, _index(index)
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        if value is None:
            raise IndexError("list index out of range")
        return value

    async def length(self) -> int:
        """The number of items (LLEN). O(1); one round trip."""
        try:
            return await self.database.llen(self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def __aiter__(self) -> AsyncIterator[Any]:
        """Every item in order (LRANGE, 10,000 per round trip)."""
        start = 0
        while True:
            try:
                batch = await self.database.lrange(
                    self.key, start, start + SCAN_COUNT - 1
                )
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
            for _item in batch:
                yield _item
            if len(batch) < SCAN_COUNT:
                return
            start += SCAN_COUNT

    async def as_list(self, decode: bool = False) -> list[Any]:
        """Every item as a Python list (LRANGE 0 -1). O(N); one round trip."""
        try:
            items = await self.database.lrange(self.key, 0, -1)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return [self._decode(i) for i in items] if decode else items

    async def _positions(self, value: Any) -> tuple[list[int], int]:
        """The indexes of the items equal to ``value`` (compared as stored
        bytes), and the length of the list."""
        encode = self.database.get_encoder().encode
        target = encode(check_value(value))
        items = await self.as_list()
        return (
            [i for i, item in enumerate(items) if encode(item) == target],
            len(items),
        )

    async def contains(self, value: Any) -> bool:
        """Whether an item equals ``value`` (str and bytes compare as stored).

        O(N); one round trip.
        """
        return bool((await self._positions(value))[0])

    async def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        """The first index of ``value`` in ``[start:stop]``; ``ValueError`` if
        absent. O(N); one round trip."""
        positions, length = await self._positions(value)
        first, last, _ = slice(start, stop).indices(length)
        for i in positions:
            if first <= i < last:
                return i
        raise InvalidValue(f"{value!r} is not in the list")

    async def count(self, value: Any) -> int:
        """How many items equal ``value``. O(N); one round trip."""
        return len((await self._positions(value))[0])

    async def setitem(self, index: Any, value: Any) -> None:
        """Replace the item at ``index`` (LSET); ``IndexError`` out of range.

        Slice assignment is not supported. O(N); one round trip.
        """
        if isinstance(index, slice):
            raise InvalidType("List does not support slice assignment")
        value = check_value(value)
        try:
            try:
                await self.database.lset(self.key, _index(index), value)
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
        except ResponseError as exc:
            message = str(exc).lower()
            if "out of range" in message or "no such key" in message:
                raise IndexError("list assignment index out of range") from None
            raise

    async def delitem(self, index: int | slice) -> None:
        """Delete by index or slice, as Python does; atomic. O(N); one round trip."""
        if isinstance(index, slice):
            args = [
                _marker(),
                _bound(index.start),
                _bound(index.stop),
                _bound(index.step),
            ]
            if index.step == 0:
                raise InvalidValue("slice step cannot be zero")
            try:
                await self.database.scripts.run("list_delete_slice", [self.key], args)
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
            return
        if await self._pop_index(_index(index)) is None:
            raise IndexError("list assignment index out of range")

    async def _pop_index(self, index: int) -> Any:
        try:
            return await self.database.scripts.run(
                "list_pop_index", [self.key], [index, _marker()]
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def insert(
        self, index: Any, value: Any, where: str | None = None
    ) -> int | None:
        """Insert ``value`` before ``index`` as ``list.insert`` does. O(N); one trip.

        walrus 0.9's form ``insert(value, pivot, 'before')`` (or ``'after'``)
        inserts ``value`` next to the first item equal to ``pivot`` and returns
        the new length, -1 if ``pivot`` is not in the list (LINSERT).
        """
        if where is not None:
            side = str(where).upper()
            if side not in ("BEFORE", "AFTER"):
                raise InvalidValue(
                    f"List.insert(value, pivot, where): where is 'before' or 'after', not {where!r}"
                )
            return await self._linsert(side, index, value)
        args = [_index(index), check_value(value), _marker()]
        try:
            await self.database.scripts.run("list_insert", [self.key], args)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return None

    async def pop(self, index: int = -1) -> Any:
        """Remove and return the item at ``index`` (the last by default).

        ``IndexError`` when out of range or empty. RPOP/LPOP at the ends, a
        named operation elsewhere; one round trip.
        """
        index = _index(index)
        try:
            if index == -1:
                value = await self.database.rpop(self.key)
            elif index == 0:
                value = await self.database.lpop(self.key)
            else:
                value = await self._pop_index(index)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        if value is None:
            raise IndexError("pop from empty list or index out of range")
        return value

    async def append(self, value: Any) -> int:
        """Add ``value`` at the end (RPUSH); the new length. O(1); one round trip."""
        try:
            return await self.database.rpush(self.key, check_value(value))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def prepend(self, value: Any) -> int:
        """Add ``value`` at the start (LPUSH); the new length. O(1); one round trip."""
        try:
            return await self.database.lpush(self.key, check_value(value))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def extend(self, values: Iterable[Any]) -> int:
        """Add ``values`` at the end (RPUSH); the new length. One round trip
        (LLEN only, writing nothing, for an empty iterable)."""
        items = check_values(values)
        if not items:
            return await self.length()
        try:
            return await self.database.rpush(self.key, *items)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def insert_before(self, value: Any, key: Any) -> int:
        """Insert ``value`` before the first item equal to ``key`` (LINSERT).

        The new length, or -1 if ``key`` is not in the list. O(N); one round trip.
        """
        return await self._linsert("BEFORE", value, key)

    async def insert_after(self, value: Any, key: Any) -> int:
        """Insert ``value`` after the first item equal to ``key`` (LINSERT).

        The new length, or -1 if ``key`` is not in the list. O(N); one round trip.
        """
        return await self._linsert("AFTER", value, key)

    async def _linsert(self, where: str, value: Any, pivot: Any) -> int:
        try:
            return await self.database.linsert(
                self.key, where, check_value(pivot), check_value(value)
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def popleft(self) -> Any:
        """Remove and return the first item, None if empty (LPOP). O(1); one trip."""
        try:
            return await self.database.lpop(self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def popright(self) -> Any:
        """Remove and return the last item, None if empty (RPOP). O(1); one trip."""
        try:
            return await self.database.rpop(self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def bpopleft(self, timeout: int = 0) -> Any:
        """Like popleft(), waiting up to ``timeout`` seconds (0: forever) (BLPOP)."""
        try:
            reply = await self.database.blpop([self.key], timeout)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return None if reply is None else reply[1]

    async def bpopright(self, timeout: int = 0) -> Any:
        """Like popright(), waiting up to ``timeout`` seconds (0: forever) (BRPOP)."""
        try:
            reply = await self.database.brpop([self.key], timeout)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return None if reply is None else reply[1]

    async def move_tail(self, key: Any) -> Any:
        """Move the last item to the head of list ``key`` (RPOPLPUSH); the item.

        On a cluster both lists must be in one slot (a ``{tag}``), else
        CrossSlot. O(1); one round trip.
        """
        try:
            return await self.database.rpoplpush(self.key, check_value(key, "key"))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def bmove_tail(self, key: Any, timeout: int = 0) -> Any:
        """Like move_tail(), waiting up to ``timeout`` seconds (BRPOPLPUSH;
        on a cluster, one slot)."""
        try:
            return await self.database.brpoplpush(
                self.key, check_value(key, "key"), timeout
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    @classmethod
    async def from_list(
        cls, database: Driver, key: Any, data: Iterable[Any], clear: bool = False
    ) -> List:
        """A List at ``key`` ending with ``data`` (emptied first with ``clear=True``).

        One round trip (a transaction when clearing).
        """
        lst = cls(database, key)
        items = check_values(data)
        pipe = database.pipeline()
        if clear:
            pipe.delete(lst.key)
        if items:
            pipe.rpush(lst.key, *items)
        try:
            await pipe.execute()
        except ResponseError as _reply:
            await lst._guard.reraise(_reply)
            raise
        return lst
