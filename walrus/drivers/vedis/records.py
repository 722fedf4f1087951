"""Vedis key/value records, written so that Vedis's pager never loses them.

Vedis (1.2.6, in the ``vedis`` 0.7.2 package) damages records in a large
write transaction. A record that does not fit in its page keeps its bytes in
overflow pages; pages that a transaction changed and no longer references
are "hot", and once more than 127 are hot the pager writes them out and
frees them, including hot pages that were referenced again in between (a
page freed by a delete or an overwrite and handed out again by the free
list): Vedis then writes into freed memory, and a record comes back
truncated (a chain cut after two pages), mixed with another or missing
after the file is reopened. ``tests/test_vedis.py`` keeps a reproduction
with ``store``/``delete`` alone.

So :class:`Records` counts, for the open transaction, an upper bound of the
pages it made hot (a store or a delete: one page per started ``PAGE`` bytes
of the old value and of the new, and one more for a new record, which may
split a page of Vedis's hash table) and commits before a write would take
it past ``HOT_LIMIT`` (112, below Vedis's 127, with room for Vedis's own).
A rewrite costs nothing more when it cannot touch a page that is not hot
yet: Vedis rewrites a record of ``n`` bytes with at most ``n`` bytes in
place (on its own page, or its one overflow page) and a page made hot once
stays counted until the commit, so a record of less than ``PAGE`` bytes
already stored in the open transaction and rewritten no larger, or deleted,
is free (the steady state of a hash field or a string overwritten in a
loop, of a lock taken and released).
A record too large for that (more than ``BIG`` pages) is never overwritten
in place, where Vedis frees and reuses pages within one call: callers write
a large value under a fresh name (a string under a fresh id, a map's large
bucket in a fresh ``walrus:x:<id>`` record, see :mod:`.vedisbuckets`) and
delete the old record afterwards. Only ``store``/``fetch``/``delete`` and
``commit`` are used. In memory (``:mem:``, no pager) nothing is counted.

The store commits at the end of an operation once more than ``HOT_LIMIT -
ROOM`` pages are hot, so an operation that makes at most ``ROOM`` (40) pages
hot is committed whole (a model save makes about 10). A larger one (writing
more than about 100 KB, or rewriting more than about 20 buckets) is
committed in several steps: a crash during it can leave part of it applied.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

__all__ = ["BIG", "HOT_LIMIT", "LARGE", "PAGE", "ROOM", "Records", "pages"]

PAGE = 4000  # record bytes per Vedis page (4096 bytes less headers), rounded down
HOT_LIMIT = 112  # hot pages a transaction may reach (Vedis frees them past 127)
ROOM = 40  # hot pages an operation may add and still be committed whole
BIG = 25  # pages above which a record is never overwritten in place
LARGE = BIG * PAGE  # bytes from which a record has more than BIG pages


def pages(size: int) -> int:
    """The most pages a record of ``size`` bytes makes hot when written or freed."""
    return 1 + size // PAGE


class Records:
    """The records of one Vedis handle, with the hot-page budget (module doc).

    ``commit`` commits the handle (and calls :meth:`committed`); ``new_id``
    gives a fresh id for a large bucket's record.
    """

    def __init__(
        self,
        handle: Any,
        persistent: bool,
        commit: Callable[[], None],
        new_id: Callable[[], int],
    ) -> None:
        self.db = handle
        self.limit = HOT_LIMIT if persistent else 0
        self.commit = commit
        self.new_id = new_id
        self.hot = 0  # pages made hot since the last commit, at most
        # records of less than PAGE bytes stored since the last commit
        self.written: set[bytes] = set()

    def committed(self) -> None:
        self.hot = 0
        self.written.clear()

    @property
    def crowded(self) -> bool:
        """Too many hot pages to start another operation in this transaction."""
        return bool(self.limit) and self.hot > self.limit - ROOM

    def _spend(self, count: int) -> None:
        if self.limit and self.hot and self.hot + count > self.limit:
            self.commit()
        self.hot += count

    def fetch(self, name: bytes) -> bytes | None:
        try:
            raw: bytes = self.db.fetch(name)
        except KeyError:
            return None
        return raw

    def store(self, name: bytes, value: bytes, old: int | None = None) -> None:
        """Write a record; ``old``: the size of the value it replaces, if any.

        Overwriting in place is only for values of at most ``BIG`` pages.
        """
        size = len(value)
        if old is not None and (old >= LARGE or size >= LARGE):
            raise ValueError(f"{name!r}: a large record is never overwritten")
        if not self.limit or (
            old is not None and size <= old < PAGE and name in self.written
        ):  # nothing counted, or in place on pages already hot (module doc)
            self.db.store(name, value)
            return
        self._spend(pages(size) + (1 if old is None else pages(old)))
        self.db.store(name, value)
        if size < PAGE:
            self.written.add(name)
        else:
            self.written.discard(name)

    def delete(self, name: bytes, old: int | None = None) -> None:
        """Delete a record if it exists (``old``: its size, when known)."""
        if old is None:
            raw = self.fetch(name)
            if raw is None:
                return
            old = len(raw)
        if name in self.written:  # unlinked from a page already hot (module doc)
            self.written.discard(name)
        else:
            self._spend(pages(old))
        with contextlib.suppress(KeyError):
            self.db.delete(name)
