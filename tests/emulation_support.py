"""Helpers of the emulation engine's differential tests (``test_emulation*.py``).

The emulation backends (memory, Vedis in memory, Vedis in a file) run raw
commands next to a real server (the session's Valkey, through a RESP2
client without reply callbacks), and the replies are compared exactly,
after the normalizations listed in :func:`run` (orders Redis leaves to its
encodings).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.exceptions import ResponseError
from support import memory_opener, vedis_opener

from walrus.drivers.emulation.engine import CONFIG

ENGINES = ["memory", "vedis-memory", "vedis-file"]

# Replies whose order is Redis's encoding's, compared sorted.
UNORDERED = {"SMEMBERS", "SINTER", "SUNION", "SDIFF", "HKEYS", "HVALS", "SPOP", "KEYS"}


def open_engine(name: str, tmp: Path, decode: bool = False) -> Any:
    if name == "memory":
        return memory_opener()(decode_responses=decode)
    path = None if name == "vedis-memory" else str(tmp / "emulation.vdb")
    return vedis_opener(path)(decode_responses=decode)


def raw(db: Any) -> Any:
    """``db`` answering raw RESP2 replies (no redis-py reply callbacks)."""
    db.response_callbacks = {}
    return db


def run(db: Any, command: list[str]) -> Any:
    """One command's reply (an error as ``("error", message)``), normalized.

    ``DUMPRESTORE src dst`` dumps ``src`` and restores the payload at ``dst``
    (REPLACE): payloads differ between engines, what they restore must not.
    """
    try:
        if command[0] == "DUMPRESTORE":
            payload = db.execute_command("DUMP", command[1])
            if payload is None:
                return None
            return db.execute_command("RESTORE", command[2], 0, payload, "REPLACE")
        reply = db.execute_command(*command)
    except ResponseError as exc:
        return ("error", str(exc))
    if command[0] in UNORDERED and isinstance(reply, (list, set)):
        return sorted(reply)
    if command[0] == "HGETALL":
        return sorted(zip(reply[::2], reply[1::2], strict=True))
    if command[0] == "SCAN":
        return [reply[0], sorted(reply[1])]
    if "nosort" in command and isinstance(reply, list):
        return sorted(reply)  # a set's order is Redis's own
    return reply


def assert_replays_as(oracle: Any, db: Any, case: str, lines: list[str]) -> None:
    """Each command line of ``case`` answers on ``db`` as on an emptied
    ``oracle`` (compared through :func:`run`), step by step."""
    oracle.flushall()
    for number, line in enumerate(lines):
        command = shlex.split(line)
        assert run(db, command) == run(oracle, command), f"{case} {number} {line}"


@pytest.fixture
def oracle(redis_db: Any) -> Iterator[redis.Redis]:
    """A RESP2 client of the test server, as the embedded databases speak RESP2
    (its own connection pool: SELECT stays on its connection)."""
    pool = redis_db.connection_pool
    kwargs = {**pool.connection_kwargs, "protocol": 2}
    kwargs = {
        k: v for k, v in kwargs.items() if not k.startswith("maint_notifications")
    }
    client = redis.Redis(
        connection_pool=redis.ConnectionPool(
            connection_class=pool.connection_class, **kwargs
        )
    )
    client.response_callbacks = {}  # compare raw RESP2 replies
    client.flushall()
    try:
        yield client
    finally:
        client.flushall()
        for name, value in CONFIG.items():  # what a test may have changed
            client.execute_command("CONFIG", "SET", name, value)
        client.close()
