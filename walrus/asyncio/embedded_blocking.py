"""Blocking commands on the async embedded databases: waiting on the loop.

The sync core waits for BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BZPOPMIN/MAX and
XREAD/XREADGROUP BLOCK in a thread's blocking wait; an async client must
not hold its event loop. Here such a command is parsed as the core parses
it (:mod:`walrus.drivers.embedded.blocking`: ``(attempt, timeout)``, Redis's
errors included) and tried without waiting, under the engine lock, as the
core tries it for its own blocked readers. Between tries the coroutine
waits on the loop: until an async client of the same engine in this
process runs a command (:func:`wake_waiters`, called by the database), or
a backoff from 1 ms doubling to the core's poll interval (50 ms) passes,
which is how writes by threads with a sync client and by other processes
on a file are seen. The timeout is honoured (0: forever); a cancelled
wait has popped nothing (each try is atomic, and the coroutine is only
suspended between tries). While it waits the client is registered as
blocked with the core, as a sync reader is: CLIENT UNBLOCK wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from typing import Any

from walrus.drivers.embedded.blocking import BLOCKING, Blocking
from walrus.drivers.embedded.commands import arity_error, command_name
from walrus.drivers.embedded.core import EmbeddedCore
from walrus.drivers.embedded.database import EmbeddedDatabase
from walrus.drivers.embedded.transactions import pending
from walrus.drivers.embedded.types import ErrorReply, Reply

__all__ = [
    "blocking_command",
    "call_soon",
    "wait_event",
    "wait_for_reply",
    "wake_waiters",
]

FIRST_PAUSE = 0.001  # seconds before the second try; doubles up to poll_interval


class _Waiter:
    """One waiting coroutine: its loop and the event that wakes it."""

    __slots__ = ("event", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.event = asyncio.Event()

    def wake(self) -> None:
        call_soon(self.loop, self.event.set)


def call_soon(
    loop: asyncio.AbstractEventLoop, callback: Callable[..., Any], *args: Any
) -> None:
    """Have ``loop`` run ``callback(*args)`` soon (from any thread); nothing
    if the loop is closed (nobody waits on it any more)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


async def wait_event(event: asyncio.Event, seconds: float | None) -> bool:
    """Wait on the loop until ``event`` is set (True) or ``seconds`` pass
    (False; None: no limit)."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


# The coroutines waiting in a blocking command, per engine.
_WAITERS: weakref.WeakKeyDictionary[EmbeddedCore, set[_Waiter]] = (
    weakref.WeakKeyDictionary()
)


def wake_waiters(core: EmbeddedCore) -> None:
    """Wake every coroutine waiting in a blocking command on ``core`` for
    another try (an async client ran a command that may have written)."""
    for waiter in tuple(_WAITERS.get(core, ())):
        waiter.wake()


def blocking_command(
    db: EmbeddedDatabase, first: Any, known: dict[Any, Blocking | None]
) -> Blocking | None:
    """How the core waits for the command whose first argument is
    ``first`` (None: it does not block), decided as the core decides it:
    on the name as it is sent. ``known`` keeps the answers by spelling."""
    try:
        return known[first]
    except (KeyError, TypeError):  # not seen yet, or not hashable
        pass
    word = first
    if isinstance(first, str) and " " in first:  # sent as several words
        words = first.split()
        word = words[0] if words else ""
    blocking = BLOCKING.get(command_name([db._encode(word)]))
    if type(first) in (str, bytes) and len(known) < 1024:
        known[first] = blocking
    return blocking


async def wait_for_reply(
    db: EmbeddedDatabase,
    blocking: Blocking,
    args: tuple[Any, ...],
    options: dict[str, Any],
) -> Any:
    """Run blocking command ``args`` for ``db``'s client, waiting on the
    loop (see the module doc); redis-py's value of the reply (None on
    timeout)."""
    core, client = db._core, db._live_client()
    packed = db.pack(args)
    parsed = arity_error(command_name(packed), packed) or blocking(packed)
    if isinstance(parsed, ErrorReply) or parsed[1] < 0 or pending(client) is not None:
        # an error reply, a command without its blocking option (XREAD with
        # no BLOCK) or one queued in MULTI: the core answers without waiting
        return db.execute_command(*args, **options)
    attempt, timeout = parsed
    loop = asyncio.get_running_loop()
    deadline = None if timeout == 0 else loop.time() + timeout
    waiter = _Waiter(loop)

    def run(*command: bytes) -> Reply:  # quiet: a nil reply wakes nobody
        return core._run(command_name(list(command)), list(command), client, True)

    with core.lock:
        core._blocked[client.id] = None
        _WAITERS.setdefault(core, set()).add(waiter)
    pause = FIRST_PAUSE
    try:
        while True:
            waiter.event.clear()
            with core.lock:
                db._live_client()  # raises once the database is closed
                reply = attempt(run)
                unblocked = core._blocked.get(client.id)
            if reply is not None:
                break
            if unblocked is not None:  # CLIENT UNBLOCK id [TIMEOUT|ERROR]
                reply = None if unblocked == b"TIMEOUT" else unblocked
                break
            wait = pause
            if deadline is not None:
                wait = min(wait, deadline - loop.time())
                if wait <= 0:
                    break
            await wait_event(waiter.event, wait)
            pause = min(pause * 2, core.poll_interval)
    finally:
        with core.lock:
            core._blocked.pop(client.id, None)
            waiters = _WAITERS.get(core)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del _WAITERS[core]
    return db.parse_reply(args[0], reply, options)
