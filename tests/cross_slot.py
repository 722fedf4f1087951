"""Cluster-only checks: an operation on user keys of different slots.

A cluster refuses multi-key commands on keys of different slots; walrus
raises :class:`~walrus.exceptions.CrossSlot` saying how to place the keys in
one slot (a shared ``{tag}``), before anything is sent. Other backends have
no slots: these tests skip there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from redis.crc import key_slot
from support import Backend

from walrus.exceptions import CrossSlot


def cluster_only(backend: Backend) -> None:
    """Skip unless ``backend`` is the cluster."""
    if backend.name != "cluster":
        pytest.skip("only a cluster has slots")


def refused_across_slots(operation: Callable[[], Any], *keys: str) -> CrossSlot:
    """``operation`` (on ``keys``, each in its own slot) raises CrossSlot with
    the hint; the error is returned for further checks."""
    assert len({key_slot(k.encode()) for k in keys}) == len(keys), keys
    with pytest.raises(CrossSlot, match=r"hash tag, e\.g\. '\{group\}:a'") as caught:
        operation()
    return caught.value
