"""The script libraries written in Python: struct, bit, and small helpers.

Each function is called from Lua through a wrapper in ``sandbox.lua`` and
answers ``(True, results...)`` or ``(False, message)``: it never raises (a
Python exception reaching Lua would hand the script a Python object). The
semantics are those of the libraries Redis 7.0 embeds (Roberto
Ierusalimschy's ``struct`` and LuaBitOp), re-implemented here from their
documented behaviour; numbers arrive as Python ``int``/``float`` (Lua 5.1 has
doubles only) and strings as ``bytes``.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct as _struct
from collections.abc import Callable
from typing import Any

__all__ = ["BIT", "STRUCT", "Rand48", "float_bytes", "read_float", "sha1hex"]

Result = tuple[Any, ...]

_U64 = (1 << 64) - 1
_MAX_INT_SIZE = 32  # the largest 'i'/'I' size struct accepts
_NATIVE_ALIGN = 8


def _type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, bytes):
        return "string"
    return "table" if type(value).__name__ == "_LuaTable" else "userdata"


def _number(value: Any) -> float | int | None:
    """A Lua number from a number or a numeric string (luaL_checknumber)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, bytes):
        try:
            return float(value.strip()) if value.strip() else None
        except ValueError:
            try:
                return (
                    int(value.strip(), 16)
                    if value.strip().lower().startswith((b"0x", b"-0x"))
                    else None
                )
            except ValueError:
                return None
    return None


class _Refused(Exception):
    """A library error: the message becomes the Lua error."""


def _guarded(fn: Callable[..., Result]) -> Callable[..., Result]:
    def call(*args: Any) -> Result:
        try:
            return (True, *fn(*args))
        except _Refused as refused:  # bytes: a Python str reaches Lua as an object
            return (False, str(refused).encode("utf-8", "replace"))
        except Exception as exc:  # never let a Python exception reach Lua
            message = f"internal error in the script library: {exc!r:.100}"
            return (False, message.encode("utf-8", "replace"))

    return call


def _bad(position: int, name: str, problem: str) -> _Refused:
    return _Refused(f"bad argument #{position} to '{name}' ({problem})")


def _check_number(
    args: tuple[Any, ...], index: int, name: str, none: str = "no value"
) -> float | int:
    value = args[index] if index < len(args) else None
    number = _number(value)
    if number is None:
        got = none if index >= len(args) else _type_name(value)
        raise _bad(index + 1, name, f"number expected, got {got}")
    return number


def _check_string(args: tuple[Any, ...], index: int, name: str) -> bytes:
    value = args[index] if index < len(args) else None
    if isinstance(value, bytes):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _lua_tostring(value)
    got = "no value" if index >= len(args) else _type_name(value)
    raise _bad(index + 1, name, f"string expected, got {got}")


def _lua_tostring(number: float | int) -> bytes:
    """A number as Lua 5.1's tostring writes it (``%.14g``)."""
    if isinstance(number, int):
        number = float(number)
    if math.isnan(number):
        return b"-nan" if math.copysign(1.0, number) < 0 else b"nan"
    if math.isinf(number):
        return b"inf" if number > 0 else b"-inf"
    return (b"%.14g" % number).replace(b"e+0", b"e+").replace(b"e-0", b"e-")


# -- bit (LuaBitOp) --------------------------------------------------------------
def _tobit(value: float | int) -> int:
    """Normalize to a signed 32-bit integer, as LuaBitOp does (rounding)."""
    shifted = _struct.pack("<d", float(value) + 6755399441055744.0)
    low = int.from_bytes(shifted[:4], "little")
    return low - (1 << 32) if low & 0x80000000 else low


def _signed(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _bit_args(name: str, args: tuple[Any, ...], count: int | None) -> list[int]:
    needed = 1 if count is None else count
    values = [_tobit(_check_number(args, i, name)) for i in range(needed)]
    if count is None:
        values += [_tobit(_check_number(args, i, name)) for i in range(1, len(args))]
    return values


def _fold(name: str, op: Callable[[int, int], int]) -> Callable[..., Result]:
    def run(*args: Any) -> Result:
        values = _bit_args(name, args, None)
        result = values[0]
        for value in values[1:]:
            result = op(result, value)
        return (_signed(result),)

    return run


def _shift(name: str, op: Callable[[int, int], int]) -> Callable[..., Result]:
    def run(*args: Any) -> Result:
        value, count = _bit_args(name, args, 2)
        return (_signed(op(value & 0xFFFFFFFF, count & 31)),)

    return run


def _tohex(*args: Any) -> Result:
    value = _tobit(_check_number(args, 0, "tohex"))
    digits = (
        8
        if len(args) < 2 or args[1] is None
        else int(_tobit(_check_number(args, 1, "tohex")))
    )
    upper = digits < 0
    digits = min(abs(digits), 8)
    text = format(value & 0xFFFFFFFF, "08X" if upper else "08x")
    return (text[8 - digits :].encode(),)


def _bswap(*args: Any) -> Result:
    (value,) = _bit_args("bswap", args, 1)
    swapped = int.from_bytes((value & 0xFFFFFFFF).to_bytes(4, "little"), "big")
    return (_signed(swapped),)


BIT: dict[str, Callable[..., Result]] = {
    name: _guarded(fn)
    for name, fn in {
        "tobit": lambda *a: (_bit_args("tobit", a, 1)[0],),
        "bnot": lambda *a: (_signed(~_bit_args("bnot", a, 1)[0]),),
        "band": _fold("band", lambda x, y: x & y),
        "bor": _fold("bor", lambda x, y: x | y),
        "bxor": _fold("bxor", lambda x, y: x ^ y),
        "lshift": _shift("lshift", lambda x, n: x << n),
        "rshift": _shift("rshift", lambda x, n: x >> n),
        "arshift": _shift("arshift", lambda x, n: _signed(x) >> n),
        "rol": _shift("rol", lambda x, n: (x << n) | (x >> (32 - n))),
        "ror": _shift("ror", lambda x, n: (x >> n) | (x << (32 - n))),
        "tohex": _tohex,
        "bswap": _bswap,
    }.items()
}


# -- struct ----------------------------------------------------------------------
class _Format:
    """Walks a struct format string: endianness, alignment, items."""

    def __init__(self, fmt: bytes, name: str) -> None:
        self.fmt, self.at, self.name = fmt, 0, name
        self.little = True  # native (x86-64): little endian
        self.align = 1

    def _number(self, default: int) -> int:
        start = self.at
        while self.at < len(self.fmt) and 48 <= self.fmt[self.at] <= 57:
            self.at += 1
            if self.at - start > 9:
                raise _Refused("number too large in format")
        return int(self.fmt[start : self.at]) if self.at > start else default

    def items(self) -> Any:
        """Yield (option, size) for each item, handling the settings."""
        while self.at < len(self.fmt):
            option = chr(self.fmt[self.at])
            self.at += 1
            if option == " ":
                continue
            if option in "<>=":
                self.little = option != ">"
                continue
            if option == "!":
                align = self._number(_NATIVE_ALIGN)
                if align & (align - 1):
                    raise _Refused(f"alignment {align} is not a power of 2")
                self.align = align
                continue
            yield option, self._size(option)

    def _size(self, option: str) -> int:
        fixed = {
            "x": 1,
            "b": 1,
            "B": 1,
            "h": 2,
            "H": 2,
            "l": 8,
            "L": 8,
            "T": 8,
            "f": 4,
            "d": 8,
            "s": 0,
        }
        if option in fixed:
            return fixed[option]
        if option in "iI":
            size = self._number(4)
            if size > _MAX_INT_SIZE:
                raise _Refused(
                    f"integral size {size} is larger than limit of {_MAX_INT_SIZE}"
                )
            return size
        if option == "c":
            return self._number(1)
        raise _bad(1, self.name, f"invalid format option '{option}'")

    def padding(self, length: int, option: str, size: int) -> int:
        if size == 0 or option == "c":
            return 0
        size = min(size, self.align)
        return (size - (length & (size - 1))) & (size - 1)


def _to_unsigned64(number: float | int) -> int:
    """A double as C converts it to an unsigned 64-bit integer (x86-64)."""
    if isinstance(number, float) and not math.isfinite(number):
        return 1 << 63
    if number < 0:
        return (int(number) if number >= -(2**63) else -(2**63)) & _U64
    return int(number) if number < 2**64 else 0


def _pack_integer(number: float | int, size: int, little: bool) -> bytes:
    value = _to_unsigned64(number)
    data = bytes((value >> (8 * i)) & 0xFF if i < 8 else 0 for i in range(size))
    return data if little else data[::-1]


def _unpack_integer(data: bytes, little: bool, signed: bool) -> float | int:
    value = int.from_bytes(data, "little" if little else "big") & _U64
    if signed:
        mask = (_U64 << ((len(data) * 8 - 1) % 64)) & _U64
        if value & mask:
            value |= mask
        return value - (1 << 64) if value >> 63 else value
    return value if value < 2**53 else float(value)


def _float(number: float | int, size: int, little: bool) -> bytes:
    return _struct.pack(
        ("<" if little else ">") + ("f" if size == 4 else "d"),
        _c_float(number) if size == 4 else float(number),
    )


def _c_float(number: float | int) -> float:
    """A double cast to float as C does (overflow gives an infinity)."""
    try:
        _struct.pack("<f", number)
        return float(number)
    except OverflowError:
        return math.copysign(math.inf, number)


def _struct_pack(*args: Any) -> Result:
    fmt = _check_string(args, 0, "pack")
    spec = _Format(fmt, "pack")
    out = bytearray()
    arg = 1
    for option, size in spec.items():
        out += b"\0" * spec.padding(len(out), option, size)
        if option == "x":
            out += b"\0"
            continue
        if option in "cs":
            text = _check_string(args, arg, "pack")
            if option == "c" and size == 0:
                size = len(text)
            if option == "c" and len(text) < size:
                raise _bad(arg + 2, "pack", "string too short")
            out += text[:size] if option == "c" else text + b"\0"
        elif option in "fd":
            out += _float(_check_number(args, arg, "pack", "nil"), size, spec.little)
        else:
            number = _check_number(args, arg, "pack", "nil")
            out += _pack_integer(number, size, spec.little)
        arg += 1
    return (bytes(out),)


def _struct_unpack(*args: Any) -> Result:
    fmt = _check_string(args, 0, "unpack")
    data = _check_string(args, 1, "unpack")
    init = (
        _check_number(args, 2, "unpack") if len(args) > 2 and args[2] is not None else 1
    )
    if int(init) == 0:
        raise _bad(3, "unpack", "offset must be 1 or greater")
    if init < 0:
        raise _bad(2, "unpack", "data string too short")
    pos = int(init) - 1
    spec = _Format(fmt, "unpack")
    values: list[Any] = []
    for option, size in spec.items():
        pos += spec.padding(pos, option, size)
        if option == "c" and size == 0:
            if not values or not isinstance(values[-1], (int, float)):
                raise _Refused("format 'c0' needs a previous size")
            size = int(values.pop())
            if size < 0:
                raise _bad(2, "unpack", "data string too short")
        if option == "s":
            end = data.find(b"\0", pos)
            if end < 0:
                raise _Refused("unfinished string in data")
            values.append(data[pos:end])
            pos = end + 1
            continue
        if pos + size > len(data):
            raise _bad(2, "unpack", "data string too short")
        chunk = data[pos : pos + size]
        pos += size
        if option == "x":
            continue
        if option == "c":
            values.append(chunk)
        elif option in "fd":
            value = _struct.unpack(("<" if spec.little else ">") + option, chunk)[0]
            values.append(value)
        else:
            values.append(_unpack_integer(chunk, spec.little, option in "bhil"))
    return (*values, pos + 1)


def _struct_size(*args: Any) -> Result:
    fmt = _check_string(args, 0, "size")
    spec = _Format(fmt, "size")
    total = 0
    for option, size in spec.items():
        if option == "s" or (option == "c" and size == 0):
            shown = "s" if option == "s" else "c0"
            raise _bad(1, "size", f"option '{shown}' has no fixed size")
        total += spec.padding(total, option, size) + size
    return (total,)


STRUCT: dict[str, Callable[..., Result]] = {
    "pack": _guarded(_struct_pack),
    "unpack": _guarded(_struct_unpack),
    "size": _guarded(_struct_size),
}


# -- helpers ---------------------------------------------------------------------
def sha1hex(data: bytes) -> bytes:
    """redis.sha1hex: the SHA1 of a string, in hex."""
    return hashlib.sha1(data).hexdigest().encode()


def float_bytes(number: float | int) -> bytes:
    """A non-integral number in MessagePack: a float32 when exact, else float64."""
    single = _c_float(number)
    if (
        single == number
        and _struct.unpack(">f", _struct.pack(">f", single))[0] == number
    ):
        return b"\xca" + _struct.pack(">f", single)
    return b"\xcb" + _struct.pack(">d", float(number))


def read_float(data: bytes, size: int) -> float:
    """A MessagePack float32 or float64."""
    return float(_struct.unpack(">f" if size == 4 else ">d", data)[0])


class Rand48:
    """math.random's generator as Redis has it (rand48, like drand48)."""

    def __init__(self) -> None:
        self.state = int.from_bytes(os.urandom(6), "big")

    def seed(self, value: float | int) -> None:
        self.state = ((int(value) & 0xFFFFFFFF) << 16) | 0x330E

    def next(self) -> float:
        self.state = (0x5DEECE66D * self.state + 0xB) & ((1 << 48) - 1)
        drawn = self.state >> 17
        return (drawn % 2147483647) / 2147483647
