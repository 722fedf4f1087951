"""walrus 0.9's import path for the lock (``from walrus.lock import Lock``).

The code lives in :mod:`walrus.features.lock`.
"""

from __future__ import annotations

from walrus.exceptions import LockNotHeld
from walrus.features.lock import Lock

__all__ = ["Lock", "LockNotHeld"]
