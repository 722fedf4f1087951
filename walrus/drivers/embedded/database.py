"""The redis-py client of an in-process engine, and its pipeline.

:class:`EmbeddedDatabase` is a ``redis.Redis`` whose ``execute_command``
packs the arguments as redis-py would send them and runs the command on the
:class:`~.core.EmbeddedCore`, so every redis-py command method works with
redis-py's argument handling, reply callbacks and ``decode_responses``. Each
object is one client of the engine. :class:`EmbeddedPipeline` queues
commands and runs them in one call under the engine lock (WATCH included).
No network: a command costs no round trip.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator, Sequence
from time import monotonic
from typing import Any

import redis
from redis.client import EMPTY_RESPONSE, NEVER_DECODE, Pipeline
from redis.exceptions import WatchError

from walrus.api import DatabaseAPI
from walrus.drivers.embedded.clients import DATABASES, Client
from walrus.drivers.embedded.connection import EmbeddedConnectionPool
from walrus.drivers.embedded.core import EmbeddedCore
from walrus.drivers.embedded.pubsub import EmbeddedPubSub
from walrus.drivers.embedded.replies import (
    decoded,
    parse_pipeline,
    redis_value,
    run_callback,
)
from walrus.drivers.embedded.shared import shared_core
from walrus.drivers.embedded.transactions import TransactionAborted
from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.protocol import Capability
from walrus.drivers.urls import parse_url
from walrus.exceptions import (
    EngineError,
    InvalidValue,
    UnsupportedOperation,
    command_error,
)

__all__ = ["EmbeddedDatabase", "EmbeddedPipeline"]


class EmbeddedDatabase(DatabaseAPI, redis.Redis):
    """A redis-py client whose commands run on an in-process engine.

    Each object is one client of its engine, with its own selected database
    (``db``, or SELECT) and name; :meth:`client` and ``from_url`` open more
    clients of the same engine, which see each other's writes as two
    connections to one server do.
    """

    def __init__(
        self,
        core: EmbeddedCore,
        *,
        db: int = 0,
        decode_responses: bool = False,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        script_dir: str | bool | None = None,
    ) -> None:
        if not isinstance(db, int) or not 0 <= db < DATABASES:
            core.release()
            raise InvalidValue(
                f"db must be a database number from 0 to {DATABASES - 1}"
            )
        pool = EmbeddedConnectionPool(
            core,
            db=db,
            decode_responses=decode_responses,
            encoding=encoding,
            encoding_errors=encoding_errors,
        )
        redis.Redis.__init__(self, connection_pool=pool)
        self._core = core
        self._client = core.connect(db)
        self._client.lib_name = b"redis-py"  # what redis-py tells a server it is
        self._client.lib_ver = redis.__version__.encode()
        self._default_db = db
        self._settings = {
            "decode_responses": decode_responses,
            "encoding": encoding,
            "encoding_errors": encoding_errors,
            "script_dir": script_dir,
        }
        self._encoder: Any = self.connection_pool.get_encoder()
        self._decode = decode_responses
        self._utf8 = encoding.lower().replace("-", "") == "utf8" and (
            encoding_errors == "strict"
        )
        self._closed = False
        try:
            self._init_walrus(script_dir)
        except BaseException:
            self.close()
            raise

    def client(self, **overrides: Any) -> Any:
        """Another client of the same engine (its own selected database and
        name), with this one's settings unless ``overrides`` (``db``,
        ``decode_responses``, ...) say otherwise."""
        other = object.__new__(type(self))
        vars(other).update(
            {k: v for k, v in vars(self).items() if k not in _PER_CLIENT}
        )
        settings = {**self._settings, "db": self._default_db, **overrides}
        EmbeddedDatabase.__init__(other, self._core, **settings)
        return other

    @classmethod
    def attach(cls, core: EmbeddedCore, **kwargs: Any) -> Any:
        """A new client of an already open engine (see :func:`shared_core`)."""
        db = object.__new__(cls)
        db._attached()
        EmbeddedDatabase.__init__(db, core, **kwargs)
        return db

    def _attached(self) -> None:
        """Set the driver's own attributes on a client made by :meth:`attach`."""

    url_scheme = ""  # the URL scheme of this driver's engines (urls module)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Any:
        """A client of the engine a URL of this driver names (``memory://name``,
        ``rlite:///file.rld``, ``rlite://name`` in memory, ``vedis:///file``,
        ``vedis://name``; ``?db=N`` or ``/N`` after a name picks the database).
        The same URL gives clients of the same engine; ``walrus.Database.from_url``
        opens every scheme."""
        scheme, name, options = parse_url(url, kwargs)
        if scheme != cls.url_scheme:
            raise InvalidValue(
                f"{cls.__name__} opens {cls.url_scheme}:// URLs, not {url!r} "
                "(walrus.Database.from_url opens every scheme)"
            )
        if name is None:
            return cls(**options)
        opener = cls._named_engine(options)  # first: it takes the driver's keys
        return cls.attach(shared_core(f"{scheme}-url:{name}", opener), **options)

    @classmethod
    def _named_engine(cls, options: dict[str, Any]) -> Callable[[], EmbeddedCore]:
        """How to open a new in-memory engine for a named URL (``options`` may
        lose the driver's own keys)."""
        raise NotImplementedError

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._core.engine.capabilities

    @property
    def backend_name(self) -> str:
        return self._core.engine.name

    # -- commands ---------------------------------------------------------------
    def pack(self, args: Sequence[Any]) -> Command:
        """Encode a command's arguments as redis-py would send them."""
        if not args:
            raise InvalidValue("a command needs at least its name")
        first = args[0]
        if isinstance(first, str) and " " in first:
            args = (*first.split(), *args[1:])
        encode = self._encode
        return [encode(a) for a in args]

    def _encode(self, value: Any) -> bytes:
        """One argument as redis-py sends it (a memoryview as its bytes: an
        engine keeps what it is given)."""
        encoded = self._encoder.encode(value)
        return bytes(encoded) if isinstance(encoded, memoryview) else encoded

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Run a command: a plain data command straight on the engine under
        the lock (see :meth:`~.core.EmbeddedCore.fast`), others through the
        core; the reply converted once."""
        name = args[0] if args else None
        if type(name) is str:
            core, client = self._core, self._client
            lock = core.lock
            lock.acquire()  # not ``with``: 80 ns less a command (CPython 3.11)
            try:
                run = core.fast_commands.get(name, _UNKNOWN)
                if run is _UNKNOWN:
                    run = core.fast(name)
                if run is not None and not (
                    core._watched
                    or core._blocked
                    or core.monitors
                    or client.transactions
                    or client.killed
                    or client.db != core._selected
                    or self._closed
                ):
                    if self._utf8:
                        packed = pack_utf8(args, self._encode)
                    else:
                        packed = self.pack(args)
                    client.last_command = packed[0]
                    client.last_used = monotonic()
                    reply = run(packed)
                else:
                    reply = _NOT_RUN  # the core's path, below, without this lock
            finally:
                lock.release()
            if reply is not _NOT_RUN:
                if options:  # what redis_value does, in short
                    if EMPTY_RESPONSE in options or NEVER_DECODE in options:
                        return self.parse_reply(name, reply, options)
                    options.pop("keys", None)
                if type(reply) is ErrorReply:
                    return self.parse_reply(name, reply, options)
                if self._decode:
                    reply = decoded(self._encoder, reply)
                callback = dict.get(self.response_callbacks, name)
                if callback is None:
                    return reply
                return run_callback(callback, reply, core.engine.name, name, options)
        reply = self._core.execute(self.pack(args), self._live_client())
        return self.parse_reply(args[0], reply, options)

    def get(self, name: Any) -> Any:
        """redis-py's ``get``, without the key list it keeps for routing (an
        engine in process has one node)."""
        return self.execute_command("GET", name)

    def set(self, name: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        """redis-py's ``set``; a plain ``set(name, value)`` skips its option
        checks (a third of its cost in process: there are none to check)."""
        if args or kwargs:
            return super().set(name, value, *args, **kwargs)
        return self.execute_command("SET", name, value)

    def zrange(self, name: Any, start: Any, end: Any, *args: Any, **kwargs: Any) -> Any:
        """redis-py's ``zrange``; a plain rank range (``withscores`` at most)
        skips its option handling, with the same reply callback."""
        if args or kwargs.keys() - {"withscores"}:
            return super().zrange(name, start, end, *args, **kwargs)
        if kwargs.get("withscores"):
            return self.execute_command(
                "ZRANGE", name, start, end, "WITHSCORES", withscores=True
            )
        return self.execute_command("ZRANGE", name, start, end)

    def _live_client(self) -> Client:
        """This object's client; reconnected (as redis-py does) if CLIENT KILL
        dropped it."""
        if getattr(self, "_closed", False):
            raise EngineError(f"this {self._core.engine.name} database is closed")
        client = self._client
        if client.killed:
            self._core.clients.revive(client, self._default_db)
        return client

    def parse_reply(
        self, command_name: Any, reply: Reply, options: dict[str, Any]
    ) -> Any:
        """Turn an engine reply into what redis-py would have returned."""
        if isinstance(reply, ErrorReply):
            if EMPTY_RESPONSE in options:
                return options[EMPTY_RESPONSE]
            raise self._error(reply)
        if isinstance(reply, list) and str(command_name).upper() in _NESTED_ERRORS:
            reply = self._errors_in_place(reply)
        return redis_value(
            self, self._encoder, self._core.engine.name, command_name, reply, options
        )

    def _errors_in_place(self, reply: list[Reply]) -> list[Reply]:
        """Error replies inside an array (EXEC's, a script's) as exception
        objects, as redis-py's parser returns them."""
        return [
            self._error(item)
            if isinstance(item, ErrorReply)
            else self._errors_in_place(item)
            if isinstance(item, list)
            else item
            for item in reply
        ]

    def _error(self, reply: ErrorReply) -> Exception:
        if reply.message.startswith("UNSUPPORTED "):
            _, command, reason = reply.message.split(" ", 2)
            return UnsupportedOperation(self._core.engine.name, command, reason)
        return command_error(reply.message)

    def pipeline(
        self, transaction: bool = True, shard_hint: str | None = None
    ) -> EmbeddedPipeline:
        return EmbeddedPipeline(self, transaction)

    def pubsub(self, **kwargs: Any) -> EmbeddedPubSub:  # type: ignore[override]
        # not a redis-py PubSub (no connection behind it): the same methods
        return EmbeddedPubSub(self, **kwargs)

    def run_named_operation(
        self, name: str, keys: Sequence[Any], args: Sequence[Any], client: Any = None
    ) -> Any:
        if name not in self._core.twins:
            if Capability.LUA in self.capabilities:
                return self.lua_script(name)(keys=keys, args=args, client=client)
            self.script_source(name)  # UnknownScript if there is no such script
            raise UnsupportedOperation(
                self._core.engine.name,
                f"script {name!r}",
                "the engine runs no Lua and no Python twin is registered "
                "(walrus.scripts.twin)",
            )
        target = self if client is None else client
        return target.execute_command("WALRUS.OP", name, len(keys), *keys, *args)

    def monitor_lines(self) -> Iterator[bytes | str]:
        """Every command run on this engine from now on, one line each."""
        lines: queue.Queue[bytes] = queue.Queue()
        with self._core.lock:
            self._core.monitors.append(lines.put)
        try:
            while True:
                line = lines.get()
                yield self._encoder.decode(line) if self._decode else line
        finally:
            with self._core.lock:
                self._core.monitors.remove(lines.put)

    def close(self) -> None:
        """Close this client; the engine closes with its last client."""
        core, client = getattr(self, "_core", None), getattr(self, "_client", None)
        if core is not None and client is not None and not getattr(self, "_closed", 0):
            self._closed = True
            core.release(client)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._core.engine.name}>"


_UNKNOWN: Any = object()  # a command name the core was not asked about yet
_NOT_RUN: Any = object()  # not a command for the short way: the core runs it


def _pack_utf8(args: tuple[Any, ...], encode: Callable[[Any], bytes]) -> Command:
    """Arguments as bytes: str as UTF-8, bytes as they are, others through
    ``encode`` (redis-py's encoder). The pure-Python twin of the compiled
    ``_native.pack``."""
    return [
        a if type(a) is bytes else a.encode() if type(a) is str else encode(a)
        for a in args
    ]


try:
    from walrus.drivers.embedded._native import pack as pack_utf8
except ImportError:  # built without a C compiler
    pack_utf8 = _pack_utf8

# Commands whose array replies may hold error replies.
_NESTED_ERRORS = frozenset(
    {"EXEC", "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"}
)

# Attributes that belong to one client object, not shared by client().
_PER_CLIENT = frozenset(
    {
        "_client",
        "_default_db",
        "_settings",
        "_closed",
        "connection_pool",
        "connection",
        "response_callbacks",
        "_encoder",
        "_decode",
        "_utf8",
    }
)


class EmbeddedPipeline(Pipeline):
    """Queues commands and runs them under the engine lock in one call."""

    def __init__(self, db: EmbeddedDatabase, transaction: bool) -> None:
        init: Any = super().__init__
        init(db.connection_pool, db.response_callbacks, transaction, None)
        self._db = db
        self._atomic = transaction
        self._watched: dict[tuple[int, bytes], tuple[int, bool]] = {}

    def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        name = str(args[0]).upper()
        if name == "WATCH":
            keys = self._db.pack(args)[1:]
            self._db._core.watch(keys, self._watched, self._db._live_client())
            self.watching = True
            return True
        if name == "UNWATCH":
            self._db._core.unwatch(self._watched)
            self.watching = False
            return True
        return self._db.execute_command(*args, **options)

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack = self.command_stack
        if self.scripts:
            load: Any = self.load_scripts  # as redis-py does: EVALSHA finds them
            load()
        try:
            if not stack and not self.watching:
                return []
            commands = [self._db.pack(args) for args, _ in stack]
            watched = self._watched if self.watching else None
            replies = self._db._core.execute_many(
                commands, self._atomic, watched, self._db._live_client()
            )
            if replies is None:
                raise WatchError("Watched variable changed.")
            if isinstance(replies, TransactionAborted):
                self._raise_queued(replies)
            assert isinstance(replies, list)
            return parse_pipeline(self, self._db, replies, raise_on_error)
        finally:
            self.reset()

    def _raise_queued(self, aborted: TransactionAborted) -> None:
        """Raise the first queueing error, annotated as redis-py does (EXECABORT:
        nothing ran)."""
        index, reply = aborted.queued[0]
        error = self._db._error(reply)
        annotate: Any = self.annotate_exception
        annotate(error, index + 1, self.command_stack[index][0])
        raise error

    def reset(self) -> None:  # type: ignore[override]
        self.command_stack = []
        self.scripts = set()
        if self.watching and self._watched:
            self._db._core.unwatch(self._watched)
        self.watching = False
        self.explicit_transaction = False

    def __repr__(self) -> str:
        return f"<EmbeddedPipeline {self._db._core.engine.name}>"
