"""Async twin of :mod:`walrus.features.stream_worker`, generated from ``walrus/features/stream_worker.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from collections.abc import AsyncIterator
from walrus.asyncio._runtime import Event, on_signal
import random
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from walrus.exceptions import EngineError, InvalidValue
from walrus.features.containers.stream import _messages
from walrus.features.group_stream import pending_entry, slot_groups, wire

if TYPE_CHECKING:
    from walrus.asyncio.features.consumer_group import ConsumerGroup
from walrus.features.stream_worker import (
    Delivery,
    FIRST_BACKOFF,
    T,
    WorkerOptions,
    _Stopped,
    _ms,
    _seconds,
    log,
)

__all__ = ["Delivery", "StreamWorker", "WorkerOptions"]


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
        claim_idle: int = 60000,
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
        self.outages = 0
        self.processed = 0
        self.failed = 0
        self.dead_lettered = 0
        self.current: Delivery | None = None
        self._stop = Event()
        self._next_claim = 0.0
        self._cursors: dict[Any, Any] = dict.fromkeys(group.keys, "0-0")
        self._history: dict[Any, Any] | None = None

    def __repr__(self) -> str:
        return f"<StreamWorker {self.group!r}>"

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
            on_signal(number, lambda *_: self.stop())

    async def __aiter__(self) -> AsyncIterator[Delivery]:
        """Deliveries, forever or until stopped; each acknowledged once the
        loop body for it has finished (unless it called ``nack()``)."""
        done: dict[Any, list[Any]] = {}
        try:
            while not self._stop.is_set():
                batch = await self._survive(self._next_batch)
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
                await self._survive(lambda: self._ack(done))
        except _Stopped:
            return
        finally:
            self.current = None
            await self._last_ack(done)

    async def run(self, handler: Callable[[Delivery], Any]) -> int:
        """Call ``handler`` with each message until stopped; an exception in
        it is logged and leaves the message pending. The number acked."""
        before = self.processed
        async for delivery in self:
            try:
                await handler(delivery)
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

    async def _survive(self, operation: Callable[[], T]) -> T:
        """``operation()``, tried again through an outage (see the module)."""
        started: float | None = None
        delay = FIRST_BACKOFF
        while True:
            try:
                result = await operation()
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if isinstance(exc, EngineError):
                    raise
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
                if await self._stop.wait(delay * random.uniform(0.5, 1.0)):
                    raise _Stopped from exc
                delay = min(delay * 2, self.max_backoff)
                continue
            if started is not None:
                log.warning(
                    "%r: reconnected after %.1f s", self, time.monotonic() - started
                )
            return result

    async def _last_ack(self, done: dict[Any, list[Any]]) -> None:
        """Ack what is done as the loop ends; in an outage, leave it pending."""
        try:
            await self._ack(done)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if isinstance(exc, EngineError):
                raise
            log.warning(
                "%r: could not acknowledge %d handled messages as the loop ended (%s): they stay pending and will be delivered again",
                self,
                sum((len(ids) for ids in done.values())),
                exc,
            )

    async def _next_batch(self) -> list[Delivery]:
        if time.monotonic() >= self._next_claim:
            batch = await self._reclaim()
            if batch:
                return batch
        return await self._read()

    async def _read(self) -> list[Delivery]:
        """New messages; after an outage, this consumer's pending ones first."""
        while self._history is not None:
            batch = await self._read_ids(self._history, None)
            if not batch:
                self._history = None
                break
            for delivery in batch:
                self._history[delivery.stream] = delivery.message_id
            kept = [d for d in batch if d.data]
            if kept:
                return kept
        return await self._read_ids(dict.fromkeys(self.group.keys, ">"), self.block)

    async def _read_ids(self, ids: dict[Any, Any], block: int | None) -> list[Delivery]:
        """XREADGROUP of ``ids`` (``{key: '>' or an id}``) as deliveries."""
        group = self.group
        found = await group._read_group(
            ids, self.count, block, operation="consume", wait=self._stop.wait
        )
        batch: list[Delivery] = []
        for key, messages in found:
            given = group.streams[key].key
            batch += [Delivery(given, i, data) for i, data in messages]
        return batch

    async def _ack(self, done: dict[Any, list[Any]]) -> None:
        if not any(done.values()):
            return
        pipe = self.database.pipeline(transaction=False)
        for key, ids in done.items():
            if ids:
                pipe.xack(key, self.group.name, *ids)
        await self._execute(pipe)
        self.processed += sum((len(ids) for ids in done.values()))
        done.clear()

    async def _execute(self, pipe: Any) -> list[Any]:
        """Send a pipeline the worker built (acks, pending counts, dead letters)."""
        return await self.group._execute(pipe)

    async def _reclaim(self) -> list[Delivery]:
        """Take over messages idle for ``claim_idle`` ms; dead-letter those
        delivered too often. One round trip, two more when it claimed some."""
        self._next_claim = time.monotonic() + self.claim_every / 1000
        group = self.group
        results = await group._run(
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
        for delivery, pending in zip(claimed, await self._execute(pipe), strict=True):
            if pending:
                entry = pending_entry(pending[0])
                delivery.times_delivered = int(entry["times_delivered"])
        limit = self.max_deliveries
        dead = [d for d in claimed if limit is not None and d.times_delivered > limit]
        if dead:
            await self._bury(dead)
        buried = {id(d) for d in dead}
        return [d for d in claimed if id(d) not in buried]

    async def _bury(self, dead: list[Delivery]) -> None:
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
            await self._execute(pipe)
            pipe = self.database.pipeline(transaction=False)
        for delivery in dead:
            pipe.xack(delivery.stream, self.group.name, delivery.message_id)
        await self._execute(pipe)
        self.dead_lettered += len(dead)
        for delivery in dead:
            log.warning(
                "%r %r delivered %d times: moved to dead-letter stream %r",
                delivery.stream,
                delivery.message_id,
                delivery.times_delivered - 1,
                self.dead_letter,
            )
