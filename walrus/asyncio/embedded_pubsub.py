"""Pub/sub of the async embedded databases: redis.asyncio's PubSub API.

An :class:`AsyncEmbeddedPubSub` subscribes through a sync
:class:`~walrus.drivers.embedded.pubsub.EmbeddedPubSub` on the engine's
in-process bus (same matching, same message shapes, same decoding), whose
deliveries also wake the coroutine waiting for a message: PUBLISH by any
client of the engine in this process (sync or async, any thread) wakes it
at once, without polling. Handlers may be plain functions or coroutine
functions (awaited before ``get_message`` returns), as in redis.asyncio.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from redis.exceptions import PubSubError

from walrus.asyncio.embedded_blocking import call_soon, wait_event
from walrus.drivers.embedded.database import EmbeddedDatabase
from walrus.drivers.embedded.pubsub import EmbeddedPubSub

__all__ = ["AsyncEmbeddedPubSub"]


class _Subscriber(EmbeddedPubSub):
    """The sync subscriber behind an async one: a delivery wakes its loop."""

    def __init__(self, db: Any, wake: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(db, **kwargs)
        self._wake = wake

    def _deliver(self, channel: bytes, data: bytes, sharded: bool) -> int:
        delivered = super()._deliver(channel, data, sharded)
        if delivered:
            self._wake()
        return delivered


class AsyncEmbeddedPubSub:
    """redis.asyncio's PubSub interface over the in-process bus."""

    def __init__(
        self, db: EmbeddedDatabase, ignore_subscribe_messages: bool = False, **_: Any
    ) -> None:
        self._sync = _Subscriber(
            db, self._wake, ignore_subscribe_messages=ignore_subscribe_messages
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event = asyncio.Event()
        self._handled: deque[Awaitable[Any]] = deque()  # coroutine handlers' calls

    def _wake(self) -> None:
        if self._loop is not None:
            call_soon(self._loop, self._event.set)

    @property
    def channels(self) -> dict[bytes, Any]:
        return self._sync.channels

    @property
    def patterns(self) -> dict[bytes, Any]:
        return self._sync.patterns

    @property
    def shard_channels(self) -> dict[bytes, Any]:
        return self._sync.shard_channels

    @property
    def subscribed(self) -> bool:
        return self._sync.subscribed

    # -- subscriptions ------------------------------------------------------------
    def _handlers(self, handlers: dict[str, Any]) -> dict[str, Any]:
        return {name: self._handler(h) for name, h in handlers.items()}

    def _handler(self, handler: Any) -> Any:
        """``handler`` as the sync subscriber calls it; a coroutine it returns
        is awaited by :meth:`get_message`."""
        if handler is None:
            return None

        def call(message: dict[str, Any]) -> None:
            result = handler(message)
            if inspect.isawaitable(result):
                self._handled.append(result)

        return call

    async def subscribe(self, *channels: Any, **handlers: Any) -> None:
        self._sync.subscribe(*channels, **self._handlers(handlers))
        self._wake()

    async def psubscribe(self, *patterns: Any, **handlers: Any) -> None:
        self._sync.psubscribe(*patterns, **self._handlers(handlers))
        self._wake()

    async def ssubscribe(self, *channels: Any, **handlers: Any) -> None:
        self._sync.ssubscribe(*channels, **self._handlers(handlers))
        self._wake()

    async def unsubscribe(self, *channels: Any) -> None:
        self._sync.unsubscribe(*channels)
        self._wake()

    async def punsubscribe(self, *patterns: Any) -> None:
        self._sync.punsubscribe(*patterns)
        self._wake()

    async def sunsubscribe(self, *channels: Any) -> None:
        self._sync.sunsubscribe(*channels)
        self._wake()

    async def ping(self, message: Any = None) -> None:
        """Queue PING's answer (read it with ``get_message``)."""
        self._sync.ping(message)
        self._wake()

    # -- reading --------------------------------------------------------------------
    async def _next(self, timeout: float | None) -> Any:
        """The next raw reply, waiting on the loop up to ``timeout`` seconds
        (None: while subscribed); None if none came."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._event = loop, asyncio.Event()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            self._event.clear()
            try:
                return self._sync._queue.get_nowait()
            except queue.Empty:
                pass
            if not self.subscribed:
                return None
            wait = None if deadline is None else deadline - loop.time()
            if wait is not None and wait <= 0:
                return None
            if not await wait_event(self._event, wait):
                return None

    async def parse_response(self, block: bool = True, timeout: float = 0) -> Any:
        """The next raw reply (None if none came within ``timeout``)."""
        return await self._next(timeout or (None if block else 0))

    async def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> dict[str, Any] | None:
        """The next message in redis-py's shape (None: none within ``timeout``
        seconds, or it went to a handler or was ignored)."""
        if not self.subscribed and self._sync._queue.empty():
            if timeout:
                await asyncio.sleep(timeout)  # as redis.asyncio with no subscription
            return None
        raw = await self._next(None if timeout is None else max(timeout, 0))
        if raw is None:
            return None
        message = self._sync.handle_message(raw, ignore_subscribe_messages)
        while self._handled:
            await self._handled.popleft()
        return message

    async def get_sharded_message(
        self,
        ignore_subscribe_messages: bool = False,
        timeout: float | None = 0.0,
        target_node: Any = None,
    ) -> dict[str, Any] | None:
        return await self.get_message(ignore_subscribe_messages, timeout)

    async def listen(self) -> AsyncIterator[dict[str, Any]]:
        """Messages as they come, while subscribed."""
        while self.subscribed or not self._sync._queue.empty():
            message = await self.get_message(timeout=None)
            if message is not None:
                yield message

    async def run(
        self,
        *,
        exception_handler: Callable[[BaseException, Any], Any] | None = None,
        poll_timeout: float = 1.0,
    ) -> None:
        """Deliver messages to their handlers until cancelled (every
        subscription needs a handler), as redis.asyncio's ``run``."""
        for table in (self.channels, self.patterns, self.shard_channels):
            for name, handler in table.items():
                if handler is None:
                    raise PubSubError(f"Channel: '{name!r}' has no handler registered")
        while True:
            try:
                await self.get_message(True, timeout=poll_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if exception_handler is None:
                    raise
                result = exception_handler(exc, self)
                if inspect.isawaitable(result):
                    await result
            await asyncio.sleep(0)  # let other tasks run between messages

    async def aclose(self) -> None:
        """Unsubscribe from everything."""
        self._sync.close()
        self._wake()

    close = reset = aclose

    async def __aenter__(self) -> AsyncEmbeddedPubSub:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
