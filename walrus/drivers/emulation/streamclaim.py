"""XCLAIM, XAUTOCLAIM and XINFO (STREAM, GROUPS, CONSUMERS), as Redis 7 answers.

XINFO STREAM's ``radix-tree-keys`` is the number of listpack nodes walrus
models (as Redis counts them); ``radix-tree-nodes`` is an estimate (Redis's
radix tree internals are not modelled).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation.engine import (
    SYNTAX,
    EmulationEngine,
    Refused,
    command,
    now_ms,
    to_int,
)
from walrus.drivers.emulation.streamgroups import (
    _group_of,
    _nogroup,
    _text,
    lag,
    subcommand,
)
from walrus.drivers.emulation.streamlog import (
    Consumer,
    Group,
    Nack,
    StreamId,
    StreamValue,
    Token,
    format_id,
)
from walrus.drivers.emulation.streams import (
    entry_reply,
    get_stream,
    incr_id,
    parse_id,
    save,
    start_bound,
)

Args = list[bytes]
INT64_MAX = 2**63 - 1


def _int(raw: bytes, message: str) -> int:
    return to_int(raw, f"ERR {message}")


def _claimer(group: Group, name: bytes, now: int) -> Consumer:
    """The claiming consumer: created when missing (even if it claims nothing,
    as Valkey does), seen now."""
    consumer = group.consumers.get(name)
    if consumer is None:
        consumer = group.consumers[name] = Consumer(now)
    consumer.seen = now
    return consumer


def _take(
    group: Group, name: bytes, sid: StreamId, nack: Nack, consumer: Consumer
) -> None:
    """Move ``nack`` to ``consumer`` (named ``name``)."""
    if nack.consumer != name:
        old = group.consumers.get(nack.consumer)
        if old is not None:
            old.pending.discard(sid)
        nack.consumer = name
    consumer.pending.add(sid)


@command("XCLAIM", -6)
def xclaim(db: EmulationEngine, args: Args) -> Reply:
    """O(log N) per id."""
    key, group_name, name = args[1], args[2], args[3]
    entry, group = _group_of(db, key, group_name)
    if entry is None or group is None:
        raise _nogroup(key, group_name)
    stream: StreamValue = entry.value
    min_idle = max(0, _int(args[4], "Invalid min-idle-time argument for XCLAIM"))
    ids: list[StreamId] = []
    j = 5
    while j < len(args):
        try:
            ids.append(parse_id(args[j]))
        except Refused:
            break
        j += 1
    now = now_ms()
    delivery, retry, force, justid, last_id = -1, -1, False, False, (0, 0)
    while j < len(args):
        word, more = args[j].upper(), len(args) - 1 - j
        if word == b"FORCE":
            force = True
        elif word == b"JUSTID":
            justid = True
        elif word == b"IDLE" and more:
            j += 1
            delivery = now - _int(args[j], "Invalid IDLE option argument for XCLAIM")
        elif word == b"TIME" and more:
            j += 1
            delivery = _int(args[j], "Invalid TIME option argument for XCLAIM")
        elif word == b"RETRYCOUNT" and more:
            j += 1
            retry = _int(args[j], "Invalid RETRYCOUNT option argument for XCLAIM")
        elif word == b"LASTID" and more:
            j += 1
            last_id = parse_id(args[j])
        else:
            raise Refused(f"ERR Unrecognized XCLAIM option '{_text(args[j])}'")
        j += 1
    consumer = _claimer(group, name, now)
    tokens: list[Token] = [("c", group_name, name)]
    if last_id > group.last_id:
        group.last_id = last_id
        tokens.append(("g", group_name))
    if delivery == -1 or delivery < 0 or delivery > now:
        delivery = now
    out: list[Reply] = []
    for sid in ids:
        nack = group.pel.get(sid)
        if sid not in stream.entries:
            if nack is not None:
                group.pel.pop(sid)
                owner = group.consumers.get(nack.consumer)
                if owner is not None:
                    owner.pending.discard(sid)
                tokens.append(("p", group_name, sid))
            continue
        fresh = False
        if force and nack is None:
            nack = Nack(b"", now)
            group.pel.set(sid, nack)
            fresh = True
        if nack is None:
            continue
        if not fresh and min_idle and now - nack.time < min_idle:
            continue
        _take(group, name, sid, nack, consumer)
        nack.time = delivery
        if retry >= 0:
            nack.count = retry
        elif not justid:
            nack.count += 1
        consumer.active = now
        tokens += [("p", group_name, sid), ("c", group_name, name)]
        out.append(format_id(sid) if justid else entry_reply(stream, sid))
    if tokens:
        save(db, key, entry, tokens)
    return out


@command("XAUTOCLAIM", -6)
def xautoclaim(db: EmulationEngine, args: Args) -> Reply:
    """O(log N + examined entries); at most ``10 * COUNT`` are examined."""
    key, group_name, name = args[1], args[2], args[3]
    min_idle = max(0, _int(args[4], "Invalid min-idle-time argument for XAUTOCLAIM"))
    start = start_bound(args[5])
    count, justid = 100, False
    j = 6
    while j < len(args):
        word, more = args[j].upper(), len(args) - 1 - j
        if word == b"COUNT" and more:
            count = to_int(args[j + 1], "ERR COUNT must be > 0")
            if not 1 <= count <= INT64_MAX // 16:
                raise Refused("ERR COUNT must be > 0")
            j += 1
        elif word == b"JUSTID":
            justid = True
        else:
            raise Refused(SYNTAX)
        j += 1
    entry, group = _group_of(db, key, group_name)
    if entry is None or group is None:
        raise _nogroup(key, group_name)
    stream: StreamValue = entry.value
    now = now_ms()
    attempts = count * 10
    claimed: list[Reply] = []
    deleted: list[Reply] = []
    consumer = _claimer(group, name, now)
    tokens: list[Token] = [("c", group_name, name)]
    sid = group.pel.next_from(start)
    while attempts and count and sid is not None:
        attempts -= 1
        nack = group.pel[sid]
        tokens.append(("p", group_name, sid))
        if sid not in stream.entries:
            group.pel.pop(sid)
            owner = group.consumers.get(nack.consumer)
            if owner is not None:
                owner.pending.discard(sid)
            deleted.append(format_id(sid))
            count -= 1
        elif not min_idle or now - nack.time >= min_idle:
            _take(group, name, sid, nack, consumer)
            nack.time = now
            if not justid:
                nack.count += 1
            consumer.active = now
            tokens.append(("c", group_name, name))
            claimed.append(format_id(sid) if justid else entry_reply(stream, sid))
            count -= 1
        after = incr_id(sid)
        sid = None if after is None else group.pel.next_from(after)
    cursor = sid
    if tokens:
        save(db, key, entry, tokens)
    next_id = format_id(cursor) if cursor is not None else b"0-0"
    return [next_id, claimed, deleted]


def _head(stream: StreamValue) -> list[Reply]:
    keys = len(stream.nodes)
    return [
        b"length",
        len(stream.entries),
        b"radix-tree-keys",
        keys,
        b"radix-tree-nodes",
        keys + 1 if keys else 1,
        b"last-generated-id",
        format_id(stream.last_id),
        b"max-deleted-entry-id",
        format_id(stream.max_deleted),
        b"entries-added",
        stream.entries_added,
        b"recorded-first-entry-id",
        format_id(stream.first_id),
    ]


def _full(stream: StreamValue, limit: int) -> list[Reply]:
    """XINFO STREAM FULL [COUNT n]: up to ``n`` entries and pending entries
    per group and consumer (0: all). O(groups + consumers + n)."""

    def first(ids: Iterable[StreamId]) -> list[StreamId]:
        return list(ids) if not limit else list(islice(ids, limit))

    entries = [entry_reply(stream, sid) for sid in first(iter(stream.entries))]
    groups: list[Reply] = []
    for name, group in sorted(stream.groups.items()):
        pending = [
            [
                format_id(sid),
                group.pel[sid].consumer,
                group.pel[sid].time,
                group.pel[sid].count,
            ]
            for sid in first(iter(group.pel))
        ]
        consumers: list[Reply] = []
        for cname, consumer in sorted(group.consumers.items()):
            own = [
                [format_id(sid), group.pel[sid].time, group.pel[sid].count]
                for sid in first(iter(sorted(consumer.pending)))
            ]
            consumers.append(
                [
                    b"name",
                    cname,
                    b"seen-time",
                    consumer.seen,
                    b"active-time",
                    consumer.active,
                    b"pel-count",
                    len(consumer.pending),
                    b"pending",
                    own,
                ]
            )
        read = None if group.entries_read == -1 else group.entries_read
        groups.append(
            [
                b"name",
                name,
                b"last-delivered-id",
                format_id(group.last_id),
                b"entries-read",
                read,
                b"lag",
                lag(stream, group),
                b"pel-count",
                len(group.pel),
                b"pending",
                pending,
                b"consumers",
                consumers,
            ]
        )
    return [*_head(stream), b"entries", entries, b"groups", groups]


# -- XINFO --------------------------------------------------------------------------
_XINFO_ARITY = {b"STREAM": -3, b"GROUPS": 3, b"CONSUMERS": 4}


@command("XINFO", -2)
def xinfo(db: EmulationEngine, args: Args) -> Reply:
    sub = subcommand(args, _XINFO_ARITY)
    full, limit = False, 10
    if sub == b"STREAM" and len(args) > 3:
        full = args[3].upper() == b"FULL"
        if len(args) == 6 and args[4].upper() == b"COUNT":
            limit = max(0, to_int(args[5]))
        elif not full or len(args) != 4:
            raise Refused(
                "ERR unknown subcommand or wrong number of arguments for "
                f"'{_text(args[1])}'. Try XINFO HELP."
            )
    stream = get_stream(db, args[2])
    if stream is None:
        raise Refused("ERR no such key")
    if full:
        return _full(stream, limit)
    if sub == b"STREAM":
        first, last = stream.entries.first(), stream.entries.last()
        return [
            *_head(stream),
            b"groups",
            len(stream.groups),
            b"first-entry",
            None if first is None else entry_reply(stream, first),
            b"last-entry",
            None if last is None else entry_reply(stream, last),
        ]
    now = now_ms()
    if sub == b"GROUPS":
        return [
            [
                b"name",
                name,
                b"consumers",
                len(group.consumers),
                b"pending",
                len(group.pel),
                b"last-delivered-id",
                format_id(group.last_id),
                b"entries-read",
                None if group.entries_read == -1 else group.entries_read,
                b"lag",
                lag(stream, group),
            ]
            for name, group in sorted(stream.groups.items())
        ]
    group = stream.groups.get(args[3])
    if group is None:
        raise Refused(
            f"NOGROUP No such consumer group '{_text(args[3])}' for key name "
            f"'{_text(args[2])}'"
        )
    return [
        [
            b"name",
            name,
            b"pending",
            len(consumer.pending),
            b"idle",
            max(0, now - consumer.seen),
            b"inactive",
            -1 if consumer.active == -1 else max(0, now - consumer.active),
        ]
        for name, consumer in sorted(group.consumers.items())
    ]
