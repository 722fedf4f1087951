"""What every container shares: its key, its database, and the checks at the boundary.

A container is a thin object naming one key on one database; every method is
one round trip (a command, a pipeline or a named operation). Values are
checked before anything is sent: ``str``, ``bytes``, ``int`` and ``float``
are accepted (encoded as redis-py does), anything else is a ``TypeError``
naming its type. An error reply saying the key holds another Redis type
becomes :class:`~walrus.exceptions.WrongType` naming the key and both types.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from redis.exceptions import ResponseError

from walrus.exceptions import CommandError, CrossSlot, InvalidType, WrongType
from walrus.keys import key_text

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

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

SCAN_COUNT = 10_000  # items per HSCAN/SSCAN/ZSCAN/LRANGE batch when iterating

T = TypeVar("T")


_STORABLE = frozenset({str, bytes, int, float})  # the exact types: one set lookup
_SCORES = frozenset({int, float})
_FLAT = itertools.chain.from_iterable


def check_value(value: Any, what: str = "value") -> Any:
    """``value`` itself if Redis can store it; a TypeError naming its type if not."""
    if type(value) in _STORABLE or (
        isinstance(value, (str, bytes, int, float)) and not isinstance(value, bool)
    ):
        return value
    raise InvalidType(
        f"a {what} must be str, bytes, int or float, not {type(value).__name__}"
    )


def check_values(values: Iterable[Any], what: str = "value") -> list[Any]:
    """``values`` as a list, each checked by :func:`check_value`."""
    values = list(values)
    if _STORABLE.issuperset(map(type, values)):  # the usual case, at C speed
        return values
    return [check_value(v, what) for v in values]


def check_mapping(
    *sources: Mapping[Any, Any] | None, what: str = "field", scores: bool = False
) -> dict[Any, Any]:
    """The pairs of ``sources`` (a later one wins) in a new dict, each key
    (a ``what``) checked by :func:`check_value` and each value by
    :func:`check_value`, or by :func:`check_score` with ``scores``."""
    pairs: dict[Any, Any] = {}
    for source in sources:
        if source:
            pairs.update(source)  # a dict's copy at C speed
    values, check = (_SCORES, check_score) if scores else (_STORABLE, check_value)
    if _STORABLE.issuperset(map(type, pairs)) and values.issuperset(
        map(type, pairs.values())
    ):  # the usual case, at C speed
        return pairs
    return {check_value(k, what): check(v) for k, v in pairs.items()}


def check_pairs(data: Mapping[Any, Any], what: str = "field") -> list[Any]:
    """``data``'s pairs flattened (``[k1, v1, k2, v2 ...]``), checked as
    :func:`check_mapping` checks them."""
    flat = _storable_pairs(data)  # the usual case
    if flat is None:
        flat = [*_FLAT(check_mapping(data, what=what).items())]
    return flat


def _flat_storable(data: Mapping[Any, Any]) -> list[Any] | None:
    """``data``'s pairs flattened if every key and value is a ``str``,
    ``bytes``, ``int`` or ``float`` (exactly); None if not."""
    flat = [*_FLAT(data.items())]
    return flat if _STORABLE.issuperset(map(type, flat)) else None


# The compiled twin takes 50 ns for a one-pair dict, where the Python one takes 200.
try:
    from walrus.drivers.embedded._native import storable_pairs as _storable_pairs
except ImportError:  # built without a C compiler
    _storable_pairs = _flat_storable


def check_score(score: Any) -> float | int:
    """A sorted-set score: an int or a float (not a bool)."""
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        return score
    raise InvalidType(f"a score must be int or float, not {type(score).__name__}")


def scan_batches(
    fetch: Callable[[int], tuple[int, Iterable[T]]],
) -> Iterator[T]:
    """Items of a SCAN-family cursor, ``fetch(cursor)`` giving one batch each."""
    cursor = 0
    while True:
        cursor, batch = fetch(cursor)
        yield from batch
        if not cursor:
            return


class _TypeGuard:
    """Raises the container's :meth:`Container._error` for an error reply
    (WRONGTYPE becomes :class:`WrongType` naming both types)."""

    __slots__ = ("container",)

    def __init__(self, container: Container) -> None:
        self.container = container

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, ResponseError):
            self.reraise(exc)

    def reraise(self, exc: ResponseError) -> None:
        """Raise the container's error for the reply ``exc`` (from ``exc``),
        unless it is ``exc`` itself. The async code calls it from ``except``
        where the sync code has ``with container._guard`` (a ``try`` costs
        nothing until something is raised; ``async with`` awaits twice)."""
        error = self.container._error(exc)
        if error is not exc:
            raise error from exc


class Container:
    """A Redis value under one key: the base of every walrus container."""

    kind: ClassVar[str] = ""  # the Redis type this container works on (TYPE's reply)

    def __init__(self, database: Driver, key: Any) -> None:
        self.database = database
        self.key = check_value(key, "key")
        self._guard = _TypeGuard(self)

    # -- identity ------------------------------------------------------------------
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
            and self.key == other.key
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.key))

    # -- the key -------------------------------------------------------------------
    def clear(self) -> None:
        """Delete the key (DEL). O(N) in the size of the value; one round trip."""
        self.database.delete(self.key)

    def dump(self) -> bytes | None:
        """The value in Redis's serialization format (DUMP). One round trip."""
        return self.database.dump(self.key)

    def expire(self, ttl: int | None = None) -> bool:
        """Expire the key after ``ttl`` seconds; ``None`` persists it (PERSIST)."""
        if ttl is None:
            return bool(self.database.persist(self.key))
        return bool(self.database.expire(self.key, ttl))

    def pexpire(self, ttl: int | None = None) -> bool:
        """Expire the key after ``ttl`` milliseconds; ``None`` removes the expiry."""
        if ttl is None:
            return bool(self.database.persist(self.key))
        return bool(self.database.pexpire(self.key, ttl))

    # -- helpers for subclasses ----------------------------------------------------
    def _error(self, exc: ResponseError) -> BaseException:
        """The exception for an error reply inside ``with self._guard``:
        WrongType naming both types, else ``exc`` itself (raised as it is)."""
        if "WRONGTYPE" in str(exc):
            return self._wrong_type(exc)
        return exc

    def _wrong_type(self, exc: BaseException) -> WrongType:
        try:
            actual = self.database.type(self.key)
        except ResponseError:
            actual = "unknown"
        if isinstance(actual, bytes):
            actual = actual.decode()
        name = key_text(self.key)
        needs = f"the {self.kind} a walrus {type(self).__name__} needs"
        if actual == self.kind:  # e.g. a plain string where a HyperLogLog is needed
            message = f"key {name!r} holds a {actual} that is not {needs}: {exc}"
            return WrongType(message, name, actual)
        return WrongType(f"key {name!r} holds a {actual}, not {needs}", name, actual)

    def _decode(self, value: Any) -> Any:
        """``value`` as text (bytes decoded with the database's encoding)."""
        return self.database.get_encoder().decode(value, force=True)


def redis_range(index: slice) -> tuple[int, int] | tuple[()] | None:
    """A Python slice as Redis's inclusive ``start, end`` (LRANGE, ZRANGE).

    ``()`` when the slice is certainly empty; ``None`` when Redis cannot
    express it (a step other than 1, or bounds that are not ints), so the
    caller reads everything and slices in Python.
    """
    start, stop, step = index.start, index.stop, index.step
    if step not in (None, 1) or not all(
        b is None or (isinstance(b, int) and not isinstance(b, bool))
        for b in (start, stop)
    ):
        return None
    if stop == 0:
        return ()  # Redis would read end=-1 as "to the last item"
    return (start or 0, -1 if stop is None else stop - 1)


class Sortable(Container):
    """``sort()`` for the containers SORT works on (lists, sets, sorted sets)."""

    def sort(
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
            offset, limit = offset or 0, -1 if limit is None else limit
        try:
            with self._guard:
                return self.database.sort(
                    self.key,
                    start=offset,
                    num=limit,
                    by=pattern,
                    get=get_pattern,
                    desc=(ordering or "").upper() == "DESC",
                    alpha=alpha,
                    store=store,
                )
        except CommandError as exc:  # a cluster refusing a BY or GET pattern
            if "denied in Cluster mode" not in str(exc):
                raise
            raise CrossSlot(
                f"SORT {key_text(self.key)!r}: {exc} Give the patterns the sorted "
                "key's hash tag, e.g. key '{g}ids' with BY '{g}weight_*' and "
                "GET '{g}name_*'"
            ) from exc
