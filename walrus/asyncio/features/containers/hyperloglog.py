"""Async twin of :mod:`walrus.features.containers.hyperloglog`, generated from ``walrus/features/containers/hyperloglog.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from redis.exceptions import ResponseError
from typing import Any
from walrus.features.containers.base import check_value, check_values
from walrus.asyncio.features.containers.base import Container

__all__ = ["HyperLogLog"]


class HyperLogLog(Container):
    """A Redis HyperLogLog (stored as a string); ``len()`` is the estimate."""

    kind = "string"

    async def add(self, *items: Any) -> bool:
        """Add ``items`` (PFADD); whether the estimate changed. O(1) each; one
        round trip; none sent if empty."""
        values = check_values(items)
        if not values:
            return False
        try:
            return bool(await self.database.execute_command("PFADD", self.key, *values))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def length(self) -> int:
        """The estimated number of distinct items (PFCOUNT). O(1); one round trip."""
        try:
            count: int = await self.database.execute_command("PFCOUNT", self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return count

    async def merge(self, dest: Any, *others: HyperLogLog) -> HyperLogLog:
        """Store the union of this and ``others`` at ``dest`` (PFMERGE; on a
        cluster, all in one slot, else CrossSlot); a HyperLogLog on it. O(N)
        in the number of sets; one round trip."""
        try:
            await self.database.pfmerge(
                check_value(dest, "key"), self.key, *(o.key for o in others)
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return HyperLogLog(self.database, dest)

    async def union_update(self, other: HyperLogLog) -> HyperLogLog:
        """Merge ``other`` into this one (PFMERGE; on a cluster, one slot).
        One round trip."""
        await self.merge(self.key, other)
        return self
