"""Factories for the coordination features: cache, counter, lock, rate limits.

``CoordinationFactories`` is mixed into every walrus database (see
:class:`walrus.database.DatabaseAPI`) and gives walrus 0.9's factory methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from walrus.features import coordination_tour as _tour  # noqa: F401  (registers)
from walrus.features.cache import Cache, Serializer
from walrus.features.counter import Counter
from walrus.features.lock import Lock
from walrus.features.rate_limit import RateLimit, RateLimitLua

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

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
        secret_key: str | bytes | None = None,
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

    def _make_lock(
        self, name: str, ttl: int | None = None, lock_id: str | None = None
    ) -> Lock:
        """A :class:`~walrus.features.lock.Lock`; ``ttl`` in milliseconds."""
        return Lock(self._coordination_driver(), name, ttl, lock_id)

    # walrus 0.9's name; it replaces redis-py's ``Redis.lock`` (whose
    # signature differs, hence the loose type): use ``redis.lock.Lock(db,
    # name)`` for redis-py's lock.
    lock: Callable[..., Lock] = _make_lock

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
