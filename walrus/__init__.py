"""walrus: Pythonic objects over Redis and Redis-like engines.

``Database`` (alias ``Walrus``) is a redis-py client with walrus's extras and
factories; the embedded backends are in ``walrus.tusks`` (``WalrusLite`` on
rlite, ``WalrusVedis`` on Vedis) and ``walrus.drivers``. ``__all__`` holds every
name walrus 0.9 exported here, and walrus 0.9's modules (``walrus.containers``,
``walrus.models``, ``walrus.rate_limit`` ...) are thin entry points onto
``walrus.features``.
"""

from __future__ import annotations

from walrus.drivers.protocol import Capability, Driver
from walrus.drivers.server.cluster import ClusterDatabase
from walrus.drivers.server.database import Database, Walrus
from walrus.exceptions import (
    CommandError,
    CommandNameError,
    CorruptDatabase,
    DatabaseOpenError,
    DuplicateKey,
    EngineError,
    InvalidCacheKey,
    InvalidType,
    InvalidValue,
    LockNotHeld,
    MissingKey,
    ModelNotBound,
    NotPending,
    OutcomeUnknown,
    QueryError,
    RateLimitException,
    SerializationError,
    SettingsMismatch,
    TamperedValue,
    UnindexedField,
    UnknownGroup,
    UnknownScript,
    UnsupportedOperation,
    WalrusError,
    WriteConflict,
    WrongType,
)
from walrus.features.autocomplete import Autocomplete
from walrus.features.cache import Cache, CacheMetrics
from walrus.features.consumer_group import (
    ConsumerGroup,
    ConsumerGroupStream,
    StreamNameWarning,
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
    Stream,
    ZSet,
)
from walrus.features.counter import Counter
from walrus.features.graph import Graph, Triple, Variable
from walrus.features.lock import Lock
from walrus.features.models import (
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
from walrus.features.rate_limit import RateLimit, RateLimitLua, RateLimitStatus
from walrus.features.search import Index
from walrus.features.stream_worker import Delivery, StreamWorker
from walrus.features.text.tokenizer import Tokenizer
from walrus.features.time_series import Message, TimeSeries, TimeSeriesStream
from walrus.keys import KeyGroup, Keyspace

__version__ = "1.0.0.dev0"

__all__ = [
    "Array",
    "AutoIncrementField",
    "Autocomplete",
    "BitField",
    "BitFieldOperation",
    "BloomFilter",
    "BooleanField",
    "ByteField",
    "Cache",
    "CacheMetrics",
    "Capability",
    "ClusterDatabase",
    "CommandError",
    "CommandNameError",
    "ConsumerGroup",
    "ConsumerGroupStream",
    "Container",
    "CorruptDatabase",
    "Counter",
    "Database",
    "DatabaseOpenError",
    "DateField",
    "DateTimeField",
    "Delivery",
    "Driver",
    "DuplicateKey",
    "EngineError",
    "Field",
    "FloatField",
    "Graph",
    "Hash",
    "HashField",
    "HyperLogLog",
    "Index",
    "IntegerField",
    "InvalidCacheKey",
    "InvalidType",
    "InvalidValue",
    "JSONField",
    "KeyGroup",
    "Keyspace",
    "List",
    "ListField",
    "Lock",
    "LockNotHeld",
    "Message",
    "MissingKey",
    "Model",
    "ModelNotBound",
    "NotPending",
    "OutcomeUnknown",
    "PickledField",
    "QueryError",
    "RateLimit",
    "RateLimitException",
    "RateLimitLua",
    "RateLimitStatus",
    "SerializationError",
    "Set",
    "SetField",
    "SettingsMismatch",
    "Stream",
    "StreamNameWarning",
    "StreamWorker",
    "TamperedValue",
    "TextField",
    "TimeSeries",
    "TimeSeriesStream",
    "Tokenizer",
    "Triple",
    "UUIDField",
    "UnindexedField",
    "UnknownGroup",
    "UnknownScript",
    "UnsupportedOperation",
    "Variable",
    "Walrus",
    "WalrusError",
    "WriteConflict",
    "WrongType",
    "ZSet",
    "ZSetField",
]
