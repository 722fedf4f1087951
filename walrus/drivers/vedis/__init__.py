"""The Vedis driver: the emulation engine over a Vedis key-value file.

Vedis gives natively: a durable key-value store with transactions (its
Redis-like commands are not used: they differ from Redis in most ways).
This package stores the emulation engine's records in it (:mod:`.store`,
with the record encoding in :mod:`.records`, large collections split into
buckets by :mod:`.buckets`, and the reader of the first file format in
:mod:`.format1`); every Redis command runs in :mod:`walrus.drivers.emulation`.
"""

from __future__ import annotations

from walrus.drivers.vedis.database import VedisDatabase

__all__ = ["VedisDatabase"]
