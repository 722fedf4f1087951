"""The rlite driver: hirlite's C library, called through a small compiled
module built at install (:mod:`.native`; ``ctypes`` where it could not be).

rlite gives natively: strings, hashes, lists, sets, sorted sets, expiry,
MULTI/EXEC/WATCH across processes on one file, Lua, pub/sub on files.
This package fills in: crash-free calls (:mod:`.native`, :mod:`.gaps` never
sends a command that can kill the interpreter), the commands rlite lacks
(SCAN family, BITFIELD, ZPOPMIN, streams, ...: :mod:`.gaps`,
:mod:`.scan_gaps`, :mod:`.collection_gaps`, :mod:`.key_gaps`,
:mod:`.streams`, and the
emulation engine over rlite's data in :mod:`.emulated`), reply shapes
(:mod:`.shapes`), and file safety: checks before open (:mod:`.file`) and a
journal against ``kill -9`` (:mod:`.journal`).
"""

from __future__ import annotations

from walrus.drivers.rlite.database import RliteDatabase

__all__ = ["RliteDatabase"]
