"""``from walrus.tusks.vedisdb import WalrusVedis``: walrus on an embedded Vedis."""

from __future__ import annotations

from walrus.drivers.vedis import VedisDatabase

__all__ = ["WalrusVedis"]


class WalrusVedis(VedisDatabase):
    """Walrus on Vedis: ``WalrusVedis()`` in memory, ``WalrusVedis(path)`` in a file."""
