"""A :class:`~walrus.drivers.emulation.store.Store` over a Vedis database.

Encoding (format 1), all names ASCII:

* ``walrus:format`` (a Vedis key/value record): ``b"1"``.
* ``walrus:next-id`` (record): the next internal id, decimal.
* ``walrus:keys`` (a native Vedis hash), the directory of database 0: one
  field per walrus key, ``"~" + base64(key)`` -> ``"<type> <id> <expire ms
  or -> <list base>"``. Database ``n`` (1-15, Redis's numbered databases)
  has its own directory ``walrus:keys:<n>``, same layout; ids are unique
  across databases, so values are named by id alone.
* ``walrus:v:<id>`` (record, binary-safe ``store``/``fetch``): a string's value.
* ``walrus:m:<id>`` (a native Vedis hash): a container's members,
  ``~base64(field) -> base64(value)`` for a hash, ``~base64(member) -> "1"``
  for a set, ``~base64(member) -> repr(score)`` for a sorted set and
  ``"<absolute position>" -> base64(element)`` for a list.

A file written before numbered databases existed is database 0 of this
format, unchanged. SWAPDB rewrites the two directories (O(keys), values
untouched); MOVE rewrites the key's value under a new id (O(members)).

Base64 keeps every byte intact through Vedis's command parser (which cuts
replies at NUL and rewrites quotes); the ``~`` keeps field names non-empty,
as Vedis does not keep an empty one. A key created again gets a fresh id;
deleting a container deletes its member fields (O(members), as DEL is in
Redis); the emptied Vedis hash itself cannot be dropped (Vedis has no way).

Cost: the directory is read once when the database opens (O(keys)); a
container's members are read on its first use (O(members), once) and kept
in memory while the file is open (Vedis allows one writer process, so the
cache cannot go stale); afterwards a one-member write writes one field and
at most one directory entry: O(1) whatever the container's size.

Durability: Vedis writes a file only on commit. A writing command is
committed at once when ``commit_interval`` is 0; otherwise at the first
write after ``commit_interval`` seconds, by a timer that many seconds after
an uncommitted write, on SAVE and on close (like Redis's ``appendfsync
everysec``). A commit costs about 1.3 ms here (750 commits/s).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from base64 import b64decode, b64encode
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from walrus.drivers.emulation import streamlog
from walrus.drivers.emulation.sortedset import ZSet
from walrus.drivers.emulation.store import Entry
from walrus.exceptions import EngineError

__all__ = ["CODECS", "Codec", "VedisStore", "vedis_reason"]

DIRECTORY = "walrus:keys"
FORMAT_KEY, FORMAT = b"walrus:format", b"1"
NEXT_ID = b"walrus:next-id"
CHUNK = 256  # fields per HMSET/HDEL when a whole container is written


def _b64(raw: bytes) -> str:
    return b64encode(raw).decode("ascii")


def vedis_reason(exc: Exception) -> str:
    """Vedis's error text (it raises bytes messages)."""
    reason = exc.args[0] if exc.args else exc
    if isinstance(reason, bytes):
        return reason.decode("utf-8", "replace").strip()
    return str(reason)


def _name(raw: bytes) -> str:
    """A field name for ``raw``: never empty (Vedis drops empty field names)."""
    return "~" + b64encode(raw).decode("ascii")


def _unname(field: bytes) -> bytes:
    return b64decode(field[1:])


class Codec(NamedTuple):
    """How one kind of container maps onto the fields of a Vedis hash.

    A later kind (streams) adds its own codec to :data:`CODECS`.
    """

    members: Callable[[Entry], Iterable[Any]]  # every member, for a full write
    field: Callable[[Entry, Any], str]  # the field name of a member
    value: Callable[[Entry, Any], str | None]  # its field value; None once gone
    decode: Callable[[list[bytes], list[bytes]], Any]  # fields, values -> value


def _member_field(entry: Entry, member: bytes) -> str:
    return _name(member)


def _hash_value(entry: Entry, field: bytes) -> str | None:
    value: bytes | None = entry.value.get(field)
    return None if value is None else _b64(value)


def _set_value(entry: Entry, member: bytes) -> str | None:
    return "1" if member in entry.value else None


def _zset_value(entry: Entry, member: bytes) -> str | None:
    score: float | None = entry.value.scores.get(member)
    return None if score is None else repr(score)


def _list_value(entry: Entry, position: int) -> str | None:
    index = position - entry.base
    return _b64(entry.value[index]) if 0 <= index < len(entry.value) else None


def _decode_zset(fields: list[bytes], values: list[bytes]) -> ZSet:
    zset = ZSet()
    for field, score in zip(fields, values, strict=True):
        zset.add(_unname(field), float(score))
    return zset


def _decode_list(fields: list[bytes], values: list[bytes]) -> deque[bytes]:
    ordered = sorted(zip(map(int, fields), values, strict=True))
    return deque(b64decode(v) for _, v in ordered)


CODECS: dict[str, Codec] = {
    "hash": Codec(
        lambda e: e.value,
        _member_field,
        _hash_value,
        lambda f, v: {_unname(a): b64decode(b) for a, b in zip(f, v, strict=True)},
    ),
    "set": Codec(
        lambda e: e.value, _member_field, _set_value, lambda f, v: set(map(_unname, f))
    ),
    "zset": Codec(lambda e: e.value.scores, _member_field, _zset_value, _decode_zset),
    "list": Codec(
        lambda e: range(e.base, e.base + len(e.value)),
        lambda e, position: str(position),
        _list_value,
        _decode_list,
    ),
    "stream": Codec(
        lambda e: streamlog.records(e.value),
        lambda e, token: streamlog.field_name(token),
        lambda e, token: streamlog.record(e.value, token),
        lambda f, v: streamlog.decode(
            [a.decode("ascii") for a in f], [b.decode("ascii") for b in v]
        ),
    ),
}


class _File:
    """What every database of one Vedis handle shares: ids and commits."""

    def __init__(self, handle: Any, commit_interval: float, persistent: bool) -> None:
        self.db = handle
        self.persistent = persistent
        self.interval = commit_interval
        self.last_commit = time.monotonic()
        self.dirty = False
        self.timer: threading.Timer | None = None
        self.lock: threading.RLock | None = None  # held by the timer's commit
        self.stores: dict[int, VedisStore] = {}
        if self.db.exists(FORMAT_KEY):
            if self.db.fetch(FORMAT_KEY) != FORMAT:
                raise EngineError("this Vedis file uses an unknown walrus format")
        else:
            self.db.store(FORMAT_KEY, FORMAT)
            self.db.store(NEXT_ID, b"1")
            self.save()
        self.next_id = int(self.db.fetch(NEXT_ID))

    def new_id(self) -> int:
        ident = self.next_id
        self.next_id += 1
        self.db.store(NEXT_ID, str(self.next_id).encode())
        return ident

    def flush(self) -> None:
        if not self.dirty or not self.persistent:
            return
        if time.monotonic() - self.last_commit >= self.interval:
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
        self.index = index
        self._directory = DIRECTORY if index == 0 else f"{DIRECTORY}:{index}"
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
        for store in (self, other):
            for key in store._entries:
                self._db.execute(f'HDEL {store._directory} "{_name(key)}"')
        self._entries, other._entries = other._entries, self._entries
        self._loaded, other._loaded = other._loaded, self._loaded
        for store in (self, other):
            for key, entry in store._entries.items():
                store._write_meta(key, entry)

    # -- reading -------------------------------------------------------------------
    def _load_directory(self) -> None:
        self._entries.clear()
        self._loaded.clear()
        pairs = self._db.execute(f"HGETALL {self._directory}") or []
        for field, meta in zip(pairs[::2], pairs[1::2], strict=True):
            kind, ident, expire, base = meta.decode("ascii").split()
            entry = Entry(kind, None, None if expire == "-" else int(expire))
            entry.ident, entry.base = int(ident), int(base)
            self._entries[_unname(field)] = entry

    def reload(self) -> None:
        """Forget the caches after a failed write: reread what Vedis holds."""
        self._file.next_id = int(self._db.fetch(NEXT_ID))
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
            return self._db.fetch(b"walrus:v:%d" % entry.ident)
        pairs = self._db.execute(f"HGETALL walrus:m:{entry.ident}") or []
        return CODECS[entry.kind].decode(pairs[::2], pairs[1::2])

    # -- writing -------------------------------------------------------------------
    def _write_meta(self, key: bytes, entry: Entry) -> None:
        self._file.dirty = True
        expire = "-" if entry.expire_at is None else str(entry.expire_at)
        meta = f"{entry.kind} {entry.ident} {expire} {entry.base}"
        self._db.execute(f'HSET {self._directory} "{_name(key)}" "{meta}"')

    def put(self, key: bytes, entry: Entry) -> None:
        old = self._entries.get(key)
        if old is not None and not (old is entry and entry.kind == "string"):
            self.remove(key)
        if entry.ident == 0 or old is not entry:
            entry.ident = self._file.new_id()
        self._entries[key] = entry
        self._loaded.add(key)
        self._write_meta(key, entry)
        if entry.kind == "string":
            self._db.store(b"walrus:v:%d" % entry.ident, entry.value)
        else:
            self._write_members(entry, CODECS[entry.kind].members(entry))

    def _write_members(self, entry: Entry, members: Iterable[Any]) -> None:
        self._file.dirty = True
        written: list[str] = []
        deleted: list[str] = []
        codec = CODECS[entry.kind]
        for member in members:
            field, value = codec.field(entry, member), codec.value(entry, member)
            if value is None:
                deleted.append(f'"{field}"')
            else:
                written.append(f'"{field}" "{value}"')
        name = f"walrus:m:{entry.ident}"
        for i in range(0, len(written), CHUNK):
            self._db.execute(f"HMSET {name} " + " ".join(written[i : i + CHUNK]))
        for i in range(0, len(deleted), CHUNK):
            self._db.execute(f"HDEL {name} " + " ".join(deleted[i : i + CHUNK]))

    def remove(self, key: bytes) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._file.dirty = True
        self._db.execute(f'HDEL {self._directory} "{_name(key)}"')
        if entry.kind == "string":
            self._db.delete(b"walrus:v:%d" % entry.ident)
        else:
            name = f"walrus:m:{entry.ident}"
            fields = self._db.execute(f"HKEYS {name}") or []
            quoted = [f'"{f.decode("ascii")}"' for f in fields]
            for i in range(0, len(quoted), CHUNK):
                self._db.execute(f"HDEL {name} " + " ".join(quoted[i : i + CHUNK]))
        self._loaded.discard(key)

    def changed(self, key: bytes, entry: Entry, members: Iterable[Any]) -> None:
        if entry.kind == "list":
            self._write_meta(key, entry)
        self._write_members(entry, members)

    def meta_changed(self, key: bytes, entry: Entry) -> None:
        self._write_meta(key, entry)

    def __iter__(self) -> Iterator[bytes]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def random_key(self) -> bytes | None:
        return random.choice(list(self._entries)) if self._entries else None

    def clear(self) -> None:
        for key in list(self._entries):
            self.remove(key)

    # -- durability (of the whole file) ---------------------------------------------
    def flush(self) -> None:
        self._file.flush()

    def save(self) -> None:
        """Commit now; a failed commit leaves the writes pending (retried later)."""
        self._file.save()

    def close(self) -> None:
        self._file.close()
