"""Async twin of :mod:`walrus.features.containers.array`, generated from ``walrus/features/containers/array.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from redis.exceptions import ResponseError
from collections.abc import AsyncIterator
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from walrus.features.containers.base import SCAN_COUNT, check_value, check_values
from walrus.asyncio.features.containers.base import Container

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.containers.array import _FIRST_BATCH, _index

__all__ = ["Array"]


class Array(Container):
    """An array of values in a Redis hash."""

    kind = "hash"

    async def _run(self, name: str, args: list[Any]) -> Any:
        try:
            return await self.database.scripts.run(name, [self.key], args)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def append(self, value: Any) -> int:
        """Add ``value`` at the end; the new length. O(1); one round trip."""
        return int(await self._run("array_append", [0, check_value(value)]))

    async def extend(self, values: Iterable[Any]) -> None:
        """Add ``values`` at the end, atomically. O(M); one trip, none if empty."""
        items = check_values(values)
        if items:
            await self._run("array_append", [0, *items])

    async def __getitem__(self, index: int) -> Any:
        """The item at ``index`` (negative from the end); ``None`` out of range,
        as in walrus 0.9. O(1); one round trip (HGET, or a named operation
        for a negative index, which needs the length)."""
        index = _index(index)
        if index >= 0:
            try:
                return await self.database.execute_command("HGET", self.key, str(index))
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
        return await self._run("array_get", [index])

    async def setitem(self, index: int, value: Any) -> None:
        """Replace the item at ``index`` (``IndexError`` out of range). O(1)."""
        if not await self._run("array_set", [_index(index), check_value(value)]):
            raise IndexError("array assignment index out of range")

    async def delitem(self, index: int) -> None:
        """Remove the item at ``index``: O(1) at the end, else O(N); one round trip."""
        await self.pop(index)

    async def pop(self, idx: int | None = None) -> Any:
        """Remove and return the item at ``idx`` (the last by default);
        ``IndexError`` out of range or empty. O(N - idx); one round trip."""
        value = await self._run("array_pop", ["" if idx is None else _index(idx)])
        if value is None:
            raise IndexError("pop from empty array or index out of range")
        return value

    async def length(self) -> int:
        """The number of items (HLEN). O(1); one round trip."""
        try:
            return await self.database.hlen(self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def contains(self, item: Any) -> bool:
        """Whether some item equals ``item``. O(N); one round trip."""
        return bool(await self._run("array_contains", [check_value(item)]))

    async def __aiter__(self) -> AsyncIterator[Any]:
        """Every item in index order (HMGET: a first batch of 100 in the round
        trip that reads HLEN, then 10,000 per round trip)."""
        pipe = self.database.pipeline(transaction=False)
        pipe.hlen(self.key)
        pipe.hmget(self.key, [str(i) for i in range(_FIRST_BATCH)])
        try:
            length, batch = await pipe.execute()
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        for _item in batch[:length]:
            yield _item
        for start in range(_FIRST_BATCH, length, SCAN_COUNT):
            fields = [str(i) for i in range(start, min(start + SCAN_COUNT, length))]
            try:
                for _item in await self.database.hmget(self.key, fields):
                    yield _item
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise

    async def as_list(self, decode: bool = False) -> list[Any]:
        """Every item in index order (HGETALL). O(N); one round trip."""
        try:
            data = await self.database.hgetall(self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        items = [v for _, v in sorted(data.items(), key=lambda fv: int(fv[0]))]
        return [self._decode(i) for i in items] if decode else items

    @classmethod
    async def from_list(
        cls, database: Driver, key: Any, data: Iterable[Any], clear: bool = False
    ) -> Array:
        """An Array at ``key`` ending with ``data`` (emptied first with
        ``clear=True``). Atomic; one round trip."""
        array = cls(database, key)
        items = check_values(data)
        if clear or items:
            await array._run("array_append", [int(clear), *items])
        return array
