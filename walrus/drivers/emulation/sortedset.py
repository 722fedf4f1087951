"""The value of a sorted-set key: a score dict plus an ordered index.

The index is a list of sorted chunks (each at most ``2 * LOAD`` items), so
adding or removing one member costs O(log N) comparisons plus a move of at
most one chunk, never a shift of the whole set; a rank costs O(N / LOAD).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

__all__ = ["ZSet"]

Item = tuple[float, bytes]
LOAD = 512


class ZSet:
    """Members with scores, ordered by (score, member) as Redis orders them."""

    __slots__ = ("_chunks", "_maxes", "scores")

    def __init__(self) -> None:
        self.scores: dict[bytes, float] = {}
        self._chunks: list[list[Item]] = []
        self._maxes: list[Item] = []

    def __len__(self) -> int:
        return len(self.scores)

    def add(self, member: bytes, score: float) -> None:
        """Insert or re-score ``member``. O(log N + LOAD). A score of -0 is
        kept as 0, as Redis keeps it (a reply that computed it shows -0)."""
        score += 0.0  # -0.0 + 0.0 is 0.0
        old = self.scores.get(member)
        if old is not None:
            if old == score:
                return
            self._remove_item((old, member))
        self.scores[member] = score
        item = (score, member)
        if not self._chunks:
            self._chunks.append([item])
            self._maxes.append(item)
            return
        i = min(bisect_left(self._maxes, item), len(self._chunks) - 1)
        chunk = self._chunks[i]
        insort(chunk, item)
        self._maxes[i] = chunk[-1]
        if len(chunk) > 2 * LOAD:
            self._chunks[i : i + 1] = [chunk[:LOAD], chunk[LOAD:]]
            self._maxes[i : i + 1] = [chunk[LOAD - 1], chunk[-1]]

    def discard(self, member: bytes) -> bool:
        """Remove ``member``; True if it was there. O(log N + LOAD)."""
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self._remove_item((score, member))
        return True

    def _remove_item(self, item: Item) -> None:
        i = bisect_left(self._maxes, item)
        chunk = self._chunks[i]
        del chunk[bisect_left(chunk, item)]
        if chunk:
            self._maxes[i] = chunk[-1]
        else:
            del self._chunks[i], self._maxes[i]

    def rank(self, member: bytes) -> int | None:
        """The 0-based position of ``member``. O(log N + N / LOAD)."""
        score = self.scores.get(member)
        if score is None:
            return None
        item = (score, member)
        i = bisect_left(self._maxes, item)
        return self._before(i) + bisect_left(self._chunks[i], item)

    def _before(self, chunk_index: int) -> int:
        return sum(map(len, self._chunks[:chunk_index]))

    def count_below(
        self, key: Callable[[Item], Any], bound: Any, inclusive: bool
    ) -> int:
        """How many items have ``key(item) < bound`` (``<=`` if inclusive).

        ``key`` must be monotonic along the order (the score; or the member
        when all scores are equal, as Redis assumes for lex ranges).
        O(log N + N / LOAD).
        """
        search = bisect_right if inclusive else bisect_left
        i = search(self._maxes, bound, key=key)
        if i == len(self._chunks):
            return len(self.scores)
        return self._before(i) + search(self._chunks[i], bound, key=key)

    def slice(self, start: int, stop: int) -> list[Item]:
        """Items at positions ``start <= i < stop`` in order. O(N / LOAD + M)."""
        return list(islice(self._iter_from(start), max(0, stop - start)))

    def slice_reversed(self, start: int, stop: int) -> list[Item]:
        """Items at positions ``start <= i < stop``, highest position first."""
        return self.slice(start, stop)[::-1]

    def _iter_from(self, start: int) -> Iterator[Item]:
        for chunk in self._chunks:
            if start >= len(chunk):
                start -= len(chunk)
                continue
            yield from chunk[start:]
            start = 0

    def __iter__(self) -> Iterator[Item]:
        return self._iter_from(0)
