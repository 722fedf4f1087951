"""Sorted-set commands over :class:`~walrus.drivers.emulation.sortedset.ZSet`.

Ranges (by rank, score or lex) become a span of positions in the ordered
index, found by bisection, so a range costs O(log N + N / LOAD + M).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation.engine import (
    SYNTAX,
    EmulationEngine,
    Refused,
    command,
    format_float,
    pick,
    random_count,
    to_bound,
    to_count,
    to_float,
    to_int,
)
from walrus.drivers.emulation.lists import clamp_range
from walrus.drivers.emulation.sortedset import Item, ZSet

Args = list[bytes]
NAN_SCORE = "ERR resulting score is not a number (NaN)"
BAD_SCORE_BOUND = "ERR min or max is not a float"
BAD_LEX_BOUND = "ERR min or max not valid string range item"


def get_zset(db: EmulationEngine, key: bytes) -> ZSet:
    """The sorted set at ``key`` (empty when missing; do not mutate). O(1)."""
    value: ZSet = db.value(key, "zset", ZSet())
    return value


def with_scores(items: Sequence[Item], scores: bool) -> list[bytes]:
    if not scores:
        return [member for _, member in items]
    return [part for score, member in items for part in (member, format_float(score))]


# -- ZADD and single members --------------------------------------------------------
@command("ZADD", -4)
def zadd(db: EmulationEngine, args: Args) -> Reply:
    """ZADD with NX/XX/GT/LT/CH/INCR. O(log N) per member."""
    flags: set[bytes] = set()
    i = 2
    while i < len(args) and args[i].upper() in (
        b"NX",
        b"XX",
        b"GT",
        b"LT",
        b"CH",
        b"INCR",
    ):
        flags.add(args[i].upper())
        i += 1
    pairs = args[i:]
    if not pairs or len(pairs) % 2:
        raise Refused(SYNTAX)
    if {b"NX", b"XX"} <= flags:
        raise Refused("ERR XX and NX options at the same time are not compatible")
    if len(flags & {b"NX", b"GT", b"LT"}) > 1:
        raise Refused(
            "ERR GT, LT, and/or NX options at the same time are not compatible"
        )
    if b"INCR" in flags and len(pairs) > 2:
        raise Refused("ERR INCR option supports a single increment-element pair")
    scores = [to_float(raw) for raw in pairs[::2]]
    entry = db.typed(args[1], "zset")
    zset: ZSet = entry.value if entry is not None else ZSet()
    added = updated = 0
    touched: list[bytes] = []
    result: float | None = None
    for score, member in zip(scores, pairs[1::2], strict=True):
        current = zset.scores.get(member)
        if current is None:
            if b"XX" in flags:
                continue
        elif b"NX" in flags:
            continue
        if b"INCR" in flags and current is not None:
            score += current
            if math.isnan(score):
                raise Refused(NAN_SCORE)
        if current is not None and (
            (b"GT" in flags and score <= current)
            or (b"LT" in flags and score >= current)
        ):
            continue
        if current is None:
            added += 1
        elif score != current:
            updated += 1
        else:
            result = score
            continue
        zset.add(member, score)
        touched.append(member)
        result = score
    if touched:
        if entry is None:
            db.replace(args[1], "zset", zset)
        else:
            db.changed(args[1], entry, touched)
    if b"INCR" in flags:
        return None if result is None else format_float(result)
    return added + updated if b"CH" in flags else added


@command("ZINCRBY", 4)
def zincrby(db: EmulationEngine, args: Args) -> Reply:
    amount = to_float(args[2])
    current = get_zset(db, args[1]).scores.get(args[3])
    score = amount if current is None else current + amount  # -0 stays -0
    if math.isnan(score):
        raise Refused(NAN_SCORE)
    entry = db.container(args[1], "zset", ZSet)
    entry.value.add(args[3], score)
    db.changed(args[1], entry, [args[3]])
    return format_float(score)


@command("ZREM", -3)
def zrem(db: EmulationEngine, args: Args) -> Reply:
    entry = db.typed(args[1], "zset")
    if entry is None:
        return 0
    removed = [m for m in dict.fromkeys(args[2:]) if entry.value.discard(m)]
    db.changed(args[1], entry, removed)
    return len(removed)


@command("ZSCORE", 3)
def zscore(db: EmulationEngine, args: Args) -> Reply:
    score = get_zset(db, args[1]).scores.get(args[2])
    return None if score is None else format_float(score)


@command("ZMSCORE", -3)
def zmscore(db: EmulationEngine, args: Args) -> Reply:
    scores = get_zset(db, args[1]).scores
    found = (scores.get(m) for m in args[2:])
    return [None if s is None else format_float(s) for s in found]


@command("ZCARD", 2)
def zcard(db: EmulationEngine, args: Args) -> Reply:
    return len(get_zset(db, args[1]))


@command("ZRANK", 3)
@command("ZREVRANK", 3)
def zrank(db: EmulationEngine, args: Args) -> Reply:
    """Redis 7.0's ZRANK: no WITHSCORE (Redis 7.2 added it). O(log N)."""
    zset = get_zset(db, args[1])
    rank = zset.rank(args[2])
    if rank is None:
        return None
    return len(zset) - 1 - rank if args[0].upper() == b"ZREVRANK" else rank


# -- ranges --------------------------------------------------------------------------
def score_bound(raw: bytes) -> tuple[float, bool]:
    """A score bound: (value, exclusive)."""
    if raw.startswith(b"("):
        return to_bound(raw[1:], BAD_SCORE_BOUND), True
    return to_bound(raw, BAD_SCORE_BOUND), False


def lex_bound(raw: bytes) -> tuple[bytes | None, bool]:
    """A lex bound: (member, exclusive); ``None`` member for ``-`` (marked
    exclusive) and ``+``."""
    if raw in (b"-", b"+"):
        return None, raw == b"-"
    if raw[:1] not in (b"[", b"("):
        raise Refused(BAD_LEX_BOUND)
    return raw[1:], raw[:1] == b"("


Bounds = tuple[Any, Any]  # parsed (low, high): ranks, score bounds or lex bounds


def parse_bounds(by: str, low: bytes, high: bytes) -> Bounds:
    """Parse a range's two ends (before the key is read, as Redis does)."""
    if by == "rank":
        return to_int(low), to_int(high)
    if by == "score":
        return score_bound(low), score_bound(high)
    return lex_bound(low), lex_bound(high)


def _span(zset: ZSet, by: str, bounds: Bounds) -> tuple[int, int]:
    """Positions ``[start, stop)`` of the items between parsed score or lex bounds."""
    (lo, lo_ex), (hi, hi_ex) = bounds
    if by == "score":
        key: Callable[[Item], Any] = _score_of
        start = zset.count_below(key, lo, inclusive=lo_ex)
        stop = zset.count_below(key, hi, inclusive=not hi_ex)
        return start, max(start, stop)
    if (hi is None and hi_ex) or (lo is None and not lo_ex):  # max "-" or min "+"
        return 0, 0
    key = _member_of
    start = 0 if lo is None else zset.count_below(key, lo, inclusive=lo_ex)
    stop = len(zset) if hi is None else zset.count_below(key, hi, inclusive=not hi_ex)
    return start, max(start, stop)


def _score_of(item: Item) -> float:
    return item[0]


def _member_of(item: Item) -> bytes:
    return item[1]


def select(
    zset: ZSet, by: str, bounds: Bounds, rev: bool, limit: tuple[int, int] | None
) -> list[Item]:
    """Items of a ZRANGE-style query, in reply order (``bounds`` as given:
    for a reversed score or lex range, the maximum first)."""
    if by == "rank":
        start, stop = clamp_range(bounds[0], bounds[1], len(zset))
        if rev:
            return zset.slice_reversed(len(zset) - stop, len(zset) - start)
        return zset.slice(start, stop)
    start, stop = _span(zset, by, (bounds[1], bounds[0]) if rev else bounds)
    offset, count = limit if limit is not None else (0, -1)
    if offset < 0:
        return []
    if count < 0:
        count = stop - start
    if rev:
        end = max(start, stop - offset)
        return zset.slice_reversed(max(start, end - count), end)
    first = start + offset
    return zset.slice(first, min(stop, first + count))


def parse_range(
    args: Args, by: str, rev: bool, start: int
) -> tuple[str, bool, tuple[int, int] | None, bool]:
    """ZRANGE-family options from ``args[start:]``: (by, rev, limit, withscores)."""
    limit = None
    scores = False
    store = args[0].upper() == b"ZRANGESTORE"
    generic = store or args[0].upper() == b"ZRANGE"
    i = start
    while i < len(args):
        option = args[i].upper()
        if option == b"WITHSCORES" and not store:
            scores = True
        elif option == b"LIMIT" and i + 2 < len(args):
            limit = (to_int(args[i + 1]), to_int(args[i + 2]))
            i += 2
        elif option == b"BYSCORE" and generic and by == "rank":
            by = "score"
        elif option == b"BYLEX" and generic and by == "rank":
            by = "lex"
        elif option == b"REV" and generic and not rev:
            rev = True
        else:
            raise Refused(SYNTAX)
        i += 1
    if limit is not None and limit[1] != -1 and by == "rank":
        raise Refused(
            "ERR syntax error, LIMIT is only supported in combination with either "
            "BYSCORE or BYLEX"
        )
    if scores and by == "lex":
        raise Refused(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
        )
    return by, rev, limit, scores


_RANGES = {
    b"ZRANGE": ("rank", False),
    b"ZREVRANGE": ("rank", True),
    b"ZRANGEBYSCORE": ("score", False),
    b"ZREVRANGEBYSCORE": ("score", True),
    b"ZRANGEBYLEX": ("lex", False),
    b"ZREVRANGEBYLEX": ("lex", True),
}


@command("ZRANGE", -4)
@command("ZREVRANGE", -4)
@command("ZRANGEBYSCORE", -4)
@command("ZREVRANGEBYSCORE", -4)
@command("ZRANGEBYLEX", -4)
@command("ZREVRANGEBYLEX", -4)
def zrange(db: EmulationEngine, args: Args) -> Reply:
    """Options, then bounds, then the key (Redis's order of errors)."""
    by, rev = _RANGES[args[0].upper()]
    by, rev, limit, scores = parse_range(args, by, rev, 4)
    bounds = parse_bounds(by, args[2], args[3])
    zset = get_zset(db, args[1])
    return with_scores(select(zset, by, bounds, rev, limit), scores)


@command("ZRANGESTORE", -5)
def zrangestore(db: EmulationEngine, args: Args) -> Reply:
    by, rev, limit, _ = parse_range(args, "rank", False, 5)
    bounds = parse_bounds(by, args[3], args[4])
    items = select(get_zset(db, args[2]), by, bounds, rev, limit)
    result = ZSet()
    for score, member in items:
        result.add(member, score)
    db.replace(args[1], "zset", result)
    return len(result)


@command("ZCOUNT", 4)
def zcount(db: EmulationEngine, args: Args) -> Reply:
    bounds = parse_bounds("score", args[2], args[3])
    start, stop = _span(get_zset(db, args[1]), "score", bounds)
    return stop - start


@command("ZLEXCOUNT", 4)
def zlexcount(db: EmulationEngine, args: Args) -> Reply:
    bounds = parse_bounds("lex", args[2], args[3])
    start, stop = _span(get_zset(db, args[1]), "lex", bounds)
    return stop - start


@command("ZREMRANGEBYRANK", 4)
@command("ZREMRANGEBYSCORE", 4)
@command("ZREMRANGEBYLEX", 4)
def zremrange(db: EmulationEngine, args: Args) -> Reply:
    by = args[0].upper()[len(b"ZREMRANGEBY") :].decode().lower()
    bounds = parse_bounds(by, args[2], args[3])
    entry = db.typed(args[1], "zset")
    if entry is None:
        return 0
    items = select(entry.value, by, bounds, False, None)
    for _, member in items:
        entry.value.discard(member)
    db.changed(args[1], entry, [m for _, m in items])
    return len(items)


@command("ZPOPMIN", -2)
@command("ZPOPMAX", -2)
def zpopmin(db: EmulationEngine, args: Args) -> Reply:
    if len(args) > 3:
        raise Refused(SYNTAX)
    count = to_count(args[2]) if len(args) == 3 else 1
    entry = db.typed(args[1], "zset")
    if entry is None:
        return []
    zset: ZSet = entry.value
    if args[0].upper() == b"ZPOPMIN":
        items = zset.slice(0, count)
    else:
        items = zset.slice_reversed(max(0, len(zset) - count), len(zset))
    for _, member in items:
        zset.discard(member)
    db.changed(args[1], entry, [m for _, m in items])
    return with_scores(items, True)


@command("ZRANDMEMBER", -2)
def zrandmember(db: EmulationEngine, args: Args) -> Reply:
    """Random members: a positive count gives distinct ones, a negative repeats
    (O(count))."""
    if len(args) == 2:
        members = list(get_zset(db, args[1]).scores)
        return random.choice(members) if members else None
    count = random_count(args, b"WITHSCORES")
    scores = get_zset(db, args[1]).scores
    chosen = pick(list(scores), count)
    if len(args) == 3:
        return chosen
    printed = {member: format_float(scores[member]) for member in set(chosen)}
    return [part for member in chosen for part in (member, printed[member])]


@command("ZSCAN", -3)
def zscan(db: EmulationEngine, args: Args) -> Reply:
    zset = get_zset(db, args[1])
    cursor, step, match = db.scan(args, lambda: list(zset.scores))
    found: list[bytes] = []
    for member in step:
        score = zset.scores.get(member)
        if score is not None and (match is None or match(member)):
            found.extend((member, format_float(score)))
    return [str(cursor).encode(), found]
