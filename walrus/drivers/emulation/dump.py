"""DUMP, RESTORE and OBJECT.

DUMP's payload is walrus's own (Redis's is its RDB encoding): the type, the
value and a footer of a 2-byte format version and an 8-byte checksum, laid
out like Redis's footer::

    b"W" kind(1 byte) value... version(2, little-endian) blake2b-64(8)

``value``: a string's bytes; for a list or set, a count and each member;
for a hash, a count and each field and value; for a sorted set, a count and
each member with its score (an 8-byte big-endian double); for a stream, a
count and its records (:mod:`.streamlog`). Counts and lengths are unsigned
LEB128 varints. RESTORE accepts what any walrus engine's DUMP gives (memory,
Vedis, rlite) and refuses anything else as Redis refuses a damaged payload:
"DUMP payload version or checksum are wrong", or "Bad data format" when the
checksum is right but the value is not. A Redis server's payload is refused
the same way (and walrus's by Redis).

OBJECT ENCODING answers what Redis 7.0 would for the value as it is now
(Redis converts one way only: a hash that grew past 128 fields and shrank
stays ``hashtable`` there); IDLETIME is 0 and REFCOUNT 1 (not tracked).
"""

from __future__ import annotations

import hashlib
import struct
from collections import deque
from typing import Any

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation import streamlog
from walrus.drivers.emulation.engine import (
    INT64_MAX,
    INT64_MIN,
    SYNTAX,
    EmulationEngine,
    Refused,
    command,
    now_ms,
    to_int,
    wrong_args,
)
from walrus.drivers.emulation.sortedset import ZSet
from walrus.drivers.emulation.store import Entry

Args = list[bytes]
VERSION = 1
KINDS = ["string", "list", "set", "zset", "hash", "stream"]
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_FORMAT = "ERR Bad data format"


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _blob(raw: bytes) -> bytes:
    return _varint(len(raw)) + raw


def _checksum(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=8).digest()


def serialize(entry: Entry) -> bytes:
    """The DUMP payload of ``entry``'s value. O(members)."""
    value: Any = entry.value
    body: bytes
    if entry.kind == "string":
        body = value
    elif entry.kind in ("list", "set"):
        body = _varint(len(value)) + b"".join(map(_blob, value))
    elif entry.kind == "hash":
        pairs = (_blob(f) + _blob(v) for f, v in value.items())
        body = _varint(len(value)) + b"".join(pairs)
    elif entry.kind == "zset":
        items = (_blob(m) + struct.pack(">d", s) for s, m in value)
        body = _varint(len(value)) + b"".join(items)
    else:
        tokens = list(streamlog.records(value))
        parts = (
            _blob(streamlog.field_name(t).encode())
            + _blob((streamlog.record(value, t) or "").encode())
            for t in tokens
        )
        body = _varint(len(tokens)) + b"".join(parts)
    data = b"W" + bytes([KINDS.index(entry.kind)]) + body + struct.pack("<H", VERSION)
    return data + _checksum(data)


class _Reader:
    """Reads a payload's value; any inconsistency raises BAD_FORMAT."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.at = 0

    def varint(self) -> int:
        number = shift = 0
        while True:
            if self.at >= len(self.body) or shift > 63:
                raise Refused(BAD_FORMAT)
            byte = self.body[self.at]
            self.at += 1
            number |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return number

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.body):
            raise Refused(BAD_FORMAT)
        raw = self.body[self.at : self.at + size]
        self.at += size
        return raw

    def blob(self) -> bytes:
        return self.take(self.varint())

    def blobs(self, count: int) -> list[bytes]:
        return [self.blob() for _ in range(count)]

    def end(self) -> None:
        if self.at != len(self.body):
            raise Refused(BAD_FORMAT)


def deserialize(payload: bytes) -> Entry:
    """The entry a DUMP payload holds (no expiry); Refused if it is not one."""
    data, checksum = payload[:-8], payload[-8:]
    if (
        len(payload) < 12
        or data[:1] != b"W"
        or struct.unpack("<H", data[-2:])[0] != VERSION
        or _checksum(data) != checksum
    ):
        raise Refused(BAD_PAYLOAD)
    if data[1] >= len(KINDS):
        raise Refused(BAD_FORMAT)
    kind, reader = KINDS[data[1]], _Reader(data[2:-2])
    if kind == "string":
        return Entry(kind, reader.body)
    count = reader.varint()
    value: Any
    if kind == "list":
        value = deque(reader.blobs(count))
    elif kind == "set":
        value = set(reader.blobs(count))
    elif kind == "hash":
        value = {}
        for _ in range(count):
            field = reader.blob()
            value[field] = reader.blob()
    elif kind == "zset":
        value = ZSet()
        for _ in range(count):
            member = reader.blob()
            value.add(member, struct.unpack(">d", reader.take(8))[0])
    else:
        pairs = [(reader.blob(), reader.blob()) for _ in range(count)]
        try:
            value = streamlog.decode(
                [n.decode("ascii") for n, _ in pairs],
                [v.decode("ascii") for _, v in pairs],
            )
        except Exception as exc:  # any malformed record: KeyError, ValueError ...
            raise Refused(BAD_FORMAT) from exc
    reader.end()
    if kind != "stream" and (not value or len(value) != count):
        raise Refused(BAD_FORMAT)  # no empty containers, no duplicates
    return Entry(kind, value)


@command("DUMP", 2)
def dump(db: EmulationEngine, args: Args) -> Reply:
    """The key's value serialized (see the module doc). O(members)."""
    entry = db.entry(args[1])
    return None if entry is None else serialize(entry)


@command("RESTORE", -4)
def restore(db: EmulationEngine, args: Args) -> Reply:
    """RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].

    Checks in Redis's order: options, BUSYKEY, the TTL, the payload. A TTL
    already past creates nothing (and REPLACE deletes the old key), as in
    Redis. IDLETIME and FREQ are checked and ignored (not tracked here).
    """
    replace = absolute = False
    idle = freq = None
    i = 4
    while i < len(args):
        option = args[i].upper()
        more = i + 1 < len(args)
        if option == b"REPLACE":
            replace = True
        elif option == b"ABSTTL":
            absolute = True
        elif option == b"IDLETIME" and more and freq is None:
            idle = to_int(args[i + 1])
            if idle < 0:
                raise Refused("ERR Invalid IDLETIME value, must be >= 0")
            i += 1
        elif option == b"FREQ" and more and idle is None:
            freq = to_int(args[i + 1])
            if not 0 <= freq <= 255:
                raise Refused("ERR Invalid FREQ value, must be >= 0 and <= 255")
            i += 1
        else:
            raise Refused(SYNTAX)
        i += 1
    key = args[1]
    if not replace and db.entry(key) is not None:
        raise Refused("BUSYKEY Target key name already exists.")
    ttl = to_int(args[2])
    if ttl < 0:
        raise Refused("ERR Invalid TTL value, must be >= 0")
    entry = deserialize(args[3])
    deadline = None
    if ttl:
        deadline = ttl if absolute else ttl + now_ms()
        if not INT64_MIN <= deadline <= INT64_MAX:
            raise Refused("ERR Invalid TTL value, must be >= 0")
    if replace:
        db.delete(key)
    if deadline is None or deadline > now_ms():
        entry.expire_at = deadline
        db.put(key, entry)
    return b"OK"


# -- OBJECT ----------------------------------------------------------------------
_HELP = [
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
]
NO_LFU = (
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
    "Please note that when switching between policies at runtime LRU and LFU data "
    "will take some time to adjust."
)
SMALL = 128  # entries of a listpack (hash, zset), Redis's default
SMALL_VALUE = 64  # bytes of one listpack member
INTSET = 512  # members of an intset


def _is_int(raw: bytes) -> bool:
    try:
        to_int(raw)
    except Refused:
        return False
    return True


def encoding(entry: Entry) -> bytes:
    """Redis 7.0's OBJECT ENCODING for the value as it is now."""
    value: Any = entry.value
    if entry.kind == "string":
        if len(value) <= 20 and _is_int(value):
            return b"int"
        return b"embstr" if len(value) <= 44 else b"raw"
    if entry.kind == "list":
        return b"quicklist"
    if entry.kind == "set":
        small = len(value) <= INTSET and all(map(_is_int, value))
        return b"intset" if small else b"hashtable"
    if entry.kind == "stream":
        return b"stream"
    members = value.items() if entry.kind == "hash" else ((m, b"") for _, m in value)
    small = len(value) <= SMALL and all(
        len(a) <= SMALL_VALUE and len(b) <= SMALL_VALUE for a, b in members
    )
    if small:
        return b"listpack"
    return b"hashtable" if entry.kind == "hash" else b"skiplist"


@command("OBJECT", -2)
def object_(db: EmulationEngine, args: Args) -> Reply:
    """OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ key, OBJECT HELP."""
    sub = args[1].upper()
    if sub == b"HELP":
        if len(args) != 2:
            raise wrong_args(b"object|help")
        return [line.encode() for line in _HELP]
    if sub not in (b"ENCODING", b"REFCOUNT", b"IDLETIME", b"FREQ"):
        shown = args[1].decode("utf-8", "replace")
        raise Refused(f"ERR unknown subcommand '{shown}'. Try OBJECT HELP.")
    if len(args) != 3:
        raise wrong_args(b"object|" + sub.lower())
    entry = db.entry(args[2])
    if entry is None:
        return None
    if sub == b"ENCODING":
        return encoding(entry)
    if sub == b"FREQ":
        raise Refused(NO_LFU)
    return 1 if sub == b"REFCOUNT" else 0
