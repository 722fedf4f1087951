"""The ledisdb command map for containers: hashes, lists, sets, sorted sets.

Builders for :func:`walrus.drivers.ledis.commands.translate` (see
:mod:`walrus.drivers.ledis.plan` for plan kinds). Each states its cost;
every *emulated* command is client-side steps, **not atomic**: another
client may write between its round trips. Sorted-set scores are int64 on
ledisdb: a non-integral score raises UnsupportedOperation, never truncates.
"""

from __future__ import annotations

from collections.abc import Callable

from walrus.drivers.ledis.plan import (
    Args,
    BadArgument,
    Builder,
    Context,
    Kind,
    Plan,
    Raw,
    Steps,
    answer,
    as_float,
    as_int,
    bulk,
    cmd,
    decode_cursor,
    encode_cursor,
    filtered,
    format_float,
    int_score,
    one,
    page,
    scan_options,
    score_bound,
    steps,
    unsupported,
    xscan,
)

__all__ = ["CONTAINER_BUILDERS"]


# -- hashes -------------------------------------------------------------------
def _hset(args: Args, ctx: Context) -> Plan:
    """HSET: one pair passes; several become HEXISTS each + HMSET (one round trip)."""
    if len(args) < 4 or len(args) % 2:
        raise IndexError
    if len(args) == 4:
        return one(Kind.PASS, [tuple(args)])
    fields = list(dict.fromkeys(args[2::2]))
    batch = [cmd(b"HEXISTS", args[1], f) for f in fields]
    finish = lambda replies: replies[: len(fields)].count(0)  # noqa: E731
    return one(Kind.REWRITE, [*batch, cmd(b"HMSET", *args[1:])], finish)


def _hsetnx(args: Args, ctx: Context) -> Plan:
    key, name, value = args[1], args[2], args[3]

    def run() -> Steps:
        if (yield [cmd(b"HEXISTS", key, name)])[0]:
            return 0
        yield [cmd(b"HSET", key, name, value)]
        return 1

    return steps(Kind.EMULATE, run())


def _hincrbyfloat(args: Args, ctx: Context) -> Plan:
    key, name, amount = args[1], args[2], as_float(args[3])

    def run() -> Steps:
        old = (yield [cmd(b"HGET", key, name)])[0]
        value = format_float((as_float(old) if old is not None else 0.0) + amount)
        yield [cmd(b"HSET", key, name, value)]
        return value

    return steps(Kind.EMULATE, run())


def _hstrlen(args: Args, ctx: Context) -> Plan:
    return one(Kind.REWRITE, [cmd(b"HGET", args[1], args[2])], _length)


def _length(replies: list[Raw]) -> Raw:
    return len(replies[0] or b"")


def _member_scan(verb: bytes, pairs: bool) -> Builder:
    """HSCAN/SSCAN/ZSCAN as XHSCAN/XSSCAN/XZSCAN; one round trip per call."""

    def build(args: Args, ctx: Context) -> Plan:
        key, (_, position) = args[1], decode_cursor(args[2])
        tail = args[3:]
        no_values = b"NOVALUES" in [a.upper() for a in tail]
        tail = [a for a in tail if a.upper() != b"NOVALUES"]
        match, count, _ = scan_options(tail)

        def finish(replies: list[Raw]) -> Raw:
            following, items = page(replies[0], position, 2 if pairs else 1)
            cursor = encode_cursor(0, following) if following else b"0"
            if not pairs:
                return [cursor, filtered(items, match)]
            out: list[Raw] = []
            for member, value in zip(items[::2], items[1::2], strict=True):
                if match is None or filtered([member], match):
                    out += [member] if no_values else [member, bulk(value)]
            return [cursor, out]

        return one(Kind.REWRITE, [xscan(verb, [key], position, count)], finish)

    return build


# -- lists --------------------------------------------------------------------
def _pop(args: Args, ctx: Context) -> Plan:
    """LPOP/RPOP with a count: LRANGE + LTRIM in one round trip (not atomic)."""
    if len(args) == 2:
        return one(Kind.PASS, [tuple(args)])
    key, count = args[1], as_int(args[2])
    if count < 0:
        raise BadArgument("ERR value is out of range, must be positive")
    left = args[0] == b"LPOP"
    if count == 0:
        return one(
            Kind.EMULATE, [cmd(b"LKEYEXISTS", key)], lambda r: [] if r[0] else None
        )
    if left:
        batch = [cmd(b"LRANGE", key, 0, count - 1), cmd(b"LTRIM", key, count, -1)]
    else:
        batch = [cmd(b"LRANGE", key, -count, -1), cmd(b"LTRIM", key, 0, -count - 1)]

    def finish(replies: list[Raw]) -> Raw:
        items = list(replies[0])
        return (items if left else items[::-1]) or None

    return one(Kind.EMULATE, batch, finish)


def _pushx(args: Args, ctx: Context) -> Plan:
    key, verb = args[1], args[0][:-1]

    def run() -> Steps:
        if not (yield [cmd(b"LKEYEXISTS", key)])[0]:
            return 0
        return (yield [cmd(verb, key, *args[2:])])[0]

    return steps(Kind.EMULATE, run())


def _rewrite_list(
    key: bytes, change: Callable[[list[bytes]], tuple[list[bytes], Raw]]
) -> Steps:
    """Read a whole list, change it here, write it back keeping its TTL.

    Two round trips, O(N) and not atomic: writes by other clients between
    the read and the write are lost.
    """
    items, left = yield [cmd(b"LRANGE", key, 0, -1), cmd(b"LTTL", key)]
    new, reply = change(list(items))
    if new == items:
        return reply
    batch = [cmd(b"LCLEAR", key)]
    if new:
        batch.append(cmd(b"RPUSH", key, *new))
        if left > 0:
            batch.append(cmd(b"LEXPIRE", key, left))
    yield batch
    return reply


def _lrem(args: Args, ctx: Context) -> Plan:
    """LREM: emulated over the whole list (see _rewrite_list)."""
    key, count, value = args[1], as_int(args[2]), args[3]

    def change(items: list[bytes]) -> tuple[list[bytes], Raw]:
        order = items[::-1] if count < 0 else items
        limit, kept, removed = abs(count) or len(items), [], 0
        for item in order:
            if item == value and removed < limit:
                removed += 1
            else:
                kept.append(item)
        return (kept[::-1] if count < 0 else kept), removed

    return steps(Kind.EMULATE, _rewrite_list(key, change))


def _linsert(args: Args, ctx: Context) -> Plan:
    """LINSERT: emulated over the whole list (see _rewrite_list)."""
    key, where, pivot, value = args[1], args[2].upper(), args[3], args[4]
    if where not in (b"BEFORE", b"AFTER"):
        raise BadArgument("ERR syntax error")

    def change(items: list[bytes]) -> tuple[list[bytes], Raw]:
        if not items:
            return items, 0
        if pivot not in items:
            return items, -1
        at = items.index(pivot) + (where == b"AFTER")
        new = [*items[:at], value, *items[at:]]
        return new, len(new)

    return steps(Kind.EMULATE, _rewrite_list(key, change))


def _lpos(args: Args, ctx: Context) -> Plan:
    """LPOS: LRANGE the list and search here. One round trip, O(N)."""
    key, value, opts = args[1], args[2], args[3:]
    named = {opts[i].upper(): as_int(opts[i + 1]) for i in range(0, len(opts) - 1, 2)}
    if len(opts) % 2 or set(named) - {b"RANK", b"COUNT", b"MAXLEN"}:
        raise BadArgument("ERR syntax error")
    rank, count, maxlen = (
        named.get(b"RANK", 1),
        named.get(b"COUNT"),
        named.get(b"MAXLEN", 0),
    )
    if rank == 0:
        raise BadArgument("ERR RANK can't be zero")

    def finish(replies: list[Raw]) -> Raw:
        items = list(replies[0])
        order = range(len(items)) if rank > 0 else range(len(items) - 1, -1, -1)
        found: list[int] = []
        for seen, i in enumerate(order):
            if maxlen and seen >= maxlen:
                break
            if items[i] == value:
                found.append(i)
        found = found[abs(rank) - 1 :]
        if count is None:
            return found[0] if found else None
        return found[:count] if count else found

    return one(Kind.EMULATE, [cmd(b"LRANGE", key, 0, -1)], finish)


def _lmove(args: Args, ctx: Context) -> Plan:
    """LMOVE/BLMOVE: RPOPLPUSH/BRPOPLPUSH for RIGHT LEFT; else pop then push."""
    src, dst, frm, to = args[1], args[2], args[3].upper(), args[4].upper()
    if frm not in (b"LEFT", b"RIGHT") or to not in (b"LEFT", b"RIGHT"):
        raise BadArgument("ERR syntax error")
    if args[0] == b"BLMOVE":
        if (frm, to) != (b"RIGHT", b"LEFT"):
            raise unsupported(
                "BLMOVE", "only RIGHT LEFT (BRPOPLPUSH) blocks on ledisdb"
            )
        return one(Kind.REWRITE, [cmd(b"BRPOPLPUSH", src, dst, args[5])])
    if (frm, to) == (b"RIGHT", b"LEFT"):
        return one(Kind.REWRITE, [cmd(b"RPOPLPUSH", src, dst)])

    def run() -> Steps:
        value = (yield [cmd(b"LPOP" if frm == b"LEFT" else b"RPOP", src)])[0]
        if value is not None:
            yield [cmd(b"LPUSH" if to == b"LEFT" else b"RPUSH", dst, value)]
        return value

    return steps(Kind.EMULATE, run())


# -- sets ---------------------------------------------------------------------
def _spop(args: Args, ctx: Context) -> Plan:
    """SPOP: SMEMBERS, pick here, SREM. Two round trips, O(N), not atomic."""
    key = args[1]
    count = as_int(args[2]) if len(args) > 2 else None
    if count is not None and count < 0:
        raise BadArgument("ERR value is out of range, must be positive")

    def run() -> Steps:
        members = sorted((yield [cmd(b"SMEMBERS", key)])[0])
        chosen = ctx.rng.sample(
            members, min(len(members), 1 if count is None else count)
        )
        if chosen:
            yield [cmd(b"SREM", key, *chosen)]
        if count is None:
            return chosen[0] if chosen else None
        return chosen

    return steps(Kind.EMULATE, run())


def _srandmember(args: Args, ctx: Context) -> Plan:
    """SRANDMEMBER: SMEMBERS and pick here. One round trip, O(N)."""
    count = as_int(args[2]) if len(args) > 2 else None

    def finish(replies: list[Raw]) -> Raw:
        members = sorted(replies[0])
        if count is None:
            return ctx.rng.choice(members) if members else None
        if count < 0:
            return [ctx.rng.choice(members) for _ in range(-count)] if members else []
        return ctx.rng.sample(members, min(count, len(members)))

    return one(Kind.EMULATE, [cmd(b"SMEMBERS", args[1])], finish)


def _smove(args: Args, ctx: Context) -> Plan:
    """SMOVE: SISMEMBER, then SREM + SADD. Two round trips, not atomic."""
    src, dst, member = args[1], args[2], args[3]

    def run() -> Steps:
        if not (yield [cmd(b"SISMEMBER", src, member)])[0]:
            return 0
        yield [cmd(b"SREM", src, member), cmd(b"SADD", dst, member)]
        return 1

    return steps(Kind.EMULATE, run())


def _smismember(args: Args, ctx: Context) -> Plan:
    if len(args) < 3:
        raise IndexError
    batch = [cmd(b"SISMEMBER", args[1], m) for m in args[2:]]
    return one(Kind.REWRITE, batch, lambda replies: list(replies))


# -- sorted sets (int64 scores) -----------------------------------------------
_ZADD_FLAGS = {b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"}


def _zadd(args: Args, ctx: Context) -> Plan:
    """ZADD: native without flags (one round trip); with NX/XX/GT/LT/CH/INCR
    emulated from ZSCOREs (two round trips, not atomic)."""
    key, index, flags = args[1], 2, set()
    while index < len(args) and args[index].upper() in _ZADD_FLAGS:
        flags.add(args[index].upper())
        index += 1
    pairs = args[index:]
    if not pairs or len(pairs) % 2:
        raise BadArgument("ERR syntax error")
    if b"NX" in flags and flags & {b"XX", b"GT", b"LT"}:
        raise BadArgument(
            "ERR GT, LT, and/or NX options at the same time are not compatible"
        )
    if {b"GT", b"LT"} <= flags:
        raise BadArgument(
            "ERR GT, LT, and/or NX options at the same time are not compatible"
        )
    if b"INCR" in flags and len(pairs) > 2:
        raise BadArgument("ERR INCR option supports a single increment-element pair")
    scores = [int(int_score(s, "ZADD")) for s in pairs[::2]]
    members = pairs[1::2]
    if not flags:
        normal = [p for s, m in zip(scores, members, strict=True) for p in (s, m)]
        return one(Kind.REWRITE, [cmd(b"ZADD", key, *normal)])
    unique = list(dict.fromkeys(members))

    def run() -> Steps:
        replies = yield [cmd(b"ZSCORE", key, m) for m in unique]
        current = {
            m: None if r is None else int(r)
            for m, r in zip(unique, replies, strict=True)
        }
        writes: dict[bytes, int] = {}
        added = changed = 0
        result: int | None = None
        for score, member in zip(scores, members, strict=True):
            old = current[member]
            new = old + score if b"INCR" in flags and old is not None else score
            if (b"NX" in flags and old is not None) or (b"XX" in flags and old is None):
                continue
            if old is not None and (
                (b"GT" in flags and new <= old) or (b"LT" in flags and new >= old)
            ):
                continue
            added += old is None
            changed += old is not None and new != old
            current[member] = writes[member] = result = new
        if writes:
            yield [cmd(b"ZADD", key, *[p for m, s in writes.items() for p in (s, m)])]
        if b"INCR" in flags:
            return None if result is None else str(result).encode()
        return added + changed if b"CH" in flags else added

    return steps(Kind.EMULATE, run())


def _zincrby(args: Args, ctx: Context) -> Plan:
    amount = int_score(args[2], "ZINCRBY")
    return one(Kind.REWRITE, [cmd(b"ZINCRBY", args[1], amount, args[3])], _first_bulk)


def _first_bulk(replies: list[Raw]) -> Raw:
    return bulk(replies[0])


def _zscore(args: Args, ctx: Context) -> Plan:
    return one(Kind.PASS, [tuple(args)], _first_bulk)


def _zmscore(args: Args, ctx: Context) -> Plan:
    if len(args) < 3:
        raise IndexError
    batch = [cmd(b"ZSCORE", args[1], m) for m in args[2:]]
    return one(Kind.REWRITE, batch, lambda replies: [bulk(r) for r in replies])


def _zrank(args: Args, ctx: Context) -> Plan:
    """ZRANK/ZREVRANK; WITHSCORE adds a ZSCORE in the same round trip."""
    if len(args) == 3:
        return one(Kind.PASS, [tuple(args)])
    if len(args) != 4 or args[3].upper() != b"WITHSCORE":
        raise BadArgument("ERR syntax error")
    batch = [cmd(args[0], args[1], args[2]), cmd(b"ZSCORE", args[1], args[2])]
    finish = lambda r: None if r[0] is None else [r[0], bulk(r[1])]  # noqa: E731
    return one(Kind.REWRITE, batch, finish)


def _bounded(lower_at: int, upper_at: int) -> Builder:
    """Commands whose score bounds are rewritten for int64 scores."""

    def build(args: Args, ctx: Context) -> Plan:
        out = list(args)
        out[lower_at] = score_bound(args[lower_at], lower=True)
        out[upper_at] = score_bound(args[upper_at], lower=False)
        kind = Kind.PASS if out == list(args) else Kind.REWRITE
        return one(kind, [tuple(out)])

    return build


def _lex_reversed(key: bytes, high: bytes, low: bytes, limit: list[bytes]) -> Plan:
    """ZREVRANGEBYLEX as ZRANGEBYLEX reversed here. One round trip, O(N)."""
    if limit and (len(limit) != 3 or limit[0].upper() != b"LIMIT"):
        raise BadArgument("ERR syntax error")
    offset, count = (as_int(limit[1]), as_int(limit[2])) if limit else (0, -1)

    def finish(replies: list[Raw]) -> Raw:
        items = list(replies[0])[::-1][max(offset, 0) :]
        return items if count < 0 else items[:count]

    return one(Kind.EMULATE, [cmd(b"ZRANGEBYLEX", key, low, high)], finish)


def _zrevrangebylex(args: Args, ctx: Context) -> Plan:
    return _lex_reversed(args[1], args[2], args[3], args[4:])


def _zrange(args: Args, ctx: Context) -> Plan:
    """ZRANGE's BYSCORE/BYLEX/REV/LIMIT forms as ledisdb's older range commands."""
    key, start, stop = args[1], args[2], args[3]
    words: set[bytes] = set()
    limit: list[bytes] = []
    rest = iter(args[4:])
    for option in rest:
        upper = option.upper()
        if upper == b"LIMIT":
            limit = [b"LIMIT", next(rest, b""), next(rest, b"")]
        elif upper in (b"BYSCORE", b"BYLEX", b"REV", b"WITHSCORES"):
            words.add(upper)
        else:
            raise BadArgument("ERR syntax error")
    by_score, by_lex, rev = b"BYSCORE" in words, b"BYLEX" in words, b"REV" in words
    withscores = [b"WITHSCORES"] if b"WITHSCORES" in words else []
    if limit and not (by_score or by_lex):
        raise BadArgument(
            "ERR syntax error, LIMIT is only supported in "
            "combination with either BYSCORE or BYLEX"
        )
    if by_lex:
        if rev:
            return _lex_reversed(key, start, stop, limit)
        return one(Kind.REWRITE, [cmd(b"ZRANGEBYLEX", key, start, stop, *limit)])
    if by_score:
        verb = b"ZREVRANGEBYSCORE" if rev else b"ZRANGEBYSCORE"
        low, high = score_bound(start, lower=not rev), score_bound(stop, lower=rev)
        return one(Kind.REWRITE, [cmd(verb, key, low, high, *withscores, *limit)])
    if rev:
        return one(Kind.REWRITE, [cmd(b"ZREVRANGE", key, start, stop, *withscores)])
    return one(Kind.PASS, [tuple(args)])


def _zpop(args: Args, ctx: Context) -> Plan:
    """ZPOPMIN/ZPOPMAX: range WITHSCORES + ZREMRANGEBYRANK, one round trip
    (not atomic: a member added in between by another client may be removed)."""
    key = args[1]
    count = as_int(args[2]) if len(args) > 2 else 1
    if count < 0:
        raise BadArgument("ERR value is out of range, must be positive")
    if count == 0:
        return answer([])
    if args[0] == b"ZPOPMIN":
        batch = [
            cmd(b"ZRANGE", key, 0, count - 1, b"WITHSCORES"),
            cmd(b"ZREMRANGEBYRANK", key, 0, count - 1),
        ]
    else:
        batch = [
            cmd(b"ZREVRANGE", key, 0, count - 1, b"WITHSCORES"),
            cmd(b"ZREMRANGEBYRANK", key, -count, -1),
        ]
    return one(Kind.EMULATE, batch, lambda r: [bulk(item) for item in r[0]])


def _zstore(args: Args, ctx: Context) -> Plan:
    """ZUNIONSTORE/ZINTERSTORE: WEIGHTS must be int64 like scores."""
    out = list(args)
    words = [a.upper() for a in args]
    if b"WEIGHTS" in words:
        at = words.index(b"WEIGHTS") + 1
        for i in range(at, at + as_int(args[2], "numkeys")):
            out[i] = int_score(args[i], args[0].decode())
    kind = Kind.PASS if out == list(args) else Kind.REWRITE
    return one(kind, [tuple(out)])


CONTAINER_BUILDERS: dict[str, Builder] = {
    "HSET": _hset,
    "HSETNX": _hsetnx,
    "HINCRBYFLOAT": _hincrbyfloat,
    "HSTRLEN": _hstrlen,
    "HSCAN": _member_scan(b"XHSCAN", pairs=True),
    "LPOP": _pop,
    "RPOP": _pop,
    "LPUSHX": _pushx,
    "RPUSHX": _pushx,
    "LREM": _lrem,
    "LINSERT": _linsert,
    "LPOS": _lpos,
    "LMOVE": _lmove,
    "BLMOVE": _lmove,
    "SPOP": _spop,
    "SRANDMEMBER": _srandmember,
    "SMOVE": _smove,
    "SMISMEMBER": _smismember,
    "SSCAN": _member_scan(b"XSSCAN", pairs=False),
    "ZADD": _zadd,
    "ZINCRBY": _zincrby,
    "ZSCORE": _zscore,
    "ZMSCORE": _zmscore,
    "ZRANK": _zrank,
    "ZREVRANK": _zrank,
    "ZCOUNT": _bounded(2, 3),
    "ZREMRANGEBYSCORE": _bounded(2, 3),
    "ZRANGEBYSCORE": _bounded(2, 3),
    "ZREVRANGEBYSCORE": _bounded(3, 2),
    "ZREVRANGEBYLEX": _zrevrangebylex,
    "ZRANGE": _zrange,
    "ZPOPMIN": _zpop,
    "ZPOPMAX": _zpop,
    "ZUNIONSTORE": _zstore,
    "ZINTERSTORE": _zstore,
    "ZSCAN": _member_scan(b"XZSCAN", pairs=True),
}
