"""walrus 0.9's import path for the cache (``from walrus.cache import Cache``).

The code lives in :mod:`walrus.features.cache`.
"""

from __future__ import annotations

from walrus.features.cache import (
    Cache,
    CacheMetrics,
    JSONSerializer,
    PickleSerializer,
    Serializer,
    SignedPickleSerializer,
)

__all__ = [
    "Cache",
    "CacheMetrics",
    "JSONSerializer",
    "PickleSerializer",
    "Serializer",
    "SignedPickleSerializer",
]
