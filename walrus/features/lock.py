"""Lock: a named mutual-exclusion lock shared by every client of a database.

A lock is three keys: the lock itself (a string holding the owner's token,
``lock:<name>``, walrus 0.9's name), a wake-up list (``lock.event:<name>``)
and the last fencing token handed out (``lock.fence:<name>``). Acquire,
release and extend are named atomic operations (``lua/lock_*.lua`` on a
server, Python twins inside the engine's lock elsewhere).

Waiters never spin: they block on the wake-up list (BLPOP), which a release
pushes to, with a timeout computed from the lock's remaining ttl, so a
holder that dies is replaced as soon as its ttl runs out (sub-second ttls
included). The wake-up list and the fencing-token key expire ``wake_ttl_ms``
after the lock is released, so nothing outlives a lock for long.

Each successful acquire hands out a *fencing token*: an integer larger than
every token handed out before for that lock name (the server's clock in ms,
bumped past the last one), exposed as :attr:`Lock.fence`. Pass it along to
the resources you protect so they can refuse a stale holder's writes.

**Lost replies.** The connection can fail after an acquire reached the
server and before its reply came back (a timeout, a server stall): the
server may hold the lock for this owner while the caller got an error,
and without a ttl nobody would ever release it. Acquire, release and extend
never send their operation twice blindly (see
:class:`~walrus.exceptions.OutcomeUnknown`); they ask the server who holds
the lock (a read, safe to repeat) for up to :attr:`Lock.settle_timeout`
seconds: an acquire that turns out to hold the lock returns True, one that
does not is tried again (once when not blocking, else until its timeout); a
release that did not happen is sent again; an extend returns the ttl the
lock has.
If the server cannot be asked in time, ``OutcomeUnknown`` is raised and the
next ``acquire()`` on this object asks first, so it never waits for a lock
it already holds.
"""

from __future__ import annotations

import contextlib
import functools
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from walrus.exceptions import InvalidValue, LockNotHeld, OutcomeUnknown
from walrus.keys import key_text
from walrus.scripts import Call, twin

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["Lock", "server_time_ms"]

P = ParamSpec("P")
R = TypeVar("R")

MAX_WAIT = 1.0  # the longest a waiter blocks before it re-checks the lock (s)
MIN_WAIT = 0.001  # BLPOP's smallest timeout (0 would mean "forever")
_OUTAGE = (RedisConnectionError, RedisTimeoutError)


class Lock:
    """A lock named ``name``; ``ttl`` (milliseconds) makes it expire if not released.

    Use it as ``threading.Lock``: ``acquire()``/``release()``, a ``with``
    block, or a decorator. ``lock_id`` identifies this owner (a random UUID
    by default); every thread using this object shares it.

    As in walrus 0.9, ``release()`` returns False when this owner does not
    hold the lock (never acquired, or its ttl ran out). Set :attr:`strict`
    (on a lock or on the class) to have it raise
    :class:`~walrus.exceptions.LockNotHeld` instead, and so also at the end
    of a ``with`` block whose lock expired inside it.
    """

    wake_ttl_ms = 5000  # how long the wake-up list outlives a release (ms)
    settle_timeout = 30.0  # how long to ask who holds it after a lost reply (s)
    strict = False  # release() of a lock not held raises LockNotHeld

    def __init__(
        self,
        database: Driver,
        name: str,
        ttl: int | None = None,
        lock_id: str | None = None,
    ) -> None:
        if ttl is not None and (
            isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0
        ):
            raise InvalidValue(f"ttl must be a positive number of ms or None: {ttl!r}")
        self.database = database
        self.name = name
        self.ttl = ttl
        self.token = lock_id or uuid.uuid4().hex
        group = database.keyspace.group(name)  # one cluster slot for all three
        self.key = group.prefixed("lock")
        self.event = group.prefixed("lock.event")
        self.fence_key = group.prefixed("lock.fence")
        self.fence: int | None = None
        self._in_doubt = False  # an acquire's reply was lost and not settled

    @property
    def _keys(self) -> list[str]:
        return [self.key, self.event, self.fence_key]

    @property
    def _lock_id(self) -> str:
        """walrus 0.9's name for :attr:`token` (its tests read it)."""
        return self.token

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Take the lock; with ``block`` wait (at most ``timeout`` seconds) for it.

        Returns whether the lock was acquired; :attr:`fence` then holds its
        fencing token. One round trip when the lock is free; a waiter adds
        one BLPOP per wake-up (a release, the ttl running out, or a re-check
        at least once a second).
        """
        if timeout is not None and timeout < 0:
            raise InvalidValue(f"timeout must be >= 0 seconds: {timeout!r}")
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._in_doubt and self._settle_acquire(None):
            return True
        retried = False
        while True:
            try:
                acquired, value = self.database.scripts.run(
                    "lock_acquire",
                    self._keys,
                    [self.token, self.ttl or 0, self.wake_ttl_ms],
                )
            except OutcomeUnknown as exc:
                self._in_doubt = True
                if self._settle_acquire(exc):
                    return True
                # it did not take the lock (or took it and the ttl ran out):
                # try again, once when not blocking, else until the deadline
                late = deadline is not None and time.monotonic() >= deadline
                if late or (not block and retried):
                    return False
                retried = True
                continue
            if acquired:
                self.fence = int(value)
                return True
            if not block:
                return False
            wait = MAX_WAIT if int(value) < 0 else min(MAX_WAIT, int(value) / 1000)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                wait = min(wait, left)
            # a lost wake-up (OutcomeUnknown): the next check of the lock replaces it
            with contextlib.suppress(OutcomeUnknown):
                self.database.blpop([self.event], timeout=max(wait, MIN_WAIT))

    # -- settling lost replies ----------------------------------------------------
    def _owner(self, failure: OutcomeUnknown | None) -> tuple[bool, int, int]:
        """(held by this owner, fencing token, PTTL), asked again through
        outages for up to ``settle_timeout`` s. One round trip (reads only)."""
        give_up = time.monotonic() + self.settle_timeout
        delay = 0.05
        while True:
            try:
                pipe = self.database.pipeline(transaction=True)
                pipe.get(self.key)
                pipe.get(self.fence_key)
                pipe.pttl(self.key)
                owner, fence, ttl = pipe.execute()
            except _OUTAGE as exc:
                if time.monotonic() + delay > give_up:
                    raise OutcomeUnknown(
                        f"lock {self.name!r}: a reply was lost and the server "
                        f"could not be asked whether {self.token!r} holds the "
                        "lock; the next acquire() asks again (a ttl frees a "
                        "lock nobody releases)",
                        "lock",
                    ) from (failure or exc)
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            mine = owner is not None and key_text(owner) == self.token
            return mine, int(fence or 0), int(ttl)

    def _settle_acquire(self, failure: OutcomeUnknown | None) -> bool:
        """Whether a lost acquire left the lock held by this owner (then it
        is acquired, with its fencing token)."""
        mine, fence, _ = self._owner(failure)
        self._in_doubt = False
        if mine:
            self.fence = fence
        return mine

    def release(self) -> bool:
        """Release the lock and wake one waiter: True, or False if this owner
        does not hold it (never acquired, or its ttl ran out) as in walrus
        0.9, when nothing changes. With :attr:`strict`, that raises
        :class:`~walrus.exceptions.LockNotHeld` (a ``RuntimeError``). One
        round trip.
        """
        while True:
            try:
                released = self.database.scripts.run(
                    "lock_release", self._keys, [self.token, self.wake_ttl_ms, 0]
                )
                break
            except OutcomeUnknown as exc:
                if not self._owner(exc)[0]:
                    released = 1  # it ran: the lock is no longer held by this owner
                    break
        self._in_doubt = False
        if not released and self.strict:
            raise LockNotHeld(f"lock {self.name!r} is not held by {self.token!r}")
        return bool(released)

    def clear(self) -> bool:
        """Release the lock whoever holds it (to recover from a deadlock).

        Returns whether it was held. One round trip.
        """
        return bool(
            self.database.scripts.run(
                "lock_release", self._keys, [self.token, self.wake_ttl_ms, 1]
            )
        )

    def extend(self, ms: int) -> int:
        """Add ``ms`` milliseconds to the ttl of the lock this owner holds.

        Returns the new remaining ttl in ms. One round trip. Raises
        :class:`~walrus.exceptions.LockNotHeld` if this owner does not hold
        it, ``ValueError`` for a lock without ttl or a non-positive ``ms``.
        """
        if isinstance(ms, bool) or not isinstance(ms, int) or ms <= 0:
            raise InvalidValue(f"extend() needs a positive number of ms: {ms!r}")
        if self.ttl is None:
            raise InvalidValue(f"lock {self.name!r} has no ttl to extend")
        try:
            ttl = int(
                self.database.scripts.run(
                    "lock_extend", self._keys, [self.token, ms, self.wake_ttl_ms]
                )
            )
        except OutcomeUnknown as exc:
            mine, _, remaining = self._owner(exc)
            ttl = remaining if mine else -2  # the ttl it has now, extended or not
        if ttl < 0:
            raise LockNotHeld(f"lock {self.name!r} is not held by {self.token!r}")
        return ttl

    def locked(self) -> bool:
        """Whether anyone holds the lock (EXISTS). One round trip."""
        return bool(self.database.exists(self.key))

    def __enter__(self) -> Lock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` so each call runs holding the lock."""

        @functools.wraps(fn)
        def locked(*args: P.args, **kwargs: P.kwargs) -> R:
            with self:
                return fn(*args, **kwargs)

        return locked

    def __repr__(self) -> str:
        return f"<Lock {self.name!r} ttl={self.ttl!r}>"


def server_time_ms(call: Call) -> int:
    """The engine's clock in ms (TIME), inside a named operation's twin."""
    seconds, micros = call(b"TIME")
    return int(seconds) * 1000 + int(micros) // 1000


@twin("lock_acquire")
def _acquire(call: Call, keys: list[bytes], args: list[bytes]) -> list[int]:
    lock, _event, fence_key = keys
    token, ttl, grace = args[0], int(args[1]), int(args[2])
    expiry = [b"PX", str(ttl).encode()] if ttl > 0 else []
    if call(b"SET", lock, token, b"NX", *expiry) is None:
        return [0, call(b"PTTL", lock)]
    fence = max(server_time_ms(call), int(call(b"GET", fence_key) or 0) + 1)
    expiry = [b"PX", str(ttl + grace).encode()] if ttl > 0 else []
    call(b"SET", fence_key, str(fence).encode(), *expiry)
    return [1, fence]


@twin("lock_release")
def _release(call: Call, keys: list[bytes], args: list[bytes]) -> int:
    lock, event, fence_key = keys
    if args[2] != b"1" and call(b"GET", lock) != args[0]:
        return 0
    held: int = call(b"DEL", lock)
    call(b"DEL", event)
    call(b"RPUSH", event, b"1")
    call(b"PEXPIRE", event, args[1])
    call(b"PEXPIRE", fence_key, args[1])
    return held


@twin("lock_extend")
def _extend(call: Call, keys: list[bytes], args: list[bytes]) -> int:
    lock, _event, fence_key = keys
    if call(b"GET", lock) != args[0]:
        return -2
    ttl = max(int(call(b"PTTL", lock)), 0) + int(args[1])
    call(b"PEXPIRE", lock, str(ttl).encode())
    call(b"PEXPIRE", fence_key, str(ttl + int(args[2])).encode())
    return ttl
