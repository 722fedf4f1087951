"""Streams on rlite, which has none: the emulation engine's stream commands
over a :class:`~walrus.drivers.emulation.store.Store` kept in rlite itself.

A stream is one rlite string value, a log of the records of
:mod:`walrus.drivers.emulation.streamlog` (entries, nodes, counters, groups,
consumers, pending entries)::

    walrus-stream 1\n                   format and version
    <name>\t<value>\n ...               records; a later line replaces an
                                        earlier one, the value "!" deletes it
    #<generation>\x00walrus-stream\x00  trailer, after every write

So it lives in the rlite file (visible to other processes, persistent), and
DEL, EXISTS, EXPIRE, TTL, RENAME, KEYS and SCAN treat it as any key; TYPE and
``SCAN ... TYPE stream`` answer ``stream`` (:data:`GAPS` entries here).

Cost: rlite reads a string from the requested offset to its end, so
everything walrus reads to identify a stream is at its end: the 32-byte
trailer and STRLEN (TYPE only for other keys). The decoded stream is cached per database
and reused while (generation, length) is unchanged: a read is O(log N). A
write APPENDs the changed records (O(changed)); when the appended lines
outnumber those of the last full write (plus ``SLACK``), the value is
rewritten compactly with a new generation: amortized O(1) per record. A
write by another process makes the next command here reread the value
(O(N)). String commands on a stream key answer WRONGTYPE, as in Redis (the
routing checks, :mod:`walrus.drivers.rlite.emulated`).

Importing this module registers the gaps.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from walrus.drivers.embedded.types import Command, Reply
from walrus.drivers.emulation.engine import Refused
from walrus.drivers.emulation.store import Entry
from walrus.drivers.emulation.streamlog import StreamValue, Token, decode, field_name
from walrus.drivers.emulation.streamlog import record as record_of
from walrus.drivers.emulation.streamlog import records as tokens_of
from walrus.drivers.rlite.gaps import GAPS, MAGIC, RawEngine, arity_error, is_stream

__all__ = ["MAGIC", "RliteStreamStore", "is_stream"]

HEAD = b"walrus-stream 1\n"  # the format's name and version, first in the value
GENERATION = 16  # hex digits naming one full write of the value
TRAILER = 1 + GENERATION + len(MAGIC)  # b"#" + generation + MAGIC, last in the value
DELETED = "!"  # the value of a record line that deletes the record
CACHED_STREAMS = 64  # decoded streams kept per database (least recent dropped)
SLACK = 64  # appended lines allowed beyond the compacted size before a rewrite


def _line(stream: StreamValue, token: Token) -> bytes:
    value = record_of(stream, token)
    return f"{field_name(token)}\t{DELETED if value is None else value}".encode()


def _trailer(generation: bytes) -> bytes:
    return b"#" + generation + MAGIC


def parse(raw: bytes) -> tuple[StreamValue, int]:
    """A stream from its value, and the number of record lines read. O(N)."""
    if not raw.startswith(HEAD[:14]):
        raise ValueError("not a walrus stream")
    if not raw.startswith(HEAD):
        raise ValueError("a stream written by a newer walrus (unknown format)")
    found: dict[str, str] = {}
    lines = 0
    for line in raw[len(HEAD) :].split(b"\n"):
        if not line or line[:1] == b"#":
            continue
        name, tab, value = line.decode("ascii").partition("\t")
        if not tab:
            raise ValueError(f"a malformed record {name[:40]!r}")
        lines += 1
        if value == DELETED:
            found.pop(name, None)
        else:
            found[name] = value
    return decode(list(found), list(found.values())), lines


class _Cached:
    """A decoded stream and what identifies the value it was read from."""

    __slots__ = ("entry", "generation", "length", "lines", "written")

    def __init__(self, entry: Entry, generation: bytes, length: int, lines: int):
        self.entry = entry
        self.generation = generation
        self.length = length
        self.lines = lines  # record lines in the value
        self.written = lines  # record lines right after the last full write


class RliteStreamStore:
    """Streams kept in rlite string values (see the module doc)."""

    def __init__(self, engine: RawEngine) -> None:
        self.engine = engine
        self._cache: OrderedDict[bytes, _Cached] = OrderedDict()

    def get(self, key: bytes) -> Entry | None:
        """The stream at ``key``: two cheap reads when the cache is warm.

        The entry's ``expire_at`` is left unset: rlite expires keys itself
        (an expired key reads as missing), and writes keep the TTL.
        """
        raw = self.engine.raw
        tail = raw([b"GETRANGE", key, str(-TRAILER).encode(), b"-1"])
        if (
            not isinstance(tail, bytes)
            or len(tail) != TRAILER
            or tail[:1] != b"#"
            or not tail.endswith(MAGIC)
        ):
            kind = raw([b"TYPE", key])
            if not isinstance(kind, bytes) or kind == b"none":
                return None
            return Entry(kind.decode(), None)
        generation = tail[1 : 1 + GENERATION]
        length = raw([b"STRLEN", key])
        cached = self._cache.get(key)
        if cached is None or cached.generation != generation or cached.length != length:
            try:
                value, lines = parse(raw([b"GET", key]))
            except (ValueError, IndexError, KeyError, UnicodeDecodeError) as exc:
                raise Refused(f"ERR the stream at this key is damaged: {exc}") from exc
            cached = _Cached(Entry("stream", value), generation, int(length), lines)
        self._remember(key, cached)
        return cached.entry

    def _remember(self, key: bytes, cached: _Cached) -> None:
        self._cache[key] = cached
        self._cache.move_to_end(key)
        while len(self._cache) > CACHED_STREAMS:
            self._cache.popitem(last=False)

    def _rewrite(self, key: bytes, entry: Entry, keep_ttl: bool) -> None:
        """Write the whole value (a new generation). O(N)."""
        raw = self.engine.raw
        ttl = raw([b"PTTL", key]) if keep_ttl else -1
        generation = os.urandom(GENERATION // 2).hex().encode()
        lines = [_line(entry.value, t) for t in tokens_of(entry.value)]
        value = HEAD + b"\n".join(lines) + b"\n" + _trailer(generation)
        raw([b"SET", key, value])
        if isinstance(ttl, int) and ttl > 0:
            raw([b"PEXPIRE", key, str(ttl).encode()])
        elif not keep_ttl and entry.expire_at is not None:
            raw([b"PEXPIREAT", key, str(entry.expire_at).encode()])
        self._remember(key, _Cached(entry, generation, len(value), len(lines)))

    def put(self, key: bytes, entry: Entry) -> None:
        self._rewrite(key, entry, keep_ttl=False)

    def changed(self, key: bytes, entry: Entry, members: Iterable[Any]) -> None:
        """Append the changed records (O(changed)); rewrite the value once the
        appended lines outnumber the live ones by ``SLACK`` (amortized O(1))."""
        tokens = list(dict.fromkeys(members))
        cached = self._cache.get(key)
        if (
            cached is None
            or cached.entry is not entry
            or cached.lines + len(tokens) > 2 * cached.written + SLACK
        ):
            self._rewrite(key, entry, keep_ttl=True)
            return
        raw = self.engine.raw
        data = b"".join(b"\n" + _line(entry.value, t) for t in tokens)
        ttl = raw([b"PTTL", key])  # rlite's APPEND drops the TTL
        length = raw([b"APPEND", key, data + b"\n" + _trailer(cached.generation)])
        if isinstance(ttl, int) and ttl > 0:
            raw([b"PEXPIRE", key, str(ttl).encode()])
        cached.length = int(length)
        cached.lines += len(tokens)

    def remove(self, key: bytes) -> None:
        self._cache.pop(key, None)
        self.engine.raw([b"DEL", key])

    def meta_changed(self, key: bytes, entry: Entry) -> None:
        if entry.expire_at is None:
            self.engine.raw([b"PERSIST", key])
        else:
            self.engine.raw([b"PEXPIREAT", key, str(entry.expire_at).encode()])

    def __iter__(self) -> Iterator[bytes]:
        keys = self.engine.raw([b"KEYS", b"*"])
        return iter(keys if isinstance(keys, list) else [])

    def __len__(self) -> int:
        return len(list(self))

    def random_key(self) -> bytes | None:
        key = self.engine.raw([b"RANDOMKEY"])
        return key if isinstance(key, bytes) else None

    def clear(self) -> None:
        self._cache.clear()
        self.engine.raw([b"FLUSHDB"])

    def flush(self) -> None:
        pass

    def save(self) -> None:
        pass

    def close(self) -> None:
        self._cache.clear()


def _type(engine: RawEngine, args: Command) -> Reply:
    """TYPE: ``stream`` for a string value holding a stream."""
    if len(args) != 2:
        return arity_error("type")
    kind = engine.raw(args)
    if kind == b"string" and is_stream(engine, args[1]):
        return b"stream"
    return kind


GAPS[b"TYPE"] = _type
