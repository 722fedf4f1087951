"""A Redis or Valkey Cluster: ``walrus.ClusterDatabase``, a redis-py client.

``ClusterDatabase`` is redis-py's ``RedisCluster`` with walrus's extras and
factories, as ``walrus.Database`` is ``Redis`` with them. It accepts what
``RedisCluster`` accepts (``startup_nodes``, ``host``/``port``, ``url``,
``decode_responses``, ``protocol``, ``read_from_replicas`` ...) and adds
``script_dir``. What differs from a single server:

* keys: :attr:`keyspace` hash-tags each key group (``{group}:...``), so the
  keys one walrus operation touches share one slot;
* multi-key commands, scripts and MULTI/EXEC on keys of different slots
  raise :class:`~walrus.exceptions.CrossSlot` (saying how to place the keys
  in one slot), never redis-py's ``RedisClusterException``;
* a transaction (``pipeline(transaction=True)``, ``db.atomic()``) holds keys
  of one slot; a plain pipeline may span slots (one request per node);
* named operations run with EVALSHA on the node owning their keys;
* keyspace-wide commands (DBSIZE, SCAN, FLUSHDB, KEYS, PING) and MONITOR
  (``stream_log``) go to every primary.

Error replies are walrus's exceptions, as on a single server: every node's
connections parse them with walrus's parsers
(:func:`~walrus.drivers.server.database.parse_errors_as_walrus`).

A write is never sent twice (:mod:`walrus.drivers.server.resend`): a
command, pipeline or transaction that is not resend-safe and whose
connection fails after it was sent raises
:class:`~walrus.exceptions.OutcomeUnknown`, which redis-py's cluster retry
does not retry; failures to connect and redirections (MOVED, ASK), where
nothing ran, are retried as redis-py does.
"""

from __future__ import annotations

import contextlib
import os
import queue
import random
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import redis
from redis.cluster import (
    ClusterNode,
    ClusterPipeline,
    RedisCluster,
    TransactionStrategy,
)
from redis.connection import ConnectionPool
from redis.crc import REDIS_CLUSTER_HASH_SLOTS
from redis.exceptions import (
    CrossSlotTransactionError,
    RedisClusterException,
    RedisError,
)

from walrus.api import DatabaseAPI
from walrus.drivers.protocol import Capability
from walrus.drivers.server.cluster_rules import HINT as _HINT
from walrus.drivers.server.cluster_rules import check_options, check_url, cross_slot
from walrus.drivers.server.database import (
    SERVER_CAPABILITIES,
    evalsha,
    parse_errors_as_walrus,
)
from walrus.drivers.server.resend import (
    NoResendRetry,
    _label,
    name_of,
    resend_safe,
    send_once,
)
from walrus.exceptions import (
    CrossSlot,
    InvalidType,
    InvalidValue,
    OutcomeUnknown,
    UnsupportedOperation,
)
from walrus.keys import Keyspace

__all__ = ["ClusterDatabase", "ClusterDatabasePipeline"]


# Connection set-up and redirection commands: sending them again changes nothing.
_CONNECTION_STATE = frozenset({"ASKING", "READONLY", "READWRITE"})
# A transaction's frame: the commands inside decide whether it may be resent.
_FRAME = frozenset({"MULTI", "EXEC"})

# Transaction commands without keys: a cluster client has no connection to
# hold them together when they are sent one by one.
_HAND_TRANSACTION = frozenset({"MULTI", "EXEC", "DISCARD", "UNWATCH"})

# Words of redis-py's RedisClusterException messages about the arguments.
_ARGUMENT_WORDS = ("argument", "querystring", "unix domain", "'ssl'")


def _unsent_what(commands: Sequence[Sequence[Any]]) -> str | None:
    """What to call ``commands`` in an OutcomeUnknown, or None if every one
    of them may be sent twice."""
    inner = [args for args in commands if name_of(args) not in _FRAME]
    if all(resend_safe(a) or name_of(a) in _CONNECTION_STATE for a in inner):
        return None
    if len(commands) == 1:
        return name_of(commands[0])
    return _label(inner, len(inner) != len(commands))


# What each thread's cluster connections raised OutcomeUnknown for: a
# pipeline does not let redis-py resend its writes after one (see below).
_unknown = threading.local()


def _unknown_count() -> int:
    return int(getattr(_unknown, "count", 0))


class _SendOnce:
    """Mixed into a node's connection class: a transport failure after a
    command that is not resend-safe was sent raises OutcomeUnknown."""

    _walrus_what: str | None = None  # the last request, if it may not be resent
    _walrus_connecting = False

    def connect_check_health(self, *args: Any, **kwargs: Any) -> Any:
        # HELLO, AUTH, CLIENT SETINFO ...: connecting is always retryable
        what, self._walrus_what = self._walrus_what, None
        self._walrus_connecting = True
        try:
            return super().connect_check_health(*args, **kwargs)  # type: ignore[misc]
        finally:
            self._walrus_connecting = False
            self._walrus_what = what

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        if not self._walrus_connecting:
            self._walrus_what = _unsent_what([args])
        super().send_command(*args, **kwargs)  # type: ignore[misc]

    def pack_commands(self, commands: Any) -> Any:
        commands = list(commands)
        if not self._walrus_connecting:
            self._walrus_what = _unsent_what(commands)
        return super().pack_commands(commands)  # type: ignore[misc]

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        what = self._walrus_what
        send: Any = super().send_packed_command  # type: ignore[misc]
        if what is None:
            send(command, check_health)
            return
        try:
            _guarded(self, what, lambda: send(command, check_health))
        finally:
            self._walrus_what = what  # a health check's PING does not clear it

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        read: Any = super().read_response  # type: ignore[misc]
        what = self._walrus_what
        if what is None:
            return read(*args, **kwargs)
        return _guarded(self, what, lambda: read(*args, **kwargs))


def _guarded(connection: Any, what: str, step: Any) -> Any:
    try:
        return send_once(connection, what, step)
    except OutcomeUnknown:
        _unknown.count = _unknown_count() + 1
        raise


class _NotSentAgain(RedisError):
    """A pipeline command that redis-py would have sent again after its
    connection failed (internal: the pipeline raises OutcomeUnknown)."""

    def outcome_unknown(self) -> OutcomeUnknown:
        what = str(self.args[0])
        return OutcomeUnknown(
            f"{what}: the connection of its pipeline failed after it was sent; "
            "the server may or may not have run it, and walrus does not send a "
            "write twice (see docs/security.md)",
            what,
        )


class _WalrusPool:
    """Mixed into a node's connection pool class: walrus's error parsers and
    connections that never resend a write (see :class:`_SendOnce`)."""

    connection_class: type[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parse_errors_as_walrus(redis.Redis(connection_pool=self))  # type: ignore[arg-type]
        self.connection_class = _mixed(_SendOnce, self.connection_class)


_MIXED: dict[tuple[type[Any], type[Any]], type[Any]] = {}
_MIXED_LOCK = threading.Lock()


def _mixed(mixin: type[Any], base: type[Any]) -> type[Any]:
    """``base`` with ``mixin`` in front (made once per pair), or ``base`` if it
    has it already. A user's own pool or connection class keeps its behaviour."""
    if issubclass(base, mixin):
        return base
    with _MIXED_LOCK:
        made = _MIXED.get((mixin, base))
        if made is None:
            made = type(f"Walrus{base.__name__}", (mixin, base), {})
            _MIXED[mixin, base] = made
        return made


def _word(value: Any) -> str:
    return (value.decode("latin-1") if isinstance(value, bytes) else str(value)).upper()


def _stream_keys(args: Sequence[Any]) -> list[Any] | None:
    """XREAD's and XREADGROUP's keys: the first half of what follows STREAMS."""
    words = [_word(a) for a in args]
    if "STREAMS" not in words:
        return None
    rest = list(args[words.index("STREAMS") + 1 :])
    return rest[: len(rest) // 2]


def _sort_keys(args: Sequence[Any]) -> list[Any]:
    """SORT's keys: the sorted key and the STORE destination (BY and GET
    patterns are the server's to check)."""
    keys = [args[1]]
    for at in range(2, len(args) - 1):
        if _word(args[at]) == "STORE":
            keys.append(args[at + 1])
    return keys


# Commands whose keys redis-py would ask the server for (COMMAND GETKEYS: one
# more round trip each time), found here from their arguments instead.
_KEY_FINDERS: dict[str, Any] = {
    "XREAD": _stream_keys,
    "XREADGROUP": _stream_keys,
    "SORT": _sort_keys,
    "SORT_RO": _sort_keys,
}


class _OneSlot:
    """Mixed into the cluster client and its pipelines: keys of one command
    in different slots raise walrus's CrossSlot; the keys of XREAD,
    XREADGROUP and SORT are found without asking the server; commands no
    node can run reach a node, which answers as a single server would."""

    def _get_command_keys(self, *args: Any) -> Any:
        finder = _KEY_FINDERS.get(_word(args[0])) if len(args) > 1 else None
        keys = finder(args) if finder is not None else None
        if keys:
            return keys
        find: Any = super()._get_command_keys  # type: ignore[misc]
        return find(*args)

    def determine_slot(self, *args: Any) -> int | None:
        """The slot redis-py routes ``args`` to; a command that any node
        refuses (unknown, wrong argument count) goes to a random primary, so
        its ERR reply comes back as on a single server; one without keys
        that has no default node raises UnsupportedOperation (MULTI by hand,
        ROLE without ``target_nodes``). No extra round trip."""
        find: Any = super().determine_slot  # type: ignore[misc]
        try:
            return find(*args)  # type: ignore[no-any-return]
        except CrossSlot:
            raise
        except (RedisClusterException, RedisError) as exc:
            commands: Any = self.commands_parser.commands  # type: ignore[attr-defined]
            if _refused_by_every_node(commands, args):
                return random.randrange(REDIS_CLUSTER_HASH_SLOTS)
            if isinstance(exc, RedisClusterException) and "Missing key" in str(exc):
                raise _unroutable(args) from None
            raise

    def _slot_of_keys(self, command: str, keys: Sequence[Any]) -> int:
        find: Any = super()._slot_of_keys  # type: ignore[misc]
        try:
            slot: int = find(command, keys)
        except RedisClusterException as exc:
            raise cross_slot(command, keys) from exc
        return slot


def _unroutable(args: Sequence[Any]) -> UnsupportedOperation:
    """The error for a command without keys that redis-py has no node for."""
    word = _word(args[0])
    if word in _HAND_TRANSACTION:
        return UnsupportedOperation(
            "cluster",
            f"{word} sent by hand",
            "each command goes to a pooled connection of the node its keys "
            "live on, so a hand-made MULTI ... EXEC has no one connection; use "
            "db.atomic() or db.pipeline() (a transaction on keys of one slot)",
        )
    return UnsupportedOperation(
        "cluster",
        f"{word} without target_nodes",
        "it has no key to route it by: pass target_nodes= (a node from "
        "db.get_nodes(), or db.get_primaries())",
    )


def _refused_by_every_node(commands: dict[str, Any], args: Sequence[Any]) -> bool:
    """True when any node answers ``args`` with ERR and runs nothing: a
    command the server does not know, or one with a wrong argument count."""
    words = _word(args[0]).lower().split()
    info = commands.get(words[0]) if words else None
    if info is None:
        return True
    count, arity = len(words) + len(args) - 1, int(info["arity"])
    return count < abs(arity) or (arity > 0 and count != arity)


def _node(spec: Any) -> ClusterNode:
    make: Any = ClusterNode  # untyped in redis-py
    return make(*_address(spec))  # type: ignore[no-any-return]


def _address(spec: Any) -> tuple[str, int]:
    """The address of a startup node given as a ClusterNode, ``'host:port'``,
    ``(host, port)`` or ``{'host': ..., 'port': ...}``."""
    if isinstance(spec, ClusterNode):
        return str(spec.host), int(spec.port)
    if isinstance(spec, str):
        host, sep, port = spec.rpartition(":")
        if not sep or not port.isdigit():
            raise InvalidValue(f"a startup node is 'host:port', not {spec!r}")
        return host or "127.0.0.1", int(port)
    if isinstance(spec, dict):
        return str(spec.get("host", "127.0.0.1")), int(spec.get("port", 6379))
    if isinstance(spec, tuple | list) and len(spec) == 2:
        return str(spec[0]), int(spec[1])
    raise InvalidType(
        "a startup node is a redis.cluster.ClusterNode, 'host:port', "
        f"(host, port) or {{'host': ..., 'port': ...}}, not {spec!r}"
    )


class ClusterDatabase(DatabaseAPI, _OneSlot, RedisCluster):  # type: ignore[misc]
    """A redis-py ``RedisCluster`` with walrus's extras and factories.

    Open it with ``ClusterDatabase(startup_nodes=[...])`` (ClusterNode,
    ``'host:port'``, ``(host, port)`` or ``{'host': ..., 'port': ...}``),
    ``ClusterDatabase(host=..., port=...)`` or
    ``ClusterDatabase.from_url('redis://host:port')``; one reachable node is
    enough. Its key groups are hash-tagged (``{group}:...``); multi-key
    commands, scripts and transactions take keys of one slot, else
    :class:`~walrus.exceptions.CrossSlot`. ``pipeline()`` is a transaction
    by default, as on ``walrus.Database``. Writes are never sent twice.
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
        nodes = [_node(n) for n in startup_nodes or ()]
        has_node = bool(nodes) or host is not None or kwargs.get("url") is not None
        check_options("ClusterDatabase", has_node, kwargs)
        pool_class = kwargs.get("connection_pool_class", ConnectionPool)
        kwargs["connection_pool_class"] = _mixed(_WalrusPool, pool_class)
        try:
            super().__init__(host=host, port=port, startup_nodes=nodes, **kwargs)
        except RedisClusterException as exc:  # a bad argument, or the cluster's state
            if not any(w in str(exc).lower() for w in _ARGUMENT_WORDS):
                raise
            raise InvalidValue(f"ClusterDatabase: {exc}") from exc
        self.retry: Any = NoResendRetry(self.retry)
        self._init_walrus(script_dir)
        self._keyspace = Keyspace(cluster=True)
        self._loaded_everywhere: set[str] = set()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> ClusterDatabase:
        """A database for the cluster one of whose nodes ``url`` names
        (``redis://`` or ``rediss://``, as ``RedisCluster.from_url``)."""
        check_url(url)
        return cls(url=url, **kwargs)

    def pipeline(
        self, transaction: bool | None = True, shard_hint: str | None = None
    ) -> Any:
        """redis-py's cluster pipeline (:class:`ClusterDatabasePipeline`).

        A transaction (the default, as on ``walrus.Database``; redis-py's
        ``RedisCluster`` defaults to a plain pipeline) holds keys of one slot
        and is one round trip (MULTI/EXEC); a plain pipeline
        (``transaction=False``) sends one request per node its keys live on.
        """
        if shard_hint:
            raise InvalidValue("shard_hint has no meaning on a cluster")
        build: Any = super().pipeline
        pipe: Any = build(transaction=bool(transaction))
        # RedisCluster.pipeline builds a ClusterPipeline with the client's
        # settings (their list changes between redis-py releases); ours adds
        # only methods, so the object is re-classed rather than rebuilt.
        pipe.__class__ = ClusterDatabasePipeline
        pipe._walrus_guard()
        return pipe

    def _execute_pipeline_by_slot(
        self, command: str, slots_to_args: Mapping[int, Iterable[Any]]
    ) -> list[Any]:
        """``command`` once per slot's arguments, for redis-py's ``delete``,
        ``exists``, ``unlink``, ``touch``, ``mget_nonatomic`` and
        ``mset_nonatomic``: one command when the keys share a slot, else a
        plain pipeline (one round trip per node; not atomic across slots).
        redis-py sends them in ``pipeline()``, a transaction here."""
        if len(slots_to_args) == 1:
            (args,) = slots_to_args.values()
            return [self.execute_command(command, *args)]
        pipe = self.pipeline(transaction=False)
        for args in slots_to_args.values():
            pipe.execute_command(command, *args)
        return pipe.execute()  # type: ignore[no-any-return]

    def ping(self, **kwargs: Any) -> bool:
        """Whether every primary answers PING. One round trip per primary."""
        kwargs.setdefault("target_nodes", RedisCluster.PRIMARIES)
        reply = self.execute_command("PING", **kwargs)
        if isinstance(reply, dict):
            return all(reply.values())
        return bool(reply)

    def dbsize(self, **kwargs: Any) -> int:
        """The number of keys in the cluster: DBSIZE on every primary, summed.
        One round trip per primary."""
        kwargs.setdefault("target_nodes", RedisCluster.PRIMARIES)
        return int(self.execute_command("DBSIZE", **kwargs))

    def keys(self, pattern: Any = "*", **kwargs: Any) -> Any:
        """Keys matching ``pattern`` on every primary (KEYS blocks each node
        while it runs: prefer :meth:`search`, which scans)."""
        kwargs.setdefault("target_nodes", RedisCluster.PRIMARIES)
        return self.execute_command("KEYS", pattern, **kwargs)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Everything a single server offers (within one slot: see the module)."""
        return SERVER_CAPABILITIES

    @property
    def backend_name(self) -> str:
        """``'cluster'``."""
        return "cluster"

    def run_named_operation(
        self, name: str, keys: Sequence[Any], args: Sequence[Any], client: Any = None
    ) -> Any:
        """EVALSHA the operation's Lua on the node owning ``keys`` (loaded after
        NOSCRIPT). One round trip. Queued on a pipeline, the script is first
        loaded on every node, once per database object (a cluster pipeline
        cannot re-load it after NOSCRIPT)."""
        script = self.lua_script(name)
        if client is not None and client is not self:
            if script.sha not in self._loaded_everywhere:
                self.execute_command(
                    "SCRIPT LOAD", script.script, target_nodes=RedisCluster.ALL_NODES
                )
                self._loaded_everywhere.add(script.sha)
            return script(keys=keys, args=args, client=client)
        return evalsha(self, script, keys, args)

    def monitor_lines(self) -> Iterator[bytes | str]:
        """Every command the primaries run from now on, one line each, as
        they arrive (MONITOR on each primary; reads a replica serves are not
        seen)."""
        lines: queue.SimpleQueue[Any] = queue.SimpleQueue()
        stopping = threading.Event()
        primaries: Any = self.get_primaries
        with contextlib.ExitStack() as stack:
            for node in primaries():
                monitor = stack.enter_context(node.redis_connection.monitor())
                pump = threading.Thread(
                    target=_pump,
                    args=(monitor.connection, lines, stopping),
                    daemon=True,
                )
                pump.start()
            stack.callback(stopping.set)  # before the monitors close (LIFO)
            while True:
                line = lines.get()
                if isinstance(line, BaseException):
                    raise line
                yield line


def _pump(connection: Any, lines: queue.SimpleQueue[Any], stopping: Any) -> None:
    """Put each line one node's MONITOR connection reads into ``lines``."""
    try:
        while True:
            lines.put(connection.read_response())
    except BaseException as exc:  # the connection closed, or failed
        if not stopping.is_set():
            lines.put(exc)


class ClusterDatabasePipeline(_OneSlot, ClusterPipeline):
    """redis-py's cluster pipeline, with walrus's errors and no resent writes.

    Keys of different slots in a transaction raise
    :class:`~walrus.exceptions.CrossSlot`. redis-py resends the commands of
    a plain pipeline whose node failed; once a command's outcome is unknown
    (its connection failed after it was sent), the pipeline's commands that
    are not resend-safe get :class:`~walrus.exceptions.OutcomeUnknown`
    instead of being sent again.
    """

    _walrus_unknown_at = 0

    def _walrus_guard(self) -> None:
        resend: Any = self.parent_execute_command

        def parent_execute_command(*args: Any, **options: Any) -> Any:
            # redis-py resends here the commands that failed; not a ConnectionError,
            # or its pipeline retry would send the whole batch again
            if _unknown_count() != self._walrus_unknown_at and not resend_safe(args):
                raise _NotSentAgain(name_of(args))
            return resend(*args, **options)

        self.parent_execute_command = parent_execute_command

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        run: Any = super().execute_command
        try:
            return run(*args, **kwargs)
        except CrossSlotTransactionError as exc:
            what = name_of(args)
            raise CrossSlot(f"{what} in a transaction: {exc}; {_HINT}") from exc

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Send the queued commands; their replies, shaped as a single
        server's pipeline shapes them."""
        self._walrus_unknown_at = _unknown_count()
        queued = list(self._execution_strategy.command_queue)
        try:
            replies: list[Any] = super().execute(raise_on_error)
        except CrossSlotTransactionError as exc:
            raise CrossSlot(f"a transaction: {exc}; {_HINT}") from exc
        except _NotSentAgain as exc:
            raise exc.outcome_unknown() from exc
        if isinstance(self._execution_strategy, TransactionStrategy):
            return self._walrus_shape(queued, replies)
        return [
            r.outcome_unknown() if isinstance(r, _NotSentAgain) else r for r in replies
        ]

    def _walrus_shape(self, queued: list[Any], replies: list[Any]) -> list[Any]:
        """Run redis-py's reply callbacks on a transaction's replies (its
        cluster transactions run only the cluster-level ones: SET gave b'OK',
        HGETALL a flat list)."""
        default: Any = self.get_default_node
        node = default()
        callbacks = node.redis_connection.response_callbacks  # per protocol
        shaped = []
        for reply, command in zip(replies, queued, strict=True):
            name = command.args[0]
            if (
                not isinstance(reply, Exception)
                and name not in self.cluster_response_callbacks
                and name in callbacks
            ):
                options = {k: v for k, v in command.options.items() if k != "keys"}
                reply = callbacks[name](reply, **options)
            shaped.append(reply)
        return shaped
