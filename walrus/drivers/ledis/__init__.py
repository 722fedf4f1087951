"""The ledisdb driver: Redis commands translated for a ledisdb server.

ledisdb gives natively: strings, hashes, lists, sets, integer-scored sorted
sets, bitmaps, per-type expiry. This package plans each Redis command as
ledisdb commands (:mod:`.plan`, :mod:`.commands`, :mod:`.containers`,
I/O-free) and sends the plan (:mod:`.database`); what ledisdb cannot do
raises ``UnsupportedOperation``.
"""

from __future__ import annotations

from walrus.drivers.ledis.database import LedisDatabase

__all__ = ["LedisDatabase"]
