"""The async ledisdb driver: ``walrus.asyncio.AsyncLedisDatabase``.

``AsyncLedisDatabase`` is to :class:`walrus.drivers.ledis.database.LedisDatabase`
what ``AsyncDatabase`` is to ``Database``: a ``redis.asyncio.Redis`` (RESP2
only: ledisdb has no ``HELLO``) whose ``execute_command`` packs the Redis
command, translates it into the sync driver's I/O-free plan of ledisdb
commands (:mod:`walrus.drivers.ledis.plan`, ``commands``, ``containers``) and
runs the plan's batches over redis.asyncio's connections, one write and one
read of the replies per batch. Everything but the sending is the sync
driver's: the translation, the stepping (:func:`~walrus.drivers.ledis.plan.advance`),
the pipeline schedule (:func:`~walrus.drivers.ledis.plan.pipeline_rounds`),
the reply parsing, capabilities and refusals
(:class:`~walrus.drivers.ledis.database.LedisClient`), so it sends the
same commands in the same round trips.

Named operations run their Python twins client-side, as in the sync driver
(**not atomic**). A twin calls ``call(*command)`` and waits for its reply; to
run it without blocking the event loop on a socket, the executor replays it
(:func:`~walrus.drivers.ledis.plan.twin_steps`): each new command the twin
asks for is sent with ``await``, and the twin is run again with the replies
known so far. See ``docs/drivers-ledis.md``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import redis.asyncio
import redis.asyncio.client
from redis.exceptions import ResponseError

from walrus.asyncio.api import AsyncDatabaseAPI
from walrus.drivers.embedded.replies import parse_pipeline
from walrus.drivers.ledis.database import (
    LedisClient,
    LedisPipelineShell,
    ledis_url,
)
from walrus.drivers.ledis.plan import (
    Command,
    Plan,
    Raw,
    Translate,
    advance,
    pipeline_rounds,
    twin_steps,
)

__all__ = ["AsyncLedisDatabase", "AsyncLedisPipeline", "drive", "drive_many"]

AsyncSend = Callable[[list[Command]], Awaitable[list[Raw]]]


# -- the async executors: the sync ones' loops, awaiting each batch -------------------
async def drive(plan: Plan, send: AsyncSend, translate: Translate) -> Raw:
    """Run one plan to its Redis reply, awaiting ``send`` for each batch (the
    async twin of :func:`walrus.drivers.ledis.plan.drive`: the same batches)."""
    if plan.local is not None:
        twin = twin_steps(plan.local)
        reply: Raw = None
        try:
            while True:
                command = twin.send(reply)
                reply = await drive(translate(list(command)), send, translate)
        except StopIteration as stop:
            return stop.value
    assert plan.steps is not None
    run = plan.steps
    batch, reply = advance(run, None)
    while batch is not None:
        batch, reply = advance(run, await send(batch))
    return reply


async def drive_many(
    plans: Sequence[Plan], send: AsyncSend, translate: Translate
) -> list[Raw]:
    """Run plans in order (a pipeline), as the sync ``drive_many`` does: a run
    of one-round plans costs one round trip, any other plan runs alone."""
    rounds = pipeline_rounds(plans)
    answer: Raw = None
    try:
        while True:
            work = rounds.send(answer)
            if isinstance(work, Plan):
                answer = await drive(work, send, translate)
            else:
                answer = await send(work)
    except StopIteration as stop:
        results: list[Raw] = stop.value
        return results


# -- the database ------------------------------------------------------------------
class AsyncLedisDatabase(LedisClient, AsyncDatabaseAPI, redis.asyncio.Redis):  # type: ignore[misc]
    """A walrus database on a ledisdb server, for asyncio (RESP2 over
    redis.asyncio's connections).

    ``AsyncLedisDatabase(host='localhost', port=6380, db=0, **redis_kwargs)``
    or ``AsyncLedisDatabase.from_url('ledis://host:6380/0')``; the arguments
    of :class:`~walrus.drivers.ledis.database.LedisDatabase`, the same
    commands and round trips, each command awaited. Close it with
    ``await db.aclose()`` or ``async with db:``.
    """

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> AsyncLedisDatabase:  # type: ignore[override]
        """A database for ``ledis://host:port/db`` (or ``redis://``, ``unix://``);
        ``aclose()`` closes its connections."""
        url, own = ledis_url(url, kwargs)
        pool = redis.asyncio.ConnectionPool.from_url(url, protocol=2, **kwargs)
        database = cls(connection_pool=pool, **own)
        database.auto_close_connection_pool = True
        return database

    # -- commands ------------------------------------------------------------------
    async def execute_command(self, *args: Any, **options: Any) -> Any:
        """Translate, run and parse one command. One round trip per plan step."""
        reply = await drive(self.plan(args), self.send_batch, self._translate)
        return self.parse_reply(args[0], reply, options)

    async def ledis_command(self, *args: Any) -> Any:
        """Send a native ledisdb command as it is (``HCLEAR``). One round trip."""
        reply = (await self.send_batch([tuple(self.pack(args))]))[0]
        return self.parse_reply(None, reply, {})

    async def send_batch(self, batch: list[Command]) -> list[Raw]:
        """Send commands in one write and await their raw replies (errors as
        values).

        One round trip; retried after a connection error as redis.asyncio
        retries a command (the connection's ``retry`` policy).
        """
        await self.initialize()  # a single-connection client's connection
        own = self.connection
        connection: Any = own or await self.connection_pool.get_connection()
        if own is not None:
            await self._single_conn_lock.acquire()
        try:
            replies: list[Raw] = await connection.retry.call_with_retry(
                lambda: _exchange(connection, batch),
                lambda error: connection.disconnect(),
            )
            return replies
        except BaseException:  # replies may be left unread (a cancelled read)
            await connection.disconnect(nowait=True)
            raise
        finally:
            if own is not None:
                self._single_conn_lock.release()
            else:
                await self.connection_pool.release(connection)

    # -- walrus services -------------------------------------------------------------
    def pipeline(  # type: ignore[override]
        self, transaction: bool = True, shard_hint: str | None = None
    ) -> AsyncLedisPipeline:
        """A pipeline; ``transaction=True`` raises unless opened non-atomic."""
        self._refuse_transaction(transaction)
        return AsyncLedisPipeline(self)

    async def run_named_operation(
        self, name: str, keys: Sequence[Any], args: Sequence[Any], client: Any = None
    ) -> Any:
        """Run a named operation's Python twin client-side, each of its commands
        translated (several round trips, **not atomic**); a user's script with
        no twin is sent to ledisdb's Lua as it is (EVAL, one round trip). With
        ``client`` (a pipeline of this database), queued on it: the pipeline
        is returned."""
        command = self._named_command(name, keys, args)
        if client is not None:
            return client.execute_command(*command)
        return await self.execute_command(*command)


class AsyncLedisPipeline(LedisPipelineShell, redis.asyncio.client.Pipeline):  # type: ignore[misc]
    """Queued commands, sent by ``await pipe.execute()``: never atomic
    (ledisdb has no MULTI).

    Consecutive commands that translate to one round trip each share one
    batch; an emulated command runs alone, after those before it.
    """

    _db: AsyncLedisDatabase

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Run the queued commands (every plan is built before anything is sent)."""
        db, pipe = self._db, self
        try:
            plans = [db.plan(args) for args, _ in self.command_stack]
            replies = await drive_many(plans, db.send_batch, db._translate)
            return parse_pipeline(pipe, db, replies, raise_on_error)  # type: ignore[arg-type]
        finally:
            await self.reset()

    async def reset(self) -> None:  # type: ignore[override]
        self.command_stack = []
        self.scripts = set()
        self.watching = False
        self.explicit_transaction = False

    def __repr__(self) -> str:
        return f"<AsyncLedisPipeline {self._db!r}>"


async def _exchange(connection: Any, batch: list[Command]) -> list[Raw]:
    await connection.send_packed_command(connection.pack_commands(batch))
    replies: list[Raw] = []
    for _ in batch:
        try:
            replies.append(await connection.read_response(disable_decoding=True))
        except ResponseError as exc:
            replies.append(exc)
    return replies
