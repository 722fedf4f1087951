"""The engines of this process opened by name, shared by their clients.

Opening ``memory://name``, ``rlite://name`` or the same file twice gives two
clients of one engine (:func:`shared_core`), as two connections to one
server see each other's writes. An engine leaves the registry when it
closes (:func:`forget`); a forked child starts with an empty registry, since
the engines it inherited are its parent's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from walrus.drivers.embedded.core import EmbeddedCore

__all__ = ["forget", "shared_core"]

# Engines of this process opened by name (memory://name, a file's real path),
# so that every client opened on that name shares one engine.
_SHARED: dict[str, EmbeddedCore] = {}
_SHARED_LOCK = threading.RLock()  # re-entered by a GC'd database closing during open


def _forget_shared_engines() -> None:
    """In a forked child: its engines are the parent's; open its own."""
    _SHARED.clear()


os.register_at_fork(after_in_child=_forget_shared_engines)


def shared_core(name: str, opener: Callable[[], EmbeddedCore]) -> EmbeddedCore:
    """The engine registered as ``name``, opened with ``opener`` if none is."""
    with _SHARED_LOCK:
        core = _SHARED.get(name)
        if core is None or core.closed:
            core = opener()
            core.shared_as = name
            _SHARED[name] = core
        core.hold()  # until the caller's client connects: no close in between
        return core


def forget(name: str, core: EmbeddedCore) -> None:
    """Take ``core``, which is closing, out of the registry if it is still
    the engine registered as ``name``."""
    with _SHARED_LOCK:
        if _SHARED.get(name) is core:
            del _SHARED[name]
