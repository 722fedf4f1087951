"""List: a Redis list as a Python ``MutableSequence``.

Indexing, slicing and deletion follow Python's list semantics (walrus 0.9
treated ``del l[x]`` as delete-by-value and ``del l[a:b]`` as a trim; this
List does what a Python list does). Operations by index that Redis has no
command for (``del l[i]``, ``l.pop(i)``, ``l.insert(i, v)``, ``del l[a:b]``)
are named atomic operations: Lua on servers, Python twins elsewhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, MutableSequence
from typing import TYPE_CHECKING, Any, overload

from redis.exceptions import ResponseError

from walrus.exceptions import InvalidType, InvalidValue
from walrus.features.containers.base import (
    SCAN_COUNT,
    Sortable,
    check_value,
    check_values,
    redis_range,
)
from walrus.scripts import Call, twin

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["List"]


def _marker() -> str:
    """A value no user item holds: it marks items to remove by index."""
    return f"__walrus_marker__:{uuid.uuid4().hex}"


def _bound(value: int | None) -> str:
    return "" if value is None else str(value)


class List(Sortable, MutableSequence[Any]):
    """A Redis list with Python list semantics."""

    kind = "list"

    # -- reading -------------------------------------------------------------------
    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        """An item (LINDEX, ``IndexError`` out of range) or a slice (LRANGE).

        A slice with a step other than 1 reads the whole list. One round trip.
        """
        if isinstance(index, slice):
            bounds = redis_range(index)
            with self._guard:
                if bounds is None:
                    return self.database.lrange(self.key, 0, -1)[index]
                if bounds == ():
                    return []
                return self.database.lrange(self.key, *bounds)
        with self._guard:
            value = self.database.execute_command("LINDEX", self.key, _index(index))
        if value is None:
            raise IndexError("list index out of range")
        return value

    def __len__(self) -> int:
        """The number of items (LLEN). O(1); one round trip."""
        with self._guard:
            return self.database.llen(self.key)

    def __iter__(self) -> Iterator[Any]:
        """Every item in order (LRANGE, 10,000 per round trip)."""
        start = 0
        while True:
            with self._guard:
                batch = self.database.lrange(self.key, start, start + SCAN_COUNT - 1)
            yield from batch
            if len(batch) < SCAN_COUNT:
                return
            start += SCAN_COUNT

    def as_list(self, decode: bool = False) -> list[Any]:
        """Every item as a Python list (LRANGE 0 -1). O(N); one round trip."""
        with self._guard:
            items = self.database.lrange(self.key, 0, -1)
        return [self._decode(i) for i in items] if decode else items

    def _positions(self, value: Any) -> tuple[list[int], int]:
        """The indexes of the items equal to ``value`` (compared as stored
        bytes), and the length of the list."""
        encode = self.database.get_encoder().encode
        target = encode(check_value(value))
        items = self.as_list()
        return [i for i, item in enumerate(items) if encode(item) == target], len(items)

    def __contains__(self, value: Any) -> bool:
        """Whether an item equals ``value`` (str and bytes compare as stored).

        O(N); one round trip.
        """
        return bool(self._positions(value)[0])

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        """The first index of ``value`` in ``[start:stop]``; ``ValueError`` if
        absent. O(N); one round trip."""
        positions, length = self._positions(value)
        first, last, _ = slice(start, stop).indices(length)
        for i in positions:
            if first <= i < last:
                return i
        raise InvalidValue(f"{value!r} is not in the list")

    def count(self, value: Any) -> int:
        """How many items equal ``value``. O(N); one round trip."""
        return len(self._positions(value)[0])

    # -- writing by index ----------------------------------------------------------
    def __setitem__(self, index: Any, value: Any) -> None:
        """Replace the item at ``index`` (LSET); ``IndexError`` out of range.

        Slice assignment is not supported. O(N); one round trip.
        """
        if isinstance(index, slice):
            raise InvalidType("List does not support slice assignment")
        value = check_value(value)
        try:
            with self._guard:
                self.database.lset(self.key, _index(index), value)
        except ResponseError as exc:
            message = str(exc).lower()  # engines differ in case
            if "out of range" in message or "no such key" in message:
                raise IndexError("list assignment index out of range") from None
            raise

    def __delitem__(self, index: int | slice) -> None:
        """Delete by index or slice, as Python does; atomic. O(N); one round trip."""
        if isinstance(index, slice):
            args = [
                _marker(),
                _bound(index.start),
                _bound(index.stop),
                _bound(index.step),
            ]
            if index.step == 0:
                raise InvalidValue("slice step cannot be zero")
            with self._guard:
                self.database.scripts.run("list_delete_slice", [self.key], args)
            return
        if self._pop_index(_index(index)) is None:
            raise IndexError("list assignment index out of range")

    def _pop_index(self, index: int) -> Any:
        with self._guard:
            return self.database.scripts.run(
                "list_pop_index", [self.key], [index, _marker()]
            )

    def insert(  # type: ignore[override]
        self, index: Any, value: Any, where: str | None = None
    ) -> int | None:
        """Insert ``value`` before ``index`` as ``list.insert`` does. O(N); one trip.

        walrus 0.9's form ``insert(value, pivot, 'before')`` (or ``'after'``)
        inserts ``value`` next to the first item equal to ``pivot`` and returns
        the new length, -1 if ``pivot`` is not in the list (LINSERT).
        """
        if where is not None:
            side = str(where).upper()
            if side not in ("BEFORE", "AFTER"):
                raise InvalidValue(
                    f"List.insert(value, pivot, where): where is 'before' or "
                    f"'after', not {where!r}"
                )
            return self._linsert(side, index, value)  # (value, pivot, where)
        args = [_index(index), check_value(value), _marker()]
        with self._guard:
            self.database.scripts.run("list_insert", [self.key], args)
        return None

    def pop(self, index: int = -1) -> Any:
        """Remove and return the item at ``index`` (the last by default).

        ``IndexError`` when out of range or empty. RPOP/LPOP at the ends, a
        named operation elsewhere; one round trip.
        """
        index = _index(index)
        with self._guard:
            if index == -1:
                value = self.database.rpop(self.key)
            elif index == 0:
                value = self.database.lpop(self.key)
            else:
                value = self._pop_index(index)
        if value is None:
            raise IndexError("pop from empty list or index out of range")
        return value

    # -- walrus's list methods -----------------------------------------------------
    def append(self, value: Any) -> int:  # type: ignore[override]
        """Add ``value`` at the end (RPUSH); the new length. O(1); one round trip."""
        with self._guard:
            return self.database.rpush(self.key, check_value(value))

    def prepend(self, value: Any) -> int:
        """Add ``value`` at the start (LPUSH); the new length. O(1); one round trip."""
        with self._guard:
            return self.database.lpush(self.key, check_value(value))

    def extend(self, values: Iterable[Any]) -> int:  # type: ignore[override]
        """Add ``values`` at the end (RPUSH); the new length. One round trip
        (LLEN only, writing nothing, for an empty iterable)."""
        items = check_values(values)
        if not items:
            return len(self)
        with self._guard:
            return self.database.rpush(self.key, *items)

    def insert_before(self, value: Any, key: Any) -> int:
        """Insert ``value`` before the first item equal to ``key`` (LINSERT).

        The new length, or -1 if ``key`` is not in the list. O(N); one round trip.
        """
        return self._linsert("BEFORE", value, key)

    def insert_after(self, value: Any, key: Any) -> int:
        """Insert ``value`` after the first item equal to ``key`` (LINSERT).

        The new length, or -1 if ``key`` is not in the list. O(N); one round trip.
        """
        return self._linsert("AFTER", value, key)

    def _linsert(self, where: str, value: Any, pivot: Any) -> int:
        with self._guard:
            return self.database.linsert(
                self.key, where, check_value(pivot), check_value(value)
            )

    def popleft(self) -> Any:
        """Remove and return the first item, None if empty (LPOP). O(1); one trip."""
        with self._guard:
            return self.database.lpop(self.key)

    def popright(self) -> Any:
        """Remove and return the last item, None if empty (RPOP). O(1); one trip."""
        with self._guard:
            return self.database.rpop(self.key)

    def bpopleft(self, timeout: int = 0) -> Any:
        """Like popleft(), waiting up to ``timeout`` seconds (0: forever) (BLPOP)."""
        with self._guard:
            reply = self.database.blpop([self.key], timeout)
        return None if reply is None else reply[1]

    def bpopright(self, timeout: int = 0) -> Any:
        """Like popright(), waiting up to ``timeout`` seconds (0: forever) (BRPOP)."""
        with self._guard:
            reply = self.database.brpop([self.key], timeout)
        return None if reply is None else reply[1]

    def move_tail(self, key: Any) -> Any:
        """Move the last item to the head of list ``key`` (RPOPLPUSH); the item.

        On a cluster both lists must be in one slot (a ``{tag}``), else
        CrossSlot. O(1); one round trip.
        """
        with self._guard:
            return self.database.rpoplpush(self.key, check_value(key, "key"))

    def bmove_tail(self, key: Any, timeout: int = 0) -> Any:
        """Like move_tail(), waiting up to ``timeout`` seconds (BRPOPLPUSH;
        on a cluster, one slot)."""
        with self._guard:
            return self.database.brpoplpush(self.key, check_value(key, "key"), timeout)

    @classmethod
    def from_list(
        cls, database: Driver, key: Any, data: Iterable[Any], clear: bool = False
    ) -> List:
        """A List at ``key`` ending with ``data`` (emptied first with ``clear=True``).

        One round trip (a transaction when clearing).
        """
        lst = cls(database, key)
        items = check_values(data)
        pipe = database.pipeline()
        if clear:
            pipe.delete(lst.key)
        if items:
            pipe.rpush(lst.key, *items)
        with lst._guard:
            pipe.execute()
        return lst


def _index(index: Any) -> int:
    if isinstance(index, bool) or not isinstance(index, int):
        raise InvalidType(f"list indices must be integers, not {type(index).__name__}")
    return index


# -- the Python twins of the list operations ------------------------------------------
def _normalize(call: Call, key: bytes, index: bytes) -> tuple[int, int]:
    n = int(call(b"LLEN", key))
    i = int(index)
    return n, i + n if i < 0 else i


@twin("list_pop_index")
def _pop_index_twin(call: Call, keys: list[bytes], args: list[bytes]) -> Any:
    n, i = _normalize(call, keys[0], args[0])
    if not 0 <= i < n:
        return None
    value = call(b"LINDEX", keys[0], str(i).encode())
    call(b"LSET", keys[0], str(i).encode(), args[1])
    call(b"LREM", keys[0], b"1", args[1])
    return value


@twin("list_insert")
def _insert_twin(call: Call, keys: list[bytes], args: list[bytes]) -> Any:
    n, i = _normalize(call, keys[0], args[0])
    if i <= 0:
        return call(b"LPUSH", keys[0], args[1])
    if i >= n:
        return call(b"RPUSH", keys[0], args[1])
    old = call(b"LINDEX", keys[0], str(i).encode())
    call(b"LSET", keys[0], str(i).encode(), args[2])
    call(b"LINSERT", keys[0], b"BEFORE", args[2], args[1])
    call(b"LSET", keys[0], str(i + 1).encode(), old)
    return n + 1


@twin("list_delete_slice")
def _delete_slice_twin(call: Call, keys: list[bytes], args: list[bytes]) -> Any:
    marker, *bounds = args
    n = int(call(b"LLEN", keys[0]))
    start, stop, step = (int(b) if b else None for b in bounds)
    indexes = range(*slice(start, stop, step).indices(n))
    for i in indexes:
        call(b"LSET", keys[0], str(i).encode(), marker)
    if indexes:
        call(b"LREM", keys[0], b"0", marker)
    return len(indexes)
