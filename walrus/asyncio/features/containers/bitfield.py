"""Async twin of :mod:`walrus.features.containers.bitfield`, generated from ``walrus/features/containers/bitfield.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from redis.exceptions import ResponseError
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from walrus.exceptions import InvalidType, InvalidValue
from walrus.asyncio.features.containers.base import Container

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.containers.bitfield import (
    _OVERFLOW,
    _format,
    _integer,
    _offset,
    _slice_field,
)

__all__ = ["BitField", "BitFieldOperation"]


class BitFieldOperation:
    """Operations queued for one BITFIELD command; ``execute()`` runs them."""

    def __init__(self, database: Driver, key: Any) -> None:
        self.database = database
        self.key = key
        self.operations: list[list[Any]] = []

    def get(self, fmt: str, offset: Any) -> BitFieldOperation:
        """Queue a read of the ``fmt`` field at bit ``offset``."""
        self.operations.append(["GET", _format(fmt), _offset(offset)])
        return self

    def set(self, fmt: str, offset: Any, value: int) -> BitFieldOperation:
        """Queue a write of ``value`` (the reply is the old value)."""
        self.operations.append(["SET", _format(fmt), _offset(offset), _integer(value)])
        return self

    def incrby(
        self, fmt: str, offset: Any, increment: int, overflow: str | None = None
    ) -> BitFieldOperation:
        """Queue an increment; ``overflow`` (WRAP, SAT or FAIL) applies from here on.

        With FAIL, an overflowing increment does nothing and replies None.
        """
        if overflow is not None:
            if overflow.upper() not in _OVERFLOW:
                raise InvalidValue(
                    f"overflow must be one of {_OVERFLOW}, not {overflow!r}"
                )
            self.operations.append(["OVERFLOW", overflow.upper()])
        self.operations.append(
            ["INCRBY", _format(fmt), _offset(offset), _integer(increment)]
        )
        return self

    async def execute(self) -> list[int | None]:
        """Run the queued operations as one BITFIELD command; one reply each.

        Atomic; one round trip. The queue is emptied.
        """
        args = [a for op in self.operations for a in op]
        self.operations = []
        if not args:
            return []
        try:
            return list(
                await self.database.execute_command("BITFIELD", self.key, *args)
            )
        except ResponseError as _reply:
            await BitField(self.database, self.key)._guard.reraise(_reply)
            raise

    async def __aiter__(self) -> AsyncIterator[int | None]:
        """Execute, then iterate over the replies."""
        for _item in await self.execute():
            yield _item


class BitField(Container):
    """A Redis string used as a bitmap (BITFIELD, GETBIT, SETBIT, BITCOUNT)."""

    kind = "string"

    def _operation(self) -> BitFieldOperation:
        return BitFieldOperation(self.database, self.key)

    def get(self, fmt: str, offset: Any) -> BitFieldOperation:
        """A new BITFIELD builder starting with a read (see BitFieldOperation)."""
        return self._operation().get(fmt, offset)

    def set(self, fmt: str, offset: Any, value: int) -> BitFieldOperation:
        """A new BITFIELD builder starting with a write."""
        return self._operation().set(fmt, offset, value)

    def incrby(
        self, fmt: str, offset: Any, increment: int, overflow: str | None = None
    ) -> BitFieldOperation:
        """A new BITFIELD builder starting with an increment."""
        return self._operation().incrby(fmt, offset, increment, overflow)

    async def __getitem__(self, item: slice) -> int:
        """The bits ``[start:stop]`` as an unsigned int (BITFIELD GET). One trip."""
        fmt, offset = _slice_field(item)
        value = (await self.get(fmt, offset).execute())[0]
        return int(value or 0)

    async def setitem(self, item: slice, value: int) -> None:
        """Write ``value`` into the bits ``[start:stop]`` (BITFIELD SET);
        ``ValueError`` if it does not fit. One round trip."""
        fmt, offset = _slice_field(item)
        width = int(fmt[1:])
        if not 0 <= _integer(value) < 1 << width:
            raise InvalidValue(f"{value} does not fit in {width} unsigned bits")
        await self.set(fmt, offset, value).execute()

    async def delitem(self, item: slice) -> None:
        """Clear the bits ``[start:stop]`` (BITFIELD SET 0). One round trip."""
        fmt, offset = _slice_field(item)
        await self.set(fmt, offset, 0).execute()

    async def get_bit(self, offset: int) -> int:
        """The bit at ``offset`` (GETBIT). O(1); one round trip."""
        try:
            return int(await self.database.getbit(self.key, _integer(offset)))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def set_bit(self, offset: int, value: int) -> int:
        """Set the bit at ``offset`` (SETBIT); the old bit. O(1); one round trip."""
        try:
            return int(
                await self.database.setbit(self.key, _integer(offset), int(bool(value)))
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def bit_count(self, start: int | None = None, end: int | None = None) -> int:
        """The number of set bits, within bytes ``start``..``end`` if given
        (BITCOUNT). O(N); one round trip."""
        try:
            return int(await self.database.bitcount(self.key, start, end))
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise

    async def get_raw(self) -> bytes | None:
        """The whole string as bytes, in either reply mode (GET). One round trip."""
        try:
            value = await self.database.execute_command(
                "GET", self.key, **self.database.bytes_replies
            )
        except ResponseError as _reply:
            await self._guard.reraise(_reply)
            raise
        return None if value is None else bytes(value)

    async def set_raw(self, value: bytes | str) -> None:
        """Replace the whole string (SET). O(N); one round trip."""
        if not isinstance(value, (bytes, str)):
            raise InvalidType(f"set_raw takes bytes or str, not {type(value).__name__}")
        await self.database.set(self.key, value)
