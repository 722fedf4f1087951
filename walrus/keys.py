"""The one place walrus builds key names.

Features never format keys themselves: they ask a :class:`Keyspace` for a key
or for a :class:`KeyGroup`, the set of keys one multi-key operation touches
(a model's row and indexes, a lock and its wake-up list, a search index).
In standalone mode the names are walrus 0.9's, so data written by the
original can be read. In cluster mode a group's keys share one hash tag, so
they land in one slot and multi-key commands and scripts keep working.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

__all__ = ["KeyGroup", "Keyspace", "key_text"]


def key_text(value: str | bytes | int | float) -> str:
    """A key part as text (bytes are decoded as UTF-8, invalid bytes escaped)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


@dataclass(frozen=True)
class KeyGroup:
    """Keys that one operation touches together; ``key()`` builds each of them."""

    base: str
    cluster: bool = False

    def key(self, *parts: str | bytes | int | float, sep: str = ":") -> str:
        """``base`` joined with ``parts`` by ``sep`` (hash-tagged in cluster mode)."""
        base = self._tagged()
        if not parts:
            return base
        return sep.join([base, *(key_text(p) for p in parts)])

    def prefixed(self, prefix: str, sep: str = ":") -> str:
        """``prefix`` then ``base`` (walrus 0.9's ``lock:<name>`` shape)."""
        return f"{prefix}{sep}{self._tagged()}"

    def _tagged(self) -> str:
        return f"{{{self.base}}}" if self.cluster else self.base


@dataclass(frozen=True)
class Keyspace:
    """Builds key names and key groups for one database."""

    cluster: bool = False

    def __call__(self, *parts: str | bytes | int | float, sep: str = ":") -> str:
        """A single key made of ``parts`` joined by ``sep``."""
        return sep.join(key_text(p) for p in parts)

    def group(self, *parts: str | bytes | int | float, sep: str = ":") -> KeyGroup:
        """A group whose keys all start with ``parts`` joined by ``sep``."""
        return KeyGroup(sep.join(key_text(p) for p in parts), self.cluster)

    def temp(self) -> str:
        """A fresh random key for temporary results (the caller sets its TTL)."""
        return f"temp.{uuid.uuid4().hex}"
