"""rlite gaps for the containers' commands: set and sorted-set algebra, counts
on missing keys, SORT, BITFIELD (see :mod:`walrus.drivers.rlite_gaps`).

Each was found by the containers' conformance tests: rlite frees memory
twice on an empty SINTER (a crash), fails on empty *STORE results, reads
AGGREGATE only in lower case, answers "unknown retval" on missing keys, and
has no BITFIELD. Importing this module registers the gaps.
"""

from __future__ import annotations

import uuid

from walrus.drivers.embedded import Command, ErrorReply, Reply
from walrus.drivers.emulation.bits import apply_bitfield
from walrus.drivers.emulation.engine import Refused
from walrus.drivers.rlite_gaps import (
    GAPS,
    WRONGTYPE,
    Gap,
    RawEngine,
    arity_error,
    emptied,
    gap,
    run_guarded,
)

__all__: list[str] = []


@gap("SINTER")
def _sinter(engine: RawEngine, args: Command) -> Reply:
    """SINTER in Python: rlite's frees memory twice when the result is empty."""
    if len(args) < 2:
        return arity_error("sinter")
    members: list[bytes] | None = None
    for key in args[1:]:
        kind = engine.raw([b"TYPE", key])
        if kind not in (b"none", b"set"):
            return WRONGTYPE
        found = engine.raw([b"SMEMBERS", key]) if kind == b"set" else []
        keep = set(found)
        members = found if members is None else [m for m in members if m in keep]
    return members


@gap("ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREMRANGEBYLEX")
def _zremrange(engine: RawEngine, args: Command) -> Reply:
    """rlite answers "unknown retval" when nothing matched."""
    reply = send_missing(engine, args, 0)
    return 0 if emptied(reply) else reply


def send_missing(engine: RawEngine, args: Command, missing: Reply) -> Reply:
    """``missing`` when the key ``args[1]`` does not exist (rlite answers
    "unknown retval" there), else the command run as usual."""
    if len(args) >= 2 and engine.raw([b"EXISTS", args[1]]) == 0:
        return missing
    return run_guarded(engine, args)


GAPS[b"ZCARD"] = lambda engine, args: send_missing(engine, args, 0)
GAPS[b"ZLEXCOUNT"] = lambda engine, args: send_missing(engine, args, 0)
GAPS[b"SRANDMEMBER"] = lambda engine, args: send_missing(
    engine, args, [] if len(args) > 2 else None
)


@gap("SORT")
def _sort(engine: RawEngine, args: Command) -> Reply:
    """SORT of a missing key: rlite answers "unknown retval"; Redis sorts nothing."""
    upper = [a.upper() for a in args]
    if len(args) < 2 or engine.raw([b"EXISTS", args[1]]) == 1:
        return run_guarded(engine, args)
    if b"STORE" in upper[2:-1]:
        engine.raw([b"DEL", args[upper.index(b"STORE", 2) + 1]])
        return 0
    return []


def _set_store(read: bytes) -> Gap:
    """SINTERSTORE/SUNIONSTORE/SDIFFSTORE: rlite fails on an empty result and
    empties the destination when it is also a source; read (type-checked),
    then write."""

    def store(engine: RawEngine, args: Command) -> Reply:
        if len(args) < 3:
            return arity_error(f"{read.decode().lower()}store")
        members = GAPS[read](engine, [read, *args[2:]])
        if isinstance(members, ErrorReply):
            return members
        engine.raw([b"DEL", args[1]])
        if members:
            engine.raw([b"SADD", args[1], *members])
        return len(members)

    return store


GAPS[b"SINTERSTORE"] = _set_store(b"SINTER")
GAPS[b"SUNIONSTORE"] = _set_store(b"SUNION")
GAPS[b"SDIFFSTORE"] = _set_store(b"SDIFF")


@gap("ZINTERSTORE", "ZUNIONSTORE")
def _zset_store(engine: RawEngine, args: Command) -> Reply:
    """ZINTERSTORE/ZUNIONSTORE through a temporary key: rlite fails on an empty
    result, empties a destination that is also a source, and reads AGGREGATE
    only in lower case."""
    if len(args) < 4:
        return arity_error(args[0].decode().lower())
    temp = b"walrus:rlite-store:" + uuid.uuid4().hex.encode()
    rest = [b"aggregate" if a.upper() == b"AGGREGATE" else a for a in args[2:]]
    reply = engine.raw([args[0], temp, *rest])
    if isinstance(reply, ErrorReply):
        engine.raw([b"DEL", temp])
        if not reply.message.startswith("ERR unknown retval"):
            return reply
        engine.raw([b"DEL", args[1]])
        return 0
    engine.raw([b"RENAME", temp, args[1]])
    return reply


@gap("BITFIELD", "BITFIELD_RO")
def _bitfield(engine: RawEngine, args: Command) -> Reply:
    """BITFIELD (rlite has none): read the string, compute, write it back."""
    if len(args) < 2:
        return arity_error(args[0].decode().lower())
    current = engine.raw([b"GET", args[1]])  # WRONGTYPE for another type
    if isinstance(current, ErrorReply):
        return current
    try:
        reply, data = apply_bitfield(args, current)
    except Refused as refused:
        return ErrorReply(refused.message)
    if data is not None:  # SETRANGE keeps the TTL; the string only grows
        engine.raw([b"SETRANGE", args[1], b"0", data])
    return reply
