"""Async twin of :mod:`walrus.features.containers.base`, generated from ``walrus/features/containers/base.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from collections.abc import AsyncIterator
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar
from redis.exceptions import ResponseError
from walrus.exceptions import CommandError, CrossSlot, WrongType
from walrus.keys import key_text

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.containers.base import (
    SCAN_COUNT,
    T,
    check_mapping,
    check_pairs,
    check_score,
    check_value,
    check_values,
    redis_range,
)

__all__ = [
    "SCAN_COUNT",
    "Container",
    "Sortable",
    "check_mapping",
    "check_pairs",
    "check_score",
    "check_value",
    "check_values",
    "redis_range",
    "scan_batches",
]


async def scan_batches(
    fetch: Callable[[int], tuple[int, Iterable[T]]],
) -> AsyncIterator[T]:
    """Items of a SCAN-family cursor, ``fetch(cursor)`` giving one batch each."""
    cursor = 0
    while True:
        cursor, batch = await fetch(cursor)
        for _item in batch:
            yield _item
        if not cursor:
            return


class _TypeGuard:
    """Raises the container's :meth:`Container._error` for an error reply
    (WRONGTYPE becomes :class:`WrongType` naming both types)."""

    __slots__ = ("container",)

    def __init__(self, container: Container) -> None:
        self.container = container

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, ResponseError):
            await self.reraise(exc)

    async def reraise(self, exc: ResponseError) -> None:
        """Raise the container's error for the reply ``exc`` (from ``exc``),
        unless it is ``exc`` itself. The async code calls it from ``except``
        where the sync code has ``with container._guard`` (a ``try`` costs
        nothing until something is raised; ``async with`` awaits twice)."""
        error = await self.container._error(exc)
        if error is not exc:
            raise error from exc


class Container:
    """A Redis value under one key: the base of every walrus container."""

    kind: ClassVar[str] = ""

    def __init__(self, database: Driver, key: Any) -> None:
        self.database = database
        self.key = check_value(key, "key")
        self._guard = _TypeGuard(self)

    def __repr__(self) -> str:
        """``<Hash 'name'>``; a bytes key shows as bytes (``<Hash b'\\xff'>``)."""
        key = self.key if isinstance(self.key, bytes) else key_text(self.key)
        return f"<{type(self).__name__} {key!r}>"

    def __eq__(self, other: object) -> bool:
        """Same class, same database object and same key (contents are not read)."""
        if not isinstance(other, Container):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.database is other.database
            and (self.key == other.key)
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.key))

    async def clear(self) -> None:
        """Delete the key (DEL). O(N) in the size of the value; one round trip."""
        await self.database.delete(self.key)

    async def dump(self) -> bytes | None:
        """The value in Redis's serialization format (DUMP). One round trip."""
        return await self.database.dump(self.key)

    async def expire(self, ttl: int | None = None) -> bool:
        """Expire the key after ``ttl`` seconds; ``None`` persists it (PERSIST)."""
        if ttl is None:
            return bool(await self.database.persist(self.key))
        return bool(await self.database.expire(self.key, ttl))

    async def pexpire(self, ttl: int | None = None) -> bool:
        """Expire the key after ``ttl`` milliseconds; ``None`` removes the expiry."""
        if ttl is None:
            return bool(await self.database.persist(self.key))
        return bool(await self.database.pexpire(self.key, ttl))

    async def _error(self, exc: ResponseError) -> BaseException:
        """The exception for an error reply inside ``with self._guard``:
        WrongType naming both types, else ``exc`` itself (raised as it is)."""
        if "WRONGTYPE" in str(exc):
            return await self._wrong_type(exc)
        return exc

    async def _wrong_type(self, exc: BaseException) -> WrongType:
        try:
            actual = await self.database.type(self.key)
        except ResponseError:
            actual = "unknown"
        if isinstance(actual, bytes):
            actual = actual.decode()
        name = key_text(self.key)
        needs = f"the {self.kind} a walrus {type(self).__name__} needs"
        if actual == self.kind:
            message = f"key {name!r} holds a {actual} that is not {needs}: {exc}"
            return WrongType(message, name, actual)
        return WrongType(f"key {name!r} holds a {actual}, not {needs}", name, actual)

    def _decode(self, value: Any) -> Any:
        """``value`` as text (bytes decoded with the database's encoding)."""
        return self.database.get_encoder().decode(value, force=True)


class Sortable(Container):
    """``sort()`` for the containers SORT works on (lists, sets, sorted sets)."""

    async def sort(
        self,
        pattern: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        get_pattern: Any = None,
        ordering: str | None = None,
        alpha: bool = True,
        store: Any = None,
    ) -> Any:
        """The items sorted (SORT): a list, or the stored count with ``store``.

        ``pattern`` sorts by other keys (BY), ``get_pattern`` returns other
        keys' values (GET), ``ordering='DESC'`` reverses, ``limit``/``offset``
        page. On a cluster, ``store`` and the patterns' keys must be in this
        key's slot (a ``{tag}``), else CrossSlot. O(N + M log M); one round trip.
        """
        if limit is not None or offset is not None:
            offset, limit = (offset or 0, -1 if limit is None else limit)
        try:
            try:
                return await self.database.sort(
                    self.key,
                    start=offset,
                    num=limit,
                    by=pattern,
                    get=get_pattern,
                    desc=(ordering or "").upper() == "DESC",
                    alpha=alpha,
                    store=store,
                )
            except ResponseError as _reply:
                await self._guard.reraise(_reply)
                raise
        except CommandError as exc:
            if "denied in Cluster mode" not in str(exc):
                raise
            raise CrossSlot(
                f"SORT {key_text(self.key)!r}: {exc} Give the patterns the sorted key's hash tag, e.g. key '{{g}}ids' with BY '{{g}}weight_*' and GET '{{g}}name_*'"
            ) from exc
