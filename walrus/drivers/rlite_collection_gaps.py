"""rlite gaps for the containers' commands: set and sorted-set algebra, counts
on missing keys, SORT, BITFIELD (see :mod:`walrus.drivers.rlite_gaps`).

Each was found by the containers' conformance tests: rlite frees memory
twice on an empty SINTER (a crash), fails on empty *STORE results, reads
AGGREGATE only in lower case, answers "unknown retval" on missing keys, and
has no BITFIELD. Importing this module registers the gaps.
"""

from __future__ import annotations

from typing import Any

from walrus.drivers.embedded import Command, ErrorReply, Reply
from walrus.drivers.emulation.bits import apply_bitfield
from walrus.drivers.emulation.engine import Refused
from walrus.drivers.rlite_gaps import (
    GAPS,
    SYNTAX,
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


@gap("ZREMRANGEBYRANK", "ZREMRANGEBYSCORE")
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


@gap("SORT")
def _sort(engine: RawEngine, args: Command) -> Reply:
    """SORT of a missing key: rlite answers "unknown retval"; Redis sorts nothing."""
    upper = [a.upper() for a in args]
    if len(args) < 2 or engine.raw([b"EXISTS", args[1]]) == 1:
        gets = [i + 1 for i, a in enumerate(upper[:-1]) if a == b"GET" and i > 1]
        if b"STORE" not in upper and any(b"->" in args[i] for i in gets):
            return _sort_get_fields(engine, args, gets)
        return run_guarded(engine, args)
    if b"STORE" in upper[2:-1]:
        engine.raw([b"DEL", args[upper.index(b"STORE", 2) + 1]])
        return 0
    return []


def _sort_get_fields(engine: RawEngine, args: Command, gets: list[int]) -> Reply:
    """SORT ... GET *->field: rlite gives "" for a missing hash field where
    Redis gives nil (found by the models' tests), so sort, then read."""
    kept = [a for i, a in enumerate(args) if i not in gets and i + 1 not in gets]
    elements = run_guarded(engine, kept)
    if not isinstance(elements, list):
        return elements
    patterns = [args[at] for at in gets]
    reply: list[Reply] = []
    for element in elements:
        found: dict[int, Reply] = {}
        fields: dict[bytes, list[tuple[int, bytes]]] = {}  # key -> (slot, field)
        for slot, pattern in enumerate(patterns):
            if pattern == b"#":
                found[slot] = element
            elif b"*" not in pattern:
                found[slot] = None
            else:
                key, arrow, field = pattern.partition(b"->")
                key = key.replace(b"*", element, 1)
                if arrow and field:
                    fields.setdefault(key, []).append((slot, field))
                else:
                    value = engine.raw([b"GET", key])
                    found[slot] = None if isinstance(value, ErrorReply) else value
        for key, wanted in fields.items():
            values = engine.raw([b"HMGET", key, *(f for _, f in wanted)])
            if not isinstance(values, list):
                values = [None] * len(wanted)
            for (slot, _), value in zip(wanted, values, strict=True):
                found[slot] = value
        reply.extend(found[slot] for slot in range(len(patterns)))
    return reply


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


@gap("ZRANGESTORE")
def _zrangestore(engine: RawEngine, args: Command) -> Reply:
    """ZRANGESTORE (Redis 6.2; rlite has none): read the range with its
    scores, then replace the destination."""
    if len(args) < 5:
        return arity_error("zrangestore")
    dest, source, low, high = args[1:5]
    by, reverse, limit = b"", False, []
    i = 5
    while i < len(args):
        word = args[i].upper()
        if word in (b"BYSCORE", b"BYLEX"):
            by = word
        elif word == b"REV":
            reverse = True
        elif word == b"LIMIT" and i + 2 < len(args):
            limit = [b"LIMIT", args[i + 1], args[i + 2]]
            i += 2
        else:
            return SYNTAX
        i += 1
    if limit and not by:
        return ErrorReply(
            "ERR syntax error, LIMIT is only supported in combination with "
            "either BYSCORE or BYLEX"
        )
    kind = engine.raw([b"TYPE", source])
    if kind not in (b"none", b"zset"):
        return WRONGTYPE
    pairs: list[bytes] = []
    if kind == b"zset":
        if by == b"BYLEX":
            read = b"ZREVRANGEBYLEX" if reverse else b"ZRANGEBYLEX"
            members = engine.raw([read, source, low, high, *limit])
            if isinstance(members, ErrorReply):
                return 0 if emptied(members) else members
            for member in members:
                pairs += [engine.raw([b"ZSCORE", source, member]), member]
        elif by == b"BYSCORE":
            items = _by_score(engine, source, low, high, reverse, limit)
            if isinstance(items, ErrorReply):
                return items
            for member, score in zip(items[::2], items[1::2], strict=True):
                pairs += [score, member]
        else:
            read = b"ZREVRANGE" if reverse else b"ZRANGE"
            items = engine.raw([read, source, low, high, b"WITHSCORES", *limit])
            if isinstance(items, ErrorReply):
                if not emptied(items):
                    return items
                items = []
            for member, score in zip(items[::2], items[1::2], strict=True):
                pairs += [score, member]
    engine.raw([b"DEL", dest])
    if pairs:
        engine.raw([b"ZADD", dest, *pairs])
    return len(pairs) // 2


def _score_bound(text: bytes) -> tuple[float, bool] | None:
    exclusive = text.startswith(b"(")
    try:
        return float(text[1:] if exclusive else text), exclusive
    except ValueError:
        return None


def _by_score(
    engine: RawEngine,
    key: bytes,
    low: bytes,
    high: bytes,
    reverse: bool,
    limit: list[bytes],
) -> list[bytes] | ErrorReply:
    """Members and scores with a score in the range, by rank: rlite's own
    ZRANGEBYSCORE and ZCOUNT miss members whose score ties with a neighbour's
    (found by the models' tests), but ZRANGE by rank is right, so binary-search
    the range's first and last ranks."""
    if reverse:
        low, high = high, low
    lo, hi = _score_bound(low), _score_bound(high)
    if lo is None or hi is None:
        return ErrorReply("ERR min or max is not a float")
    size = engine.raw([b"ZCARD", key])
    if not isinstance(size, int):
        return 0 if emptied(size) else size  # type: ignore[return-value]

    def score_at(rank: int) -> float:
        reply = engine.raw(
            [b"ZRANGE", key, str(rank).encode(), str(rank).encode(), b"WITHSCORES"]
        )
        return float(reply[1])

    def first(inside: Any) -> int:  # the first rank where inside() holds
        start, end = 0, size
        while start < end:
            middle = (start + end) // 2
            if inside(score_at(middle)):
                end = middle
            else:
                start = middle + 1
        return start

    begin = first(lambda s: s > lo[0] if lo[1] else s >= lo[0])
    stop = first(lambda s: s >= hi[0] if hi[1] else s > hi[0])
    if begin >= stop:
        return []
    items = engine.raw(
        [b"ZRANGE", key, str(begin).encode(), str(stop - 1).encode(), b"WITHSCORES"]
    )
    if not isinstance(items, list):
        return items  # type: ignore[no-any-return]
    pairs = list(zip(items[::2], items[1::2], strict=True))
    if reverse:
        pairs.reverse()
    if limit:
        try:
            offset, count = int(limit[1]), int(limit[2])
        except ValueError:
            return ErrorReply("ERR value is not an integer or out of range")
        pairs = pairs[offset:] if count < 0 else pairs[offset : offset + count]
    return [part for pair in pairs for part in pair]


@gap("ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZCOUNT")
def _score_range(engine: RawEngine, args: Command) -> Reply:
    """ZRANGEBYSCORE, ZREVRANGEBYSCORE and ZCOUNT by rank (see _by_score)."""
    name = args[0].upper()
    if len(args) < 4:
        return arity_error(name.decode().lower())
    withscores, limit = False, []
    i = 4
    while i < len(args) and name != b"ZCOUNT":
        word = args[i].upper()
        if word == b"WITHSCORES":
            withscores = True
        elif word == b"LIMIT" and i + 2 < len(args):
            limit = [b"LIMIT", args[i + 1], args[i + 2]]
            i += 2
        else:
            return SYNTAX
        i += 1
    if name == b"ZCOUNT" and len(args) != 4:
        return arity_error("zcount")
    kind = engine.raw([b"TYPE", args[1]])
    if kind not in (b"none", b"zset"):
        return WRONGTYPE
    if kind == b"none":
        return 0 if name == b"ZCOUNT" else []
    items = _by_score(
        engine, args[1], args[2], args[3], name == b"ZREVRANGEBYSCORE", limit
    )
    if isinstance(items, ErrorReply):
        return items
    if name == b"ZCOUNT":
        return len(items) // 2
    return items if withscores else items[::2]


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
