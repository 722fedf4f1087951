"""List commands. A list is a ``deque``; ``Entry.base`` numbers its ends.

Element ``i`` sits at the absolute position ``base + i``: pushing left
lowers ``base``, popping left raises it, so a persistent store rewrites only
the positions that changed (``changed`` gets absolute positions). Commands
that reshape the middle (LINSERT, LREM, LTRIM) store a new list: O(N), as
they are in Redis.
"""

from __future__ import annotations

from collections import deque
from itertools import islice

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation.engine import (
    INT64_MAX,
    SYNTAX,
    EmulationEngine,
    Refused,
    command,
    to_count,
    to_int,
    to_range,
    wrong_args,
)
from walrus.drivers.emulation.store import Entry

Args = list[bytes]


def get_list(db: EmulationEngine, key: bytes) -> deque[bytes]:
    """The list at ``key`` (empty when missing; do not mutate). O(1)."""
    value: deque[bytes] = db.value(key, "list", deque())
    return value


def push(db: EmulationEngine, key: bytes, values: list[bytes], left: bool) -> int:
    """Push ``values`` one by one at an end. O(1) per value."""
    entry = db.container(key, "list", deque)
    items: deque[bytes] = entry.value
    if left:
        items.extendleft(values)
        entry.base -= len(values)
        positions = range(entry.base, entry.base + len(values))
    else:
        items.extend(values)
        end = entry.base + len(items)
        positions = range(end - len(values), end)
    db.changed(key, entry, positions)
    return len(items)


def pop(db: EmulationEngine, key: bytes, count: int, left: bool) -> list[bytes] | None:
    """Pop up to ``count`` values from an end; ``None`` if the key is missing."""
    entry = db.typed(key, "list")
    if entry is None:
        return None
    items: deque[bytes] = entry.value
    taken = [
        items.popleft() if left else items.pop() for _ in range(min(count, len(items)))
    ]
    if left:
        positions = range(entry.base, entry.base + len(taken))
        entry.base += len(taken)
    else:
        end = entry.base + len(items)
        positions = range(end, end + len(taken))
    db.changed(key, entry, positions)
    return taken


@command("LPUSH", -3)
@command("RPUSH", -3)
def lpush(db: EmulationEngine, args: Args) -> Reply:
    return push(db, args[1], args[2:], args[0].upper() == b"LPUSH")


@command("LPUSHX", -3)
@command("RPUSHX", -3)
def lpushx(db: EmulationEngine, args: Args) -> Reply:
    if db.typed(args[1], "list") is None:
        return 0
    return push(db, args[1], args[2:], args[0].upper() == b"LPUSHX")


@command("LPOP", -2)
@command("RPOP", -2)
def lpop(db: EmulationEngine, args: Args) -> Reply:
    left = args[0].upper() == b"LPOP"
    if len(args) > 3:
        raise wrong_args(args[0])
    if len(args) == 2:
        taken = pop(db, args[1], 1, left)
        return taken[0] if taken else None
    return pop(db, args[1], to_count(args[2]), left)


def _index(items: deque[bytes], raw: bytes) -> int | None:
    index = to_int(raw)
    if index < 0:
        index += len(items)
    return index if 0 <= index < len(items) else None


@command("LINDEX", 3)
def lindex(db: EmulationEngine, args: Args) -> Reply:
    """A missing key is nil before the index is parsed, as in Redis."""
    entry = db.typed(args[1], "list")
    if entry is None:
        return None
    index = _index(entry.value, args[2])
    return None if index is None else entry.value[index]


@command("LSET", 4)
def lset(db: EmulationEngine, args: Args) -> Reply:
    entry = db.typed(args[1], "list")
    if entry is None:
        raise Refused("ERR no such key")
    index = _index(entry.value, args[2])
    if index is None:
        raise Refused("ERR index out of range")
    entry.value[index] = args[3]
    db.changed(args[1], entry, [entry.base + index])
    return b"OK"


@command("LLEN", 2)
def llen(db: EmulationEngine, args: Args) -> Reply:
    return len(get_list(db, args[1]))


def clamp_range(start: int, stop: int, length: int) -> tuple[int, int]:
    """Redis's inclusive ``start..stop`` (negatives from the end) as a slice."""
    if start < 0:
        start = max(0, start + length)
    if stop < 0:
        stop += length
    return start, min(stop + 1, length) if stop >= start else start


@command("LRANGE", 4)
def lrange(db: EmulationEngine, args: Args) -> Reply:
    """O(S + N) for S skipped and N returned."""
    first, last = to_int(args[2]), to_int(args[3])
    items = get_list(db, args[1])
    start, stop = clamp_range(first, last, len(items))
    return list(islice(items, start, stop))


def _rewrite(db: EmulationEngine, key: bytes, entry: Entry, items: list[bytes]) -> None:
    db.replace(key, "list", deque(items), entry.expire_at)


@command("LTRIM", 4)
def ltrim(db: EmulationEngine, args: Args) -> Reply:
    start, stop = to_int(args[2]), to_int(args[3])
    entry = db.typed(args[1], "list")
    if entry is not None:
        first, end = clamp_range(start, stop, len(entry.value))
        if first > 0 or end < len(entry.value):
            _rewrite(db, args[1], entry, list(islice(entry.value, first, end)))
        else:  # nothing to write, but Redis 7.0 counts it as a change (WATCH)
            db.modified(args[1])
    return b"OK"


@command("LREM", 4)
def lrem(db: EmulationEngine, args: Args) -> Reply:
    """Remove up to ``count`` matches (from the tail if negative; all if 0)."""
    count = to_range(args[2], -INT64_MAX, INT64_MAX)
    entry = db.typed(args[1], "list")
    if entry is None:
        return 0
    items = list(entry.value)
    order = range(len(items) - 1, -1, -1) if count < 0 else range(len(items))
    doomed: set[int] = set()
    for i in order:
        if items[i] == args[3]:
            doomed.add(i)
            if len(doomed) == abs(count):
                break
    if doomed:
        _rewrite(
            db, args[1], entry, [v for i, v in enumerate(items) if i not in doomed]
        )
    return len(doomed)


@command("LINSERT", 5)
def linsert(db: EmulationEngine, args: Args) -> Reply:
    where = args[2].upper()
    if where not in (b"BEFORE", b"AFTER"):
        raise Refused(SYNTAX)
    entry = db.typed(args[1], "list")
    if entry is None:
        return 0
    items = list(entry.value)
    if args[3] not in items:
        return -1
    index = items.index(args[3]) + (where == b"AFTER")
    items.insert(index, args[4])
    _rewrite(db, args[1], entry, items)
    return len(items)


@command("LPOS", -3)
def lpos(db: EmulationEngine, args: Args) -> Reply:
    """LPOS with RANK, COUNT and MAXLEN, parsed in order before the key (a bad
    COUNT or MAXLEN of any kind gets its one message, as in Redis). O(N)."""
    rank, count, maxlen = 1, None, 0
    i = 3
    while i < len(args):
        name = args[i].upper()
        if i + 1 >= len(args) or name not in (b"RANK", b"COUNT", b"MAXLEN"):
            raise Refused(SYNTAX)
        raw = args[i + 1]
        if name == b"RANK":
            rank = to_range(raw, -INT64_MAX, INT64_MAX)
            if rank == 0:
                raise Refused(
                    "ERR RANK can't be zero: use 1 to start from the first match, "
                    "2 from the second ... or use negative to start from the end of "
                    "the list"
                )
        else:
            message = f"ERR {name.decode()} can't be negative"
            value = to_int(raw, message)
            if value < 0:
                raise Refused(message)
            if name == b"COUNT":
                count = value
            else:
                maxlen = value
        i += 2
    items = get_list(db, args[1])
    indexes = range(len(items)) if rank > 0 else range(len(items) - 1, -1, -1)
    if maxlen:
        indexes = indexes[:maxlen]
    found: list[int] = []
    skip = abs(rank) - 1
    for i in indexes:
        if items[i] == args[2]:
            if skip:
                skip -= 1
                continue
            found.append(i)
            if count is None or (count and len(found) == count):
                break
    if count is None:
        return found[0] if found else None
    return found


def move(
    db: EmulationEngine, source: bytes, target: bytes, left_from: bool, left_to: bool
) -> Reply:
    """Pop from ``source`` and push on ``target`` atomically. O(1)."""
    if db.typed(source, "list") is None:
        return None
    db.typed(target, "list")  # WRONGTYPE before anything moves
    taken = pop(db, source, 1, left_from)
    assert taken
    push(db, target, taken, left_to)
    return taken[0]


@command("RPOPLPUSH", 3)
def rpoplpush(db: EmulationEngine, args: Args) -> Reply:
    return move(db, args[1], args[2], False, True)


@command("LMOVE", 5)
def lmove(db: EmulationEngine, args: Args) -> Reply:
    ends = [a.upper() for a in args[3:5]]
    if any(e not in (b"LEFT", b"RIGHT") for e in ends):
        raise Refused(SYNTAX)
    return move(db, args[1], args[2], ends[0] == b"LEFT", ends[1] == b"LEFT")
