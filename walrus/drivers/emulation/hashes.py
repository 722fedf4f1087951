"""Hash commands. A hash is a ``dict[bytes, bytes]`` in insertion order."""

from __future__ import annotations

import random

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation.engine import (
    INT64_MAX,
    INT64_MIN,
    NOT_FLOAT,
    EmulationEngine,
    Refused,
    add_floats,
    command,
    pick,
    random_count,
    to_int,
    to_long_double,
    wrong_args,
)

Args = list[bytes]


def get_hash(db: EmulationEngine, key: bytes) -> dict[bytes, bytes]:
    """The hash at ``key`` (empty when missing; do not mutate). O(1)."""
    value: dict[bytes, bytes] = db.value(key, "hash", {})
    return value


@command("HSET", -4)
@command("HMSET", -4)
def hset(db: EmulationEngine, args: Args) -> Reply:
    """O(1) per pair. One field set to the value it holds is not persisted
    (a store would rewrite what holds it for nothing); the key counts as
    modified for WATCH all the same, as in Redis."""
    if len(args) % 2:
        raise wrong_args(args[0])
    entry = db.container(args[1], "hash", dict)
    values: dict[bytes, bytes] = entry.value
    if len(args) == 4:  # one pair: no set or zip to build
        old = values.get(args[2])
        fields = [] if old == args[3] else [args[2]]
        added = int(old is None)
        values[args[2]] = args[3]
    else:
        fields = args[2::2]
        added = len(set(fields).difference(values))
        values.update(zip(fields, args[3::2], strict=True))
    if fields:
        db.changed(args[1], entry, fields)
    else:  # nothing to persist
        db.modified(args[1])
    return b"OK" if args[0].upper() == b"HMSET" else added


@command("HSETNX", 4)
def hsetnx(db: EmulationEngine, args: Args) -> Reply:
    if args[2] in get_hash(db, args[1]):
        return 0
    entry = db.container(args[1], "hash", dict)
    entry.value[args[2]] = args[3]
    db.changed(args[1], entry, [args[2]])
    return 1


@command("HGET", 3)
def hget(db: EmulationEngine, args: Args) -> Reply:
    return get_hash(db, args[1]).get(args[2])


@command("HMGET", -3)
def hmget(db: EmulationEngine, args: Args) -> Reply:
    values = get_hash(db, args[1])
    return [values.get(field) for field in args[2:]]


@command("HGETALL", 2)
def hgetall(db: EmulationEngine, args: Args) -> Reply:
    """O(N)."""
    return [part for item in get_hash(db, args[1]).items() for part in item]


@command("HKEYS", 2)
def hkeys(db: EmulationEngine, args: Args) -> Reply:
    return list(get_hash(db, args[1]))


@command("HVALS", 2)
def hvals(db: EmulationEngine, args: Args) -> Reply:
    return list(get_hash(db, args[1]).values())


@command("HLEN", 2)
def hlen(db: EmulationEngine, args: Args) -> Reply:
    return len(get_hash(db, args[1]))


@command("HEXISTS", 3)
def hexists(db: EmulationEngine, args: Args) -> Reply:
    return int(args[2] in get_hash(db, args[1]))


@command("HSTRLEN", 3)
def hstrlen(db: EmulationEngine, args: Args) -> Reply:
    return len(get_hash(db, args[1]).get(args[2], b""))


@command("HDEL", -3)
def hdel(db: EmulationEngine, args: Args) -> Reply:
    entry = db.typed(args[1], "hash")
    if entry is None:
        return 0
    removed = [
        f for f in dict.fromkeys(args[2:]) if entry.value.pop(f, None) is not None
    ]
    db.changed(args[1], entry, removed)
    return len(removed)


@command("HINCRBY", 4)
def hincrby(db: EmulationEngine, args: Args) -> Reply:
    amount = to_int(args[3])
    current = get_hash(db, args[1]).get(args[2])
    number = (
        0 if current is None else to_int(current, "ERR hash value is not an integer")
    )
    total = number + amount
    if not INT64_MIN <= total <= INT64_MAX:
        raise Refused("ERR increment or decrement would overflow")
    entry = db.container(args[1], "hash", dict)
    entry.value[args[2]] = str(total).encode()
    db.changed(args[1], entry, [args[2]])
    return total


@command("HINCRBYFLOAT", 4)
def hincrbyfloat(db: EmulationEngine, args: Args) -> Reply:
    if isinstance(to_long_double(args[3], NOT_FLOAT), float):  # before the type
        raise Refused("ERR value is NaN or Infinity")
    current = get_hash(db, args[1]).get(args[2], b"0")
    total = add_floats(current, args[3], "ERR hash value is not a float")
    entry = db.container(args[1], "hash", dict)
    entry.value[args[2]] = total
    db.changed(args[1], entry, [args[2]])
    return total


@command("HRANDFIELD", -2)
def hrandfield(db: EmulationEngine, args: Args) -> Reply:
    """Random fields: a positive count gives distinct ones, a negative repeats
    (O(count))."""
    if len(args) == 2:
        values = get_hash(db, args[1])
        return random.choice(list(values)) if values else None
    count = random_count(args, b"WITHVALUES")
    values = get_hash(db, args[1])
    chosen = pick(list(values), count)
    if len(args) == 4:
        return [part for f in chosen for part in (f, values[f])]
    return chosen


@command("HSCAN", -3)
def hscan(db: EmulationEngine, args: Args) -> Reply:
    values = get_hash(db, args[1])
    novalues = args[-1].upper() == b"NOVALUES" and len(args) % 2 == 0
    cursor, step, match = db.scan(args[:-1] if novalues else args, lambda: list(values))
    found: list[bytes] = []
    for field in step:
        if field in values and (match is None or match(field)):
            found.extend((field,) if novalues else (field, values[field]))
    return [str(cursor).encode(), found]
