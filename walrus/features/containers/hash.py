"""Hash: a Redis hash as a dict-like object."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any, cast

from walrus.features.containers.base import (
    SCAN_COUNT,
    Container,
    check_mapping,
    check_value,
    check_values,
)

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["Hash"]


class Hash(Container):
    """A Redis hash, dict-like; iterating yields ``(field, value)`` pairs.

    Missing fields raise ``KeyError`` for ``h[field]`` and ``del h[field]``, as a
    dict does; ``get()`` returns a default instead.
    """

    kind = "hash"

    def __getitem__(self, field: Any) -> Any:
        """One value (HGET), or a list for several fields ``h['a', 'b']`` (HMGET).

        O(1) per field; one round trip.
        """
        if isinstance(field, (tuple, list)):
            fields = check_values(field, "field")
            if not fields:
                return []
            with self._guard:
                return self.database.hmget(self.key, fields)
        with self._guard:
            value = self.database.execute_command(
                "HGET", self.key, check_value(field, "field")
            )
        if value is None:
            raise KeyError(field)
        return value

    def get(self, field: Any, default: Any = None) -> Any:
        """The value of ``field``, or ``default`` if it is missing. O(1); one trip."""
        with self._guard:
            value = self.database.execute_command(
                "HGET", self.key, check_value(field, "field")
            )
        return default if value is None else value

    def __setitem__(self, field: Any, value: Any) -> None:
        """Set one field (HSET). O(1); one round trip."""
        field, value = check_value(field, "field"), check_value(value)
        with self._guard:
            self.database.execute_command("HSET", self.key, field, value)

    def __delitem__(self, field: Any) -> None:
        """Delete one field (HDEL); ``KeyError`` if missing. O(1); one round trip."""
        with self._guard:
            removed = self.database.hdel(self.key, check_value(field, "field"))
        if not removed:
            raise KeyError(field)

    def __contains__(self, field: Any) -> bool:
        """Whether ``field`` exists (HEXISTS). O(1); one round trip."""
        with self._guard:
            return bool(self.database.hexists(self.key, check_value(field, "field")))

    def __len__(self) -> int:
        """The number of fields (HLEN). O(1); one round trip."""
        with self._guard:
            return self.database.hlen(self.key)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        """``(field, value)`` pairs (HSCAN, 10,000 per round trip)."""
        return self._scan()

    def _scan(self, match: Any = None) -> Iterator[tuple[Any, Any]]:
        seen: set[Any] | None = None  # fields of earlier batches
        cursor = 0
        while True:
            with self._guard:
                cursor, batch = self.database.hscan(
                    self.key, cursor, match=match, count=SCAN_COUNT
                )
            pairs = cast("dict[Any, Any]", batch).items()
            if seen is None and not cursor:  # one batch: each field once
                yield from pairs
                return
            seen = set() if seen is None else seen
            for field, value in pairs:
                if field not in seen:  # a rehash may repeat a field
                    seen.add(field)
                    yield field, value
            if not cursor:
                return

    def keys(self) -> list[Any]:
        """Every field (HKEYS). O(N); one round trip."""
        with self._guard:
            return self.database.hkeys(self.key)

    def values(self) -> list[Any]:
        """Every value (HVALS). O(N); one round trip."""
        with self._guard:
            return self.database.hvals(self.key)

    def items(self, lazy: bool = False) -> Any:
        """``(field, value)`` pairs: a list (HGETALL, one round trip), or with
        ``lazy=True`` a generator (HSCAN, 10,000 per round trip)."""
        if lazy:
            return self._scan()
        return list(self.as_dict().items())

    def update(self, __data: Mapping[Any, Any] | None = None, **kwargs: Any) -> Hash:
        """Set several fields (HMSET, as walrus 0.9: its OK is all this needs,
        where an engine without HSET of several fields counts the new ones
        with more commands: two more rlite sessions on a file); the caller's
        mapping is never changed.

        O(N) in the number of fields; one round trip; nothing sent when empty.
        """
        pairs = check_mapping(__data, kwargs)
        if pairs:
            flat: list[Any] = [None] * (2 * len(pairs))  # f1, v1, f2, v2 ...
            flat[::2], flat[1::2] = pairs, pairs.values()  # at C speed
            with self._guard:
                self.database.execute_command("HMSET", self.key, *flat)
        return self

    def setnx(self, field: Any, value: Any) -> bool:
        """Set ``field`` only if it does not exist (HSETNX). O(1); one round trip."""
        with self._guard:
            return bool(
                self.database.hsetnx(
                    self.key, check_value(field, "field"), check_value(value)
                )
            )

    def incr(self, field: Any, incr_by: int = 1) -> int:
        """Add ``incr_by`` to an integer field (HINCRBY). O(1); one round trip."""
        with self._guard:
            return self.database.hincrby(self.key, check_value(field, "field"), incr_by)

    def incr_float(self, field: Any, incr_by: float = 1.0) -> float:
        """Add ``incr_by`` to a numeric field (HINCRBYFLOAT). O(1); one round trip."""
        with self._guard:
            return float(
                self.database.hincrbyfloat(
                    self.key, check_value(field, "field"), incr_by
                )
            )

    def search(
        self, pattern: Any, count: int | None = None
    ) -> Iterator[tuple[Any, Any]]:
        """``(field, value)`` pairs whose field matches the glob ``pattern``,
        at most ``count`` of them (HSCAN MATCH, 10,000 fields per round trip)."""
        return islice(self._scan(check_value(pattern, "pattern")), count)

    def as_dict(self, decode: bool = False) -> dict[Any, Any]:
        """The whole hash as a dict (HGETALL); ``decode`` turns bytes into str.

        O(N); one round trip.
        """
        with self._guard:
            data = self.database.hgetall(self.key)
        if decode:
            return {self._decode(f): self._decode(v) for f, v in data.items()}
        return dict(data)

    @classmethod
    def from_dict(
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
        with hsh._guard:
            pipe.execute()
        return hsh
