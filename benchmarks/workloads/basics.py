"""Workloads for the Database extras and the simplest commands.

``get`` and ``set`` measure what walrus adds to a one-command operation;
on the server it is the same redis-py method, so the ratio should be 1.00.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import (
    Operation,
    Workload,
    group_key,
    is_server_client,
    plain_command,
)

KEY = "bench:key"
KEYS = 10_000
CHUNK = 1_000


def _one_key(db: Any) -> None:
    db.set(KEY, "value")


def _many_keys(db: Any) -> None:
    for start in range(0, KEYS, CHUNK):
        db.mset(
            {group_key(db, "bench:k", f":{i}"): i for i in range(start, start + CHUNK)}
        )


def _plain_get(client: Any) -> Operation:
    command = plain_command(client)
    return lambda: command("GET", KEY)


def _plain_set(client: Any) -> Operation:
    command = plain_command(client)
    return lambda: command("SET", KEY, "value")


def _plain_cas(client: Any) -> Operation:
    """The cas script on a server; GET, compare and SET on rlite (no safe Lua)."""
    if is_server_client(client):
        from walrus.scripts import lua_source  # not at the top: walrus 0.9 runs this

        script = client.register_script(lua_source("cas"))
        return lambda: script(keys=[KEY], args=["value", "value"])

    def get_compare_set() -> object:
        if client.command("GET", KEY) == b"value":
            client.command("SET", KEY, "value")
        return True

    return get_compare_set


def _walrus_atomic(db: Any) -> Operation:
    def ten_sets() -> None:
        with db.atomic() as pipe:
            for i in range(10):
                pipe.set(group_key(db, "bench:a", f":{i}"), i)

    return ten_sets


def _plain_atomic(client: Any) -> Operation:
    """A MULTI/EXEC pipeline of 10 SETs (sent one by one on rlite)."""
    if is_server_client(client):

        def pipeline() -> object:
            pipe = client.pipeline(transaction=True)
            for i in range(10):
                pipe.set(group_key(client, "bench:a", f":{i}"), i)
            return pipe.execute()

        return pipeline

    def multi_exec() -> object:
        client.command("MULTI")
        for i in range(10):
            client.command("SET", f"bench:a:{i}", str(i))
        return client.command("EXEC")

    return multi_exec


def _plain_iterate(client: Any) -> Operation:
    """SCAN COUNT 1000 on a server; KEYS on rlite, which has no SCAN."""
    if is_server_client(client):
        return lambda: list(client.scan_iter(count=CHUNK))
    return lambda: client.command("KEYS", "*")


WORKLOADS = [
    Workload("get", _one_key, lambda db: lambda: db.get(KEY), _plain_get),
    Workload("set", _one_key, lambda db: lambda: db.set(KEY, "value"), _plain_set),
    Workload(
        "cas", _one_key, lambda db: lambda: db.cas(KEY, "value", "value"), _plain_cas
    ),
    Workload("atomic() with 10 SETs", lambda db: None, _walrus_atomic, _plain_atomic),
    Workload(
        f"list(db), {KEYS:,} keys",
        _many_keys,
        lambda db: lambda: list(db),
        _plain_iterate,
    ),
]
