"""The Redis/Valkey server driver: ``walrus.Database``, a redis-py client.

The server gives every command natively; this package adds walrus's extras
(:mod:`walrus.api`), walrus's error classes for the server's error replies,
and the rule that a write is never sent twice (:mod:`.resend`).
``ClusterDatabase`` (:mod:`.cluster`) does the same for a Redis or Valkey
Cluster.
"""

from __future__ import annotations

from walrus.drivers.server.cluster import ClusterDatabase
from walrus.drivers.server.database import Database, Walrus

__all__ = ["ClusterDatabase", "Database", "Walrus"]
