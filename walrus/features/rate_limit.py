"""RateLimit: at most ``limit`` events per ``per`` seconds for each key.

Each key keeps a log of its admitted events' times (a list, newest first,
at most ``limit`` long, in ``<name>:<key>``; seconds since the epoch as text,
walrus 0.9's format). An event is admitted when
fewer than ``limit`` logged events are younger than ``per`` seconds, so no
window of ``per`` seconds ever holds more than ``limit`` admitted events.
Refused events are not logged. Deciding and logging is one named atomic
operation (``lua/rate_limit.lua``, or its Python twin in the engine's lock)
that reads the server's clock, so clients with skewed clocks agree; the log
expires ``per`` seconds after its newest event.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, ParamSpec, TypeVar

from walrus.exceptions import InvalidValue, RateLimitException
from walrus.features.cache import default_key
from walrus.scripts import Call, twin

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["RateLimit", "RateLimitLua", "RateLimitStatus"]

P = ParamSpec("P")
R = TypeVar("R")


class RateLimitStatus(NamedTuple):
    """How a key stands: events ``remaining`` now, and seconds until one is allowed."""

    remaining: int
    retry_after: float  # 0.0 when an event would be admitted now


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

    def _run(self, key: Any, record: bool) -> tuple[bool, RateLimitStatus]:
        refused, remaining, wait = self.database.scripts.run(
            "rate_limit",
            [self.key(key)],
            [self._limit, self.per_ms, int(record)],
        )
        return bool(refused), RateLimitStatus(int(remaining), int(wait) / 1000)

    def limit(self, key: Any) -> bool:
        """Log an event for ``key``; True if it must be refused (then not logged).

        O(limit); one round trip.
        """
        if self.debug:
            return False
        return self._run(key, record=True)[0]

    def status(self, key: Any) -> RateLimitStatus:
        """How many events ``key`` may still have now, and when the next is allowed.

        Records nothing. O(limit); one round trip.
        """
        if self.debug:
            return RateLimitStatus(self._limit, 0.0)
        return self._run(key, record=False)[1]

    def reset(self, key: Any) -> None:
        """Forget ``key``'s events. One round trip."""
        self.database.delete(self.key(key))

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
            def limited(*args: P.args, **kwargs: P.kwargs) -> R:
                if key_function is not None:
                    key = key_function(*args, **kwargs)
                else:
                    key = default_key(args, kwargs)
                if self.limit(key):
                    raise RateLimitException(
                        f"{fn.__name__}: over {self._limit} calls per {self.per}s "
                        f"for {key!r}"
                    )
                return fn(*args, **kwargs)

            return limited

        return decorator

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._limit}/{self.per}s>"


class RateLimitLua(RateLimit):
    """walrus 0.9's Lua-scripted rate limiter; :class:`RateLimit` is now atomic
    too (the same named operation), so this is the same limiter."""


@twin("rate_limit")
def _rate_limit(call: Call, keys: list[bytes], args: list[bytes]) -> list[int]:
    limit, per, record = int(args[0]), int(args[1]) / 1000, args[2] == b"1"
    seconds, micros = (int(part) for part in call(b"TIME"))
    now = seconds + micros / 1_000_000
    log = call(b"LRANGE", keys[0], b"0", str(limit - 1).encode())
    times = [float(t) for t in log]
    used = 0
    for when in times:
        if now - when >= per:
            break
        used += 1
    refused = used >= limit
    if not refused and record:
        call(b"LPUSH", keys[0], b"%d.%06d" % (seconds, micros))
        call(b"LTRIM", keys[0], b"0", str(limit - 1).encode())
        call(b"PEXPIRE", keys[0], args[1])
        times.insert(0, now)
        used += 1
    wait = (
        math.floor((times[limit - 1] + per - now) * 1000 + 0.5) if used >= limit else 0
    )
    return [int(refused), limit - used, wait]
