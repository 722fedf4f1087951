"""Counter: an integer in one key, changed atomically by INCRBY.

Creating a counter writes nothing, so it never overwrites a concurrent
increment; a missing key counts as 0. ``+=`` and ``-=`` change the stored
value; ``+`` and ``-`` only read it and return a plain ``int`` (walrus 0.9
changed the counter in place for them).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from walrus.exceptions import InvalidType

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["Counter"]


def _amount(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidType(f"a counter changes by an int, not {type(n).__name__}")
    return n


class Counter:
    """An atomic integer counter stored in the key ``name``."""

    def __init__(self, database: Driver, name: str) -> None:
        self.database = database
        self.name = name
        self.key = database.keyspace(name)

    def incr(self, n: int = 1) -> int:
        """Add ``n``; return the new value. O(1); one round trip (INCRBY)."""
        value: int = self.database.execute_command("INCRBY", self.key, _amount(n))
        return value

    def decr(self, n: int = 1) -> int:
        """Subtract ``n``; return the new value. O(1); one round trip (INCRBY)."""
        value: int = self.database.execute_command("INCRBY", self.key, -_amount(n))
        return value

    def value(self) -> int:
        """The current value (0 if never set). O(1); one round trip (GET)."""
        return int(self.database.get(self.key) or 0)

    def __int__(self) -> int:
        return self.value()

    def __index__(self) -> int:
        return self.value()

    def __iadd__(self, n: int) -> Counter:
        self.incr(n)
        return self

    def __isub__(self, n: int) -> Counter:
        self.decr(n)
        return self

    def __add__(self, n: int) -> int:
        return self.value() + _amount(n)

    def __radd__(self, n: int) -> int:
        return _amount(n) + self.value()

    def __sub__(self, n: int) -> int:
        return self.value() - _amount(n)

    def __rsub__(self, n: int) -> int:
        return _amount(n) - self.value()

    def _compare(self, other: object, op: Callable[[int, int], bool]) -> bool:
        if isinstance(other, Counter):
            other = other.value()
        elif not isinstance(other, int) or isinstance(other, bool):
            return NotImplemented  # type: ignore[no-any-return]
        return bool(op(self.value(), other))

    def __eq__(self, other: object) -> bool:
        return self._compare(other, operator.eq)

    def __ne__(self, other: object) -> bool:
        return self._compare(other, operator.ne)

    def __lt__(self, other: object) -> bool:
        return self._compare(other, operator.lt)

    def __le__(self, other: object) -> bool:
        return self._compare(other, operator.le)

    def __gt__(self, other: object) -> bool:
        return self._compare(other, operator.gt)

    def __ge__(self, other: object) -> bool:
        return self._compare(other, operator.ge)

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable

    def __repr__(self) -> str:
        return f"<Counter {self.name!r}>"
