"""Array: a list with O(1) indexing, kept in a hash whose fields are the indexes.

The layout is walrus 0.9's (fields ``"0"`` .. ``"n-1"``), so arrays it wrote
can be read. Every change is a named atomic operation (Lua on servers,
Python twins elsewhere): O(1) append, get, set, len and pop of the last item;
O(N) removal from the middle. As in walrus 0.9, reading an index out of range
gives ``None``; unlike 0.9, iteration is in index order and writing, deleting
or popping out of range raises ``IndexError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from walrus.exceptions import InvalidType
from walrus.features.containers.base import (
    SCAN_COUNT,
    Container,
    check_value,
    check_values,
)
from walrus.scripts import Call, twin

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["Array"]

_FIRST_BATCH = 100  # items read with HLEN when iteration starts


def _index(index: Any) -> int:
    if isinstance(index, bool) or not isinstance(index, int):
        raise InvalidType(f"Array indices must be integers, not {type(index).__name__}")
    return index


class Array(Container):
    """An array of values in a Redis hash."""

    kind = "hash"

    # -- the named operations, typed -----------------------------------------------
    def _run(self, name: str, args: list[Any]) -> Any:
        with self._guard:
            return self.database.scripts.run(name, [self.key], args)

    # -- the sequence --------------------------------------------------------------
    def append(self, value: Any) -> int:
        """Add ``value`` at the end; the new length. O(1); one round trip."""
        return int(self._run("array_append", [0, check_value(value)]))

    def extend(self, values: Iterable[Any]) -> None:
        """Add ``values`` at the end, atomically. O(M); one trip, none if empty."""
        items = check_values(values)
        if items:
            self._run("array_append", [0, *items])

    def __getitem__(self, index: int) -> Any:
        """The item at ``index`` (negative from the end); ``None`` out of range,
        as in walrus 0.9. O(1); one round trip (HGET, or a named operation
        for a negative index, which needs the length)."""
        index = _index(index)
        if index >= 0:  # the fields are "0".."n-1": field i exists iff i < n
            with self._guard:
                return self.database.execute_command("HGET", self.key, str(index))
        return self._run("array_get", [index])

    def __setitem__(self, index: int, value: Any) -> None:
        """Replace the item at ``index`` (``IndexError`` out of range). O(1)."""
        if not self._run("array_set", [_index(index), check_value(value)]):
            raise IndexError("array assignment index out of range")

    def __delitem__(self, index: int) -> None:
        """Remove the item at ``index``: O(1) at the end, else O(N); one round trip."""
        self.pop(index)

    def pop(self, idx: int | None = None) -> Any:
        """Remove and return the item at ``idx`` (the last by default);
        ``IndexError`` out of range or empty. O(N - idx); one round trip."""
        value = self._run("array_pop", ["" if idx is None else _index(idx)])
        if value is None:
            raise IndexError("pop from empty array or index out of range")
        return value

    def __len__(self) -> int:
        """The number of items (HLEN). O(1); one round trip."""
        with self._guard:
            return self.database.hlen(self.key)

    def __contains__(self, item: Any) -> bool:
        """Whether some item equals ``item``. O(N); one round trip."""
        return bool(self._run("array_contains", [check_value(item)]))

    def __iter__(self) -> Iterator[Any]:
        """Every item in index order (HMGET: a first batch of 100 in the round
        trip that reads HLEN, then 10,000 per round trip)."""
        pipe = self.database.pipeline(transaction=False)
        pipe.hlen(self.key)
        pipe.hmget(self.key, [str(i) for i in range(_FIRST_BATCH)])
        with self._guard:
            length, batch = pipe.execute()
        yield from batch[:length]
        for start in range(_FIRST_BATCH, length, SCAN_COUNT):
            fields = [str(i) for i in range(start, min(start + SCAN_COUNT, length))]
            with self._guard:
                yield from self.database.hmget(self.key, fields)

    def as_list(self, decode: bool = False) -> list[Any]:
        """Every item in index order (HGETALL). O(N); one round trip."""
        with self._guard:
            data = self.database.hgetall(self.key)
        items = [v for _, v in sorted(data.items(), key=lambda fv: int(fv[0]))]
        return [self._decode(i) for i in items] if decode else items

    @classmethod
    def from_list(
        cls, database: Driver, key: Any, data: Iterable[Any], clear: bool = False
    ) -> Array:
        """An Array at ``key`` ending with ``data`` (emptied first with
        ``clear=True``). Atomic; one round trip."""
        array = cls(database, key)
        items = check_values(data)
        if clear or items:
            array._run("array_append", [int(clear), *items])
        return array


# -- the Python twins of the array operations ------------------------------------------
def _position(call: Call, key: bytes, index: bytes) -> tuple[int, int | None]:
    """The array's length and ``index`` made non-negative (None if out of range)."""
    n = int(call(b"HLEN", key))
    i = n - 1 if index == b"" else int(index)
    if i < 0:
        i += n
    return n, i if 0 <= i < n else None


@twin("array_append")
def _append_twin(call: Call, keys: list[bytes], args: list[bytes]) -> int:
    clear, *values = args
    if clear == b"1":
        call(b"DEL", keys[0])
    n = int(call(b"HLEN", keys[0]))
    for offset, value in enumerate(values):
        call(b"HSET", keys[0], str(n + offset).encode(), value)
    return n + len(values)


@twin("array_get")
def _get_twin(call: Call, keys: list[bytes], args: list[bytes]) -> Any:
    _, i = _position(call, keys[0], args[0])
    return None if i is None else call(b"HGET", keys[0], str(i).encode())


@twin("array_set")
def _set_twin(call: Call, keys: list[bytes], args: list[bytes]) -> int:
    _, i = _position(call, keys[0], args[0])
    if i is None:
        return 0
    call(b"HSET", keys[0], str(i).encode(), args[1])
    return 1


@twin("array_pop")
def _pop_twin(call: Call, keys: list[bytes], args: list[bytes]) -> Any:
    n, i = _position(call, keys[0], args[0])
    if i is None:
        return None
    value = call(b"HGET", keys[0], str(i).encode())
    for j in range(i + 1, n):
        moved = call(b"HGET", keys[0], str(j).encode())
        call(b"HSET", keys[0], str(j - 1).encode(), moved)
    call(b"HDEL", keys[0], str(n - 1).encode())
    return value


@twin("array_contains")
def _contains_twin(call: Call, keys: list[bytes], args: list[bytes]) -> int:
    return int(args[0] in call(b"HVALS", keys[0]))
