"""Workloads for the containers: what a walrus container adds to raw commands.

Each walrus operation is timed against the minimal equivalent with a plain
client (``HGET`` for ``h[field]`` ...). Operations are steady-state: what one
adds, it removes or overwrites.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import walrus
from benchmarks.harness import Operation, Workload, is_server_client, plain_command
from walrus import Array, BloomFilter, Hash, List, ZSet

HASH, BIG_HASH, LIST, SET, ZSET, BLOOM, ARRAY = (
    f"bench:{name}"
    for name in ("hash", "bighash", "list", "set", "zset", "bloom", "array")
)
BIG = 10_000
CHUNK = 1_000


def _setup(db: Any) -> None:
    """The data, written with the API walrus 0.9 has too (it also runs on 0.9).

    Values are text: walrus 0.9 on rlite cannot store numbers.
    """
    Hash.from_dict(db, HASH, {"field": "value", "other": "1"})
    for start in range(0, BIG, CHUNK):
        Hash.from_dict(
            db, BIG_HASH, {f"field:{i}": str(i) for i in range(start, start + CHUNK)}
        )
    List.from_list(db, LIST, [str(i) for i in range(1000)])
    db.Set(SET).add(*[str(i) for i in range(1000)])
    ZSet.from_dict(db, ZSET, {f"m{i}": i for i in range(1000)})
    bloom = db.bloom_filter(BLOOM)
    for i in range(1000):
        bloom.add(f"item:{i}")
    Array.from_list(db, ARRAY, [str(i) for i in range(1000)])


def _op(make: Callable[[Any], Any], act: Callable[[Any], object]) -> Any:
    """A walrus operation: ``act`` on the container ``make(db)`` builds once."""

    def prepare(db: Any) -> Operation:
        container = make(db)
        return lambda: act(container)

    return prepare


def _command(*args: Any) -> Any:
    """A plain operation sending one command."""

    words = [str(a) for a in args]  # stock hirlite takes text only

    def prepare(client: Any) -> Operation:
        command = plain_command(client)
        return lambda: command(*words)

    return prepare


def _commands(*commands: tuple[Any, ...]) -> Any:
    """A plain operation sending several commands (a MULTI/EXEC block)."""

    def prepare(client: Any) -> Operation:
        if is_server_client(client):

            def pipelined() -> object:
                pipe = client.pipeline(transaction=True)
                for args in commands:
                    pipe.execute_command(*args)
                return pipe.execute()

            return pipelined

        def sent() -> object:
            client.command("MULTI")
            for args in commands:
                client.command(*[str(a) for a in args])
            return client.command("EXEC")

        return sent

    return prepare


def _plain_array_append(client: Any) -> Operation:
    """HLEN + HSET + HDEL: what the Array scripts do, without atomicity."""
    command = plain_command(client)

    def append_pop() -> object:
        n = int(command("HLEN", ARRAY))
        command("HSET", ARRAY, str(n), "x")
        return command("HDEL", ARRAY, str(n))

    return append_pop


def _list_append_pop(db: Any) -> Operation:
    lst = db.List(LIST)

    def append_pop() -> object:
        lst.append("x")
        return lst.popright()

    return append_pop


def _array_append_pop(db: Any) -> Operation:
    array = db.Array(ARRAY)

    def append_pop() -> object:
        array.append("x")
        return array.pop()

    return append_pop


def _bloom_plain(command: str) -> Any:
    """SETBIT or GETBIT on the probe item's positions, in one MULTI/EXEC."""

    def prepare(client: Any) -> Operation:
        offline = walrus.Database()  # no connection is made: only its encoder
        bits = BloomFilter(offline, BLOOM).positions("item:1")
        value = ("1",) if command == "SETBIT" else ()
        return _commands(*[(command, BLOOM, bit, *value) for bit in bits])(client)

    return prepare


def _sized(make: Callable[[Any, str, list[str]], object], key: str, size: int) -> Any:
    """Setup: the container at ``key`` with ``size`` members, 1,000 per call."""

    def setup(db: Any) -> None:
        for start in range(0, size, CHUNK):
            make(db, key, [f"m{i}" for i in range(start, min(size, start + CHUNK))])

    return setup


def _sized_workloads(size: int, label: str) -> list[Workload]:
    """One-member operations on containers of ``size`` members: is their cost
    flat in the container's size? (The 100k setups are left out of --quick.)"""
    hash_key, set_key, zset_key = (f"{k}:{size}" for k in (HASH, SET, ZSET))
    quick = size <= CHUNK
    return [
        Workload(
            f"hash get, {label} fields",
            _sized(
                lambda db, k, m: Hash.from_dict(db, k, dict.fromkeys(m, "v")),
                hash_key,
                size,
            ),
            _op(lambda db: db.Hash(hash_key), lambda h: h["m7"]),
            _command("HGET", hash_key, "m7"),
            quick,
        ),
        Workload(
            f"set contains, {label} members",
            _sized(lambda db, k, m: db.Set(k).add(*m), set_key, size),
            _op(lambda db: db.Set(set_key), lambda s: "m7" in s),
            _command("SISMEMBER", set_key, "m7"),
            quick,
        ),
        Workload(
            f"zset score, {label} members",
            _sized(
                lambda db, k, m: ZSet.from_dict(db, k, dict.fromkeys(m, 1)),
                zset_key,
                size,
            ),
            _op(lambda db: db.ZSet(zset_key), lambda z: z.score("m7")),
            _command("ZSCORE", zset_key, "m7"),
            quick,
        ),
    ]


def _workloads() -> list[Workload]:
    return [
        Workload(
            "hash get",
            _setup,
            _op(lambda db: db.Hash(HASH), lambda h: h["field"]),
            _command("HGET", HASH, "field"),
        ),
        Workload(
            "hash set",
            _setup,
            _op(lambda db: db.Hash(HASH), lambda h: h.__setitem__("field", "value")),
            _command("HSET", HASH, "field", "value"),
        ),
        Workload(
            "hash iterate 10k",
            _setup,
            _op(lambda db: db.Hash(BIG_HASH), lambda h: list(iter(h))),
            _command("HGETALL", BIG_HASH),
        ),
        Workload(
            "list append+pop",
            _setup,
            _list_append_pop,
            _commands(("RPUSH", LIST, "x"), ("RPOP", LIST)),
        ),
        Workload(
            "list index",
            _setup,
            _op(lambda db: db.List(LIST), lambda lst: lst[500]),
            _command("LINDEX", LIST, 500),
        ),
        Workload(
            "set add",
            _setup,
            _op(lambda db: db.Set(SET), lambda s: s.add("7")),
            _command("SADD", SET, "7"),
        ),
        Workload(
            "set contains",
            _setup,
            _op(lambda db: db.Set(SET), lambda s: "7" in s),
            _command("SISMEMBER", SET, "7"),
        ),
        Workload(
            "zset add",
            _setup,
            _op(lambda db: db.ZSet(ZSET), lambda z: z.__setitem__("m7", 7)),
            _command("ZADD", ZSET, 7, "m7"),
        ),
        Workload(
            "zset score",
            _setup,
            _op(lambda db: db.ZSet(ZSET), lambda z: z.score("m7")),
            _command("ZSCORE", ZSET, "m7"),
        ),
        Workload(
            "zset range 10",
            _setup,
            _op(lambda db: db.ZSet(ZSET), lambda z: z.range(0, 9, with_scores=True)),
            _command("ZRANGE", ZSET, 0, 9, "WITHSCORES"),
        ),
        Workload(
            "bloom add",
            _setup,
            _op(lambda db: db.bloom_filter(BLOOM), lambda bf: bf.add("item:1")),
            _bloom_plain("SETBIT"),
        ),
        Workload(
            "bloom contains",
            _setup,
            _op(lambda db: db.bloom_filter(BLOOM), lambda bf: "item:1" in bf),
            _bloom_plain("GETBIT"),
        ),
        Workload(
            "array append+pop",
            _setup,
            _array_append_pop,
            _plain_array_append,
        ),
        Workload(
            "array get",
            _setup,
            _op(lambda db: db.Array(ARRAY), lambda a: a[500]),
            _command("HGET", ARRAY, "500"),
        ),
    ]


WORKLOADS = (
    _workloads() + _sized_workloads(10, "10") + _sized_workloads(100_000, "100k")
)
