"""Stream reads and consumer groups: XREAD, XREADGROUP, XGROUP, XACK, XPENDING,
XCLAIM, XAUTOCLAIM and XINFO, with Redis 7's replies.

Blocking (``BLOCK ms``) is not done here: a handler answers at once (nil
when nothing is there, as inside MULTI), and the embedded core waits and
retries without holding its lock
(:func:`~walrus.drivers.embedded.blocking.register_blocking`, registered by
:mod:`.streamblock`). Idle times come from the engine clock
(:func:`~walrus.drivers.emulation.engine.now_ms`).
"""

from __future__ import annotations

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation.engine import (
    SYNTAX,
    EmulationEngine,
    Refused,
    command,
    now_ms,
    to_int,
    wrong_args,
)
from walrus.drivers.emulation.store import Entry
from walrus.drivers.emulation.streamlog import (
    MAX_ID,
    Consumer,
    Group,
    Nack,
    StreamId,
    StreamValue,
    Token,
    format_id,
    group_tokens,
)
from walrus.drivers.emulation.streams import (
    decr_id,
    end_bound,
    entry_reply,
    incr_id,
    last_valid_id,
    parse_id,
    save,
    start_bound,
)

Args = list[bytes]
INVALID = -1  # an unknown entries-read counter


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def subcommand(args: Args, arities: dict[bytes, int]) -> bytes:
    """The checked subcommand of a container command (XGROUP, XINFO): known,
    with its arity (negative: at least), as Redis checks them."""
    sub = args[1].upper()
    arity = arities.get(sub)
    name = _text(args[0]).upper()
    if arity is None:
        raise Refused(f"ERR unknown subcommand '{_text(args[1])}'. Try {name} HELP.")
    if (arity > 0 and len(args) != arity) or len(args) < -arity:
        raise wrong_args(name.lower().encode() + b"|" + sub.lower())
    return sub


def _nogroup(key: bytes, group: bytes, suffix: str = "") -> Refused:
    return Refused(
        f"NOGROUP No such key '{_text(key)}' or consumer group '{_text(group)}'{suffix}"
    )


# -- counters (entries-read and lag, as Redis 7 estimates them) ----------------------
def has_tombstones(stream: StreamValue, start: StreamId | None) -> bool:
    if not stream.entries or stream.max_deleted == (0, 0):
        return False
    if stream.first_id > stream.max_deleted:
        return False
    return (start or (0, 0)) <= stream.max_deleted


def distance(stream: StreamValue, sid: StreamId) -> int:
    """streamEstimateDistanceFromFirstEverEntry: entries up to ``sid``, or -1."""
    if not stream.entries_added:
        return 0
    if not stream.entries and sid <= stream.last_id:
        return stream.entries_added
    if sid == stream.last_id:
        return stream.entries_added
    if sid > stream.last_id:
        return INVALID
    if stream.max_deleted == (0, 0) or stream.max_deleted < stream.first_id:
        if sid < stream.first_id:
            return stream.entries_added - len(stream.entries)
        if sid == stream.first_id:
            return stream.entries_added - len(stream.entries) + 1
    return INVALID


def lag(stream: StreamValue, group: Group) -> int | None:
    if not stream.entries_added:
        return 0
    if group.entries_read != INVALID and not has_tombstones(stream, group.last_id):
        return stream.entries_added - group.entries_read
    read = distance(stream, group.last_id)
    return None if read == INVALID else stream.entries_added - read


# -- XGROUP --------------------------------------------------------------------------
_XGROUP_ARITY = {
    b"CREATE": -5,
    b"SETID": -5,
    b"DESTROY": 4,
    b"CREATECONSUMER": 5,
    b"DELCONSUMER": 5,
}


@command("XGROUP", -2)
def xgroup(db: EmulationEngine, args: Args) -> Reply:
    sub = subcommand(args, _XGROUP_ARITY)
    mkstream, entries_read = False, INVALID
    if sub in (b"CREATE", b"SETID"):
        i = 5
        while i < len(args):
            word = args[i].upper()
            if sub == b"CREATE" and word == b"MKSTREAM":
                mkstream = True
                i += 1
            elif word == b"ENTRIESREAD" and i + 1 < len(args):
                entries_read = to_int(args[i + 1])
                if entries_read < 0 and entries_read != INVALID:
                    raise Refused("ERR value for ENTRIESREAD must be positive or -1")
                i += 2
            else:
                raise Refused(
                    f"ERR unknown subcommand or wrong number of arguments for "
                    f"'{_text(args[1])}'. Try XGROUP HELP."
                )
    key, name = args[2], args[3]
    entry = db.typed(key, "stream")
    stream: StreamValue | None = None if entry is None else entry.value
    if stream is None and not mkstream:
        raise Refused(
            "ERR The XGROUP subcommand requires the key to exist. Note that for "
            "CREATE you may want to use the MKSTREAM option to create an empty "
            "stream automatically."
        )
    group = None if stream is None else stream.groups.get(name)
    if group is None and sub in (b"SETID", b"CREATECONSUMER", b"DELCONSUMER"):
        raise Refused(
            f"NOGROUP No such consumer group '{_text(name)}' for key name "
            f"'{_text(key)}'"
        )
    if sub == b"CREATE":
        sid = (stream.last_id if stream else (0, 0)) if args[4] == b"$" else None
        if sid is None:
            sid = parse_id(args[4])
        if stream is not None and name in stream.groups:
            raise Refused("BUSYGROUP Consumer Group name already exists")
        fresh = stream is None
        stream = stream or StreamValue()
        stream.groups[name] = Group(sid, entries_read)
        if fresh or entry is None:
            db.put(key, Entry("stream", stream))
        else:
            save(db, key, entry, [("g", name)])
        return b"OK"
    assert stream is not None and entry is not None
    if sub == b"DESTROY":
        if group is None:
            return 0
        dropped = list(group_tokens(name, group))
        del stream.groups[name]
        save(db, key, entry, dropped)
        return 1
    assert group is not None
    if sub == b"SETID":
        sid = stream.last_id if args[4] == b"$" else parse_id(args[4], strict=False)
        group.last_id = sid
        group.entries_read = entries_read
        save(db, key, entry, [("g", name)])
        return b"OK"
    consumer_name = args[4]
    if sub == b"CREATECONSUMER":
        if consumer_name in group.consumers:
            return 0
        group.consumers[consumer_name] = Consumer(now_ms())
        save(db, key, entry, [("c", name, consumer_name)])
        return 1
    consumer = group.consumers.pop(consumer_name, None)
    if consumer is None:
        return 0
    tokens: list[Token] = [("c", name, consumer_name)]
    for sid in consumer.pending:
        group.pel.pop(sid)
        tokens.append(("p", name, sid))
    save(db, key, entry, tokens)
    return len(consumer.pending)


# -- XREAD / XREADGROUP ----------------------------------------------------------------
class ReadArgs:
    def __init__(self) -> None:
        self.count = 0
        self.block: int | None = None
        self.group: bytes | None = None
        self.consumer = b""
        self.noack = False
        self.keys: list[bytes] = []
        self.ids: list[bytes] = []


def parse_read(args: Args, grouped: bool) -> ReadArgs:
    """XREAD/XREADGROUP options (also used by the blocking wrapper)."""
    read = ReadArgs()
    name = "xreadgroup" if grouped else "xread"
    i = 1
    streams_at = 0
    while i < len(args):
        more = len(args) - i - 1
        word = args[i].upper()
        if word == b"BLOCK" and more:
            read.block = to_int(
                args[i + 1], "ERR timeout is not an integer or out of range"
            )
            if read.block < 0:
                raise Refused("ERR timeout is negative")
            i += 2
        elif word == b"COUNT" and more:
            read.count = max(0, to_int(args[i + 1]))
            i += 2
        elif word == b"STREAMS" and more:
            streams_at = i + 1
            rest = args[streams_at:]
            if len(rest) % 2:
                symbol = ">" if grouped else "$"
                raise Refused(
                    f"ERR Unbalanced '{name}' list of streams: for each stream key "
                    f"an ID or '{symbol}' must be specified."
                )
            half = len(rest) // 2
            read.keys, read.ids = rest[:half], rest[half:]
            break
        elif word == b"GROUP" and more >= 2:
            if not grouped:
                raise Refused(
                    "ERR The GROUP option is only supported by XREADGROUP. You "
                    "called XREAD instead."
                )
            read.group, read.consumer = args[i + 1], args[i + 2]
            i += 3
        elif word == b"NOACK":
            if not grouped:
                raise Refused(
                    "ERR The NOACK option is only supported by XREADGROUP. You "
                    "called XREAD instead."
                )
            read.noack = True
            i += 1
        else:
            raise Refused(SYNTAX)
    if not streams_at:
        raise Refused(SYNTAX)
    if grouped and read.group is None:
        raise Refused("ERR Missing GROUP option for XREADGROUP")
    return read


def _read(db: EmulationEngine, args: Args, grouped: bool) -> Reply:
    read = parse_read(args, grouped)
    starts: list[StreamId | None] = []  # None: '>'
    groups: list[Group | None] = []
    for key, raw in zip(read.keys, read.ids, strict=True):
        entry = db.typed(key, "stream")
        stream: StreamValue | None = None if entry is None else entry.value
        group = None
        if read.group is not None:
            group = None if stream is None else stream.groups.get(read.group)
            if group is None:
                raise _nogroup(key, read.group, " in XREADGROUP with GROUP option")
        groups.append(group)
        if raw == b"$":
            if grouped:
                raise Refused(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you "
                    "want to read the history of this consumer by specifying a "
                    "proper ID, or use the > ID to get new messages. The $ ID would "
                    "just return an empty result set."
                )
            starts.append(stream.last_id if stream is not None else (0, 0))
        elif raw == b"+":  # XREAD: the last entry (Redis 7.4, Valkey 8)
            if grouped:
                raise Refused(
                    "ERR The + ID is meaningless in the context of XREADGROUP: you "
                    "want to read the history of this consumer by specifying a "
                    "proper ID, or use the > ID to get new messages. The + ID would "
                    "just return an empty result set."
                )
            last = stream.last_id if stream is not None else (0, 0)
            starts.append(decr_id(last) or (0, 0))
        elif raw == b">":
            if not grouped:
                raise Refused(
                    "ERR The > ID can be specified only when calling XREADGROUP "
                    "using the GROUP <group> <consumer> option."
                )
            starts.append(None)
        else:
            starts.append(parse_id(raw))
    out: list[Reply] = []
    now = now_ms()
    for key, after, group in zip(read.keys, starts, groups, strict=True):
        entry = db.typed(key, "stream")
        if entry is None:
            continue
        stream = entry.value
        if group is None:
            if after is not None and last_valid_id(stream) > after:
                out.append([key, _entries_after(stream, after, read.count)])
            continue
        assert read.group is not None
        tokens: list[Token] = []
        consumer = group.consumers.get(read.consumer)
        if consumer is None:
            consumer = group.consumers[read.consumer] = Consumer(now)
        consumer.seen = now
        tokens.append(("c", read.group, read.consumer))
        if after is not None:
            reply = _history(stream, group, read, consumer, after, now, tokens)
            out.append([key, reply])
        elif stream.entries and last_valid_id(stream) > group.last_id:
            reply = _deliver(stream, group, read, consumer, now, tokens)
            out.append([key, reply])
        save(db, key, entry, tokens)
    return out or None


def _entries_after(stream: StreamValue, after: StreamId, count: int) -> list[Reply]:
    start = incr_id(after)
    out: list[Reply] = []
    if start is None:
        return out
    for sid in stream.entries.ascending(start):
        out.append(entry_reply(stream, sid))
        if len(out) == count:
            break
    return out


def _history(
    stream: StreamValue,
    group: Group,
    read: ReadArgs,
    consumer: Consumer,
    after: StreamId,
    now: int,
    tokens: list[Token],
) -> list[Reply]:
    """The consumer's own pending entries after ``after`` (deleted ones: nil)."""
    start = incr_id(after)
    out: list[Reply] = []
    if start is None:
        return out
    for sid in sorted(s for s in consumer.pending if s >= start):
        nack = group.pel[sid]
        nack.time = now
        nack.count += 1
        tokens.append(("p", read.group, sid))
        if sid in stream.entries:
            out.append(entry_reply(stream, sid))
        else:
            out.append([format_id(sid), None])
        if len(out) == read.count:
            break
    return out


def _deliver(
    stream: StreamValue,
    group: Group,
    read: ReadArgs,
    consumer: Consumer,
    now: int,
    tokens: list[Token],
) -> list[Reply]:
    """New entries for the group (``>``): advance it, add them to the PEL."""
    out: list[Reply] = []
    start = incr_id(group.last_id)
    if start is None:
        return out
    for sid in stream.entries.ascending(start):  # (the entries are not changed)
        if sid > group.last_id:
            if group.entries_read != INVALID and not has_tombstones(stream, sid):
                group.entries_read += 1
            elif stream.entries_added:
                group.entries_read = distance(stream, sid)
            group.last_id = sid
        out.append(entry_reply(stream, sid))
        if not read.noack:
            old = group.pel.get(sid)
            if old is not None:
                owner = group.consumers.get(old.consumer)
                if owner is not None:
                    owner.pending.discard(sid)
            group.pel.set(sid, Nack(read.consumer, now))
            consumer.pending.add(sid)
            consumer.active = now
            tokens.append(("p", read.group, sid))
        if len(out) == read.count:
            break
    tokens.append(("g", read.group))
    return out


@command("XREAD", -4)
def xread(db: EmulationEngine, args: Args) -> Reply:
    """O(log N + M) per stream; BLOCK waits in the embedded core."""
    return _read(db, args, grouped=False)


@command("XREADGROUP", -7)
def xreadgroup(db: EmulationEngine, args: Args) -> Reply:
    """O(log N + M) per stream for ``>``; O(P log P) for a consumer's history."""
    return _read(db, args, grouped=True)


# -- XACK, XPENDING -------------------------------------------------------------
def _group_of(
    db: EmulationEngine, key: bytes, name: bytes
) -> tuple[Entry | None, Group | None]:
    entry = db.typed(key, "stream")
    group = None if entry is None else entry.value.groups.get(name)
    return entry, group


def _release(group: Group, sid: StreamId) -> bool:
    nack = group.pel.pop(sid)
    if nack is None:
        return False
    owner = group.consumers.get(nack.consumer)
    if owner is not None:
        owner.pending.discard(sid)
    return True


@command("XACK", -4)
def xack(db: EmulationEngine, args: Args) -> Reply:
    """O(log N) per id."""
    entry, group = _group_of(db, args[1], args[2])
    if entry is None or group is None:
        return 0  # before any id is parsed, as in Redis
    ids = [parse_id(raw) for raw in args[3:]]
    done = [sid for sid in ids if _release(group, sid)]
    if done:
        save(db, args[1], entry, [("p", args[2], sid) for sid in done])
    return len(done)


@command("XPENDING", -3)
def xpending(db: EmulationEngine, args: Args) -> Reply:
    """Summary: O(consumers); extended form: O(log N + M)."""
    if len(args) != 3 and not 6 <= len(args) <= 9:
        raise Refused(SYNTAX)
    min_idle, count, consumer_name = 0, 0, None
    start, end = (0, 0), MAX_ID
    if len(args) >= 6:
        at = 3
        if args[3].upper() == b"IDLE":
            min_idle = to_int(args[4])
            if len(args) < 8:
                raise Refused(SYNTAX)
            at = 5
        count = max(0, to_int(args[at + 2]))
        start, end = start_bound(args[at]), end_bound(args[at + 1])
        if at + 3 < len(args):
            consumer_name = args[at + 3]
    entry, group = _group_of(db, args[1], args[2])
    if entry is None or group is None:
        raise _nogroup(args[1], args[2])
    if len(args) == 3:
        first, last = group.pel.first(), group.pel.last()
        if first is None or last is None:
            return [0, None, None, None]
        owners = [
            [name, str(len(c.pending)).encode()]
            for name, c in sorted(group.consumers.items())
            if c.pending
        ]
        return [len(group.pel), format_id(first), format_id(last), owners]
    if consumer_name is not None and consumer_name not in group.consumers:
        return []
    now = now_ms()
    out: list[Reply] = []
    for sid in group.pel.ascending(start, end):
        if not count:
            break
        nack = group.pel[sid]
        if consumer_name is not None and nack.consumer != consumer_name:
            continue
        if min_idle and now - nack.time < min_idle:
            continue
        out.append([format_id(sid), nack.consumer, max(0, now - nack.time), nack.count])
        count -= 1
    return out
