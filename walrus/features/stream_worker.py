"""StreamWorker: consume a consumer group, forever or until stopped.

``cg.consume(...)`` gives a worker; iterate it, or give it a handler::

    worker = cg.consume(block=1000, count=10, max_deliveries=5)
    for message in worker:          # acked once the loop body has finished
        handle(message.data)        # an exception here leaves it pending

    worker.run(handle)              # same, but an exception in handle() is
                                    # logged and the loop goes on

What it does for you:

* **acknowledge on success**: a message is acknowledged after the loop body
  (or the handler) finished without an exception; acks are sent once per
  batch. ``message.nack()`` leaves one pending on purpose.
* **reclaim**: every ``claim_every`` ms (and when it starts) the worker takes
  over messages pending for longer than ``claim_idle`` ms with any consumer
  (XAUTOCLAIM), such as those of a consumer that died, and its own failures.
* **dead letters**: a message delivered more than ``max_deliveries`` times
  is not delivered again: it is added to the ``dead_letter`` stream (its
  fields plus ``walrus-stream``, ``walrus-id``, ``walrus-group`` and
  ``walrus-deliveries``) and acknowledged, in one transaction when the
  dead-letter stream shares the streams' slot (always, off a cluster); on a
  cluster otherwise the copy is written first and the ack sent after it, so
  a crash in between dead-letters the message twice but never loses it.
* **clean stop**: :meth:`StreamWorker.stop` (from any thread, or a signal
  with :meth:`StreamWorker.stop_on_signals`) lets the current message finish,
  acks what is done and ends the loop, within ``block`` ms when it is waiting.
  Messages of the batch not yet handled stay pending and are reclaimed later.
* **outages**: when the server cannot be reached (a connection error, a
  timeout, a lost reply, a server still loading its data), the worker waits
  and tries again, with exponential backoff up to ``max_backoff`` seconds,
  for as long as the outage lasts, or until ``give_up_after`` seconds, when
  the error is raised. Then it sends the acks it still owes (acking twice
  is harmless) and first reads its own pending messages (XREADGROUP from
  id 0: those delivered to it by a read whose reply was lost), then new
  ones: nothing acknowledged to a producer is lost, nothing it handled is
  handed to it again.

Steady state: one blocking read (XREADGROUP) per batch, plus one round trip
acknowledging the batch. On a cluster, both are one round trip per node the
group's streams are on; streams in several slots are read by polling them
(:meth:`~walrus.ConsumerGroup.read`), and :meth:`StreamWorker.stop` is then
noticed between two polls. Streams that share a hash tag (``'{jobs}:a'``,
``'{jobs}:b'``) keep the one blocking read.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from walrus.exceptions import EngineError, InvalidType, InvalidValue
from walrus.features.containers.stream import _messages
from walrus.features.group_stream import pending_entry, slot_groups, wire

if TYPE_CHECKING:
    from walrus.features.consumer_group import ConsumerGroup

__all__ = ["Delivery", "StreamWorker", "WorkerOptions"]

log = logging.getLogger("walrus.stream_worker")

T = TypeVar("T")
FIRST_BACKOFF = 0.05  # seconds before the first attempt after a failure


class _Stopped(Exception):
    """stop() was called while the worker waited out an outage."""


@dataclass
class Delivery:
    """A message handed to the worker's loop: ``stream`` (the key as given to
    the group), ``message_id``, ``data`` (fields) and ``times_delivered``."""

    stream: Any
    message_id: Any
    data: dict[Any, Any]
    times_delivered: int = 1
    nacked: bool = field(default=False, repr=False)

    def nack(self) -> None:
        """Do not acknowledge this message: it stays pending and is delivered
        again after ``claim_idle`` ms (until ``max_deliveries``)."""
        self.nacked = True


class WorkerOptions(TypedDict, total=False):
    """The options of :class:`StreamWorker` (and of ``cg.consume()``)."""

    block: int
    count: int
    claim_idle: int
    claim_every: int | None
    max_deliveries: int | None
    dead_letter: Any
    stop_when_empty: bool
    give_up_after: float | None
    max_backoff: float


def _seconds(value: Any, what: str, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidType(f"{what} is a number of seconds, not {value!r}")
    if not value >= 0:
        raise InvalidValue(f"{what} must be >= 0 seconds, not {value}")
    return float(value)


def _ms(value: Any, what: str, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidType(f"{what} must be an int (ms), not {type(value).__name__}")
    if value < 0:
        raise InvalidValue(f"{what} must be >= 0, not {value}")
    return value


class StreamWorker:
    """Consumes ``group`` as its consumer; see the module documentation.

    ``block``: ms a read waits for messages (also how soon :meth:`stop` is
    noticed while waiting); ``count``: messages per stream per read;
    ``claim_idle``: ms after which another consumer's pending message is
    taken over; ``claim_every``: ms between reclaims (``claim_idle`` by
    default); ``max_deliveries``: deliveries before a message is
    dead-lettered (None: no limit); ``dead_letter``: the dead-letter stream's
    key (``'<group>:dead-letter'`` by default); ``stop_when_empty``: end the
    loop when a read finds nothing (batch jobs, tests); ``give_up_after``:
    seconds of a continuous outage after which the connection error is
    raised (None: never give up); ``max_backoff``: the longest wait, in
    seconds, between two attempts during an outage.
    """

    def __init__(
        self,
        group: ConsumerGroup,
        *,
        block: int = 1000,
        count: int = 10,
        claim_idle: int = 60_000,
        claim_every: int | None = None,
        max_deliveries: int | None = None,
        dead_letter: Any = None,
        stop_when_empty: bool = False,
        give_up_after: float | None = None,
        max_backoff: float = 5.0,
    ) -> None:
        self.group = group
        self.database = group.database
        self.block: int | None = _ms(block, "block")
        batch = _ms(count, "count")
        if not batch:
            raise InvalidValue("count must be > 0")
        self.count = batch
        self.claim_idle = _ms(claim_idle, "claim_idle") or 0
        every = _ms(claim_every, "claim_every", allow_none=True)
        self.claim_every = self.claim_idle if every is None else every
        limit = _ms(max_deliveries, "max_deliveries", allow_none=True)
        if limit == 0:
            raise InvalidValue("max_deliveries must be > 0 (or None: no limit)")
        self.max_deliveries = limit
        if dead_letter is None:
            dead_letter = self.database.keyspace(group.name, "dead-letter")
        self.dead_letter = dead_letter
        self.stop_when_empty = stop_when_empty
        self.give_up_after = _seconds(give_up_after, "give_up_after", True)
        self.max_backoff = _seconds(max_backoff, "max_backoff") or FIRST_BACKOFF
        self.outages = 0  # outages waited out
        self.processed = 0  # messages acknowledged
        self.failed = 0  # handler failures (run())
        self.dead_lettered = 0
        self.current: Delivery | None = None
        self._stop = threading.Event()
        self._next_claim = 0.0  # reclaim at once when the loop starts
        self._cursors: dict[Any, Any] = dict.fromkeys(group.keys, "0-0")
        # after an outage: where each stream's own pending messages are read
        self._history: dict[Any, Any] | None = None

    def __repr__(self) -> str:
        return f"<StreamWorker {self.group!r}>"

    # -- control -------------------------------------------------------------------
    def stop(self) -> None:
        """End the loop after the current message (safe from any thread)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop_on_signals(self, *signals: int) -> None:
        """Make these signals (SIGINT and SIGTERM by default) call :meth:`stop`
        (main thread only, as ``signal.signal``)."""
        for number in signals or (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: self.stop())

    # -- the loop ------------------------------------------------------------------
    def __iter__(self) -> Iterator[Delivery]:
        """Deliveries, forever or until stopped; each acknowledged once the
        loop body for it has finished (unless it called ``nack()``)."""
        done: dict[Any, list[Any]] = {}
        try:
            while not self._stop.is_set():
                batch = self._survive(self._next_batch)
                if not batch and self.stop_when_empty:
                    return
                for delivery in batch:
                    if self._stop.is_set():
                        break
                    self.current = delivery
                    yield delivery
                    self.current = None
                    if not delivery.nacked:
                        done.setdefault(delivery.stream, []).append(delivery.message_id)
                self._survive(lambda: self._ack(done))
        except _Stopped:
            return
        finally:
            self.current = None
            self._last_ack(done)

    def run(self, handler: Callable[[Delivery], Any]) -> int:
        """Call ``handler`` with each message until stopped; an exception in
        it is logged and leaves the message pending. The number acked."""
        before = self.processed
        for delivery in self:
            try:
                handler(delivery)
            except Exception:
                self.failed += 1
                delivery.nack()
                log.exception(
                    "handler failed on %r %r (delivery %d); left pending",
                    delivery.stream,
                    delivery.message_id,
                    delivery.times_delivered,
                )
        return self.processed - before

    # -- outages -------------------------------------------------------------------
    def _survive(self, operation: Callable[[], T]) -> T:
        """``operation()``, tried again through an outage (see the module)."""
        started: float | None = None
        delay = FIRST_BACKOFF
        while True:
            try:
                result = operation()
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if isinstance(exc, EngineError):
                    raise  # an embedded engine closed or broken: not an outage
                now = time.monotonic()
                if started is None:
                    started = now
                    self.outages += 1
                    self._history = dict.fromkeys(self.group.keys, "0")
                    log.warning(
                        "%r: the server is unreachable (%s); retrying", self, exc
                    )
                if (
                    self.give_up_after is not None
                    and now - started >= self.give_up_after
                ):
                    log.error(
                        "%r: giving up after %.1f s of outage", self, now - started
                    )
                    raise
                if self._stop.wait(delay * random.uniform(0.5, 1.0)):
                    raise _Stopped from exc
                delay = min(delay * 2, self.max_backoff)
                continue
            if started is not None:
                log.warning(
                    "%r: reconnected after %.1f s", self, time.monotonic() - started
                )
            return result

    def _last_ack(self, done: dict[Any, list[Any]]) -> None:
        """Ack what is done as the loop ends; in an outage, leave it pending."""
        try:
            self._ack(done)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if isinstance(exc, EngineError):
                raise
            log.warning(
                "%r: could not acknowledge %d handled messages as the loop ended "
                "(%s): they stay pending and will be delivered again",
                self,
                sum(len(ids) for ids in done.values()),
                exc,
            )

    # -- commands ------------------------------------------------------------------
    def _next_batch(self) -> list[Delivery]:
        if time.monotonic() >= self._next_claim:
            batch = self._reclaim()
            if batch:
                return batch
        return self._read()

    def _read(self) -> list[Delivery]:
        """New messages; after an outage, this consumer's pending ones first."""
        while self._history is not None:
            batch = self._read_ids(self._history, None)
            if not batch:
                self._history = None
                break
            for delivery in batch:
                self._history[delivery.stream] = delivery.message_id
            kept = [d for d in batch if d.data]  # {}: deleted from the stream
            if kept:
                return kept
        return self._read_ids(dict.fromkeys(self.group.keys, ">"), self.block)

    def _read_ids(self, ids: dict[Any, Any], block: int | None) -> list[Delivery]:
        """XREADGROUP of ``ids`` (``{key: '>' or an id}``) as deliveries."""
        group = self.group
        found = group._read_group(
            ids, self.count, block, operation="consume", wait=self._stop.wait
        )
        batch: list[Delivery] = []
        for key, messages in found:
            given = group.streams[key].key  # the key as given to the group
            batch += [Delivery(given, i, data) for i, data in messages]
        return batch

    def _ack(self, done: dict[Any, list[Any]]) -> None:
        if not any(done.values()):
            return
        pipe = self.database.pipeline(transaction=False)
        for key, ids in done.items():
            if ids:
                pipe.xack(key, self.group.name, *ids)
        self._execute(pipe)
        self.processed += sum(len(ids) for ids in done.values())
        done.clear()

    def _execute(self, pipe: Any) -> list[Any]:
        """Send a pipeline the worker built (acks, pending counts, dead letters)."""
        return self.group._execute(pipe)

    def _reclaim(self) -> list[Delivery]:
        """Take over messages idle for ``claim_idle`` ms; dead-letter those
        delivered too often. One round trip, two more when it claimed some."""
        self._next_claim = time.monotonic() + self.claim_every / 1000
        group = self.group
        results = group._run(
            "consume",
            lambda pipe, key: pipe.xautoclaim(
                key,
                group.name,
                group.consumer_name,
                self.claim_idle,
                self._cursors[key],
                count=self.count,
            ),
        )
        claimed: list[Delivery] = []
        for key, reply in results.items():
            self._cursors[key] = reply[0]
            claimed += [Delivery(key, i, data) for i, data in _messages(reply[1])]
        if not claimed:
            return []
        pipe = self.database.pipeline(transaction=False)
        for delivery in claimed:
            pipe.xpending_range(
                delivery.stream,
                group.name,
                delivery.message_id,
                delivery.message_id,
                1,
                consumername=group.consumer_name,
            )
        for delivery, pending in zip(claimed, self._execute(pipe), strict=True):
            if pending:
                entry = pending_entry(pending[0])
                delivery.times_delivered = int(entry["times_delivered"])
        limit = self.max_deliveries
        dead = [d for d in claimed if limit is not None and d.times_delivered > limit]
        if dead:
            self._bury(dead)
        buried = {id(d) for d in dead}
        return [d for d in claimed if id(d) not in buried]

    def _bury(self, dead: list[Delivery]) -> None:
        """Move messages to the dead-letter stream and ack them.

        One transaction (MULTI/EXEC, one round trip) when the dead-letter
        stream and the messages' streams share a slot (always on a single
        server). On a cluster, when they do not, the XADDs go first (one
        plain pipeline) and the XACKs after them (another): a crash between
        the two leaves the messages pending, so they are delivered again and
        may be dead-lettered twice, but never lost (at least once).
        """
        streams = {wire(d.stream): d.stream for d in dead}.values()
        together = len(slot_groups(self.database, [self.dead_letter, *streams]))
        pipe = self.database.pipeline(transaction=together == 1)
        for delivery in dead:
            fields = dict(delivery.data)
            fields.update(
                {
                    "walrus-stream": delivery.stream,
                    "walrus-id": delivery.message_id,
                    "walrus-group": self.group.name,
                    "walrus-deliveries": delivery.times_delivered - 1,
                }
            )
            pipe.xadd(self.dead_letter, fields)
        if together > 1:
            self._execute(pipe)  # the copies are safe before anything is acked
            pipe = self.database.pipeline(transaction=False)
        for delivery in dead:
            pipe.xack(delivery.stream, self.group.name, delivery.message_id)
        self._execute(pipe)
        self.dead_lettered += len(dead)
        for delivery in dead:
            log.warning(
                "%r %r delivered %d times: moved to dead-letter stream %r",
                delivery.stream,
                delivery.message_id,
                delivery.times_delivered - 1,
                self.dead_letter,
            )
