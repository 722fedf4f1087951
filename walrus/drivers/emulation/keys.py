"""Keyspace commands: DEL, EXISTS, TYPE, expiry, RENAME, COPY, KEYS, SCAN, ..."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation.engine import (
    SYNTAX,
    EmulationEngine,
    Refused,
    command,
    glob_matcher,
    now_ms,
    to_int,
)
from walrus.drivers.emulation.sortedset import ZSet
from walrus.drivers.emulation.store import Entry

Args = list[bytes]


@command("DEL", -2)
@command("UNLINK", -2)
def delete(db: EmulationEngine, args: Args) -> Reply:
    """O(members) per key."""
    return sum(db.delete(key) for key in args[1:])


@command("EXISTS", -2)
def exists(db: EmulationEngine, args: Args) -> Reply:
    return sum(db.entry(key) is not None for key in args[1:])


@command("TOUCH", -2)
def touch(db: EmulationEngine, args: Args) -> Reply:
    return exists(db, args)


@command("TYPE", 2)
def type_(db: EmulationEngine, args: Args) -> Reply:
    entry = db.entry(args[1])
    return b"none" if entry is None else entry.kind.encode()


_UNITS = {
    b"EXPIRE": (1000, False),
    b"PEXPIRE": (1, False),
    b"EXPIREAT": (1000, True),
    b"PEXPIREAT": (1, True),
}


@command("EXPIRE", -3)
@command("PEXPIRE", -3)
@command("EXPIREAT", -3)
@command("PEXPIREAT", -3)
def expire(db: EmulationEngine, args: Args) -> Reply:
    """Set a deadline, with NX/XX/GT/LT. O(1)."""
    scale, absolute = _UNITS[args[0].upper()]
    amount = to_int(args[2])
    flags = {a.upper() for a in args[3:]}
    if flags - {b"NX", b"XX", b"GT", b"LT"}:
        raise Refused(f"ERR Unsupported option {args[3].decode('utf-8', 'replace')}")
    if b"NX" in flags and flags & {b"XX", b"GT", b"LT"}:
        raise Refused(
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        )
    if {b"GT", b"LT"} <= flags:
        raise Refused("ERR GT and LT options at the same time are not compatible")
    deadline = amount * scale + (0 if absolute else now_ms())
    if not -(2**63) < amount * scale < 2**63 or not -(2**63) < deadline < 2**63:
        name = args[0].decode().lower()
        raise Refused(f"ERR invalid expire time in '{name}' command")
    entry = db.entry(args[1])
    if entry is None:
        return 0
    current = entry.expire_at
    if (
        (b"NX" in flags and current is not None)
        or (b"XX" in flags and current is None)
        or (b"GT" in flags and (current is None or deadline <= current))
        or (b"LT" in flags and current is not None and deadline >= current)
    ):
        return 0
    db.set_expire(args[1], entry, deadline)
    return 1


def _remaining(db: EmulationEngine, key: bytes) -> int | None:
    """Milliseconds left: ``None`` if missing, -1 if no deadline."""
    entry = db.entry(key)
    if entry is None:
        return None
    if entry.expire_at is None:
        return -1
    return max(0, entry.expire_at - now_ms())


@command("TTL", 2)
def ttl(db: EmulationEngine, args: Args) -> Reply:
    left = _remaining(db, args[1])
    return -2 if left is None else left if left < 0 else (left + 500) // 1000


@command("PTTL", 2)
def pttl(db: EmulationEngine, args: Args) -> Reply:
    left = _remaining(db, args[1])
    return -2 if left is None else left


@command("EXPIRETIME", 2)
@command("PEXPIRETIME", 2)
def expiretime(db: EmulationEngine, args: Args) -> Reply:
    entry = db.entry(args[1])
    if entry is None:
        return -2
    if entry.expire_at is None:
        return -1
    return entry.expire_at // (1000 if args[0].upper() == b"EXPIRETIME" else 1)


@command("PERSIST", 2)
def persist(db: EmulationEngine, args: Args) -> Reply:
    entry = db.entry(args[1])
    if entry is None or entry.expire_at is None:
        return 0
    db.set_expire(args[1], entry, None)
    return 1


@command("RENAME", 3)
@command("RENAMENX", 3)
def rename(db: EmulationEngine, args: Args) -> Reply:
    """Move a key and its TTL. O(members) on a persistent store."""
    nx = args[0].upper() == b"RENAMENX"
    source, target = args[1], args[2]
    entry = db.entry(source)
    if entry is None:
        raise Refused("ERR no such key")
    if source == target:
        return 0 if nx else b"OK"
    if nx and db.entry(target) is not None:
        return 0
    db.remove(source)
    db.delete(target)
    db.put(target, Entry(entry.kind, entry.value, entry.expire_at))
    return 1 if nx else b"OK"


def copy_value(kind: str, value: Any) -> Any:
    """An independent copy of a value. O(members)."""
    if kind == "stream":
        return deepcopy(value)  # entries, groups, consumers and pending entries
    if kind == "zset":
        copied = ZSet()
        for score, member in value:
            copied.add(member, score)
        return copied
    return value if kind == "string" else type(value)(value)


@command("COPY", -3)
def copy(db: EmulationEngine, args: Args) -> Reply:
    """COPY source destination [DB index] [REPLACE]; keeps the TTL. O(members)."""
    replace, target_db = False, db.index
    i = 3
    while i < len(args):
        option = args[i].upper()
        if option == b"REPLACE":
            replace = True
        elif option == b"DB" and i + 1 < len(args):
            target_db = to_int(args[i + 1])
            i += 1
        else:
            raise Refused(SYNTAX)
        i += 1
    if not 0 <= target_db < db.databases:
        raise Refused("ERR DB index is out of range")
    if args[1] == args[2] and target_db == db.index:
        raise Refused("ERR source and destination objects are the same")
    source = db.entry(args[1])
    if source is None:
        return 0
    with db.using(target_db):
        if db.entry(args[2]) is not None:
            if not replace:
                return 0
            db.remove(args[2])
        value = copy_value(source.kind, source.value)
        db.put(args[2], Entry(source.kind, value, source.expire_at))
    return 1


@command("KEYS", 2)
def keys(db: EmulationEngine, args: Args) -> Reply:
    """O(keys)."""
    match = glob_matcher(args[1])
    return [k for k in db.store if match(k) and db.entry(k) is not None]


@command("SCAN", -2)
def scan(db: EmulationEngine, args: Args) -> Reply:
    """An unknown TYPE name finds nothing, as in Redis 7.0 (7.2 refuses it)."""
    cursor, step, match = db.scan(args, lambda: list(db.store))  # checks options
    kind = None
    for at in range(2, len(args) - 1, 2):
        if args[at].upper() == b"TYPE":
            kind = args[at + 1].lower()
    found = []
    for key in step:
        entry = db.entry(key)
        if entry is None or (match and not match(key)):
            continue
        if kind is not None and entry.kind.encode() != kind:
            continue
        found.append(key)
    return [str(cursor).encode(), found]
