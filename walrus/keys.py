"""The one place walrus builds key names.

Features never format keys themselves: they ask a :class:`Keyspace` for a key
or for a :class:`KeyGroup`, the set of keys one multi-key operation touches
(a model's row and indexes, a lock and its wake-up list, a search index).
In standalone mode the names are walrus 0.9's, so data written by the
original can be read. In cluster mode a group's keys share one hash tag, so
they land in one slot and multi-key commands and scripts keep working.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

from redis.crc import key_slot

__all__ = ["KeyGroup", "Keyspace", "key_text"]


def key_text(value: str | bytes | int | float) -> str:
    """A key part as text (bytes are decoded as UTF-8, invalid bytes escaped)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


_TEXT = frozenset({str})


def _join(sep: str, parts: tuple[str | bytes | int | float, ...]) -> str:
    """``parts`` as text (:func:`key_text`) joined by ``sep``; all ``str``
    (the usual case) are joined as they are, at C speed."""
    if _TEXT.issuperset(map(type, parts)):
        return sep.join(parts)  # type: ignore[arg-type]
    return sep.join(map(key_text, parts))


@dataclass(frozen=True)
class KeyGroup:
    """Keys that one operation touches together; ``key()`` builds each of them."""

    base: str
    cluster: bool = False

    def key(self, *parts: str | bytes | int | float, sep: str = ":") -> str:
        """``base`` joined with ``parts`` by ``sep`` (hash-tagged in cluster mode)."""
        base = self._tagged
        if not parts:
            return base
        return _join(sep, (base, *parts))

    def prefixed(self, prefix: str, sep: str = ":") -> str:
        """``prefix`` then ``base`` (walrus 0.9's ``lock:<name>`` shape)."""
        return f"{prefix}{sep}{self._tagged}"

    @functools.cached_property
    def _tagged(self) -> str:  # built once: every key of the group starts with it
        return f"{{{self.base}}}" if self.cluster else self.base


@dataclass(frozen=True)
class Keyspace:
    """Builds key names and key groups for one database."""

    cluster: bool = False

    def __call__(self, *parts: str | bytes | int | float, sep: str = ":") -> str:
        """A single key made of ``parts`` joined by ``sep``."""
        return _join(sep, parts)

    def group(self, *parts: str | bytes | int | float, sep: str = ":") -> KeyGroup:
        """A group whose keys all start with ``parts`` joined by ``sep``."""
        return KeyGroup(_join(sep, parts), self.cluster)

    def temp(self) -> str:
        """A fresh random key for temporary results (the caller sets its TTL)."""
        return f"temp.{uuid.uuid4().hex}"

    def temp_near(self, key: str | bytes | int | float) -> str | bytes:
        """A fresh temporary key (as :meth:`temp`) in ``key``'s cluster slot.

        In cluster mode it is hash-tagged with what the cluster hashes of
        ``key`` (its ``{tag}``, or all of it), so that one transaction or
        multi-key command may hold both keys; in standalone mode it is
        :meth:`temp`'s name.
        """
        name = self.temp()
        if not self.cluster:
            return name
        raw = key if isinstance(key, bytes) else key_text(key).encode()
        return b"{%s}%s" % (_hash_tag(raw), name.encode())


def _hash_tag(key: bytes) -> bytes:
    """A hash tag in ``key``'s cluster slot: the part of ``key`` a cluster
    hashes (its ``{tag}``, or the whole key) when a tag can hold it (no
    ``}``, not empty), else the smallest decimal number in that slot."""
    start = key.find(b"{")
    end = key.find(b"}", start + 1)
    if start >= 0 and end > start + 1:
        return key[start + 1 : end]
    if key and b"}" not in key:
        return key
    return _number_in_slot(key_slot(key))


@functools.cache
def _number_in_slot(slot: int) -> bytes:
    """The smallest decimal number a cluster hashes to ``slot`` (found in
    about 16,000 tries, ~10 ms, once per slot)."""
    number = 0
    while key_slot(b"%d" % number) != slot:
        number += 1
    return b"%d" % number
