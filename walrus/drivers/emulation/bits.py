"""Bit and byte-range commands on strings: GETBIT ... BITFIELD, GETRANGE, SETRANGE.

Bits are numbered from the most significant bit of the first byte, as in
Redis. Each command costs O(bytes touched) plus a copy of the string when it
writes (strings are immutable values here).
"""

from __future__ import annotations

import re

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation.engine import (
    SYNTAX,
    EmulationEngine,
    Refused,
    command,
    to_int,
)
from walrus.drivers.emulation.strings import MAX_STRING, get_string

Args = list[bytes]
BAD_OFFSET = "ERR bit offset is not an integer or out of range"
MAX_BIT = 2**32 - 1


def _bit_offset(raw: bytes) -> int:
    offset = to_int(raw, BAD_OFFSET)
    if not 0 <= offset <= MAX_BIT:
        raise Refused(BAD_OFFSET)
    return offset


def read_bits(data: bytes | bytearray, offset: int, width: int) -> int:
    """The unsigned value of ``width`` bits at bit ``offset`` (zeros past the end)."""
    first, last = offset // 8, (offset + width - 1) // 8
    chunk = data[first : last + 1].ljust(last - first + 1, b"\0")
    value = int.from_bytes(chunk, "big")
    return (value >> ((last + 1) * 8 - offset - width)) & ((1 << width) - 1)


def write_bits(data: bytearray, offset: int, width: int, value: int) -> None:
    """Store the low ``width`` bits of ``value`` at bit ``offset``, growing ``data``."""
    first, last = offset // 8, (offset + width - 1) // 8
    if len(data) <= last:
        data.extend(bytes(last + 1 - len(data)))
    shift = (last + 1) * 8 - offset - width
    mask = ((1 << width) - 1) << shift
    current = int.from_bytes(data[first : last + 1], "big")
    current = (current & ~mask) | ((value << shift) & mask)
    data[first : last + 1] = current.to_bytes(last - first + 1, "big")


def _store(db: EmulationEngine, key: bytes, data: bytes | bytearray) -> None:
    db.set_string(key, bytes(data), keep_ttl=True)


@command("GETBIT", 3)
def getbit(db: EmulationEngine, args: Args) -> Reply:
    offset = _bit_offset(args[2])
    return read_bits(get_string(db, args[1]) or b"", offset, 1)


@command("SETBIT", 4)
def setbit(db: EmulationEngine, args: Args) -> Reply:
    offset = _bit_offset(args[2])
    if args[3] not in (b"0", b"1"):
        raise Refused("ERR bit is not an integer or out of range")
    current = get_string(db, args[1])
    data = bytearray(current or b"")
    old = read_bits(data, offset, 1)
    if current is None or offset // 8 >= len(data) or old != int(args[3]):
        write_bits(data, offset, 1, int(args[3]))  # a write that changes nothing
        _store(db, args[1], data)  # is none (WATCH stays intact)
    return old


def redis_range(start: int, end: int, size: int) -> tuple[int, int] | None:
    """Redis's inclusive byte/bit range (negatives from the end) as ``[lo, hi)``.

    ``None`` when the range is empty.
    """
    if start < 0 and end < 0 and start > end:
        return None
    start = max(0, start + size if start < 0 else start)
    end = max(0, end + size if end < 0 else end)
    end = min(end, size - 1)
    return None if start > end else (start, end + 1)


def _bit_span(args: Args, first: int, length: int) -> tuple[int, int] | None:
    """BITCOUNT/BITPOS ``start [end [BYTE|BIT]]`` as a bit range ``[lo, hi)``,
    parsed in Redis 7.0's order (BITCOUNT: start, end, unit; BITPOS: start,
    unit, end)."""
    if len(args) > first + 3:
        raise Refused(SYNTAX)
    start = to_int(args[first])
    if args[0].upper() == b"BITCOUNT":
        end = to_int(args[first + 1])
    unit = args[first + 2].upper() if len(args) > first + 2 else b"BYTE"
    if unit not in (b"BIT", b"BYTE"):
        raise Refused(SYNTAX)
    if args[0].upper() != b"BITCOUNT":
        end = to_int(args[first + 1]) if len(args) > first + 1 else -1
    scale = 1 if unit == b"BIT" else 8
    span = redis_range(start, end, length * 8 // scale)
    return None if span is None else (span[0] * scale, span[1] * scale)


def count_bits(data: bytes, lo: int, hi: int) -> int:
    """Set bits in the bit range ``[lo, hi)``. O(bytes)."""
    first, last = -(-lo // 8), hi // 8
    if first >= last:
        return sum(read_bits(data, i, 1) for i in range(lo, hi))
    edges = sum(
        read_bits(data, i, 1) for i in (*range(lo, first * 8), *range(last * 8, hi))
    )
    return edges + int.from_bytes(data[first:last], "big").bit_count()


@command("BITCOUNT", -2)
def bitcount(db: EmulationEngine, args: Args) -> Reply:
    """Redis 7.0's order: a missing key counts 0 and a key of another type is
    WRONGTYPE before the range is parsed (Redis 7.2 parses it first)."""
    data = get_string(db, args[1])
    if data is None:
        return 0
    if len(args) == 3:
        raise Refused(SYNTAX)
    span = (0, len(data) * 8) if len(args) == 2 else _bit_span(args, 2, len(data))
    return 0 if span is None else count_bits(data, *span)


@command("BITPOS", -3)
def bitpos(db: EmulationEngine, args: Args) -> Reply:
    """The first bit set to 0 or 1 in a range. O(bytes). Redis 7.0's order:
    the bit, then the key (missing: an endless run of 0 bits, before the
    range is parsed), then the range."""
    if to_int(args[2]) not in (0, 1):
        raise Refused("ERR The bit argument must be 1 or 0.")
    bit = int(args[2])
    data = get_string(db, args[1])
    if data is None:
        return -1 if bit else 0
    span = (0, len(data) * 8) if len(args) == 3 else _bit_span(args, 3, len(data))
    if span is None or not data:  # an empty string has no bit to find
        return -1
    lo, hi = span
    skip = 0 if bit else 0xFF
    i = lo
    while i < hi:
        if i % 8 == 0 and i + 8 <= hi and data[i // 8] == skip:
            i += 8
            continue
        if read_bits(data, i, 1) == bit:
            return i
        i += 1
    return hi if bit == 0 and len(args) <= 4 else -1


@command("BITOP", -4)
def bitop(db: EmulationEngine, args: Args) -> Reply:
    operation = args[1].upper()
    if operation not in (b"AND", b"OR", b"XOR", b"NOT"):
        raise Refused(SYNTAX)
    if operation == b"NOT" and len(args) != 4:
        raise Refused("ERR BITOP NOT must be called with a single source key.")
    sources = [get_string(db, key) or b"" for key in args[3:]]
    if operation == b"NOT":
        result = bytes(~b & 0xFF for b in sources[0])
    else:
        width = max(map(len, sources))
        numbers = [int.from_bytes(s.ljust(width, b"\0"), "big") for s in sources]
        total = numbers[0]
        for number in numbers[1:]:
            if operation == b"AND":
                total &= number
            elif operation == b"OR":
                total |= number
            else:
                total ^= number
        result = total.to_bytes(width, "big")
    if result:
        db.replace(args[2], "string", result)
    else:
        db.delete(args[2])
    return len(result)


@command("GETRANGE", 4)
@command("SUBSTR", 4)
def getrange(db: EmulationEngine, args: Args) -> Reply:
    start, end = to_int(args[2]), to_int(args[3])
    data = get_string(db, args[1]) or b""
    span = redis_range(start, end, len(data))
    return b"" if span is None else data[span[0] : span[1]]


@command("SETRANGE", 4)
def setrange(db: EmulationEngine, args: Args) -> Reply:
    offset = to_int(args[2])
    if offset < 0:
        raise Refused("ERR offset is out of range")
    current = get_string(db, args[1])
    if not args[3]:
        return len(current or b"")
    if offset + len(args[3]) > MAX_STRING:
        raise Refused("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    data = bytearray(current or b"")
    if len(data) < offset:
        data.extend(bytes(offset - len(data)))
    data[offset : offset + len(args[3])] = args[3]
    _store(db, args[1], data)
    return len(data)


# -- BITFIELD ---------------------------------------------------------------------
_TYPE = re.compile(rb"([iu])([1-9][0-9]*)")  # lowercase, as Redis wants it
BAD_TYPE = (
    "ERR Invalid bitfield type. Use something like i16 u8. "
    "Note that u64 is not supported but i64 is."
)


def _field_type(raw: bytes) -> tuple[bool, int]:
    match = _TYPE.fullmatch(raw)
    if not match:
        raise Refused(BAD_TYPE)
    signed, width = match.group(1) == b"i", int(match.group(2))
    if not 1 <= width <= (64 if signed else 63):
        raise Refused(BAD_TYPE)
    return signed, width


def _field_offset(raw: bytes, width: int) -> int:
    if raw.startswith(b"#"):
        offset = to_int(raw[1:], BAD_OFFSET) * width
    else:
        offset = to_int(raw, BAD_OFFSET)
    if not 0 <= offset <= MAX_BIT:
        raise Refused(BAD_OFFSET)
    return offset


def _fit(value: int, signed: bool, width: int, overflow: bytes) -> int | None:
    """``value`` brought into the type's range by the OVERFLOW mode (None: FAIL)."""
    low, high = (
        (-(1 << (width - 1)), (1 << (width - 1)) - 1)
        if signed
        else (0, (1 << width) - 1)
    )
    if low <= value <= high:
        return value
    if overflow == b"FAIL":
        return None
    if overflow == b"SAT":
        return high if value > high else low
    wrapped = value & ((1 << width) - 1)
    return wrapped - (1 << width) if signed and wrapped > high else wrapped


def _signed(raw: int, signed: bool, width: int) -> int:
    return raw - (1 << width) if signed and raw >> (width - 1) else raw


Operation = tuple[bytes, bool, int, int, int, bytes]


def parse_bitfield(args: Args) -> list[Operation]:
    """BITFIELD's subcommands, every argument checked in Redis's order
    (before the key is read)."""
    operations: list[Operation] = []
    overflow = b"WRAP"
    i = 2
    while i < len(args):
        op = args[i].upper()
        if op == b"OVERFLOW" and i + 1 < len(args):
            overflow = args[i + 1].upper()
            if overflow not in (b"WRAP", b"SAT", b"FAIL"):
                raise Refused("ERR Invalid OVERFLOW type specified")
            i += 2
            continue
        arity = 3 if op == b"GET" else 4
        if op not in (b"GET", b"SET", b"INCRBY") or i + arity > len(args):
            raise Refused(SYNTAX)
        signed, width = _field_type(args[i + 1])
        offset = _field_offset(args[i + 2], width)
        number = to_int(args[i + 3]) if arity == 4 else 0
        operations.append((op, signed, width, offset, number, overflow))
        i += arity
    if args[0].upper() == b"BITFIELD_RO" and any(o[0] != b"GET" for o in operations):
        raise Refused("ERR BITFIELD_RO only supports the GET subcommand")
    return operations


def apply_bitfield(
    operations: list[Operation], current: bytes | None
) -> tuple[Reply, bytes | None]:
    """Run parsed BITFIELD subcommands on the string ``current`` (None: no key).

    Returns the reply and the new string, or None when nothing was written.
    """
    data = bytearray(current or b"")
    writes = [
        (offset + width + 7) // 8
        for op, _, width, offset, _, _ in operations
        if op != b"GET"
    ]
    wrote = bool(writes) and (current is None or max(writes) > len(data))
    if wrote:  # like Redis, a writing BITFIELD creates or grows the string first
        data.extend(bytes(max(0, max(writes) - len(data))))
    replies: list[int | None] = []
    for op, signed, width, offset, number, mode in operations:
        old = _signed(read_bits(data, offset, width), signed, width)
        if op == b"GET":
            replies.append(old)
            continue
        if op == b"INCRBY":
            new = _fit(old + number, signed, width, mode)
        else:  # an unsigned field takes the value as a 64-bit unsigned, as Redis
            new = _fit(number if signed else number % 2**64, signed, width, mode)
        if new is not None:
            write_bits(data, offset, width, new & ((1 << width) - 1))
            wrote = True
        replies.append(old if op == b"SET" and new is not None else new)
    return replies, bytes(data) if wrote else None


@command("BITFIELD", -2)
@command("BITFIELD_RO", -2)
def bitfield(db: EmulationEngine, args: Args) -> Reply:
    """GET/SET/INCRBY on integer fields with OVERFLOW WRAP|SAT|FAIL."""
    operations = parse_bitfield(args)
    replies, data = apply_bitfield(operations, get_string(db, args[1]))
    if data is not None:
        _store(db, args[1], data)
    return replies
