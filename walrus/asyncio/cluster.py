"""An async Redis or Valkey Cluster: ``walrus.asyncio.AsyncClusterDatabase``.

``AsyncClusterDatabase`` is ``redis.asyncio.RedisCluster`` with walrus's
extras and factories, as ``walrus.ClusterDatabase`` is ``RedisCluster`` with
them (see :mod:`walrus.drivers.server.cluster`, whose rules and code it
shares): it accepts what ``redis.asyncio.RedisCluster`` accepts
(``startup_nodes``, ``host``/``port``, ``decode_responses``, ``protocol``,
``read_from_replicas`` ...) and adds ``script_dir``. Every command is
awaited. What differs from a single server:

* keys: :attr:`keyspace` hash-tags each key group (``{group}:...``);
* multi-key commands, scripts and transactions on keys of different slots
  raise :class:`~walrus.exceptions.CrossSlot` with a hint, never a raw
  CROSSSLOT or ``RedisClusterException``;
* ``pipeline()`` is a transaction (MULTI/EXEC, keys of one slot) by default;
  ``pipeline(transaction=False)`` sends one request per node;
* ``delete``, ``exists``, ``unlink`` and ``touch`` on keys of several slots
  run once per slot (one command when the keys share one);
* a keyless command with no node to route it to raises
  :class:`~walrus.exceptions.UnsupportedOperation` (MULTI by hand, ROLE
  without ``target_nodes``); keyspace-wide commands (PING, DBSIZE, KEYS) and
  MONITOR go to every primary.

Error replies are walrus's exceptions (every node's connections use the
parsers of :mod:`walrus.asyncio.server`), and a write is never sent twice: a
request holding a command that is not resend-safe whose connection fails
after it was sent raises :class:`~walrus.exceptions.OutcomeUnknown`, which
neither the cluster's retry nor a pipeline's resends; so does a plain
pipeline holding writes when any of its nodes fails (its other nodes' writes
have run: redis.asyncio would send them all again).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from redis.asyncio.cluster import (
    AbstractStrategy,
    ClusterNode,
    ClusterPipeline,
    PipelineStrategy,
    RedisCluster,
    TransactionStrategy,
)
from redis.cluster import is_zero_key_eval_command
from redis.crc import REDIS_CLUSTER_HASH_SLOTS
from redis.exceptions import (
    CrossSlotTransactionError,
    RedisClusterException,
    RedisError,
)

from walrus.asyncio.api import AsyncDatabaseAPI
from walrus.asyncio.server import (
    AsyncNoResendRetry,
    evalsha,
    guarded,
    parse_errors_as_walrus,
)
from walrus.drivers.protocol import Capability
from walrus.drivers.server.cluster import (
    _ARGUMENT_WORDS,
    _KEY_FINDERS,
    _address,
    _mixed,
    _NotSentAgain,
    _refused_by_every_node,
    _unroutable,
    _unsent_what,
    _word,
)
from walrus.drivers.server.cluster_rules import (
    HINT,
    check_options,
    check_url,
    cross_slot,
)
from walrus.drivers.server.database import SERVER_CAPABILITIES
from walrus.drivers.server.resend import _SAFE_BY_NAME, _TRANSPORT_ERRORS, _label
from walrus.exceptions import CrossSlot, InvalidValue
from walrus.keys import Keyspace

__all__ = ["AsyncClusterDatabase", "AsyncClusterDatabasePipeline"]

_EVALS = frozenset({"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO"})


# what _unsent_what() says of one command, by its name as redis-py sends it
# ("SET"): the commands without a subcommand only (the answer is the name's)
_UNSENT_BY_NAME: dict[str, str | None] = {}


def _unsent_one(args: tuple[Any, ...]) -> str | None:
    """``_unsent_what([args])``, looked up by name after the first time."""
    name = args[0]
    try:
        return _UNSENT_BY_NAME[name]
    except KeyError:
        what = _unsent_what([args])
        if name in _SAFE_BY_NAME:
            _UNSENT_BY_NAME[name] = what
        return what


class _SendOnce:
    """Mixed into a node's connection class: a transport failure after a
    request that is not resend-safe was sent raises OutcomeUnknown (the
    async twin of the sync cluster's connection mixin)."""

    _walrus_what: str | None = None  # the last request, if it may not be resent
    _walrus_connecting = False

    async def connect_check_health(self, *args: Any, **kwargs: Any) -> Any:
        # HELLO, AUTH, CLIENT SETINFO ...: connecting is always retryable
        what, self._walrus_what = self._walrus_what, None
        self._walrus_connecting = True
        try:
            return await super().connect_check_health(*args, **kwargs)  # type: ignore[misc]
        finally:
            self._walrus_connecting = False
            self._walrus_what = what

    def pack_command(self, *args: Any) -> Any:
        if not self._walrus_connecting:
            self._walrus_what = _unsent_one(args)
        return super().pack_command(*args)  # type: ignore[misc]

    def pack_commands(self, commands: Any) -> Any:
        commands = list(commands)
        packed = super().pack_commands(commands)  # type: ignore[misc]
        if not self._walrus_connecting:  # (pack_command saw them one by one)
            self._walrus_what = _unsent_what(commands)
        return packed

    # These two return redis.asyncio's awaitable when the request may be
    # resent (no coroutine of their own on the way: one fewer frame each).
    def send_packed_command(self, command: Any, check_health: bool = True) -> Any:
        send: Any = super().send_packed_command  # type: ignore[misc]
        what = self._walrus_what
        if what is None:
            return send(command, check_health)
        return self._walrus_send_once(what, send(command, check_health))

    async def _walrus_send_once(self, what: str, request: Any) -> None:
        try:
            await guarded(self, what, request, connect=True)
        finally:
            self._walrus_what = what  # a health check's PING does not clear it

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        read: Any = super().read_response  # type: ignore[misc]
        what = self._walrus_what
        if what is None:
            return read(*args, **kwargs)
        return guarded(self, what, read(*args, **kwargs))


class _OncePipelineStrategy(PipelineStrategy):
    """redis.asyncio's plain cluster pipeline, whose failure is not sent again
    when it holds a command that is not resend-safe: redis.asyncio would
    send the whole pipeline again, to every node."""

    async def _execute(self, client: Any, stack: Any, *args: Any, **kwargs: Any) -> Any:
        run: Any = super()._execute
        try:
            return await run(client, stack, *args, **kwargs)
        except _TRANSPORT_ERRORS as exc:
            argv = [cmd.args for cmd in stack]
            if _unsent_what(argv) is None:
                raise
            raise _NotSentAgain(_label(argv, False)) from exc


class _QueueingTransaction(TransactionStrategy):
    """redis.asyncio's cluster transaction, queueing at once a command whose
    slot is known without I/O: redis.asyncio finds each queued command's
    slot on an event loop of its own, in a new thread, blocking the caller's
    loop meanwhile (about 0.5 ms a command, measured)."""

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        immediate = self._watching or args[0] in self.IMMEDIATE_EXECUTE_COMMANDS
        slot = None
        if not (
            (immediate and not self._explicit_transaction)
            or args[0] in self.NO_SLOTS_COMMANDS
            or is_zero_key_eval_command(*args)
        ):
            client: Any = self._pipe.cluster_client
            slot = client._slot_now(args)
        if slot is None:
            return super().execute_command(*args, **kwargs)
        if not self._transaction_has_keyed_slot:  # only keyless scripts' slot
            self._pipeline_slots.clear()
        self._transaction_has_keyed_slot = True
        self._pipeline_slots.add(slot)
        return AbstractStrategy.execute_command(self, *args, **kwargs)


class AsyncClusterDatabase(AsyncDatabaseAPI, RedisCluster):  # type: ignore[misc]
    """A redis.asyncio ``RedisCluster`` with walrus's extras and factories.

    Open it with ``AsyncClusterDatabase(startup_nodes=[...])`` (ClusterNode,
    ``'host:port'``, ``(host, port)`` or ``{'host': ..., 'port': ...}``),
    ``AsyncClusterDatabase(host=..., port=...)`` or
    ``AsyncClusterDatabase.from_url('redis://host:port')``; one reachable
    node is enough. ``pipeline()`` is a transaction by default. Writes are
    never sent twice. Close it with ``await db.aclose()``.
    """

    def __init__(
        self,
        host: str | None = None,
        port: int = 6379,
        startup_nodes: Sequence[Any] | None = None,
        *,
        script_dir: str | os.PathLike[str] | bool | None = None,
        **kwargs: Any,
    ) -> None:
        nodes = [_async_node(n) for n in startup_nodes or ()]
        check_options(type(self).__name__, bool(nodes) or host is not None, kwargs)
        try:
            super().__init__(host=host, port=port, startup_nodes=nodes, **kwargs)
        except RedisClusterException as exc:  # a bad argument, or the cluster's state
            if not any(w in str(exc).lower() for w in _ARGUMENT_WORDS):
                raise
            raise InvalidValue(f"{type(self).__name__}: {exc}") from exc
        # every node's connections, the startup nodes' and those found later
        parse_errors_as_walrus(self.connection_kwargs)
        self.connection_kwargs["connection_class"] = _mixed(
            _SendOnce, self.connection_kwargs["connection_class"]
        )
        for node in self.startup_nodes:
            node.connection_class = self.connection_kwargs["connection_class"]
            node.connection_kwargs["parser_class"] = self.connection_kwargs[
                "parser_class"
            ]
        self.retry: Any = AsyncNoResendRetry(self.retry)
        self._init_walrus(script_dir)
        self._keyspace = Keyspace(cluster=True)
        self._loaded_everywhere: set[str] = set()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> AsyncClusterDatabase:
        """A database for the cluster one of whose nodes ``url`` names
        (``redis://`` or ``rediss://``, as ``RedisCluster.from_url``)."""
        check_url(url)
        build: Any = super().from_url
        database: AsyncClusterDatabase = build(url, **kwargs)
        return database

    # -- routing -----------------------------------------------------------------------
    async def _determine_slot(self, command: str, *args: Any) -> int:
        """The slot redis.asyncio routes the command to; keys of several
        slots raise CrossSlot; a command any node refuses (unknown, wrong
        argument count) goes to a random primary, so its ERR reply comes back
        as on a single server; one without keys and without a node to route
        it to raises UnsupportedOperation. No extra round trip (the keys of
        XREAD, XREADGROUP and SORT are found from their arguments, where
        redis.asyncio would ask the server: COMMAND GETKEYS)."""
        slot = self._slot_of_found_keys((command, *args))
        if slot is not None:
            return slot
        find: Any = super()._determine_slot
        try:
            return int(await find(command, *args))
        except (RedisClusterException, RedisError) as exc:
            argv = (command, *args)
            if _refused_by_every_node(self.commands_parser.commands, argv):
                return random.randrange(REDIS_CLUSTER_HASH_SLOTS)
            if not isinstance(exc, RedisClusterException):
                raise
            if "Missing key" in str(exc):
                raise _unroutable(argv) from None
            if "same key slot" in str(exc):
                raise cross_slot(command, await self._keys_of(argv)) from exc
            raise

    def _slot_of_found_keys(self, argv: Sequence[Any]) -> int | None:
        """The slot of a command whose keys walrus finds from its arguments
        (the sync cluster's finders), else None."""
        finder = _KEY_FINDERS.get(_word(argv[0])) if len(argv) > 1 else None
        keys = finder(argv) if finder is not None else None
        if not keys:
            return None
        slots = {self.keyslot(key) for key in keys}
        if len(slots) > 1:
            raise cross_slot(str(argv[0]), keys)
        return slots.pop()

    def _slot_now(self, argv: Sequence[Any]) -> int | None:
        """The slot of the command ``argv`` if finding it takes no I/O (its
        keys at fixed places, found from its arguments, or a script's), else
        None."""
        name = str(argv[0])
        if not self._topology_ready:
            return None
        if _word(name) in _KEY_FINDERS:
            return self._slot_of_found_keys(argv)
        if name.upper() not in _EVALS:
            info = self.commands_parser.commands.get(name.lower())
            if not isinstance(info, dict) or "movablekeys" in info["flags"]:
                return None
        finding = self._determine_slot(*argv)
        try:
            finding.send(None)
        except StopIteration as found:
            return int(found.value)
        finding.close()  # it waited for I/O after all: not here
        return None

    async def _keys_of(self, argv: Sequence[Any]) -> list[Any]:
        """The keys of the command ``argv`` (to name them in an error)."""
        if str(argv[0]).upper() in _EVALS:
            return list(argv[3 : 3 + int(argv[2])])
        keys = await self.commands_parser.get_keys(*argv)
        return list(keys or ())

    async def _execute_pipeline_by_slot(  # type: ignore[override]
        self, command: str, slots_to_args: Mapping[int, Iterable[Any]]
    ) -> list[Any]:
        """``command`` once per slot's arguments, for redis.asyncio's
        ``delete``, ``exists``, ``unlink``, ``touch``, ``mget_nonatomic`` and
        ``mset_nonatomic``: one command when the keys share a slot, else a
        plain pipeline (one round trip per node; not atomic across slots)."""
        if len(slots_to_args) == 1:
            (args,) = slots_to_args.values()
            return [await self.execute_command(command, *args)]
        pipe = self.pipeline(transaction=False)
        for args in slots_to_args.values():
            pipe.execute_command(command, *args)
        return await pipe.execute()

    async def ping(self, **kwargs: Any) -> bool:
        """Whether every primary answers PING. One round trip per primary."""
        kwargs.setdefault("target_nodes", RedisCluster.PRIMARIES)
        reply = await self.execute_command("PING", **kwargs)
        if isinstance(reply, dict):
            return all(reply.values())
        return bool(reply)

    async def dbsize(self, **kwargs: Any) -> int:  # type: ignore[override]
        """The number of keys in the cluster: DBSIZE on every primary, summed.
        One round trip per primary."""
        kwargs.setdefault("target_nodes", RedisCluster.PRIMARIES)
        return int(await self.execute_command("DBSIZE", **kwargs))

    async def keys(self, pattern: Any = "*", **kwargs: Any) -> Any:
        """Keys matching ``pattern`` on every primary (KEYS blocks each node
        while it runs: prefer :meth:`search`, which scans)."""
        kwargs.setdefault("target_nodes", RedisCluster.PRIMARIES)
        return await self.execute_command("KEYS", pattern, **kwargs)

    # -- the driver contract -----------------------------------------------------------
    def pipeline(  # type: ignore[override]
        self, transaction: bool | None = True, shard_hint: str | None = None
    ) -> AsyncClusterDatabasePipeline:
        """redis.asyncio's cluster pipeline: a transaction by default (keys of
        one slot, one round trip); ``transaction=False`` sends one request
        per node its keys live on. Its command methods queue."""
        if shard_hint:
            raise InvalidValue("shard_hint has no meaning on a cluster")
        make: Any = AsyncClusterDatabasePipeline  # abstract to mypy, as redis's
        pipe: AsyncClusterDatabasePipeline = make(self, bool(transaction))
        return pipe

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Everything a single server offers (within one slot: see the module)."""
        return SERVER_CAPABILITIES

    @property
    def backend_name(self) -> str:
        """``'cluster'``."""
        return "cluster"

    async def run_named_operation(
        self, name: str, keys: Sequence[Any], args: Sequence[Any], client: Any = None
    ) -> Any:
        """EVALSHA the operation's Lua on the node owning ``keys`` (loaded after
        NOSCRIPT). One round trip. Queued on a pipeline (which is returned),
        the script is first loaded on every node, once per database object (a
        cluster pipeline cannot re-load it after NOSCRIPT)."""
        script = self.lua_script(name)
        if client is not None and client is not self:
            if script.sha not in self._loaded_everywhere:
                await self.execute_command(
                    "SCRIPT LOAD", script.script, target_nodes=RedisCluster.ALL_NODES
                )
                self._loaded_everywhere.add(script.sha)
            return await script(keys=keys, args=args, client=client)
        return await evalsha(self, script, keys, args)

    async def monitor_lines(self) -> AsyncIterator[bytes | str]:  # type: ignore[override]
        """Every command the primaries run from now on, one line each, as they
        arrive (MONITOR on each primary; reads a replica serves are not seen)."""
        if self._initialize:
            await self.initialize()
        lines: asyncio.Queue[Any] = asyncio.Queue()
        async with contextlib.AsyncExitStack() as stack:
            for node in self.get_primaries():
                connection = node.acquire_connection()
                stack.push_async_callback(_give_back, node, connection)
                await connection.send_command("MONITOR")
                await connection.read_response()  # OK
                pump = asyncio.ensure_future(_pump(connection, lines))
                stack.callback(pump.cancel)  # before the connection closes (LIFO)
            while True:
                line = await lines.get()
                if isinstance(line, BaseException):
                    raise line
                yield line


async def _pump(connection: Any, lines: asyncio.Queue[Any]) -> None:
    """Put each line one node's MONITOR connection reads into ``lines``."""
    try:
        while True:
            lines.put_nowait(await connection.read_response(timeout=math.inf))
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # the connection closed, or failed
        lines.put_nowait(exc)


async def _give_back(node: ClusterNode, connection: Any) -> None:
    await connection.disconnect()
    node.release(connection)


def _async_node(spec: Any) -> ClusterNode:
    """A redis.asyncio ClusterNode for a startup node given as either
    library's ClusterNode, ``'host:port'``, ``(host, port)`` or a dict."""
    if isinstance(spec, ClusterNode):
        spec = (spec.host, spec.port)
    return ClusterNode(*_address(spec))


class AsyncClusterDatabasePipeline(ClusterPipeline):
    """redis.asyncio's cluster pipeline, with walrus's errors and no resent
    writes: keys of different slots in a transaction raise CrossSlot; a
    failure after a write was sent raises OutcomeUnknown."""

    def __init__(self, client: RedisCluster, transaction: bool) -> None:
        super().__init__(client, transaction)
        self._execution_strategy = (
            _QueueingTransaction(self) if transaction else _OncePipelineStrategy(self)
        )

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        run: Any = super().execute_command
        try:
            return run(*args, **kwargs)
        except CrossSlotTransactionError as exc:
            raise CrossSlot(f"{args[0]} in a transaction: {exc}; {HINT}") from exc

    async def execute(
        self, raise_on_error: bool = True, allow_redirections: bool = True
    ) -> list[Any]:
        """Send the queued commands; their replies, shaped as a single
        server's pipeline shapes them."""
        run: Any = super().execute
        try:
            return await run(raise_on_error, allow_redirections)  # type: ignore[no-any-return]
        except CrossSlotTransactionError as exc:
            raise CrossSlot(f"a transaction: {exc}; {HINT}") from exc
        except _NotSentAgain as exc:
            raise exc.outcome_unknown() from exc
