"""walrus: Pythonic objects over Redis and Redis-like engines.

``Database`` (alias ``Walrus``) is a redis-py client with walrus's extras and
factories; the embedded backends are in ``walrus.tusks`` (``WalrusLite`` on
rlite, ``WalrusVedis`` on Vedis) and ``walrus.drivers``.
"""

from __future__ import annotations

from walrus.drivers.protocol import Capability, Driver
from walrus.drivers.redis import Database, Walrus
from walrus.exceptions import (
    CommandError,
    CommandNameError,
    DatabaseOpenError,
    EngineError,
    InvalidCacheKey,
    InvalidType,
    InvalidValue,
    LockNotHeld,
    MissingKey,
    RateLimitException,
    SerializationError,
    TamperedValue,
    UnknownScript,
    UnsupportedOperation,
    WalrusError,
    WrongType,
)
from walrus.features.autocomplete import Autocomplete
from walrus.features.cache import Cache, CacheMetrics
from walrus.features.containers import (
    Array,
    BitField,
    BitFieldOperation,
    BloomFilter,
    Container,
    Hash,
    HyperLogLog,
    List,
    Set,
    Stream,
    ZSet,
)
from walrus.features.counter import Counter
from walrus.features.graph import Graph, Triple, Variable
from walrus.features.lock import Lock
from walrus.features.rate_limit import RateLimit, RateLimitLua, RateLimitStatus
from walrus.keys import KeyGroup, Keyspace

__version__ = "1.0.0.dev0"

__all__ = [
    "Array",
    "Autocomplete",
    "BitField",
    "BitFieldOperation",
    "BloomFilter",
    "Cache",
    "CacheMetrics",
    "Capability",
    "CommandError",
    "CommandNameError",
    "Container",
    "Counter",
    "Database",
    "DatabaseOpenError",
    "Driver",
    "EngineError",
    "Graph",
    "Hash",
    "HyperLogLog",
    "InvalidCacheKey",
    "InvalidType",
    "InvalidValue",
    "KeyGroup",
    "Keyspace",
    "List",
    "Lock",
    "LockNotHeld",
    "MissingKey",
    "RateLimit",
    "RateLimitException",
    "RateLimitLua",
    "RateLimitStatus",
    "SerializationError",
    "Set",
    "Stream",
    "TamperedValue",
    "Triple",
    "UnknownScript",
    "UnsupportedOperation",
    "Variable",
    "Walrus",
    "WalrusError",
    "WrongType",
    "ZSet",
]
