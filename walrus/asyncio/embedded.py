"""The async embedded databases: memory, rlite and Vedis under asyncio.

Each class is a ``redis.asyncio.Redis`` (its command methods, ``lock()``,
``transaction()``, ``register_script()``, ``scan_iter()``... all awaitable)
over one client of the sync embedded database of the same engine
(:class:`~walrus.drivers.embedded.database.EmbeddedDatabase`): the same
engine, reply shapes in both decode modes, errors and containment, because
the commands run there. A command is one in-process engine call, short, so
``await db.get(k)`` runs it inline (no thread). A blocking command (BLPOP,
BZPOPMIN, XREAD BLOCK, ...) never waits inside the engine: it waits on the
loop (:mod:`.embedded_blocking`). Pipelines (:mod:`.embedded_pipeline`) queue
and run in one call under the engine lock; ``pubsub()``
(:mod:`.embedded_pubsub`) waits for messages on the loop. No network: a
command costs no round trip.

``AsyncMemoryDatabase(...)``, ``AsyncRliteDatabase(path, ...)`` and
``AsyncVedisDatabase(path, ...)`` take the arguments of their sync twins;
:func:`open_embedded` opens ``memory://``, ``rlite://`` and ``vedis://`` URLs
(:mod:`walrus.drivers.urls`). ledisdb is a server, not an embedded engine.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import redis.asyncio

from walrus.asyncio.api import AsyncDatabaseAPI
from walrus.asyncio.embedded_blocking import (
    blocking_command,
    call_soon,
    wait_for_reply,
    wake_waiters,
)
from walrus.asyncio.embedded_pipeline import AsyncEmbeddedPipeline
from walrus.asyncio.embedded_pubsub import AsyncEmbeddedPubSub
from walrus.drivers.embedded.blocking import Blocking
from walrus.drivers.embedded.database import EmbeddedDatabase
from walrus.drivers.memory import MemoryDatabase
from walrus.drivers.protocol import Capability
from walrus.drivers.rlite.database import RliteDatabase
from walrus.drivers.vedis.database import VedisDatabase
from walrus.exceptions import CommandNameError, InvalidValue, UnsupportedOperation
from walrus.install import require_engine

__all__ = [
    "AsyncEmbeddedDatabase",
    "AsyncMemoryDatabase",
    "AsyncRliteDatabase",
    "AsyncVedisDatabase",
    "open_embedded",
]


class AsyncEmbeddedDatabase(AsyncDatabaseAPI, redis.asyncio.Redis):  # type: ignore[misc]
    """An async client of an in-process engine (see the module doc).

    Each object is one client of its engine (its own selected database,
    name and MULTI state), as a sync client is; the engine's other clients,
    sync or async, see its writes as connections to one server do.
    """

    sync_class: type[EmbeddedDatabase] = EmbeddedDatabase
    engine_package: str | None = None  # checked before opening (walrus.install)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.engine_package is not None:
            require_engine(self.engine_package)
        self._attach(self.sync_class(*args, **kwargs))

    @classmethod
    def _over(cls, sync: EmbeddedDatabase) -> Any:
        """The async face of the sync client ``sync`` (which it owns)."""
        db = object.__new__(cls)
        db._attach(sync)
        return db

    def _attach(self, sync: EmbeddedDatabase) -> None:
        init: Any = redis.asyncio.Redis.__init__
        init(self, connection_pool=sync.connection_pool)
        self.response_callbacks = sync.response_callbacks
        self._sync = sync
        self._core = sync._core
        self._execute = sync.execute_command
        self._blocked = sync._core._blocked  # the clients waiting, by id
        self._blocking: dict[Any, Blocking | None] = {}  # by command spelling
        self._init_walrus(sync._script_dir)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Any:  # type: ignore[override]
        """A client of the engine a URL of this driver names (see
        :mod:`walrus.drivers.urls`); :func:`open_embedded` takes every scheme."""
        if cls.engine_package is not None:
            require_engine(cls.engine_package)
        return cls._over(cls.sync_class.from_url(url, **kwargs))

    def client(self, **overrides: Any) -> Any:
        """Another client of the same engine (its own selected database and
        name), with this one's settings unless ``overrides`` say otherwise."""
        return self._over(self._sync.client(**overrides))

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._sync.capabilities

    @property
    def backend_name(self) -> str:
        return self._sync.backend_name

    # -- commands ---------------------------------------------------------------
    async def execute_command(self, *args: Any, **options: Any) -> Any:
        """Run a command on the engine, inline; a blocking one waits on the
        loop. The reply as the sync driver gives it."""
        try:
            blocking = self._blocking[args[0]]
        except (KeyError, TypeError):
            blocking = blocking_command(self._sync, args[0], self._blocking)
        except IndexError:  # no command: the sync driver says what is wrong
            blocking = None
        if blocking is not None:
            return await wait_for_reply(self._sync, blocking, args, options)
        try:
            return self._execute(*args, **options)
        finally:
            if self._blocked:  # someone waits in a blocking command
                wake_waiters(self._core)

    def _wake_waiters(self) -> None:
        """Wake the coroutines waiting in a blocking command on this engine
        (after an operation that may have written), if any."""
        if self._blocked:
            wake_waiters(self._core)

    def get(self, name: Any) -> Any:
        """redis-py's ``get``, without the key list it keeps for routing."""
        return self.execute_command("GET", name)

    def set(self, name: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        """redis-py's ``set``; a plain ``set(name, value)`` skips its option
        checks."""
        if args or kwargs:
            return super().set(name, value, *args, **kwargs)
        return self.execute_command("SET", name, value)

    def pipeline(  # type: ignore[override]
        self, transaction: bool = True, shard_hint: str | None = None
    ) -> AsyncEmbeddedPipeline:
        """A pipeline: commands queue; ``await pipe.execute()`` runs them in
        one call under the engine lock (a transaction by default)."""
        return AsyncEmbeddedPipeline(self, transaction)

    def pubsub(self, **kwargs: Any) -> AsyncEmbeddedPubSub:  # type: ignore[override]
        """redis.asyncio's PubSub on the engine's in-process bus."""
        return AsyncEmbeddedPubSub(self._sync, **kwargs)

    async def run_named_operation(
        self, name: str, keys: Sequence[Any], args: Sequence[Any], client: Any = None
    ) -> Any:
        """Run the named atomic operation ``name`` as the sync database does
        (its Python twin, or its Lua script, in one engine call); with a
        pipeline as ``client``, queue it there and return the pipeline."""
        if client is None:
            try:
                return self._sync.run_named_operation(name, keys, args)
            finally:
                self._wake_waiters()
        if not isinstance(client, AsyncEmbeddedPipeline):
            raise InvalidValue(
                f"client must be a pipeline of this database, not {client!r}"
            )
        reply = self._sync.run_named_operation(name, keys, args, client._sync)
        return client if reply is client._sync else reply

    async def monitor_lines(self) -> AsyncIterator[bytes | str]:  # type: ignore[override]
        """Every command run on this engine from now on, one line each."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[bytes] = asyncio.Queue()

        def put(line: bytes) -> None:  # called by whichever thread ran it
            call_soon(loop, lines.put_nowait, line)

        with self._core.lock:
            self._core.monitors.append(put)
        try:
            encoder, decode = self._sync._encoder, self._sync._decode
            while True:
                line = await lines.get()
                yield encoder.decode(line) if decode else line
        finally:
            with self._core.lock:
                self._core.monitors.remove(put)

    def monitor(self) -> Any:
        raise UnsupportedOperation(
            self.backend_name, "monitor()", "iterate db.monitor_lines() instead"
        )

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Close this client; the engine closes with its last client."""
        self._sync.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.backend_name}>"


class AsyncMemoryDatabase(AsyncEmbeddedDatabase):
    """An async walrus database in this process's memory: the arguments of
    :class:`~walrus.drivers.memory.MemoryDatabase`."""

    sync_class = MemoryDatabase


class AsyncRliteDatabase(AsyncEmbeddedDatabase):
    """An async walrus database on rlite (``':memory:'`` or a file): the
    arguments of :class:`~walrus.drivers.rlite.database.RliteDatabase`."""

    sync_class = RliteDatabase
    engine_package = "rlite"


class AsyncVedisDatabase(AsyncEmbeddedDatabase):
    """An async walrus database on Vedis (``':memory:'`` or a file): the
    arguments of :class:`~walrus.drivers.vedis.database.VedisDatabase`."""

    sync_class = VedisDatabase
    engine_package = "vedis"
    _sync: VedisDatabase

    def command(  # type: ignore[override]
        self, name: str
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: make ``fn(context, *args)`` awaitable as
        ``await db.NAME(*args)``; it runs atomically under the database lock
        (see ``VedisDatabase.command``)."""
        if hasattr(type(self), name) or name in vars(self):
            message = f"cannot define command {name!r}: the database has {name!r}"
            raise CommandNameError(message)
        register = self._sync.command(name)

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            register(fn)
            run = getattr(self._sync, name)

            @functools.wraps(fn)
            async def call(*args: Any) -> Any:
                return run(*args)

            setattr(self, name, call)
            return fn

        return decorator

    def delete_command(self, name: str) -> None:
        """Forget a custom command defined with :meth:`command`."""
        self._sync.delete_command(name)
        vars(self).pop(name, None)


_BY_SCHEME: dict[str, type[AsyncEmbeddedDatabase]] = {
    "memory": AsyncMemoryDatabase,
    "rlite": AsyncRliteDatabase,
    "vedis": AsyncVedisDatabase,
}


def open_embedded(url: str, **kwargs: Any) -> AsyncEmbeddedDatabase:
    """An async client of the embedded engine ``url`` names: ``memory://NAME``,
    ``rlite:///file``, ``rlite://NAME``, ``vedis:///file``, ``vedis://NAME``
    (see :mod:`walrus.drivers.urls`); the same URL gives clients of the same
    engine as the sync ``Database.from_url`` does."""
    cls = _BY_SCHEME.get(url.split(":", 1)[0].lower())
    if cls is None:
        raise InvalidValue(
            f"{url!r} is not an embedded engine URL (memory://, rlite://, vedis://)"
        )
    opened: AsyncEmbeddedDatabase = cls.from_url(url, **kwargs)
    return opened
