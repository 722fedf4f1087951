"""Async twin of :mod:`walrus.features.rate_limit`, generated from ``walrus/features/rate_limit.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from walrus.exceptions import InvalidValue, RateLimitException
from walrus.features.cache import default_key

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.rate_limit import P, R, RateLimitStatus

__all__ = ["RateLimit", "RateLimitLua", "RateLimitStatus"]


class RateLimit:
    """Allow up to ``limit`` events every ``per`` seconds for each key.

    ``debug=True`` admits everything and touches nothing.
    """

    def __init__(
        self,
        database: Driver,
        name: str,
        limit: int = 5,
        per: float = 60,
        debug: bool = False,
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise InvalidValue(f"limit must be a positive int: {limit!r}")
        if isinstance(per, bool) or not isinstance(per, int | float) or per <= 0:
            raise InvalidValue(f"per must be a positive number of seconds: {per!r}")
        self.per_ms = round(per * 1000)
        if self.per_ms < 1:
            raise InvalidValue(f"per must be at least 1 ms: {per!r}")
        self.database = database
        self.name = name
        self._limit = limit
        self.per = per
        self.debug = debug

    def key(self, key: Any) -> str:
        """The Redis key holding ``key``'s event log."""
        return self.database.keyspace(self.name, key)

    async def _run(self, key: Any, record: bool) -> tuple[bool, RateLimitStatus]:
        refused, remaining, wait = await self.database.scripts.run(
            "rate_limit", [self.key(key)], [self._limit, self.per_ms, int(record)]
        )
        return (bool(refused), RateLimitStatus(int(remaining), int(wait) / 1000))

    async def limit(self, key: Any) -> bool:
        """Log an event for ``key``; True if it must be refused (then not logged).

        O(limit); one round trip.
        """
        if self.debug:
            return False
        return (await self._run(key, record=True))[0]

    async def status(self, key: Any) -> RateLimitStatus:
        """How many events ``key`` may still have now, and when the next is allowed.

        Records nothing. O(limit); one round trip.
        """
        if self.debug:
            return RateLimitStatus(self._limit, 0.0)
        return (await self._run(key, record=False))[1]

    async def reset(self, key: Any) -> None:
        """Forget ``key``'s events. One round trip."""
        await self.database.delete(self.key(key))

    def rate_limited(
        self, key_function: Callable[..., Any] | None = None
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorate a function so each call is an event; refused calls raise.

        ``key_function`` gets the call's arguments and returns the key (say,
        the client's address); without it the key is a hash of the
        arguments. A refused call raises
        :class:`~walrus.exceptions.RateLimitException` without running.
        """

        def decorator(fn: Callable[P, R]) -> Callable[P, R]:

            @functools.wraps(fn)
            async def limited(*args: P.args, **kwargs: P.kwargs) -> R:
                if key_function is not None:
                    key = key_function(*args, **kwargs)
                else:
                    key = default_key(args, kwargs)
                if await self.limit(key):
                    raise RateLimitException(
                        f"{fn.__name__}: over {self._limit} calls per {self.per}s for {key!r}"
                    )
                return await fn(*args, **kwargs)

            return limited

        return decorator

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._limit}/{self.per}s>"


class RateLimitLua(RateLimit):
    """walrus 0.9's Lua-scripted rate limiter; :class:`RateLimit` is now atomic
    too (the same named operation), so this is the same limiter."""
