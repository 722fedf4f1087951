"""The ledisdb driver: a redis-py client whose commands are translated for ledisdb.

ledisdb speaks RESP, so :class:`LedisDatabase` is a ``redis.Redis`` on
redis-py's own connections (the ``ledis`` PyPI client is not needed). Its
``execute_command`` packs the Redis command as redis-py would send it,
:func:`~walrus.drivers.ledis.commands.translate`\\s it into a plan of ledisdb
commands, runs the plan's batches on one pooled connection each, and gives
the Redis-shaped reply to redis-py's response callbacks, so every redis-py
command method returns what it returns on a Redis server. Every decision
about the mapping lives in the I/O-free modules ``plan``, ``commands`` and
``containers`` of this package; this module only sends. What the async
driver (:mod:`walrus.asyncio.ledis`) shares with it, packing, parsing replies
and refusing, is :class:`LedisClient`.

What ledisdb cannot do (transactions, WATCH, pub/sub, MONITOR, streams,
HyperLogLog, BITFIELD, float sorted-set scores) raises
:class:`~walrus.exceptions.UnsupportedOperation`. Named operations run their
Python twins client-side: **not atomic** (ledisdb runs Lua, but not
atomically against other clients, and walrus's Lua bodies use Redis commands
ledisdb lacks). See ``docs/drivers-ledis.md``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import redis
from redis.client import EMPTY_RESPONSE, Pipeline
from redis.exceptions import ResponseError

from walrus.api import DatabaseAPI
from walrus.drivers.embedded.replies import parse_pipeline, redis_value
from walrus.drivers.ledis.commands import translate
from walrus.drivers.ledis.plan import Command, Context, Plan, Raw, drive, drive_many
from walrus.drivers.protocol import Capability
from walrus.exceptions import UnsupportedOperation
from walrus.scripts import TWINS

__all__ = [
    "LEDIS_CAPABILITIES",
    "LedisClient",
    "LedisDatabase",
    "LedisPipeline",
    "ledis_url",
]

LEDIS_CAPABILITIES = frozenset(
    {
        Capability.LUA,  # EVAL runs, but not atomically against other clients
        Capability.BLOCKING,  # BLPOP/BRPOP/BRPOPLPUSH are native
        Capability.BLOCKING_CROSS_PROCESS,
        Capability.EXPIRY,  # in whole seconds
        Capability.PERSISTENT,
        Capability.SHARED_ACROSS_PROCESSES,
    }
)

NO_TRANSACTIONS = (
    "ledisdb has no MULTI/EXEC; use pipeline(transaction=False), or open the "
    "database with non_atomic_transactions=True to run such pipelines "
    "without atomicity"
)


class LedisClient:
    """What the sync and async ledisdb databases share, without I/O: packing,
    translating, parsing replies, capabilities and what ledisdb refuses.

    Mixed into :class:`LedisDatabase` and
    :class:`walrus.asyncio.ledis.AsyncLedisDatabase` before their redis-py
    client class, which gives ``get_encoder`` and ``response_callbacks``.
    """

    _non_atomic_transactions: bool
    _context: Context
    _encoder: Any
    if TYPE_CHECKING:  # from the client class and DatabaseAPI
        connection_pool: Any

        def get_encoder(self) -> Any: ...

        def script_source(self, name: str) -> str: ...

        def _init_walrus(
            self, script_dir: str | os.PathLike[str] | bool | None
        ) -> None: ...

    def __init__(
        self,
        host: str = "localhost",
        port: int = 6380,
        db: int = 0,
        *,
        script_dir: str | os.PathLike[str] | bool | None = None,
        non_atomic_transactions: bool = False,
        **kwargs: Any,
    ) -> None:
        """The client class's arguments (RESP2 only), ``script_dir`` and
        ``non_atomic_transactions``; nothing is sent."""
        _require_resp2(kwargs.pop("protocol", 2))
        client_init: Any = super().__init__
        client_init(host=host, port=port, db=db, protocol=2, **kwargs)
        self._non_atomic_transactions = non_atomic_transactions
        self._context = Context()
        self._encoder = self.get_encoder()
        self._init_walrus(script_dir)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """No transactions, WATCH, pub/sub or MONITOR; Lua is not atomic."""
        return LEDIS_CAPABILITIES

    @property
    def backend_name(self) -> str:
        return "ledis"

    def pack(self, args: Sequence[Any]) -> list[bytes]:
        """Encode a command's arguments as redis-py would send them."""
        first = args[0]
        if isinstance(first, str) and " " in first:
            args = (*first.split(), *args[1:])
        return [self._encoder.encode(a) for a in args]

    def plan(self, args: Sequence[Any]) -> Plan:
        """The ledisdb plan of a redis-py command (UnsupportedOperation if none)."""
        return self._translate(self.pack(args))

    def _translate(self, args: Sequence[bytes]) -> Plan:
        return translate(args, self._context)

    def parse_reply(
        self, command_name: Any, reply: Raw, options: dict[str, Any]
    ) -> Any:
        """Turn a plan's RESP2 reply into what redis-py would have returned."""
        if isinstance(reply, ResponseError):
            if EMPTY_RESPONSE in options:
                return options[EMPTY_RESPONSE]
            raise reply
        return redis_value(self, self._encoder, "ledis", command_name, reply, options)

    def _refuse_transaction(self, transaction: bool) -> None:
        """``pipeline(transaction=True)`` raises unless opened non-atomic."""
        if transaction and not self._non_atomic_transactions:
            raise UnsupportedOperation(
                "ledis", "pipeline(transaction=True)", NO_TRANSACTIONS
            )

    def _named_command(
        self, name: str, keys: Sequence[Any], args: Sequence[Any]
    ) -> tuple[Any, ...]:
        """The command running a named operation: its twin (WALRUS.OP), or a
        user's script with no twin as ledisdb Lua (EVAL)."""
        if name in TWINS:
            return ("WALRUS.OP", name, len(keys), *keys, *args)
        return ("EVAL", self.script_source(name), len(keys), *keys, *args)

    def pubsub(self, **kwargs: Any) -> NoReturn:
        raise UnsupportedOperation("ledis", "pubsub", "ledisdb has no pub/sub")

    def monitor_lines(self) -> NoReturn:
        raise UnsupportedOperation("ledis", "stream_log", "ledisdb has no MONITOR")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.connection_pool!r}>"


def ledis_url(url: str, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``from_url``'s redis-py URL for ``ledis://...`` (or ``redis://``,
    ``unix://``), and the database's own options taken out of ``kwargs``
    (which is left with the connection pool's, ``protocol`` checked)."""
    if url.startswith("ledis://"):
        url = "redis://" + url.removeprefix("ledis://")
    own: dict[str, Any] = {
        name: kwargs.pop(name)
        for name in ("script_dir", "non_atomic_transactions")
        if name in kwargs
    }
    _require_resp2(kwargs.pop("protocol", 2))
    return url, own


class LedisDatabase(LedisClient, DatabaseAPI, redis.Redis):
    """A walrus database on a ledisdb server (RESP2 over redis-py's connections).

    ``LedisDatabase(host='localhost', port=6380, db=0, **redis_kwargs)``;
    ``non_atomic_transactions=True`` lets ``pipeline(transaction=True)`` and
    ``db.atomic()`` run as plain, non-atomic pipelines instead of raising.
    """

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> LedisDatabase:
        """A database for ``ledis://host:port/db`` (or ``redis://``, ``unix://``);
        ``close()`` closes its connections."""
        url, own = ledis_url(url, kwargs)
        pool = redis.ConnectionPool.from_url(url, protocol=2, **kwargs)
        database = cls(connection_pool=pool, **own)
        database.auto_close_connection_pool = True
        return database

    # -- commands ------------------------------------------------------------------
    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Translate, run and parse one command. One round trip per plan step."""
        reply = drive(self.plan(args), self.send_batch, self._translate)
        return self.parse_reply(args[0], reply, options)

    def ledis_command(self, *args: Any) -> Any:
        """Send a native ledisdb command as it is (``HCLEAR``). One round trip."""
        reply = self.send_batch([tuple(self.pack(args))])[0]
        return self.parse_reply(None, reply, {})

    def send_batch(self, batch: list[Command]) -> list[Raw]:
        """Send commands in one write and read their raw replies (errors as values).

        One round trip; retried after a connection error as redis-py retries
        a command (the connection's ``retry`` policy).
        """
        own = self.connection
        connection: Any = own or self.connection_pool.get_connection()
        lock: Any = self.single_connection_lock if own else contextlib.nullcontext()
        try:
            with lock:
                replies: list[Raw] = connection.retry.call_with_retry(
                    lambda: _exchange(connection, batch),
                    lambda error: connection.disconnect(),
                )
                return replies
        except BaseException:
            connection.disconnect()
            raise
        finally:
            if own is None:
                self.connection_pool.release(connection)

    # -- walrus services -------------------------------------------------------------
    def pipeline(
        self, transaction: bool = True, shard_hint: str | None = None
    ) -> LedisPipeline:
        """A pipeline; ``transaction=True`` raises unless opened non-atomic."""
        self._refuse_transaction(transaction)
        return LedisPipeline(self)

    def run_named_operation(
        self, name: str, keys: Sequence[Any], args: Sequence[Any], client: Any = None
    ) -> Any:
        """Run a named operation's Python twin client-side, each of its commands
        translated (several round trips, **not atomic**); a user's script with no
        twin is sent to ledisdb's Lua as it is (EVAL, one round trip)."""
        target = self if client is None else client
        return target.execute_command(*self._named_command(name, keys, args))


class LedisPipelineShell:
    """What the sync and async ledisdb pipelines share, mixed in before their
    redis-py pipeline class: built on the database's connections, never a
    transaction, no WATCH or MULTI."""

    def __init__(self, db: Any) -> None:
        init: Any = super().__init__
        init(db.connection_pool, db.response_callbacks, False, None)
        self._db = db

    def watch(self, *names: Any) -> NoReturn:
        raise UnsupportedOperation("ledis", "WATCH", "ledisdb has no WATCH")

    def multi(self) -> NoReturn:
        raise UnsupportedOperation("ledis", "MULTI", NO_TRANSACTIONS)


class LedisPipeline(LedisPipelineShell, Pipeline):
    """Queued commands, sent when executed: never atomic (ledisdb has no MULTI).

    Consecutive commands that translate to one round trip each share one
    batch; an emulated command runs alone, after those before it.
    """

    _db: LedisDatabase

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Run the queued commands (every plan is built before anything is sent)."""
        stack = self.command_stack
        try:
            plans = [self._db.plan(args) for args, _ in stack]
            db = self._db
            replies = drive_many(plans, db.send_batch, db._translate)
            return parse_pipeline(self, db, replies, raise_on_error)
        finally:
            self.reset()

    def reset(self) -> None:  # type: ignore[override]
        self.command_stack = []
        self.scripts = set()
        self.watching = False
        self.explicit_transaction = False

    def __repr__(self) -> str:
        return f"<LedisPipeline {self._db!r}>"


def _exchange(connection: Any, batch: list[Command]) -> list[Raw]:
    connection.send_packed_command(connection.pack_commands(batch))
    replies: list[Raw] = []
    for _ in batch:
        try:
            replies.append(connection.read_response(disable_decoding=True))
        except ResponseError as exc:
            replies.append(exc)
    return replies


def _require_resp2(protocol: Any) -> None:
    if str(protocol) != "2":
        raise ValueError("ledisdb speaks RESP2 only: protocol must be 2")
