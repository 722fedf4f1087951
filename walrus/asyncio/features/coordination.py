"""Async twin of :mod:`walrus.features.coordination`, generated from ``walrus/features/coordination.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
import math
from typing import TYPE_CHECKING, Any, cast
from walrus.exceptions import InvalidType, InvalidValue
from walrus.features.cache import SecretKeys, Serializer
from walrus.asyncio.features.cache import Cache
from walrus.asyncio.features.counter import Counter
from walrus.asyncio.features.lock import Lock
from walrus.asyncio.features.rate_limit import RateLimit, RateLimitLua

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.coordination import _replaces_redis_lock

__all__ = ["CoordinationFactories"]


class CoordinationFactories:
    """``db.cache()``, ``db.counter()``, ``db.lock()``, ``db.rate_limit()`` ..."""

    def _coordination_driver(self) -> Driver:
        return cast("Driver", self)

    def cache(
        self,
        name: str = "cache",
        default_timeout: float | None = None,
        debug: bool = False,
        serializer: str | Serializer = "pickle",
        secret_key: SecretKeys | None = None,
    ) -> Cache:
        """A :class:`~walrus.features.cache.Cache` named ``name``."""
        return Cache(
            self._coordination_driver(),
            name,
            default_timeout,
            debug,
            serializer=serializer,
            secret_key=secret_key,
        )

    def counter(self, name: str) -> Counter:
        """A :class:`~walrus.features.counter.Counter` in the key ``name``."""
        return Counter(self._coordination_driver(), name)

    @_replaces_redis_lock
    def lock(
        self,
        name: str,
        ttl: int | None = None,
        lock_id: str | None = None,
        *,
        timeout: float | None = None,
        **redis_options: Any,
    ) -> Lock:
        """A :class:`~walrus.features.lock.Lock`; ``ttl`` in milliseconds, or
        redis-py's ``timeout`` in seconds. No I/O.

        It replaces redis-py's ``Redis.lock``; for redis-py's lock and its
        other options use ``redis.lock.Lock(db, name, ...)``.
        """
        if redis_options:
            raise InvalidType(
                f"db.lock() takes name, ttl (ms), lock_id and timeout (s), not {', '.join(sorted(redis_options))}: for redis-py's lock options use redis.lock.Lock(db, name, ...)"
            )
        if timeout is not None:
            if ttl is not None:
                raise InvalidValue("db.lock() takes ttl (ms) or timeout (s), not both")
            if isinstance(timeout, bool) or not isinstance(timeout, int | float):
                raise InvalidType(f"db.lock() timeout is in seconds, not {timeout!r}")
            ttl = math.ceil(timeout * 1000)
        return Lock(self._coordination_driver(), name, ttl, lock_id)

    def rate_limit(
        self, name: str, limit: int = 5, per: float = 60, debug: bool = False
    ) -> RateLimit:
        """A :class:`~walrus.features.rate_limit.RateLimit`: ``limit`` per ``per`` s."""
        return RateLimit(self._coordination_driver(), name, limit, per, debug)

    def rate_limit_lua(
        self, name: str, limit: int = 5, per: float = 60, debug: bool = False
    ) -> RateLimitLua:
        """walrus 0.9's Lua rate limiter (the same atomic limiter as ``rate_limit``)."""
        return RateLimitLua(self._coordination_driver(), name, limit, per, debug)
