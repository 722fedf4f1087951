"""Workloads for the containers: what a walrus container adds to raw commands.

Each walrus operation is timed against the minimal equivalent with a plain
client (``HGET`` for ``h[field]`` ...). Operations are steady-state: what one
adds, it removes or overwrites.
"""

from __future__ import annotations

import itertools
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


def _each(*commands: tuple[Any, ...]) -> Any:
    """A plain operation sending several commands, one round trip each (what
    several walrus calls in a row send)."""

    def prepare(client: Any) -> Operation:
        command = plain_command(client)
        sent = [[str(a) for a in args] for args in commands]

        def each() -> object:
            return [command(*args) for args in sent]

        return each

    return prepare


def _zrange_with_scores(client: Any) -> Operation:
    """(member, float) pairs, as walrus returns: redis-py's
    ``zrange(withscores=True)`` on a server; elsewhere the bare command's
    flat reply paired up and its scores converted, as redis-py's callback
    does."""
    if is_server_client(client):
        return lambda: client.zrange(ZSET, 0, 9, withscores=True)
    command = plain_command(client)

    def pairs() -> object:
        reply = command("ZRANGE", ZSET, "0", "9", "WITHSCORES")  # text only
        return list(zip(reply[::2], map(float, reply[1::2]), strict=True))

    return pairs


def _hash_iterate(client: Any) -> Operation:
    """redis-py's ``hscan_iter`` on a server (walrus iterates with HSCAN, 10,000
    fields per round trip, as a plain client iterates); HGETALL elsewhere."""
    if is_server_client(client):
        return lambda: list(client.hscan_iter(BIG_HASH, count=10_000))
    return _command("HGETALL", BIG_HASH)(client)


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
    """The probe item's bit positions, hashed on each call as any Bloom filter
    must, then read or set: one BITFIELD on a server (what walrus sends),
    SETBIT or GETBIT on each position in one MULTI/EXEC elsewhere."""

    def prepare(client: Any) -> Operation:
        offline = walrus.Database()  # no connection is made: only its encoder
        positions = BloomFilter(offline, BLOOM).positions
        if is_server_client(client):
            word = ("SET", "u1") if command == "SETBIT" else ("GET", "u1")
            value = (1,) if command == "SETBIT" else ()

            def bitfield() -> object:
                args = [a for bit in positions("item:1") for a in (*word, bit, *value)]
                return client.execute_command("BITFIELD", BLOOM, *args)

            return bitfield
        value = ("1",) if command == "SETBIT" else ()

        def sent() -> object:
            client.command("MULTI")
            for bit in positions("item:1"):
                client.command(command, BLOOM, str(bit), *value)
            return client.command("EXEC")

        return sent

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


# "hash set" writes the value the field holds, which an engine that keeps its
# data in Python (Vedis) need not write again; these write a new one each time.
VALUES = ("value", "other")


def _set_changing(db: Any) -> Operation:
    h, values = db.Hash(HASH), itertools.cycle(VALUES)
    return lambda: h.__setitem__("field", next(values))


def _plain_set_changing(client: Any) -> Operation:
    command, values = plain_command(client), itertools.cycle(VALUES)
    return lambda: command("HSET", HASH, "field", next(values))


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
            "hash set, changing value",
            _setup,
            _set_changing,
            _plain_set_changing,
        ),
        Workload(
            "hash iterate 10k",
            _setup,
            _op(lambda db: db.Hash(BIG_HASH), lambda h: list(iter(h))),
            _hash_iterate,
        ),
        Workload(
            "list append+pop",
            _setup,
            _list_append_pop,
            _each(("RPUSH", LIST, "x"), ("RPOP", LIST)),  # two calls: two trips
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
            _zrange_with_scores,
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


UPDATE = {f"f{i}": str(i) for i in range(100)}
HLL, SET_A, SET_B, UPDATED = (f"bench:{n}" for n in ("hll", "set-a", "set-b", "upd"))


def _more_setup(db: Any) -> None:
    db.Set(SET_A).add(*[str(i) for i in range(100)])
    db.Set(SET_B).add(*[str(i) for i in range(50, 150)])
    db.HyperLogLog(HLL).add("x")


def _plain_update(client: Any) -> Operation:
    """redis-py's ``hset(mapping=...)`` on a server; HMSET elsewhere."""
    if is_server_client(client):
        return lambda: client.hset(UPDATED, mapping=UPDATE)
    return _command("HMSET", UPDATED, *[a for p in UPDATE.items() for a in p])(client)


UPDATES = (UPDATE, {field: value + "+" for field, value in UPDATE.items()})


def _update_changing(db: Any) -> Operation:
    h, updates = db.Hash(UPDATED), itertools.cycle(UPDATES)
    return lambda: h.update(next(updates))


def _plain_update_changing(client: Any) -> Operation:
    if is_server_client(client):
        updates = itertools.cycle(UPDATES)
        return lambda: client.hset(UPDATED, mapping=next(updates))
    command = plain_command(client)
    flat = itertools.cycle([[a for p in u.items() for a in p] for u in UPDATES])
    return lambda: command("HMSET", UPDATED, *next(flat))


def _hll_add_len(db: Any) -> Operation:
    hll = db.HyperLogLog(HLL)

    def add_len() -> object:
        hll.add("x")
        return len(hll)

    return add_len


def _union(db: Any) -> Operation:
    a, b = db.Set(SET_A), db.Set(SET_B)
    return lambda: a | b


def _plain_union(client: Any) -> Operation:
    """redis-py's ``sunion`` on a server (a Python set, as walrus returns)."""
    if is_server_client(client):
        return lambda: client.sunion(SET_A, SET_B)
    return _command("SUNION", SET_A, SET_B)(client)


def _more_workloads() -> list[Workload]:
    return [
        Workload(
            "hash update 100 fields",
            _more_setup,
            _op(lambda db: db.Hash(UPDATED), lambda h: h.update(UPDATE)),
            _plain_update,
        ),
        Workload(
            "hash update 100 fields, changing values",
            _more_setup,
            _update_changing,
            _plain_update_changing,
        ),
        Workload(
            "hll add+len",
            _more_setup,
            _hll_add_len,
            _each(("PFADD", HLL, "x"), ("PFCOUNT", HLL)),  # two calls: two trips
        ),
        Workload(
            "set union 2x100",
            _more_setup,
            _union,
            _plain_union,
        ),
    ]


WORKLOADS = (
    _workloads()
    + _more_workloads()
    + _sized_workloads(10, "10")
    + _sized_workloads(100_000, "100k")
)
