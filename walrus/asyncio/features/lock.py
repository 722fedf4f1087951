"""Async twin of :mod:`walrus.features.lock`, generated from ``walrus/features/lock.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
import asyncio
import contextlib
import functools
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING
from walrus.exceptions import InvalidValue, LockNotHeld, OutcomeUnknown
from walrus.keys import key_text

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.lock import MAX_WAIT, MIN_WAIT, P, R, _OUTAGE, server_time_ms

__all__ = ["Lock", "server_time_ms"]


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

    wake_ttl_ms = 5000
    settle_timeout = 30.0
    strict = False

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
        group = database.keyspace.group(name)
        self.key = group.prefixed("lock")
        self.event = group.prefixed("lock.event")
        self.fence_key = group.prefixed("lock.fence")
        self.fence: int | None = None
        self._in_doubt = False

    @property
    def _keys(self) -> list[str]:
        return [self.key, self.event, self.fence_key]

    @property
    def _lock_id(self) -> str:
        """walrus 0.9's name for :attr:`token` (its tests read it)."""
        return self.token

    async def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Take the lock; with ``block`` wait (at most ``timeout`` seconds) for it.

        Returns whether the lock was acquired; :attr:`fence` then holds its
        fencing token. One round trip when the lock is free; a waiter adds
        one BLPOP per wake-up (a release, the ttl running out, or a re-check
        at least once a second).
        """
        if timeout is not None and timeout < 0:
            raise InvalidValue(f"timeout must be >= 0 seconds: {timeout!r}")
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._in_doubt and await self._settle_acquire(None):
            return True
        retried = False
        while True:
            try:
                acquired, value = await self.database.scripts.run(
                    "lock_acquire",
                    self._keys,
                    [self.token, self.ttl or 0, self.wake_ttl_ms],
                )
            except OutcomeUnknown as exc:
                self._in_doubt = True
                if await self._settle_acquire(exc):
                    return True
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
            with contextlib.suppress(OutcomeUnknown):
                await self.database.blpop([self.event], timeout=max(wait, MIN_WAIT))

    async def _owner(self, failure: OutcomeUnknown | None) -> tuple[bool, int, int]:
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
                owner, fence, ttl = await pipe.execute()
            except _OUTAGE as exc:
                if time.monotonic() + delay > give_up:
                    raise OutcomeUnknown(
                        f"lock {self.name!r}: a reply was lost and the server could not be asked whether {self.token!r} holds the lock; the next acquire() asks again (a ttl frees a lock nobody releases)",
                        "lock",
                    ) from failure or exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            mine = owner is not None and key_text(owner) == self.token
            return (mine, int(fence or 0), int(ttl))

    async def _settle_acquire(self, failure: OutcomeUnknown | None) -> bool:
        """Whether a lost acquire left the lock held by this owner (then it
        is acquired, with its fencing token)."""
        mine, fence, _ = await self._owner(failure)
        self._in_doubt = False
        if mine:
            self.fence = fence
        return mine

    async def release(self) -> bool:
        """Release the lock and wake one waiter: True, or False if this owner
        does not hold it (never acquired, or its ttl ran out) as in walrus
        0.9, when nothing changes. With :attr:`strict`, that raises
        :class:`~walrus.exceptions.LockNotHeld` (a ``RuntimeError``). One
        round trip.
        """
        while True:
            try:
                released = await self.database.scripts.run(
                    "lock_release", self._keys, [self.token, self.wake_ttl_ms, 0]
                )
                break
            except OutcomeUnknown as exc:
                if not (await self._owner(exc))[0]:
                    released = 1
                    break
        self._in_doubt = False
        if not released and self.strict:
            raise LockNotHeld(f"lock {self.name!r} is not held by {self.token!r}")
        return bool(released)

    async def clear(self) -> bool:
        """Release the lock whoever holds it (to recover from a deadlock).

        Returns whether it was held. One round trip.
        """
        return bool(
            await self.database.scripts.run(
                "lock_release", self._keys, [self.token, self.wake_ttl_ms, 1]
            )
        )

    async def extend(self, ms: int) -> int:
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
                await self.database.scripts.run(
                    "lock_extend", self._keys, [self.token, ms, self.wake_ttl_ms]
                )
            )
        except OutcomeUnknown as exc:
            mine, _, remaining = await self._owner(exc)
            ttl = remaining if mine else -2
        if ttl < 0:
            raise LockNotHeld(f"lock {self.name!r} is not held by {self.token!r}")
        return ttl

    async def locked(self) -> bool:
        """Whether anyone holds the lock (EXISTS). One round trip."""
        return bool(await self.database.exists(self.key))

    async def __aenter__(self) -> Lock:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` so each call runs holding the lock."""

        @functools.wraps(fn)
        async def locked(*args: P.args, **kwargs: P.kwargs) -> R:
            async with self:
                return await fn(*args, **kwargs)

        return locked

    def __repr__(self) -> str:
        return f"<Lock {self.name!r} ttl={self.ttl!r}>"
