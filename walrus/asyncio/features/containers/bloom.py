"""Async twin of :mod:`walrus.features.containers.bloom`, generated from ``walrus/features/containers/bloom.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from redis.exceptions import ResponseError
import hashlib
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from walrus.exceptions import InvalidValue, UnsupportedOperation
from walrus.features.containers.base import check_value
from walrus.asyncio.features.containers.base import Container

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.containers.bloom import (
    DEFAULT_ERROR_RATE,
    DEFAULT_HASHES,
    DEFAULT_SIZE,
    _PERSON,
)

__all__ = ["BloomFilter"]


class BloomFilter(Container):
    """A Bloom filter in a Redis string.

    Sized by ``size`` in bytes (65,536 by default, 4 bit positions per item),
    or by ``capacity`` (items expected) and ``error_rate`` (the false-positive
    rate wanted at that capacity, 1% by default), which choose the optimal
    number of bits and positions.
    """

    kind = "string"

    def __init__(
        self,
        database: Driver,
        key: Any,
        size: int | None = None,
        capacity: int | None = None,
        error_rate: float | None = None,
    ) -> None:
        super().__init__(database, key)
        if capacity is None:
            if error_rate is not None:
                raise InvalidValue("error_rate needs a capacity")
            size = DEFAULT_SIZE if size is None else size
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise InvalidValue(
                    f"size must be a positive number of bytes, not {size!r}"
                )
            self.bits, self.hashes = (size * 8, DEFAULT_HASHES)
        else:
            if size is not None:
                raise InvalidValue("give a size or a capacity, not both")
            rate = DEFAULT_ERROR_RATE if error_rate is None else error_rate
            if not 0 < rate < 1:
                raise InvalidValue(f"error_rate must be between 0 and 1, not {rate!r}")
            if capacity < 1:
                raise InvalidValue(f"capacity must be positive, not {capacity!r}")
            self.bits = math.ceil(-capacity * math.log(rate) / math.log(2) ** 2)
            self.hashes = max(1, round(self.bits / capacity * math.log(2)))
        self.size = math.ceil(self.bits / 8)

    def positions(self, item: Any) -> list[int]:
        """The bit positions of ``item`` (no round trip)."""
        data = self.database.get_encoder().encode(check_value(item, "item"))
        digest = hashlib.blake2b(bytes(data), digest_size=16, person=_PERSON).digest()
        h1 = int.from_bytes(digest[:8], "little")
        h2 = int.from_bytes(digest[8:], "little") | 1
        return [(h1 + i * h2) % self.bits for i in range(self.hashes)]

    async def add(self, item: Any) -> bool:
        """Add ``item``; False if it was probably there already. One BITFIELD
        command (one round trip)."""
        return (await self.add_many([item]))[0]

    async def add_many(self, items: Iterable[Any]) -> list[bool]:
        """Add every item; for each, whether it was new. One BITFIELD command
        (``SET u1`` per position) for the whole batch: one round trip."""
        return [not all(bits) for bits in await self._run(True, items)]

    async def contains(self, item: Any) -> bool:
        """Whether ``item`` was probably added; False is certain. One BITFIELD
        command (one round trip)."""
        return (await self.contains_many([item]))[0]

    __contains__ = contains

    async def contains_many(self, items: Iterable[Any]) -> list[bool]:
        """:meth:`contains` for every item: one BITFIELD command (``GET u1``
        per position), one round trip."""
        return [all(bits) for bits in await self._run(False, items)]

    async def _run(self, write: bool, items: Iterable[Any]) -> list[list[int]]:
        """The bits at each item's positions (before setting them, if
        ``write``), grouped by item."""
        positions: list[int] = []
        for item in items:
            positions += self.positions(item)
        if not positions:
            return []
        word: list[Any] = ["SET", "u1", 0, 1] if write else ["GET", "u1", 0]
        args = word * len(positions)
        args[2 :: len(word)] = positions
        try:
            try:
                replies = await self.database.execute_command(
                    "BITFIELD", self.key, *args
                )
            except UnsupportedOperation:
                replies = await self._run_bitwise(write, positions)
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        k = self.hashes
        if len(replies) == k:
            return [replies]
        return [replies[i : i + k] for i in range(0, len(replies), k)]

    async def _run_bitwise(self, write: bool, positions: list[int]) -> list[int]:
        pipe = self.database.pipeline()
        for bit in positions:
            if write:
                pipe.setbit(self.key, bit, 1)
            else:
                pipe.getbit(self.key, bit)
        return list(await pipe.execute())
