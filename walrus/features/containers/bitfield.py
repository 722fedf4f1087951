"""BitField: a string as a bitmap with random access, through BITFIELD.

``bf.set('u8', 0, 255).get('u4', 4).execute()`` builds one BITFIELD command
(one round trip, atomic); slices read and write unsigned fields by bit offset
(``bf[4:8]``), up to 63 bits wide (BITFIELD's widest unsigned field).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from walrus.exceptions import InvalidType, InvalidValue
from walrus.features.containers.base import Container

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["BitField", "BitFieldOperation"]

_FORMAT = re.compile(r"^([ui])(\d+)$")
_OVERFLOW = ("WRAP", "SAT", "FAIL")
MAX_SLICE_BITS = 63


def _format(fmt: str) -> str:
    match = _FORMAT.match(fmt) if isinstance(fmt, str) else None
    if match is None:
        raise InvalidValue(f"bit field format {fmt!r} is not like 'u8' or 'i16'")
    sign, bits = match.group(1), int(match.group(2))
    if not 1 <= bits <= (64 if sign == "i" else 63):
        raise InvalidValue(f"bit field format {fmt!r}: u1..u63 or i1..i64")
    return fmt


def _offset(offset: Any) -> int | str:
    if isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0:
        return offset
    if isinstance(offset, str) and offset.startswith("#") and offset[1:].isdigit():
        return offset
    raise InvalidValue(f"bit offset {offset!r} must be an int >= 0 or '#<n>'")


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidType(
            f"a bit field value must be an int, not {type(value).__name__}"
        )
    return value


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

    def execute(self) -> list[int | None]:
        """Run the queued operations as one BITFIELD command; one reply each.

        Atomic; one round trip. The queue is emptied.
        """
        args = [a for op in self.operations for a in op]
        self.operations = []
        if not args:
            return []
        with BitField(self.database, self.key)._guard:
            return list(self.database.execute_command("BITFIELD", self.key, *args))

    def __iter__(self) -> Iterator[int | None]:
        """Execute, then iterate over the replies."""
        return iter(self.execute())


def _slice_field(item: Any) -> tuple[str, int]:
    """The BITFIELD format and offset a bit slice ``[start:stop]`` stands for."""
    if not isinstance(item, slice):
        # ValueError as in walrus 0.9
        raise InvalidValue(
            f"a BitField is subscripted with a slice of bit offsets, not {item!r}"
        )
    if item.step is not None:
        raise InvalidValue("BitField slices take no step")
    start = 0 if item.start is None else _integer(item.start)
    if item.stop is None:
        raise InvalidValue("a BitField slice needs an end offset")
    width = _integer(item.stop) - start
    if start < 0 or width <= 0:
        raise InvalidValue(f"bit slice [{item.start}:{item.stop}] is empty or negative")
    if width > MAX_SLICE_BITS:
        raise InvalidValue(
            f"bit slice [{start}:{item.stop}] is {width} bits wide; "
            f"BitField slices read unsigned fields of at most {MAX_SLICE_BITS} bits"
        )
    return f"u{width}", start


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

    def __getitem__(self, item: slice) -> int:
        """The bits ``[start:stop]`` as an unsigned int (BITFIELD GET). One trip."""
        fmt, offset = _slice_field(item)
        value = self.get(fmt, offset).execute()[0]
        return int(value or 0)

    def __setitem__(self, item: slice, value: int) -> None:
        """Write ``value`` into the bits ``[start:stop]`` (BITFIELD SET);
        ``ValueError`` if it does not fit. One round trip."""
        fmt, offset = _slice_field(item)
        width = int(fmt[1:])
        if not 0 <= _integer(value) < 1 << width:
            raise InvalidValue(f"{value} does not fit in {width} unsigned bits")
        self.set(fmt, offset, value).execute()

    def __delitem__(self, item: slice) -> None:
        """Clear the bits ``[start:stop]`` (BITFIELD SET 0). One round trip."""
        fmt, offset = _slice_field(item)
        self.set(fmt, offset, 0).execute()

    def get_bit(self, offset: int) -> int:
        """The bit at ``offset`` (GETBIT). O(1); one round trip."""
        with self._guard:
            return int(self.database.getbit(self.key, _integer(offset)))

    def set_bit(self, offset: int, value: int) -> int:
        """Set the bit at ``offset`` (SETBIT); the old bit. O(1); one round trip."""
        with self._guard:
            return int(
                self.database.setbit(self.key, _integer(offset), int(bool(value)))
            )

    def bit_count(self, start: int | None = None, end: int | None = None) -> int:
        """The number of set bits, within bytes ``start``..``end`` if given
        (BITCOUNT). O(N); one round trip."""
        with self._guard:
            return int(self.database.bitcount(self.key, start, end))

    def get_raw(self) -> bytes | None:
        """The whole string as bytes, in either reply mode (GET). One round trip."""
        with self._guard:
            value = self.database.execute_command(
                "GET", self.key, **self.database.bytes_replies
            )
        return None if value is None else bytes(value)

    def set_raw(self, value: bytes | str) -> None:
        """Replace the whole string (SET). O(N); one round trip."""
        if not isinstance(value, (bytes, str)):
            raise InvalidType(f"set_raw takes bytes or str, not {type(value).__name__}")
        self.database.set(self.key, value)
