"""The async twins of the sync workloads, for ``python -m benchmarks --async``.

Each :class:`AsyncWorkload` names a workload of ``benchmarks/workloads/``
(the same name): its data comes from that workload's ``setup``, so both
modes time the same operation on the same keys. ``walrus(db, task)``
returns the coroutine function to time on a ``walrus.asyncio`` database;
``plain(client, task)`` the same commands sent with a plain
``redis.asyncio.Redis``. ``task`` numbers the concurrent tasks (0 to 49)
for the one workload that needs keys of its own per task (the lock).
"""

from __future__ import annotations

import pickle
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio.lock

import walrus
from benchmarks.workloads import basics, containers, coordination, streams
from walrus import BloomFilter

AsyncOperation = Callable[[], Awaitable[object]]
Prepare = Callable[[Any, int], AsyncOperation]

__all__ = ["WORKLOADS", "AsyncOperation", "AsyncWorkload"]


@dataclass(frozen=True)
class AsyncWorkload:
    """The async form of the sync workload ``name``."""

    name: str
    walrus: Prepare
    plain: Prepare | None = None


def _op(make: Callable[[Any], Any], act: Callable[[Any], Awaitable[object]]) -> Prepare:
    """``act`` on the object ``make(db)`` builds once per task."""

    def prepare(db: Any, task: int) -> AsyncOperation:
        made = make(db)
        return lambda: act(made)

    return prepare


def _command(*args: Any) -> Prepare:
    """A plain operation sending one command with ``execute_command``."""
    return lambda client, task: lambda: client.execute_command(*args)


def _each(*commands: tuple[Any, ...]) -> Prepare:
    """A plain operation sending several commands, one round trip each."""

    def prepare(client: Any, task: int) -> AsyncOperation:
        async def each() -> object:
            return [await client.execute_command(*args) for args in commands]

        return each

    return prepare


def _pair(make: Callable[[Any], Any], first: str, second: str, *args: Any) -> Prepare:
    """``await obj.first(*args)`` then ``await obj.second()`` (append+pop ...)."""

    def prepare(db: Any, task: int) -> AsyncOperation:
        made = make(db)
        one, two = getattr(made, first), getattr(made, second)

        async def both() -> object:
            await one(*args)
            return await two()

        return both

    return prepare


def _bloom_plain(word: tuple[str, ...]) -> Prepare:
    """One BITFIELD on the probe item's positions, hashed on each call."""
    positions = BloomFilter(walrus.Database(), containers.BLOOM).positions

    def prepare(client: Any, task: int) -> AsyncOperation:
        def bitfield() -> Awaitable[object]:
            args = [
                a for bit in positions("item:1") for a in (*word[:2], bit, *word[2:])
            ]
            return client.execute_command("BITFIELD", containers.BLOOM, *args)

        return bitfield

    return prepare


def _plain_array_append(client: Any, task: int) -> AsyncOperation:
    """HLEN + HSET + HDEL: what the Array scripts do, without atomicity."""
    key = containers.ARRAY

    async def append_pop() -> object:
        n = int(await client.execute_command("HLEN", key))
        await client.execute_command("HSET", key, str(n), "x")
        return await client.execute_command("HDEL", key, str(n))

    return append_pop


def _cached_hit(db: Any, task: int) -> AsyncOperation:
    @db.cache(coordination.CACHE).cached(timeout=3600)
    async def profile(user: int) -> Any:
        return coordination.VALUE

    return lambda: profile(42)  # the harness's warm-up stores it: then hits


def _plain_cached_hit(client: Any, task: int) -> AsyncOperation:
    """Key from the arguments' pickles, GET, unpickle (what a memoizer does)."""

    async def hit(*args: Any) -> object:
        key = coordination._cached_key(args)
        return pickle.loads(await client.execute_command("GET", key))

    return lambda: hit(42)


def _cache_read(client: Any, task: int) -> AsyncOperation:
    async def read() -> object:
        key = f"{coordination.CACHE}:hot"
        return pickle.loads(await client.execute_command("GET", key))

    return read


def _cache_write(client: Any, task: int) -> AsyncOperation:
    def write() -> Awaitable[object]:
        data = pickle.dumps(coordination.VALUE, pickle.HIGHEST_PROTOCOL)
        key = f"{coordination.CACHE}:hot"
        return client.execute_command("SET", key, data, "PX", "60000")

    return write


def _lock_cycle(db: Any, task: int) -> AsyncOperation:
    lock = db.lock(f"{coordination.LOCK}:{task}", ttl=10_000)  # one lock per task

    async def cycle() -> None:
        await lock.acquire()
        await lock.release()

    return cycle


def _plain_lock_cycle(client: Any, task: int) -> AsyncOperation:
    """redis.asyncio's own Lock (SET NX PX, then its release script)."""
    name = f"plain:{coordination.LOCK}:{task}"
    lock = redis.asyncio.lock.Lock(client, name, timeout=10)

    async def cycle() -> None:
        await lock.acquire()
        await lock.release()

    return cycle


def _cas(client: Any, task: int) -> AsyncOperation:
    """The cas script, with redis.asyncio's script object (EVALSHA)."""
    from walrus.scripts import lua_source

    script = client.register_script(lua_source("cas"))
    return lambda: script(keys=[KEY], args=["value", "value"])


def _zrange(client: Any, task: int) -> AsyncOperation:
    return lambda: client.zrange(containers.ZSET, 0, 9, withscores=True)


def _stream_add(db: Any, task: int) -> AsyncOperation:
    stream = db.Stream(streams.STREAM)
    return lambda: stream.add({"a": "1"}, maxlen=1000)


HASH, LIST, SET, ZSET = (
    containers.HASH,
    containers.LIST,
    containers.SET,
    containers.ZSET,
)
KEY = basics.KEY
UPDATE = containers.UPDATE

WORKLOADS = [
    # db.get and db.set are redis.asyncio's own methods: timed against the same
    # methods of a plain client (what walrus's driver adds to a command)
    AsyncWorkload(
        "get",
        lambda db, task: lambda: db.get(KEY),
        lambda client, task: lambda: client.get(KEY),
    ),
    AsyncWorkload(
        "set",
        lambda db, task: lambda: db.set(KEY, "value"),
        lambda client, task: lambda: client.set(KEY, "value"),
    ),
    AsyncWorkload(
        "hash get",
        _op(lambda db: db.Hash(HASH), lambda h: h["field"]),
        _command("HGET", HASH, "field"),
    ),
    AsyncWorkload(
        "hash set",
        _op(lambda db: db.Hash(HASH), lambda h: h.setitem("field", "value")),
        _command("HSET", HASH, "field", "value"),
    ),
    AsyncWorkload(
        "hash update 100 fields",
        _op(lambda db: db.Hash(containers.UPDATED), lambda h: h.update(UPDATE)),
        lambda client, task: lambda: client.hset(containers.UPDATED, mapping=UPDATE),
    ),
    AsyncWorkload(
        "list append+pop",
        _pair(lambda db: db.List(LIST), "append", "popright", "x"),
        _each(("RPUSH", LIST, "x"), ("RPOP", LIST)),
    ),
    AsyncWorkload(
        "list index",
        _op(lambda db: db.List(LIST), lambda lst: lst[500]),
        _command("LINDEX", LIST, 500),
    ),
    AsyncWorkload(
        "set add",
        _op(lambda db: db.Set(SET), lambda s: s.add("7")),
        _command("SADD", SET, "7"),
    ),
    AsyncWorkload(
        "set contains",
        _op(lambda db: db.Set(SET), lambda s: s.contains("7")),
        _command("SISMEMBER", SET, "7"),
    ),
    AsyncWorkload(
        "zset add",
        _op(lambda db: db.ZSet(ZSET), lambda z: z.setitem("m7", 7)),
        _command("ZADD", ZSET, 7, "m7"),
    ),
    AsyncWorkload(
        "zset score",
        _op(lambda db: db.ZSet(ZSET), lambda z: z.score("m7")),
        _command("ZSCORE", ZSET, "m7"),
    ),
    AsyncWorkload(
        "zset range 10",
        _op(lambda db: db.ZSet(ZSET), lambda z: z.range(0, 9, with_scores=True)),
        _zrange,
    ),
    AsyncWorkload(
        "hll add+len",
        _pair(lambda db: db.HyperLogLog(containers.HLL), "add", "length", "x"),
        _each(("PFADD", containers.HLL, "x"), ("PFCOUNT", containers.HLL)),
    ),
    AsyncWorkload(
        "bloom add",
        _op(lambda db: db.bloom_filter(containers.BLOOM), lambda b: b.add("item:1")),
        _bloom_plain(("SET", "u1", 1)),
    ),
    AsyncWorkload(
        "bloom contains",
        _op(
            lambda db: db.bloom_filter(containers.BLOOM), lambda b: b.contains("item:1")
        ),
        _bloom_plain(("GET", "u1")),
    ),
    AsyncWorkload(
        "array get",
        _op(lambda db: db.Array(containers.ARRAY), lambda a: a[500]),
        _command("HGET", containers.ARRAY, "500"),
    ),
    AsyncWorkload(
        "array append+pop",
        _pair(lambda db: db.Array(containers.ARRAY), "append", "pop", "x"),
        _plain_array_append,
    ),
    AsyncWorkload(
        "stream add",
        _stream_add,
        _command("XADD", streams.STREAM, "MAXLEN", "~", "1000", "*", "a", "1"),
    ),
    AsyncWorkload(
        "cache read",
        _op(lambda db: db.cache(coordination.CACHE), lambda c: c.get("hot")),
        _cache_read,
    ),
    AsyncWorkload(
        "cache write",
        _op(
            lambda db: db.cache(coordination.CACHE),
            lambda c: c.set("hot", coordination.VALUE, timeout=60),
        ),
        _cache_write,
    ),
    AsyncWorkload("@cache.cached hit", _cached_hit, _plain_cached_hit),
    AsyncWorkload("lock acquire+release", _lock_cycle, _plain_lock_cycle),
    AsyncWorkload(
        "counter incr",
        _op(lambda db: db.counter(coordination.COUNTER), lambda c: c.incr()),
        _command("INCRBY", coordination.COUNTER, 1),
    ),
    AsyncWorkload(
        "rate limit",
        _op(
            lambda db: db.rate_limit("bench:rl", limit=10, per=60),
            lambda r: r.limit("client"),
        ),
    ),
    AsyncWorkload("cas", lambda db, task: lambda: db.cas(KEY, "value", "value"), _cas),
]
