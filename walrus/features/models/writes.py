"""The atomic writes of models: ``model_write`` and ``model_incr``.

Each is one named operation (``lua/model_write.lua``, ``lua/model_incr.lua``)
with its Python twin here, run inside the engine for engines without Lua.
:class:`WritePlan` builds the arguments: the Python side computes every new
key and value; the operation reads the stored row to remove its old
equality entries, so a save is one round trip and concurrent saves of one row
are serialized by the engine, leaving indexes that match the final row.
Full-text entries depend on tokenizing the old text, which only Python can
do: the caller reads the old text first and the operation checks it is
still stored (``checks``), answering ``conflict`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from walrus.features.models.fields import float_text
from walrus.scripts import Call, twin

if TYPE_CHECKING:
    from walrus.features.models.layout import ModelKeys

__all__ = ["MARK", "WritePlan"]

MARK = b"\x00walrus-new-id\x00"


@dataclass
class WritePlan:
    """The arguments of one ``model_write`` call (see its Lua header)."""

    mode: str  # create, save, auto, delete
    row: bytes  # the row key (with MARK in place of the id in "auto" mode)
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
        lists: list[tuple[list[Any], bool]] = [  # (items, first of each is a key)
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

    def run(
        self,
        db: Any,
        keys: ModelKeys,
        counter: bytes | None = None,
        client: Any = None,
    ) -> Any:
        """Run ``model_write`` with this plan; its reply. One round trip (or
        one command queued on ``client``, a pipeline)."""
        return db.scripts.run(
            "model_write",
            self.keys(keys.all, counter, keys.prefix),
            self.args(keys.prefix, keys.sep),
            client=client,
        )


def _lists(args: list[bytes]) -> list[list[bytes]]:
    at = 4
    found: list[list[bytes]] = []
    for width in (2, 1, 1, 2, 1, 2, 1):
        n = int(args[at])
        found.append(args[at + 1 : at + 1 + n * width])
        at += 1 + n * width
    return found


@twin("model_write")
def _model_write(call: Call, keys: list[bytes], args: list[bytes]) -> Any:
    mode, name, mark, sep = args[:4]
    prefix = keys[2]
    checks, unindex, zrem, fields, sadd, zadd, delete = _lists(args)
    new_id: bytes | None = None

    def sub(value: bytes) -> bytes:
        return value.replace(mark, new_id, 1) if new_id is not None else value

    if mode == b"auto":
        new_id = str(call(b"INCR", keys[0])).encode()
    row = prefix + sub(name)
    if mode == b"create" and call(b"EXISTS", row) == 1:
        return b"exists"
    for field_name, expected in zip(checks[::2], checks[1::2], strict=True):
        stored = call(b"HGET", row, field_name)
        if (b"!" if stored is None else b"=" + stored) != expected:
            return b"conflict"
    # the range entries first: a score an engine refuses stops the write
    # here, before anything else changed (ZADD replaces a score: no ZREM there)
    added: set[bytes] = set()
    for key, score in zip(zadd[::2], zadd[1::2], strict=True):
        added.add(sub(key))
        call(b"ZADD", prefix + sub(key), sub(score), row)
    for field_name in unindex:
        stored = call(b"HGET", row, field_name)
        if stored is not None:
            absolute = prefix + field_name + sep + b"absolute" + sep + stored
            call(b"SREM", absolute, row)
    for key in zrem:
        if key not in added:
            call(b"ZREM", prefix + key, row)
    call(b"DEL", row)
    if fields:
        # HMSET: no count of new fields wanted (rlite's HSET of several
        # fields counts them with two more commands)
        call(b"HMSET", row, *[sub(v) for v in fields])
        call(b"SADD", keys[1], row)
    else:
        call(b"SREM", keys[1], row)
    for key in sadd:
        call(b"SADD", prefix + sub(key), row)
    if delete:
        call(b"DEL", *(prefix + key for key in delete))
    return new_id if new_id is not None else b"ok"


@twin("model_incr")
def _model_incr(call: Call, keys: list[bytes], args: list[bytes]) -> Any:
    row, absolute = keys[:2]
    if call(b"EXISTS", row) == 0:
        return None
    name, amount, kind, indexed = args[:4]
    old = call(b"HGET", row, name)
    if kind == b"int":
        call(b"HINCRBY", row, name, amount)
        new = call(b"HGET", row, name)
    else:
        try:
            start = float(old or b"0")
        except ValueError:
            from walrus.exceptions import CommandError

            raise CommandError("ERR hash value is not a float") from None
        total = start + float(amount)
        if total != total or total in (float("inf"), float("-inf")):
            from walrus.exceptions import CommandError

            raise CommandError("ERR increment would produce NaN or Infinity")
        new = float_text(total).encode()
        call(b"HSET", row, name, new)
    if indexed == b"1":
        if old is not None:
            call(b"SREM", absolute + old, row)
        call(b"SADD", absolute + new, row)
    if len(keys) > 2:
        call(b"ZADD", keys[2], new, row)
    return new
