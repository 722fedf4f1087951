"""walrus 0.9's import path for the counter (``from walrus.counter import Counter``).

The code lives in :mod:`walrus.features.counter`.
"""

from __future__ import annotations

from walrus.features.counter import Counter

__all__ = ["Counter"]
