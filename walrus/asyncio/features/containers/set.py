"""Async twin of :mod:`walrus.features.containers.set`, generated from ``walrus/features/containers/set.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from redis.exceptions import ResponseError
from collections.abc import AsyncIterator
from walrus.asyncio._runtime import aislice
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from walrus.features.containers.base import SCAN_COUNT, check_value, check_values
from walrus.asyncio.features.containers.base import Sortable, scan_batches

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.containers.set import _fresh_set

__all__ = ["Set"]


class Set(Sortable):
    """A Redis set."""

    kind = "set"

    @classmethod
    def _from_iterable(cls, it: Iterable[Any]) -> set[Any]:
        return set(it)

    async def contains(self, item: Any) -> bool:
        """Whether ``item`` is a member (SISMEMBER). O(1); one round trip."""
        try:
            member = check_value(item, "member")
            return bool(
                await self.database.execute_command("SISMEMBER", self.key, member)
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def length(self) -> int:
        """The number of members (SCARD). O(1); one round trip."""
        try:
            return await self.database.scard(self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    def __aiter__(self) -> AsyncIterator[Any]:
        """Every member (SSCAN, 10,000 per round trip)."""
        return self._scan()

    async def _scan(self, match: Any = None) -> AsyncIterator[Any]:
        seen: set[Any] = set()

        async def fetch(cursor: int) -> tuple[int, Any]:
            try:
                return await self.database.sscan(
                    self.key, cursor, match=match, count=SCAN_COUNT
                )
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise

        async for member in scan_batches(fetch):
            if member not in seen:
                seen.add(member)
                yield member

    async def add(self, *items: Any) -> int:
        """Add ``items`` (SADD); how many were new. One round trip (none if empty)."""
        members = check_values(items, "member")
        if not members:
            return 0
        try:
            added: int = await self.database.execute_command("SADD", self.key, *members)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return added

    async def remove(self, *items: Any) -> int:
        """Remove ``items`` (SREM); how many were members. One round trip.

        Unlike ``set.remove`` a missing item is not an error (walrus 0.9).
        """
        members = check_values(items, "member")
        if not members:
            return 0
        try:
            return await self.database.srem(self.key, *members)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def discard(self, item: Any) -> None:
        """Remove ``item`` if it is a member (SREM). O(1); one round trip."""
        await self.remove(item)

    async def delitem(self, item: Any) -> None:
        """Remove ``item`` if it is a member (SREM). O(1); one round trip."""
        await self.remove(item)

    async def pop(self) -> Any:
        """Remove and return a random member (SPOP); ``KeyError`` if empty."""
        try:
            value = await self.database.spop(self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        if value is None:
            raise KeyError("pop from an empty set")
        return value

    async def random(self, n: int | None = None) -> Any:
        """A random member, or a list of ``n`` distinct ones (SRANDMEMBER)."""
        try:
            return await self.database.srandmember(self.key, n)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def members(self) -> set[Any]:
        """Every member as a Python set (SMEMBERS). O(N); one round trip."""
        try:
            return _fresh_set(await self.database.smembers(self.key))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def as_set(self, decode: bool = False) -> set[Any]:
        """Every member as a Python set; ``decode`` turns bytes into str."""
        members = await self.members()
        return {self._decode(m) for m in members} if decode else members

    def search(self, pattern: Any, count: int | None = None) -> AsyncIterator[Any]:
        """Members matching the glob ``pattern``, at most ``count`` of them
        (SSCAN MATCH, 10,000 per round trip)."""
        return aislice(self._scan(check_value(pattern, "pattern")), count)

    def _keys(self, others: Iterable[Set]) -> list[Any]:
        return [self.key, *(o.key for o in others)]

    async def union(self, other: Any) -> set[Any]:
        """The union (SUNION with another Set; on a cluster, one slot). O(N);
        one round trip."""
        if not isinstance(other, Set):
            return await self.members() | set(other)
        try:
            return _fresh_set(await self.database.sunion(self._keys([other])))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def intersection(self, other: Any) -> set[Any]:
        """The intersection (SINTER with another Set; on a cluster, one
        slot). One round trip."""
        if not isinstance(other, Set):
            return await self.members() & set(other)
        try:
            return _fresh_set(await self.database.sinter(self._keys([other])))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def difference(self, other: Any) -> set[Any]:
        """The difference (SDIFF with another Set; on a cluster, one slot).
        O(N); one round trip."""
        if not isinstance(other, Set):
            return await self.members() - set(other)
        try:
            return _fresh_set(await self.database.sdiff(self._keys([other])))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def union_update(self, other: Any) -> Set:
        """Add ``other``'s members (SUNIONSTORE, one slot on a cluster; or
        SADD). One round trip."""
        if isinstance(other, Set):
            await self.unionstore(self.key, other)
        else:
            await self.add(*other)
        return self

    async def intersection_update(self, other: Any) -> Set:
        """Keep only members also in ``other`` (SINTERSTORE, one slot on a
        cluster; an iterable goes through a temporary key in this set's
        slot, in one transaction). One round trip."""
        if isinstance(other, Set):
            await self.interstore(self.key, other)
            return self
        members = check_values(other, "member")
        pipe: Any = self.database.pipeline()
        if members:
            temp = self.database.keyspace.temp_near(self.key)
            pipe.sadd(temp, *members)
            pipe.execute_command("SINTERSTORE", self.key, self.key, temp)
            pipe.delete(temp)
        else:
            pipe.delete(self.key)
        try:
            await pipe.execute()
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return self

    async def difference_update(self, other: Any) -> Set:
        """Remove ``other``'s members (SDIFFSTORE, one slot on a cluster; or
        SREM). One round trip."""
        if isinstance(other, Set):
            await self.diffstore(self.key, other)
        else:
            await self.remove(*other)
        return self

    async def diffstore(self, dest: Any, *others: Set) -> Set:
        """Store this set minus ``others`` at ``dest`` (SDIFFSTORE; on a
        cluster, all in one slot); a Set on it. One round trip."""
        try:
            await self.database.sdiffstore(check_value(dest, "key"), self._keys(others))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return Set(self.database, dest)

    async def interstore(self, dest: Any, *others: Set) -> Set:
        """Store the intersection with ``others`` at ``dest`` (SINTERSTORE;
        on a cluster, all in one slot); a Set on it. One round trip."""
        try:
            await self.database.sinterstore(
                check_value(dest, "key"), self._keys(others)
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return Set(self.database, dest)

    async def unionstore(self, dest: Any, *others: Set) -> Set:
        """Store the union with ``others`` at ``dest`` (SUNIONSTORE; on a
        cluster, all in one slot); a Set on it. One round trip."""
        try:
            await self.database.sunionstore(
                check_value(dest, "key"), self._keys(others)
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return Set(self.database, dest)

    @classmethod
    async def from_set(
        cls, database: Driver, key: Any, data: Iterable[Any], clear: bool = False
    ) -> Set:
        """A Set at ``key`` holding ``data`` (emptied first with ``clear=True``).

        One round trip (a transaction when clearing).
        """
        st = cls(database, key)
        members = check_values(data, "member")
        pipe = database.pipeline()
        if clear:
            pipe.delete(st.key)
        if members:
            pipe.sadd(st.key, *members)
        try:
            await pipe.execute()
        except ResponseError as _reply:
            await st._guard.reraise(_reply)
            raise
        return st
