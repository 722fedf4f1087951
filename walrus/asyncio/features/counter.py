"""Async twin of :mod:`walrus.features.counter`, generated from ``walrus/features/counter.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.counter import _amount

__all__ = ["Counter"]


class Counter:
    """An atomic integer counter stored in the key ``name``."""

    def __init__(self, database: Driver, name: str) -> None:
        self.database = database
        self.name = name
        self.key = database.keyspace(name)

    async def incr(self, n: int = 1) -> int:
        """Add ``n``; return the new value. O(1); one round trip (INCRBY)."""
        value: int = await self.database.execute_command("INCRBY", self.key, _amount(n))
        return value

    async def decr(self, n: int = 1) -> int:
        """Subtract ``n``; return the new value. O(1); one round trip (INCRBY)."""
        value: int = await self.database.execute_command(
            "INCRBY", self.key, -_amount(n)
        )
        return value

    async def value(self) -> int:
        """The current value (0 if never set). O(1); one round trip (GET)."""
        return int(await self.database.get(self.key) or 0)

    async def _compare(self, other: object, op: Callable[[int, int], bool]) -> bool:
        if isinstance(other, Counter):
            other = other.value()
        elif not isinstance(other, int) or isinstance(other, bool):
            return NotImplemented
        return bool(op(await self.value(), other))

    __hash__ = None

    def __repr__(self) -> str:
        return f"<Counter {self.name!r}>"
