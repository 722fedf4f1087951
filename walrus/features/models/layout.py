"""Where a model's rows and indexes live: walrus 0.9's key names, built here only.

All keys of one model form one key group (``<namespace>|<model>`` or
``<model>``); on a cluster the group is hash-tagged (``{note}:id.3``), so
every key below, temporary keys included, lands in one slot. Every save,
delete and query touches keys of that group only, and the model's scripts
build names only by prefixing the declared group prefix. With the group
prefix ``note:`` and ``index_separator`` ``.``:

========================  =============================================
``note:id.<pk>``          the row (a hash of stored field values)
``note:all``              every row key (a set)
``note:<f>.absolute.<v>`` row keys whose field ``f`` stores ``v`` (a set)
``note:<f>.continuous``   row keys scored by the value of ``f`` (a sorted set)
``note:<f>.fts.<term>``   row keys whose text has ``term``, scored by its count
``note:container.<f>.<row key>``  a container field's data
``note:<f>._sequence``    the counter of an auto-increment primary key
``note:temp.<uuid>``      a query's temporary result (60 s TTL, deleted after)
========================  =============================================

Index members are row keys (``note:id.3``), as in walrus 0.9.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = ["KeysOfModel", "ModelKeys"]


@dataclass(frozen=True)
class ModelKeys:
    """Key names of one model on one database (all bytes)."""

    prefix: bytes
    sep: bytes

    @classmethod
    def build(cls, db: Any, namespace: str | None, name: str, sep: str) -> ModelKeys:
        base = f"{namespace}|{name}" if namespace else name
        prefix = db.keyspace.group(base).key("")  # "<base>:" (tagged in a cluster)
        return cls(prefix.encode("utf-8"), sep.encode("utf-8"))

    def _join(self, *parts: bytes | str) -> bytes:
        return self.prefix + self.sep.join(
            p.encode("utf-8") if isinstance(p, str) else p for p in parts
        )

    @functools.cached_property
    def row_prefix(self) -> bytes:
        return self._join("id", b"")

    def row(self, pk: bytes) -> bytes:
        return self.row_prefix + pk

    @functools.cached_property
    def all(self) -> bytes:
        return self._join("all")

    def absolute_prefix(self, field: str) -> bytes:
        return self._join(field, "absolute", b"")

    def absolute(self, field: str, value: bytes) -> bytes:
        return self.absolute_prefix(field) + value

    def continuous(self, field: str) -> bytes:
        return self._join(field, "continuous")

    def fts(self, field: str, term: str) -> bytes:
        return self._join(field, "fts", term)

    def container(self, field: str, row: bytes) -> bytes:
        return self._join("container", field, row)

    def sequence(self, field: str) -> bytes:
        return self._join(field, "_sequence")

    def temp(self) -> bytes:
        return self._join("temp", uuid.uuid4().hex)

    def make_key(self, *parts: Any) -> str:
        """walrus 0.9's ``Model._query.make_key``: the parts after the model's
        prefix, joined by its separator (``make_key('id', 1)`` is a row)."""
        return self._join(*map(str, parts)).decode("utf-8", "surrogateescape")


class KeysOfModel:
    """``Model._query``: walrus 0.9's private key helper, as the model's
    :class:`ModelKeys` (0.9's own tests read ``_query.make_key``)."""

    def __get__(self, instance: Any, owner: Any) -> ModelKeys:
        keys: ModelKeys = owner._keys()
        return keys
