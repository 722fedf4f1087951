"""The value of a stream key, and its member-by-member encoding.

:class:`IdMap` is an ordered map keyed by stream ids (``(ms, seq)`` tuples):
a list of sorted chunks, so appending, finding or removing one id costs
O(log N + LOAD) and a range costs O(log N + M), never a shift of the whole
stream. A :class:`StreamValue` keeps its entries, the listpack *nodes* Redis
would group them in (so that approximate trimming, ``MAXLEN ~``, removes
exactly what Redis removes), the stream's counters and its consumer groups.

Persistent stores write a stream as *records*: one per entry, per node, per
group, per consumer and per pending entry, plus one for the stream's own
counters (:func:`records` / :func:`decode`). A one-entry command changes
O(1) records, so a store that writes records (Vedis) never rewrites the
stream.
"""

from __future__ import annotations

from base64 import b64decode, b64encode
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

__all__ = [
    "MAX_ID",
    "Consumer",
    "Group",
    "IdMap",
    "Nack",
    "Node",
    "StreamId",
    "StreamValue",
    "decode",
    "format_id",
    "record",
    "records",
]

StreamId = tuple[int, int]
U64 = 2**64 - 1
MAX_ID: StreamId = (U64, U64)
LOAD = 512
V = TypeVar("V")


def format_id(sid: StreamId) -> bytes:
    return b"%d-%d" % sid


class IdMap(Generic[V]):
    """Values by stream id, iterable in id order (see the module doc)."""

    __slots__ = ("_chunks", "_maxes", "values")

    def __init__(self) -> None:
        self.values: dict[StreamId, V] = {}
        self._chunks: list[list[StreamId]] = []
        self._maxes: list[StreamId] = []

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, sid: object) -> bool:
        return sid in self.values

    def get(self, sid: StreamId) -> V | None:
        return self.values.get(sid)

    def __getitem__(self, sid: StreamId) -> V:
        return self.values[sid]

    def set(self, sid: StreamId, value: V) -> None:
        """Insert or replace. O(1) at the end, O(log N + LOAD) elsewhere."""
        if sid in self.values:
            self.values[sid] = value
            return
        self.values[sid] = value
        if not self._chunks or sid > self._maxes[-1]:
            if not self._chunks or len(self._chunks[-1]) >= 2 * LOAD:
                self._chunks.append([sid])
                self._maxes.append(sid)
            else:
                self._chunks[-1].append(sid)
                self._maxes[-1] = sid
            return
        i = bisect_left(self._maxes, sid)
        chunk = self._chunks[i]
        chunk.insert(bisect_left(chunk, sid), sid)
        if len(chunk) > 2 * LOAD:
            self._chunks[i : i + 1] = [chunk[:LOAD], chunk[LOAD:]]
            self._maxes[i : i + 1] = [chunk[LOAD - 1], chunk[-1]]

    def pop(self, sid: StreamId) -> V | None:
        """Remove ``sid``; its value, or None. O(log N + LOAD)."""
        if sid not in self.values:
            return None
        value = self.values.pop(sid)
        i = bisect_left(self._maxes, sid)
        chunk = self._chunks[i]
        del chunk[bisect_left(chunk, sid)]
        if chunk:
            self._maxes[i] = chunk[-1]
        else:
            del self._chunks[i], self._maxes[i]
        return value

    def first(self) -> StreamId | None:
        return self._chunks[0][0] if self._chunks else None

    def last(self) -> StreamId | None:
        return self._maxes[-1] if self._chunks else None

    def next_from(self, sid: StreamId) -> StreamId | None:
        """The first id ``>= sid``. O(log N)."""
        i = bisect_left(self._maxes, sid)
        if i == len(self._chunks):
            return None
        chunk = self._chunks[i]
        return chunk[bisect_left(chunk, sid)]

    def ascending(self, low: StreamId, high: StreamId = MAX_ID) -> Iterator[StreamId]:
        """Ids ``low <= id <= high`` in order (do not mutate while iterating)."""
        i = bisect_left(self._maxes, low)
        if i == len(self._chunks):
            return
        j = bisect_left(self._chunks[i], low)
        for chunk in self._chunks[i:]:
            for sid in chunk[j:] if j else chunk:
                if sid > high:
                    return
                yield sid
            j = 0

    def descending(self, high: StreamId, low: StreamId = (0, 0)) -> Iterator[StreamId]:
        """Ids ``high >= id >= low``, highest first."""
        i = min(bisect_left(self._maxes, high), len(self._chunks) - 1)
        if i < 0:
            return
        j = bisect_right(self._chunks[i], high)
        for index in range(i, -1, -1):
            chunk = self._chunks[index]
            for k in range((j if index == i else len(chunk)) - 1, -1, -1):
                if chunk[k] < low:
                    return
                yield chunk[k]

    def __iter__(self) -> Iterator[StreamId]:
        for chunk in self._chunks:
            yield from chunk


class Node:
    """One listpack of Redis's stream: its entries' ids and estimated size."""

    __slots__ = ("bytes", "count", "fields", "last", "total")

    def __init__(self, fields: tuple[bytes, ...]) -> None:
        self.count = 0  # live entries
        self.total = 0  # live and deleted entries
        self.bytes = 0  # estimated listpack size
        self.last: StreamId = (0, 0)  # last entry ever appended
        self.fields = fields  # the master entry's field names


class Nack:
    """A pending entry: its consumer, last delivery (ms) and delivery count."""

    __slots__ = ("consumer", "count", "time")

    def __init__(self, consumer: bytes, time: int, count: int = 1) -> None:
        self.consumer = consumer
        self.time = time
        self.count = count


class Consumer:
    __slots__ = ("active", "pending", "seen")

    def __init__(self, seen: int, active: int = -1) -> None:
        self.seen = seen
        self.active = active
        self.pending: set[StreamId] = set()


class Group:
    __slots__ = ("consumers", "entries_read", "last_id", "pel")

    def __init__(self, last_id: StreamId, entries_read: int) -> None:
        self.last_id = last_id
        self.entries_read = entries_read  # -1: unknown
        self.pel: IdMap[Nack] = IdMap()
        self.consumers: dict[bytes, Consumer] = {}


class StreamValue:
    """Entries (fields and node), nodes, counters and groups of one stream."""

    __slots__ = (
        "entries",
        "entries_added",
        "first_id",
        "groups",
        "last_id",
        "max_deleted",
        "nodes",
    )

    def __init__(self) -> None:
        self.entries: IdMap[tuple[list[bytes], StreamId]] = IdMap()
        self.nodes: IdMap[Node] = IdMap()
        self.last_id: StreamId = (0, 0)
        self.entries_added = 0
        self.max_deleted: StreamId = (0, 0)
        self.first_id: StreamId = (0, 0)
        self.groups: dict[bytes, Group] = {}

    def __bool__(self) -> bool:
        return True  # an empty stream is still a key, unlike other containers

    def __len__(self) -> int:
        return len(self.entries)


# -- records ----------------------------------------------------------------------
# A record is (name, value), both ASCII strings; a member token names a record:
# ("s",) the counters, ("e", id), ("n", node id), ("g", group),
# ("c", group, consumer), ("p", group, id).
Token = tuple[Any, ...]


def _b64(raw: bytes) -> str:
    return b64encode(raw).decode("ascii")


def _sid(text: str) -> StreamId:
    ms, seq = text.split("-")
    return int(ms), int(seq)


def _txt(sid: StreamId) -> str:
    return f"{sid[0]}-{sid[1]}"


def field_name(token: Token) -> str:
    kind: str = token[0]
    if kind == "s":
        return "s"
    if kind in ("e", "n"):
        return kind + _txt(token[1])
    if kind == "g":
        return "g" + _b64(token[1])
    if kind == "c":
        return f"c{_b64(token[1])}.{_b64(token[2])}"
    return f"p{_b64(token[1])}.{_txt(token[2])}"


def record(stream: StreamValue, token: Token) -> str | None:
    """The record named by ``token``; None when that member is gone."""
    kind = token[0]
    if kind == "s":
        return " ".join(
            (
                _txt(stream.last_id),
                str(stream.entries_added),
                _txt(stream.max_deleted),
                _txt(stream.first_id),
            )
        )
    if kind == "e":
        found = stream.entries.get(token[1])
        if found is None:
            return None
        return " ".join([_txt(found[1]), *map(_b64, found[0])])
    if kind == "n":
        node = stream.nodes.get(token[1])
        if node is None:
            return None
        head = f"{node.count} {node.total} {node.bytes} {_txt(node.last)}"
        return " ".join([head, *map(_b64, node.fields)])
    group = stream.groups.get(token[1])
    if group is None:
        return None
    if kind == "g":
        return f"{_txt(group.last_id)} {group.entries_read}"
    if kind == "c":
        consumer = group.consumers.get(token[2])
        return None if consumer is None else f"{consumer.seen} {consumer.active}"
    nack = group.pel.get(token[2])
    if nack is None:
        return None
    return f"{_b64(nack.consumer)} {nack.time} {nack.count}"


def records(stream: StreamValue) -> Iterator[Token]:
    """Every member token of ``stream`` (for a full write)."""
    yield ("s",)
    for sid in stream.entries:
        yield ("e", sid)
    for master in stream.nodes:
        yield ("n", master)
    for name, group in stream.groups.items():
        yield ("g", name)
        for consumer in group.consumers:
            yield ("c", name, consumer)
        for sid in group.pel:
            yield ("p", name, sid)


def group_tokens(name: bytes, group: Group) -> Iterable[Token]:
    """A group's records (to delete them all with the group)."""
    yield ("g", name)
    for consumer in group.consumers:
        yield ("c", name, consumer)
    for sid in group.pel:
        yield ("p", name, sid)


def decode(names: list[str], values: list[str]) -> StreamValue:
    """A stream from its records, in any order."""
    stream = StreamValue()
    later: list[tuple[str, str]] = []
    for name, value in zip(names, values, strict=True):
        kind, rest = name[0], name[1:]
        parts = value.split(" ")
        if kind == "s":
            stream.last_id = _sid(parts[0])
            stream.entries_added = int(parts[1])
            stream.max_deleted = _sid(parts[2])
            stream.first_id = _sid(parts[3])
        elif kind == "e":
            fields = [b64decode(p) for p in parts[1:]]
            stream.entries.set(_sid(rest), (fields, _sid(parts[0])))
        elif kind == "n":
            node = Node(tuple(b64decode(p) for p in parts[4:]))
            node.count, node.total, node.bytes = map(int, parts[:3])
            node.last = _sid(parts[3])
            stream.nodes.set(_sid(rest), node)
        elif kind == "g":
            stream.groups[b64decode(rest)] = Group(_sid(parts[0]), int(parts[1]))
        else:
            later.append((name, value))
    for name, value in later:  # consumers and pending entries, once groups exist
        head, tail = name[1:].split(".")
        group = stream.groups[b64decode(head)]
        parts = value.split(" ")
        if name[0] == "c":
            group.consumers[b64decode(tail)] = Consumer(int(parts[0]), int(parts[1]))
        else:
            sid = _sid(tail)
            group.pel.set(sid, Nack(b64decode(parts[0]), int(parts[1]), int(parts[2])))
    for group in stream.groups.values():
        for sid in group.pel:
            nack = group.pel[sid]
            owner = group.consumers.get(nack.consumer)
            if owner is not None:
                owner.pending.add(sid)
    return stream


# -- listpack size estimates (for node boundaries, as Redis splits nodes) ----------
def _lp_int(value: int) -> int:
    if 0 <= value <= 127:
        return 1
    for size, bits in ((2, 13), (3, 16), (4, 24), (5, 32)):
        if -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            return size
    return 9


def _backlen(size: int) -> int:
    return 1 if size < 128 else 2 if size < 16384 else 3 if size < 2097152 else 4


def lp_size(raw: bytes | int) -> int:
    """Bytes one listpack element takes (encoding plus back length)."""
    if isinstance(raw, bytes):
        text = raw.decode("latin-1")
        if text and (text == "0" or (text.lstrip("-")[:1] not in ("0", ""))):
            try:
                value = int(text)
            except ValueError:
                value = None
            if value is not None and str(value) == text and -(2**63) <= value < 2**63:
                raw = value
        if isinstance(raw, bytes):
            n = len(raw)
            size = n + (1 if n < 64 else 2 if n < 4096 else 5)
            return size + _backlen(size)
    return _lp_int(raw) + 1


def master_size(fields: tuple[bytes, ...]) -> int:
    """A new listpack: header, end byte and the master entry."""
    return 7 + 2 + 2 + lp_size(len(fields)) + sum(map(lp_size, fields)) + 2


def entry_size(sid: StreamId, master: StreamId, fields: list[bytes], same: bool) -> int:
    """An entry's size in its node's listpack."""
    size = 2 + lp_size(sid[0] - master[0]) + lp_size(sid[1] - master[1])
    if same:
        size += sum(map(lp_size, fields[1::2])) + lp_size(len(fields) // 2 + 3)
    else:
        size += lp_size(len(fields) // 2) + sum(map(lp_size, fields))
        size += lp_size(len(fields) + 4)
    return size
