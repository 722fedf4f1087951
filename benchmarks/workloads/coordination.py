"""Workloads for Cache, Counter, Lock and RateLimit against plain commands.

The cache is timed against a bare GET/SET of the same bytes (what it adds is
pickling and key naming); the lock against redis-py's own ``Lock`` on the
server (``SET NX PX`` then a release script) and against the bare commands
on rlite. Operations are steady-state.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

import redis
import redis.lock

from benchmarks.harness import (
    Operation,
    Workload,
    group_key,
    is_server_client,
    plain_command,
)

CACHE, COUNTER, LOCK = "bench:cache", "bench:counter", "bench:lock"
VALUE = {"user": 42, "roles": ["admin", "staff"], "active": True}


def _setup(db: Any) -> None:
    db.cache(CACHE).set("hot", VALUE)


def _cache_read(db: Any) -> Operation:
    cache = db.cache(CACHE)
    return lambda: cache.get("hot")


def _cache_write(db: Any) -> Operation:
    cache = db.cache(CACHE)
    return lambda: cache.set("hot", VALUE, timeout=60)


def _plain_read(client: Any) -> Operation:
    command = plain_command(client)
    key = group_key(client, CACHE, ":hot")
    return lambda: pickle.loads(command("GET", key))


def _plain_write(client: Any) -> Operation:
    command = plain_command(client)
    key = group_key(client, CACHE, ":hot")

    def write() -> object:
        data = pickle.dumps(VALUE, pickle.HIGHEST_PROTOCOL)
        return command("SET", key, data, "PX", "60000")

    return write


def _cached_key(args: tuple[Any, ...]) -> str:
    """The plain side's memo key: a digest of the arguments' pickles."""
    digest = hashlib.sha256(repr([pickle.dumps(a, 4) for a in args]).encode())
    return f"{CACHE}:plain:{digest.hexdigest()}"


def _cached_setup(db: Any) -> None:
    _setup(db)
    db.set(_cached_key((42,)), pickle.dumps(VALUE, pickle.HIGHEST_PROTOCOL))


def _cached_hit(db: Any) -> Operation:
    @db.cache(CACHE).cached(timeout=3600)
    def profile(user: int) -> Any:
        return VALUE

    profile(42)  # the first call stores the value: then every call is a hit
    return lambda: profile(42)


def _plain_cached_hit(client: Any) -> Operation:
    """What a memoizing decorator does on a hit: key from the arguments, GET,
    unpickle."""
    command = plain_command(client)

    def hit(*args: Any) -> object:
        return pickle.loads(command("GET", _cached_key(args)))

    return lambda: hit(42)


def _lock_cycle(db: Any) -> Operation:
    lock = db.lock(LOCK, ttl=10_000)

    def cycle() -> None:
        lock.acquire()
        lock.release()

    return cycle


def _plain_lock_cycle(client: Any) -> Operation:
    """redis-py's Lock on a server; SET NX PX + DEL with stock hirlite."""
    if is_server_client(client):
        lock = redis.lock.Lock(client, f"plain:{LOCK}", timeout=10)

        def cycle() -> None:
            lock.acquire()
            lock.release()

        return cycle
    command = plain_command(client)

    def bare() -> None:
        command("SET", LOCK, "token", "NX", "PX", "10000")
        command("DEL", LOCK)

    return bare


def _counter_incr(db: Any) -> Operation:
    counter = db.counter(COUNTER)
    return lambda: counter.incr()


def _rate_limit(db: Any) -> Operation:
    limiter = db.rate_limit("bench:rl", limit=10, per=60)
    return lambda: limiter.limit("client")


def _workloads() -> list[Workload]:
    return [
        Workload("cache read", _setup, _cache_read, _plain_read),
        Workload("cache write", _setup, _cache_write, _plain_write),
        Workload("@cache.cached hit", _cached_setup, _cached_hit, _plain_cached_hit),
        Workload("lock acquire+release", _setup, _lock_cycle, _plain_lock_cycle),
        Workload(
            "counter incr",
            _setup,
            _counter_incr,
            lambda client: lambda: plain_command(client)("INCRBY", COUNTER, "1"),
        ),
        Workload("rate limit", _setup, _rate_limit),
    ]


WORKLOADS = _workloads()
