"""ZSet: a Redis sorted set, a dict of member -> score kept in score order.

Subscripts: ``z[member]`` is the member's score, ``z[i]`` a list of the
member at rank ``i`` (negative from the end; empty out of range: walrus 0.9's
shape), ``z[a:b]`` a slice by rank or by member (the start member included,
the stop member not), and ``z[x, True]`` adds scores. ``z |= other`` and
``z &= other`` store the union or intersection in ``z`` (scores summed); on a
cluster their keys must share a slot (a ``{tag}``), else
:class:`~walrus.exceptions.CrossSlot` is raised and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any, cast

from redis.exceptions import ResponseError

from walrus.exceptions import InvalidValue
from walrus.features.containers.base import (
    SCAN_COUNT,
    Sortable,
    check_mapping,
    check_score,
    check_value,
    check_values,
    scan_batches,
)
from walrus.scripts import Call, twin

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["ZSet"]

Pair = tuple[Any, float]


def _pairs(reply: Iterable[Any]) -> list[Pair]:
    """``(member, score)`` tuples from RESP2 or RESP3 replies."""
    if type(reply) is list and reply and type(reply[0]) is tuple:
        return reply  # RESP2: redis-py made (member, float) pairs for this call
    return [(member, float(score)) for member, score in reply]


def _flat_pairs(reply: list[Any]) -> list[Pair]:
    return [(m, float(s)) for m, s in zip(reply[::2], reply[1::2], strict=True)]


def _bound(value: Any) -> list[Any]:
    if value is None:
        return ["", ""]
    if isinstance(value, int) and not isinstance(value, bool):
        return ["r", value]
    return ["m", check_value(value, "member")]


class ZSet(Sortable):
    """A Redis sorted set."""

    kind = "zset"

    # -- subscripts ----------------------------------------------------------------
    def __getitem__(self, item: Any) -> Any:
        """A score, a one-item list by rank, or a slice (see the module).

        One round trip."""
        with_scores = False
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bool):
            item, with_scores = item
        if isinstance(item, slice):
            if item.step not in (None, 1):
                return self._slice(slice(None), "range", with_scores)[item]
            return self._slice(item, "range", with_scores)
        if isinstance(item, int) and not isinstance(item, bool):
            return self.range(item, item, with_scores=with_scores)
        score = self.score(item)
        if score is None:
            raise KeyError(item)
        return score

    def _slice(self, item: slice, mode: str, with_scores: bool) -> Any:
        args = [mode, *_bound(item.start), *_bound(item.stop), int(with_scores)]
        try:
            with self._guard:
                reply = self.database.scripts.run("zset_slice", [self.key], args)
        except ResponseError as exc:
            if str(exc).startswith("NOMEMBER"):
                which = item.start if str(exc).endswith("start") else item.stop
                raise KeyError(which) from None
            raise
        if mode == "delete":
            return int(reply)
        return _flat_pairs(reply) if with_scores else reply

    def __setitem__(self, member: Any, score: Any) -> None:
        """Set ``member``'s score (ZADD). O(log N); one round trip."""
        member, score = check_value(member, "member"), check_score(score)
        with self._guard:
            self.database.execute_command("ZADD", self.key, score, member)

    def __delitem__(self, item: Any) -> None:
        """Delete a member (ZREM; ``KeyError`` if missing), the member at a rank,
        or a slice by rank or member (atomic). One round trip."""
        if isinstance(item, slice):
            if item.step not in (None, 1):
                raise InvalidValue("ZSet slices cannot be deleted with a step")
            self._slice(item, "delete", False)
        elif isinstance(item, int) and not isinstance(item, bool):
            if not self.remove_by_rank(item):
                raise IndexError("sorted set index out of range")
        elif not self.remove(item):
            raise KeyError(item)

    def __contains__(self, member: Any) -> bool:
        """Whether ``member`` is in the set (ZSCORE). O(1); one round trip."""
        return self.score(member) is not None

    def __len__(self) -> int:
        """The number of members (ZCARD). O(1); one round trip."""
        with self._guard:
            return self.database.zcard(self.key)

    def __iter__(self) -> Iterator[Pair]:
        """``(member, score)`` pairs in score order (ZRANGE, 10,000 per round trip)."""
        start = 0
        while True:
            batch = self.range(start, start + SCAN_COUNT - 1, with_scores=True)
            yield from batch
            if len(batch) < SCAN_COUNT:
                return
            start += SCAN_COUNT

    # -- adding and removing -------------------------------------------------------
    def add(self, _mapping: Mapping[Any, Any] | None = None, **kwargs: Any) -> int:
        """Add members with scores, from a mapping and/or keywords (ZADD).

        The number of new members. O(log N) each; one round trip; none sent if empty.
        """
        scores = check_mapping(_mapping, kwargs, what="member", scores=True)
        if not scores:
            return 0
        args: list[Any] = []
        for member, score in scores.items():
            args += (score, member)
        with self._guard:
            return int(self.database.execute_command("ZADD", self.key, *args) or 0)

    def remove(self, *items: Any) -> int:
        """Remove ``items`` (ZREM); how many were members. One round trip."""
        members = check_values(items, "member")
        if not members:
            return 0
        with self._guard:
            return self.database.zrem(self.key, *members)

    def incr(self, key: Any, incr_by: float = 1.0) -> float:
        """Add ``incr_by`` to ``key``'s score (ZINCRBY); the new score. One trip."""
        with self._guard:
            score = self.database.zincrby(
                self.key, check_score(incr_by), check_value(key)
            )
        return float(cast(float, score))

    # -- reading -------------------------------------------------------------------
    def score(self, item: Any) -> float | None:
        """``item``'s score, None if absent (ZSCORE). O(1); one round trip."""
        with self._guard:
            member = check_value(item, "member")
            score = self.database.execute_command("ZSCORE", self.key, member)
        return None if score is None else float(score)

    def rank(self, item: Any, reverse: bool = False) -> int | None:
        """``item``'s rank from the lowest (or highest) score (ZRANK/ZREVRANK)."""
        item = check_value(item, "member")
        with self._guard:
            if reverse:
                return cast("int | None", self.database.zrevrank(self.key, item))
            return cast("int | None", self.database.zrank(self.key, item))

    def count(self, low: Any, high: Any = None) -> int:
        """The number of members scored in ``[low, high]`` (ZCOUNT; ``high``
        defaults to ``low``). O(log N); one round trip."""
        with self._guard:
            return self.database.zcount(self.key, low, low if high is None else high)

    def lex_count(self, low: Any, high: Any) -> int:
        """The number of members between lex bounds like ``'[a'``, ``'(c'``, ``'-'``
        (ZLEXCOUNT). O(log N); one round trip."""
        with self._guard:
            return self.database.zlexcount(self.key, low, high)

    def range(
        self,
        low: int,
        high: int,
        with_scores: bool = False,
        desc: bool = False,
        reverse: bool = False,
    ) -> list[Any]:
        """Members ranked ``low`` to ``high`` inclusive, Redis-style (ZRANGE;
        ZREVRANGE with ``desc`` or ``reverse``). O(log N + M); one round trip."""
        with self._guard:
            if desc or reverse:
                reply = self.database.zrevrange(self.key, low, high, with_scores)
            else:
                reply = self.database.zrange(
                    self.key, low, high, withscores=with_scores
                )
        return _pairs(reply) if with_scores else reply

    def range_by_score(
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
        with self._guard:
            if reverse:
                reply = self.database.zrevrangebyscore(
                    self.key, high, low, start, num, with_scores
                )
            else:
                reply = self.database.zrangebyscore(
                    self.key, low, high, start, num, with_scores
                )
        return _pairs(reply) if with_scores else reply

    def range_by_lex(
        self,
        low: Any,
        high: Any,
        start: int | None = None,
        num: int | None = None,
        reverse: bool = False,
    ) -> list[Any]:
        """Members between lex bounds (ZRANGEBYLEX, or ZREVRANGEBYLEX with
        ``reverse``), paged by ``start``/``num``. One round trip."""
        with self._guard:
            if reverse:
                return self.database.zrevrangebylex(self.key, high, low, start, num)
            return self.database.zrangebylex(self.key, low, high, start, num)

    def remove_by_rank(self, low: int, high: int | None = None) -> int:
        """Remove members ranked ``low`` to ``high`` inclusive (ZREMRANGEBYRANK)."""
        with self._guard:
            return self.database.zremrangebyrank(
                self.key, low, low if high is None else high
            )

    def remove_by_score(self, low: Any, high: Any = None) -> int:
        """Remove members scored in ``[low, high]`` (ZREMRANGEBYSCORE)."""
        with self._guard:
            return self.database.zremrangebyscore(
                self.key, low, low if high is None else high
            )

    def remove_by_lex(self, low: Any, high: Any) -> int:
        """Remove members between lex bounds (ZREMRANGEBYLEX). One round trip."""
        with self._guard:
            return self.database.zremrangebylex(self.key, low, high)

    # -- popping -------------------------------------------------------------------
    def popmin(self, count: int = 1) -> list[Pair]:
        """Remove the ``count`` lowest-scored members (ZPOPMIN); [] if empty."""
        with self._guard:
            return _pairs(self.database.zpopmin(self.key, count))

    def popmax(self, count: int = 1) -> list[Pair]:
        """Remove the ``count`` highest-scored members (ZPOPMAX); [] if empty."""
        with self._guard:
            return _pairs(self.database.zpopmax(self.key, count))

    def popmin_compat(self, count: int = 1) -> list[Pair]:
        """popmin() as a ZRANGE + ZREMRANGEBYRANK transaction. One round trip."""
        pipe = self.database.pipeline()
        pipe.zrange(self.key, 0, count - 1, withscores=True)
        pipe.zremrangebyrank(self.key, 0, count - 1)
        with self._guard:
            items, _ = pipe.execute()
        return _pairs(items)

    def popmax_compat(self, count: int = 1) -> list[Pair]:
        """popmax() as a ZREVRANGE + ZREMRANGEBYRANK transaction. One round trip."""
        pipe = self.database.pipeline()
        pipe.zrevrange(self.key, 0, count - 1, withscores=True)
        pipe.zremrangebyrank(self.key, -count, -1)
        with self._guard:
            items, _ = pipe.execute()
        return _pairs(items)

    def bpopmin(self, timeout: int = 0) -> Pair | None:
        """Remove the lowest-scored member, waiting up to ``timeout`` seconds
        (0: forever) (BZPOPMIN); ``(member, score)`` or None."""
        with self._guard:
            reply = self.database.bzpopmin([self.key], timeout)
        return None if reply is None else (reply[1], float(reply[2]))

    def bpopmax(self, timeout: int = 0) -> Pair | None:
        """Remove the highest-scored member, waiting up to ``timeout`` seconds
        (0: forever) (BZPOPMAX); ``(member, score)`` or None."""
        with self._guard:
            reply = self.database.bzpopmax([self.key], timeout)
        return None if reply is None else (reply[1], float(reply[2]))

    # -- combining -----------------------------------------------------------------
    def _store(
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
        with self._guard:
            self.database.execute_command(*pieces)
        return ZSet(self.database, dest)

    def interstore(
        self,
        dest: Any,
        *others: ZSet,
        weights: list[float] | None = None,
        aggregate: str | None = None,
    ) -> ZSet:
        """Store the intersection with ``others`` at ``dest`` (ZINTERSTORE, with
        ``weights`` per set and ``aggregate`` SUM/MIN/MAX; on a cluster, all
        in one slot); a ZSet on it. One round trip."""
        return self._store("ZINTERSTORE", dest, others, weights, aggregate)

    def unionstore(
        self,
        dest: Any,
        *others: ZSet,
        weights: list[float] | None = None,
        aggregate: str | None = None,
    ) -> ZSet:
        """Store the union with ``others`` at ``dest`` (ZUNIONSTORE, with
        ``weights`` per set and ``aggregate`` SUM/MIN/MAX; on a cluster, all
        in one slot); a ZSet on it. One round trip."""
        return self._store("ZUNIONSTORE", dest, others, weights, aggregate)

    def __ior__(self, other: ZSet) -> ZSet:
        """``z |= other``: the union stored in ``z`` (ZUNIONSTORE; on a
        cluster, one slot). One round trip."""
        self.unionstore(self.key, other)
        return self

    def __iand__(self, other: ZSet) -> ZSet:
        """``z &= other``: the intersection stored in ``z`` (ZINTERSTORE; on
        a cluster, one slot). One round trip."""
        self.interstore(self.key, other)
        return self

    # -- whole-set views -----------------------------------------------------------
    def search(self, pattern: Any, count: int | None = None) -> Iterator[Pair]:
        """``(member, score)`` pairs whose member matches the glob ``pattern``,
        at most ``count`` of them (ZSCAN MATCH, 10,000 per round trip)."""
        match = check_value(pattern, "pattern")
        seen: set[Any] = set()

        def fetch(cursor: int) -> tuple[int, Any]:
            with self._guard:
                cursor, batch = self.database.zscan(
                    self.key, cursor, match=match, count=SCAN_COUNT
                )
            return cursor, _pairs(batch)

        def unique() -> Iterator[Pair]:
            for member, score in scan_batches(fetch):
                if member not in seen:
                    seen.add(member)
                    yield member, score

        return islice(unique(), count)

    def as_items(self, decode: bool = False) -> list[Pair]:
        """Every ``(member, score)`` pair in score order (ZRANGE 0 -1 WITHSCORES)."""
        items = self.range(0, -1, with_scores=True)
        return [(self._decode(m), s) for m, s in items] if decode else items

    @classmethod
    def from_dict(
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
        with zset._guard:
            pipe.execute()
        return zset


@twin("zset_slice")
def _slice_twin(call: Call, keys: list[bytes], args: list[bytes]) -> Any:
    key = keys[0]
    mode, start_kind, start, stop_kind, stop, with_scores = args
    n = int(call(b"ZCARD", key))

    def rank(kind: bytes, value: bytes, default: int) -> int | None:
        if not kind:
            return default
        if kind == b"m":
            found = call(b"ZRANK", key, value)
            return None if found is None else int(found)
        r = int(value)
        return min(max(r + n, 0) if r < 0 else r, n)

    first = rank(start_kind, start, 0)
    if first is None:
        raise ResponseError("NOMEMBER start")
    last = rank(stop_kind, stop, n)
    if last is None:
        raise ResponseError("NOMEMBER stop")
    if mode == b"delete":
        if first >= last:
            return 0
        return call(
            b"ZREMRANGEBYRANK", key, str(first).encode(), str(last - 1).encode()
        )
    if first >= last:
        return []
    extra = [b"WITHSCORES"] if with_scores == b"1" else []
    return call(b"ZRANGE", key, str(first).encode(), str(last - 1).encode(), *extra)
