"""walrus 0.9's import path for full-text search (``from walrus.fts import Index``).

The code lives in :mod:`walrus.features.search`.
"""

from __future__ import annotations

from walrus.features.search import Index

__all__ = ["Index"]
