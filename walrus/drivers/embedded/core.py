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

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

import redis
from redis.client import EMPTY_RESPONSE, NEVER_DECODE, Pipeline
from redis.exceptions import ResponseError, WatchError

from walrus.api import DatabaseAPI
from walrus.drivers.command_table import COMMANDS, WRITE_KEYS
from walrus.drivers.embedded.blocking import BLOCKING, Blocking, register_blocking
from walrus.drivers.embedded.clients import (
    CONNECTION_COMMANDS,
    DATABASES,
    Client,
    ClientError,
)
from walrus.drivers.embedded.clients import Clients as Clients
from walrus.drivers.embedded.connection import EmbeddedConnectionPool
from walrus.drivers.embedded.pubsub import EmbeddedPubSub, MessageBus
from walrus.drivers.embedded.transactions import (
    EXECABORT,
    NEVER,
    TRANSACTION_COMMANDS,
    TransactionAborted,
    pending,
    queue_command,
    queue_error,
    raw_transaction,
)
from walrus.drivers.embedded.transactions import reset as reset_transaction
from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.glob import glob_match
from walrus.drivers.protocol import Capability
from walrus.drivers.urls import parse_url
from walrus.exceptions import (
    CommandError,
    EngineError,
    InvalidValue,
    UnsupportedOperation,
    command_error,
)

if TYPE_CHECKING:
    from walrus.scripts import Twin

__all__ = [
    "IN_PROCESS_CAPABILITIES",
    "Command",
    "EmbeddedCore",
    "EmbeddedDatabase",
    "EmbeddedPipeline",
    "EmbeddedPubSub",
    "Engine",
    "ErrorReply",
    "Reply",
    "register_blocking",
    "shared_core",
]


class Engine(Protocol):
    """An in-process engine; called with the core's lock held.

    Optional: ``select(index)`` switches to a numbered database (engines
    without it have database 0 only), and ``take_modified()`` returns the
    ``(db, key)`` pairs really modified since its last call (``None``:
    unknown, treat every key as modified); without it the core assumes a
    successful write modified the keys it names.
    """

    name: str
    capabilities: frozenset[Capability]

    def execute(self, args: Command) -> Reply: ...

    def execute_many(self, commands: list[Command], atomic: bool) -> list[Reply]: ...

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold the engine against other processes during a multi-step operation."""
        ...

    def close(self) -> None: ...


# Commands a client object cannot take as plain commands: subscriptions come
# from pubsub(), the rest is never available on an embedded engine.
_NOT_PLAIN = NEVER | frozenset(
    (  # noqa: SIM905
        "SUBSCRIBE PSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SSUBSCRIBE SUNSUBSCRIBE"
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
        Capability.LUA,
    }
)

# Answered by the core's Lua runtime on every engine (walrus.drivers.lua.scripting).
SCRIPTING_COMMANDS = frozenset(
    {
        "EVAL",
        "EVALSHA",
        "EVAL_RO",
        "EVALSHA_RO",
        "SCRIPT",
        "FUNCTION",
        "FCALL",
        "FCALL_RO",
    }
)
# Answered by the core itself, never by the engine.
_CORE_COMMANDS = (
    SCRIPTING_COMMANDS
    | CONNECTION_COMMANDS
    | {
        "WALRUS.OP",
        "PUBLISH",
        "SPUBLISH",
        "PUBSUB",
    }
)
_OTHER_WRITES = {"SORT", "XGROUP"}  # writes whose keys _written_keys finds itself


def _written_keys(name: str, args: Command) -> list[bytes] | None:
    """Keys a successful write names; ``None`` means any key may have changed."""
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


def _writes(name: str) -> bool:
    """Whether an engine command may write (scripts and twins are tracked
    through the commands they run)."""
    return name in WRITE_KEYS or name in _OTHER_WRITES


def _name(args: Command) -> str:
    return args[0].upper().decode("ascii", "replace")


class EmbeddedCore:
    """One opened engine: its lock, clients, WATCH versions, blocked readers, bus."""

    poll_interval = 0.05  # seconds between re-checks while a blocking pop waits

    def __init__(self, engine: Engine, twins: dict[str, Twin]) -> None:
        self.engine = engine
        self.twins = twins
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self.clients = Clients()
        self._blocked: dict[int, Reply] = {}  # client id -> how CLIENT UNBLOCK woke it
        self._selected = 0  # the engine's current numbered database
        self._watched: dict[tuple[int, bytes], int] = {}  # (db, key) -> version
        self._watchers: dict[tuple[int, bytes], int] = {}  # (db, key) -> watchers
        self._epoch = 0  # bumped by writes to unknown keys (FLUSHALL, ...)
        self.monitors: list[Callable[[bytes], None]] = []
        self.bus = MessageBus()
        self.closed = False
        self.shared_as: str | None = None  # its name in shared_core's registry
        self._holds = 0  # clients about to connect (see shared_core)
        self._scripting: Any = None  # the Lua runtime, made on the first script

    @property
    def scripting(self) -> Any:
        """The engine's Lua scripting (EVAL, EVALSHA, SCRIPT, FUNCTION, FCALL)."""
        if self._scripting is None:
            from walrus.drivers.lua.scripting import LuaScripting

            self._scripting = LuaScripting(self)
        return self._scripting

    # -- running commands ------------------------------------------------------
    def execute(self, args: Command, client: Client) -> Reply:
        """Run one command for ``client`` (blocking ones wait without the lock)."""
        if not args:
            return ErrorReply("ERR empty command")
        name = _name(args)
        blocking = BLOCKING.get(name)
        if blocking is not None and pending(client) is None:  # in MULTI: queued
            return self._wait_for(name, blocking, args, client)
        with self.lock, self.engine.exclusive():  # one unit on a shared file
            return self._run(name, args, client)

    def call(self, *args: bytes) -> Reply:
        """Run a command from a named operation's twin; error replies raise."""
        reply = self._run(_name(list(args)), list(args))
        if isinstance(reply, ErrorReply):
            raise command_error(reply.message)
        return reply

    def run_from_script(self, args: Command) -> Reply:
        """Run a command for a script's ``redis.call``: with the lock already
        held, and without blocking (a blocking command runs once, as inside
        MULTI)."""
        return self._run_once(_name(args), args, None)

    def _run_once(self, name: str, args: Command, client: Client | None) -> Reply:
        """A command that does not block: a blocking one runs once (or is
        queued, in a MULTI sent by hand)."""
        blocking = BLOCKING.get(name)
        if blocking is None or (client is not None and pending(client) is not None):
            return self._run(name, args, client)
        arity = _arity_error(name, args)
        parsed = arity or blocking(args)
        if isinstance(parsed, ErrorReply):
            return parsed
        attempt, _ = parsed
        return attempt(lambda *a: self._run(_name(list(a)), list(a), client))

    def _use(self, client: Client) -> None:
        """Switch the engine to ``client``'s numbered database."""
        if client.db != self._selected:
            engine: Any = self.engine
            engine.select(client.db)
            self._selected = client.db

    def _run(
        self,
        name: str,
        args: Command,
        client: Client | None = None,
        quiet: bool = False,
    ) -> Reply:
        """Run a command; ``quiet``: a nil reply means it changed nothing (a
        blocked reader's attempt), so it must not wake the other readers."""
        if self.closed:
            raise EngineError(f"the {self.engine.name} database is closed")
        if client is not None:
            self._use(client)
            client.last_command = args[0]
            client.last_used = time.monotonic()
            if name in TRANSACTION_COMMANDS:
                return raw_transaction(self, client, name, args)
            state = pending(client)
            if state is not None and name not in ("QUIT", "RESET"):
                return queue_command(state, args)
        if name in CONNECTION_COMMANDS:
            reply = self._connection_command(args, client)
        elif name in _NOT_PLAIN:
            reply = ErrorReply(
                f"ERR {name} is not available as a plain command on an embedded "
                "database (use pipeline(), pubsub() or monitor_lines())"
            )
        elif name in STREAM_COMMANDS and (
            Capability.STREAMS not in self.engine.capabilities
        ):
            reply = ErrorReply(
                f"UNSUPPORTED {name} {self.engine.name} has no streams and walrus "
                "does not emulate them on it yet"
            )
        elif name in ("PUBLISH", "SPUBLISH"):
            reply = self.bus.publish_command(args)
        elif name == "PUBSUB":
            reply = self.bus.pubsub_command(args)
        elif name in _LOCAL_COMMANDS:
            reply = _LOCAL_COMMANDS[name](args)
        elif name == "CONFIG" and _script_time_setting(args):
            reply = self._script_time_config(args)
        elif name == "WALRUS.OP":
            reply = self._run_twin(args)
        elif name in SCRIPTING_COMMANDS:
            reply = self.scripting.execute(args)
        else:
            before = self._digests([args])
            reply = self.engine.execute(args)
            if (
                not isinstance(reply, ErrorReply)
                and not (quiet and reply in (None, []))
                and _writes(name)
            ):
                self._touch(name, args, before)
        for monitor in self.monitors:
            monitor(_monitor_line(args))
        return reply

    def _connection_command(self, args: Command, client: Client | None) -> Reply:
        if client is None:  # from a script or a twin: Redis refuses most of these
            if _name(args) != "SELECT":
                return ErrorReply("ERR This Redis command is not allowed from script")
            client = Client(0, db=self._selected)
        if _name(args) == "RESET":
            reset_transaction(self, client)
        if _name(args) == "CLIENT" and len(args) > 1 and args[1].upper() == b"UNBLOCK":
            return self._unblock(args)
        try:
            reply = self.clients.run(client, args)
        except ClientError as refused:
            return ErrorReply(refused.message)
        if _name(args) in ("SELECT", "RESET"):
            self._use(client)
        return reply

    def _run_twin(self, args: Command) -> Reply:
        """WALRUS.OP name numkeys key... arg...: a named operation's twin."""
        if len(args) < 3 or not args[2].isdigit() or int(args[2]) > len(args) - 3:
            return ErrorReply(
                "ERR WALRUS.OP needs a name, a number of keys and that many keys"
            )
        name = args[1].decode("utf-8", "replace")
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
        except (ValueError, IndexError, KeyError, TypeError, UnicodeError) as exc:
            return ErrorReply(f"ERR named operation {name!r} refused its input: {exc}")

    def execute_many(
        self,
        commands: list[Command],
        atomic: bool,
        watched: dict[tuple[int, bytes], tuple[int, bool]] | None,
        client: Client,
    ) -> list[Reply] | ErrorReply | None:
        """Run a pipeline under the lock.

        Returns the replies; ``None`` if a watched key changed; for a
        transaction with a command Redis refuses while queueing, an error
        reply for EXEC with nothing run (EXECABORT), whose ``queued``
        attribute lists ``(index, error)``.
        """
        with self.lock, self.engine.exclusive():  # one unit on a shared file
            try:
                if atomic:
                    refused = [
                        (i, error)
                        for i, command in enumerate(commands)
                        if (error := queue_error(command)) is not None
                    ]
                    if refused:
                        return TransactionAborted(EXECABORT, tuple(refused))
                self._use(client)
                if watched is not None and self._watch_broken(watched):
                    return None
                if not atomic or any(_per_command(_name(c)) for c in commands):
                    return [self._run_once(_name(c), c, client) for c in commands]
                before = self._digests(commands)
                replies = self.engine.execute_many(commands, atomic)
                for command, reply in zip(commands, replies, strict=True):
                    name = _name(command)
                    if not isinstance(reply, ErrorReply) and _writes(name):
                        self._touch(name, command, before)
                    for monitor in self.monitors:
                        monitor(_monitor_line(command))
                return replies
            finally:
                if watched is not None:
                    self.unwatch(watched)

    # -- WATCH -----------------------------------------------------------------
    def watch(
        self,
        keys: Sequence[bytes],
        into: dict[tuple[int, bytes], tuple[int, bool]],
        client: Client,
    ) -> None:
        """Start watching ``keys`` in ``client``'s database: their versions
        (and whether they exist, so an expiry breaks the watch) go into ``into``."""
        with self.lock:
            self._use(client)
            into.setdefault((-1, b""), (self._epoch, False))
            for key in keys:
                slot = (client.db, key)
                if slot not in into:
                    self._watchers[slot] = self._watchers.get(slot, 0) + 1
                    self._watched.setdefault(slot, 0)
                    exists = self.engine.execute([b"EXISTS", key]) == 1
                    into[slot] = (self._watched[slot], exists)

    def unwatch(self, watched: dict[tuple[int, bytes], tuple[int, bool]]) -> None:
        with self.lock:
            for slot in watched:
                if slot[0] < 0:
                    continue
                left = self._watchers.get(slot, 1) - 1
                if left:
                    self._watchers[slot] = left
                else:
                    self._watchers.pop(slot, None)
                    self._watched.pop(slot, None)
            watched.clear()

    def _watch_broken(self, watched: dict[tuple[int, bytes], tuple[int, bool]]) -> bool:
        """A watched key was modified, deleted, or expired since WATCH."""
        if watched.get((-1, b""), (self._epoch, False))[0] != self._epoch:
            return True
        for slot, (version, existed) in watched.items():
            if slot[0] < 0:
                continue
            if self._watched.get(slot) != version:
                return True
            if existed and not self._exists_in(slot[0], slot[1]):
                return True  # it existed and nothing deleted it: it expired
        return False

    def _in_db(self, db: int, ask: Callable[[Any], Any]) -> Any:
        """``ask(engine)`` in database ``db``, leaving the selection as it was."""
        engine: Any = self.engine
        if db == self._selected:
            return ask(engine)
        engine.select(db)
        try:
            return ask(engine)
        finally:
            engine.select(self._selected)

    def _exists_in(self, db: int, key: bytes) -> bool:
        return bool(self._in_db(db, lambda e: e.execute([b"EXISTS", key]) == 1))

    def _slots(self, name: str, args: Command) -> set[tuple[int, bytes]] | None:
        """The (db, key) pairs a write names; None: any key may change."""
        keys = _written_keys(name, args)
        if keys is None:
            return None
        slots = {(self._selected, k) for k in keys}
        if name == "MOVE" and len(args) == 3 and args[2].isdigit():
            slots.add((int(args[2]), args[1]))
        elif name == "COPY":
            upper = [a.upper() for a in args]
            at = upper.index(b"DB") + 1 if b"DB" in upper else 0
            if at and at < len(args) and args[at].isdigit():
                slots = {(self._selected, args[1]), (int(args[at]), args[2])}
        return slots

    def _digests(self, commands: list[Command]) -> dict[tuple[int, bytes], Any]:
        """The watched keys these commands may write, with a digest of each
        now (for engines that cannot report what a command really modified:
        a write that changes nothing must not break a WATCH)."""
        if not self._watched or not hasattr(self.engine, "digest"):
            return {}
        slots: set[tuple[int, bytes]] = set()
        for args in commands:
            name = _name(args)
            if _writes(name):
                named = self._slots(name, args)
                slots |= set(self._watched) if named is None else named
        return {s: self._digest(s) for s in slots if s in self._watched}

    def _digest(self, slot: tuple[int, bytes]) -> Any:
        return self._in_db(slot[0], lambda engine: engine.digest(slot[1]))

    def _touch(
        self, name: str, args: Command, before: dict[tuple[int, bytes], Any]
    ) -> None:
        """Bump the WATCH version of what a write really modified, and wake
        blocked readers."""
        take = getattr(self.engine, "take_modified", None)
        slots: set[tuple[int, bytes]] | None
        if take is not None:
            slots = take()
        elif hasattr(self.engine, "digest"):
            slots = {s for s, old in before.items() if self._digest(s) != old}
        else:
            slots = self._slots(name, args)
        if slots is None:
            self._epoch += 1
        else:
            for slot in slots:
                if slot in self._watched:
                    self._watched[slot] += 1
        self._changed.notify_all()

    # -- blocking commands -----------------------------------------------------
    def _wait_for(
        self, name: str, blocking: Blocking, args: Command, client: Client
    ) -> Reply:
        parsed = _arity_error(name, args) or blocking(args)
        if isinstance(parsed, ErrorReply):
            return parsed
        attempt, timeout = parsed
        deadline = None if timeout == 0 else time.monotonic() + timeout
        with self.lock:
            if timeout < 0:  # called without its blocking option: run once
                return attempt(lambda *a: self._run(_name(list(a)), list(a), client))
            self._blocked[client.id] = None
            try:
                while True:
                    reply = attempt(
                        lambda *a: self._run(_name(list(a)), list(a), client, True)
                    )
                    if reply is not None:
                        return reply
                    unblocked = self._blocked.get(client.id)
                    if unblocked is not None:  # CLIENT UNBLOCK id [TIMEOUT|ERROR]
                        return unblocked if unblocked != b"TIMEOUT" else None
                    wait = self.poll_interval
                    if deadline is not None:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return None
                        wait = min(wait, remaining)
                    self._changed.wait(wait)
            finally:
                self._blocked.pop(client.id, None)

    def _script_time_config(self, args: Command) -> Reply:
        """CONFIG GET/SET of lua-time-limit or busy-reply-threshold (ms): the
        embedded Lua runtime's time limit; other settings go to the engine."""
        if args[1].upper() == b"GET":
            reply = self.engine.execute(args)
            if isinstance(reply, ErrorReply):
                return reply
            limit = str(int(self.scripting.time_limit * 1000)).encode()
            for name in _SCRIPT_TIME:
                if any(glob_match(p.lower(), name) for p in args[2:]):
                    reply += [name, limit]
            return reply
        pairs = list(zip(args[2::2], args[3::2], strict=False))
        if len(args) % 2 or not pairs:
            return ErrorReply("ERR wrong number of arguments for 'config|set' command")
        ours = [v for k, v in pairs if k.lower() in _SCRIPT_TIME]
        if not all(v.isdigit() for v in ours):
            return ErrorReply(
                "ERR CONFIG SET failed (possibly related to argument "
                "'lua-time-limit') - argument couldn't be parsed into an integer"
            )
        rest = [p for k, v in pairs if k.lower() not in _SCRIPT_TIME for p in (k, v)]
        if rest:
            reply = self.engine.execute([b"CONFIG", b"SET", *rest])
            if isinstance(reply, ErrorReply):
                return reply
        self.scripting.time_limit = int(ours[-1]) / 1000
        return b"OK"

    def _unblock(self, args: Command) -> Reply:
        """CLIENT UNBLOCK id [TIMEOUT|ERROR]: wake a client waiting in a
        blocking command; 1 if it was waiting."""
        if len(args) not in (3, 4):
            return ErrorReply(
                "ERR wrong number of arguments for 'client|unblock' command"
            )
        if not args[2].lstrip(b"-").isdigit():
            return ErrorReply("ERR value is not an integer or out of range")
        how = args[3].upper() if len(args) == 4 else b"TIMEOUT"
        if how not in (b"TIMEOUT", b"ERROR"):
            return ErrorReply("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        target = int(args[2])
        if target not in self._blocked:
            return 0
        self._blocked[target] = (
            how
            if how == b"TIMEOUT"
            else ErrorReply("UNBLOCKED client unblocked via CLIENT UNBLOCK")
        )
        self._changed.notify_all()
        return 1

    # -- life --------------------------------------------------------------------
    def connect(self, db: int = 0) -> Client:
        """A new client of this engine (taking a hold :func:`shared_core` gave)."""
        with self.lock:
            if self.closed:
                raise EngineError(f"the {self.engine.name} database is closed")
            self._holds = max(0, self._holds - 1)
            return self.clients.connect(db)

    def hold(self) -> None:
        """Keep the engine open for a client about to connect."""
        with self.lock:
            self._holds += 1

    def release(self, client: Client | None = None) -> None:
        """``client`` is done (None: a hold was not used); the engine closes
        when no client and no hold is left."""
        with self.lock:
            if client is None:
                self._holds = max(0, self._holds - 1)
            else:
                self.clients.disconnect(client)
            if not self.clients.open and not self._holds:
                self.close()

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                if self.shared_as is not None:
                    with _SHARED_LOCK:
                        if _SHARED.get(self.shared_as) is self:
                            del _SHARED[self.shared_as]
                self.engine.close()
                self._changed.notify_all()


# CONFIG settings the core answers: the Lua runtime's time limit, in ms.
_SCRIPT_TIME = (b"lua-time-limit", b"busy-reply-threshold")


def _script_time_setting(args: Command) -> bool:
    """CONFIG SET naming the script time limit, or CONFIG GET that may match it."""
    if len(args) < 3:
        return False
    sub = args[1].upper()
    if sub == b"SET":
        return any(k.lower() in _SCRIPT_TIME for k in args[2::2])
    return sub == b"GET" and any(
        glob_match(p.lower(), name) for p in args[2:] for name in _SCRIPT_TIME
    )


def _arity_error(name: str, args: Command) -> ErrorReply | None:
    info = COMMANDS.get(name)
    if info is not None:
        arity = info[0]
        if (arity > 0 and len(args) != arity) or len(args) < -arity:
            return ErrorReply(
                f"ERR wrong number of arguments for '{name.lower()}' command"
            )
    return None


# Engines of this process opened by name (memory://name, a file's real path),
# so that every client opened on that name shares one engine.
_SHARED: dict[str, EmbeddedCore] = {}
_SHARED_LOCK = threading.RLock()  # re-entered by a GC'd database closing during open


def _forget_shared_engines() -> None:
    """In a forked child: its engines are the parent's; open its own."""
    _SHARED.clear()


os.register_at_fork(after_in_child=_forget_shared_engines)


def shared_core(name: str, opener: Callable[[], EmbeddedCore]) -> EmbeddedCore:
    """The engine registered as ``name``, opened with ``opener`` if none is."""
    with _SHARED_LOCK:
        core = _SHARED.get(name)
        if core is None or core.closed:
            core = opener()
            core.shared_as = name
            _SHARED[name] = core
        core.hold()  # until the caller's client connects: no close in between
        return core


def _time(args: Command) -> Reply:
    """TIME: this machine's clock, as Redis answers it."""
    now = time.time_ns() // 1000
    return [str(now // 1_000_000).encode(), str(now % 1_000_000).encode()]


# Commands answered the same on every engine, without the engine.
_LOCAL_COMMANDS: dict[str, Callable[[Command], Reply]] = {"TIME": _time}


# Commands a transaction runs one by one through the core, not in the engine's
# own MULTI: the core answers them, or they block.
def _per_command(name: str) -> bool:
    """Whether a transaction runs this command through the core, not in the
    engine's own MULTI: the core answers it, or it blocks elsewhere."""
    return (
        name in _CORE_COMMANDS
        or name in _LOCAL_COMMANDS
        or name in BLOCKING
        or name == "CONFIG"
    )


def _monitor_line(args: Command) -> bytes:
    quoted = " ".join('"' + a.decode("utf-8", "backslashreplace") + '"' for a in args)
    return f"{time.time():.6f} [0 embedded] {quoted}".encode()


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
        return cls.attach(
            shared_core(f"{scheme}-url:{name}", cls._named_engine(options)), **options
        )

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
        encode = self._encoder.encode
        return [encode(a) for a in args]

    def execute_command(self, *args: Any, **options: Any) -> Any:
        reply = self._core.execute(self.pack(args), self._live_client())
        return self.parse_reply(args[0], reply, options)

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
    }
)


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
    returned in its place, or (``raise_on_error``) the first one is raised,
    annotated with its position as redis-py does.
    """
    results: list[Any] = []
    annotate: Any = pipe.annotate_exception
    for (args, options), reply in zip(pipe.command_stack, replies, strict=True):
        try:
            results.append(db.parse_reply(args[0], reply, dict(options)))
        except ResponseError as exc:
            if raise_on_error:
                annotate(exc, len(results) + 1, args)
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
