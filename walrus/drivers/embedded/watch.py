"""WATCH on the embedded core: versions of the watched keys, bumped by writes.

:class:`WatchedKeys` is the base of :class:`~.core.EmbeddedCore`: it holds
the engine, the lock every command runs under and the condition writes
notify (blocked readers wait on it), which numbered database the engine has
selected, and a version per watched ``(db, key)``. A write bumps the
versions of what it really modified (the engine's ``take_modified()``, else
a digest of each watched key before and after, else the keys the command
names); a write to unknown keys (FLUSHALL, ...) bumps an epoch that breaks
every WATCH. With digests, the writes Redis counts even when they change
nothing (HSET, SET, MSET, ...) bump the keys they name too. A watched key
that existed and is gone without a write has expired, which breaks the
WATCH too, as in Redis.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from walrus.drivers.embedded.clients import Client
from walrus.drivers.embedded.commands import command_name, writes, written_keys
from walrus.drivers.embedded.types import Command, Engine

__all__ = ["WatchedKeys"]

# Writes Redis counts as modifying the keys they name even when the values
# stay as they were (SADD of a member already there, a ZADD of the same
# score and the like count only a real change: a digest tells those).
_ALWAYS_MODIFY = frozenset(
    {"HSET", "HMSET", "MSET", "LSET", "GETSET", "SETEX", "PSETEX"}
)
_SET_CONDITIONS = frozenset((b"NX", b"XX"))


def _always_modifies(name: str, args: Command) -> bool:
    """Whether a successful ``args`` counts as modifying every key it names
    (SET too, unless a condition may have kept it from writing)."""
    if name == "SET":
        return not _SET_CONDITIONS.intersection(a.upper() for a in args[3:])
    return name in _ALWAYS_MODIFY


class WatchedKeys:
    """An engine under its lock, its selected database and its WATCH versions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)  # notified by every write
        self._selected = 0  # the engine's current numbered database
        self._watched: dict[tuple[int, bytes], int] = {}  # (db, key) -> version
        self._watchers: dict[tuple[int, bytes], int] = {}  # (db, key) -> watchers
        self._epoch = 0  # bumped by writes to unknown keys (FLUSHALL, ...)

    def _use(self, client: Client) -> None:
        """Switch the engine to ``client``'s numbered database."""
        if client.db != self._selected:
            engine: Any = self.engine
            engine.select(client.db)
            self._selected = client.db

    def watch(
        self,
        keys: Sequence[bytes],
        into: dict[tuple[int, bytes], tuple[int, bool]],
        client: Client,
    ) -> None:
        """Start watching ``keys`` in ``client``'s database: their versions
        (and whether they exist, so an expiry breaks the watch) go into ``into``."""
        with self.lock:
            self._use(client)
            take = getattr(self.engine, "take_modified", None)
            if not self._watched and take is not None:
                take()  # record from now on (nothing was while unwatched)
            into.setdefault((-1, b""), (self._epoch, False))
            for key in keys:
                slot = (client.db, key)
                if slot not in into:
                    self._watchers[slot] = self._watchers.get(slot, 0) + 1
                    self._watched.setdefault(slot, 0)
                    exists = self.engine.execute([b"EXISTS", key]) == 1
                    into[slot] = (self._watched[slot], exists)

    def unwatch(self, watched: dict[tuple[int, bytes], tuple[int, bool]]) -> None:
        with self.lock:
            for slot in watched:
                if slot[0] < 0:
                    continue
                left = self._watchers.get(slot, 1) - 1
                if left:
                    self._watchers[slot] = left
                else:
                    self._watchers.pop(slot, None)
                    self._watched.pop(slot, None)
            watched.clear()
            take = getattr(self.engine, "take_modified", None)
            if not self._watched and take is not None:
                take(False)  # nobody to tell until the next WATCH

    def _watch_broken(self, watched: dict[tuple[int, bytes], tuple[int, bool]]) -> bool:
        """A watched key was modified, deleted, or expired since WATCH."""
        if watched.get((-1, b""), (self._epoch, False))[0] != self._epoch:
            return True
        for slot, (version, existed) in watched.items():
            if slot[0] < 0:
                continue
            if self._watched.get(slot) != version:
                return True
            if existed and not self._exists_in(slot[0], slot[1]):
                return True  # it existed and nothing deleted it: it expired
        return False

    def _in_db(self, db: int, ask: Callable[[Any], Any]) -> Any:
        """``ask(engine)`` in database ``db``, leaving the selection as it was."""
        engine: Any = self.engine
        if db == self._selected:
            return ask(engine)
        engine.select(db)
        try:
            return ask(engine)
        finally:
            engine.select(self._selected)

    def _exists_in(self, db: int, key: bytes) -> bool:
        return bool(self._in_db(db, lambda e: e.execute([b"EXISTS", key]) == 1))

    def _slots(self, name: str, args: Command) -> set[tuple[int, bytes]] | None:
        """The (db, key) pairs a write names; None: any key may change."""
        keys = written_keys(name, args)
        if keys is None:
            return None
        slots = {(self._selected, k) for k in keys}
        if name == "MOVE" and len(args) == 3 and args[2].isdigit():
            slots.add((int(args[2]), args[1]))
        elif name == "COPY":
            upper = [a.upper() for a in args]
            at = upper.index(b"DB") + 1 if b"DB" in upper else 0
            if at and at < len(args) and args[at].isdigit():
                slots = {(self._selected, args[1]), (int(args[at]), args[2])}
        return slots

    def _digests(self, commands: list[Command]) -> dict[tuple[int, bytes], Any]:
        """The watched keys these commands may write, with a digest of each
        now (for engines that cannot report what a command really modified:
        a write that changes nothing must not break a WATCH)."""
        if not self._watched or not hasattr(self.engine, "digest"):
            return {}
        slots: set[tuple[int, bytes]] = set()
        for args in commands:
            name = command_name(args)
            if writes(name):
                named = self._slots(name, args)
                slots |= set(self._watched) if named is None else named
        return {s: self._digest(s) for s in slots if s in self._watched}

    def _digest(self, slot: tuple[int, bytes]) -> Any:
        return self._in_db(slot[0], lambda engine: engine.digest(slot[1]))

    def _touch(
        self, name: str, args: Command, before: dict[tuple[int, bytes], Any]
    ) -> None:
        """Bump the WATCH version of what a write really modified, and wake
        blocked readers."""
        take = getattr(self.engine, "take_modified", None)
        slots: set[tuple[int, bytes]] | None
        if take is not None:
            slots = take(bool(self._watched))
        elif hasattr(self.engine, "digest"):
            slots = {s for s, old in before.items() if self._digest(s) != old}
            if _always_modifies(name, args):
                slots |= self._slots(name, args) or set()
        else:
            slots = self._slots(name, args)
        if slots is None:
            self._epoch += 1
        else:
            for slot in slots:
                if slot in self._watched:
                    self._watched[slot] += 1
        self._changed.notify_all()
