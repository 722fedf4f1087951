"""Transactions on the embedded core, with Redis's rules.

Redis checks each command as it is queued inside MULTI: an unknown command,
a wrong number of arguments or a command not allowed in a transaction is
refused at once and makes EXEC answer EXECABORT, running nothing
(:func:`queue_error`). Errors found while the transaction runs come back in
place of their replies. A transactional pipeline queues everything and asks
the core once; MULTI, EXEC, DISCARD, WATCH and UNWATCH sent as plain
commands (``db.execute_command('MULTI')``) keep their state per client and
per thread (:class:`RawTransaction`), as redis-py's connection pool gives
each thread its own connection.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from walrus.drivers.command_table import COMMANDS
from walrus.drivers.embedded.types import Command, ErrorReply, Reply

if TYPE_CHECKING:
    from walrus.drivers.embedded.clients import Client
    from walrus.drivers.embedded.core import EmbeddedCore

__all__ = [
    "EXECABORT",
    "TRANSACTION_COMMANDS",
    "RawTransaction",
    "TransactionAborted",
    "pending",
    "queue_command",
    "queue_error",
    "raw_transaction",
    "reset",
]

EXECABORT = "EXECABORT Transaction discarded because of previous errors."
TRANSACTION_COMMANDS = frozenset({"MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"})
# Subscriptions belong to pubsub() objects, never to a transaction.
SUBSCRIBING = frozenset(
    (  # noqa: SIM905
        "SUBSCRIBE PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE"
    ).split()
)
# Never available on an embedded engine, so refused while queueing too.
NEVER = frozenset(("DEBUG", "SHUTDOWN", "SYNC", "PSYNC", "MONITOR"))

Watched = dict[tuple[int, bytes], tuple[int, bool]]


@dataclass(frozen=True)
class TransactionAborted(ErrorReply):
    """EXEC's answer when queueing refused commands (``queued``: index and
    error of each): nothing ran."""

    queued: tuple[tuple[int, ErrorReply], ...] = ()


def _upper(raw: bytes) -> str:
    return raw.upper().decode("ascii", "replace")


def queue_error(args: Command) -> ErrorReply | None:
    """The error Redis gives a command while queueing it inside MULTI (unknown
    command, wrong arity, not allowed in a transaction), or None."""
    name = _upper(args[0])
    info = COMMANDS.get(name)
    if info is None:
        if name == "WALRUS.OP":
            return None
        shown = "".join(f"'{a.decode('utf-8', 'replace')[:128]}' " for a in args[1:])
        return ErrorReply(
            f"ERR unknown command '{args[0].decode('utf-8', 'replace')[:128]}', "
            f"with args beginning with: {shown}"
        )
    if len(args) > 1 and f"{name} {_upper(args[1])}" in COMMANDS:
        sub = f"{name} {_upper(args[1])}"
        info, shown = COMMANDS[sub], sub.lower().replace(" ", "|")
    else:
        shown = name.lower()
    arity, flags = info[0], info[1].split()
    if (arity > 0 and len(args) != arity) or len(args) < -arity:
        return ErrorReply(f"ERR wrong number of arguments for '{shown}' command")
    if "no_multi" in flags or name in SUBSCRIBING:
        return ErrorReply(f"ERR Command '{shown}' not allowed inside a transaction")
    if name in NEVER:
        return ErrorReply(f"ERR {name} is not available on an embedded database")
    return None


@dataclass
class RawTransaction:
    """One thread's MULTI/WATCH state on one client."""

    open: bool = False
    failed: bool = False
    queued: list[Command] = field(default_factory=list)
    watched: Watched = field(default_factory=dict)


def _state(client: Client) -> RawTransaction:
    state: RawTransaction = client.transactions.setdefault(
        threading.get_ident(), RawTransaction()
    )
    return state


def _forget(core: EmbeddedCore, client: Client) -> None:
    """End this thread's transaction and watches."""
    state = client.transactions.pop(threading.get_ident(), None)
    if state is not None:
        core.unwatch(state.watched)


def pending(client: Client) -> RawTransaction | None:
    """This thread's open MULTI on ``client``, if any."""
    state: RawTransaction | None = client.transactions.get(threading.get_ident())
    return state if state is not None and state.open else None


def queue_command(state: RawTransaction, args: Command) -> Reply:
    """Queue a command inside MULTI (or refuse it, dooming the transaction)."""
    error = queue_error(args)
    if error is not None:
        state.failed = True
        return error
    state.queued.append(args)
    return b"QUEUED"


def raw_transaction(
    core: EmbeddedCore, client: Client, name: str, args: Command
) -> Reply:
    """MULTI, EXEC, DISCARD, WATCH or UNWATCH sent as a plain command."""
    state = _state(client)
    if name == "EXEC":
        if len(args) != 1:  # Redis 6.0.6+: a bad EXEC discards the transaction
            _forget(core, client)
            return ErrorReply(
                "EXECABORT Transaction discarded because of: wrong number of "
                "arguments for 'exec' command"
            )
        if not state.open:
            return ErrorReply("ERR EXEC without MULTI")
        queued, failed, watched = state.queued, state.failed, state.watched
        client.transactions.pop(threading.get_ident(), None)
        if failed:
            core.unwatch(watched)
            return ErrorReply(EXECABORT)
        return core.execute_many(queued, True, watched or None, client)
    if state.open:  # MULTI, WATCH inside MULTI: refused, the transaction doomed
        if name == "DISCARD":
            _forget(core, client)
            return b"OK"
        return queue_command(state, args)
    if name == "MULTI":
        if len(args) != 1:
            return ErrorReply("ERR wrong number of arguments for 'multi' command")
        state.open = True
        return b"OK"
    if name == "DISCARD":
        return ErrorReply("ERR DISCARD without MULTI")
    if name == "WATCH":
        if len(args) < 2:
            return ErrorReply("ERR wrong number of arguments for 'watch' command")
        core.watch(args[1:], state.watched, client)
        return b"OK"
    core.unwatch(state.watched)  # UNWATCH
    return b"OK"


def reset(core: EmbeddedCore, client: Client) -> None:
    """RESET: this thread's transaction and watches end."""
    _forget(core, client)
