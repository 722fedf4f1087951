"""walrus with asyncio: every feature awaitable, on every backend.

``AsyncDatabase`` is a ``redis.asyncio.Redis`` with walrus's extras and
factories; ``AsyncClusterDatabase`` a ``redis.asyncio.RedisCluster``; the
embedded engines have ``AsyncRliteDatabase``, ``AsyncVedisDatabase`` and
``AsyncMemoryDatabase``. Their factories give the async twins of the
features (``db.Hash(key)``, ``db.lock(name)`` ...), generated from the sync
source by ``tools/generate_async.py``: the same behaviour and round trips,
with ``await`` (see docs/asyncio.md for the spellings of ``len()``, ``in``,
``h[k] = v`` and iteration).
"""

from __future__ import annotations

import importlib
from typing import Any

from walrus.asyncio.features.autocomplete import Autocomplete
from walrus.asyncio.features.cache import Cache
from walrus.asyncio.features.consumer_group import ConsumerGroup
from walrus.asyncio.features.containers import (
    Array,
    BitField,
    BloomFilter,
    Container,
    Hash,
    HyperLogLog,
    List,
    Set,
    Stream,
    ZSet,
)
from walrus.asyncio.features.counter import Counter
from walrus.asyncio.features.graph import Graph
from walrus.asyncio.features.lock import Lock
from walrus.asyncio.features.models import (
    AutoIncrementField,
    BooleanField,
    ByteField,
    DateField,
    DateTimeField,
    Field,
    FloatField,
    HashField,
    IntegerField,
    JSONField,
    ListField,
    Model,
    PickledField,
    SetField,
    TextField,
    UUIDField,
    ZSetField,
)
from walrus.asyncio.features.rate_limit import RateLimit
from walrus.asyncio.features.search import Index
from walrus.asyncio.features.stream_worker import StreamWorker
from walrus.asyncio.features.time_series import TimeSeries

# The databases, imported on first use (a cluster or an embedded engine
# costs nothing to a program that does not open one).
_DATABASES = {
    "AsyncDatabase": "walrus.asyncio.server",
    "AsyncClusterDatabase": "walrus.asyncio.cluster",
    "AsyncLedisDatabase": "walrus.asyncio.ledis",
    "AsyncMemoryDatabase": "walrus.asyncio.embedded",
    "AsyncRliteDatabase": "walrus.asyncio.embedded",
    "AsyncVedisDatabase": "walrus.asyncio.embedded",
}

__all__ = [
    "Array",
    "AsyncClusterDatabase",
    "AsyncDatabase",
    "AsyncLedisDatabase",
    "AsyncMemoryDatabase",
    "AsyncRliteDatabase",
    "AsyncVedisDatabase",
    "AutoIncrementField",
    "Autocomplete",
    "BitField",
    "BloomFilter",
    "BooleanField",
    "ByteField",
    "Cache",
    "ConsumerGroup",
    "Container",
    "Counter",
    "DateField",
    "DateTimeField",
    "Field",
    "FloatField",
    "Graph",
    "Hash",
    "HashField",
    "HyperLogLog",
    "Index",
    "IntegerField",
    "JSONField",
    "List",
    "ListField",
    "Lock",
    "Model",
    "PickledField",
    "RateLimit",
    "Set",
    "SetField",
    "Stream",
    "StreamWorker",
    "TextField",
    "TimeSeries",
    "UUIDField",
    "ZSet",
    "ZSetField",
]


def __getattr__(name: str) -> Any:
    module = _DATABASES.get(name)
    if module is None:
        raise AttributeError(f"module 'walrus.asyncio' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
