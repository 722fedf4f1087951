"""A :class:`~walrus.drivers.emulation.store.Store` over a Vedis database.

Encoding (format 2), every name ASCII, every object a Vedis key/value record
(``store``/``fetch``/``delete``; Vedis's native hashes are not used: they
lose fields once a file is reopened, see :mod:`.vedisbuckets`):

* ``walrus:format``: ``b"2"``; ``walrus:next-id``: the next internal id.
* ``walrus:d:<n>`` (a map, below): the key directory of database ``n``
  (0-15, Redis's numbered databases): ``"~" + base64(key)`` -> ``"<type>
  <id> <expire ms or -> <list base>"`` (the base as written; a list's first
  element's position is read from its members). Ids are unique across
  databases, so values are named by id alone; ``walrus:next-id`` moves
  ``ID_BLOCK`` ids at a time.
* ``walrus:v:<id>``: a string's value (binary-safe).
* ``walrus:b:<id>`` (a map): a container's members, ``~base64(field) ->
  base64(value)`` for a hash, ``~base64(member) -> "1"`` for a set,
  ``~base64(member) -> repr(score)`` for a sorted set, ``"<absolute
  position>" -> base64(element)`` for a list, and a stream's records
  (:mod:`.streamlog`).

A map is a set of bucket records that split as it grows
(:mod:`.vedisbuckets`). Base64 keeps the lines of a bucket free of spaces
and newlines whatever the bytes. A value written anew gets a fresh id, is
written before the directory points to it, and the old value's records go
last (a small string over a small string is overwritten in place). Every
write goes through :mod:`.vedisrecords`, which commits before a transaction
grows large enough for Vedis's pager to damage it. A format-1 file (native
hashes) is rewritten as format 2 when opened (:mod:`.vedisformat1`).

Cost: a database's directory is read when the database is first used
(O(keys)); a container's members are read on its first use (O(members),
once) and kept in memory while the file is open (Vedis allows one writer
process, so the cache cannot go stale); afterwards a one-member write
rewrites one bucket of the container (about 32 members) and at most one of
the directory: O(1) whatever the container's size. Deleting a container
deletes its buckets (O(members / 32)); SWAPDB rewrites the two directories
(O(keys)); MOVE rewrites the key's value under a new id (O(members)).

Durability: Vedis writes a file only on commit. A writing command is
committed at once when ``commit_interval`` is 0; otherwise at the first
write after ``commit_interval`` seconds, by a timer that many seconds after
an uncommitted write, on SAVE and on close (like Redis's ``appendfsync
everysec``), and when an operation leaves the transaction crowded
(:mod:`.vedisrecords`). A commit costs about 1.3-2.5 ms here.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from base64 import b64decode
from binascii import b2a_base64
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from walrus.drivers.emulation import streamlog
from walrus.drivers.emulation.sortedset import ZSet
from walrus.drivers.emulation.store import Entry
from walrus.drivers.vedis.buckets import Buckets
from walrus.drivers.vedis.format1 import finish_migration, migrate
from walrus.drivers.vedis.records import LARGE, Records
from walrus.exceptions import DatabaseOpenError, EngineError

__all__ = ["CODECS", "FORMAT", "Codec", "VedisStore", "vedis_reason"]

FORMAT_KEY, FORMAT = b"walrus:format", b"2"
NEXT_ID = b"walrus:next-id"
ID_BLOCK = 64  # ids reserved at a time


def _b64(raw: bytes) -> str:
    return b2a_base64(raw, newline=False).decode("ascii")


def vedis_reason(exc: Exception) -> str:
    """Vedis's error text (it raises bytes messages)."""
    reason = exc.args[0] if exc.args else exc
    if isinstance(reason, bytes):
        return reason.decode("utf-8", "replace").strip()
    return str(reason)


def _name(raw: bytes) -> str:
    """A field name for ``raw``: never empty, no space, no newline."""
    return "~" + _b64(raw)


def _unname(field: str) -> bytes:
    return b64decode(field[1:])


Changes = dict[str, str | None]  # field -> its new value, None: deleted


class Codec(NamedTuple):
    """How one kind of container maps onto the fields of a map (ASCII text).

    A later kind (streams) adds its own codec to :data:`CODECS`.
    """

    pairs: Callable[[Entry], Iterable[tuple[str, str]]]  # every field, for a full write
    changes: Callable[[Entry, Iterable[Any]], Changes]  # the fields of some members
    decode: Callable[[list[str], list[str]], Any]  # fields, values -> value


def _codec(
    members: Callable[[Entry], Iterable[Any]],
    field: Callable[[Entry, Any], str],
    value: Callable[[Entry, Any], str | None],  # None once the member is gone
    decode: Callable[[list[str], list[str]], Any],
) -> Codec:
    """A codec from how to name one member and write its value."""

    def pairs(entry: Entry) -> Iterator[tuple[str, str]]:
        for member in members(entry):
            found = value(entry, member)
            if found is not None:
                yield field(entry, member), found

    def changes(entry: Entry, changed: Iterable[Any]) -> Changes:
        return {field(entry, m): value(entry, m) for m in changed}

    return Codec(pairs, changes, decode)


# Hashes, sets and sorted sets name a member ``_name(member)``; their codecs
# are written out (one call per write, not two per member).
def _hash_pairs(entry: Entry) -> Iterator[tuple[str, str]]:
    for field, value in entry.value.items():
        yield _name(field), _b64(value)


def _hash_changes(entry: Entry, changed: Iterable[bytes]) -> Changes:
    """:func:`_name` and :func:`_b64` written out: their three Python calls
    per field (``_name`` calls ``_b64``) cost 6 % of a 100-field
    ``Hash.update``."""
    values: dict[bytes, bytes] = entry.value
    out: Changes = {}
    for field in changed:
        value = values.get(field)
        out["~" + b2a_base64(field, newline=False).decode("ascii")] = (
            None if value is None else b2a_base64(value, newline=False).decode("ascii")
        )
    return out


def _decode_hash(fields: list[str], values: list[str]) -> dict[bytes, bytes]:
    return {_unname(f): b64decode(v) for f, v in zip(fields, values, strict=True)}


def _set_pairs(entry: Entry) -> Iterator[tuple[str, str]]:
    for member in entry.value:
        yield _name(member), "1"


def _set_changes(entry: Entry, changed: Iterable[bytes]) -> Changes:
    members: set[bytes] = entry.value
    return {_name(m): "1" if m in members else None for m in changed}


def _zset_pairs(entry: Entry) -> Iterator[tuple[str, str]]:
    for member, score in entry.value.scores.items():
        yield _name(member), repr(score)


def _zset_changes(entry: Entry, changed: Iterable[bytes]) -> Changes:
    scores: dict[bytes, float] = entry.value.scores
    out: Changes = {}
    for member in changed:
        score = scores.get(member)
        out[_name(member)] = None if score is None else repr(score)
    return out


def _decode_zset(fields: list[str], values: list[str]) -> ZSet:
    zset = ZSet()
    for field, score in zip(fields, values, strict=True):
        zset.add(_unname(field), float(score))
    return zset


def _list_value(entry: Entry, position: int) -> str | None:
    index = position - entry.base
    return _b64(entry.value[index]) if 0 <= index < len(entry.value) else None


def _decode_list(fields: list[str], values: list[str]) -> deque[bytes]:
    ordered = sorted(zip(map(int, fields), values, strict=True))
    return deque(b64decode(v) for _, v in ordered)


CODECS: dict[str, Codec] = {
    "hash": Codec(_hash_pairs, _hash_changes, _decode_hash),
    "set": Codec(_set_pairs, _set_changes, lambda f, v: set(map(_unname, f))),
    "zset": Codec(_zset_pairs, _zset_changes, _decode_zset),
    "list": _codec(
        lambda e: range(e.base, e.base + len(e.value)),
        lambda e, position: str(position),
        _list_value,
        _decode_list,
    ),
    "stream": _codec(
        lambda e: streamlog.records(e.value),
        lambda e, token: streamlog.field_name(token),
        lambda e, token: streamlog.record(e.value, token),
        streamlog.decode,
    ),
}


class _File:
    """What every database of one Vedis handle shares: ids, records, commits."""

    def __init__(self, handle: Any, commit_interval: float, persistent: bool) -> None:
        self.db = handle
        self.persistent = persistent
        self.interval = commit_interval
        self.last_commit = time.monotonic()
        self.dirty = False
        self.timer: threading.Timer | None = None
        self.lock: threading.RLock | None = None  # held by the timer's commit
        self.stores: dict[int, VedisStore] = {}
        self.records = Records(handle, persistent, self.save, self.new_id)
        self.buckets = Buckets(self.records)
        found = self.records.fetch(FORMAT_KEY)
        if found is None:
            self.records.store(NEXT_ID, b"1")
            self.records.store(FORMAT_KEY, FORMAT)
            self.save()
        elif found not in (b"1", FORMAT):
            raise DatabaseOpenError(
                f"this Vedis file uses walrus format {found[:20]!r}, which this "
                f"version of walrus does not know (it reads formats 1 and 2)"
            )
        self.next_id = self.reserved = int(self.db.fetch(NEXT_ID))
        if found == b"1":
            migrate(self.buckets, FORMAT_KEY, NEXT_ID)
        finish_migration(self.records, NEXT_ID)

    def new_id(self) -> int:
        """A fresh id; ``walrus:next-id`` is moved ``ID_BLOCK`` ids at a time
        (the ids a crash leaves unused are skipped)."""
        if self.next_id >= self.reserved:
            old = len(b"%d" % self.reserved)
            self.reserved = self.next_id + ID_BLOCK
            self.records.store(NEXT_ID, b"%d" % self.reserved, old)
        ident = self.next_id
        self.next_id += 1
        return ident

    def flush(self) -> None:
        """An operation ended: commit if due, or if many pages are hot."""
        if not self.dirty or not self.persistent:
            return
        if time.monotonic() - self.last_commit >= self.interval or self.records.crowded:
            self.save()
        elif self.timer is None:
            self.timer = threading.Timer(self.interval, self._timed_save)
            self.timer.daemon = True
            self.timer.start()

    def _timed_save(self) -> None:
        lock = self.lock or threading.RLock()
        with lock:
            self.timer = None
            if self.dirty and self.db is not None:
                # A failure here is retried, and reported, by the next command.
                with contextlib.suppress(EngineError):
                    self.save()

    def save(self) -> None:
        """Commit now; a failed commit leaves the writes pending (retried later)."""
        if self.persistent:
            try:
                self.db.commit()
            except Exception as exc:
                raise EngineError(f"Vedis cannot commit: {vedis_reason(exc)}") from exc
        self.records.committed()
        self.dirty = False
        self.last_commit = time.monotonic()

    def close(self) -> None:
        if self.db is None:
            return
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.dirty:
            self.save()
        self.db.close()
        self.db = None


def _members(ident: int) -> bytes:
    return b"walrus:b:%d" % ident


def _string(ident: int) -> bytes:
    return b"walrus:v:%d" % ident


def _meta(entry: Entry) -> str:
    expire = "-" if entry.expire_at is None else str(entry.expire_at)
    return f"{entry.kind} {entry.ident} {expire} {entry.base}"


class VedisStore:
    """One database's entries cached in memory, written through to a Vedis
    handle (database 0 opens the handle; :meth:`database` gives the others)."""

    def __init__(
        self,
        handle: Any,
        commit_interval: float,
        persistent: bool,
        index: int = 0,
        shared: _File | None = None,
    ) -> None:
        self._file = (
            _File(handle, commit_interval, persistent) if shared is None else shared
        )
        self._db = handle
        self._records = self._file.records
        self._buckets = self._file.buckets
        self.index = index
        self._directory = b"walrus:d:%d" % index
        self._entries: dict[bytes, Entry] = {}
        self._loaded: set[bytes] = set()
        self._load_directory()
        self._file.stores[index] = self

    @property
    def lock(self) -> threading.RLock | None:
        """The database lock, held by a timed commit (set by the driver)."""
        return self._file.lock

    @lock.setter
    def lock(self, lock: threading.RLock | None) -> None:
        self._file.lock = lock

    def database(self, index: int) -> VedisStore:
        store = self._file.stores.get(index)
        if store is None:
            store = VedisStore(
                self._db, self._file.interval, self._file.persistent, index, self._file
            )
        return store

    def swap(self, other: Any) -> None:
        """SWAPDB: both directories are rewritten (O(keys)); values stay put."""
        assert isinstance(other, VedisStore)
        self._file.dirty = True
        self._entries, other._entries = other._entries, self._entries
        self._loaded, other._loaded = other._loaded, self._loaded
        for store in (self, other):
            self._buckets.drop(store._directory)
        for store in (self, other):
            pairs = ((_name(k), _meta(e)) for k, e in store._entries.items())
            self._buckets.replace(store._directory, pairs)

    # -- reading -------------------------------------------------------------------
    def _load_directory(self) -> None:
        self._entries.clear()
        self._loaded.clear()
        fields, metas = self._buckets.load(self._directory)
        for field, meta in zip(fields, metas, strict=True):
            kind, ident, expire, base = meta.split(" ")
            entry = Entry(kind, None, None if expire == "-" else int(expire))
            entry.ident, entry.base = int(ident), int(base)
            self._entries[_unname(field)] = entry

    def reload(self) -> None:
        """Forget the caches after a failed write: reread what Vedis holds."""
        self._file.next_id = self._file.reserved = int(self._db.fetch(NEXT_ID))
        self._buckets.shapes.clear()
        for store in self._file.stores.values():
            store._load_directory()

    def get(self, key: bytes) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None and key not in self._loaded:
            entry.value = self._read_value(entry)
            self._loaded.add(key)
        return entry

    def _read_value(self, entry: Entry) -> Any:
        if entry.kind == "string":
            return self._db.fetch(_string(entry.ident))
        fields, values = self._buckets.load(_members(entry.ident))
        if entry.kind == "list" and fields:  # the first element's position
            entry.base = min(map(int, fields))
        return CODECS[entry.kind].decode(fields, values)

    # -- writing -------------------------------------------------------------------
    def _write_meta(self, key: bytes, entry: Entry) -> None:
        self._file.dirty = True
        self._buckets.update(self._directory, {_name(key): _meta(entry)})

    def put(self, key: bytes, entry: Entry) -> None:
        """The new value under a fresh id, then the directory, then the old
        value's records go: a large value is never overwritten in place, and
        a crash in between leaves the old value whole. A small string
        replacing a small string is overwritten in place."""
        self._file.dirty = True
        old = self._entries.get(key)
        gone = None
        if old is not None:
            if entry.kind == old.kind == "string" and self._overwrite(key, old, entry):
                return
            known = key in self._loaded and old is not entry  # the old value's size
            gone = (old.kind, old.ident, old.value if known else None)
        entry.ident = self._file.new_id()
        if entry.kind == "string":
            self._records.store(_string(entry.ident), entry.value)
        else:
            pairs = CODECS[entry.kind].pairs(entry)
            self._buckets.replace(_members(entry.ident), pairs)
        self._entries[key] = entry
        self._write_meta(key, entry)
        if gone is not None:
            self._drop_value(*gone)
        self._loaded.add(key)

    def _overwrite(self, key: bytes, old: Entry, entry: Entry) -> bool:
        """Write a small string over a small one (same id); False if too large."""
        name = _string(old.ident)
        if key in self._loaded and old is not entry:
            size = len(old.value)
        else:
            size = len(self._records.fetch(name) or b"")
        if size >= LARGE or len(entry.value) >= LARGE:
            return False
        entry.ident = old.ident
        self._records.store(name, entry.value, size)
        self._entries[key] = entry
        self._loaded.add(key)
        if entry.expire_at != old.expire_at or entry.base != old.base:
            self._write_meta(key, entry)  # its directory line changed
        return True

    def remove(self, key: bytes) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._write_meta_gone(key)
        loaded = key in self._loaded
        self._loaded.discard(key)
        self._drop_value(entry.kind, entry.ident, entry.value if loaded else None)

    def _write_meta_gone(self, key: bytes) -> None:
        self._file.dirty = True
        self._buckets.update(self._directory, {_name(key): None})

    def _drop_value(self, kind: str, ident: int, value: Any) -> None:
        """Delete a value's records (``value``: None when it was not read)."""
        if kind == "string":
            self._records.delete(_string(ident), None if value is None else len(value))
        else:
            self._buckets.drop(_members(ident), loaded=value is not None)

    def changed(self, key: bytes, entry: Entry, members: Iterable[Any]) -> None:
        """The members' bucket(s); a list's new base is not written (its first
        element's position gives it back)."""
        self._file.dirty = True
        changes = CODECS[entry.kind].changes(entry, members)
        self._buckets.update(_members(entry.ident), changes)

    def meta_changed(self, key: bytes, entry: Entry) -> None:
        self._write_meta(key, entry)

    def __iter__(self) -> Iterator[bytes]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def random_key(self) -> bytes | None:
        return random.choice(list(self._entries)) if self._entries else None

    def clear(self) -> None:
        """The directory, then every value's records. O(keys + members / 32)."""
        self._file.dirty = True
        self._buckets.drop(self._directory)
        entries, self._entries = self._entries, {}
        loaded, self._loaded = self._loaded, set()
        for key, entry in entries.items():
            value = entry.value if key in loaded else None
            self._drop_value(entry.kind, entry.ident, value)

    # -- durability (of the whole file) ---------------------------------------------
    def flush(self) -> None:
        self._file.flush()

    def save(self) -> None:
        """Commit now; a failed commit leaves the writes pending (retried later)."""
        self._file.save()

    def close(self) -> None:
        self._file.close()
