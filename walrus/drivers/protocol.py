"""The Driver protocol: what walrus features may ask of a backend.

A driver is any object with these methods. They are redis-py's, with the
same names, arguments and reply shapes, so ``walrus.Database`` (a redis-py
client) satisfies the protocol as it is; the embedded drivers (rlite, Vedis,
memory) implement the same methods over their engines and normalize replies
to the same shapes, ``bytes`` by default and ``str`` when the database was
opened with ``decode_responses=True``.

Beyond the commands, a driver has:

* ``pipeline(transaction=True)``: queue commands and send them in one round
  trip (atomically when ``transaction`` is true);
* ``scripts``: the named atomic operations (Lua on servers, Python twins on
  engines without Lua), see :mod:`walrus.scripts`;
* ``capabilities``: what the backend can do (:class:`Capability` values);
* ``keyspace``: the key-naming helper, see :mod:`walrus.keys`;
* ``bytes_replies``: the options that make a reply bytes in either reply mode.

Features talk to this protocol only; they never import a driver module.
Later issues extend it with the commands their features need.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from redis.typing import (
    AbsExpiryT,
    AnyKeyT,
    BlockingListPopResponse,
    BlockingZSetPopResponse,
    ChannelT,
    ConsumerT,
    EncodableT,
    ExpiryT,
    FieldT,
    GroupT,
    HScanResponse,
    KeysT,
    KeyT,
    Number,
    PatternT,
    ScanResponse,
    SortResponse,
    StreamIdT,
    TimeoutSecT,
    ZScanResponse,
    ZScoreBoundT,
    ZSetRangeResponse,
)

if TYPE_CHECKING:
    from redis.client import Pipeline

    from walrus.keys import Keyspace
    from walrus.scripts import Scripts

__all__ = ["Capability", "Driver"]


class Capability(enum.StrEnum):
    """What a backend may or may not do; ``db.capabilities`` lists what it does."""

    LUA = "lua"  # runs Lua scripts (EVAL/EVALSHA) from users
    TRANSACTIONS = "transactions"  # MULTI/EXEC pipelines are atomic
    WATCH = "watch"  # optimistic locking with WATCH
    PUBSUB = "pubsub"  # PUBLISH/SUBSCRIBE
    PUBSUB_CROSS_PROCESS = "pubsub-cross-process"  # ... reaching other processes
    BLOCKING = "blocking"  # blocking pops wait for other clients' writes
    BLOCKING_CROSS_PROCESS = "blocking-cross-process"  # ... from other processes
    EXPIRY = "expiry"  # keys expire (EXPIRE, PEXPIRE, SET PX ...)
    MONITOR = "monitor"  # stream_log / MONITOR
    STREAMS = "streams"  # XADD, XREAD, consumer groups ...
    PERSISTENT = "persistent"  # data outlives the process
    SHARED_ACROSS_PROCESSES = "shared-across-processes"  # several processes at once


@runtime_checkable
class Driver(Protocol):
    """The commands and services walrus features use; redis-py's signatures."""

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    @property
    def keyspace(self) -> Keyspace: ...

    @property
    def bytes_replies(self) -> dict[str, Any]: ...

    @property
    def scripts(self) -> Scripts: ...

    def pipeline(
        self, transaction: bool = True, shard_hint: str | None = None
    ) -> Pipeline: ...

    def get_encoder(self) -> Any: ...

    # keys
    def delete(self, *names: KeyT) -> int: ...
    def exists(self, *names: KeyT) -> int: ...
    def type(self, name: KeyT) -> bytes | str: ...
    def expire(
        self,
        name: KeyT,
        time: ExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool: ...
    def pexpire(
        self,
        name: KeyT,
        time: ExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool: ...
    def persist(self, name: KeyT) -> bool: ...
    def ttl(self, name: KeyT) -> int: ...
    def pttl(self, name: KeyT) -> int: ...
    def dump(self, name: KeyT) -> bytes | None: ...
    def dbsize(self, **kwargs: Any) -> int: ...
    def scan_iter(
        self,
        match: PatternT | None = None,
        count: int | None = None,
        _type: str | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]: ...

    # strings
    def get(self, name: KeyT) -> bytes | str | None: ...
    def set(
        self,
        name: KeyT,
        value: EncodableT,
        ex: ExpiryT | None = ...,
        px: ExpiryT | None = ...,
        nx: bool = ...,
        xx: bool = ...,
        keepttl: bool = ...,
        get: bool = ...,
        exat: AbsExpiryT | None = ...,
        pxat: AbsExpiryT | None = ...,
        ifeq: bytes | str | None = ...,
        ifne: bytes | str | None = ...,
        ifdeq: str | None = ...,
        ifdne: str | None = ...,
    ) -> bool | bytes | str | None: ...
    def incrby(self, name: KeyT, amount: int = 1) -> int: ...

    # hashes
    def hget(self, name: KeyT, key: FieldT) -> bytes | str | None: ...
    def hset(
        self,
        name: KeyT,
        key: FieldT | None = None,
        value: EncodableT | None = None,
        mapping: Mapping[FieldT, EncodableT] | None = None,
        items: Sequence[EncodableT] | None = None,
    ) -> int: ...
    def hmget(
        self, name: KeyT, keys: FieldT | Iterable[FieldT], *args: FieldT
    ) -> list[bytes | str | None]: ...
    def hgetall(self, name: KeyT) -> dict[bytes | str, bytes | str]: ...
    def hdel(self, name: KeyT, *keys: FieldT) -> int: ...
    def hlen(self, name: KeyT) -> int: ...
    def hexists(self, name: KeyT, key: FieldT) -> bool: ...

    # lists
    def lpush(self, name: KeyT, *values: FieldT) -> int: ...
    def rpush(self, name: KeyT, *values: FieldT) -> int: ...
    def lrange(self, name: KeyT, start: int, end: int) -> list[bytes | str]: ...
    def llen(self, name: KeyT) -> int: ...

    # sets
    def sadd(self, name: KeyT, *values: FieldT) -> int: ...
    def srem(self, name: KeyT, *values: FieldT) -> int: ...
    def smembers(self, name: KeyT) -> builtins.set[bytes | str]: ...
    def scard(self, name: KeyT) -> int: ...

    # containers (walrus.features.containers)
    def hkeys(self, name: KeyT) -> list[bytes | str]: ...
    def hvals(self, name: KeyT) -> list[bytes | str]: ...
    def hsetnx(self, name: KeyT, key: FieldT, value: EncodableT) -> int: ...
    def hincrby(self, name: KeyT, key: FieldT, amount: int = 1) -> int: ...
    def hincrbyfloat(self, name: KeyT, key: FieldT, amount: float = 1.0) -> float: ...
    def hscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: PatternT | None = None,
        count: int | None = None,
        no_values: bool | None = None,
    ) -> HScanResponse: ...
    def lindex(self, name: KeyT, index: int) -> bytes | str | None: ...
    def lset(self, name: KeyT, index: int, value: str) -> bool: ...
    def linsert(self, name: KeyT, where: str, refvalue: str, value: str) -> int: ...
    def lpop(
        self, name: KeyT, count: int | None = None
    ) -> bytes | str | list[bytes | str] | None: ...
    def rpop(
        self, name: KeyT, count: int | None = None
    ) -> bytes | str | list[bytes | str] | None: ...
    def blpop(
        self, keys: KeysT, timeout: Number | None = 0
    ) -> BlockingListPopResponse: ...
    def brpop(
        self, keys: KeysT, timeout: Number | None = 0
    ) -> BlockingListPopResponse: ...
    def rpoplpush(self, src: KeyT, dst: KeyT) -> bytes | str | None: ...
    def brpoplpush(
        self, src: KeyT, dst: KeyT, timeout: Number | None = 0
    ) -> bytes | str | None: ...
    def sort(
        self,
        name: KeyT,
        start: int | None = None,
        num: int | None = None,
        by: str | None = None,
        get: list[str] | None = None,
        desc: bool = False,
        alpha: bool = False,
        store: str | None = None,
        groups: bool | None = False,
    ) -> SortResponse: ...
    def sismember(self, name: KeyT, value: str) -> Literal[0] | Literal[1]: ...
    def spop(
        self, name: KeyT, count: int | None = None
    ) -> bytes | str | builtins.set[bytes | str] | None: ...
    def srandmember(
        self, name: KeyT, number: int | None = None
    ) -> bytes | str | list[bytes | str] | None: ...
    def sunion(
        self, keys: list[Any], *args: list[Any]
    ) -> builtins.set[bytes | str]: ...
    def sinter(
        self, keys: list[Any], *args: list[Any]
    ) -> builtins.set[bytes | str]: ...
    def sdiff(self, keys: list[Any], *args: list[Any]) -> builtins.set[bytes | str]: ...
    def sunionstore(self, dest: KeyT, keys: list[Any], *args: list[Any]) -> int: ...
    def sinterstore(self, dest: KeyT, keys: list[Any], *args: list[Any]) -> int: ...
    def sdiffstore(self, dest: str, keys: list[Any], *args: list[Any]) -> int: ...
    def sscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: PatternT | None = None,
        count: int | None = None,
    ) -> ScanResponse: ...
    def zadd(
        self,
        name: KeyT,
        mapping: Mapping[AnyKeyT, EncodableT],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
        incr: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> int | float | None: ...
    def zrem(self, name: KeyT, *values: FieldT) -> int: ...
    def zscore(self, name: KeyT, value: EncodableT) -> float | None: ...
    def zrank(
        self,
        name: KeyT,
        value: EncodableT,
        withscore: bool = False,
        score_cast_func: builtins.type | Callable[..., Any] = float,
    ) -> int | list[Any] | None: ...
    def zrevrank(
        self,
        name: KeyT,
        value: EncodableT,
        withscore: bool = False,
        score_cast_func: builtins.type | Callable[..., Any] = float,
    ) -> int | list[Any] | None: ...
    def zcount(self, name: KeyT, min: ZScoreBoundT, max: ZScoreBoundT) -> int: ...
    def zlexcount(self, name: KeyT, min: EncodableT, max: EncodableT) -> int: ...
    def zrange(
        self,
        name: KeyT,
        start: EncodableT,
        end: EncodableT,
        desc: bool = False,
        withscores: bool = False,
        score_cast_func: builtins.type | Callable[..., Any] = float,
        byscore: bool = False,
        bylex: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> ZSetRangeResponse: ...
    def zrevrange(
        self,
        name: KeyT,
        start: int,
        end: int,
        withscores: bool = False,
        score_cast_func: builtins.type | Callable[..., Any] = float,
    ) -> ZSetRangeResponse: ...
    def zrangebyscore(
        self,
        name: KeyT,
        min: ZScoreBoundT,
        max: ZScoreBoundT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: builtins.type | Callable[..., Any] = float,
    ) -> ZSetRangeResponse: ...
    def zrevrangebyscore(
        self,
        name: KeyT,
        max: ZScoreBoundT,
        min: ZScoreBoundT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: builtins.type | Callable[..., Any] = float,
    ) -> ZSetRangeResponse: ...
    def zrangebylex(
        self,
        name: KeyT,
        min: EncodableT,
        max: EncodableT,
        start: int | None = None,
        num: int | None = None,
    ) -> list[bytes | str]: ...
    def zrevrangebylex(
        self,
        name: KeyT,
        max: EncodableT,
        min: EncodableT,
        start: int | None = None,
        num: int | None = None,
    ) -> list[bytes | str]: ...
    def zremrangebyrank(self, name: KeyT, min: int, max: int) -> int: ...
    def zremrangebyscore(
        self, name: KeyT, min: ZScoreBoundT, max: ZScoreBoundT
    ) -> int: ...
    def zremrangebylex(self, name: KeyT, min: EncodableT, max: EncodableT) -> int: ...
    def zincrby(self, name: KeyT, amount: float, value: EncodableT) -> float | None: ...
    def zpopmin(self, name: KeyT, count: int | None = None) -> ZSetRangeResponse: ...
    def zpopmax(self, name: KeyT, count: int | None = None) -> ZSetRangeResponse: ...
    def bzpopmin(
        self, keys: KeysT, timeout: TimeoutSecT = 0
    ) -> BlockingZSetPopResponse: ...
    def bzpopmax(
        self, keys: KeysT, timeout: TimeoutSecT = 0
    ) -> BlockingZSetPopResponse: ...
    def zscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: PatternT | None = None,
        count: int | None = None,
        score_cast_func: builtins.type | Callable[..., Any] = float,
    ) -> ZScanResponse: ...
    def zcard(self, name: KeyT) -> int: ...
    def pfadd(self, name: KeyT, *values: FieldT) -> int: ...
    def pfcount(self, *sources: KeyT) -> int: ...
    def pfmerge(self, dest: KeyT, *sources: KeyT) -> bool: ...
    def getbit(self, name: KeyT, offset: int) -> int: ...
    def setbit(self, name: KeyT, offset: int, value: int) -> int: ...
    def bitcount(
        self,
        key: KeyT,
        start: int | None = None,
        end: int | None = None,
        mode: str | None = None,
    ) -> int: ...

    # streams (only where ``Capability.STREAMS`` is declared); replies as
    # redis-py gives them, whose shapes differ under RESP2 and RESP3
    def xadd(
        self,
        name: KeyT,
        fields: dict[Any, Any],
        id: StreamIdT = "*",
        maxlen: int | None = None,
        approximate: bool = True,
    ) -> bytes | str: ...
    def xrange(
        self,
        name: KeyT,
        min: StreamIdT = "-",
        max: StreamIdT = "+",
        count: int | None = None,
    ) -> Any: ...
    def xrevrange(
        self,
        name: KeyT,
        max: StreamIdT = "+",
        min: StreamIdT = "-",
        count: int | None = None,
    ) -> Any: ...
    def xread(
        self,
        streams: dict[Any, Any],
        count: int | None = None,
        block: int | None = None,
    ) -> Any: ...
    def xreadgroup(
        self,
        groupname: str,
        consumername: str,
        streams: dict[Any, Any],
        count: int | None = None,
        block: int | None = None,
        noack: bool = False,
    ) -> Any: ...
    def xdel(self, name: KeyT, *ids: StreamIdT) -> int: ...
    def xlen(self, name: KeyT) -> int: ...
    def xtrim(
        self,
        name: KeyT,
        maxlen: int | None = None,
        approximate: bool = True,
        minid: StreamIdT | None = None,
        limit: int | None = None,
    ) -> int: ...
    def xsetid(self, name: Any, id: Any) -> bool: ...
    def xinfo_stream(self, name: KeyT, full: bool = False) -> dict[str, Any]: ...
    def xinfo_groups(self, name: KeyT) -> list[dict[str, Any]]: ...
    def xinfo_consumers(
        self, name: KeyT, groupname: GroupT
    ) -> list[dict[str, Any]]: ...
    def xgroup_create(
        self,
        name: KeyT,
        groupname: GroupT,
        id: StreamIdT = "$",
        mkstream: bool = False,
    ) -> bool: ...
    def xgroup_destroy(self, name: KeyT, groupname: GroupT) -> bool: ...
    def xgroup_setid(self, name: KeyT, groupname: GroupT, id: StreamIdT) -> bool: ...
    def xgroup_createconsumer(
        self, name: KeyT, groupname: GroupT, consumername: ConsumerT
    ) -> int: ...
    def xgroup_delconsumer(
        self, name: KeyT, groupname: GroupT, consumername: ConsumerT
    ) -> int: ...
    def xack(self, name: KeyT, groupname: GroupT, *ids: StreamIdT) -> int: ...
    def xpending(self, name: KeyT, groupname: GroupT) -> dict[str, Any]: ...
    def xpending_range(
        self,
        name: KeyT,
        groupname: GroupT,
        min: StreamIdT,
        max: StreamIdT,
        count: int,
        consumername: ConsumerT | None = None,
        idle: int | None = None,
    ) -> Any: ...
    def xclaim(
        self,
        name: KeyT,
        groupname: GroupT,
        consumername: ConsumerT,
        min_idle_time: int,
        message_ids: list[Any] | tuple[Any, ...],
        idle: int | None = None,
        time: int | None = None,
        retrycount: int | None = None,
        force: bool = False,
        justid: bool = False,
    ) -> Any: ...
    def xautoclaim(
        self,
        name: KeyT,
        groupname: GroupT,
        consumername: ConsumerT,
        min_idle_time: int,
        start_id: StreamIdT = "0-0",
        count: int | None = None,
        justid: bool = False,
    ) -> list[Any]: ...

    # pub/sub
    def publish(self, channel: ChannelT, message: EncodableT, **kwargs: Any) -> int: ...

    def execute_command(self, *args: Any, **options: Any) -> Any: ...
