"""What rlite lacks or would crash on, filled in by the rlite driver.

rlite answers most Redis commands natively (engines.md §2.3). This module
holds, per command name, a *gap*: a Python function that produces Redis's
reply from commands rlite does have (multi-key EXISTS, multi-pair HSET,
ZPOPMIN ...; KEYS, DBSIZE and the SCAN family are in
:mod:`walrus.drivers.rlite.scan_gaps`), and :func:`run_guarded`, which keeps
raw Lua (a native crash trigger, engines.md §2.2) away from the
engine. SORT, another (a numeric sort of an empty string, GET with STORE), is
emulated (:mod:`walrus.drivers.rlite.emulated`). Gaps run with
the database lock held, so each is atomic among the process's threads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.emulation.engine import INT64_MAX, INT64_MIN, NOT_INT

if TYPE_CHECKING:
    from walrus.drivers.rlite.scan_gaps import CursorTable

__all__ = [
    "GAPS",
    "MAGIC",
    "TYPE_CHECKS",
    "is_stream",
    "run_guarded",
]

# The end of every stream's value (walrus.drivers.rlite.streams keeps streams
# in rlite strings): string commands on a stream key answer WRONGTYPE.
MAGIC = b"\x00walrus-stream\x00"
_INT = re.compile(rb"0|-?[1-9][0-9]{0,18}")


def stored_int(raw: bytes) -> int | None:
    """A stored value as Redis reads an integer (no sign on 0, no leading 0,
    64 bits), or None."""
    if _INT.fullmatch(raw) is None:
        return None
    value = int(raw)
    return value if INT64_MIN <= value <= INT64_MAX else None


class RawEngine(Protocol):
    cursors: CursorTable
    selected: int  # the numbered database rlite has selected
    expiring: bool  # a key may have a TTL (always, on a file)

    def raw(
        self, args: Command, check: tuple[bytes, int, int] | None = None
    ) -> Reply: ...

    def raw_many(self, commands: list[Command]) -> list[Reply]: ...

    def pttl_before_write(self, key: bytes) -> Reply: ...

    def integer_of(self, key: bytes) -> int | None: ...

    def incremented(self, key: bytes, value: int) -> None: ...

    def known_keys(self) -> frozenset[bytes] | None: ...

    def listed_without_ttl(self, keys: list[bytes]) -> None: ...


Gap = Callable[[RawEngine, Command], Reply]
GAPS: dict[bytes, Gap] = {}


def gap(*names: str) -> Callable[[Gap], Gap]:
    def register(fn: Gap) -> Gap:
        for name in names:
            GAPS[name.encode()] = fn
        return fn

    return register


def arity_error(name: str) -> ErrorReply:
    return ErrorReply(f"ERR wrong number of arguments for '{name.lower()}' command")


SYNTAX = ErrorReply("ERR syntax error")


@gap("EXISTS", "TOUCH")
def _exists(engine: RawEngine, args: Command) -> Reply:
    if len(args) < 2:
        return arity_error(args[0].decode())
    return sum(engine.raw([b"EXISTS", k]) == 1 for k in args[1:])


def _missing_is_zero(engine: RawEngine, args: Command) -> Reply:
    """rlite errors ("unknown retval") on some removals from a missing key."""
    if len(args) >= 3 and engine.raw([b"EXISTS", args[1]]) == 0:
        return 0
    return engine.raw(args)


for _name in (b"SREM", b"ZREM", b"HDEL"):
    GAPS[_name] = _missing_is_zero


def emptied(reply: Reply) -> bool:
    """rlite reports "unknown retval" when a command empties (deletes) a list."""
    return isinstance(reply, ErrorReply) and "unknown retval" in reply.message


@gap("LREM")
def _lrem(engine: RawEngine, args: Command) -> Reply:
    if len(args) != 4:
        return arity_error("lrem")
    before = engine.raw([b"LLEN", args[1]])
    if before == 0:
        return 0
    reply = engine.raw(args)
    return before if emptied(reply) else reply


@gap("LTRIM")
def _ltrim(engine: RawEngine, args: Command) -> Reply:
    reply = engine.raw(args)
    return b"OK" if emptied(reply) else reply


WRONGTYPE = ErrorReply(
    "WRONGTYPE Operation against a key holding the wrong kind of value"
)


def _type_checked(kind: bytes, first: int, last: int | None = None) -> Gap:
    """A command that must refuse keys of another type, as Redis does.

    rlite skips the check in set algebra (a wrong result) and in the ZRANGE
    family (a native crash, found by the differential tests). The keys'
    TYPE and the command go to rlite in one native call (``raw``'s check).
    """

    def checked(engine: RawEngine, args: Command) -> Reply:
        return engine.raw(args, (kind, first, len(args) if last is None else last))

    return checked


# name -> (type, first key, end of the keys or None for the last argument);
# ZRANGEBYSCORE and ZREVRANGEBYSCORE check in their own gap (collection_gaps)
TYPE_CHECKS: dict[bytes, tuple[bytes, int, int | None]] = {
    b"SUNION": (b"set", 1, None),
    b"SDIFF": (b"set", 1, None),
    **{
        name: (b"zset", 1, 2)
        for name in (
            b"ZRANGE",
            b"ZREVRANGE",
            b"ZRANGEBYLEX",
            b"ZREVRANGEBYLEX",
        )
    },
}
for _name, _check in TYPE_CHECKS.items():
    GAPS[_name] = _type_checked(*_check)


@gap("INCR", "DECR", "INCRBY", "DECRBY")
def _incr(engine: RawEngine, args: Command) -> Reply:
    """INCR/DECR family: rlite crashes natively on an empty string, reads a
    value with a NUL byte (or a stream's encoding) as a number and does not
    check overflow; so the value is checked first, as Redis checks it (the
    increment's shape was checked by the routing), with a GET unless the
    engine knows the value (on a file: ``integer_of``)."""
    name = args[0].upper()
    if len(args) != (2 if name in (b"INCR", b"DECR") else 3):
        return arity_error(name.decode())
    step = 1 if len(args) == 2 else int(args[2])
    if name.startswith(b"DECR"):
        step = -step
    known = engine.integer_of(args[1])  # what this engine's last INCR of it left
    if known is None or not INT64_MIN <= known + step <= INT64_MAX:
        current = engine.raw([b"GET", args[1]])
        if isinstance(current, ErrorReply):
            return current
        value = 0 if current is None else stored_int(current)
        if value is None:
            return WRONGTYPE if current.endswith(MAGIC) else ErrorReply(NOT_INT)
        if not INT64_MIN <= value + step <= INT64_MAX:
            return ErrorReply("ERR increment or decrement would overflow")
    reply = run_guarded(engine, args)
    if type(reply) is int:
        engine.incremented(args[1], reply)
    return reply


@gap("HINCRBY")
def _hincrby(engine: RawEngine, args: Command) -> Reply:
    """rlite reads a field holding ``01``, ``-0``, ``''`` or a NUL byte as a
    number; Redis refuses it (the increment's shape was checked by the
    routing; rlite checks overflow itself)."""
    if len(args) != 4:
        return arity_error("hincrby")
    current = engine.raw([b"HGET", args[1], args[2]])
    if isinstance(current, ErrorReply):
        return current
    if current is not None and stored_int(current) is None:
        return ErrorReply("ERR hash value is not an integer")
    return run_guarded(engine, args)


def is_stream(engine: RawEngine, key: bytes) -> bool:
    """Whether the string at ``key`` holds a stream (reads its last bytes)."""
    tail = engine.raw([b"GETRANGE", key, str(-len(MAGIC)).encode(), b"-1"])
    return bool(tail == MAGIC)


@gap("RENAME", "RENAMENX")
def _rename(engine: RawEngine, args: Command) -> Reply:
    """rlite answers "unknown retval 3" for a missing source and for a key
    renamed to itself; Redis: "no such key", and OK (RENAMENX: 0)."""
    if len(args) != 3:
        return arity_error(args[0].decode())
    if engine.raw([b"EXISTS", args[1]]) != 1:
        return ErrorReply("ERR no such key")
    if args[1] == args[2]:
        return 0 if args[0].upper() == b"RENAMENX" else b"OK"
    return run_guarded(engine, args)


@gap("LSET")
def _lset(engine: RawEngine, args: Command) -> Reply:
    """rlite capitalizes "No such key"."""
    reply = run_guarded(engine, args)
    if isinstance(reply, ErrorReply) and reply.message == "ERR No such key":
        return ErrorReply("ERR no such key")
    return reply


@gap("GETRANGE")
def _getrange(engine: RawEngine, args: Command) -> Reply:
    """rlite answers nil for a missing key; Redis an empty string."""
    reply = run_guarded(engine, args)
    return b"" if reply is None else reply


@gap("ZINCRBY")
def _zincrby(engine: RawEngine, args: Command) -> Reply:
    """rlite answers 0 to an increment of 0; the new score is what Redis answers."""
    reply = _type_checked(b"zset", 1, 2)(engine, args)
    if isinstance(reply, ErrorReply) or len(args) != 4:
        return reply
    return engine.raw([b"ZSCORE", args[1], args[3]])


@gap("MSETNX")
def _msetnx(engine: RawEngine, args: Command) -> Reply:
    """rlite answers an error (after setting the first value) when a key repeats."""
    if len(args) < 3 or len(args) % 2 == 0:
        return arity_error("msetnx")
    if any(engine.raw([b"EXISTS", key]) == 1 for key in set(args[1::2])):
        return 0
    engine.raw([b"MSET", *args[1:]])
    return 1


@gap("LINSERT")
def _linsert(engine: RawEngine, args: Command) -> Reply:
    """rlite answers -1 for a missing key (Redis: 0) and takes any word for
    BEFORE|AFTER (Redis: a syntax error)."""
    if len(args) != 5:
        return arity_error("linsert")
    if args[2].upper() not in (b"BEFORE", b"AFTER"):
        return SYNTAX
    if engine.raw([b"EXISTS", args[1]]) == 0:
        return 0
    return run_guarded(engine, args)


@gap("UNLINK")
def _unlink(engine: RawEngine, args: Command) -> Reply:
    return engine.raw([b"DEL", *args[1:]])


@gap("GETDEL")
def _getdel(engine: RawEngine, args: Command) -> Reply:
    if len(args) != 2:
        return arity_error("getdel")
    value = engine.raw([b"GET", args[1]])
    if value is not None and not isinstance(value, ErrorReply):
        if value.endswith(MAGIC):
            return WRONGTYPE
        engine.raw([b"DEL", args[1]])
    return value


@gap("SET")
def _set(engine: RawEngine, args: Command) -> Reply:
    """SET with the options rlite lacks, GET and KEEPTTL (EXAT and PXAT are
    emulated); GET of a stream is WRONGTYPE, as in Redis."""
    if len(args) == 3 or (
        len(args) == 5 and args[3].upper() in (b"EX", b"PX") and args[4].isdigit()
    ):
        return engine.raw(args)  # no option, or EX/PX alone (the usual ones)
    words = [a.upper() for a in args[3:]]
    if b"GET" not in words and b"KEEPTTL" not in words:
        return engine.raw(args)
    key, plain = args[1], [args[0], args[1], args[2]]
    keep_ttl, want_old, i = False, False, 3
    while i < len(args):
        word = words[i - 3]
        if word == b"GET":
            want_old = True
        elif word == b"KEEPTTL":
            keep_ttl = True
        else:
            plain.append(args[i])
            if word in (b"EX", b"PX") and i + 1 < len(args):
                plain.append(args[i + 1])
                i += 1
        i += 1
    old: Reply = None
    if want_old:
        old = engine.raw([b"GET", key])
        if isinstance(old, ErrorReply):
            return old
        if old is not None and old.endswith(MAGIC):
            return WRONGTYPE
    ttl = engine.raw([b"PTTL", key]) if keep_ttl and engine.expiring else -1
    reply = engine.raw(plain)
    if isinstance(reply, ErrorReply):
        return reply
    if keep_ttl and reply is not None and isinstance(ttl, int) and ttl > 0:
        engine.raw([b"PEXPIRE", key, str(ttl).encode()])
    return old if want_old else reply


def _zpop(reverse: bool) -> Gap:
    """ZPOPMIN/ZPOPMAX without a count (a count is emulated): rlite has none."""

    def zpop(engine: RawEngine, args: Command) -> Reply:
        if len(args) != 2:
            return arity_error("zpopmax" if reverse else "zpopmin")
        if engine.raw([b"TYPE", args[1]]) not in (b"none", b"zset"):
            return WRONGTYPE
        read = b"ZREVRANGE" if reverse else b"ZRANGE"
        items = engine.raw([read, args[1], b"0", b"0", b"WITHSCORES"])
        if isinstance(items, ErrorReply) or not items:
            return items
        engine.raw([b"ZREM", args[1], *items[::2]])
        return items

    return zpop


GAPS[b"ZPOPMIN"] = _zpop(reverse=False)
GAPS[b"ZPOPMAX"] = _zpop(reverse=True)


# -- guards against native crashes -------------------------------------------------
# rlite drops a key's TTL when these change it; Redis keeps it (found by the
# differential tests; engines.md does not list it).
KEEPS_TTL = {
    name: positions
    for positions, names in (
        (
            (1,),
            "APPEND HSET HMSET HDEL HINCRBY HINCRBYFLOAT HSETNX LPUSH RPUSH LPUSHX "
            "RPUSHX LPOP RPOP SADD SREM SPOP ZADD ZINCRBY ZREM ZREMRANGEBYRANK "
            "ZREMRANGEBYSCORE ZREMRANGEBYLEX PFADD",
        ),
        ((1, 2), "SMOVE RPOPLPUSH LMOVE"),
    )
    for name in names.encode().split()
}


def send(engine: RawEngine, args: Command) -> Reply:
    """Run a command through its gap, if it has one, else guarded; keep TTLs
    (while a key of the engine may have one)."""
    name = args[0].upper()
    fill = GAPS.get(name)
    positions = KEEPS_TTL.get(name)
    if positions is None or len(args) <= max(positions) or not engine.expiring:
        return fill(engine, args) if fill is not None else run_guarded(engine, args)
    keys = {args[i] for i in positions}
    ttls = {k: engine.pttl_before_write(k) for k in keys}
    reply = fill(engine, args) if fill is not None else run_guarded(engine, args)
    for key, ttl in ttls.items():
        if isinstance(ttl, int) and ttl > 0 and engine.raw([b"PTTL", key]) == -1:
            engine.raw([b"PEXPIRE", key, str(ttl).encode()])
    return reply


def run_guarded(engine: RawEngine, args: Command) -> Reply:
    """Send a command rlite has, unless it is one that crashes rlite natively."""
    name = args[0].upper()
    if name in (b"EVAL", b"EVALSHA", b"EVAL_RO", b"EVALSHA_RO", b"SCRIPT"):
        # raw Lua can crash rlite: scripts run on walrus.drivers.lua.scripting
        return ErrorReply(f"ERR {name.decode()} cannot run here (inside MULTI)")
    return engine.raw(args)


def in_multi(engine: RawEngine, commands: list[Command]) -> Reply:
    """Run ``commands`` in one rlite MULTI/EXEC (no gap ever runs inside
    one: see the rlite driver's execute_many); their replies, or the first
    error reply (a key of another type: nothing was written)."""
    opened = engine.raw([b"MULTI"])
    if isinstance(opened, ErrorReply):
        return opened
    *queued, replies = engine.raw_many([*commands, [b"EXEC"]])
    if not isinstance(replies, list):  # EXECABORT: a command refused when queued
        return next((q for q in queued if isinstance(q, ErrorReply)), replies)
    errors = [reply for reply in replies if isinstance(reply, ErrorReply)]
    return errors[0] if errors else replies
