"""Async twin of :mod:`walrus.features.containers.hash`, generated from ``walrus/features/containers/hash.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from redis.exceptions import ResponseError
from collections.abc import AsyncIterator
from walrus.asyncio._runtime import aislice
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast
from walrus.features.containers.base import (
    SCAN_COUNT,
    check_mapping,
    check_value,
    check_values,
)
from walrus.asyncio.features.containers.base import Container

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
__all__ = ["Hash"]


class Hash(Container):
    """A Redis hash, dict-like; iterating yields ``(field, value)`` pairs.

    Missing fields raise ``KeyError`` for ``h[field]`` and ``del h[field]``, as a
    dict does; ``get()`` returns a default instead.
    """

    kind = "hash"

    async def __getitem__(self, field: Any) -> Any:
        """One value (HGET), or a list for several fields ``h['a', 'b']`` (HMGET).

        O(1) per field; one round trip.
        """
        if isinstance(field, (tuple, list)):
            fields = check_values(field, "field")
            if not fields:
                return []
            try:
                return await self.database.hmget(self.key, fields)
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
        try:
            value = await self.database.execute_command(
                "HGET", self.key, check_value(field, "field")
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        if value is None:
            raise KeyError(field)
        return value

    async def get(self, field: Any, default: Any = None) -> Any:
        """The value of ``field``, or ``default`` if it is missing. O(1); one trip."""
        try:
            value = await self.database.execute_command(
                "HGET", self.key, check_value(field, "field")
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return default if value is None else value

    async def setitem(self, field: Any, value: Any) -> None:
        """Set one field (HSET). O(1); one round trip."""
        field, value = (check_value(field, "field"), check_value(value))
        try:
            await self.database.execute_command("HSET", self.key, field, value)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def delitem(self, field: Any) -> None:
        """Delete one field (HDEL); ``KeyError`` if missing. O(1); one round trip."""
        try:
            removed = await self.database.hdel(self.key, check_value(field, "field"))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        if not removed:
            raise KeyError(field)

    async def contains(self, field: Any) -> bool:
        """Whether ``field`` exists (HEXISTS). O(1); one round trip."""
        try:
            return bool(
                await self.database.hexists(self.key, check_value(field, "field"))
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def length(self) -> int:
        """The number of fields (HLEN). O(1); one round trip."""
        try:
            return await self.database.hlen(self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    def __aiter__(self) -> AsyncIterator[tuple[Any, Any]]:
        """``(field, value)`` pairs (HSCAN, 10,000 per round trip)."""
        return self._scan()

    async def _scan(self, match: Any = None) -> AsyncIterator[tuple[Any, Any]]:
        seen: set[Any] | None = None
        cursor = 0
        while True:
            try:
                cursor, batch = await self.database.hscan(
                    self.key, cursor, match=match, count=SCAN_COUNT
                )
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
            pairs = cast("dict[Any, Any]", batch).items()
            if seen is None and (not cursor):
                for _item in pairs:
                    yield _item
                return
            seen = set() if seen is None else seen
            for field, value in pairs:
                if field not in seen:
                    seen.add(field)
                    yield (field, value)
            if not cursor:
                return

    async def keys(self) -> list[Any]:
        """Every field (HKEYS). O(N); one round trip."""
        try:
            return await self.database.hkeys(self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def values(self) -> list[Any]:
        """Every value (HVALS). O(N); one round trip."""
        try:
            return await self.database.hvals(self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def items(self, lazy: bool = False) -> Any:
        """``(field, value)`` pairs: a list (HGETALL, one round trip), or with
        ``lazy=True`` a generator (HSCAN, 10,000 per round trip)."""
        if lazy:
            return self._scan()
        return list((await self.as_dict()).items())

    async def update(
        self, __data: Mapping[Any, Any] | None = None, **kwargs: Any
    ) -> Hash:
        """Set several fields (HMSET, as walrus 0.9: its OK is all this needs,
        where an engine without HSET of several fields counts the new ones
        with more commands: two more rlite sessions on a file); the caller's
        mapping is never changed.

        O(N) in the number of fields; one round trip; nothing sent when empty.
        """
        pairs = check_mapping(__data, kwargs)
        if pairs:
            flat: list[Any] = [None] * (2 * len(pairs))
            flat[::2], flat[1::2] = (pairs, pairs.values())
            try:
                await self.database.execute_command("HMSET", self.key, *flat)
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
        return self

    async def setnx(self, field: Any, value: Any) -> bool:
        """Set ``field`` only if it does not exist (HSETNX). O(1); one round trip."""
        try:
            return bool(
                await self.database.hsetnx(
                    self.key, check_value(field, "field"), check_value(value)
                )
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def incr(self, field: Any, incr_by: int = 1) -> int:
        """Add ``incr_by`` to an integer field (HINCRBY). O(1); one round trip."""
        try:
            return await self.database.hincrby(
                self.key, check_value(field, "field"), incr_by
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def incr_float(self, field: Any, incr_by: float = 1.0) -> float:
        """Add ``incr_by`` to a numeric field (HINCRBYFLOAT). O(1); one round trip."""
        try:
            return float(
                await self.database.hincrbyfloat(
                    self.key, check_value(field, "field"), incr_by
                )
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    def search(
        self, pattern: Any, count: int | None = None
    ) -> AsyncIterator[tuple[Any, Any]]:
        """``(field, value)`` pairs whose field matches the glob ``pattern``,
        at most ``count`` of them (HSCAN MATCH, 10,000 fields per round trip)."""
        return aislice(self._scan(check_value(pattern, "pattern")), count)

    async def as_dict(self, decode: bool = False) -> dict[Any, Any]:
        """The whole hash as a dict (HGETALL); ``decode`` turns bytes into str.

        O(N); one round trip.
        """
        try:
            data = await self.database.hgetall(self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        if decode:
            return {self._decode(f): self._decode(v) for f, v in data.items()}
        return dict(data)

    @classmethod
    async def from_dict(
        cls, database: Driver, key: Any, data: Mapping[Any, Any], clear: bool = False
    ) -> Hash:
        """A Hash at ``key`` holding ``data`` (emptied first with ``clear=True``).

        One round trip (a transaction when clearing).
        """
        hsh = cls(database, key)
        pairs = {check_value(f, "field"): check_value(v) for f, v in data.items()}
        pipe = database.pipeline()
        if clear:
            pipe.delete(hsh.key)
        if pairs:
            pipe.hset(hsh.key, mapping=pairs)
        try:
            await pipe.execute()
        except ResponseError as _reply:
            await hsh._guard.reraise(_reply)
            raise
        return hsh
