"""rlite's gaps filled by the emulation engine, over data rlite stores natively.

rlite answers the common commands natively. What it lacks (LMPOP, LPOS,
GETEX, the GEO family ...), the options it lacks (ZADD GT, ZRANGE BYSCORE,
EXPIRE NX ...) and what it answers wrongly or could crash on are run by
:mod:`walrus.drivers.emulation`, the same Python implementation of Redis's
semantics the memory and Vedis backends use, over :class:`RliteStore`: a
:class:`~walrus.drivers.emulation.store.Store` that reads a key's value from
rlite (its native string, hash, list, set or sorted set; a stream in the
encoding of :mod:`walrus.drivers.rlite_streams`) and writes back only what the
command changed. So a key written by an emulated command is an ordinary rlite
key for every native command, and the reverse.

Cost: an emulated command reads each key it touches whole (O(N) in the
key's size, a few rlite calls) and writes back O(changed) members (a list
edit that is not at its ends rewrites the list). Emulated commands are the
rare ones; the routing (:func:`route`) sends the common ones natively.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from walrus.drivers.embedded import STREAM_COMMANDS
from walrus.drivers.embedded_types import Command, Reply
from walrus.drivers.emulation import EmulationEngine
from walrus.drivers.emulation.engine import now_ms
from walrus.drivers.emulation.sortedset import ZSet
from walrus.drivers.emulation.store import Entry
from walrus.drivers.protocol import Capability
from walrus.drivers.rlite_gaps import GAPS, KEEPS_TTL, send
from walrus.drivers.rlite_streams import RliteStreamStore, is_stream

__all__ = ["RliteStore", "emulated"]

CHUNK = 512  # members per native write when a whole value is written


def _score(value: float) -> bytes:
    """A score as rlite parses it back exactly (shortest round-trip digits)."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    return repr(value).encode()


class RliteStore(RliteStreamStore):
    """Every kind of key, kept natively in rlite (see the module doc)."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self._loaded: dict[bytes, tuple[Entry, list[bytes] | None]] = {}

    # -- reading -----------------------------------------------------------------
    def get(self, key: bytes) -> Entry | None:
        loaded = self._loaded.get(key)
        if loaded is not None:
            return loaded[0]
        raw = self.engine.raw
        kind = raw([b"TYPE", key])
        if not isinstance(kind, bytes) or kind == b"none":
            return None
        if kind == b"string" and is_stream(self.engine, key):
            return super().get(key)
        original: list[bytes] | None = None
        if kind == b"string":
            value: Any = raw([b"GET", key])
        elif kind == b"hash":
            flat = raw([b"HGETALL", key])
            value = dict(zip(flat[::2], flat[1::2], strict=True))
        elif kind == b"list":
            original = raw([b"LRANGE", key, b"0", b"-1"])
            value = deque(original or [])
        elif kind == b"set":
            value = set(raw([b"SMEMBERS", key]))
        elif kind == b"zset":
            value = ZSet()
            flat = raw([b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"])
            for member, score in zip(flat[::2], flat[1::2], strict=True):
                value.add(member, float(score))
        else:  # a kind walrus does not know: the emulation answers WRONGTYPE
            return Entry(kind.decode("ascii", "replace"), None)
        ttl = raw([b"PTTL", key])
        expire_at = now_ms() + ttl if isinstance(ttl, int) and ttl > 0 else None
        entry = Entry(kind.decode(), value, expire_at)
        self._loaded[key] = (entry, original)
        return entry

    # -- writing -------------------------------------------------------------------
    def put(self, key: bytes, entry: Entry) -> None:
        if entry.kind == "stream":
            self._loaded.pop(key, None)
            super().put(key, entry)
            return
        raw = self.engine.raw
        raw([b"DEL", key])
        self._cache.pop(key, None)
        self._write_all(key, entry)
        self._expire(key, entry)
        self._loaded[key] = (entry, list(entry.value) if entry.kind == "list" else None)

    def _write_all(self, key: bytes, entry: Entry) -> None:
        raw, value = self.engine.raw, entry.value
        if entry.kind == "string":
            raw([b"SET", key, value])
            return
        if entry.kind == "hash":
            items: list[bytes] = [part for pair in value.items() for part in pair]
            step, command = 2 * CHUNK, b"HMSET"
        elif entry.kind == "list":
            items, step, command = list(value), CHUNK, b"RPUSH"
        elif entry.kind == "set":
            items, step, command = list(value), CHUNK, b"SADD"
        else:  # zset
            items = [p for score, member in value for p in (_score(score), member)]
            step, command = 2 * CHUNK, b"ZADD"
        for at in range(0, len(items), step):
            raw([command, key, *items[at : at + step]])

    def changed(self, key: bytes, entry: Entry, members: Iterable[Any]) -> None:
        if entry.kind == "stream":
            super().changed(key, entry, members)
            return
        raw, value = self.engine.raw, entry.value
        if entry.kind == "list":
            self._list_changed(key, entry)
        elif entry.kind == "hash":
            present = [m for m in members if m in value]
            gone = [m for m in members if m not in value]
            if present:
                raw([b"HMSET", key, *[p for m in present for p in (m, value[m])]])
            if gone:
                for member in gone:
                    raw([b"HDEL", key, member])
        elif entry.kind == "set":
            present = [m for m in members if m in value]
            gone = [m for m in members if m not in value]
            if present:
                raw([b"SADD", key, *present])
            if gone:
                raw([b"SREM", key, *gone])
        elif entry.kind == "zset":
            present = [m for m in members if m in value.scores]
            gone = [m for m in members if m not in value.scores]
            if present:
                pairs = [p for m in present for p in (_score(value.scores[m]), m)]
                raw([b"ZADD", key, *pairs])
            if gone:
                raw([b"ZREM", key, *gone])
        self._expire(key, entry)  # rlite drops the TTL on collection writes

    def _list_changed(self, key: bytes, entry: Entry) -> None:
        """Write a list's new content with as few rlite calls as the edit allows."""
        raw = self.engine.raw
        loaded = self._loaded.get(key)
        old = loaded[1] if loaded is not None and loaded[1] is not None else None
        new = list(entry.value)
        if old is None:
            raw([b"DEL", key])
            self._write_all(key, entry)
        elif len(new) < len(old) and _find(old, new) is not None:
            start = _find(old, new)
            assert start is not None
            if new:
                end = str(start + len(new) - 1).encode()
                raw([b"LTRIM", key, str(start).encode(), end])
            else:
                raw([b"DEL", key])
        elif new[: len(old)] == old:
            raw([b"RPUSH", key, *new[len(old) :]])
        elif new[len(new) - len(old) :] == old:
            raw([b"LPUSH", key, *reversed(new[: len(new) - len(old)])])
        elif len(new) == len(old):
            for index, (before, after) in enumerate(zip(old, new, strict=True)):
                if before != after:
                    raw([b"LSET", key, str(index).encode(), after])
        else:
            raw([b"DEL", key])
            self._write_all(key, entry)
        self._loaded[key] = (entry, new)

    def _expire(self, key: bytes, entry: Entry) -> None:
        if entry.expire_at is not None and entry.value:
            self.engine.raw([b"PEXPIREAT", key, str(entry.expire_at).encode()])

    def remove(self, key: bytes) -> None:
        self._loaded.pop(key, None)
        super().remove(key)

    def clear(self) -> None:
        self._loaded.clear()
        super().clear()

    def flush(self) -> None:
        """A command has finished: forget what it read (other processes may
        write before the next one)."""
        self._loaded.clear()

    def __iter__(self) -> Iterator[bytes]:
        keys = self.engine.raw([b"KEYS", b"*"])
        if not isinstance(keys, list):
            return iter([])
        return iter([k for k in keys if self.engine.raw([b"EXISTS", k]) == 1])


def _find(old: list[bytes], new: list[bytes]) -> int | None:
    """Where ``new`` sits inside ``old`` as a contiguous run (prefer the ends)."""
    if not new:
        return 0
    if old[: len(new)] == new:
        return 0
    if old[len(old) - len(new) :] == new:
        return len(old) - len(new)
    for start in range(1, len(old) - len(new)):
        if old[start : start + len(new)] == new:
            return start
    return None


def _engine(engine: Any) -> EmulationEngine:
    """The rlite engine's emulation, made on first use."""
    emulation: EmulationEngine | None = getattr(engine, "emulation", None)
    if emulation is None:
        capabilities = frozenset({Capability.STREAMS})
        emulation = EmulationEngine(RliteStore(engine), engine.name, capabilities)
        engine.emulation = emulation
    return emulation


def emulated(engine: Any, args: Command) -> Reply:
    """Run ``args`` in the emulation engine over the rlite data (atomic for
    other processes: the caller holds the engine's file lock)."""
    with engine.exclusive():
        return _engine(engine).execute(args)


# -- routing ------------------------------------------------------------------------
# What rlite answers natively and correctly (checked by the differential tests
# against Valkey), some through a guard in rlite_gaps; every other command is
# emulated. Missing from the list on purpose: SRANDMEMBER (a huge negative
# count crashes rlite), SMOVE (a member already in the destination crashes
# rlite: a double free), SUBSTR, BITOP and ZREMRANGEBYLEX (wrong answers on
# edge cases), ZUNIONSTORE and ZINTERSTORE (inf + -inf and inf * 0 must
# give 0, as in Redis), ZLEXCOUNT ("unknown retval"), INCRBYFLOAT and
# HINCRBYFLOAT (rlite keeps 6 decimals of the value it returns), RPOPLPUSH
# (pops and loses the element when the destination has another type), DUMP,
# RESTORE and OBJECT (one format with the other engines), Lua (run by the core).
NATIVE = frozenset(
    (
        b"GET SET SETNX SETEX PSETEX APPEND STRLEN DEL EXISTS SETBIT GETBIT "
        b"SETRANGE GETRANGE INCR DECR INCRBY DECRBY GETSET MGET MSET MSETNX "
        b"RPUSH LPUSH RPUSHX LPUSHX LINSERT RPOP LPOP LLEN LINDEX LSET LRANGE LTRIM "
        b"LREM SADD SREM SISMEMBER SCARD SPOP SINTER SINTERSTORE SUNION "
        b"SUNIONSTORE SDIFF SDIFFSTORE SMEMBERS ZADD ZINCRBY ZREM ZREMRANGEBYSCORE "
        b"ZREMRANGEBYRANK ZRANGE "
        b"ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZCOUNT ZREVRANGE "
        b"ZCARD ZSCORE ZRANK ZREVRANK HSET HSETNX HGET HMSET HMGET HINCRBY HDEL HLEN "
        b"HKEYS HVALS HGETALL HEXISTS RANDOMKEY MOVE RENAME RENAMENX EXPIRE EXPIREAT "
        b"PEXPIRE PEXPIREAT KEYS DBSIZE TYPE FLUSHDB FLUSHALL SORT TTL "
        b"PTTL PERSIST BITCOUNT BITPOS PFADD PFCOUNT PFMERGE"
    ).split()
)

_ZADD_FLAGS = frozenset(b"NX XX GT LT CH INCR".split())
_UNITS = frozenset((b"BIT", b"BYTE"))
_MAX_TTL_MS = 2**62  # a TTL beyond this overflows Redis's millisecond deadline


def _positive(raw: bytes, scale: int) -> bool:
    """Whether a TTL argument is one rlite and Redis accept alike."""
    return raw.isdigit() and 0 < int(raw) * scale < _MAX_TTL_MS


def _set_needs(args: Command) -> bool:
    """SET with an EX/PX rlite would take where Redis refuses it."""
    words = [a.upper() for a in args[3:]]
    for word, scale in ((b"EX", 1000), (b"PX", 1)):
        if word in words:
            at = words.index(word) + 1
            if at >= len(words) or not _positive(args[3 + at], scale):
                return True
    return False


def _lex_bound(raw: bytes) -> bool:
    return raw in (b"-", b"+") or raw[:1] in (b"[", b"(")


def _lex_needs(args: Command) -> bool:
    """A lex range rlite answers wrongly: LIMIT, a malformed bound, or an
    inverted infinite bound (``+`` as the minimum)."""
    if len(args) != 4:
        return True
    low, high = (args[2], args[3])
    if args[0].upper().startswith(b"ZREV"):
        low, high = high, low
    return not (_lex_bound(low) and _lex_bound(high)) or low == b"+" or high == b"-"


# Uses of native commands that need the emulation: an option rlite lacks, or
# a value rlite takes (or answers wrongly) where Redis refuses it.
_CONDITIONS: dict[bytes, Callable[[Command], bool]] = {
    b"ZADD": lambda args: len(args) > 2 and args[2].upper() in _ZADD_FLAGS,
    b"BITCOUNT": lambda args: any(a.upper() in _UNITS for a in args[2:]),
    b"BITPOS": lambda args: any(a.upper() in _UNITS for a in args[2:]),
    b"SETEX": lambda args: len(args) != 4 or not _positive(args[2], 1000),
    b"PSETEX": lambda args: len(args) != 4 or not _positive(args[2], 1),
    b"SET": _set_needs,
    b"ZRANGE": lambda args: (
        len(args) > 5 or (len(args) == 5 and args[4].upper() != b"WITHSCORES")
    ),
    b"ZRANGEBYLEX": _lex_needs,
    b"ZREVRANGEBYLEX": _lex_needs,
    b"ZRANGESTORE": lambda args: any(a.upper() == b"BYLEX" for a in args),
    b"LPOP": lambda args: len(args) != 2,  # a count
    b"RPOP": lambda args: len(args) != 2,
    b"SPOP": lambda args: len(args) != 2,
    b"SORT": lambda args: any(a.upper() in (b"BY", b"GET") for a in args[2:]),
}
for _name in (b"EXPIRE", b"PEXPIRE", b"EXPIREAT", b"PEXPIREAT"):
    _CONDITIONS[_name] = lambda args: len(args) != 3 or not _plain_time(args[2])


def _plain_time(raw: bytes) -> bool:
    """A TTL or deadline rlite handles as Redis does (no overflow, no float)."""
    return raw.lstrip(b"-").isdigit() and abs(int(raw)) < 2**40


def needs_emulation(name: bytes, args: Command) -> bool:
    """Whether this use of a command needs the emulation (see NATIVE)."""
    if name not in NATIVE and name not in GAPS:
        return True
    condition = _CONDITIONS.get(name)
    return condition is not None and condition(args)


def route(engine: Any, args: Command) -> Reply:
    """Run one command on rlite: natively (through its guard or gap, keeping
    TTLs), or emulated."""
    name = args[0].upper()
    if needs_emulation(name, args):
        return emulated(engine, args)
    if name in GAPS or name in KEEPS_TTL:
        with engine.exclusive():
            return send(engine, args)
    return send(engine, args)


def native_in_multi(args: Command) -> bool:
    """Whether rlite's own MULTI/EXEC can run this command as Redis would."""
    name = args[0].upper()
    return not (name in GAPS or name in KEEPS_TTL or needs_emulation(name, args))


for _stream_command in STREAM_COMMANDS:  # emulated, in rlite_streams' encoding
    GAPS.pop(_stream_command.encode(), None)
