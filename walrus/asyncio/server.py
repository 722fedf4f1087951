"""The async Redis/Valkey server driver: ``walrus.asyncio.AsyncDatabase``.

``AsyncDatabase`` is ``redis.asyncio.Redis`` with walrus's extras and
factories, as ``walrus.Database`` is ``redis.Redis`` with them: it accepts
what ``redis.asyncio.Redis`` accepts (``host``, ``port``, ``db``,
``unix_socket_path``, ``decode_responses``, ``protocol``, ``from_url`` ...)
and adds ``script_dir``. Every command is awaited; ``pipeline()`` is
synchronous and a transaction by default, its command methods queue, and
``await pipe.execute()`` sends them in one round trip.

It behaves as the sync driver (:mod:`walrus.drivers.server.database`) and
shares its code:

* error replies are walrus's exceptions: redis.asyncio's parsers (hiredis,
  or its Python RESP2/RESP3 ones) with the sync driver's ``_WalrusErrors``
  mixed in;
* a write is never sent twice: a command, pipeline or transaction that is
  not resend-safe (:func:`walrus.drivers.server.resend.resend_safe`) and
  whose connection fails after it was sent raises
  :class:`~walrus.exceptions.OutcomeUnknown`, which the retry policy does
  not retry; reads and failures while connecting are retried as
  redis.asyncio retries them;
* named operations run as Lua with EVALSHA, re-loaded after NOSCRIPT.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import redis.asyncio
import redis.asyncio.client
from redis._parsers import _AsyncHiredisParser, _AsyncRESP2Parser, _AsyncRESP3Parser
from redis.asyncio.connection import DefaultParser
from redis.asyncio.retry import Retry
from redis.exceptions import NoScriptError, WatchError
from redis.utils import DEFAULT_RESP_VERSION, check_protocol_version

from walrus.asyncio.api import AsyncDatabaseAPI
from walrus.drivers.protocol import Capability
from walrus.drivers.server.database import SERVER_CAPABILITIES, _switch, _WalrusErrors
from walrus.drivers.server.resend import (
    _SAFE_BY_NAME,
    _TRANSPORT_ERRORS,
    DelegatingRetry,
    _label,
    guard_retries,
    name_of,
    refusing_unknown,
    resend_safe,
    unknown_not_watch,
    unknown_outcome,
)
from walrus.drivers.urls import EMBEDDED_SCHEMES
from walrus.exceptions import InvalidValue

# redis.asyncio's per-command metrics recorder (redis-py 8.2), which caches a
# miss: once it found no metrics collector, recording does nothing, and the
# database's execute_command skips it (see AsyncDatabase.execute_command).
_recorder: Any
try:
    from redis.asyncio.observability import recorder as _recorder

    _recorder._async_collector_resolved  # noqa: B018 (redis-py 8.2's cached miss)
    # and redis.asyncio's failure callback's debug log, kept below
    redis.asyncio.client.add_debug_log_for_operation_failure  # noqa: B018
    redis.asyncio.client.is_debug_log_enabled  # noqa: B018
except (ImportError, AttributeError):  # another redis-py: its own path always
    _recorder = None

__all__ = [
    "AsyncDatabase",
    "AsyncGuardedPipeline",
    "AsyncNoResendRetry",
    "evalsha",
    "guarded",
    "parse_errors_as_walrus",
]

T = TypeVar("T")


# -- error replies as walrus's exceptions -------------------------------------------
class AsyncHiredisParser(_WalrusErrors, _AsyncHiredisParser):
    """redis.asyncio's hiredis parser (RESP2 and RESP3), with walrus's errors."""


class AsyncRESP2Parser(_WalrusErrors, _AsyncRESP2Parser):
    """redis.asyncio's Python RESP2 parser, with walrus's errors (RESP3's on a
    connection that speaks RESP3)."""

    def on_connect(self, connection: Any) -> None:
        if check_protocol_version(connection.protocol, 3):
            _switch(connection, AsyncRESP3Parser)
        else:
            super().on_connect(connection)  # type: ignore[no-untyped-call]


class AsyncRESP3Parser(_WalrusErrors, _AsyncRESP3Parser):
    """redis.asyncio's Python RESP3 parser, with walrus's errors (RESP2's on a
    connection that speaks RESP2)."""

    def on_connect(self, connection: Any) -> None:
        if check_protocol_version(connection.protocol, 3):
            super().on_connect(connection)  # type: ignore[no-untyped-call]
        else:
            _switch(connection, AsyncRESP2Parser)


# a Python parser -> (the one for RESP2, the one for RESP3)
_BY_PROTOCOL: dict[type[Any], tuple[type[Any], type[Any]]] = {
    parser: (_AsyncRESP2Parser, _AsyncRESP3Parser)
    for parser in (_AsyncRESP2Parser, _AsyncRESP3Parser)
}
_OURS: dict[type[Any], type[Any]] = {
    _AsyncHiredisParser: AsyncHiredisParser,
    _AsyncRESP2Parser: AsyncRESP2Parser,
    _AsyncRESP3Parser: AsyncRESP3Parser,
}


def parse_errors_as_walrus(connection_kwargs: dict[str, Any]) -> None:
    """Make the connections built from ``connection_kwargs`` (a pool's, or a
    cluster node's) parse error replies as walrus's exceptions: the walrus
    twin of the parser redis.asyncio would use (hiredis when installed). A
    parser class of the user's own is kept. Connections made already keep
    theirs (a database sets this before it connects)."""
    chosen = connection_kwargs.get("parser_class", DefaultParser)
    speaks_3 = check_protocol_version(
        connection_kwargs.get("protocol") or DEFAULT_RESP_VERSION, 3
    )
    if chosen in _BY_PROTOCOL:  # as redis.asyncio's connections pick theirs
        chosen = _BY_PROTOCOL[chosen][speaks_3]
    connection_kwargs["parser_class"] = _OURS.get(chosen, chosen)


# -- writes are sent once ----------------------------------------------------------
async def guarded(
    connection: Any,
    what: str | Callable[[], str],
    request: Coroutine[Any, Any, T],
    *,
    connect: bool = False,
) -> T:
    """Await ``request``, a part of the request ``what`` on ``connection`` (its
    write, or a read of its replies), so that it is never resent: a transport
    failure closes the connection and raises
    :class:`~walrus.exceptions.OutcomeUnknown` naming ``what`` (or what
    ``what()`` says), which :class:`AsyncNoResendRetry` does not retry.

    With ``connect`` the connection is opened first, outside the guard, so a
    failure to connect (nothing sent) stays retryable (``request`` is closed
    unawaited). The async twin of :func:`walrus.drivers.server.resend.send_once`.
    """
    if connect and not connection.is_connected:
        try:
            await connection.connect()
        except BaseException:
            request.close()
            raise
    try:
        return await request
    except _TRANSPORT_ERRORS as exc:
        if type(exc) not in _TRANSPORT_ERRORS:
            raise
        await connection.disconnect(nowait=True)
        raise unknown_outcome(what, exc) from exc


class _AsyncResendGuard:
    """Mixed into a redis.asyncio client: commands not resend-safe are sent once.

    Its coroutine replaces redis.asyncio's (no frame more on the way)."""

    async def _send_command_parse_response(
        self, conn: Any, command_name: str, *args: Any, **options: Any
    ) -> Any:
        # guarded(), inline: this is every command's path
        safe = _SAFE_BY_NAME.get(args[0]) if args else None
        listed = safe is not None
        if not listed:
            safe = resend_safe(args)
        if not safe and not conn.is_connected:
            await conn.connect()
        try:
            if listed:  # a plain name, never HIMPORT SET: redis.asyncio's two steps
                await conn.send_command(*args)
                return await self.parse_response(conn, command_name, **options)  # type: ignore[attr-defined]
            send: Any = super()._send_command_parse_response  # type: ignore[misc]
            return await send(conn, command_name, *args, **options)
        except _TRANSPORT_ERRORS as exc:
            if safe or type(exc) not in _TRANSPORT_ERRORS:
                raise
            await conn.disconnect(nowait=True)
            raise unknown_outcome(lambda: name_of(args), exc) from exc


class AsyncGuardedPipeline(_AsyncResendGuard, redis.asyncio.client.Pipeline):  # type: ignore[misc]
    """redis.asyncio's pipeline, sent again after a failure only when every
    command in it is resend-safe."""

    async def _disconnect_reset_raise_on_watching(
        self, conn: Any, error: Exception, *rest: Any
    ) -> None:
        try:
            await super()._disconnect_reset_raise_on_watching(conn, error, *rest)
        except WatchError:
            unknown_not_watch(error)
            raise

    async def _execute_transaction(
        self, connection: Any, commands: Any, *rest: Any
    ) -> Any:
        run: Any = super()._execute_transaction
        return await _send_commands(
            connection, commands, True, run(connection, commands, *rest)
        )

    async def _execute_pipeline(
        self, connection: Any, commands: Any, *rest: Any
    ) -> Any:
        run: Any = super()._execute_pipeline
        return await _send_commands(
            connection, commands, False, run(connection, commands, *rest)
        )


async def _send_commands(
    connection: Any, commands: Any, transaction: bool, request: Coroutine[Any, Any, T]
) -> T:
    """A pipeline's ``request``: resent only if every command in it may be."""
    argv = [args for args, _ in commands]
    if all(resend_safe(args) for args in argv):
        return await request
    return await guarded(
        connection, lambda: _label(argv, transaction), request, connect=True
    )


class AsyncNoResendRetry(DelegatingRetry, Retry):
    """A redis.asyncio retry policy (``inner``) that never retries
    :class:`~walrus.exceptions.OutcomeUnknown`; everything else is ``inner``'s."""

    async def call_with_retry(
        self,
        do: Callable[[], Awaitable[T]],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        result: T = await self.inner.call_with_retry(
            do, fail, refusing_unknown(is_retryable), with_failure_count
        )
        return result

    def __copy__(self) -> AsyncNoResendRetry:
        # a copy whose supported errors can change without changing this one's
        return AsyncNoResendRetry(copy.copy(self.inner))


async def evalsha(
    client: Any, script: Any, keys: Sequence[Any], args: Sequence[Any]
) -> Any:
    """EVALSHA ``script`` (a redis-py script object) on ``client``, loading it
    after NOSCRIPT (a new or flushed server)."""
    try:
        return await client.execute_command(
            "EVALSHA", script.sha, len(keys), *keys, *args
        )
    except NoScriptError:
        script.sha = await client.script_load(script.script)
        return await client.execute_command(
            "EVALSHA", script.sha, len(keys), *keys, *args
        )


# -- the database ------------------------------------------------------------------
class AsyncDatabase(AsyncDatabaseAPI, _AsyncResendGuard, redis.asyncio.Redis):  # type: ignore[misc]
    """A redis.asyncio client for a Redis or Valkey server, with walrus's extras.

    ``await db.hget(k, f)``; ``db.Hash(k)`` and the other factories give the
    async features. Writes are sent once (see the module); close it with
    ``await db.aclose()`` or ``async with db:``.
    """

    def __init__(
        self,
        *,
        script_dir: str | os.PathLike[str] | bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        parse_errors_as_walrus(self.connection_pool.connection_kwargs)
        guard_retries(self, Retry, AsyncNoResendRetry)
        self._init_walrus(script_dir)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> AsyncDatabase:  # type: ignore[override]
        """A database for ``url``: a server (``redis://``, ``rediss://``,
        ``unix://``) or an embedded engine (``memory://``, ``rlite://``,
        ``vedis://``: :mod:`walrus.drivers.urls`), opened by
        :func:`walrus.asyncio.embedded.open_embedded`. A cluster is
        ``AsyncClusterDatabase.from_url(url)``: ``cluster=True`` here raises
        InvalidValue saying so."""
        if kwargs.pop("cluster", False):
            raise InvalidValue(
                "AsyncDatabase.from_url opens one server; for a cluster use "
                f"walrus.asyncio.AsyncClusterDatabase.from_url({url!r})"
            )
        if url.split(":", 1)[0].lower() in EMBEDDED_SCHEMES:
            from walrus.asyncio.embedded import open_embedded

            return open_embedded(url, **kwargs)  # type: ignore[return-value]
        script_dir = kwargs.pop("script_dir", None)
        build: Any = super().from_url
        database: AsyncDatabase = build(url, **kwargs)
        database._init_walrus(script_dir)
        return database

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        """redis.asyncio's ``execute_command``, without what does nothing on
        the way of every command while redis-py records no metrics (the
        ``initialize()`` coroutine of a client without a single connection,
        the recording coroutines): 0.6-1.0 µs less client CPU a command at
        50 tasks. With metrics on, or a single connection, it is
        redis.asyncio's own."""
        if (
            _recorder is None
            or not _recorder._async_collector_resolved
            or _recorder._async_metrics_collector is not None
            or self.single_connection_client
        ):
            return await super().execute_command(*args, **options)
        pool: Any = self.connection_pool
        conn = await pool.get_connection()
        name, started = args[0], time.monotonic()

        def failed(error: Exception, failures: int) -> Awaitable[None]:
            client: Any = redis.asyncio.client  # as its own callback does
            if client.is_debug_log_enabled():
                client.add_debug_log_for_operation_failure(conn, error, args)
            return self._close_connection(conn, error, failures, started, name)

        try:
            return await conn.retry.call_with_retry(
                lambda: self._send_command_parse_response(conn, name, *args, **options),
                failed,
                with_failure_count=True,
            )
        finally:
            await pool.release(conn)

    def pipeline(  # type: ignore[override]
        self, transaction: bool = True, shard_hint: str | None = None
    ) -> AsyncGuardedPipeline:
        """A redis.asyncio pipeline that never sends a write twice: its
        command methods queue, ``await pipe.execute()`` sends them."""
        return AsyncGuardedPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Everything: a server provides every capability walrus knows."""
        return SERVER_CAPABILITIES

    @property
    def backend_name(self) -> str:
        return "redis"

    async def run_named_operation(
        self, name: str, keys: Sequence[Any], args: Sequence[Any], client: Any = None
    ) -> Any:
        """EVALSHA the operation's Lua (loaded after NOSCRIPT). One round trip.
        With ``client`` (a pipeline of this database), queued on it: the
        pipeline is returned, and loads the script when it executes."""
        script = self.lua_script(name)
        if client is not None:
            return await script(keys=keys, args=args, client=client)
        return await evalsha(self, script, keys, args)

    async def monitor_lines(self) -> AsyncIterator[bytes | str]:  # type: ignore[override]
        """Every command the server runs from now on (MONITOR), one line each."""
        async with self.monitor() as monitor:
            while True:
                yield await monitor.connection.read_response()
