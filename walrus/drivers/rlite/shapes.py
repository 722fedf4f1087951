"""Which argument shapes rlite answers natively as Redis does.

rlite parses numbers its own way: it takes malformed integers (``''``,
``' 1'``, ``1.5``) as 0 or a "syntax error", lets offsets and counts reach
sizes Redis refuses (a 512 MB string from ``SETRANGE k 536870912 ''``, bit
offsets of 2**32 and more), stores a subnormal score as garbage, keeps a key
whose expiry time is already past, and misreads an exclusive infinite score
bound. So the rlite driver sends a hot command natively only when its
arguments have a plain shape (canonical integers well inside 64 bits, finite
normal scores, a future deadline); any other shape runs in the emulation
engine, whose parsing is Redis's (:mod:`walrus.drivers.rlite.emulated`).

Each check costs a few bytes methods per numeric argument. No regular
expression: a match allocates over 1 KB with malloc, which makes glibc
consolidate the small blocks rlite's last command freed, and the next rlite
command (LINDEX walking a list, ZRANGE) then runs up to twice as slow.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from walrus.drivers.embedded.types import Command

__all__ = [
    "CONDITIONS",
    "SMALLEST_NORMAL",
    "TTL_SOURCES",
    "may_expire",
    "may_give_a_ttl",
]

Condition = Callable[[Command], bool]  # True: this use needs the emulation

SMALLEST_NORMAL = 2.2250738585072014e-308  # rlite garbles nonzero scores below it
_INFINITIES = frozenset((b"inf", b"+inf", b"-inf"))
_ZADD_FLAGS = frozenset(b"NX XX GT LT CH INCR".split())
_UNITS = frozenset((b"BIT", b"BYTE"))
_MAX_BIT = 2**32  # bit offsets Redis refuses from here (512 MB)
_MAX_STRING = 512 * 1024 * 1024
_MAX_TTL_MS = 2**62  # a TTL beyond this overflows Redis's millisecond deadline


def plain_int(raw: bytes) -> bool:
    """A canonical integer below 10**18 in magnitude (``0|-?[1-9][0-9]{0,17}``):
    rlite reads it as Redis does, and no sum of two of them overflows 64 bits."""
    digits = raw[1:] if raw[:1] == b"-" else raw
    return (
        digits.isdigit()  # ASCII digits only, and not empty
        and len(digits) <= 18
        and (digits[0] != 48 or raw == b"0")  # no leading 0, no -0
    )


def _decimal(raw: bytes) -> bool:
    """``[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]{1,3})?``: a number
    in the notation both rlite and Redis read the same way."""
    if raw[:1] in (b"+", b"-"):
        raw = raw[1:]
    mantissa, marked, exponent = raw.replace(b"E", b"e").partition(b"e")
    if marked:
        if exponent[:1] in (b"+", b"-"):
            exponent = exponent[1:]
        if not (exponent.isdigit() and len(exponent) <= 3):
            return False
    whole, point, fraction = mantissa.partition(b".")
    if whole.isdigit():
        return not point or not fraction or fraction.isdigit()
    return not whole and bool(point) and fraction.isdigit()


def plain_score(raw: bytes) -> bool:
    """A finite score rlite stores exactly (0 or a normal double; not -0,
    which an increment's reply shows)."""
    if not _decimal(raw):
        return False
    value = abs(float(raw))
    return (value == 0 and raw[:1] != b"-") or SMALLEST_NORMAL <= value < math.inf


def _plain_bound(raw: bytes) -> bool:
    """A score bound rlite reads as Redis: a plain score, inclusive or
    exclusive, or an inclusive infinity."""
    if raw.lower() in _INFINITIES:
        return True
    return plain_score(raw[1:] if raw.startswith(b"(") else raw)


def _ints(first: int, second: int | None = None) -> Condition:
    """Emulate unless the arguments at ``first`` and ``second`` (when
    present) are plain."""

    def needs(args: Command) -> bool:
        count = len(args)
        if first < count and not plain_int(args[first]):
            return True
        return second is not None and second < count and not plain_int(args[second])

    return needs


_RANKS = _ints(2, 3)  # start and end (LRANGE, ZRANGE, GETRANGE, BITCOUNT ...)
_BIT_RANGE = _ints(3, 4)  # BITPOS's start and end


def _score_range(args: Command) -> bool:
    """ZRANGEBYSCORE-style: plain bounds, and a LIMIT of plain integers."""
    if len(args) < 4 or not (_plain_bound(args[2]) and _plain_bound(args[3])):
        return True
    words = [a.upper() for a in args[4:]]
    if b"LIMIT" in words:
        at = 4 + words.index(b"LIMIT")
        return _ints(at + 1, at + 2)(args)
    return False


def _bit_offset(args: Command) -> bool:
    return not _bit(args[2])


def _setrange(args: Command) -> bool:
    """An empty value (Redis answers the length, writes nothing), a bad or
    too large offset (Redis refuses a string over 512 MB)."""
    if len(args) != 4 or not args[3] or not plain_int(args[2]):
        return True
    return not 0 <= int(args[2]) <= _MAX_STRING - len(args[3])


def _bitpos(args: Command) -> bool:
    if not 3 <= len(args) <= 5:
        return True
    return args[2] not in (b"0", b"1") or _BIT_RANGE(args)


def _bitcount(args: Command) -> bool:
    return len(args) not in (2, 4) or _RANKS(args)


def _bitfield(args: Command) -> bool:
    """Emulate BITFIELD unless every subcommand is a single bit read
    (``GET u1 N``) or set to 0 or 1 (``SET u1 N 0|1``, not in BITFIELD_RO)
    at a plain offset below 2**32: what GETBIT and SETBIT do alike."""
    count, at = len(args), 2
    writes = args[0].upper() != b"BITFIELD_RO"
    if count < 5:
        return True
    while at < count:
        word = args[at].upper()
        end = at + (3 if word == b"GET" else 4)
        if end > count or args[at + 1] != b"u1" or not _bit(args[at + 2]):
            return True
        if word != b"GET" and (
            word != b"SET" or not writes or args[at + 3] not in (b"0", b"1")
        ):
            return True
        at = end
    return False


def _bit(raw: bytes) -> bool:
    """A plain bit offset below 2**32 (as GETBIT and SETBIT take)."""
    return (
        raw.isdigit()
        and (raw[0] != 48 or len(raw) == 1)
        and (len(raw) < 10 or (len(raw) == 10 and int(raw) < _MAX_BIT))
    )


def _zadd(args: Command) -> bool:
    if len(args) < 4 or args[2].upper() in _ZADD_FLAGS or len(args) % 2:
        return True
    return not all(plain_score(score) for score in args[2::2])


def _positive(raw: bytes, scale: int) -> bool:
    """Whether a TTL argument is one rlite and Redis accept alike."""
    return plain_int(raw) and 0 < int(raw) * scale < _MAX_TTL_MS


_TTL_SCALES = {b"EX": 1000, b"PX": 1}  # SET's TTL options: milliseconds per unit


def _set(args: Command) -> bool:
    """SET with EXAT/PXAT, options Redis refuses together (NX XX, KEEPTTL and
    EX/PX), or an EX/PX rlite would take where Redis refuses it."""
    if len(args) == 5:  # the usual option, EX or PX alone: decided at once
        scale = _TTL_SCALES.get(args[3].upper())
        if scale is not None:
            return not _positive(args[4], scale)
    words = [a.upper() for a in args[3:]]
    if b"EXAT" in words or b"PXAT" in words or {b"NX", b"XX"} <= set(words):
        return True
    if b"KEEPTTL" in words and (b"EX" in words or b"PX" in words):
        return True
    for word, scale in ((b"EX", 1000), (b"PX", 1)):
        if word in words:
            at = words.index(word) + 1
            if at >= len(words) or not _positive(args[3 + at], scale):
                return True
    return False


def _expire(scale: int, deadline: bool) -> Condition:
    """EXPIRE-family with a flag, or a time rlite would not expire at once
    when Redis does (0, negative, past) or would overflow."""

    def needs(args: Command) -> bool:
        if len(args) != 3 or not plain_int(args[2]):
            return True
        ms = int(args[2]) * scale
        if deadline:
            ms -= time.time_ns() // 1_000_000
        return not 0 < ms < _MAX_TTL_MS

    return needs


def _lex_bound(raw: bytes) -> bool:
    return raw in (b"-", b"+") or raw[:1] in (b"[", b"(")


def _lex(args: Command) -> bool:
    """A lex range rlite answers wrongly: LIMIT, a malformed bound, or an
    inverted infinite bound (``+`` as the minimum)."""
    if len(args) != 4:
        return True
    low, high = (args[2], args[3])
    if args[0].upper().startswith(b"ZREV"):
        low, high = high, low
    return not (_lex_bound(low) and _lex_bound(high)) or low == b"+" or high == b"-"


def _zrange(args: Command) -> bool:
    if len(args) > 5 or (len(args) == 5 and args[4].upper() != b"WITHSCORES"):
        return True
    return _RANKS(args)


# Uses of native commands that need the emulation: an option rlite lacks, or
# a value rlite takes (or answers wrongly) where Redis refuses it.
CONDITIONS: dict[bytes, Condition] = {
    b"ZADD": _zadd,
    b"ZINCRBY": lambda args: len(args) != 4 or not plain_score(args[2]),
    b"BITCOUNT": lambda args: (
        any(a.upper() in _UNITS for a in args[2:]) or _bitcount(args)
    ),
    b"BITPOS": lambda args: any(a.upper() in _UNITS for a in args[2:]) or _bitpos(args),
    b"GETBIT": lambda args: len(args) != 3 or _bit_offset(args),
    b"SETBIT": lambda args: (
        len(args) != 4 or _bit_offset(args) or args[3] not in (b"0", b"1")
    ),
    b"SETRANGE": _setrange,
    b"BITFIELD": _bitfield,
    b"BITFIELD_RO": _bitfield,
    b"GETRANGE": _RANKS,
    b"INCRBY": _ints(2),
    b"DECRBY": _ints(2),
    b"HINCRBY": _ints(3),
    b"LRANGE": _RANKS,
    b"LINDEX": _ints(2),
    b"LSET": _ints(2),
    b"LTRIM": _RANKS,
    b"LREM": _ints(2),
    b"SETEX": lambda args: len(args) != 4 or not _positive(args[2], 1000),
    b"PSETEX": lambda args: len(args) != 4 or not _positive(args[2], 1),
    b"SET": _set,
    b"EXPIRE": _expire(1000, deadline=False),
    b"PEXPIRE": _expire(1, deadline=False),
    b"EXPIREAT": _expire(1000, deadline=True),
    b"PEXPIREAT": _expire(1, deadline=True),
    b"ZRANGE": _zrange,
    b"ZREVRANGE": _zrange,
    b"ZREMRANGEBYRANK": _RANKS,
    b"ZRANGEBYSCORE": _score_range,
    b"ZREVRANGEBYSCORE": _score_range,
    b"ZREMRANGEBYSCORE": lambda args: len(args) != 4 or _score_range(args),
    b"ZCOUNT": lambda args: len(args) != 4 or _score_range(args),
    b"ZRANGEBYLEX": _lex,
    b"ZREVRANGEBYLEX": _lex,
    b"LPOP": lambda args: len(args) != 2,  # a count
    b"RPOP": lambda args: len(args) != 2,
    b"SPOP": lambda args: len(args) != 2,
    b"ZPOPMIN": lambda args: len(args) != 2,
    b"ZPOPMAX": lambda args: len(args) != 2,
}


# The commands that can give a key a TTL in rlite (RENAME, MOVE and COPY
# carry one a key already had); SET only with options.
TTL_SOURCES = frozenset(
    b"SET SETEX PSETEX EXPIRE PEXPIRE EXPIREAT PEXPIREAT RESTORE".split()
)


def may_expire(args: Command) -> bool:
    """Whether sending ``args`` can give a key a TTL (see TTL_SOURCES)."""
    name = args[0].upper()
    return name in TTL_SOURCES and (name != b"SET" or len(args) > 3)


# After these a key may have a TTL it had not: they carry one from another
# key (or, SELECT, switch to other keys).
_CARRY_TTL = frozenset(b"RENAME RENAMENX MOVE COPY SWAPDB SELECT".split())


def may_give_a_ttl(args: Command) -> bool:
    """Whether after ``args`` a key rlite had without a TTL may have one."""
    return may_expire(args) or args[0].upper() in _CARRY_TTL
