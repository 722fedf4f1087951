"""Pub/sub for the embedded drivers: an in-process bus and redis-py's PubSub API.

Embedded engines have no server to relay messages, so PUBLISH on an embedded
database hands the message to every subscriber of the same opened database
in this process (threads included), with Redis's channel and glob-pattern
matching. Messages and subscription events have redis-py's shapes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from walrus.drivers.glob import glob_match

__all__ = ["EmbeddedPubSub", "MessageBus"]


class MessageBus:
    """In-process pub/sub: delivers published messages to subscribers' queues."""

    def __init__(self) -> None:
        self._subscribers: list[EmbeddedPubSub] = []

    def attach(self, subscriber: EmbeddedPubSub) -> None:
        if subscriber not in self._subscribers:
            self._subscribers.append(subscriber)

    def detach(self, subscriber: EmbeddedPubSub) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def publish(self, channel: bytes, message: bytes) -> int:
        return sum(s._deliver(channel, message) for s in list(self._subscribers))


class EmbeddedPubSub:
    """redis-py's PubSub interface over the in-process bus."""

    def __init__(self, db: Any, ignore_subscribe_messages: bool = False) -> None:
        self._db = db
        self._bus = db._core.bus
        self.ignore_subscribe_messages = ignore_subscribe_messages
        self.channels: dict[bytes, Callable[[dict[str, Any]], None] | None] = {}
        self.patterns: dict[bytes, Callable[[dict[str, Any]], None] | None] = {}
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()

    @property
    def subscribed(self) -> bool:
        return bool(self.channels or self.patterns)

    def _out(self, value: bytes | None) -> bytes | str | None:
        if value is None or not self._db._decode:
            return value
        decoded: str = self._db._encoder.decode(value)
        return decoded

    def _event(self, kind: str, name: bytes) -> None:
        if not self.ignore_subscribe_messages:
            count = len(self.channels) + len(self.patterns)
            self._queue.put(
                {
                    "type": kind,
                    "pattern": None,
                    "channel": self._out(name),
                    "data": count,
                }
            )

    def _subscribe(
        self,
        table: dict[bytes, Any],
        kind: str,
        args: Sequence[Any],
        handlers: dict[str, Any],
    ) -> None:
        encode = self._db._encoder.encode
        with self._lock:
            for name in args:
                table[encode(name)] = None
                self._event(kind, encode(name))
            for name, handler in handlers.items():
                table[encode(name)] = handler
                self._event(kind, encode(name))
            self._bus.attach(self)

    def subscribe(self, *channels: Any, **handlers: Any) -> None:
        self._subscribe(self.channels, "subscribe", channels, handlers)

    def psubscribe(self, *patterns: Any, **handlers: Any) -> None:
        self._subscribe(self.patterns, "psubscribe", patterns, handlers)

    def _unsubscribe(
        self, table: dict[bytes, Any], kind: str, args: Sequence[Any]
    ) -> None:
        encode = self._db._encoder.encode
        with self._lock:
            names = [encode(a) for a in args] or list(table)
            for name in names:
                table.pop(name, None)
                self._event(kind, name)
            if not self.subscribed:
                self._bus.detach(self)

    def unsubscribe(self, *channels: Any) -> None:
        self._unsubscribe(self.channels, "unsubscribe", channels)

    def punsubscribe(self, *patterns: Any) -> None:
        self._unsubscribe(self.patterns, "punsubscribe", patterns)

    def _deliver(self, channel: bytes, data: bytes) -> int:
        delivered = 0
        with self._lock:
            if channel in self.channels:
                self._queue.put(
                    {
                        "type": "message",
                        "pattern": None,
                        "channel": self._out(channel),
                        "data": self._out(data),
                        "_handler": self.channels[channel],
                    }
                )
                delivered += 1
            for pattern, handler in self.patterns.items():
                if glob_match(pattern, channel):
                    self._queue.put(
                        {
                            "type": "pmessage",
                            "pattern": self._out(pattern),
                            "channel": self._out(channel),
                            "data": self._out(data),
                            "_handler": handler,
                        }
                    )
                    delivered += 1
        return delivered

    def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> dict[str, Any] | None:
        try:
            if timeout is None:
                message = self._queue.get()
            elif timeout <= 0:
                message = self._queue.get_nowait()
            else:
                message = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        handler = message.pop("_handler", None)
        if ignore_subscribe_messages and message["type"] not in ("message", "pmessage"):
            return None
        if handler is not None:
            handler(message)
            return None
        return message

    def listen(self) -> Iterator[dict[str, Any]]:
        while self.subscribed or not self._queue.empty():
            message = self.get_message(timeout=self._db._core.poll_interval)
            if message is not None:
                yield message

    def close(self) -> None:
        with self._lock:
            self.channels.clear()
            self.patterns.clear()
            self._bus.detach(self)

    reset = close

    def __enter__(self) -> EmbeddedPubSub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
