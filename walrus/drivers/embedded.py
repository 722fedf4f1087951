"""What every embedded driver shares: a redis-py client over an in-process engine.

An *engine* (rlite through ctypes, the Python emulation over Vedis or a
dict) executes one command at a time and answers with RESP2-shaped replies:
``bytes``, ``int``, ``None``, lists of those, or :class:`ErrorReply`. It is
not thread-safe. :class:`EmbeddedCore` wraps one opened engine and adds
what a server would give:

* one re-entrant lock, so threads share a database and each command (and
  each transaction, and each named operation) is atomic among them;
* WATCH, by versioning the watched keys on every write;
* blocking pops (BLPOP, BZPOPMIN, ...) that wait on a condition woken by
  writes (and re-check every ``poll_interval`` for writes by other processes);
* an in-process pub/sub bus and MONITOR feed;
* the named atomic operations' Python twins (``WALRUS.OP name numkeys ...``).

:class:`EmbeddedDatabase` is a ``redis.Redis`` whose ``execute_command`` runs
the command on the core, so every redis-py command method works with
redis-py's argument handling, reply callbacks and ``decode_responses``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import redis
from redis.client import EMPTY_RESPONSE, NEVER_DECODE, Pipeline
from redis.exceptions import ResponseError, WatchError

from walrus.database import DatabaseAPI
from walrus.drivers.command_table import WRITE_KEYS
from walrus.drivers.embedded_pubsub import EmbeddedPubSub, MessageBus
from walrus.drivers.protocol import Capability
from walrus.exceptions import (
    CommandError,
    EngineError,
    UnsupportedOperation,
    command_error,
)

if TYPE_CHECKING:
    from walrus.scripts import Twin

__all__ = [
    "IN_PROCESS_CAPABILITIES",
    "EmbeddedCore",
    "EmbeddedDatabase",
    "EmbeddedPipeline",
    "EmbeddedPubSub",
    "Engine",
    "ErrorReply",
    "Reply",
]

Reply = Any  # bytes | int | None | list[Reply] | ErrorReply
Command = list[bytes]


@dataclass(frozen=True)
class ErrorReply:
    """An error reply, as a value (engines never raise for a refused command)."""

    message: str


class Engine(Protocol):
    """An in-process engine; called with the core's lock held."""

    name: str
    capabilities: frozenset[Capability]

    def execute(self, args: Command) -> Reply: ...

    def execute_many(self, commands: list[Command], atomic: bool) -> list[Reply]: ...

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold the engine against other processes during a multi-step operation."""
        ...

    def close(self) -> None: ...


# Connection-state commands: on a handle shared by every thread they would
# change what other threads' commands do, so they only come from pipelines
# (MULTI/EXEC, WATCH) and pubsub() objects, never as plain commands.
_CONNECTION_STATE = frozenset(
    (  # noqa: SIM905
        "MULTI EXEC DISCARD WATCH UNWATCH SUBSCRIBE PSUBSCRIBE UNSUBSCRIBE "
        "PUNSUBSCRIBE SSUBSCRIBE MONITOR RESET QUIT DEBUG SHUTDOWN SELECT SWAPDB MOVE "
    ).split()
)

STREAM_COMMANDS = frozenset(
    (  # noqa: SIM905
        "XADD XLEN XRANGE XREVRANGE XREAD XREADGROUP XGROUP XACK XPENDING XCLAIM "
        "XAUTOCLAIM XTRIM XDEL XINFO XSETID "
    ).split()
)

# What EmbeddedCore gives every in-process engine (within the process).
IN_PROCESS_CAPABILITIES = frozenset(
    {
        Capability.TRANSACTIONS,
        Capability.WATCH,
        Capability.PUBSUB,
        Capability.BLOCKING,
        Capability.EXPIRY,
        Capability.MONITOR,
    }
)

_SCRIPT_COMMANDS = {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "WALRUS.OP"}
_OTHER_WRITES = {"SORT", "XGROUP"}  # writes whose keys _written_keys finds itself


def _written_keys(name: str, args: Command) -> list[bytes] | None:
    """Keys a successful write changes; ``None`` means any key may have changed."""
    if name in _SCRIPT_COMMANDS:
        return args[3 : 3 + int(args[2])]
    if name == "XGROUP":  # the table lists its subcommands: XGROUP CREATE key ...
        return args[2:3]
    if name == "SORT":
        upper = [a.upper() for a in args]
        at = upper.index(b"STORE") + 1 if b"STORE" in upper else len(args)
        return args[at : at + 1]
    first, last, step = WRITE_KEYS[name]
    if first == 0:
        return None
    end = len(args) + last + 1 if last < 0 else last + 1
    return args[first:end:step]


class EmbeddedCore:
    """One opened engine with its lock, WATCH versions, blocked readers and bus."""

    poll_interval = 0.05  # seconds between re-checks while a blocking pop waits

    def __init__(self, engine: Engine, twins: dict[str, Twin]) -> None:
        self.engine = engine
        self.twins = twins
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self._watched: dict[bytes, int] = {}  # key -> version, for watched keys
        self._watchers: dict[bytes, int] = {}  # key -> number of watchers
        self._epoch = 0  # bumped by writes to unknown keys (FLUSHDB, ...)
        self.monitors: list[Callable[[bytes], None]] = []
        self.bus = MessageBus()
        self.closed = False

    # -- running commands ------------------------------------------------------
    def execute(self, args: Command) -> Reply:
        """Run one command (blocking ones wait without holding the lock)."""
        name = args[0].upper().decode("ascii", "replace")
        blocking = _BLOCKING.get(name)
        if blocking is not None:
            return self._wait_for(blocking, args)
        with self.lock:
            return self._run(name, args)

    def call(self, *args: bytes) -> Reply:
        """Run a command from a named operation's twin; error replies raise."""
        reply = self._run(args[0].upper().decode("ascii", "replace"), list(args))
        if isinstance(reply, ErrorReply):
            raise command_error(reply.message)
        return reply

    def _run(self, name: str, args: Command, quiet: bool = False) -> Reply:
        """Run a command; ``quiet``: a nil reply means it changed nothing (a
        blocked reader's attempt), so it must not wake the other readers."""
        if self.closed:
            raise EngineError(f"the {self.engine.name} database is closed")
        if name in _CONNECTION_STATE:
            reply: Reply = ErrorReply(
                f"ERR {name} is not available as a plain command on an embedded "
                "database (use pipeline(), pubsub() or stream_log())"
            )
        elif name in STREAM_COMMANDS and (
            Capability.STREAMS not in self.engine.capabilities
        ):
            reply = ErrorReply(
                f"UNSUPPORTED {name} {self.engine.name} has no streams and walrus "
                "does not emulate them on it yet"
            )
        elif name == "PUBLISH" and len(args) == 3:
            reply = self.bus.publish(args[1], args[2])
        elif name in _CONNECTION_COMMANDS:
            reply = _CONNECTION_COMMANDS[name](args)
        elif name == "WALRUS.OP":
            reply = self._run_twin(args)
        else:
            reply = self.engine.execute(args)
        if (
            not isinstance(reply, ErrorReply)
            and not (quiet and reply in (None, []))
            and (
                name in WRITE_KEYS or name in _SCRIPT_COMMANDS or name in _OTHER_WRITES
            )
        ):
            self._touch(name, args)
        for monitor in self.monitors:
            monitor(_monitor_line(args))
        return reply

    def _run_twin(self, args: Command) -> Reply:
        name = args[1].decode()
        numkeys = int(args[2])
        twin = self.twins.get(name)
        if twin is None:
            return ErrorReply(f"ERR no named operation {name!r}")
        keys, argv = args[3 : 3 + numkeys], args[3 + numkeys :]
        try:
            with self.engine.exclusive():
                return twin(self.call, keys, argv)
        except ResponseError as exc:
            return ErrorReply(str(exc))

    def execute_many(
        self, commands: list[Command], atomic: bool, watched: dict[bytes, int] | None
    ) -> list[Reply] | None:
        """Run a pipeline under the lock; ``None`` if a watched key changed."""
        with self.lock:
            try:
                if watched is not None and self._watch_broken(watched):
                    return None
                if not atomic or any(
                    c[0].upper() in (b"PUBLISH", b"WALRUS.OP") for c in commands
                ):
                    return [
                        self._run(c[0].upper().decode("ascii", "replace"), c)
                        for c in commands
                    ]
                replies = self.engine.execute_many(commands, atomic)
                for command, reply in zip(commands, replies, strict=True):
                    name = command[0].upper().decode("ascii", "replace")
                    if not isinstance(reply, ErrorReply) and (
                        name in WRITE_KEYS
                        or name in _SCRIPT_COMMANDS
                        or name in _OTHER_WRITES
                    ):
                        self._touch(name, command)
                    for monitor in self.monitors:
                        monitor(_monitor_line(command))
                return replies
            finally:
                if watched is not None:
                    self.unwatch(watched)

    # -- WATCH -----------------------------------------------------------------
    def watch(self, keys: Sequence[bytes], into: dict[bytes, int]) -> None:
        """Start watching ``keys``; their current versions go into ``into``."""
        with self.lock:
            into.setdefault(b"", self._epoch)
            for key in keys:
                if key not in into:
                    self._watchers[key] = self._watchers.get(key, 0) + 1
                    self._watched.setdefault(key, 0)
                    into[key] = self._watched[key]

    def unwatch(self, watched: dict[bytes, int]) -> None:
        with self.lock:
            for key in watched:
                if key == b"":
                    continue
                left = self._watchers.get(key, 1) - 1
                if left:
                    self._watchers[key] = left
                else:
                    self._watchers.pop(key, None)
                    self._watched.pop(key, None)
            watched.clear()

    def _watch_broken(self, watched: dict[bytes, int]) -> bool:
        if watched.get(b"", self._epoch) != self._epoch:
            return True
        return any(self._watched.get(k) != v for k, v in watched.items() if k != b"")

    def _touch(self, name: str, args: Command) -> None:
        keys = _written_keys(name, args)
        if keys is None:
            self._epoch += 1
        else:
            for key in keys:
                if key in self._watched:
                    self._watched[key] += 1
        self._changed.notify_all()

    # -- blocking commands -----------------------------------------------------
    def _wait_for(self, blocking: _Blocking, args: Command) -> Reply:
        attempt, timeout = blocking(args)
        deadline = None if timeout == 0 else time.monotonic() + timeout
        with self.lock:
            if timeout < 0:  # called without its blocking option: run once
                return attempt(lambda *a: self._run(a[0].decode().upper(), list(a)))
            while True:
                reply = attempt(
                    lambda *a: self._run(a[0].decode().upper(), list(a), quiet=True)
                )
                if reply is not None:
                    return reply
                wait = self.poll_interval
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    wait = min(wait, remaining)
                self._changed.wait(wait)

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                self.engine.close()
                self._changed.notify_all()


def _client(args: Command) -> Reply:
    """CLIENT: an embedded database has one in-process client."""
    sub = args[1].upper() if len(args) > 1 else b""
    if sub in (b"SETINFO", b"SETNAME"):
        return b"OK"
    if sub == b"ID":
        return 1
    if sub == b"GETNAME":
        return None
    return ErrorReply(f"ERR unknown subcommand '{sub.decode(errors='replace')}'")


def _time(args: Command) -> Reply:
    """TIME: this machine's clock, as Redis answers it."""
    now = time.time_ns() // 1000
    return [str(now // 1_000_000).encode(), str(now % 1_000_000).encode()]


# Commands about the client and the server, answered the same on every engine.
_CONNECTION_COMMANDS: dict[str, Callable[[Command], Reply]] = {
    "CLIENT": _client,
    "TIME": _time,
}


def _monitor_line(args: Command) -> bytes:
    quoted = " ".join('"' + a.decode("utf-8", "backslashreplace") + '"' for a in args)
    return f"{time.time():.6f} [0 embedded] {quoted}".encode()


# A blocking command becomes (attempt, timeout): ``attempt(run)`` tries the
# non-blocking form once and returns the reply, or None to keep waiting.
# A negative timeout means the call does not block: ``attempt`` runs once.
Attempt = Callable[[Callable[..., Reply]], Reply]
_Blocking = Callable[[Command], tuple[Attempt, float]]


def _pop_each(pop: bytes, with_key: bool) -> _Blocking:
    def parse(args: Command) -> tuple[Attempt, float]:
        keys, timeout = args[1:-1], float(args[-1])

        def attempt(run: Callable[..., Reply]) -> Reply:
            for key in keys:
                reply = run(pop, key)
                if isinstance(reply, ErrorReply):
                    return reply
                if reply is not None and reply != []:
                    if not with_key:
                        return reply
                    return [key, *reply] if isinstance(reply, list) else [key, reply]
            return None

        return attempt, timeout

    return parse


def _move(args: Command) -> tuple[Attempt, float]:
    name = args[0].upper()
    if name == b"BRPOPLPUSH":
        command, timeout = [b"RPOPLPUSH", args[1], args[2]], float(args[3])
    else:  # BLMOVE src dst LEFT|RIGHT LEFT|RIGHT timeout
        command, timeout = [b"LMOVE", *args[1:5]], float(args[5])

    def attempt(run: Callable[..., Reply]) -> Reply:
        return run(*command)

    return attempt, timeout


_BLOCKING: dict[str, _Blocking] = {
    "BLPOP": _pop_each(b"LPOP", True),
    "BRPOP": _pop_each(b"RPOP", True),
    "BZPOPMIN": _pop_each(b"ZPOPMIN", True),
    "BZPOPMAX": _pop_each(b"ZPOPMAX", True),
    "BRPOPLPUSH": _move,
    "BLMOVE": _move,
}


def register_blocking(name: str, blocking: _Blocking) -> None:
    """Add a blocking command (a later feature's, e.g. XREAD BLOCK)."""
    _BLOCKING[name] = blocking


class EmbeddedDatabase(DatabaseAPI, redis.Redis):
    """A redis-py client whose commands run on an in-process engine."""

    def __init__(
        self,
        core: EmbeddedCore,
        *,
        decode_responses: bool = False,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        script_dir: str | bool | None = None,
    ) -> None:
        redis.Redis.__init__(
            self,
            decode_responses=decode_responses,
            encoding=encoding,
            encoding_errors=encoding_errors,
            protocol=2,
        )
        self._core = core
        self._encoder: Any = self.connection_pool.get_encoder()
        self._decode = decode_responses
        self._init_walrus(script_dir)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._core.engine.capabilities

    @property
    def backend_name(self) -> str:
        return self._core.engine.name

    # -- commands ---------------------------------------------------------------
    def pack(self, args: Sequence[Any]) -> Command:
        """Encode a command's arguments as redis-py would send them."""
        first = args[0]
        if isinstance(first, str) and " " in first:
            args = (*first.split(), *args[1:])
        encode = self._encoder.encode
        return [encode(a) for a in args]

    def execute_command(self, *args: Any, **options: Any) -> Any:
        reply = self._core.execute(self.pack(args))
        return self.parse_reply(args[0], reply, options)

    def parse_reply(
        self, command_name: Any, reply: Reply, options: dict[str, Any]
    ) -> Any:
        """Turn an engine reply into what redis-py would have returned."""
        if isinstance(reply, ErrorReply):
            if EMPTY_RESPONSE in options:
                return options[EMPTY_RESPONSE]
            raise self._error(reply)
        return redis_value(
            self, self._encoder, self._core.engine.name, command_name, reply, options
        )

    def _error(self, reply: ErrorReply) -> Exception:
        if reply.message.startswith("UNSUPPORTED "):
            _, command, reason = reply.message.split(" ", 2)
            return UnsupportedOperation(self._core.engine.name, command, reason)
        return command_error(reply.message)

    def pipeline(
        self, transaction: bool = True, shard_hint: str | None = None
    ) -> EmbeddedPipeline:
        return EmbeddedPipeline(self, transaction)

    def pubsub(self, **kwargs: Any) -> EmbeddedPubSub:
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
        core = getattr(self, "_core", None)
        if core is not None:
            core.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._core.engine.name}>"


def redis_value(
    client: Any,
    encoder: Any,
    backend: str,
    command_name: Any,
    reply: Reply,
    options: dict[str, Any],
) -> Any:
    """What redis-py returns for a RESP2 ``reply`` that is not an error:
    decoded by ``encoder`` unless NEVER_DECODE (when ``decode_responses`` is
    on), then passed through ``client``'s response callback for
    ``command_name``."""
    options.pop(EMPTY_RESPONSE, None)
    options.pop("keys", None)
    if NEVER_DECODE in options:
        del options[NEVER_DECODE]
    elif encoder.decode_responses:
        reply = _decoded(encoder, reply)
    callbacks: Any = client.response_callbacks
    callback = callbacks.get(command_name) if command_name else None
    if callback is None:
        return reply
    try:
        return callback(reply, **options)
    except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
        raise CommandError(
            f"{backend} gave {command_name} a reply redis-py cannot parse: "
            f"{reply!r:.200}"
        ) from exc


def _decoded(encoder: Any, reply: Reply) -> Reply:
    if isinstance(reply, bytes):
        return encoder.decode(reply)
    if isinstance(reply, list):
        return [_decoded(encoder, r) for r in reply]
    return reply


def parse_pipeline(
    pipe: Pipeline, db: Any, replies: list[Reply], raise_on_error: bool
) -> list[Any]:
    """What redis-py's ``execute()`` returns for ``pipe``'s queued commands.

    ``db.parse_reply`` turns each reply into redis-py's value; an error is
    annotated as redis-py does, then raised, or returned in its place.
    """
    results: list[Any] = []
    annotate: Any = pipe.annotate_exception
    for (args, options), reply in zip(pipe.command_stack, replies, strict=True):
        try:
            results.append(db.parse_reply(args[0], reply, dict(options)))
        except ResponseError as exc:
            annotate(exc, len(results) + 1, args)
            if raise_on_error:
                raise
            results.append(exc)
    return results


class EmbeddedPipeline(Pipeline):
    """Queues commands and runs them under the engine lock in one call."""

    def __init__(self, db: EmbeddedDatabase, transaction: bool) -> None:
        init: Any = super().__init__
        init(db.connection_pool, db.response_callbacks, transaction, None)
        self._db = db
        self._atomic = transaction
        self._watched: dict[bytes, int] = {}

    def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        name = str(args[0]).upper()
        if name == "WATCH":
            self._db._core.watch(self._db.pack(args)[1:], self._watched)
            self.watching = True
            return True
        if name == "UNWATCH":
            self._db._core.unwatch(self._watched)
            self.watching = False
            return True
        return self._db.execute_command(*args, **options)

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack = self.command_stack
        try:
            if not stack and not self.watching:
                return []
            commands = [self._db.pack(args) for args, _ in stack]
            watched = self._watched if self.watching else None
            replies = self._db._core.execute_many(commands, self._atomic, watched)
            if replies is None:
                raise WatchError("Watched variable changed.")
            return parse_pipeline(self, self._db, replies, raise_on_error)
        finally:
            self.reset()

    def reset(self) -> None:  # type: ignore[override]
        self.command_stack = []
        self.scripts = set()
        if self.watching and self._watched:
            self._db._core.unwatch(self._watched)
        self.watching = False
        self.explicit_transaction = False

    def __repr__(self) -> str:
        return f"<EmbeddedPipeline {self._db._core.engine.name}>"
