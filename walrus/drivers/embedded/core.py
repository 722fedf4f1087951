"""The in-process core: one opened engine, shared by threads and clients.

An *engine* (rlite through ctypes, the Python emulation over Vedis or a
dict; :class:`~.types.Engine`) executes one command at a time and is not
thread-safe. :class:`EmbeddedCore` wraps one opened engine and adds what a
server would give:

* one re-entrant lock, so threads share a database and each command (and
  each transaction, and each named operation) is atomic among them;
* WATCH, by versioning the watched keys on every write (its base class,
  :class:`~.watch.WatchedKeys`);
* blocking pops (BLPOP, BZPOPMIN, ...) that wait on a condition woken by
  writes (and re-check every ``poll_interval`` for writes by other processes),
  and CLIENT UNBLOCK;
* the commands it answers itself (:mod:`.commands` sorts them): connection
  and client commands, pub/sub and MONITOR, Lua scripting, TIME;
* the named atomic operations' Python twins (``WALRUS.OP name numkeys ...``);
* its life: clients connect and release it; it closes with the last one.

A plain data command (GET, HSET, ZRANGE ...) needs none of that but the
lock while nobody watches, waits or monitors: :meth:`EmbeddedCore.fast`
gives the engine's own way to run it (``engine.quick(name)``), which the
client calls directly (see ``EmbeddedDatabase.execute_command``).

:class:`~.database.EmbeddedDatabase` is the redis-py client that runs its
commands here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from walrus.drivers.embedded.blocking import BLOCKING, Blocking
from walrus.drivers.embedded.clients import (
    CONNECTION_COMMANDS,
    Client,
    ClientError,
    Clients,
)
from walrus.drivers.embedded.commands import (
    LOCAL_COMMANDS,
    NOT_PLAIN,
    SCRIPT_TIME,
    SCRIPTING_COMMANDS,
    STREAM_COMMANDS,
    arity_error,
    command_name,
    monitor_line,
    per_command,
    script_time_setting,
    writes,
)
from walrus.drivers.embedded.pubsub import MessageBus
from walrus.drivers.embedded.shared import forget
from walrus.drivers.embedded.transactions import (
    EXECABORT,
    TRANSACTION_COMMANDS,
    TransactionAborted,
    pending,
    queue_command,
    queue_error,
    raw_transaction,
)
from walrus.drivers.embedded.transactions import reset as reset_transaction
from walrus.drivers.embedded.types import Command, Engine, ErrorReply, Reply
from walrus.drivers.embedded.watch import WatchedKeys
from walrus.drivers.glob import glob_match
from walrus.drivers.protocol import Capability
from walrus.exceptions import EngineError, command_error

if TYPE_CHECKING:
    from walrus.scripts import Twin

__all__ = ["IN_PROCESS_CAPABILITIES", "EmbeddedCore"]

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


class EmbeddedCore(WatchedKeys):
    """One opened engine: its lock, clients, WATCH versions, blocked readers, bus."""

    poll_interval = 0.05  # seconds between re-checks while a blocking pop waits

    def __init__(self, engine: Engine, twins: dict[str, Twin]) -> None:
        super().__init__(engine)
        self.twins = twins
        self.clients = Clients()
        self._blocked: dict[int, Reply] = {}  # client id -> how CLIENT UNBLOCK woke it
        self.monitors: list[Callable[[bytes], None]] = []
        self.bus = MessageBus()
        self.closed = False
        self.shared_as: str | None = None  # its name in shared_core's registry
        self._holds = 0  # clients about to connect (see shared_core)
        self._scripting: Any = None  # the Lua runtime, made on the first script
        # command name -> the engine's direct way to run it, or None (see fast())
        self.fast_commands: dict[str, Callable[[Command], Reply] | None] = {}

    @property
    def scripting(self) -> Any:
        """The engine's Lua scripting (EVAL, EVALSHA, SCRIPT, FUNCTION, FCALL)."""
        if self._scripting is None:
            from walrus.drivers.lua.scripting import LuaScripting

            self._scripting = LuaScripting(self)
        return self._scripting

    # -- running commands ------------------------------------------------------
    def fast(self, name: str) -> Callable[[Command], Reply] | None:
        """How to run command ``name`` (upper case, as redis-py's methods send
        it) straight on the engine, or None when the core has work to do for
        it: a command the core answers, queues, blocks on or runs per command.
        A named operation (WALRUS.OP) runs its twin at once.

        The caller holds the lock and has checked that nobody watches a key,
        waits in a blocking command or monitors, and that its client has no
        MULTI open and the engine's database selected; then what
        :meth:`_run` adds (WATCH versions, wake-ups, MONITOR lines) is
        nothing. The answer is kept in :attr:`fast_commands` (which a hot
        caller may read first, to save this call).
        """
        if self.closed:
            return None
        if name in self.fast_commands:
            return self.fast_commands[name]
        run: Callable[[Command], Reply] | None = None
        quick = getattr(self.engine, "quick", None)
        if name == "WALRUS.OP":  # a named operation's twin: its calls take call()
            run = self._run_twin
        elif (
            quick is not None
            and name.isupper()
            and " " not in name
            and not per_command(name)
            and name not in TRANSACTION_COMMANDS
            and name not in NOT_PLAIN
            and name not in STREAM_COMMANDS
            and name not in ("CONFIG", "QUIT", "RESET")
        ):
            run = quick(name)
        if len(self.fast_commands) < 4096:  # any name may be sent: bounded
            self.fast_commands[name] = run
        return run

    def execute(self, args: Command, client: Client) -> Reply:
        """Run one command for ``client`` (blocking ones wait without the lock)."""
        if not args:
            return ErrorReply("ERR empty command")
        name = command_name(args)
        blocking = BLOCKING.get(name)
        if blocking is not None and pending(client) is None:  # in MULTI: queued
            return self._wait_for(name, blocking, args, client)
        with self.lock, self.engine.exclusive():  # one unit on a shared file
            return self._run(name, args, client)

    def call(self, *args: bytes) -> Reply:
        """Run a command from a named operation's twin; error replies raise.
        While nobody watches, waits or monitors, a plain data command runs
        straight on the engine (see :meth:`fast`)."""
        command = list(args)
        name = command_name(command)
        run = self.fast(name)
        if run is not None and not (self._watched or self._blocked or self.monitors):
            reply = run(command)
        else:
            reply = self._run(name, command)
        if isinstance(reply, ErrorReply):
            raise command_error(reply.message)
        return reply

    def run_from_script(self, args: Command) -> Reply:
        """Run a command for a script's ``redis.call``: with the lock already
        held, and without blocking (a blocking command runs once, as inside
        MULTI)."""
        return self._run_once(command_name(args), args, None)

    def _run_once(self, name: str, args: Command, client: Client | None) -> Reply:
        """A command that does not block: a blocking one runs once (or is
        queued, in a MULTI sent by hand)."""
        blocking = BLOCKING.get(name)
        if blocking is None or (client is not None and pending(client) is not None):
            return self._run(name, args, client)
        arity = arity_error(name, args)
        parsed = arity or blocking(args)
        if isinstance(parsed, ErrorReply):
            return parsed
        attempt, _ = parsed
        return attempt(lambda *a: self._run(command_name(list(a)), list(a), client))

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
        elif name in NOT_PLAIN:
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
        elif name in LOCAL_COMMANDS:
            reply = LOCAL_COMMANDS[name](args)
        elif name == "CONFIG" and script_time_setting(args):
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
                and writes(name)
            ):
                self._touch(name, args, before)
        for monitor in self.monitors:
            monitor(monitor_line(args))
        return reply

    def _connection_command(self, args: Command, client: Client | None) -> Reply:
        if client is None:  # from a script or a twin: Redis refuses most of these
            if command_name(args) != "SELECT":
                return ErrorReply("ERR This Redis command is not allowed from script")
            client = Client(0, db=self._selected)
        if command_name(args) == "RESET":
            reset_transaction(self, client)
        if (
            command_name(args) == "CLIENT"
            and len(args) > 1
            and args[1].upper() == b"UNBLOCK"
        ):
            return self._unblock(args)
        try:
            reply = self.clients.run(client, args)
        except ClientError as refused:
            return ErrorReply(refused.message)
        if command_name(args) in ("SELECT", "RESET"):
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
                if not atomic or any(per_command(command_name(c)) for c in commands):
                    return [
                        self._run_once(command_name(c), c, client) for c in commands
                    ]
                before = self._digests(commands)
                replies = self.engine.execute_many(commands, atomic)
                for command, reply in zip(commands, replies, strict=True):
                    name = command_name(command)
                    if not isinstance(reply, ErrorReply) and writes(name):
                        self._touch(name, command, before)
                    for monitor in self.monitors:
                        monitor(monitor_line(command))
                return replies
            finally:
                if watched is not None:
                    self.unwatch(watched)

    # -- blocking commands -----------------------------------------------------
    def _wait_for(
        self, name: str, blocking: Blocking, args: Command, client: Client
    ) -> Reply:
        parsed = arity_error(name, args) or blocking(args)
        if isinstance(parsed, ErrorReply):
            return parsed
        attempt, timeout = parsed
        deadline = None if timeout == 0 else time.monotonic() + timeout
        with self.lock:
            if timeout < 0:  # called without its blocking option: run once
                return attempt(
                    lambda *a: self._run(command_name(list(a)), list(a), client)
                )
            self._blocked[client.id] = None
            try:
                while True:
                    reply = attempt(
                        lambda *a: self._run(
                            command_name(list(a)), list(a), client, True
                        )
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
            for name in SCRIPT_TIME:
                if any(glob_match(p.lower(), name) for p in args[2:]):
                    reply += [name, limit]
            return reply
        pairs = list(zip(args[2::2], args[3::2], strict=False))
        if len(args) % 2 or not pairs:
            return ErrorReply("ERR wrong number of arguments for 'config|set' command")
        ours = [v for k, v in pairs if k.lower() in SCRIPT_TIME]
        if not all(v.isdigit() for v in ours):
            return ErrorReply(
                "ERR CONFIG SET failed (possibly related to argument "
                "'lua-time-limit') - argument couldn't be parsed into an integer"
            )
        rest = [p for k, v in pairs if k.lower() not in SCRIPT_TIME for p in (k, v)]
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
            client = self.clients.connect(db)
            # the hold goes once the client is open: a database the collector
            # closes meanwhile (in this thread) does not close the engine
            self._holds = max(0, self._holds - 1)
            return client

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
                self.fast_commands.clear()
                if self.shared_as is not None:
                    forget(self.shared_as, self)
                self.engine.close()
                self._changed.notify_all()
