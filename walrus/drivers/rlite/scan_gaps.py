"""rlite gaps for listing keys and scanning: KEYS, DBSIZE, SCAN, HSCAN,
SSCAN and ZSCAN (see :mod:`walrus.drivers.rlite.gaps`), from KEYS or a
collection's whole read plus a cursor snapshot. Importing this module
registers them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.glob import glob_match
from walrus.drivers.rlite.gaps import (
    GAPS,
    SYNTAX,
    Gap,
    RawEngine,
    arity_error,
    gap,
    in_multi,
    send,
)
from walrus.exceptions import EngineError

__all__ = ["CursorTable"]


class CursorTable:
    """What stands behind SCAN-family cursors, in bounded memory.

    A scan walks a snapshot, sorted by key (or member) when it takes more
    than one page. Each cursor remembers the last item it returned and,
    while memory allows, the rest of its snapshot. Snapshots are dropped
    oldest first once they hold more than ``max_items`` items in all
    (abandoned scans cost nothing after that); a cursor whose snapshot was
    dropped resumes from a fresh one, after its last item. Either way every
    item present for the whole scan is returned once, as Redis guarantees.
    """

    max_cursors = 4096  # resume points kept (one item each)
    max_items = 200_000  # snapshot items kept, all cursors together

    def __init__(self) -> None:
        self._next = 0
        self._cursors: dict[int, tuple[Any, list[Any] | None]] = {}
        self._held = 0  # items held in snapshots

    def save(self, last: Any, rest: list[Any]) -> int:
        """A new cursor resuming after ``last``, ``rest`` of its snapshot to go."""
        self._next += 1
        self._cursors[self._next] = (last, rest)
        self._held += len(rest)
        for cursor in list(self._cursors):
            if self._held <= self.max_items and len(self._cursors) <= self.max_cursors:
                break
            resume, held = self._cursors[cursor]
            if len(self._cursors) > self.max_cursors:
                del self._cursors[cursor]
            elif held is not None:
                self._cursors[cursor] = (resume, None)
            self._held -= len(held or [])
        return self._next

    def take(self, cursor: int) -> tuple[Any, list[Any] | None] | None:
        """(last item returned, the rest of the snapshot or None if dropped),
        or None for a cursor this table never gave (or forgot long ago)."""
        state = self._cursors.pop(cursor, None)
        if state is not None:
            self._held -= len(state[1] or [])
        return state


def _options(
    args: Command, start: int, names: tuple[bytes, ...]
) -> dict[bytes, bytes] | None:
    """``NAME value`` options from ``args[start:]``; None on an unknown word."""
    found: dict[bytes, bytes] = {}
    i = start
    while i < len(args):
        word = args[i].upper()
        if word not in names or i + 1 >= len(args):
            return None
        found[word] = args[i + 1]
        i += 2
    return found


# -- keys ------------------------------------------------------------------------
def _listing(engine: RawEngine) -> Reply:
    """Every key rlite lists (KEYS *: expired ones too), or, on a file, the
    keys a listing since the last write found, none with a TTL."""
    known = engine.known_keys()
    return list(known) if known is not None else engine.raw([b"KEYS", b"*"])


def _live(engine: RawEngine, keys: list[bytes], whole: bool = False) -> list[bytes]:
    """Drop keys that have expired (rlite's KEYS and DBSIZE still list them):
    none can while no key of the engine has had a TTL (``engine.expiring``),
    nor, on a file, while a listing since the last write found none with one
    (``engine.known_keys()``). The checks are one rlite MULTI/EXEC of PTTLs:
    on a file each alone costs rlite a commit (about 145 µs), in one
    transaction about 7 µs. ``whole``: ``keys`` is every key rlite lists; if
    none has a TTL, the engine remembers them (a file's next listing needs
    neither KEYS nor the checks)."""
    if not engine.expiring or not keys:
        return keys
    known = engine.known_keys()
    if known is not None:
        return [key for key in keys if key in known]
    ttls = in_multi(engine, [[b"PTTL", key] for key in keys])
    if not isinstance(ttls, list):  # rlite refused MULTI: never inside one
        raise EngineError(f"rlite refused the keys' TTL checks: {ttls}")
    if whole and all(ttl == -1 for ttl in ttls):
        engine.listed_without_ttl(keys)
        return keys
    return [key for key, ttl in zip(keys, ttls, strict=True) if ttl != -2]


def _every_live_key(engine: RawEngine) -> Reply:
    """Every live key of the selected database: the keys the engine
    remembers, without rlite, or KEYS and the checks (see :func:`_live`)."""
    known = engine.known_keys()
    if known is not None:
        return list(known)
    keys = engine.raw([b"KEYS", b"*"])
    return keys if isinstance(keys, ErrorReply) else _live(engine, keys, whole=True)


def _matching(engine: RawEngine, pattern: bytes) -> Reply:
    """Keys matching ``pattern``: rlite's own matcher crashes natively when an
    empty key exists (found by the fuzz test), so match in Python."""
    keys = _listing(engine)
    if isinstance(keys, ErrorReply) or pattern == b"*":
        return keys
    return [k for k in keys if glob_match(pattern, k)]


@gap("KEYS")
def _keys(engine: RawEngine, args: Command) -> Reply:
    if len(args) != 2:
        return arity_error("keys")
    if args[1] == b"*":
        return _every_live_key(engine)
    keys = _matching(engine, args[1])
    return keys if isinstance(keys, ErrorReply) else _live(engine, keys)


@gap("DBSIZE")
def _dbsize(engine: RawEngine, args: Command) -> Reply:
    if not engine.expiring and len(args) == 1:  # none expired: rlite counts right
        return engine.raw(args)
    keys = _every_live_key(engine)
    return keys if isinstance(keys, ErrorReply) else len(keys)


def _page(
    engine: RawEngine,
    args: Command,
    start: int,
    snapshot: Callable[[], Reply],
    keep: Callable[[list[Any], bool], list[bytes]],
) -> Reply:
    """One SCAN-family page: a snapshot on cursor 0, then slices of it, sorted
    when it takes more than one page (so an evicted cursor can resume after its
    last item). ``keep(page, fresh)`` shapes a page; ``fresh``: its items were
    read by this very command, so they are current."""
    try:
        cursor = int(args[start])
    except ValueError:
        return ErrorReply("ERR invalid cursor")
    options = _options(args, start + 1, (b"MATCH", b"COUNT", b"TYPE", b"NOVALUES"))
    if options is None:
        return SYNTAX
    try:
        count = int(options.get(b"COUNT", b"10"))
    except ValueError:
        return ErrorReply("ERR value is not an integer or out of range")
    if count < 1:
        return SYNTAX
    fresh = cursor == 0
    if fresh:
        items = snapshot()
        if isinstance(items, ErrorReply):
            return items
        if len(items) > count:
            items.sort(key=_order)
    else:
        state = engine.cursors.take(cursor)
        if state is None:
            return ErrorReply("ERR invalid cursor")
        last, items = state
        if items is None:  # its snapshot was dropped: resume after its last item
            current = snapshot()
            if isinstance(current, ErrorReply):
                return current
            after = _order(last)
            items = sorted((i for i in current if _order(i) > after), key=_order)
            fresh = True
    page, rest = items[:count], items[count:]
    next_cursor = engine.cursors.save(page[-1], rest) if rest else 0
    return [str(next_cursor).encode(), keep(page, fresh)]


def _order(item: Any) -> bytes:
    """An item's place in a scan's order (a key, a member, or a pair's member)."""
    return item[0] if isinstance(item, tuple) else item  # type: ignore[no-any-return]


@gap("SCAN")
def _scan(engine: RawEngine, args: Command) -> Reply:
    if len(args) < 2:
        return arity_error("scan")
    options = _options(args, 2, (b"MATCH", b"COUNT", b"TYPE"))
    if options is None:
        return SYNTAX
    pattern = options.get(b"MATCH", b"*")
    kind = options.get(b"TYPE")

    def snapshot() -> Reply:
        return _matching(engine, pattern)

    def keep(page: list[bytes], fresh: bool) -> list[bytes]:
        page = _live(engine, page)
        if kind is not None:
            # through TYPE's gap, which knows emulated types (streams)
            page = [k for k in page if send(engine, [b"TYPE", k]) == kind.lower()]
        return page

    return _page(engine, args, 1, snapshot, keep)


def _now(engine: RawEngine, fetch: bytes, key: bytes, members: list[bytes]) -> Reply:
    """The current value of each member (None: gone since the snapshot)."""
    if not members:
        return []
    if fetch == b"HGETALL":
        return engine.raw([b"HMGET", key, *members])
    if fetch == b"ZRANGE":
        return [engine.raw([b"ZSCORE", key, m]) for m in members]
    return [b"" if engine.raw([b"SISMEMBER", key, m]) == 1 else None for m in members]


def _collection_scan(fetch: bytes, pairs: bool) -> Gap:
    """HSCAN/SSCAN/ZSCAN: members from a snapshot taken at cursor 0 (sorted,
    so an evicted cursor can resume), each page showing only members still
    there, with their values as they are now (as Redis's SCAN does)."""

    def scan(engine: RawEngine, args: Command) -> Reply:
        if len(args) < 3:
            return arity_error(f"{fetch.decode()}-scan")
        options = _options(args, 3, (b"MATCH", b"COUNT", b"NOVALUES"))
        if options is None:
            return SYNTAX
        pattern = options.get(b"MATCH", b"*")
        read = [fetch, args[1]] + (
            [b"0", b"-1", b"WITHSCORES"] if fetch == b"ZRANGE" else []
        )

        def snapshot() -> Reply:
            items = send(engine, read)
            if isinstance(items, ErrorReply):
                return items
            if not pairs:
                return list(items)
            return list(zip(items[::2], items[1::2], strict=True))

        def keep(page: list[Any], fresh: bool) -> list[bytes]:
            if fresh:  # read by this command: members and values are current
                matching = page
                if pattern != b"*":
                    matching = [i for i in page if glob_match(pattern, _order(i))]
                return (
                    [part for pair in matching for part in pair] if pairs else matching
                )
            members = [item[0] if pairs else item for item in page]
            members = [m for m in members if glob_match(pattern, m)]
            current = _now(engine, fetch, args[1], members)
            if isinstance(current, ErrorReply):
                return []
            out: list[bytes] = []
            for member, value in zip(members, current, strict=True):
                if value is not None:
                    out += [member, value] if pairs else [member]
            return out

        return _page(engine, args, 2, snapshot, keep)

    return scan


GAPS[b"HSCAN"] = _collection_scan(b"HGETALL", pairs=True)
GAPS[b"SSCAN"] = _collection_scan(b"SMEMBERS", pairs=False)
GAPS[b"ZSCAN"] = _collection_scan(b"ZRANGE", pairs=True)
