"""walrus 0.9's import path for the containers (``from walrus.containers import Hash``).

The code lives in :mod:`walrus.features.containers`,
:mod:`walrus.features.consumer_group` and :mod:`walrus.features.time_series`.
"""

from __future__ import annotations

from walrus.features.consumer_group import ConsumerGroup, ConsumerGroupStream
from walrus.features.consumer_group import normalize_keys as _normalize_stream_keys
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

__all__ = [
    "Array",
    "BitField",
    "BitFieldOperation",
    "BloomFilter",
    "ConsumerGroup",
    "ConsumerGroupStream",
    "Container",
    "Hash",
    "HyperLogLog",
    "List",
    "Set",
    "Stream",
    "ZSet",
    "_normalize_stream_keys",
]
