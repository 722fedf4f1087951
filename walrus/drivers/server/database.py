"""The Redis/Valkey server driver: ``walrus.Database``, a redis-py client.

``Database`` is ``redis.Redis`` plus walrus's extras and factories, so it
accepts everything redis-py accepts (``host``, ``port``, ``db``,
``unix_socket_path``, ``decode_responses``, ``protocol``, ``from_url`` ...)
and adds ``script_dir``. Named operations run as Lua with EVALSHA, loaded on
first use and re-loaded after NOSCRIPT.

A write is never sent twice: redis-py's retry policy still applies to reads
and to failures while connecting, but a write whose connection fails after
it was sent raises :class:`~walrus.exceptions.OutcomeUnknown` (see
:mod:`walrus.drivers.server.resend`).

Error replies are walrus's exceptions, as on the embedded engines: the
connections parse them with :func:`walrus.exceptions.command_error` (whose
classes are also redis-py's: ``except redis.ResponseError`` still works),
whichever parser redis-py would use (hiredis, or its Python RESP2/RESP3 one).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

import redis
import redis.client
from redis._parsers import _HiredisParser, _RESP2Parser, _RESP3Parser
from redis.exceptions import NoScriptError, RedisError
from redis.utils import HIREDIS_AVAILABLE, check_protocol_version

from walrus.api import DatabaseAPI
from walrus.drivers.protocol import Capability
from walrus.drivers.server.resend import GuardedPipeline, ResendGuard, guard_retries
from walrus.drivers.urls import EMBEDDED_SCHEMES
from walrus.exceptions import REPLY_ERRORS, InvalidValue, command_error

__all__ = ["Database", "Walrus", "evalsha", "parse_errors_as_walrus"]

# redis-py's per-command metrics recorder (redis-py 8.2), which caches a miss:
# once it found no metrics collector, recording does nothing, and the
# database's execute_command skips it (see Database.execute_command).
_recorder: Any
try:
    from redis.observability import recorder as _recorder

    _recorder._collector_resolved  # noqa: B018 (redis-py 8.2's cached miss)
    # and redis-py's failure callback's debug log, kept below
    redis.client.add_debug_log_for_operation_failure  # noqa: B018
    redis.client.is_debug_log_enabled  # noqa: B018
except (ImportError, AttributeError):  # another redis-py: its own path always
    _recorder = None

SERVER_CAPABILITIES = frozenset(
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


class _WalrusErrors:
    """Mixed into redis-py's parsers: error replies become walrus exceptions."""

    EXCEPTION_CLASSES: Any = REPLY_ERRORS

    @classmethod
    def parse_error(cls, response: str) -> RedisError:
        return command_error(response)


class HiredisParser(_WalrusErrors, _HiredisParser):
    """redis-py's hiredis parser (RESP2 and RESP3), with walrus's errors."""


class RESP2Parser(_WalrusErrors, _RESP2Parser):
    """redis-py's Python RESP2 parser, with walrus's errors (RESP3's on a
    connection that speaks RESP3, as redis-py switches its own)."""

    def on_connect(self, connection: Any) -> None:
        if check_protocol_version(connection.protocol, 3):
            _switch(connection, RESP3Parser)
        else:
            super().on_connect(connection)  # type: ignore[no-untyped-call]


class RESP3Parser(_WalrusErrors, _RESP3Parser):
    """redis-py's Python RESP3 parser, with walrus's errors (RESP2's on a
    connection that speaks RESP2: connection arguments copied with another
    ``protocol`` keep working)."""

    def on_connect(self, connection: Any) -> None:
        if check_protocol_version(connection.protocol, 3):
            super().on_connect(connection)  # type: ignore[no-untyped-call]
        else:
            _switch(connection, RESP2Parser)


def _switch(connection: Any, parser_class: type[Any]) -> None:
    connection.set_parser(parser_class)
    connection._parser.on_connect(connection)


_OURS: dict[type[Any], type[Any]] = {
    _HiredisParser: HiredisParser,
    _RESP2Parser: RESP2Parser,
    _RESP3Parser: RESP3Parser,
}


def parse_errors_as_walrus(client: redis.Redis) -> None:
    """Make ``client``'s connections parse error replies as walrus's exceptions.

    The pool gets the walrus twin of the parser redis-py would pick (or was
    given): hiredis when installed, else the Python parser of the protocol. A
    parser class of the user's own is kept. A connection made already (a
    ``single_connection_client``) is switched and reconnects on next use.
    """
    kwargs = client.connection_pool.connection_kwargs
    default = _HiredisParser if HIREDIS_AVAILABLE else _RESP2Parser
    chosen = kwargs.get("parser_class", default)
    if chosen is _RESP2Parser and check_protocol_version(kwargs.get("protocol"), 3):
        chosen = _RESP3Parser  # as redis-py's connection does (RESP3 by default)
    ours = _OURS.get(chosen, chosen)
    kwargs["parser_class"] = ours
    connection: Any = getattr(client, "connection", None)
    if connection is not None and not isinstance(connection._parser, ours):
        connection.disconnect()
        connection.set_parser(ours)


def evalsha(client: Any, script: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
    """EVALSHA redis-py's ``script`` on ``client``, loading it after NOSCRIPT
    (a new or flushed server). Sent directly: redis-py's ``Script.__call__``
    checks for pipelines and imports on every call."""
    try:
        return client.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
    except NoScriptError:
        script.sha = client.script_load(script.script)
        return client.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)


class Database(DatabaseAPI, ResendGuard, redis.Redis):
    """A redis-py client for a Redis or Valkey server, with walrus's extras.

    Writes are sent once: see :mod:`walrus.drivers.server.resend`.
    """

    def __init__(
        self,
        *args: Any,
        script_dir: str | os.PathLike[str] | bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        parse_errors_as_walrus(self)
        guard_retries(self)
        self._init_walrus(script_dir)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        """A database for ``url``: a server (``redis://``, ``rediss://``,
        ``unix://``) or an embedded engine (``memory://``, ``rlite://``,
        ``vedis://``: see :mod:`walrus.drivers.urls`). A cluster is
        ``walrus.ClusterDatabase.from_url(url)``: ``cluster=True`` here
        raises InvalidValue saying so."""
        if kwargs.pop("cluster", False):
            raise InvalidValue(
                "Database.from_url opens one server; for a cluster use "
                f"walrus.ClusterDatabase.from_url({url!r})"
            )
        scheme = url.split(":", 1)[0].lower()
        if scheme in EMBEDDED_SCHEMES:
            embedded: Database = _embedded_driver(scheme).from_url(url, **kwargs)
            return embedded
        script_dir = kwargs.pop("script_dir", None)
        build: Any = super().from_url
        database: Database = build(url, **kwargs)
        database._init_walrus(script_dir)
        return database

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """redis-py's ``execute_command``, without the metrics calls that do
        nothing on the way of every command while redis-py records no
        metrics: about 1 µs less client CPU a command. With metrics on, or a
        single connection, it is redis-py's own."""
        if (
            _recorder is None
            or not _recorder._collector_resolved
            or _recorder._metrics_collector is not None
            or self._single_connection_client
        ):
            return super().execute_command(*args, **options)
        pool: Any = self.connection_pool
        conn = pool.get_connection()
        name, started = args[0], time.monotonic()

        def failed(error: Exception, failures: int) -> None:
            client: Any = redis.client  # as its own callback does
            if client.is_debug_log_enabled():
                client.add_debug_log_for_operation_failure(conn, error, args)
            self._close_connection(conn, error, failures, started, name)

        try:
            return conn.retry.call_with_retry(
                lambda: self._send_command_parse_response(conn, name, *args, **options),
                failed,
                with_failure_count=True,
            )
        finally:
            try:
                if conn.should_reconnect():
                    self._close_connection(conn)
                    conn.connect()
            finally:
                pool.release(conn)

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
        return SERVER_CAPABILITIES

    @property
    def backend_name(self) -> str:
        return "redis"

    def run_named_operation(
        self, name: str, keys: Sequence[Any], args: Sequence[Any], client: Any = None
    ) -> Any:
        """EVALSHA the operation's Lua (loaded after NOSCRIPT). One round trip."""
        script = self.lua_script(name)
        if client is not None:
            return script(keys=keys, args=args, client=client)
        return evalsha(self, script, keys, args)

    def monitor_lines(self) -> Iterator[bytes | str]:
        """Every command the server runs from now on (MONITOR), one line each."""
        start: Any = self.monitor
        with start() as monitor:
            while True:
                yield monitor.connection.read_response()


Walrus = Database


def _embedded_driver(scheme: str) -> Any:
    """The database class of an embedded engine URL scheme (imported on use:
    an engine's Python package may be missing)."""
    if scheme == "memory":
        from walrus.drivers.memory import MemoryDatabase

        return MemoryDatabase
    if scheme == "rlite":
        from walrus.drivers.rlite.database import RliteDatabase

        return RliteDatabase
    from walrus.drivers.vedis.database import VedisDatabase

    return VedisDatabase
