"""HyperLogLog: an estimate of how many distinct items were added."""

from __future__ import annotations

from typing import Any

from walrus.features.containers.base import Container, check_value, check_values

__all__ = ["HyperLogLog"]


class HyperLogLog(Container):
    """A Redis HyperLogLog (stored as a string); ``len()`` is the estimate."""

    kind = "string"

    def add(self, *items: Any) -> bool:
        """Add ``items`` (PFADD); whether the estimate changed. O(1) each; one
        round trip; none sent if empty."""
        values = check_values(items)
        if not values:
            return False
        with self._guard:
            return bool(self.database.execute_command("PFADD", self.key, *values))

    def __len__(self) -> int:
        """The estimated number of distinct items (PFCOUNT). O(1); one round trip."""
        with self._guard:
            count: int = self.database.execute_command("PFCOUNT", self.key)
        return count

    def merge(self, dest: Any, *others: HyperLogLog) -> HyperLogLog:
        """Store the union of this and ``others`` at ``dest`` (PFMERGE; on a
        cluster, all in one slot, else CrossSlot); a HyperLogLog on it. O(N)
        in the number of sets; one round trip."""
        with self._guard:
            self.database.pfmerge(
                check_value(dest, "key"), self.key, *(o.key for o in others)
            )
        return HyperLogLog(self.database, dest)

    def __ior__(self, other: HyperLogLog) -> HyperLogLog:
        """Merge ``other`` into this one (PFMERGE; on a cluster, one slot).
        One round trip."""
        self.merge(self.key, other)
        return self
