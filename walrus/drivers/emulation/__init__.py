"""A Python implementation of the Redis commands walrus needs, over a record store.

Used by the pure-Python ``memory`` backend (over :class:`MemoryStore`) and by
the Vedis driver (over its Vedis store). Importing this package registers
every command family with the engine.
"""

from __future__ import annotations

from walrus.drivers.emulation import (  # noqa: F401  (registers the commands)
    bits,
    dump,
    geo,
    hashes,
    hll,
    keys,
    lists,
    mpop,
    server,
    sets,
    sort,
    streamblock,
    streamclaim,
    streamgroups,
    streams,
    strings,
    zsetops,
    zsets,
)
from walrus.drivers.emulation.engine import COMMANDS, EmulationEngine
from walrus.drivers.emulation.store import Entry, MemoryStore, Store

__all__ = ["COMMANDS", "EmulationEngine", "Entry", "MemoryStore", "Store"]
