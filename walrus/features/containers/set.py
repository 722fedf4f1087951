"""Set: a Redis set as a Python ``MutableSet``.

Operators between two walrus Sets run on the server (SUNION, SINTER, SDIFF and
their STORE forms); with any other iterable they work as ``collections.abc``
defines them and return a Python set. On a cluster, the keys of one server
operation must share a slot (a ``{tag}``: ``'{k}a'``, ``'{k}b'``), else
:class:`~walrus.exceptions.CrossSlot` is raised and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSet
from itertools import islice
from typing import TYPE_CHECKING, Any

from walrus.features.containers.base import (
    SCAN_COUNT,
    Sortable,
    check_value,
    check_values,
    scan_batches,
)

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["Set"]


def _fresh_set(reply: Any) -> set[Any]:
    """A reply as a set: redis-py's callback made one for this call already."""
    return reply if type(reply) is set else set(reply)


class Set(Sortable, MutableSet[Any]):
    """A Redis set."""

    kind = "set"

    @classmethod
    def _from_iterable(cls, it: Iterable[Any]) -> set[Any]:
        return set(it)

    def __contains__(self, item: Any) -> bool:
        """Whether ``item`` is a member (SISMEMBER). O(1); one round trip."""
        with self._guard:
            member = check_value(item, "member")
            return bool(self.database.execute_command("SISMEMBER", self.key, member))

    def __len__(self) -> int:
        """The number of members (SCARD). O(1); one round trip."""
        with self._guard:
            return self.database.scard(self.key)

    def __iter__(self) -> Iterator[Any]:
        """Every member (SSCAN, 10,000 per round trip)."""
        return self._scan()

    def _scan(self, match: Any = None) -> Iterator[Any]:
        seen: set[Any] = set()

        def fetch(cursor: int) -> tuple[int, Any]:
            with self._guard:
                return self.database.sscan(
                    self.key, cursor, match=match, count=SCAN_COUNT
                )

        for member in scan_batches(fetch):
            if member not in seen:  # a rehash may repeat a member
                seen.add(member)
                yield member

    def add(self, *items: Any) -> int:  # type: ignore[override]
        """Add ``items`` (SADD); how many were new. One round trip (none if empty)."""
        members = check_values(items, "member")
        if not members:
            return 0
        with self._guard:
            added: int = self.database.execute_command("SADD", self.key, *members)
        return added

    def remove(self, *items: Any) -> int:  # type: ignore[override]
        """Remove ``items`` (SREM); how many were members. One round trip.

        Unlike ``set.remove`` a missing item is not an error (walrus 0.9).
        """
        members = check_values(items, "member")
        if not members:
            return 0
        with self._guard:
            return self.database.srem(self.key, *members)

    def discard(self, item: Any) -> None:
        """Remove ``item`` if it is a member (SREM). O(1); one round trip."""
        self.remove(item)

    def __delitem__(self, item: Any) -> None:
        """Remove ``item`` if it is a member (SREM). O(1); one round trip."""
        self.remove(item)

    def pop(self) -> Any:
        """Remove and return a random member (SPOP); ``KeyError`` if empty."""
        with self._guard:
            value = self.database.spop(self.key)
        if value is None:
            raise KeyError("pop from an empty set")
        return value

    def random(self, n: int | None = None) -> Any:
        """A random member, or a list of ``n`` distinct ones (SRANDMEMBER)."""
        with self._guard:
            return self.database.srandmember(self.key, n)

    def members(self) -> set[Any]:
        """Every member as a Python set (SMEMBERS). O(N); one round trip."""
        with self._guard:
            return _fresh_set(self.database.smembers(self.key))

    def as_set(self, decode: bool = False) -> set[Any]:
        """Every member as a Python set; ``decode`` turns bytes into str."""
        members = self.members()
        return {self._decode(m) for m in members} if decode else members

    def search(self, pattern: Any, count: int | None = None) -> Iterator[Any]:
        """Members matching the glob ``pattern``, at most ``count`` of them
        (SSCAN MATCH, 10,000 per round trip)."""
        return islice(self._scan(check_value(pattern, "pattern")), count)

    # -- set algebra on the server -------------------------------------------------
    def _keys(self, others: Iterable[Set]) -> list[Any]:
        return [self.key, *(o.key for o in others)]

    def __or__(self, other: Any) -> set[Any]:
        """The union (SUNION with another Set; on a cluster, one slot). O(N);
        one round trip."""
        if not isinstance(other, Set):
            return self.members() | set(other)
        with self._guard:
            return _fresh_set(self.database.sunion(self._keys([other])))

    def __and__(self, other: Any) -> set[Any]:
        """The intersection (SINTER with another Set; on a cluster, one
        slot). One round trip."""
        if not isinstance(other, Set):
            return self.members() & set(other)
        with self._guard:
            return _fresh_set(self.database.sinter(self._keys([other])))

    def __sub__(self, other: Any) -> set[Any]:
        """The difference (SDIFF with another Set; on a cluster, one slot).
        O(N); one round trip."""
        if not isinstance(other, Set):
            return self.members() - set(other)
        with self._guard:
            return _fresh_set(self.database.sdiff(self._keys([other])))

    def __ior__(self, other: Any) -> Set:
        """Add ``other``'s members (SUNIONSTORE, one slot on a cluster; or
        SADD). One round trip."""
        if isinstance(other, Set):
            self.unionstore(self.key, other)
        else:
            self.add(*other)
        return self

    def __iand__(self, other: Any) -> Set:
        """Keep only members also in ``other`` (SINTERSTORE, one slot on a
        cluster; an iterable goes through a temporary key in this set's
        slot, in one transaction). One round trip."""
        if isinstance(other, Set):
            self.interstore(self.key, other)
            return self
        members = check_values(other, "member")
        pipe: Any = self.database.pipeline()
        if members:
            temp = self.database.keyspace.temp_near(self.key)
            pipe.sadd(temp, *members)
            # by name: redis-py's cluster pipelines block the sinterstore method
            pipe.execute_command("SINTERSTORE", self.key, self.key, temp)
            pipe.delete(temp)
        else:
            pipe.delete(self.key)
        with self._guard:
            pipe.execute()
        return self

    def __isub__(self, other: Any) -> Set:
        """Remove ``other``'s members (SDIFFSTORE, one slot on a cluster; or
        SREM). One round trip."""
        if isinstance(other, Set):
            self.diffstore(self.key, other)
        else:
            self.remove(*other)
        return self

    def diffstore(self, dest: Any, *others: Set) -> Set:
        """Store this set minus ``others`` at ``dest`` (SDIFFSTORE; on a
        cluster, all in one slot); a Set on it. One round trip."""
        with self._guard:
            self.database.sdiffstore(check_value(dest, "key"), self._keys(others))
        return Set(self.database, dest)

    def interstore(self, dest: Any, *others: Set) -> Set:
        """Store the intersection with ``others`` at ``dest`` (SINTERSTORE;
        on a cluster, all in one slot); a Set on it. One round trip."""
        with self._guard:
            self.database.sinterstore(check_value(dest, "key"), self._keys(others))
        return Set(self.database, dest)

    def unionstore(self, dest: Any, *others: Set) -> Set:
        """Store the union with ``others`` at ``dest`` (SUNIONSTORE; on a
        cluster, all in one slot); a Set on it. One round trip."""
        with self._guard:
            self.database.sunionstore(check_value(dest, "key"), self._keys(others))
        return Set(self.database, dest)

    @classmethod
    def from_set(
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
        with st._guard:
            pipe.execute()
        return st
