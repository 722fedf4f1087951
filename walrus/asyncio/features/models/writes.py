"""Async twin of :mod:`walrus.features.models.writes`, generated from ``walrus/features/models/writes.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from walrus.features.models.layout import ModelKeys
from walrus.features.models.writes import MARK

__all__ = ["MARK", "WritePlan"]


@dataclass
class WritePlan:
    """The arguments of one ``model_write`` call (see its Lua header)."""

    mode: str
    row: bytes
    checks: list[tuple[bytes, bytes]] = field(default_factory=list)
    unindex: list[bytes] = field(default_factory=list)
    zrem: list[bytes] = field(default_factory=list)
    fields: list[tuple[bytes, bytes]] = field(default_factory=list)
    sadd: list[bytes] = field(default_factory=list)
    zadd: list[tuple[bytes, bytes]] = field(default_factory=list)
    delete: list[bytes] = field(default_factory=list)

    def keys(self, all_key: bytes, counter: bytes | None, prefix: bytes) -> list[bytes]:
        first = counter if self.mode == "auto" and counter else self.row
        return [first, all_key, prefix]

    def args(self, prefix: bytes, sep: bytes) -> list[bytes]:
        """The arguments; every key is given by its name after ``prefix``
        (the script prefixes them again, so they stay in the model's group)."""

        def name(key: bytes) -> bytes:
            if not key.startswith(prefix):
                raise ValueError(f"{key!r} is not a key of the model {prefix!r}")
            return key[len(prefix) :]

        out: list[bytes] = [self.mode.encode(), name(self.row), MARK, sep]
        lists: list[tuple[list[Any], bool]] = [
            (self.checks, False),
            (self.unindex, False),
            (self.zrem, True),
            (self.fields, False),
            (self.sadd, True),
            (self.zadd, True),
            (self.delete, True),
        ]
        for items, keyed in lists:
            out.append(str(len(items)).encode())
            for item in items:
                first, *rest = item if isinstance(item, tuple) else (item,)
                out += [name(first) if keyed else first, *rest]
        return out

    async def run(
        self, db: Any, keys: ModelKeys, counter: bytes | None = None, client: Any = None
    ) -> Any:
        """Run ``model_write`` with this plan; its reply. One round trip (or
        one command queued on ``client``, a pipeline)."""
        return await db.scripts.run(
            "model_write",
            self.keys(keys.all, counter, keys.prefix),
            self.args(keys.prefix, keys.sep),
            client=client,
        )
