"""``from walrus.tusks.ledisdb import WalrusLedis``: walrus on a ledisdb server."""

from __future__ import annotations

from walrus.drivers.ledis.database import LedisDatabase

__all__ = ["WalrusLedis"]


class WalrusLedis(LedisDatabase):
    """walrus on ledisdb: ``WalrusLedis(host='localhost', port=6380, db=0)``,
    or ``WalrusLedis.from_url('ledis://host:6380/0')``. No extra package is
    needed: redis-py's connection speaks ledisdb's RESP."""
