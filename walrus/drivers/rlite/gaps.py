"""What rlite lacks or would crash on, filled in by the rlite driver.

rlite answers most Redis commands natively (engines.md §2.3). This module
holds, per command name, a *gap*: a Python function that produces Redis's
reply from commands rlite does have (SCAN from KEYS plus a cursor snapshot,
multi-key EXISTS, multi-pair HSET, ZPOPMIN ...), and :func:`run_guarded`,
which keeps raw Lua (a native crash trigger, engines.md §2.2) away from the
engine. SORT, another (a numeric sort of an empty string, GET with STORE), is
emulated (:mod:`walrus.drivers.rlite.emulated`). Gaps run with
the database lock held, so each is atomic among the process's threads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.emulation.engine import INT64_MAX, INT64_MIN, NOT_INT
from walrus.drivers.glob import glob_match

__all__ = [
    "GAPS",
    "MAGIC",
    "TYPE_CHECKS",
    "CursorTable",
    "is_stream",
    "run_guarded",
]

# The end of every stream's value (walrus.drivers.rlite.streams keeps streams
# in rlite strings): string commands on a stream key answer WRONGTYPE.
MAGIC = b"\x00walrus-stream\x00"
_INT = re.compile(rb"0|-?[1-9][0-9]{0,18}")


def stored_int(raw: bytes) -> int | None:
    """A stored value as Redis reads an integer (no sign on 0, no leading 0,
    64 bits), or None."""
    if _INT.fullmatch(raw) is None:
        return None
    value = int(raw)
    return value if INT64_MIN <= value <= INT64_MAX else None


class CursorTable:
    """What stands behind SCAN-family cursors, in bounded memory.

    A scan walks a snapshot sorted by key (or member). Each cursor remembers
    the last item it returned and, while memory allows, the rest of its
    snapshot. Snapshots are dropped oldest first once they hold more than
    ``max_items`` items in all (abandoned scans cost nothing after that); a
    cursor whose snapshot was dropped resumes from a fresh one, after its last
    item. Either way every item present for the whole scan is returned once,
    as Redis guarantees.
    """

    max_cursors = 4096  # resume points kept (one item each)
    max_items = 200_000  # snapshot items kept, all cursors together

    def __init__(self) -> None:
        self._next = 0
        self._cursors: dict[int, tuple[Any, list[Any] | None]] = {}
        self._held = 0  # items held in snapshots

    def save(self, last: Any, rest: list[Any]) -> int:
        """A new cursor resuming after ``last``, ``rest`` of its snapshot to go."""
        self._next += 1
        self._cursors[self._next] = (last, rest)
        self._held += len(rest)
        for cursor in list(self._cursors):
            if self._held <= self.max_items and len(self._cursors) <= self.max_cursors:
                break
            resume, held = self._cursors[cursor]
            if len(self._cursors) > self.max_cursors:
                del self._cursors[cursor]
            elif held is not None:
                self._cursors[cursor] = (resume, None)
            self._held -= len(held or [])
        return self._next

    def take(self, cursor: int) -> tuple[Any, list[Any] | None] | None:
        """(last item returned, the rest of the snapshot or None if dropped),
        or None for a cursor this table never gave (or forgot long ago)."""
        state = self._cursors.pop(cursor, None)
        if state is not None:
            self._held -= len(state[1] or [])
        return state


class RawEngine(Protocol):
    cursors: CursorTable
    selected: int  # the numbered database rlite has selected
    expiring: bool  # a key may have a TTL (always, on a file)

    def raw(
        self, args: Command, check: tuple[bytes, int, int] | None = None
    ) -> Reply: ...

    def raw_many(self, commands: list[Command]) -> list[Reply]: ...


Gap = Callable[[RawEngine, Command], Reply]
GAPS: dict[bytes, Gap] = {}


def gap(*names: str) -> Callable[[Gap], Gap]:
    def register(fn: Gap) -> Gap:
        for name in names:
            GAPS[name.encode()] = fn
        return fn

    return register


def arity_error(name: str) -> ErrorReply:
    return ErrorReply(f"ERR wrong number of arguments for '{name.lower()}' command")


SYNTAX = ErrorReply("ERR syntax error")


def _options(
    args: Command, start: int, names: tuple[bytes, ...]
) -> dict[bytes, bytes] | None:
    """``NAME value`` options from ``args[start:]``; None on an unknown word."""
    found: dict[bytes, bytes] = {}
    i = start
    while i < len(args):
        word = args[i].upper()
        if word not in names or i + 1 >= len(args):
            return None
        found[word] = args[i + 1]
        i += 2
    return found


# -- keys ------------------------------------------------------------------------
def _live(engine: RawEngine, keys: list[bytes]) -> list[bytes]:
    """Drop keys that have expired (rlite's KEYS and DBSIZE still list them):
    none can while no key of the engine has had a TTL (``engine.expiring``)."""
    if not engine.expiring:
        return keys
    return [k for k in keys if engine.raw([b"EXISTS", k]) == 1]


def _matching(engine: RawEngine, pattern: bytes) -> Reply:
    """Keys matching ``pattern``: rlite's own matcher crashes natively when an
    empty key exists (found by the fuzz test), so match in Python."""
    keys = engine.raw([b"KEYS", b"*"])
    if isinstance(keys, ErrorReply) or pattern == b"*":
        return keys
    return [k for k in keys if glob_match(pattern, k)]


@gap("KEYS")
def _keys(engine: RawEngine, args: Command) -> Reply:
    if len(args) != 2:
        return arity_error("keys")
    keys = _matching(engine, args[1])
    return keys if isinstance(keys, ErrorReply) else _live(engine, keys)


@gap("DBSIZE")
def _dbsize(engine: RawEngine, args: Command) -> Reply:
    if not engine.expiring and len(args) == 1:  # none expired: rlite counts right
        return engine.raw(args)
    keys = engine.raw([b"KEYS", b"*"])
    return keys if isinstance(keys, ErrorReply) else len(_live(engine, keys))


def _page(
    engine: RawEngine,
    args: Command,
    start: int,
    snapshot: Callable[[], Reply],
    keep: Callable[[list[Any], bool], list[bytes]],
) -> Reply:
    """One SCAN-family page: a snapshot on cursor 0, then slices of it, sorted
    when it takes more than one page (so an evicted cursor can resume after its
    last item). ``keep(page, fresh)`` shapes a page; ``fresh``: its items were
    read by this very command, so they are current."""
    try:
        cursor = int(args[start])
    except ValueError:
        return ErrorReply("ERR invalid cursor")
    options = _options(args, start + 1, (b"MATCH", b"COUNT", b"TYPE", b"NOVALUES"))
    if options is None:
        return SYNTAX
    try:
        count = int(options.get(b"COUNT", b"10"))
    except ValueError:
        return ErrorReply("ERR value is not an integer or out of range")
    if count < 1:
        return SYNTAX
    fresh = cursor == 0
    if fresh:
        items = snapshot()
        if isinstance(items, ErrorReply):
            return items
        if len(items) > count:
            items.sort(key=_order)
    else:
        state = engine.cursors.take(cursor)
        if state is None:
            return ErrorReply("ERR invalid cursor")
        last, items = state
        if items is None:  # its snapshot was dropped: resume after its last item
            current = snapshot()
            if isinstance(current, ErrorReply):
                return current
            after = _order(last)
            items = sorted((i for i in current if _order(i) > after), key=_order)
            fresh = True
    page, rest = items[:count], items[count:]
    next_cursor = engine.cursors.save(page[-1], rest) if rest else 0
    return [str(next_cursor).encode(), keep(page, fresh)]


def _order(item: Any) -> bytes:
    """An item's place in a scan's order (a key, a member, or a pair's member)."""
    return item[0] if isinstance(item, tuple) else item  # type: ignore[no-any-return]


@gap("SCAN")
def _scan(engine: RawEngine, args: Command) -> Reply:
    if len(args) < 2:
        return arity_error("scan")
    options = _options(args, 2, (b"MATCH", b"COUNT", b"TYPE"))
    if options is None:
        return SYNTAX
    pattern = options.get(b"MATCH", b"*")
    kind = options.get(b"TYPE")

    def snapshot() -> Reply:
        return _matching(engine, pattern)

    def keep(page: list[bytes], fresh: bool) -> list[bytes]:
        page = _live(engine, page)
        if kind is not None:
            # through TYPE's gap, which knows emulated types (streams)
            page = [k for k in page if send(engine, [b"TYPE", k]) == kind.lower()]
        return page

    return _page(engine, args, 1, snapshot, keep)


def _now(engine: RawEngine, fetch: bytes, key: bytes, members: list[bytes]) -> Reply:
    """The current value of each member (None: gone since the snapshot)."""
    if not members:
        return []
    if fetch == b"HGETALL":
        return engine.raw([b"HMGET", key, *members])
    if fetch == b"ZRANGE":
        return [engine.raw([b"ZSCORE", key, m]) for m in members]
    return [b"" if engine.raw([b"SISMEMBER", key, m]) == 1 else None for m in members]


def _collection_scan(fetch: bytes, pairs: bool) -> Gap:
    """HSCAN/SSCAN/ZSCAN: members from a snapshot taken at cursor 0 (sorted,
    so an evicted cursor can resume), each page showing only members still
    there, with their values as they are now (as Redis's SCAN does)."""

    def scan(engine: RawEngine, args: Command) -> Reply:
        if len(args) < 3:
            return arity_error(f"{fetch.decode()}-scan")
        options = _options(args, 3, (b"MATCH", b"COUNT", b"NOVALUES"))
        if options is None:
            return SYNTAX
        pattern = options.get(b"MATCH", b"*")
        read = [fetch, args[1]] + (
            [b"0", b"-1", b"WITHSCORES"] if fetch == b"ZRANGE" else []
        )

        def snapshot() -> Reply:
            items = send(engine, read)
            if isinstance(items, ErrorReply):
                return items
            if not pairs:
                return list(items)
            return list(zip(items[::2], items[1::2], strict=True))

        def keep(page: list[Any], fresh: bool) -> list[bytes]:
            if fresh:  # read by this command: members and values are current
                matching = page
                if pattern != b"*":
                    matching = [i for i in page if glob_match(pattern, _order(i))]
                return (
                    [part for pair in matching for part in pair] if pairs else matching
                )
            members = [item[0] if pairs else item for item in page]
            members = [m for m in members if glob_match(pattern, m)]
            current = _now(engine, fetch, args[1], members)
            if isinstance(current, ErrorReply):
                return []
            out: list[bytes] = []
            for member, value in zip(members, current, strict=True):
                if value is not None:
                    out += [member, value] if pairs else [member]
            return out

        return _page(engine, args, 2, snapshot, keep)

    return scan


GAPS[b"HSCAN"] = _collection_scan(b"HGETALL", pairs=True)
GAPS[b"SSCAN"] = _collection_scan(b"SMEMBERS", pairs=False)
GAPS[b"ZSCAN"] = _collection_scan(b"ZRANGE", pairs=True)


@gap("EXISTS", "TOUCH")
def _exists(engine: RawEngine, args: Command) -> Reply:
    if len(args) < 2:
        return arity_error(args[0].decode())
    return sum(engine.raw([b"EXISTS", k]) == 1 for k in args[1:])


def _missing_is_zero(engine: RawEngine, args: Command) -> Reply:
    """rlite errors ("unknown retval") on some removals from a missing key."""
    if len(args) >= 3 and engine.raw([b"EXISTS", args[1]]) == 0:
        return 0
    return engine.raw(args)


for _name in (b"SREM", b"ZREM", b"HDEL"):
    GAPS[_name] = _missing_is_zero


def emptied(reply: Reply) -> bool:
    """rlite reports "unknown retval" when a command empties (deletes) a list."""
    return isinstance(reply, ErrorReply) and "unknown retval" in reply.message


@gap("LREM")
def _lrem(engine: RawEngine, args: Command) -> Reply:
    if len(args) != 4:
        return arity_error("lrem")
    before = engine.raw([b"LLEN", args[1]])
    if before == 0:
        return 0
    reply = engine.raw(args)
    return before if emptied(reply) else reply


@gap("LTRIM")
def _ltrim(engine: RawEngine, args: Command) -> Reply:
    reply = engine.raw(args)
    return b"OK" if emptied(reply) else reply


WRONGTYPE = ErrorReply(
    "WRONGTYPE Operation against a key holding the wrong kind of value"
)


def _type_checked(kind: bytes, first: int, last: int | None = None) -> Gap:
    """A command that must refuse keys of another type, as Redis does.

    rlite skips the check in set algebra (a wrong result) and in the ZRANGE
    family (a native crash, found by the differential tests). The keys'
    TYPE and the command go to rlite in one native call (``raw``'s check).
    """

    def checked(engine: RawEngine, args: Command) -> Reply:
        return engine.raw(args, (kind, first, len(args) if last is None else last))

    return checked


# name -> (type, first key, end of the keys or None for the last argument);
# ZRANGEBYSCORE and ZREVRANGEBYSCORE check in their own gap (collection_gaps)
TYPE_CHECKS: dict[bytes, tuple[bytes, int, int | None]] = {
    b"SUNION": (b"set", 1, None),
    b"SDIFF": (b"set", 1, None),
    **{
        name: (b"zset", 1, 2)
        for name in (
            b"ZRANGE",
            b"ZREVRANGE",
            b"ZRANGEBYLEX",
            b"ZREVRANGEBYLEX",
        )
    },
}
for _name, _check in TYPE_CHECKS.items():
    GAPS[_name] = _type_checked(*_check)


@gap("INCR", "DECR", "INCRBY", "DECRBY")
def _incr(engine: RawEngine, args: Command) -> Reply:
    """INCR/DECR family: rlite crashes natively on an empty string, reads a
    value with a NUL byte (or a stream's encoding) as a number and does not
    check overflow; so the value is checked first, as Redis checks it (the
    increment's shape was checked by the routing)."""
    name = args[0].upper()
    if len(args) != (2 if name in (b"INCR", b"DECR") else 3):
        return arity_error(name.decode())
    current = engine.raw([b"GET", args[1]])
    if isinstance(current, ErrorReply):
        return current
    value = 0 if current is None else stored_int(current)
    if value is None:
        return WRONGTYPE if current.endswith(MAGIC) else ErrorReply(NOT_INT)
    step = 1 if len(args) == 2 else int(args[2])
    total = value - step if name.startswith(b"DECR") else value + step
    if not INT64_MIN <= total <= INT64_MAX:
        return ErrorReply("ERR increment or decrement would overflow")
    return run_guarded(engine, args)


@gap("HINCRBY")
def _hincrby(engine: RawEngine, args: Command) -> Reply:
    """rlite reads a field holding ``01``, ``-0``, ``''`` or a NUL byte as a
    number; Redis refuses it (the increment's shape was checked by the
    routing; rlite checks overflow itself)."""
    if len(args) != 4:
        return arity_error("hincrby")
    current = engine.raw([b"HGET", args[1], args[2]])
    if isinstance(current, ErrorReply):
        return current
    if current is not None and stored_int(current) is None:
        return ErrorReply("ERR hash value is not an integer")
    return run_guarded(engine, args)


def is_stream(engine: RawEngine, key: bytes) -> bool:
    """Whether the string at ``key`` holds a stream (reads its last bytes)."""
    tail = engine.raw([b"GETRANGE", key, str(-len(MAGIC)).encode(), b"-1"])
    return bool(tail == MAGIC)


@gap("RENAME", "RENAMENX")
def _rename(engine: RawEngine, args: Command) -> Reply:
    """rlite answers "unknown retval 3" for a missing source and for a key
    renamed to itself; Redis: "no such key", and OK (RENAMENX: 0)."""
    if len(args) != 3:
        return arity_error(args[0].decode())
    if engine.raw([b"EXISTS", args[1]]) != 1:
        return ErrorReply("ERR no such key")
    if args[1] == args[2]:
        return 0 if args[0].upper() == b"RENAMENX" else b"OK"
    return run_guarded(engine, args)


@gap("LSET")
def _lset(engine: RawEngine, args: Command) -> Reply:
    """rlite capitalizes "No such key"."""
    reply = run_guarded(engine, args)
    if isinstance(reply, ErrorReply) and reply.message == "ERR No such key":
        return ErrorReply("ERR no such key")
    return reply


@gap("GETRANGE")
def _getrange(engine: RawEngine, args: Command) -> Reply:
    """rlite answers nil for a missing key; Redis an empty string."""
    reply = run_guarded(engine, args)
    return b"" if reply is None else reply


@gap("ZINCRBY")
def _zincrby(engine: RawEngine, args: Command) -> Reply:
    """rlite answers 0 to an increment of 0; the new score is what Redis answers."""
    reply = _type_checked(b"zset", 1, 2)(engine, args)
    if isinstance(reply, ErrorReply) or len(args) != 4:
        return reply
    return engine.raw([b"ZSCORE", args[1], args[3]])


@gap("MSETNX")
def _msetnx(engine: RawEngine, args: Command) -> Reply:
    """rlite answers an error (after setting the first value) when a key repeats."""
    if len(args) < 3 or len(args) % 2 == 0:
        return arity_error("msetnx")
    if any(engine.raw([b"EXISTS", key]) == 1 for key in set(args[1::2])):
        return 0
    engine.raw([b"MSET", *args[1:]])
    return 1


@gap("LINSERT")
def _linsert(engine: RawEngine, args: Command) -> Reply:
    """rlite answers -1 for a missing key (Redis: 0) and takes any word for
    BEFORE|AFTER (Redis: a syntax error)."""
    if len(args) != 5:
        return arity_error("linsert")
    if args[2].upper() not in (b"BEFORE", b"AFTER"):
        return SYNTAX
    if engine.raw([b"EXISTS", args[1]]) == 0:
        return 0
    return run_guarded(engine, args)


@gap("UNLINK")
def _unlink(engine: RawEngine, args: Command) -> Reply:
    return engine.raw([b"DEL", *args[1:]])


@gap("GETDEL")
def _getdel(engine: RawEngine, args: Command) -> Reply:
    if len(args) != 2:
        return arity_error("getdel")
    value = engine.raw([b"GET", args[1]])
    if value is not None and not isinstance(value, ErrorReply):
        if value.endswith(MAGIC):
            return WRONGTYPE
        engine.raw([b"DEL", args[1]])
    return value


@gap("SET")
def _set(engine: RawEngine, args: Command) -> Reply:
    """SET with the options rlite lacks, GET and KEEPTTL (EXAT and PXAT are
    emulated); GET of a stream is WRONGTYPE, as in Redis."""
    if len(args) == 3 or (
        len(args) == 5 and args[3].upper() in (b"EX", b"PX") and args[4].isdigit()
    ):
        return engine.raw(args)  # no option, or EX/PX alone (the usual ones)
    words = [a.upper() for a in args[3:]]
    if b"GET" not in words and b"KEEPTTL" not in words:
        return engine.raw(args)
    key, plain = args[1], [args[0], args[1], args[2]]
    keep_ttl, want_old, i = False, False, 3
    while i < len(args):
        word = words[i - 3]
        if word == b"GET":
            want_old = True
        elif word == b"KEEPTTL":
            keep_ttl = True
        else:
            plain.append(args[i])
            if word in (b"EX", b"PX") and i + 1 < len(args):
                plain.append(args[i + 1])
                i += 1
        i += 1
    old: Reply = None
    if want_old:
        old = engine.raw([b"GET", key])
        if isinstance(old, ErrorReply):
            return old
        if old is not None and old.endswith(MAGIC):
            return WRONGTYPE
    ttl = engine.raw([b"PTTL", key]) if keep_ttl else -1
    reply = engine.raw(plain)
    if isinstance(reply, ErrorReply):
        return reply
    if keep_ttl and reply is not None and isinstance(ttl, int) and ttl > 0:
        engine.raw([b"PEXPIRE", key, str(ttl).encode()])
    return old if want_old else reply


def _zpop(reverse: bool) -> Gap:
    """ZPOPMIN/ZPOPMAX without a count (a count is emulated): rlite has none."""

    def zpop(engine: RawEngine, args: Command) -> Reply:
        if len(args) != 2:
            return arity_error("zpopmax" if reverse else "zpopmin")
        if engine.raw([b"TYPE", args[1]]) not in (b"none", b"zset"):
            return WRONGTYPE
        read = b"ZREVRANGE" if reverse else b"ZRANGE"
        items = engine.raw([read, args[1], b"0", b"0", b"WITHSCORES"])
        if isinstance(items, ErrorReply) or not items:
            return items
        engine.raw([b"ZREM", args[1], *items[::2]])
        return items

    return zpop


GAPS[b"ZPOPMIN"] = _zpop(reverse=False)
GAPS[b"ZPOPMAX"] = _zpop(reverse=True)


# -- guards against native crashes -------------------------------------------------
# rlite drops a key's TTL when these change it; Redis keeps it (found by the
# differential tests; engines.md does not list it).
KEEPS_TTL = {
    name: positions
    for positions, names in (
        (
            (1,),
            "APPEND HSET HMSET HDEL HINCRBY HINCRBYFLOAT HSETNX LPUSH RPUSH LPUSHX "
            "RPUSHX LPOP RPOP SADD SREM SPOP ZADD ZINCRBY ZREM ZREMRANGEBYRANK "
            "ZREMRANGEBYSCORE ZREMRANGEBYLEX PFADD",
        ),
        ((1, 2), "SMOVE RPOPLPUSH LMOVE"),
    )
    for name in names.encode().split()
}


def send(engine: RawEngine, args: Command) -> Reply:
    """Run a command through its gap, if it has one, else guarded; keep TTLs
    (while a key of the engine may have one)."""
    name = args[0].upper()
    fill = GAPS.get(name)
    positions = KEEPS_TTL.get(name)
    if positions is None or len(args) <= max(positions) or not engine.expiring:
        return fill(engine, args) if fill is not None else run_guarded(engine, args)
    keys = {args[i] for i in positions}
    ttls = {k: engine.raw([b"PTTL", k]) for k in keys}
    reply = fill(engine, args) if fill is not None else run_guarded(engine, args)
    for key, ttl in ttls.items():
        if isinstance(ttl, int) and ttl > 0 and engine.raw([b"PTTL", key]) == -1:
            engine.raw([b"PEXPIRE", key, str(ttl).encode()])
    return reply


def run_guarded(engine: RawEngine, args: Command) -> Reply:
    """Send a command rlite has, unless it is one that crashes rlite natively."""
    name = args[0].upper()
    if name in (b"EVAL", b"EVALSHA", b"EVAL_RO", b"EVALSHA_RO", b"SCRIPT"):
        # raw Lua can crash rlite: scripts run on walrus.drivers.lua.scripting
        return ErrorReply(f"ERR {name.decode()} cannot run here (inside MULTI)")
    return engine.raw(args)
