"""Async twin of :mod:`walrus.features.containers.zset`, generated from ``walrus/features/containers/zset.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from collections.abc import AsyncIterator
from walrus.asyncio._runtime import aislice
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast
from redis.exceptions import ResponseError
from walrus.exceptions import InvalidValue
from walrus.features.containers.base import (
    SCAN_COUNT,
    check_mapping,
    check_score,
    check_value,
    check_values,
)
from walrus.asyncio.features.containers.base import Sortable, scan_batches

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.containers.zset import Pair, _bound, _flat_pairs, _pairs

__all__ = ["ZSet"]


class ZSet(Sortable):
    """A Redis sorted set."""

    kind = "zset"

    async def __getitem__(self, item: Any) -> Any:
        """A score, a one-item list by rank, or a slice (see the module).

        One round trip."""
        with_scores = False
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bool):
            item, with_scores = item
        if isinstance(item, slice):
            if item.step not in (None, 1):
                return (await self._slice(slice(None), "range", with_scores))[item]
            return await self._slice(item, "range", with_scores)
        if isinstance(item, int) and (not isinstance(item, bool)):
            return await self.range(item, item, with_scores=with_scores)
        score = await self.score(item)
        if score is None:
            raise KeyError(item)
        return score

    async def _slice(self, item: slice, mode: str, with_scores: bool) -> Any:
        args = [mode, *_bound(item.start), *_bound(item.stop), int(with_scores)]
        try:
            try:
                reply = await self.database.scripts.run("zset_slice", [self.key], args)
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
        except ResponseError as exc:
            if str(exc).startswith("NOMEMBER"):
                which = item.start if str(exc).endswith("start") else item.stop
                raise KeyError(which) from None
            raise
        if mode == "delete":
            return int(reply)
        return _flat_pairs(reply) if with_scores else reply

    async def setitem(self, member: Any, score: Any) -> None:
        """Set ``member``'s score (ZADD). O(log N); one round trip."""
        member, score = (check_value(member, "member"), check_score(score))
        try:
            await self.database.execute_command("ZADD", self.key, score, member)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def delitem(self, item: Any) -> None:
        """Delete a member (ZREM; ``KeyError`` if missing), the member at a rank,
        or a slice by rank or member (atomic). One round trip."""
        if isinstance(item, slice):
            if item.step not in (None, 1):
                raise InvalidValue("ZSet slices cannot be deleted with a step")
            await self._slice(item, "delete", False)
        elif isinstance(item, int) and (not isinstance(item, bool)):
            if not await self.remove_by_rank(item):
                raise IndexError("sorted set index out of range")
        elif not await self.remove(item):
            raise KeyError(item)

    async def contains(self, member: Any) -> bool:
        """Whether ``member`` is in the set (ZSCORE). O(1); one round trip."""
        return await self.score(member) is not None

    async def length(self) -> int:
        """The number of members (ZCARD). O(1); one round trip."""
        try:
            return await self.database.zcard(self.key)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def __aiter__(self) -> AsyncIterator[Pair]:
        """``(member, score)`` pairs in score order (ZRANGE, 10,000 per round trip)."""
        start = 0
        while True:
            batch = await self.range(start, start + SCAN_COUNT - 1, with_scores=True)
            for _item in batch:
                yield _item
            if len(batch) < SCAN_COUNT:
                return
            start += SCAN_COUNT

    async def add(
        self, _mapping: Mapping[Any, Any] | None = None, **kwargs: Any
    ) -> int:
        """Add members with scores, from a mapping and/or keywords (ZADD).

        The number of new members. O(log N) each; one round trip; none sent if empty.
        """
        scores = check_mapping(_mapping, kwargs, what="member", scores=True)
        if not scores:
            return 0
        args: list[Any] = []
        for member, score in scores.items():
            args += (score, member)
        try:
            return int(
                await self.database.execute_command("ZADD", self.key, *args) or 0
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def remove(self, *items: Any) -> int:
        """Remove ``items`` (ZREM); how many were members. One round trip."""
        members = check_values(items, "member")
        if not members:
            return 0
        try:
            return await self.database.zrem(self.key, *members)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def incr(self, key: Any, incr_by: float = 1.0) -> float:
        """Add ``incr_by`` to ``key``'s score (ZINCRBY); the new score. One trip."""
        try:
            score = await self.database.zincrby(
                self.key, check_score(incr_by), check_value(key)
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return float(cast(float, score))

    async def score(self, item: Any) -> float | None:
        """``item``'s score, None if absent (ZSCORE). O(1); one round trip."""
        try:
            member = check_value(item, "member")
            score = await self.database.execute_command("ZSCORE", self.key, member)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return None if score is None else float(score)

    async def rank(self, item: Any, reverse: bool = False) -> int | None:
        """``item``'s rank from the lowest (or highest) score (ZRANK/ZREVRANK)."""
        item = check_value(item, "member")
        try:
            if reverse:
                return cast("int | None", await self.database.zrevrank(self.key, item))
            return cast("int | None", await self.database.zrank(self.key, item))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def count(self, low: Any, high: Any = None) -> int:
        """The number of members scored in ``[low, high]`` (ZCOUNT; ``high``
        defaults to ``low``). O(log N); one round trip."""
        try:
            return await self.database.zcount(
                self.key, low, low if high is None else high
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def lex_count(self, low: Any, high: Any) -> int:
        """The number of members between lex bounds like ``'[a'``, ``'(c'``, ``'-'``
        (ZLEXCOUNT). O(log N); one round trip."""
        try:
            return await self.database.zlexcount(self.key, low, high)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def range(
        self,
        low: int,
        high: int,
        with_scores: bool = False,
        desc: bool = False,
        reverse: bool = False,
    ) -> list[Any]:
        """Members ranked ``low`` to ``high`` inclusive, Redis-style (ZRANGE;
        ZREVRANGE with ``desc`` or ``reverse``). O(log N + M); one round trip."""
        try:
            if desc or reverse:
                reply = await self.database.zrevrange(self.key, low, high, with_scores)
            else:
                reply = await self.database.zrange(
                    self.key, low, high, withscores=with_scores
                )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return _pairs(reply) if with_scores else reply

    async def range_by_score(
        self,
        low: Any,
        high: Any,
        start: int | None = None,
        num: int | None = None,
        with_scores: bool = False,
        reverse: bool = False,
    ) -> list[Any]:
        """Members scored in ``[low, high]`` (ZRANGEBYSCORE, or ZREVRANGEBYSCORE
        with ``reverse``), paged by ``start``/``num``. One round trip."""
        try:
            if reverse:
                reply = await self.database.zrevrangebyscore(
                    self.key, high, low, start, num, with_scores
                )
            else:
                reply = await self.database.zrangebyscore(
                    self.key, low, high, start, num, with_scores
                )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return _pairs(reply) if with_scores else reply

    async def range_by_lex(
        self,
        low: Any,
        high: Any,
        start: int | None = None,
        num: int | None = None,
        reverse: bool = False,
    ) -> list[Any]:
        """Members between lex bounds (ZRANGEBYLEX, or ZREVRANGEBYLEX with
        ``reverse``), paged by ``start``/``num``. One round trip."""
        try:
            if reverse:
                return await self.database.zrevrangebylex(
                    self.key, high, low, start, num
                )
            return await self.database.zrangebylex(self.key, low, high, start, num)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def remove_by_rank(self, low: int, high: int | None = None) -> int:
        """Remove members ranked ``low`` to ``high`` inclusive (ZREMRANGEBYRANK)."""
        try:
            return await self.database.zremrangebyrank(
                self.key, low, low if high is None else high
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def remove_by_score(self, low: Any, high: Any = None) -> int:
        """Remove members scored in ``[low, high]`` (ZREMRANGEBYSCORE)."""
        try:
            return await self.database.zremrangebyscore(
                self.key, low, low if high is None else high
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def remove_by_lex(self, low: Any, high: Any) -> int:
        """Remove members between lex bounds (ZREMRANGEBYLEX). One round trip."""
        try:
            return await self.database.zremrangebylex(self.key, low, high)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def popmin(self, count: int = 1) -> list[Pair]:
        """Remove the ``count`` lowest-scored members (ZPOPMIN); [] if empty."""
        try:
            return _pairs(await self.database.zpopmin(self.key, count))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def popmax(self, count: int = 1) -> list[Pair]:
        """Remove the ``count`` highest-scored members (ZPOPMAX); [] if empty."""
        try:
            return _pairs(await self.database.zpopmax(self.key, count))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def popmin_compat(self, count: int = 1) -> list[Pair]:
        """popmin() as a ZRANGE + ZREMRANGEBYRANK transaction. One round trip."""
        pipe = self.database.pipeline()
        pipe.zrange(self.key, 0, count - 1, withscores=True)
        pipe.zremrangebyrank(self.key, 0, count - 1)
        try:
            items, _ = await pipe.execute()
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return _pairs(items)

    async def popmax_compat(self, count: int = 1) -> list[Pair]:
        """popmax() as a ZREVRANGE + ZREMRANGEBYRANK transaction. One round trip."""
        pipe = self.database.pipeline()
        pipe.zrevrange(self.key, 0, count - 1, withscores=True)
        pipe.zremrangebyrank(self.key, -count, -1)
        try:
            items, _ = await pipe.execute()
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return _pairs(items)

    async def bpopmin(self, timeout: int = 0) -> Pair | None:
        """Remove the lowest-scored member, waiting up to ``timeout`` seconds
        (0: forever) (BZPOPMIN); ``(member, score)`` or None."""
        try:
            reply = await self.database.bzpopmin([self.key], timeout)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return None if reply is None else (reply[1], float(reply[2]))

    async def bpopmax(self, timeout: int = 0) -> Pair | None:
        """Remove the highest-scored member, waiting up to ``timeout`` seconds
        (0: forever) (BZPOPMAX); ``(member, score)`` or None."""
        try:
            reply = await self.database.bzpopmax([self.key], timeout)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return None if reply is None else (reply[1], float(reply[2]))

    async def _store(
        self,
        command: str,
        dest: Any,
        others: tuple[ZSet, ...],
        weights: list[float] | None,
        aggregate: str | None,
    ) -> ZSet:
        keys = [self.key, *(o.key for o in others)]
        pieces: list[Any] = [command, check_value(dest, "key"), len(keys), *keys]
        if weights is not None:
            if len(weights) != len(keys):
                raise InvalidValue(f"{len(keys)} weights needed, {len(weights)} given")
            pieces += ["WEIGHTS", *(check_score(w) for w in weights)]
        if aggregate is not None:
            pieces += ["AGGREGATE", aggregate.upper()]
        try:
            await self.database.execute_command(*pieces)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return ZSet(self.database, dest)

    async def interstore(
        self,
        dest: Any,
        *others: ZSet,
        weights: list[float] | None = None,
        aggregate: str | None = None,
    ) -> ZSet:
        """Store the intersection with ``others`` at ``dest`` (ZINTERSTORE, with
        ``weights`` per set and ``aggregate`` SUM/MIN/MAX; on a cluster, all
        in one slot); a ZSet on it. One round trip."""
        return await self._store("ZINTERSTORE", dest, others, weights, aggregate)

    async def unionstore(
        self,
        dest: Any,
        *others: ZSet,
        weights: list[float] | None = None,
        aggregate: str | None = None,
    ) -> ZSet:
        """Store the union with ``others`` at ``dest`` (ZUNIONSTORE, with
        ``weights`` per set and ``aggregate`` SUM/MIN/MAX; on a cluster, all
        in one slot); a ZSet on it. One round trip."""
        return await self._store("ZUNIONSTORE", dest, others, weights, aggregate)

    async def union_update(self, other: ZSet) -> ZSet:
        """``z |= other``: the union stored in ``z`` (ZUNIONSTORE; on a
        cluster, one slot). One round trip."""
        await self.unionstore(self.key, other)
        return self

    async def intersection_update(self, other: ZSet) -> ZSet:
        """``z &= other``: the intersection stored in ``z`` (ZINTERSTORE; on
        a cluster, one slot). One round trip."""
        await self.interstore(self.key, other)
        return self

    def search(self, pattern: Any, count: int | None = None) -> AsyncIterator[Pair]:
        """``(member, score)`` pairs whose member matches the glob ``pattern``,
        at most ``count`` of them (ZSCAN MATCH, 10,000 per round trip)."""
        match = check_value(pattern, "pattern")
        seen: set[Any] = set()

        async def fetch(cursor: int) -> tuple[int, Any]:
            try:
                cursor, batch = await self.database.zscan(
                    self.key, cursor, match=match, count=SCAN_COUNT
                )
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
            return (cursor, _pairs(batch))

        async def unique() -> AsyncIterator[Pair]:
            async for member, score in scan_batches(fetch):
                if member not in seen:
                    seen.add(member)
                    yield (member, score)

        return aislice(unique(), count)

    async def as_items(self, decode: bool = False) -> list[Pair]:
        """Every ``(member, score)`` pair in score order (ZRANGE 0 -1 WITHSCORES)."""
        items = await self.range(0, -1, with_scores=True)
        return [(self._decode(m), s) for m, s in items] if decode else items

    @classmethod
    async def from_dict(
        cls, database: Driver, key: Any, data: Mapping[Any, Any], clear: bool = False
    ) -> ZSet:
        """A ZSet at ``key`` holding ``data`` (member -> score), emptied first
        with ``clear=True``. One round trip (a transaction when clearing)."""
        zset = cls(database, key)
        scores = {check_value(m, "member"): check_score(s) for m, s in data.items()}
        pipe = database.pipeline()
        if clear:
            pipe.delete(zset.key)
        if scores:
            pipe.zadd(zset.key, scores)
        try:
            await pipe.execute()
        except ResponseError as _reply:
            await zset._guard.reraise(_reply)
            raise
        return zset
