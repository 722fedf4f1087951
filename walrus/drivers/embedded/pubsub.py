"""Pub/sub for the embedded drivers: an in-process bus and redis-py's PubSub API.

Embedded engines have no server to relay messages, so PUBLISH on an embedded
database hands the message to every subscriber of the same engine in this
process (every client of it, threads included), with Redis's channel and
glob-pattern matching; PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB
answer from the same bus. A subscriber queues raw replies as a server would
send them (``[b"message", channel, data]``, ``[b"subscribe", channel, count]``
...); ``parse_response`` hands them out raw and ``get_message`` in redis-py's
dict shape, running handlers as redis-py does.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from redis.exceptions import PubSubError

from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.glob import glob_match

__all__ = ["EmbeddedPubSub", "MessageBus", "PubSubThread"]

Handler = Callable[[dict[str, Any]], None] | None
_SUBSCRIBE_KINDS = frozenset(
    (  # noqa: SIM905
        "subscribe unsubscribe psubscribe punsubscribe ssubscribe sunsubscribe"
    ).split()
)


def _arity(name: str) -> ErrorReply:
    return ErrorReply(f"ERR wrong number of arguments for '{name}' command")


class MessageBus:
    """In-process pub/sub: delivers published messages to subscribers' queues."""

    def __init__(self) -> None:
        self._subscribers: list[EmbeddedPubSub] = []
        self._lock = threading.Lock()

    def attach(self, subscriber: EmbeddedPubSub) -> None:
        with self._lock:
            if subscriber not in self._subscribers:
                self._subscribers.append(subscriber)

    def detach(self, subscriber: EmbeddedPubSub) -> None:
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    def _current(self) -> list[EmbeddedPubSub]:
        with self._lock:
            return list(self._subscribers)

    def publish(self, channel: bytes, message: bytes, sharded: bool = False) -> int:
        """Deliver to every matching subscription; the number of deliveries."""
        return sum(s._deliver(channel, message, sharded) for s in self._current())

    # -- commands --------------------------------------------------------------
    def publish_command(self, args: Command) -> Reply:
        """PUBLISH / SPUBLISH channel message."""
        name = args[0].decode("ascii", "replace").lower()
        if len(args) != 3:
            return _arity(name)
        return self.publish(args[1], args[2], sharded=name == "spublish")

    def pubsub_command(self, args: Command) -> Reply:
        """PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB|HELP."""
        if len(args) < 2:
            return _arity("pubsub")
        sub, rest = args[1].upper(), args[2:]
        subscribers = self._current()
        if sub in (b"CHANNELS", b"SHARDCHANNELS") and len(rest) <= 1:
            table = "shard_channels" if sub == b"SHARDCHANNELS" else "channels"
            names = {n for s in subscribers for n in getattr(s, table)}
            if rest:
                names = {n for n in names if glob_match(rest[0], n)}
            return sorted(names)
        if sub in (b"NUMSUB", b"SHARDNUMSUB"):
            table = "shard_channels" if sub == b"SHARDNUMSUB" else "channels"
            reply: list[Reply] = []
            for channel in rest:
                count = sum(channel in getattr(s, table) for s in subscribers)
                reply += [channel, count]
            return reply
        if sub == b"NUMPAT" and not rest:
            return len({p for s in subscribers for p in s.patterns})
        if sub == b"HELP" and not rest:
            return [
                b"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                b"CHANNELS [<pattern>]",
                b"NUMPAT",
                b"NUMSUB [<channel> ...]",
                b"SHARDCHANNELS [<pattern>]",
                b"SHARDNUMSUB [<shardchannel> ...]",
            ]
        shown = args[1].decode("utf-8", "replace")
        if sub in (b"CHANNELS", b"SHARDCHANNELS", b"NUMPAT", b"HELP"):
            return _arity(f"pubsub|{shown.lower()}")
        return ErrorReply(f"ERR unknown subcommand '{shown}'. Try PUBSUB HELP.")


class EmbeddedPubSub:
    """redis-py's PubSub interface over the in-process bus."""

    def __init__(
        self,
        db: Any,
        ignore_subscribe_messages: bool = False,
        **_: Any,  # redis-py's connection options: nothing to connect to
    ) -> None:
        self._db = db
        self._bus = db._core.bus
        self.ignore_subscribe_messages = ignore_subscribe_messages
        self.channels: dict[bytes, Handler] = {}
        self.patterns: dict[bytes, Handler] = {}
        self.shard_channels: dict[bytes, Handler] = {}
        self._queue: queue.Queue[list[Any] | bytes] = queue.Queue()
        self._lock = threading.Lock()
        self._unread = 0  # unsubscribe replies queued but not read yet

    @property
    def subscribed(self) -> bool:
        """Subscribed to something, or an unsubscribe not yet read (as in
        redis-py: the flag falls when the last unsubscribe reply is read)."""
        return bool(
            self.channels or self.patterns or self.shard_channels or self._unread
        )

    def _out(self, value: bytes | None) -> bytes | str | None:
        if value is None or not self._db._decode:
            return value
        decoded: str = self._db._encoder.decode(value)
        return decoded

    def _key(self, name: Any) -> bytes:
        encoded: bytes = self._db._encoder.encode(name)
        return encoded

    # -- subscriptions -----------------------------------------------------------
    def _subscribe(
        self,
        table: dict[bytes, Handler],
        kind: bytes,
        args: Sequence[Any],
        handlers: dict[str, Any],
    ) -> None:
        wanted: list[tuple[bytes, Handler]] = [(self._key(a), None) for a in args]
        wanted += [(self._key(k), h) for k, h in handlers.items()]
        if not wanted:
            raise PubSubError(f"{kind.decode().upper()} needs at least one name")
        with self._lock:
            for name, handler in wanted:
                table[name] = handler
                self._queue.put([kind, name, self._count(kind)])
            self._bus.attach(self)

    def _count(self, kind: bytes) -> int:
        if kind in (b"ssubscribe", b"sunsubscribe"):
            return len(self.shard_channels)
        return len(self.channels) + len(self.patterns)

    def subscribe(self, *channels: Any, **handlers: Any) -> None:
        self._subscribe(self.channels, b"subscribe", channels, handlers)

    def psubscribe(self, *patterns: Any, **handlers: Any) -> None:
        self._subscribe(self.patterns, b"psubscribe", patterns, handlers)

    def ssubscribe(self, *channels: Any, **handlers: Any) -> None:
        self._subscribe(self.shard_channels, b"ssubscribe", channels, handlers)

    def _unsubscribe(
        self, table: dict[bytes, Handler], kind: bytes, args: Sequence[Any]
    ) -> None:
        with self._lock:
            names = [self._key(a) for a in args] or list(table)
            if not names:
                self._queue.put([kind, None, self._count(kind)])
                self._unread += 1
            for name in names:
                table.pop(name, None)
                self._queue.put([kind, name, self._count(kind)])
                self._unread += 1
            if not self.subscribed:
                self._bus.detach(self)

    def unsubscribe(self, *channels: Any) -> None:
        self._unsubscribe(self.channels, b"unsubscribe", channels)

    def punsubscribe(self, *patterns: Any) -> None:
        self._unsubscribe(self.patterns, b"punsubscribe", patterns)

    def sunsubscribe(self, *channels: Any) -> None:
        self._unsubscribe(self.shard_channels, b"sunsubscribe", channels)

    def ping(self, message: Any = None) -> None:
        """Queue PING's answer (read it with ``parse_response``/``get_message``)."""
        data = b"" if message is None else self._key(message)
        if self.subscribed:
            self._queue.put([b"pong", data])
        else:
            self._queue.put(b"PONG" if message is None else data)

    def _deliver(self, channel: bytes, data: bytes, sharded: bool) -> int:
        delivered = 0
        with self._lock:
            if sharded:
                if channel in self.shard_channels:
                    self._queue.put([b"smessage", channel, data])
                    delivered += 1
                return delivered
            if channel in self.channels:
                self._queue.put([b"message", channel, data])
                delivered += 1
            for pattern in self.patterns:
                if glob_match(pattern, channel):
                    self._queue.put([b"pmessage", pattern, channel, data])
                    delivered += 1
        return delivered

    # -- reading -------------------------------------------------------------------
    def parse_response(self, block: bool = True, timeout: float = 0) -> Any:
        """The next raw reply (``None`` if none came within ``timeout``)."""
        try:
            if timeout:
                return self._queue.get(timeout=timeout)
            return self._queue.get() if block else self._queue.get_nowait()
        except queue.Empty:
            return None

    def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> dict[str, Any] | None:
        """The next message in redis-py's shape (``None``: none within
        ``timeout`` seconds, or it went to a handler or was ignored)."""
        if not self.subscribed and self._queue.empty():
            if timeout:
                time.sleep(timeout)  # as redis-py does with no subscription
            return None
        try:
            if timeout is None:
                raw = self._queue.get()
            elif timeout <= 0:
                raw = self._queue.get_nowait()
            else:
                raw = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return self.handle_message(raw, ignore_subscribe_messages)

    def get_sharded_message(
        self,
        ignore_subscribe_messages: bool = False,
        timeout: float | None = 0.0,
        target_node: Any = None,
    ) -> dict[str, Any] | None:
        return self.get_message(ignore_subscribe_messages, timeout)

    def handle_message(
        self, raw: list[Any] | bytes, ignore_subscribe_messages: bool = False
    ) -> dict[str, Any] | None:
        """A raw reply as redis-py's message dict, or None once handled."""
        if not isinstance(raw, list):  # PING's answer outside subscribed mode
            return {
                "type": "pong",
                "pattern": None,
                "channel": None,
                "data": self._out(raw),
            }
        kind = raw[0].decode()
        if kind == "pmessage":
            message = {
                "type": kind,
                "pattern": self._out(raw[1]),
                "channel": self._out(raw[2]),
                "data": self._out(raw[3]),
            }
        elif kind == "pong":
            message = {
                "type": kind,
                "pattern": None,
                "channel": None,
                "data": self._out(raw[1]),
            }
        else:
            data = raw[2] if kind in _SUBSCRIBE_KINDS else self._out(raw[2])
            message = {
                "type": kind,
                "pattern": None,
                "channel": self._out(raw[1]),
                "data": data,
            }
        if kind in _SUBSCRIBE_KINDS:
            if kind.endswith("unsubscribe"):
                with self._lock:
                    self._unread = max(0, self._unread - 1)
            if self.ignore_subscribe_messages or ignore_subscribe_messages:
                return None
            return message
        if kind in ("message", "pmessage", "smessage"):
            table = {
                "message": self.channels,
                "pmessage": self.patterns,
                "smessage": self.shard_channels,
            }[kind]
            handler = table.get(raw[1])
            if handler is not None:
                handler(message)
                return None
        return message

    def listen(self) -> Iterator[dict[str, Any]]:
        """Messages as they come, while subscribed."""
        while self.subscribed or not self._queue.empty():
            message = self.get_message(timeout=self._db._core.poll_interval)
            if message is not None:
                yield message

    def run_in_thread(
        self,
        sleep_time: float = 0.0,
        daemon: bool = False,
        exception_handler: Callable[[BaseException, Any, Any], None] | None = None,
        **_: Any,
    ) -> PubSubThread:
        """Run every subscription's handler in a thread (all must have one)."""
        for table in (self.channels, self.patterns, self.shard_channels):
            for name, handler in table.items():
                if handler is None:
                    raise PubSubError(f"Channel: '{name!r}' has no handler registered")
        thread = PubSubThread(self, sleep_time, daemon, exception_handler)
        thread.start()
        return thread

    def close(self) -> None:
        with self._lock:
            self.channels.clear()
            self.patterns.clear()
            self.shard_channels.clear()
            self._unread = 0
            self._bus.detach(self)

    reset = close

    def __enter__(self) -> EmbeddedPubSub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PubSubThread(threading.Thread):
    """Delivers an EmbeddedPubSub's messages to their handlers until ``stop()``."""

    def __init__(
        self,
        pubsub: EmbeddedPubSub,
        sleep_time: float,
        daemon: bool,
        exception_handler: Callable[[BaseException, Any, Any], None] | None,
    ) -> None:
        super().__init__(daemon=daemon)
        self.pubsub = pubsub
        self.sleep_time = sleep_time or pubsub._db._core.poll_interval
        self.exception_handler = exception_handler
        self._running = threading.Event()

    def run(self) -> None:
        self._running.set()
        while self._running.is_set():
            try:
                self.pubsub.get_message(True, timeout=self.sleep_time)
            except BaseException as exc:
                if self.exception_handler is None:
                    raise
                self.exception_handler(exc, self.pubsub, self)
        self.pubsub.close()

    def stop(self) -> None:
        self._running.clear()
