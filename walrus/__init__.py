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
    MissingKey,
    UnknownScript,
    UnsupportedOperation,
    WalrusError,
    WrongType,
)
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
    ZSet,
)
from walrus.keys import KeyGroup, Keyspace

__version__ = "1.0.0.dev0"

__all__ = [
    "Array",
    "BitField",
    "BitFieldOperation",
    "BloomFilter",
    "Capability",
    "CommandError",
    "CommandNameError",
    "Container",
    "Database",
    "DatabaseOpenError",
    "Driver",
    "EngineError",
    "Hash",
    "HyperLogLog",
    "KeyGroup",
    "Keyspace",
    "List",
    "MissingKey",
    "Set",
    "UnknownScript",
    "UnsupportedOperation",
    "Walrus",
    "WalrusError",
    "WrongType",
    "ZSet",
]
