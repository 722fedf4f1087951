"""rlite gaps for keyspace commands: TTL's rounding, COPY, SWAPDB and INFO
(see :mod:`walrus.drivers.rlite.gaps`). Importing this module registers them.
"""

from __future__ import annotations

import os

from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.rlite.gaps import SYNTAX, RawEngine, arity_error, gap

__all__: list[str] = []


@gap("TTL")
def _ttl(engine: RawEngine, args: Command) -> Reply:
    """TTL rounded to the nearest second, as Redis does (rlite truncates)."""
    if len(args) != 2:
        return arity_error("ttl")
    ms = engine.raw([b"PTTL", args[1]])
    if not isinstance(ms, int) or ms < 0:
        return ms
    return (ms + 500) // 1000


def _db_index(raw: bytes) -> int | ErrorReply:
    if not raw.lstrip(b"-").isdigit():
        return ErrorReply("ERR value is not an integer or out of range")
    index = int(raw)
    return index if 0 <= index < 16 else ErrorReply("ERR DB index is out of range")


def _in_db(engine: RawEngine, db: int, args: Command) -> Reply:
    """Run one raw command in database ``db``, then come back."""
    current = engine.selected
    engine.raw([b"SELECT", str(db).encode()])
    try:
        return engine.raw(args)
    finally:
        engine.raw([b"SELECT", str(current).encode()])


@gap("COPY")
def _copy(engine: RawEngine, args: Command) -> Reply:
    """COPY source destination [DB n] [REPLACE] (rlite has none): DUMP and
    RESTORE, keeping the TTL (rlite's RESTORE ignores it). Any type, streams too."""
    if len(args) < 3:
        return arity_error("copy")
    options = [a.upper() for a in args[3:]]
    target: int | ErrorReply = engine.selected
    if options.count(b"DB") == 1:
        at = options.index(b"DB")
        if at + 1 >= len(options):
            return SYNTAX
        target = _db_index(args[3 + at + 1])
        del options[at : at + 2]
    if [o for o in options if o != b"REPLACE"]:
        return SYNTAX
    if isinstance(target, ErrorReply):
        return target
    if args[1] == args[2] and target == engine.selected:
        return ErrorReply("ERR source and destination objects are the same")
    if engine.raw([b"EXISTS", args[1]]) != 1:
        return 0
    replace = b"REPLACE" in options
    if not replace and _in_db(engine, target, [b"EXISTS", args[2]]) == 1:
        return 0
    dumped = engine.raw([b"DUMP", args[1]])
    ttl = engine.raw([b"PTTL", args[1]])
    if not isinstance(dumped, bytes):
        return dumped
    _in_db(engine, target, [b"DEL", args[2]])
    _in_db(engine, target, [b"RESTORE", args[2], b"0", dumped])
    if isinstance(ttl, int) and ttl > 0:
        _in_db(engine, target, [b"PEXPIRE", args[2], str(ttl).encode()])
    return 1


@gap("SWAPDB")
def _swapdb(engine: RawEngine, args: Command) -> Reply:
    """SWAPDB a b (rlite has none): every key of each moves to the other.
    O(keys of both); atomic for other processes (the file lock is held)."""
    if len(args) != 3:
        return arity_error("swapdb")
    first, second = _db_index(args[1]), _db_index(args[2])
    for index, which in ((first, "first"), (second, "second")):
        if isinstance(index, ErrorReply):
            if "integer" in index.message:
                return ErrorReply(f"ERR invalid {which} DB index")
            return index
    assert isinstance(first, int) and isinstance(second, int)  # checked above
    if first == second:
        return b"OK"
    mark = b"\x00walrus-swap\x00" + os.urandom(8).hex().encode()
    keys = _in_db(engine, first, [b"KEYS", b"*"])
    for key in keys:  # park the first database's keys in the second, marked
        _in_db(engine, first, [b"RENAME", key, mark + key])
        _in_db(engine, first, [b"MOVE", mark + key, str(second).encode()])
    for key in _in_db(engine, second, [b"KEYS", b"*"]):
        if not key.startswith(mark):
            _in_db(engine, second, [b"MOVE", key, str(first).encode()])
    for key in keys:
        _in_db(engine, second, [b"RENAME", mark + key, key])
    return b"OK"


@gap("INFO")
def _info(engine: RawEngine, args: Command) -> Reply:
    return b"# Server\r\nredis_version:rlite\r\nwalrus_engine:rlite\r\n"
