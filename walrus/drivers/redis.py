"""The Redis/Valkey server driver: ``walrus.Database``, a redis-py client.

``Database`` is ``redis.Redis`` plus walrus's extras and factories, so it
accepts everything redis-py accepts (``host``, ``port``, ``db``,
``unix_socket_path``, ``decode_responses``, ``protocol``, ``from_url`` ...)
and adds ``script_dir``. Named operations run as Lua with EVALSHA, loaded on
first use and re-loaded after NOSCRIPT.

A write is never sent twice: redis-py's retry policy still applies to reads
and to failures while connecting, but a write whose connection fails after
it was sent raises :class:`~walrus.exceptions.OutcomeUnknown` (see
:mod:`walrus.drivers.resend`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import redis

from walrus.database import DatabaseAPI
from walrus.drivers.protocol import Capability
from walrus.drivers.resend import GuardedPipeline, ResendGuard, guard_retries
from walrus.drivers.urls import EMBEDDED_SCHEMES, open_url

__all__ = ["Database", "Walrus"]

_SERVER_CAPABILITIES = frozenset(
    {
        Capability.LUA,
        Capability.TRANSACTIONS,
        Capability.WATCH,
        Capability.PUBSUB,
        Capability.PUBSUB_CROSS_PROCESS,
        Capability.BLOCKING,
        Capability.BLOCKING_CROSS_PROCESS,
        Capability.EXPIRY,
        Capability.MONITOR,
        Capability.STREAMS,
        Capability.PERSISTENT,
        Capability.SHARED_ACROSS_PROCESSES,
    }
)


class Database(DatabaseAPI, ResendGuard, redis.Redis):
    """A redis-py client for a Redis or Valkey server, with walrus's extras.

    Writes are sent once: see :mod:`walrus.drivers.resend`.
    """

    def __init__(
        self,
        *args: Any,
        script_dir: str | os.PathLike[str] | bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        guard_retries(self)
        self._init_walrus(script_dir)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        """A database for ``url``: a server (``redis://``, ``rediss://``,
        ``unix://``) or an embedded engine (``memory://``, ``rlite://``,
        ``vedis://``: see :mod:`walrus.drivers.urls`)."""
        if url.split(":", 1)[0].lower() in EMBEDDED_SCHEMES:
            embedded: Database = open_url(url, **kwargs)
            return embedded
        script_dir = kwargs.pop("script_dir", None)
        build: Any = super().from_url
        database: Database = build(url, **kwargs)
        database._init_walrus(script_dir)
        return database

    def pipeline(
        self, transaction: bool = True, shard_hint: str | None = None
    ) -> GuardedPipeline:
        """A redis-py pipeline that never sends a write twice (see the class)."""
        return GuardedPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Everything: a server provides every capability walrus knows."""
        return _SERVER_CAPABILITIES

    @property
    def backend_name(self) -> str:
        return "redis"

    def run_named_operation(
        self, name: str, keys: Sequence[Any], args: Sequence[Any], client: Any = None
    ) -> Any:
        """EVALSHA the operation's Lua (loaded after NOSCRIPT). One round trip."""
        return self.lua_script(name)(keys=keys, args=args, client=client)

    def monitor_lines(self) -> Iterator[bytes | str]:
        """Every command the server runs from now on (MONITOR), one line each."""
        start: Any = self.monitor
        with start() as monitor:
            while True:
                yield monitor.connection.read_response()


Walrus = Database
