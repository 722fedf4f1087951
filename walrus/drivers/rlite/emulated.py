"""rlite's gaps filled by the emulation engine, over data rlite stores natively.

rlite answers the common commands natively. What it lacks (LMPOP, LPOS,
GETEX, the GEO family ...), the options it lacks (ZADD GT, ZRANGE BYSCORE,
EXPIRE NX ...) and what it answers wrongly or could crash on are run by
:mod:`walrus.drivers.emulation`, the same Python implementation of Redis's
semantics the memory and Vedis backends use, over :class:`RliteStore`: a
:class:`~walrus.drivers.emulation.store.Store` that reads a key's value from
rlite (its native string, hash, list, set or sorted set; a stream in the
encoding of :mod:`walrus.drivers.rlite.streams`) and writes back only what the
command changed. So a key written by an emulated command is an ordinary rlite
key for every native command, and the reverse.

Cost: an emulated command reads each key it touches whole (O(N) in the
key's size, a few rlite calls) and writes back O(changed) members (a list
edit that is not at its ends rewrites the list). Emulated commands are the
rare ones; the routing (:func:`route`) sends the common ones natively.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from walrus.drivers.embedded.commands import STREAM_COMMANDS
from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.emulation import EmulationEngine
from walrus.drivers.emulation.engine import Refused, format_float, now_ms
from walrus.drivers.emulation.sortedset import ZSet
from walrus.drivers.emulation.store import Entry
from walrus.drivers.protocol import Capability
from walrus.drivers.rlite import key_gaps as _key_gaps  # noqa: F401 (registers)
from walrus.drivers.rlite.gaps import (
    GAPS,
    KEEPS_TTL,
    MAGIC,
    TYPE_CHECKS,
    WRONGTYPE,
    is_stream,
    send,
)
from walrus.drivers.rlite.native import library
from walrus.drivers.rlite.shapes import CONDITIONS, SMALLEST_NORMAL, TTL_SOURCES
from walrus.drivers.rlite.streams import RliteStreamStore

__all__ = ["RliteStore", "emulated"]

CHUNK = 512  # members per native write when a whole value is written


def _score(value: float) -> bytes:
    """A score as rlite parses it back exactly (shortest round-trip digits).

    rlite stores a subnormal double as garbage (5e-324 reads back as
    -1.6e+293): refused, before anything is written, as an unsupported
    operation. (A -0 score reads back as 0.)
    """
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    if 0 < abs(value) < SMALLEST_NORMAL:
        raise Refused(
            f"UNSUPPORTED subnormal-score rlite cannot store the score {value!r} "
            f"(a subnormal double: nonzero and smaller than {SMALLEST_NORMAL!r} "
            "in magnitude)"
        )
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
        writes = self._writes(key, entry)  # refuses what rlite cannot store
        raw([b"DEL", key])
        self._cache.pop(key, None)
        for command in writes:
            raw(command)
        self._expire(key, entry)
        self._loaded[key] = (entry, list(entry.value) if entry.kind == "list" else None)

    def _writes(self, key: bytes, entry: Entry) -> list[Command]:
        """The rlite commands that write the whole value of ``entry``."""
        value = entry.value
        if entry.kind == "string":
            return [[b"SET", key, value]]
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
        return [
            [command, key, *items[at : at + step]] for at in range(0, len(items), step)
        ]

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
            for command in self._writes(key, entry):
                raw(command)
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
            for command in self._writes(key, entry):
                raw(command)
        self._loaded[key] = (entry, new)

    def _expire(self, key: bytes, entry: Entry) -> None:
        if entry.expire_at is not None:  # an empty string keeps its TTL too
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
# against Valkey), some through a guard in rlite_gaps, and each only in the
# argument shapes rlite_shapes allows; every other command is emulated.
# Missing from the list on purpose: SRANDMEMBER (a huge negative count crashes
# rlite), SMOVE (a member already in the destination crashes rlite: a double
# free), SORT (a numeric sort of an empty string crashes rlite; GET with STORE
# too), SUBSTR, BITOP and ZREMRANGEBYLEX (wrong answers on edge cases),
# ZUNIONSTORE and ZINTERSTORE (inf + -inf and inf * 0 must give 0, as in
# Redis), ZLEXCOUNT ("unknown retval"), INCRBYFLOAT and HINCRBYFLOAT (rlite
# keeps 6 decimals of the value it returns), RPOPLPUSH (pops and loses the
# element when the destination has another type), GETSET (would overwrite a
# stream), BITFIELD (rlite has none: single bits go to GETBIT and SETBIT in a
# gap, other uses are emulated), DUMP, RESTORE and OBJECT (one format with
# the other engines), Lua (run by the core).
NATIVE = frozenset(
    (
        b"GET SET SETNX SETEX PSETEX APPEND STRLEN DEL EXISTS SETBIT GETBIT "
        b"SETRANGE GETRANGE INCR DECR INCRBY DECRBY MGET MSET MSETNX "
        b"RPUSH LPUSH RPUSHX LPUSHX LINSERT RPOP LPOP LLEN LINDEX LSET LRANGE LTRIM "
        b"LREM SADD SREM SISMEMBER SCARD SPOP SINTER SINTERSTORE SUNION "
        b"SUNIONSTORE SDIFF SDIFFSTORE SMEMBERS ZADD ZINCRBY ZREM ZREMRANGEBYSCORE "
        b"ZREMRANGEBYRANK ZRANGE "
        b"ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZCOUNT ZREVRANGE "
        b"ZCARD ZSCORE ZRANK ZREVRANK HSET HSETNX HGET HMSET HMGET HINCRBY HDEL HLEN "
        b"HKEYS HVALS HGETALL HEXISTS RANDOMKEY MOVE RENAME RENAMENX EXPIRE EXPIREAT "
        b"PEXPIRE PEXPIREAT KEYS DBSIZE TYPE FLUSHDB FLUSHALL TTL "
        b"PTTL PERSIST BITCOUNT BITPOS PFADD PFCOUNT PFMERGE"
    ).split()
)

# String commands whose native reply would read (or whose write would damage)
# a stream's encoding: one rlite read first checks the key is no stream.
_STREAM_CHECKED = frozenset(
    b"APPEND SETRANGE STRLEN GETRANGE SETBIT GETBIT BITCOUNT BITPOS".split()
)


def _not_stream(engine: Any, reply: Reply) -> Reply:
    """GET's reply: a stream's encoding is WRONGTYPE."""
    if isinstance(reply, bytes) and reply.endswith(MAGIC):
        return WRONGTYPE
    return reply


def _mget(engine: Any, args: Command, reply: Reply) -> Reply:
    """MGET: a stream is nil, as any value of another type."""
    if not isinstance(reply, list):
        return reply
    return [None if isinstance(v, bytes) and v.endswith(MAGIC) else v for v in reply]


def _hyperloglog(engine: Any, args: Command, reply: Reply) -> Reply:
    """PF*: rlite's WRONGTYPE for a stream is the one for a string that is no
    HyperLogLog; Redis gives the plain WRONGTYPE for another type."""
    if (
        isinstance(reply, ErrorReply)
        and "HyperLogLog" in reply.message
        and any(is_stream(engine, key) for key in args[1:])
    ):
        return WRONGTYPE
    return reply


def _score_text(raw: bytes) -> bytes:
    """One score as the other engines print it (a short integer, already
    printed that way by rlite, as it is)."""
    if raw.isdigit() and len(raw) < 16 and (raw[0] != 48 or len(raw) == 1):
        return raw
    return format_float(float(raw))


# rlite prints scores with 17 digits (``0.10000000000000001``); the other
# engines, Valkey and Redis 7.2+ print the shortest exact form.


def _one_score(engine: Any, args: Command, reply: Reply) -> Reply:
    """ZSCORE, ZINCRBY: one score."""
    return _score_text(reply) if isinstance(reply, bytes) else reply


def _pairs(reply: Reply) -> Reply:
    """A flat list of members and their scores, the scores in short form."""
    if not isinstance(reply, list):
        return reply
    scores = reply[1::2]
    if b"".join(scores).isdigit():
        # rlite prints "%.17g": digits alone are a whole number below 10**17
        # printed exactly, which is the shortest form too
        return reply
    out = list(reply)
    out[1::2] = [_score_text(s) for s in scores]
    return out


def _popped(engine: Any, args: Command, reply: Reply) -> Reply:
    """ZPOPMIN, ZPOPMAX: pairs."""
    return _pairs(reply)


def _ranged(engine: Any, args: Command, reply: Reply) -> Reply:
    """The ZRANGE family: pairs WITHSCORES, else members alone."""
    for word in args[4:]:
        if word.upper() == b"WITHSCORES":
            return _pairs(reply)
    return reply


def _zscan(engine: Any, args: Command, reply: Reply) -> Reply:
    """ZSCAN: [cursor, pairs]."""
    if isinstance(reply, list) and len(reply) == 2:
        return [reply[0], _pairs(reply[1])]
    return reply


# Native replies fixed up after the fact (free: from the reply itself).
_REPLIES: dict[bytes, Callable[[Any, Command, Reply], Reply]] = {
    b"GET": lambda engine, args, reply: _not_stream(engine, reply),
    b"MGET": _mget,
    b"PFADD": _hyperloglog,
    b"PFCOUNT": _hyperloglog,
    b"PFMERGE": _hyperloglog,
    b"ZSCORE": _one_score,
    b"ZINCRBY": _one_score,
    b"ZPOPMIN": _popped,
    b"ZPOPMAX": _popped,
    b"ZSCAN": _zscan,
    **{
        name: _ranged
        for name in (b"ZRANGE", b"ZREVRANGE", b"ZRANGEBYSCORE", b"ZREVRANGEBYSCORE")
    },
}


def needs_emulation(name: bytes, args: Command) -> bool:
    """Whether this use of a command needs the emulation (see NATIVE)."""
    if name not in NATIVE and name not in GAPS:
        return True
    condition = CONDITIONS.get(name)
    return condition is not None and condition(args)


def route(engine: Any, args: Command) -> Reply:
    """Run one command on rlite: natively (through its guard or gap, keeping
    TTLs, its reply fixed up), or emulated."""
    name = args[0].upper()
    if needs_emulation(name, args):
        return emulated(engine, args)
    fix = _REPLIES.get(name)
    if name in GAPS or name in KEEPS_TTL or name in _STREAM_CHECKED:
        with engine.exclusive():
            if name in _STREAM_CHECKED and len(args) > 1 and is_stream(engine, args[1]):
                return WRONGTYPE
            reply = send(engine, args)
            return reply if fix is None else fix(engine, args, reply)
    reply = send(engine, args)
    return reply if fix is None else fix(engine, args, reply)


def quick(engine: Any, name: bytes, handle: int | None) -> Any:
    """How to run command ``name`` as :func:`route` does, with what depends
    on the name alone decided now. ``handle``: rlite's, in memory (None on a
    file, where each command is a unit: ``engine.raw``). In memory a native
    command answered as rlite gives it is one native call (GET's stream
    check and a gap's type check included: ``native.Library``), a gap runs
    directly, and a write that would lose a TTL (``KEEPS_TTL``) skips the TTL
    reads while no key of the engine can have one (``engine.expiring``)."""
    if name not in NATIVE and name not in GAPS:
        return lambda args: route(engine, args)
    lib = library()
    fill, keeps = GAPS.get(name), name in KEEPS_TTL
    if name in _STREAM_CHECKED or ((fill is not None or keeps) and handle is None):
        return lambda args: route(engine, args)
    call = engine.raw if handle is None else functools.partial(lib.call, handle)
    if name in TTL_SOURCES:
        call = engine.raw  # which notes that keys may now expire
    check = TYPE_CHECKS.get(name)
    if check is not None and handle is not None and not keeps:
        typed = functools.partial(lib.typed, handle)
        call, fill = _typed_call(typed, *check), None  # the gap, in one call
    condition, fix = CONDITIONS.get(name), _REPLIES.get(name)
    if condition is None and fix is None and fill is None and not keeps:
        return call
    if name == b"GET":
        if handle is not None:  # a stream's encoding is WRONGTYPE
            return functools.partial(lib.read, handle, MAGIC, WRONGTYPE)

        def get(args: Command) -> Reply:
            reply = call(args)
            if type(reply) is bytes and reply.endswith(MAGIC):
                return WRONGTYPE
            return reply

        return get

    def run(args: Command) -> Reply:
        if condition is not None and condition(args):
            return emulated(engine, args)
        if keeps and engine.expiring:
            return route(engine, args)
        reply = call(args) if fill is None else fill(engine, args)
        return reply if fix is None else fix(engine, args, reply)

    return run


def _typed_call(
    typed: Callable[[Command, bytes, int, int, Reply], Reply],
    kind: bytes,
    first: int,
    last: int | None,
) -> Callable[[Command], Reply]:
    """A type-checked gap (``gaps.TYPE_CHECKS``) as one ``typed`` call."""
    if last is None:
        return lambda args: typed(args, kind, first, len(args), WRONGTYPE)
    return lambda args: typed(args, kind, first, last, WRONGTYPE)


def native_in_multi(args: Command) -> bool:
    """Whether rlite's own MULTI/EXEC can run this command as Redis would."""
    name = args[0].upper()
    return not (
        name in GAPS
        or name in KEEPS_TTL
        or name in _STREAM_CHECKED
        or name in _REPLIES
        or needs_emulation(name, args)
    )


for _stream_command in STREAM_COMMANDS:  # emulated, in rlite_streams' encoding
    GAPS.pop(_stream_command.encode(), None)
