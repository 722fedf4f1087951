"""Stream commands: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID.

The value is a :class:`~walrus.drivers.emulation.streamlog.StreamValue`;
consumer groups, XREAD/XREADGROUP and XINFO are in :mod:`.streamgroups`.
Replies and error texts are Redis 7's (checked against Valkey by
``tests/test_stream_engine.py``). Every one-entry command costs
O(log N) in the stream's length; a command tells the store which records
it changed (:func:`save`), so Vedis writes O(1) records per entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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
    U64,
    Node,
    StreamId,
    StreamValue,
    Token,
    entry_size,
    format_id,
    master_size,
)

Args = list[bytes]
INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
NOT_BIGGER = (
    "ERR The ID specified in XADD is equal or smaller than the target stream top item"
)
# A part of a stream id as Redis reads it (string2ull): a plain integer
# (negative ones refused), else what C's strtoull reads whole: leading
# whitespace, a sign, digits (a minus sign wraps around 2**64).
_INTEGER = re.compile(rb"0|-?[1-9][0-9]*")
_STRTOULL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)")
_ID_MAX = 127  # longer ids are refused (Redis reads them into 128 bytes)


# -- ids ---------------------------------------------------------------------------
def _u64(raw: bytes) -> int:
    if _INTEGER.fullmatch(raw):
        value = int(raw)
        if -(2**63) <= value < 2**63:
            if value < 0:
                raise Refused(INVALID_ID)
            return value
    read = _STRTOULL.fullmatch(raw)
    if read is None:
        raise Refused(INVALID_ID)
    value = int(read[2])
    if value > U64:
        raise Refused(INVALID_ID)
    return -value % 2**64 if read[1] == b"-" else value


def parse_id(raw: bytes, missing_seq: int = 0, strict: bool = True) -> StreamId:
    """A stream id (``ms-seq`` or ``ms``); ``-``/``+`` too unless ``strict``."""
    if not strict and raw in (b"-", b"+"):
        return (0, 0) if raw == b"-" else MAX_ID
    if len(raw) > _ID_MAX:
        raise Refused(INVALID_ID)
    ms, dash, seq = raw.partition(b"-")
    return _u64(ms), _u64(seq) if dash else missing_seq


def parse_add_id(raw: bytes) -> tuple[StreamId, bool]:
    """XADD's explicit id: ``ms-seq``, ``ms`` or ``ms-*``; (id, seq given)."""
    if raw.endswith(b"-*"):
        if len(raw) > _ID_MAX:  # as parse_id refuses the other forms
            raise Refused(INVALID_ID)
        return (_u64(raw[:-2]), 0), False
    return parse_id(raw), True


def parse_bound(raw: bytes, missing_seq: int) -> tuple[StreamId, bool]:
    """A range bound: an id, ``-``, ``+`` or ``(id`` (exclusive)."""
    if len(raw) > 1 and raw[:1] == b"(":
        return parse_id(raw[1:], missing_seq), True
    return parse_id(raw, missing_seq, strict=False), False


def incr_id(sid: StreamId) -> StreamId | None:
    if sid[1] < U64:
        return sid[0], sid[1] + 1
    return (sid[0] + 1, 0) if sid[0] < U64 else None


def decr_id(sid: StreamId) -> StreamId | None:
    if sid[1] > 0:
        return sid[0], sid[1] - 1
    return (sid[0] - 1, U64) if sid[0] > 0 else None


def start_bound(raw: bytes) -> StreamId:
    sid, exclusive = parse_bound(raw, 0)
    if exclusive:
        bumped = incr_id(sid)
        if bumped is None:
            raise Refused("ERR invalid start ID for the interval")
        return bumped
    return sid


def end_bound(raw: bytes) -> StreamId:
    sid, exclusive = parse_bound(raw, U64)
    if exclusive:
        lowered = decr_id(sid)
        if lowered is None:
            raise Refused("ERR invalid end ID for the interval")
        return lowered
    return sid


# -- access ------------------------------------------------------------------------
def get_stream(db: EmulationEngine, key: bytes) -> StreamValue | None:
    """The stream at ``key`` (None when missing; WRONGTYPE for another type)."""
    entry = db.typed(key, "stream")
    value: StreamValue | None = None if entry is None else entry.value
    return value


def save(
    db: EmulationEngine, key: bytes, entry: Entry, tokens: Iterable[Token]
) -> None:
    """Tell the store which records of a stream changed (never deletes the key)."""
    db.changed(key, entry, list(dict.fromkeys(tokens)))


def entry_reply(stream: StreamValue, sid: StreamId) -> list[Reply]:
    return [format_id(sid), list(stream.entries[sid][0])]


def last_valid_id(stream: StreamValue) -> StreamId:
    last = stream.entries.last()
    return (0, 0) if last is None else last


# -- writing -------------------------------------------------------------------------
def append(
    stream: StreamValue, sid: StreamId, fields: list[bytes], limits: tuple[int, int]
) -> list[Token]:
    """Add an entry at the end, in the tail node if it has room (as Redis):
    ``limits`` are stream-node-max-entries and -bytes (0: no limit)."""
    max_entries, max_bytes = limits
    tail = stream.nodes.last()
    node = None if tail is None else stream.nodes[tail]
    size = sum(map(len, fields))
    if node is not None and (
        (max_bytes and node.bytes + size >= max_bytes)
        or (max_entries and node.total >= max_entries)
    ):
        node = None
    if node is None or tail is None:
        node, tail = Node(tuple(fields[::2])), sid
        node.bytes = master_size(node.fields)
        stream.nodes.set(sid, node)
    node.bytes += entry_size(sid, tail, fields, tuple(fields[::2]) == node.fields)
    node.count += 1
    node.total += 1
    node.last = sid
    stream.entries.set(sid, (fields, tail))
    stream.entries_added += 1
    stream.last_id = sid
    if len(stream.entries) == 1:
        stream.first_id = sid
    return [("s",), ("e", sid), ("n", tail)]


def delete_entry(stream: StreamValue, sid: StreamId, drop_node: bool) -> list[Token]:
    found = stream.entries.pop(sid)
    if found is None:
        return []
    master = found[1]
    node = stream.nodes[master]
    node.count -= 1
    if drop_node and node.count == 0:
        stream.nodes.pop(master)
    return [("e", sid), ("n", master)]


def fix_first(stream: StreamValue) -> None:
    first = stream.entries.first()
    stream.first_id = (0, 0) if first is None else first


class TrimArgs:
    """MAXLEN/MINID [=|~] threshold [LIMIT n], as XADD and XTRIM parse them."""

    def __init__(self) -> None:
        self.maxlen: int | None = None
        self.minid: StreamId | None = None
        self.approx = False
        self.limit = 0
        self.limit_given = False

    @property
    def strategy(self) -> bool:
        return self.maxlen is not None or self.minid is not None


def parse_trim(
    args: Args, start: int, xadd: bool, node_entries: int
) -> tuple[TrimArgs, int, bool]:
    """Options from ``args[start:]``; returns (trim, index of the id, NOMKSTREAM)."""
    trim, nomk = TrimArgs(), False
    i = start
    while i < len(args):
        more = len(args) - 1 - i
        word = args[i].upper()
        if xadd and args[i] == b"*":
            break
        if word in (b"MAXLEN", b"MINID") and more:
            if trim.strategy:
                raise Refused(
                    "ERR syntax error, MAXLEN and MINID options at the same time "
                    "are not compatible"
                )
            trim.approx = False
            if more >= 2 and args[i + 1] in (b"~", b"="):
                trim.approx = args[i + 1] == b"~"
                i += 1
            if word == b"MAXLEN":
                trim.maxlen = to_int(args[i + 1])
                if trim.maxlen < 0:
                    raise Refused("ERR The MAXLEN argument must be >= 0.")
            else:
                trim.minid = parse_id(args[i + 1])
            i += 2
        elif word == b"LIMIT" and more:
            trim.limit = to_int(args[i + 1])
            if trim.limit < 0:
                raise Refused("ERR The LIMIT argument must be >= 0.")
            trim.limit_given = True
            i += 2
        elif xadd and word == b"NOMKSTREAM":
            nomk = True
            i += 1
        elif xadd:
            parse_add_id(args[i])  # the entry id: refuse a malformed one now
            break
        else:
            raise Refused(SYNTAX)
    if trim.limit and not trim.strategy:
        raise Refused(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming "
            "strategy"
        )
    if not xadd and not trim.strategy:
        raise Refused("ERR syntax error, XTRIM must be called with a trimming strategy")
    if trim.limit_given and not trim.approx:
        raise Refused(
            "ERR syntax error, LIMIT cannot be used without the special ~ option"
        )
    if trim.approx and not trim.limit_given:
        trim.limit = 100 * node_entries
    if not trim.approx:
        trim.limit = 0
    return trim, i, nomk


def trim_stream(stream: StreamValue, trim: TrimArgs) -> tuple[int, list[Token]]:
    """Redis's streamTrim: whole nodes first; with ``~`` only whole nodes.

    O(removed entries + log N).
    """
    deleted, tokens = 0, list[Token]()
    entries, nodes = stream.entries, stream.nodes
    while True:
        master = nodes.first()
        if master is None:
            break
        if trim.maxlen is not None and len(entries) <= trim.maxlen:
            break
        node = nodes[master]
        if trim.limit and deleted + node.count > trim.limit:
            break
        if trim.maxlen is not None:
            whole = len(entries) - node.count >= trim.maxlen
        else:
            assert trim.minid is not None
            whole = node.last < trim.minid
        if whole:
            for sid in list(entries.ascending(master, node.last)):
                entries.pop(sid)
                tokens.append(("e", sid))
            nodes.pop(master)
            tokens.append(("n", master))
            deleted += node.count
            continue
        if trim.approx:
            break
        for sid in list(entries.ascending(master, node.last)):
            if trim.maxlen is not None and len(entries) <= trim.maxlen:
                break
            if trim.minid is not None and sid >= trim.minid:
                break
            tokens += delete_entry(stream, sid, drop_node=False)
            deleted += 1
        break
    if deleted:
        fix_first(stream)
        tokens.append(("s",))
    return deleted, tokens


@command("XADD", -5)
def xadd(db: EmulationEngine, args: Args) -> Reply:
    """Append an entry (and trim). O(log N), plus the trimmed entries."""
    limits = (db.config["stream-node-max-entries"], db.config["stream-node-max-bytes"])
    trim, at, nomk = parse_trim(args, 2, xadd=True, node_entries=limits[0])
    pairs = args[at + 1 :]
    if len(pairs) < 2 or len(pairs) % 2:
        raise wrong_args(args[0])
    explicit = args[at] != b"*"
    wanted, seq_given = parse_add_id(args[at]) if explicit else ((0, 0), False)
    if seq_given and wanted == (0, 0):
        raise Refused("ERR The ID specified in XADD must be greater than 0-0")
    entry = db.typed(args[1], "stream")
    if entry is None and nomk:
        return None
    stream: StreamValue = StreamValue() if entry is None else entry.value
    last = stream.last_id
    if last == MAX_ID:
        raise Refused(
            "ERR The stream has exhausted the last possible ID, unable to add more "
            "items"
        )
    if not explicit:
        now = now_ms()
        sid = (now, 0) if now > last[0] else incr_id(last)
    elif not seq_given and wanted[0] == last[0]:
        sid = incr_id(last) if last[1] < U64 else None
    else:
        sid = wanted
    if sid is None or sid <= last:
        raise Refused(NOT_BIGGER)
    tokens = append(stream, sid, list(pairs), limits)
    if trim.strategy:
        tokens += trim_stream(stream, trim)[1]
    if entry is None:
        db.put(args[1], Entry("stream", stream))
    else:
        save(db, args[1], entry, tokens)
    return format_id(sid)


@command("XLEN", 2)
def xlen(db: EmulationEngine, args: Args) -> Reply:
    stream = get_stream(db, args[1])
    return 0 if stream is None else len(stream.entries)


def _range(db: EmulationEngine, args: Args, reverse: bool) -> Reply:
    low_raw, high_raw = (args[3], args[2]) if reverse else (args[2], args[3])
    low, high = start_bound(low_raw), end_bound(high_raw)
    count = -1
    i = 4
    while i < len(args):
        if args[i].upper() == b"COUNT" and i + 1 < len(args):
            count = max(0, to_int(args[i + 1]))
            i += 2
        else:
            raise Refused(SYNTAX)
    stream = get_stream(db, args[1])
    if stream is None:
        return []
    if count == 0:
        return None
    if low > high:
        return []
    found = stream.entries.descending(high, low) if reverse else None
    ids = found if found is not None else stream.entries.ascending(low, high)
    out: list[Reply] = []
    for sid in ids:
        out.append(entry_reply(stream, sid))
        if len(out) == count:
            break
    return out


@command("XRANGE", -4)
def xrange(db: EmulationEngine, args: Args) -> Reply:
    """O(log N + M)."""
    return _range(db, args, reverse=False)


@command("XREVRANGE", -4)
def xrevrange(db: EmulationEngine, args: Args) -> Reply:
    """O(log N + M)."""
    return _range(db, args, reverse=True)


@command("XDEL", -3)
def xdel(db: EmulationEngine, args: Args) -> Reply:
    """Delete entries by id; the key stays, even empty. O(log N) per id."""
    entry = db.typed(args[1], "stream")
    if entry is None:
        return 0  # before any id is parsed, as in Redis
    ids = [parse_id(raw) for raw in args[2:]]
    stream: StreamValue = entry.value
    tokens: list[Token] = []
    first = stream.entries.first()
    deleted = 0
    for sid in ids:
        if sid in stream.entries:
            tokens += delete_entry(stream, sid, drop_node=True)
            deleted += 1
            stream.max_deleted = max(stream.max_deleted, sid)
    if deleted:
        if not stream.entries or first not in stream.entries:
            fix_first(stream)
        save(db, args[1], entry, [*tokens, ("s",)])
    return deleted


@command("XTRIM", -4)
def xtrim(db: EmulationEngine, args: Args) -> Reply:
    """O(log N + removed entries)."""
    trim = parse_trim(args, 2, False, db.config["stream-node-max-entries"])[0]
    entry = db.typed(args[1], "stream")
    if entry is None:
        return 0
    deleted, tokens = trim_stream(entry.value, trim)
    if tokens:
        save(db, args[1], entry, tokens)
    return deleted


@command("XSETID", -3)
def xsetid(db: EmulationEngine, args: Args) -> Reply:
    sid = parse_id(args[2])
    added, max_deleted = -1, (0, 0)
    i = 3
    while i < len(args):
        word = args[i].upper()
        if word == b"ENTRIESADDED" and i + 1 < len(args):
            added = to_int(args[i + 1])
            if added < 0:
                raise Refused("ERR entries_added must be positive")
        elif word == b"MAXDELETEDID" and i + 1 < len(args):
            max_deleted = parse_id(args[i + 1])
            if sid < max_deleted:
                raise Refused(
                    "ERR The ID specified in XSETID is smaller than the provided "
                    "max_deleted_entry_id"
                )
        else:
            raise Refused(SYNTAX)
        i += 2
    entry = db.typed(args[1], "stream")
    if entry is None:
        raise Refused("ERR no such key")
    stream: StreamValue = entry.value
    if sid < stream.max_deleted:
        raise Refused(
            "ERR The ID specified in XSETID is smaller than current "
            "max_deleted_entry_id"
        )
    if stream.entries:
        if sid < last_valid_id(stream):
            raise Refused(
                "ERR The ID specified in XSETID is smaller than the target stream top "
                "item"
            )
        if added != -1 and len(stream.entries) > added:
            raise Refused(
                "ERR The entries_added specified in XSETID is smaller than the target "
                "stream length"
            )
    stream.last_id = sid
    if added != -1:
        stream.entries_added = added
    if max_deleted != (0, 0):
        stream.max_deleted = max_deleted
    save(db, args[1], entry, [("s",)])
    return b"OK"
