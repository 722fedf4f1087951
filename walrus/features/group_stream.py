"""ConsumerGroupStream: one stream of a consumer group, read as its consumer.

``cg.streams[key]`` (and the attribute named after the key) is a
:class:`ConsumerGroupStream`: a :class:`~walrus.Stream` that also reads,
acknowledges, claims and lists pending messages within the group, and manages
the group's consumers on that stream. The group itself, over all its streams,
is :class:`~walrus.ConsumerGroup` (:mod:`walrus.features.consumer_group`).

Every method is one round trip. A group that does not exist raises
:class:`~walrus.exceptions.UnknownGroup`, a key holding another type
:class:`~walrus.exceptions.WrongType`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from redis.crc import key_slot
from redis.exceptions import ResponseError

from walrus.exceptions import (
    CommandError,
    InvalidType,
    InvalidValue,
    MissingKey,
    NotPending,
    UnknownGroup,
    WalrusError,
    WrongType,
)
from walrus.features.containers.stream import Message, Stream, _messages, _positive
from walrus.keys import key_text

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
    from walrus.features.consumer_group import ConsumerGroup

__all__ = ["AutoClaim", "ConsumerGroupStream", "slot_groups", "wire"]

_PENDING_FIELDS = ("message_id", "consumer", "time_since_delivered", "times_delivered")


class AutoClaim(NamedTuple):
    """What ``autoclaim()`` returns: where to continue, and what was claimed."""

    next_id: Any  # '0-0' once the whole pending list was scanned
    messages: list[Any]  # (id, fields) pairs, or ids with ``justid=True``


def wire(key: Any) -> bytes:
    """The key as the server sees it (to match reply keys with given keys)."""
    if isinstance(key, bytes):
        return key
    return str(key).encode()


def slot_groups(database: Driver, keys: Iterable[Any]) -> list[list[Any]]:
    """``keys`` grouped by cluster slot, groups and keys in the given order;
    on a single server (any engine but a cluster) one group. No I/O."""
    keys = list(keys)
    if not database.keyspace.cluster:
        return [keys]
    groups: dict[int, list[Any]] = {}
    for key in keys:
        groups.setdefault(key_slot(wire(key)), []).append(key)
    return list(groups.values())


def check_name(value: Any, what: str) -> Any:
    """``value`` if it can name a group or a consumer (non-empty str or bytes)."""
    if isinstance(value, bool) or not isinstance(value, (str, bytes)):
        raise InvalidType(f"a {what} must be str or bytes, not {type(value).__name__}")
    if not value:
        raise InvalidValue(f"a {what} cannot be empty")
    return value


def group_error(exc: ResponseError, group: Any, keys: Sequence[Any]) -> WalrusError:
    """A walrus exception for an error reply about ``group`` on ``keys``."""
    if isinstance(exc, WalrusError) and not isinstance(exc, CommandError):
        return exc
    message = str(exc)
    names = ", ".join(repr(key_text(k)) for k in keys)
    if "NOGROUP" in message:
        return UnknownGroup(
            f"no consumer group {key_text(group)!r} on stream {names} "
            "(create it with create())"
        )
    if "requires the key to exist" in message or message == "no such key":
        return MissingKey(f"no stream at key {names} (use create(mkstream=True))")
    if isinstance(exc, WalrusError):
        return exc
    return CommandError(message)


def pending_entry(entry: Any) -> dict[str, Any]:
    """One entry of an XPENDING range reply as a dict, RESP2 or RESP3."""
    if isinstance(entry, Mapping):
        return {name: entry[name] for name in _PENDING_FIELDS}
    return dict(zip(_PENDING_FIELDS, entry, strict=True))


class ConsumerGroupStream(Stream):
    """One stream of a consumer group: a :class:`Stream` plus the group's reads,
    acknowledgements and claims, made as the group's consumer."""

    def __init__(self, database: Driver, group: ConsumerGroup, key: Any) -> None:
        super().__init__(database, key)
        self.group = group

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {key_text(self.key)!r} "
            f"group={key_text(self.group.name)!r}>"
        )

    def _error(self, exc: ResponseError) -> BaseException:
        error = super()._error(exc)
        if isinstance(error, CommandError) and not isinstance(error, WrongType):
            return group_error(error, self.group.name, [self.key])
        return error

    def _group_id(self, value: Any) -> Any:
        """A group's last delivered id: ``'$'`` or a message id."""
        return value if value == "$" else self._id(value)

    def _wrap(self, messages: list[Message]) -> list[Any]:
        """Messages as this stream returns them (TimeSeries: Message objects)."""
        return messages

    def _message_id(self, message: Any) -> Any:
        """The id of a message as :meth:`_wrap` made it."""
        return message[0]

    def _pending(self, entry: dict[str, Any]) -> Any:
        """A pending entry as :meth:`pending` returns it (TimeSeries: a tuple)."""
        return entry

    # -- the group's view ---------------------------------------------------------
    def read(
        self, count: int | None = None, block: int | None = None, last_id: Any = None
    ) -> list[Any]:
        """Messages for this consumer (XREADGROUP): by default ``'>'``, those
        never delivered to the group; an id reads this consumer's pending
        messages after it. ``block`` waits that many ms (0: forever). One trip."""
        after = ">" if last_id is None else self._id(last_id)
        found = self.group._read_group({self.key: after}, count, block)
        return self._wrap(found[0][1]) if found else []

    def ack(self, *ids: Any, missing_ok: bool = False) -> int:
        """Acknowledge messages (XACK); the number acknowledged. Ids the group
        does not have pending raise :class:`NotPending` (after the others are
        acknowledged) unless ``missing_ok``. O(1) each; one round trip."""
        checked = [self._id(i) for i in ids]
        commands = self._commands("ack")
        if not checked:
            return 0
        with self._guard:
            done = int(commands.xack(self.key, self.group.name, *checked))
        if done < len(checked) and not missing_ok:
            with self._guard:  # error path only: does the group exist?
                commands.xpending(self.key, self.group.name)
            raise NotPending(
                f"{len(checked) - done} of {len(checked)} ids were not pending in "
                f"group {key_text(self.group.name)!r} of stream "
                f"{key_text(self.key)!r}",
                done,
                list(ids),
            )
        return done

    def claim(self, *ids: Any, min_idle_time: int = 0) -> list[Any]:
        """Take pending messages over for this consumer (XCLAIM), those idle
        at least ``min_idle_time`` ms; the claimed messages. One round trip."""
        checked = [self._id(i) for i in ids]
        idle = _positive(min_idle_time, "min_idle_time", zero=True)
        commands = self._commands("claim")
        if not checked:
            return []
        with self._guard:
            reply = commands.xclaim(
                self.key,
                self.group.name,
                self.group.consumer_name,
                idle or 0,
                checked,
            )
        return self._wrap(_messages(reply))

    def autoclaim(
        self,
        consumer: Any = None,
        min_idle_time: int = 0,
        start_id: Any = 0,
        count: int | None = None,
        justid: bool = False,
    ) -> AutoClaim:
        """Claim pending messages idle at least ``min_idle_time`` ms for
        ``consumer`` (this one by default), scanning from ``start_id``
        (XAUTOCLAIM, Redis 6.2+); at most ``count`` (100 by default). Returns
        ``(next_id, messages)``; entries deleted from the stream are dropped
        from the pending list. With ``justid``, the ids only (their delivery
        counts still grow, as with a full claim). One round trip."""
        name = self.group._consumer(consumer)
        idle = _positive(min_idle_time, "min_idle_time", zero=True)
        start = self._id(start_id)
        count = _positive(count, "count")
        commands = self._commands("autoclaim")
        with self._guard:
            reply = commands.xautoclaim(
                self.key, self.group.name, name, idle or 0, start, count=count
            )
        messages = self._wrap(_messages(reply[1]))
        if justid:
            messages = [self._message_id(m) for m in messages]
        return AutoClaim(reply[0], messages)

    def pending(
        self,
        start: Any = "-",
        stop: Any = "+",
        count: int = 1000,
        consumer: Any = None,
        idle: int | None = None,
    ) -> list[Any]:
        """Messages delivered but not acknowledged (XPENDING), oldest first:
        dicts with ``message_id``, ``consumer``, ``time_since_delivered`` (ms)
        and ``times_delivered``. Filter by ``consumer`` and by ``idle`` ms
        (Redis 6.2+). O(N) in the result; one round trip."""
        low, high = self._bound(start), self._bound(stop)
        limit = _positive(count, "count")
        who = None if consumer is None else check_name(consumer, "consumer name")
        idle = _positive(idle, "idle", zero=True)
        commands = self._commands("pending")
        with self._guard:
            reply = commands.xpending_range(
                self.key,
                self.group.name,
                low,
                high,
                limit or 0,
                consumername=who,
                idle=idle,
            )
        return [self._pending(pending_entry(entry)) for entry in reply or ()]

    # -- the group and its consumers on this stream --------------------------------
    def set_id(self, id: Any = "$") -> bool:
        """Set the group's last delivered id on this stream (XGROUP SETID):
        ``'$'`` marks everything read, ``'0'`` nothing. One round trip."""
        value = self._group_id(id)
        commands = self._commands("set_id")
        with self._guard:
            return bool(commands.xgroup_setid(self.key, self.group.name, value))

    def consumers_info(self, group: Any = None) -> list[dict[str, Any]]:
        """One dict per consumer of the group (XINFO CONSUMERS). One round trip."""
        return super().consumers_info(self.group.name if group is None else group)

    def create_consumer(self, consumer: Any = None) -> bool:
        """Register a consumer (this one by default) without reading
        (XGROUP CREATECONSUMER, Redis 6.2+); False if it existed. One trip."""
        name = self.group._consumer(consumer)
        commands = self._commands("create_consumer")
        with self._guard:
            return bool(commands.xgroup_createconsumer(self.key, self.group.name, name))

    def delete_consumer(self, consumer: Any = None) -> int:
        """Remove a consumer (this one by default) from the group (XGROUP
        DELCONSUMER); the number of messages it had pending, which are no
        longer pending for anyone. One round trip."""
        name = self.group._consumer(consumer)
        commands = self._commands("delete_consumer")
        with self._guard:
            return int(commands.xgroup_delconsumer(self.key, self.group.name, name))
