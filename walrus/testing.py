"""Helpers for testing code that uses walrus.

:func:`count_round_trips` counts what redis-py sends to servers inside a
block: *round trips* (one write of a request and one wait for its replies: a
single command, a whole pipeline, a script call) and *commands*. walrus's
own tests assert its round-trip budgets with it; yours can too::

    with count_round_trips() as sent:
        cache.get('k')
    assert sent.round_trips == 1

Connections of ``redis.asyncio`` (``walrus.asyncio``'s server and cluster
databases) are counted too. Embedded backends send nothing over a
connection, so they count zero.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio.connection import AbstractConnection as AsyncConnection
from redis.connection import AbstractConnection

__all__ = ["RoundTrips", "count_round_trips"]

_patch_lock = threading.Lock()


@dataclass
class RoundTrips:
    """What was sent: ``round_trips`` (request batches) and ``commands``."""

    round_trips: int = 0
    commands: int = 0


@contextlib.contextmanager
def count_round_trips() -> Iterator[RoundTrips]:
    """Count the round trips and commands redis-py sends inside the block."""
    sent = RoundTrips()
    originals: dict[str, Any] = {
        name: getattr(AbstractConnection, name)
        for name in ("send_packed_command", "send_command", "pack_commands")
    }

    def send_packed_command(conn: Any, command: Any, check_health: bool = True) -> Any:
        sent.round_trips += 1
        return originals["send_packed_command"](conn, command, check_health)

    def send_command(conn: Any, *args: Any, **kwargs: Any) -> Any:
        sent.commands += 1
        return originals["send_command"](conn, *args, **kwargs)

    def pack_commands(conn: Any, commands: Sequence[Any]) -> Any:
        commands = list(commands)
        sent.commands += len(commands)
        return originals["pack_commands"](conn, commands)

    # redis.asyncio's connections pack every command with pack_command
    # (pack_commands calls it), then send each request with send_packed_command.
    async_originals: dict[str, Any] = {
        name: getattr(AsyncConnection, name)
        for name in ("send_packed_command", "pack_command")
    }

    async def send_packed_async(
        conn: Any, command: Any, check_health: bool = True
    ) -> Any:
        sent.round_trips += 1
        return await async_originals["send_packed_command"](conn, command, check_health)

    def pack_command_async(conn: Any, *args: Any) -> Any:
        sent.commands += 1
        return async_originals["pack_command"](conn, *args)

    patches = {
        "send_packed_command": send_packed_command,
        "send_command": send_command,
        "pack_commands": pack_commands,
    }
    async_patches = {
        "send_packed_command": send_packed_async,
        "pack_command": pack_command_async,
    }
    with _patch_lock:
        for name, function in patches.items():
            setattr(AbstractConnection, name, function)
        for name, function in async_patches.items():
            setattr(AsyncConnection, name, function)
    try:
        yield sent
    finally:
        with _patch_lock:
            for name, function in originals.items():
                setattr(AbstractConnection, name, function)
            for name, function in async_originals.items():
                setattr(AsyncConnection, name, function)
