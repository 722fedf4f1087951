"""Async twin of :mod:`walrus.features.containers`, generated from ``walrus/features/containers/__init__.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from typing import TYPE_CHECKING, Any, cast
from walrus.exceptions import InvalidValue
from walrus.asyncio.features.containers.array import Array
from walrus.asyncio.features.containers.base import Container
from walrus.asyncio.features.containers.bitfield import BitField, BitFieldOperation
from walrus.asyncio.features.containers.bloom import BloomFilter
from walrus.asyncio.features.containers.hash import Hash
from walrus.asyncio.features.containers.hyperloglog import HyperLogLog
from walrus.asyncio.features.containers.list import List
from walrus.asyncio.features.containers.set import Set
from walrus.asyncio.features.containers.stream import Stream
from walrus.asyncio.features.containers.zset import ZSet

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
__all__ = [
    "Array",
    "BitField",
    "BitFieldOperation",
    "BloomFilter",
    "Container",
    "ContainerFactories",
    "Hash",
    "HyperLogLog",
    "List",
    "Set",
    "Stream",
    "ZSet",
    "container_for_type",
]
_BY_TYPE: dict[str, type[Container]] = {
    "hash": Hash,
    "list": List,
    "set": Set,
    "stream": Stream,
    "zset": ZSet,
}


async def container_for_type(database: Any, key: Any, kind: str) -> Any:
    """The container for ``key`` of Redis type ``kind`` (a string: its value)."""
    if kind in _BY_TYPE:
        return _BY_TYPE[kind](database, key)
    if kind == "string":
        return await database.get(key)
    raise InvalidValue(f"key {key!r} holds a {kind}, which walrus has no container for")


class ContainerFactories:
    """The container factories of a walrus database (``db.Hash(key)`` ...).

    The capitalized method names are walrus 0.9's.
    """

    def _driver(self) -> Driver:
        return cast("Driver", self)

    def Hash(self, key: Any) -> Hash:
        """A :class:`Hash` on ``key``."""
        return Hash(self._driver(), key)

    def List(self, key: Any) -> List:
        """A :class:`List` on ``key``."""
        return List(self._driver(), key)

    def Set(self, key: Any) -> Set:
        """A :class:`Set` on ``key``."""
        return Set(self._driver(), key)

    def ZSet(self, key: Any) -> ZSet:
        """A :class:`ZSet` on ``key``."""
        return ZSet(self._driver(), key)

    def Stream(self, key: Any) -> Stream:
        """A :class:`Stream` on ``key`` (every backend but ledisdb has streams)."""
        return Stream(self._driver(), key)

    def HyperLogLog(self, key: Any) -> HyperLogLog:
        """A :class:`HyperLogLog` on ``key``."""
        return HyperLogLog(self._driver(), key)

    def Array(self, key: Any) -> Array:
        """An :class:`Array` on ``key``."""
        return Array(self._driver(), key)

    def bit_field(self, key: Any) -> BitField:
        """A :class:`BitField` on ``key``."""
        return BitField(self._driver(), key)

    def bloom_filter(
        self,
        key: Any,
        size: int | None = None,
        capacity: int | None = None,
        error_rate: float | None = None,
    ) -> BloomFilter:
        """A :class:`BloomFilter` on ``key``: ``size`` bytes (65,536 by default),
        or sized for ``capacity`` items at ``error_rate`` false positives."""
        return BloomFilter(
            self._driver(), key, size=size, capacity=capacity, error_rate=error_rate
        )
