"""The embedded engines the fuzzers run, by name, and the raw server client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
from support import memory_opener, rlite_opener, vedis_opener

__all__ = ["ENGINES", "FILE_ENGINES", "open_engine", "raw_server_client"]

ENGINES = ["memory", "vedis-memory", "vedis-file", "rlite-memory", "rlite-file"]
FILE_ENGINES = {"vedis-file", "rlite-file"}


def open_engine(
    name: str, directory: Path, raw: bool = True, decode: bool = False
) -> Any:
    """Open engine ``name`` (a file one in ``directory``); ``raw``: no reply
    callbacks, so replies are the engine's RESP2 values."""
    if name == "memory":
        db = memory_opener()(decode_responses=decode)
    elif name.startswith("vedis"):
        path = str(directory / "fuzz.vdb") if name in FILE_ENGINES else None
        db = vedis_opener(path)(decode_responses=decode)
    else:
        path = str(directory / "fuzz.rld") if name in FILE_ENGINES else None
        db = rlite_opener(path)(decode_responses=decode)
    if raw:
        db.response_callbacks = {}
    return db


def raw_server_client(redis_db: Any) -> redis.Redis:
    """A RESP2 client of the test server with no reply callbacks (as the
    embedded engines speak RESP2 and the fuzzer compares raw replies)."""
    pool = redis_db.connection_pool
    kwargs = {
        k: v
        for k, v in {**pool.connection_kwargs, "protocol": 2}.items()
        if not k.startswith("maint_notifications")
    }
    client = redis.Redis(
        connection_pool=redis.ConnectionPool(
            connection_class=pool.connection_class, **kwargs
        )
    )
    client.response_callbacks = {}
    return client
