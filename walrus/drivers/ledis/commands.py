"""The ledisdb command map: :func:`translate` one Redis command into a :class:`Plan`.

Each builder below takes the packed command (``args[0]`` upper-cased) and a
:class:`Context` and returns a plan (see :mod:`walrus.drivers.ledis.plan`
for the plan kinds and how they run). Costs are stated per family; an
*emulated* command is never atomic. Commands ledisdb cannot serve raise
:class:`~walrus.exceptions.UnsupportedOperation` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from walrus.drivers.ledis.containers import CONTAINER_BUILDERS
from walrus.drivers.ledis.plan import (
    SORTABLE,
    TYPES,
    Args,
    BadArgument,
    Builder,
    Command,
    Context,
    Kind,
    Plan,
    Raw,
    Steps,
    TypeVerbs,
    answer,
    as_float,
    as_int,
    ceil_seconds,
    cmd,
    decode_cursor,
    encode_cursor,
    fail,
    filtered,
    format_float,
    one,
    page,
    scan_options,
    steps,
    unsupported,
    xscan,
)
from walrus.scripts import TWINS

__all__ = ["PASS_THROUGH", "UNSUPPORTED", "translate"]

ARITY = "ERR wrong number of arguments for '{}' command"

# ledisdb answers these exactly as Redis does (engines.md §4.2).
PASS_THROUGH = frozenset(
    [
        "GET",
        "MGET",
        "SETNX",
        "SETEX",
        "INCR",
        "INCRBY",
        "DECR",
        "DECRBY",
        "APPEND",
        "GETRANGE",
        "SETRANGE",
        "STRLEN",
        "GETBIT",
        "SETBIT",
        "BITCOUNT",
        "BITOP",
        "BITPOS",
        "HGET",
        "HMGET",
        "HMSET",
        "HDEL",
        "HEXISTS",
        "HGETALL",
        "HKEYS",
        "HVALS",
        "HLEN",
        "HINCRBY",
        "LPUSH",
        "RPUSH",
        "LLEN",
        "LRANGE",
        "LINDEX",
        "LSET",
        "LTRIM",
        "RPOPLPUSH",
        "BLPOP",
        "BRPOP",
        "BRPOPLPUSH",
        "SADD",
        "SREM",
        "SMEMBERS",
        "SISMEMBER",
        "SCARD",
        "SINTER",
        "SUNION",
        "SDIFF",
        "SINTERSTORE",
        "SUNIONSTORE",
        "SDIFFSTORE",
        "ZREM",
        "ZCARD",
        "ZREVRANGE",
        "ZRANGEBYLEX",
        "ZLEXCOUNT",
        "ZREMRANGEBYRANK",
        "ZREMRANGEBYLEX",
        "PING",
        "ECHO",
        "SELECT",
        "FLUSHDB",
        "FLUSHALL",
        "INFO",
        "TIME",
        "CONFIG",
        "AUTH",
        "EVAL",
        "EVALSHA",
        "SCRIPT",
        "RESTORE",
    ]
)

_REASONS = {
    "ledisdb has no streams": """XADD XRANGE XREVRANGE XLEN XDEL XTRIM XREAD
        XREADGROUP XGROUP XACK XPENDING XCLAIM XAUTOCLAIM XINFO XSETID""",
    "ledisdb has no HyperLogLog": "PFADD PFCOUNT PFMERGE",
    "ledisdb has no pub/sub": """PUBLISH SUBSCRIBE PSUBSCRIBE UNSUBSCRIBE
        PUNSUBSCRIBE PUBSUB SPUBLISH SSUBSCRIBE""",
    "ledisdb has no transactions (MULTI/EXEC/WATCH)": """MULTI EXEC DISCARD
        WATCH UNWATCH""",
    "ledisdb has no BITFIELD": "BITFIELD BITFIELD_RO",
    "ledisdb has no MONITOR": "MONITOR",
    "ledisdb has no blocking sorted-set pops": "BZPOPMIN BZPOPMAX BZMPOP",
    "ledisdb has no hash-field expiry (its HEXPIRE, HTTL and HPERSIST act on "
    "whole hashes)": """HEXPIRE HPEXPIRE HEXPIREAT HPEXPIREAT HTTL HPTTL
        HPERSIST HEXPIRETIME HPEXPIRETIME HGETEX HSETEX HGETDEL""",
    "ledisdb cannot rename, copy or move keys": """RENAME RENAMENX COPY MOVE
        SWAPDB RANDOMKEY OBJECT""",
}
UNSUPPORTED: dict[str, str] = {
    name: reason for reason, names in _REASONS.items() for name in names.split()
}
UNMAPPED = "not in the ledis driver's command map (ledisdb lacks it or differs)"


def translate(args: Sequence[bytes], ctx: Context | None = None) -> Plan:
    """The plan of one Redis command; raises UnsupportedOperation if it has none."""
    if not args:
        raise ValueError("an empty command")
    packed = [args[0].upper(), *args[1:]]
    name = packed[0].decode("ascii", "replace")
    builder = BUILDERS.get(name)
    if builder is None:
        if name in PASS_THROUGH:
            return one(Kind.PASS, [tuple(packed)])
        raise unsupported(name, UNSUPPORTED.get(name, UNMAPPED))
    try:
        return builder(packed, ctx or Context())
    except BadArgument as exc:
        return fail(str(exc))
    except IndexError:
        return fail(ARITY.format(name.lower()))


# -- keyspace: one command per type namespace (DISPATCH) ----------------------
def _probe(key: bytes) -> list[Command]:
    return [cmd(t.exists, key) for t in TYPES]


def _held(replies: Sequence[Raw]) -> list[TypeVerbs]:
    return [t for t, r in zip(TYPES, replies, strict=False) if r]


def _delete(args: Args, ctx: Context) -> Plan:
    """DEL/UNLINK: a clear per type per key, one round trip."""
    keys = args[1:]
    if not keys:
        raise IndexError
    n = len(TYPES)

    def finish(replies: list[Raw]) -> Raw:
        return sum(any(replies[i * n : (i + 1) * n]) for i in range(len(keys)))

    return one(Kind.DISPATCH, [cmd(t.clear, k) for k in keys for t in TYPES], finish)


def _exists(args: Args, ctx: Context) -> Plan:
    """EXISTS: the five KEYEXISTS probes per key, one round trip."""
    keys = args[1:]
    if not keys:
        raise IndexError
    n = len(TYPES)

    def finish(replies: list[Raw]) -> Raw:
        return sum(any(replies[i * n : (i + 1) * n]) for i in range(len(keys)))

    return one(Kind.DISPATCH, [c for k in keys for c in _probe(k)], finish)


def _type(args: Args, ctx: Context) -> Plan:
    """TYPE: probe the namespaces; the first holding the key names it."""
    held = lambda replies: next((t.name for t in _held(replies)), b"none")  # noqa: E731
    return one(Kind.DISPATCH, _probe(args[1]), held)


def _ttl_of(replies: Sequence[Raw]) -> int:
    """Seconds left from probes + TTLs of one key: -2 missing, -1 no expiry."""
    n = len(TYPES)
    held = [replies[n + i] for i in range(n) if replies[i]]
    if not held:
        return -2
    return max(-1, int(held[0]))


def _ttl(args: Args, ctx: Context) -> Plan:
    """TTL/PTTL: probes and per-type TTLs in one round trip (seconds resolution)."""
    key, scale = args[1], 1000 if args[0] == b"PTTL" else 1

    def finish(replies: list[Raw]) -> Raw:
        ttl = _ttl_of(replies)
        return ttl if ttl < 0 else ttl * scale

    return one(Kind.DISPATCH, _probe(key) + [cmd(t.ttl, key) for t in TYPES], finish)


def _persist(args: Args, ctx: Context) -> Plan:
    batch = [cmd(t.persist, args[1]) for t in TYPES]
    return one(Kind.DISPATCH, batch, lambda replies: int(any(replies)))


def _expire(args: Args, ctx: Context) -> Plan:
    """EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT: per-type verbs, in whole seconds.

    Milliseconds round up; a time already past deletes the key. One round
    trip, two with NX/XX/GT/LT (emulated from a TTL probe: not atomic).
    """
    name, key = args[0], args[1]
    amount = as_int(args[2], "value")
    absolute = name.endswith(b"AT")
    seconds = ceil_seconds(amount) if name.startswith(b"P") else amount
    left = seconds - int(ctx.now()) if absolute else seconds
    flags = {a.upper() for a in args[3:]}
    if flags - {b"NX", b"XX", b"GT", b"LT"} or len(flags) > 1:
        raise BadArgument(
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        )
    if left <= 0:
        verbs = [cmd(t.clear, key) for t in TYPES]
    elif absolute:
        verbs = [cmd(t.expireat, key, seconds) for t in TYPES]
    else:
        verbs = [cmd(t.expire, key, seconds) for t in TYPES]
    if not flags:
        return one(Kind.DISPATCH, verbs, lambda replies: int(any(replies)))
    (flag,) = flags

    def run() -> Steps:
        current = _ttl_of((yield _probe(key) + [cmd(t.ttl, key) for t in TYPES]))
        allowed = {
            b"NX": current == -1,
            b"XX": current >= 0,
            b"GT": current >= 0 and left > current,
            b"LT": current == -1 or left < current,
        }[flag]
        if current == -2 or not allowed:
            return 0
        yield verbs
        return 1

    return steps(Kind.EMULATE, run())


def _dump(args: Args, ctx: Context) -> Plan:
    """DUMP: probe, then the holding type's own DUMP (ledisdb's format)."""

    def run() -> Steps:
        held = _held((yield _probe(args[1])))
        if not held:
            return None
        return (yield [cmd(held[0].dump, args[1])])[0]

    return steps(Kind.DISPATCH, run())


def _sort(args: Args, ctx: Context) -> Plan:
    """SORT: XLSORT/XSSORT/XZSORT (same options) on the key's type."""
    key, rest = args[1], args[2:]

    def run() -> Steps:
        replies = yield [cmd(t.exists, key) for t in TYPES if t.name in SORTABLE]
        kinds = [t for t in TYPES if t.name in SORTABLE]
        held = [t for t, r in zip(kinds, replies, strict=True) if r]
        if not held:
            return 0 if b"STORE" in [a.upper() for a in rest] else []
        return (yield [cmd(SORTABLE[held[0].name], key, *rest)])[0]

    return steps(Kind.DISPATCH, run())


def _scan(args: Args, ctx: Context) -> Plan:
    """SCAN: XSCAN over the five namespaces in turn; one round trip per call.

    The Redis cursor encodes (namespace, ledisdb key cursor); MATCH is a
    glob applied here (ledisdb's MATCH is a regexp). A key held by several
    namespaces is returned once per namespace.
    """
    slot, position = decode_cursor(args[1])
    match, count, kind = scan_options(args[2:])
    slots = [i for i, t in enumerate(TYPES) if kind in (None, t.name)]
    if slot not in slots:
        later = [s for s in slots if s > slot]
        if not later:
            return answer([b"0", []])
        slot, position = later[0], b""

    def finish(replies: list[Raw]) -> Raw:
        following, keys = page(replies[0], position)
        later = [s for s in slots if s > slot]
        if following:
            cursor = encode_cursor(slot, following)
        else:
            cursor = encode_cursor(later[0], b"") if later else b"0"
        return [cursor, filtered(keys, match)]

    batch = [xscan(b"XSCAN", [TYPES[slot].scan], position, count)]
    return one(Kind.EMULATE, batch, finish)


def _all_keys(match: bytes | None) -> Steps:
    found: dict[bytes, None] = {}
    for verbs in TYPES:
        position = b""
        while True:
            reply = (yield [xscan(b"XSCAN", [verbs.scan], position, 1000)])[0]
            position, keys = page(reply, position)
            found.update(dict.fromkeys(filtered(keys, match)))
            if not position:
                break
    return list(found)


def _keys(args: Args, ctx: Context) -> Plan:
    """KEYS: every namespace scanned to the end, 1,000 keys per round trip."""
    return steps(Kind.EMULATE, _all_keys(args[1]))


def _dbsize(args: Args, ctx: Context) -> Plan:
    """DBSIZE: a full scan (ledisdb has no DBSIZE); O(N), N/1000 round trips."""

    def run() -> Steps:
        return len((yield from _all_keys(None)))

    return steps(Kind.EMULATE, run())


# -- strings ------------------------------------------------------------------
def _write(key: bytes, value: bytes, ttl: int | None, at: int | None) -> list[Command]:
    """Commands storing a string with Redis's expiry semantics.

    ``ttl`` > 0 sets it, ``None`` clears any old expiry (PERSIST: Redis's
    SET does, ledisdb's SET may not); ``at`` is an absolute time.
    """
    if at is not None:
        return [cmd(b"SET", key, value), cmd(b"EXPIREAT", key, at)]
    if ttl is None:
        return [cmd(b"SET", key, value), cmd(b"PERSIST", key)]
    return [cmd(b"SETEX", key, ttl, value)]


def _set(args: Args, ctx: Context) -> Plan:
    """SET with options: SET+PERSIST, SETEX, SETNX(+EXPIRE), or emulated.

    Plain SET and SET EX/PX are one round trip; NX is SETNX then EXPIRE (two,
    the key lives without expiry in between); XX, GET and KEEPTTL read first.
    """
    key, value = args[1], args[2]
    ttl: int | None = None
    at: int | None = None
    flags: set[bytes] = set()
    rest = iter(args[3:])
    for option in rest:
        upper = option.upper()
        if upper in (b"EX", b"PX", b"EXAT", b"PXAT"):
            number = as_int(next(rest, b"x"))
            if number <= 0:
                raise BadArgument("ERR invalid expire time in 'set' command")
            seconds = ceil_seconds(number) if upper.startswith(b"P") else number
            if upper.endswith(b"AT"):
                at = seconds
            else:
                ttl = seconds
        elif upper in (b"NX", b"XX", b"GET", b"KEEPTTL"):
            flags.add(upper)
        else:
            raise BadArgument("ERR syntax error")
    if not flags:
        return one(Kind.REWRITE, _write(key, value, ttl, at))
    if flags == {b"NX"}:

        def set_nx() -> Steps:
            if not (yield [cmd(b"SETNX", key, value)])[0]:
                return None
            if at is not None:
                yield [cmd(b"EXPIREAT", key, at)]
            elif ttl is not None:
                yield [cmd(b"EXPIRE", key, ttl)]
            return b"OK"

        return steps(Kind.EMULATE, set_nx())

    def run() -> Steps:
        exists, old, left = yield [
            cmd(b"EXISTS", key),
            cmd(b"GET", key),
            cmd(b"TTL", key),
        ]
        reply = old if b"GET" in flags else b"OK"
        if (b"NX" in flags and exists) or (b"XX" in flags and not exists):
            return old if b"GET" in flags else None
        keep = b"KEEPTTL" in flags and ttl is None and at is None and left > 0
        yield _write(key, value, left if keep else ttl, at)
        return reply

    return steps(Kind.EMULATE, run())


def _mset(args: Args, ctx: Context) -> Plan:
    """MSET and PERSIST of each key (Redis clears their expiry). One round trip."""
    persist = [cmd(b"PERSIST", k) for k in args[1::2]]
    return one(Kind.REWRITE, [tuple(args), *persist])


def _msetnx(args: Args, ctx: Context) -> Plan:
    """MSETNX: EXISTS each, then MSET. Two round trips, not atomic."""
    keys = args[1::2]

    def run() -> Steps:
        if any((yield [cmd(b"EXISTS", k) for k in keys])):
            return 0
        yield [cmd(b"MSET", *args[1:]), *[cmd(b"PERSIST", k) for k in keys]]
        return 1

    return steps(Kind.EMULATE, run())


def _psetex(args: Args, ctx: Context) -> Plan:
    ttl = ceil_seconds(as_int(args[2]))
    return one(Kind.REWRITE, [cmd(b"SETEX", args[1], ttl, args[3])])


def _getset(args: Args, ctx: Context) -> Plan:
    return one(Kind.REWRITE, [tuple(args), cmd(b"PERSIST", args[1])])


def _getdel(args: Args, ctx: Context) -> Plan:
    """GETDEL: GET and DEL in one round trip (not atomic)."""
    return one(Kind.REWRITE, [cmd(b"GET", args[1]), cmd(b"DEL", args[1])])


def _getex(args: Args, ctx: Context) -> Plan:
    """GETEX: GET plus EXPIRE/EXPIREAT/PERSIST, one round trip (not atomic)."""
    key, batch = args[1], [cmd(b"GET", args[1])]
    if len(args) > 2:
        option = args[2].upper()
        if option == b"PERSIST":
            batch.append(cmd(b"PERSIST", key))
        else:
            number = as_int(args[3])
            seconds = ceil_seconds(number) if option.startswith(b"P") else number
            verb = b"EXPIREAT" if option.endswith(b"AT") else b"EXPIRE"
            batch.append(cmd(verb, key, seconds))
    return one(Kind.REWRITE, batch)


def _incrbyfloat(args: Args, ctx: Context) -> Plan:
    """INCRBYFLOAT: GET, add here, SET (keeping the TTL). Two round trips."""
    key, amount = args[1], as_float(args[2])

    def run() -> Steps:
        old, left = yield [cmd(b"GET", key), cmd(b"TTL", key)]
        value = format_float((as_float(old) if old is not None else 0.0) + amount)
        yield _write(key, value, left if left > 0 else None, None)
        return value

    return steps(Kind.EMULATE, run())


# -- named operations: Python twins, run client-side --------------------------
def _named_operation(args: Args, ctx: Context) -> Plan:
    """WALRUS.OP name numkeys key... arg...: the operation's Python twin, run
    here with each of its commands translated; not atomic (see the docs)."""
    name = args[1].decode()
    numkeys = as_int(args[2], "numkeys")
    keys, argv = args[3 : 3 + numkeys], args[3 + numkeys :]
    twin = TWINS.get(name)
    if twin is None:
        raise BadArgument(f"ERR no named operation {name!r}")
    return Plan(Kind.EMULATE, None, False, local=lambda call: twin(call, keys, argv))


BUILDERS: dict[str, Builder] = {
    "DEL": _delete,
    "UNLINK": _delete,
    "EXISTS": _exists,
    "TYPE": _type,
    "TTL": _ttl,
    "PTTL": _ttl,
    "PERSIST": _persist,
    "EXPIRE": _expire,
    "PEXPIRE": _expire,
    "EXPIREAT": _expire,
    "PEXPIREAT": _expire,
    "DUMP": _dump,
    "SORT": _sort,
    "SCAN": _scan,
    "KEYS": _keys,
    "DBSIZE": _dbsize,
    "SET": _set,
    "MSET": _mset,
    "MSETNX": _msetnx,
    "PSETEX": _psetex,
    "GETSET": _getset,
    "GETDEL": _getdel,
    "GETEX": _getex,
    "INCRBYFLOAT": _incrbyfloat,
    "WALRUS.OP": _named_operation,
    **CONTAINER_BUILDERS,
}
