"""BloomFilter: set membership with false positives but no false negatives.

The filter is a Redis string of ``bits`` bits. An item's ``hashes`` bit
positions come from one BLAKE2b digest of its bytes (encoded as redis-py
encodes values): with ``h1`` and ``h2`` the digest's two little-endian 64-bit
halves (``h2`` made odd), position ``i`` is ``(h1 + i * h2) mod bits``. Bits are
numbered as SETBIT numbers them. This format is fixed: a filter must always be
opened with the same size (or capacity and error rate).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from walrus.exceptions import InvalidValue
from walrus.features.containers.base import Container, check_value

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["BloomFilter"]

DEFAULT_SIZE = 65536  # bytes, as walrus 0.9
DEFAULT_HASHES = 4  # bit positions per item when sized by bytes
DEFAULT_ERROR_RATE = 0.01
_PERSON = b"walrus-bloom"  # BLAKE2b personalization: part of the stored format


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
            self.bits, self.hashes = size * 8, DEFAULT_HASHES
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
        self.size = math.ceil(self.bits / 8)  # bytes

    def positions(self, item: Any) -> list[int]:
        """The bit positions of ``item`` (no round trip)."""
        data = self.database.get_encoder().encode(check_value(item, "item"))
        digest = hashlib.blake2b(bytes(data), digest_size=16, person=_PERSON).digest()
        h1 = int.from_bytes(digest[:8], "little")
        h2 = int.from_bytes(digest[8:], "little") | 1
        return [(h1 + i * h2) % self.bits for i in range(self.hashes)]

    def add(self, item: Any) -> bool:
        """Add ``item`` (SETBIT per position); False if it was probably
        there already. One round trip."""
        return self.add_many([item])[0]

    def add_many(self, items: Iterable[Any]) -> list[bool]:
        """Add every item (SETBIT per position); for each, whether it was new.

        One round trip for the whole batch.
        """
        positions = [self.positions(i) for i in items]
        replies = self._run("setbit", positions)
        return [not all(r) for r in replies]

    def contains(self, item: Any) -> bool:
        """Whether ``item`` was probably added; False is certain (GETBIT per
        position). One round trip."""
        return self.contains_many([item])[0]

    __contains__ = contains

    def contains_many(self, items: Iterable[Any]) -> list[bool]:
        """:meth:`contains` for every item. One round trip for the whole batch."""
        return [all(r) for r in self._run("getbit", [self.positions(i) for i in items])]

    def _run(self, command: str, positions: list[list[int]]) -> list[list[int]]:
        pipe = self.database.pipeline()  # MULTI: one commit on file engines
        for bits in positions:
            for bit in bits:
                if command == "setbit":
                    pipe.setbit(self.key, bit, 1)
                else:
                    pipe.getbit(self.key, bit)
        with self._guard:
            replies = pipe.execute() if positions else []
        k = self.hashes
        return [replies[i * k : (i + 1) * k] for i in range(len(positions))]
