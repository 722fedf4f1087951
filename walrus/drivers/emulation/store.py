"""The record store under the emulation engine, and its in-memory implementation.

The engine keeps every key it has touched as an :class:`Entry` holding a
plain Python value (``bytes`` for strings, ``dict`` for hashes, ``set`` for
sets, ``deque`` for lists, :class:`~walrus.drivers.emulation.sortedset.ZSet`
for sorted sets). A :class:`Store` hands out entries and is told about every
change, member by member, so a persistent store (Vedis) writes only what
changed: the cost of a one-member command never depends on the container's
size. :class:`MemoryStore` is a dict and ignores the notifications.

A store that also implements :class:`Databases` gives the engine Redis's 16
numbered databases (SELECT, MOVE, SWAPDB, COPY ... DB); any other store is
database 0 alone.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

__all__ = ["Databases", "Entry", "MemoryStore", "Store"]


class Entry:
    """One key: its Redis type, value, expiry (ms since the epoch) and layout.

    ``ident`` names the key's member records in a persistent store (a fresh
    one each time the key is created); ``base`` is the position of a list's
    first element, so pushing and popping at either end never renumbers.
    """

    __slots__ = ("base", "expire_at", "ident", "kind", "value")

    def __init__(self, kind: str, value: Any, expire_at: int | None = None) -> None:
        self.kind = kind
        self.value = value
        self.expire_at = expire_at
        self.ident = 0
        self.base = 0


class Store(Protocol):
    """Where entries live; every method is O(1) unless it says otherwise."""

    def get(self, key: bytes) -> Entry | None:
        """The entry of ``key`` (expired or not), loading its members if needed."""

    def put(self, key: bytes, entry: Entry) -> None:
        """Store a new or wholly rewritten entry. O(members)."""

    def remove(self, key: bytes) -> None:
        """Forget ``key``. O(members) in a persistent store."""

    def changed(self, key: bytes, entry: Entry, members: Iterable[Any]) -> None:
        """Members of a container changed (list members are absolute positions).

        Each member still in ``entry.value`` is (re)written, the others are
        deleted; the entry's expiry and list base are saved too. O(members).
        """

    def meta_changed(self, key: bytes, entry: Entry) -> None:
        """The entry's expiry changed."""

    def __iter__(self) -> Iterator[bytes]:
        """Every key (expired or not), from a snapshot taken now. O(keys)."""

    def __len__(self) -> int: ...

    def random_key(self) -> bytes | None:
        """A random key (expired or not), ``None`` when empty."""

    def clear(self) -> None:
        """Remove every key. O(keys + members)."""

    def flush(self) -> None:
        """A command or a pipeline has finished: persist its writes if due."""

    def save(self) -> None:
        """Persist everything now."""

    def close(self) -> None: ...


class Databases(Protocol):
    """A store with numbered sibling databases (database 0 is the store itself)."""

    def database(self, index: int) -> Store:
        """The store of database ``index`` (1-15), sharing this one's storage."""

    def swap(self, other: Store) -> None:
        """Exchange every key with ``other``, a sibling (SWAPDB). O(keys) at most."""


class MemoryStore:
    """Entries in a dict: the fastest store; nothing outlives the process."""

    def __init__(self) -> None:
        self._entries: dict[bytes, Entry] = {}

    def get(self, key: bytes) -> Entry | None:
        return self._entries.get(key)

    def put(self, key: bytes, entry: Entry) -> None:
        self._entries[key] = entry

    def remove(self, key: bytes) -> None:
        self._entries.pop(key, None)

    def changed(self, key: bytes, entry: Entry, members: Iterable[Any]) -> None:
        pass

    def meta_changed(self, key: bytes, entry: Entry) -> None:
        pass

    def __iter__(self) -> Iterator[bytes]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def random_key(self) -> bytes | None:
        if not self._entries:
            return None
        # O(keys); RANDOMKEY is rare, and a dict has no O(1) random access.
        return random.choice(list(self._entries))

    def clear(self) -> None:
        self._entries.clear()

    def database(self, index: int) -> MemoryStore:
        return MemoryStore()

    def swap(self, other: Store) -> None:
        """O(1): the two dicts change places."""
        assert isinstance(other, MemoryStore)
        self._entries, other._entries = other._entries, self._entries

    def flush(self) -> None:
        pass

    def save(self) -> None:
        pass

    def close(self) -> None:
        self._entries.clear()
