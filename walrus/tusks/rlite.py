"""``from walrus.tusks.rlite import WalrusLite``: walrus on an embedded rlite engine."""

from __future__ import annotations

from walrus.drivers.rlite import RliteDatabase

__all__ = ["WalrusLite"]


class WalrusLite(RliteDatabase):
    """walrus on rlite: ``WalrusLite(':memory:')`` or ``WalrusLite(path)``."""
