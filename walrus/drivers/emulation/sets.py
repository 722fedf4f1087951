"""Set commands. A set is a Python ``set[bytes]``."""

from __future__ import annotations

import random
from collections.abc import Callable

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation.engine import (
    SYNTAX,
    EmulationEngine,
    Refused,
    command,
    pick,
    random_count,
    to_count,
    to_int,
)

Args = list[bytes]


def get_set(db: EmulationEngine, key: bytes) -> set[bytes]:
    """The set at ``key`` (empty when missing; do not mutate). O(1)."""
    value: set[bytes] = db.value(key, "set", set())
    return value


@command("SADD", -3)
def sadd(db: EmulationEngine, args: Args) -> Reply:
    """O(1) per member."""
    entry = db.container(args[1], "set", set)
    added = [m for m in dict.fromkeys(args[2:]) if m not in entry.value]
    entry.value.update(added)
    db.changed(args[1], entry, added)
    return len(added)


@command("SREM", -3)
def srem(db: EmulationEngine, args: Args) -> Reply:
    entry = db.typed(args[1], "set")
    if entry is None:
        return 0
    removed = [m for m in dict.fromkeys(args[2:]) if m in entry.value]
    entry.value.difference_update(removed)
    db.changed(args[1], entry, removed)
    return len(removed)


@command("SMEMBERS", 2)
def smembers(db: EmulationEngine, args: Args) -> Reply:
    return list(get_set(db, args[1]))


@command("SISMEMBER", 3)
def sismember(db: EmulationEngine, args: Args) -> Reply:
    return int(args[2] in get_set(db, args[1]))


@command("SMISMEMBER", -3)
def smismember(db: EmulationEngine, args: Args) -> Reply:
    members = get_set(db, args[1])
    return [int(m in members) for m in args[2:]]


@command("SCARD", 2)
def scard(db: EmulationEngine, args: Args) -> Reply:
    return len(get_set(db, args[1]))


@command("SPOP", -2)
def spop(db: EmulationEngine, args: Args) -> Reply:
    """Remove random members. O(count) (plus O(N) to sample a big count)."""
    if len(args) > 3:
        raise Refused(SYNTAX)
    count = to_count(args[2]) if len(args) == 3 else None
    entry = db.typed(args[1], "set")
    if entry is None:
        return None if count is None else []
    members: set[bytes] = entry.value
    if count is None:
        taken = [members.pop()]
    elif count >= len(members):
        taken = list(members)
        members.clear()
    else:
        taken = [members.pop() for _ in range(count)]
    db.changed(args[1], entry, taken)
    return taken[0] if count is None else taken


@command("SRANDMEMBER", -2)
def srandmember(db: EmulationEngine, args: Args) -> Reply:
    """Random members: a positive count gives distinct ones, a negative repeats
    (O(count))."""
    if len(args) > 3:
        raise Refused(SYNTAX)
    if len(args) == 2:
        members = list(get_set(db, args[1]))
        return random.choice(members) if members else None
    count = random_count(args, b"")
    return pick(list(get_set(db, args[1])), count)


@command("SMOVE", 4)
def smove(db: EmulationEngine, args: Args) -> Reply:
    source = db.typed(args[1], "set")
    if source is None:
        return 0
    target = db.typed(args[2], "set")
    if args[3] not in source.value:
        return 0
    if args[1] == args[2]:
        return 1
    source.value.discard(args[3])
    db.changed(args[1], source, [args[3]])
    if target is None:
        target = db.container(args[2], "set", set)
    if args[3] not in target.value:  # already there: the target is unchanged
        target.value.add(args[3])
        db.changed(args[2], target, [args[3]])
    return 1


def combine(db: EmulationEngine, keys: Args, operation: str) -> set[bytes]:
    """SINTER / SUNION / SDIFF of ``keys`` (all type-checked first)."""
    sets = [get_set(db, key) for key in keys]
    if operation == "inter":
        if not all(sets):
            return set()
        smallest = min(sets, key=len)
        return {m for m in smallest if all(m in s for s in sets)}
    result = set(sets[0])
    apply: Callable[..., None] = (
        result.update if operation == "union" else result.difference_update
    )
    apply(*sets[1:])
    return result


_OPERATIONS = {b"SINTER": "inter", b"SUNION": "union", b"SDIFF": "diff"}


@command("SINTER", -2)
@command("SUNION", -2)
@command("SDIFF", -2)
def sinter(db: EmulationEngine, args: Args) -> Reply:
    return list(combine(db, args[1:], _OPERATIONS[args[0].upper()]))


@command("SINTERSTORE", -3)
@command("SUNIONSTORE", -3)
@command("SDIFFSTORE", -3)
def sinterstore(db: EmulationEngine, args: Args) -> Reply:
    result = combine(db, args[2:], _OPERATIONS[args[0].upper()[:-5]])
    db.replace(args[1], "set", result)
    return len(result)


def card_limit(options: Args) -> int:
    """SINTERCARD's and ZINTERCARD's ``[LIMIT limit]`` (repeatable, the last
    wins; 0 means no limit)."""
    limit = 0
    for at in range(0, len(options), 2):
        if options[at].upper() != b"LIMIT" or at + 1 >= len(options):
            raise Refused(SYNTAX)
        limit = to_int(options[at + 1], "ERR LIMIT can't be negative")
        if limit < 0:
            raise Refused("ERR LIMIT can't be negative")
    return limit


@command("SINTERCARD", -3)
def sintercard(db: EmulationEngine, args: Args) -> Reply:
    numkeys = to_int(args[1], "ERR numkeys should be greater than 0")
    if numkeys <= 0:
        raise Refused("ERR numkeys should be greater than 0")
    if numkeys > len(args) - 2:
        raise Refused("ERR Number of keys can't be greater than number of args")
    rest = args[2 + numkeys :]
    limit = card_limit(rest)
    size = len(combine(db, args[2 : 2 + numkeys], "inter"))
    return min(size, limit) if limit else size


@command("SSCAN", -3)
def sscan(db: EmulationEngine, args: Args) -> Reply:
    members = get_set(db, args[1])
    cursor, step, match = db.scan(args, lambda: list(members))
    found = [m for m in step if m in members and (match is None or match(m))]
    return [str(cursor).encode(), found]
