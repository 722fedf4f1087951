"""Consumer groups: streams read by a named group of consumers, with acks.

``db.consumer_group(group, keys, consumer=None)`` gives a
:class:`ConsumerGroup` over one or more streams; each stream is a
:class:`ConsumerGroupStream` (a :class:`~walrus.Stream` that also reads,
acknowledges and claims within the group), an attribute named after its key
(``cg.stream_a`` for ``'stream-a'``) and always ``cg.streams[key]``.

Every method is one round trip, whatever the number of streams (several
streams go in one pipeline). Replies are the same under RESP2 and RESP3; a
group that does not exist raises :class:`~walrus.exceptions.UnknownGroup`, a
key holding another type :class:`~walrus.exceptions.WrongType`.
"""

from __future__ import annotations

import keyword
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

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
from walrus.features.containers.base import check_value
from walrus.features.containers.stream import (
    _ID,
    _READ_ID,
    Message,
    Stream,
    _checked_id,
    _messages,
    _positive,
)
from walrus.keys import key_text

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
    from walrus.features.stream_worker import StreamWorker

__all__ = [
    "AutoClaim",
    "ConsumerGroup",
    "ConsumerGroupStream",
    "StreamMap",
    "StreamNameWarning",
    "read_reply",
]

_PENDING_BOUND = re.compile(r"[-+]|\(?[0-9]+(?:-[0-9]+)?")
_SET_ID = re.compile(r"\$|[0-9]+(?:-[0-9]+)?")
_PENDING_FIELDS = ("message_id", "consumer", "time_since_delivered", "times_delivered")


class StreamNameWarning(UserWarning):
    """A stream of a consumer group got no attribute (use ``cg.streams[key]``)."""


class AutoClaim(NamedTuple):
    """What ``autoclaim()`` returns: where to continue, and what was claimed."""

    next_id: Any  # '0-0' once the whole pending list was scanned
    messages: list[Any]  # (id, fields) pairs, or ids with ``justid=True``


def wire(key: Any) -> bytes:
    """The key as the server sees it (to match reply keys with given keys)."""
    if isinstance(key, bytes):
        return key
    return str(key).encode()


class StreamMap(dict[Any, "ConsumerGroupStream"]):
    """``cg.streams``: each stream under its key as given, also found by the
    key's other form (bytes or str), as group reads return it."""

    def __missing__(self, key: Any) -> ConsumerGroupStream:
        if isinstance(key, (str, bytes)):
            for given, stream in self.items():
                if wire(given) == wire(key):
                    return stream
        raise KeyError(key)


def read_reply(reply: Any) -> list[tuple[Any, list[Message]]]:
    """XREAD/XREADGROUP replies as ``[(key, messages)]``, RESP2 or RESP3."""
    if not reply:
        return []
    pairs = reply.items() if isinstance(reply, Mapping) else reply
    result = []
    for key, entries in pairs:
        if (
            entries
            and isinstance(entries[0], list)
            and len(entries) == 1
            and (not entries[0] or isinstance(entries[0][0], (list, tuple)))
        ):
            entries = entries[0]  # RESP3 wraps each stream's entries once more
        result.append((key, _messages(entries)))
    return result


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


def _identifier(key: Any) -> str:
    """A Python identifier made from a stream key (``'stream-a'`` -> ``stream_a``)."""
    name = re.sub(r"\W", "_", key_text(key))
    if not name.isidentifier():
        name = re.sub(r"[^0-9A-Za-z_]", "_", name)
    if not name or name[0].isdigit():
        name = "_" + name
    if keyword.iskeyword(name):
        name += "_"
    return name


def normalize_keys(keys: Any) -> dict[Any, Any]:
    """``keys`` (a key, a list of keys, or ``{key: min_id}``) as ``{key: min_id}``."""
    if isinstance(keys, (str, bytes)):
        pairs = [(keys, "0-0")]
    elif isinstance(keys, Mapping):
        pairs = [(k, _checked_id(v, _READ_ID, "minimum id")) for k, v in keys.items()]
    elif isinstance(keys, (list, tuple)):
        pairs = [(k, "0-0") for k in keys]
    else:
        raise InvalidType(
            "stream keys must be a key, a list of keys or a {key: min_id} "
            f"mapping, not {type(keys).__name__}"
        )
    if not pairs:
        raise InvalidValue("a consumer group needs at least one stream key")
    result: dict[Any, Any] = {}
    seen: set[bytes] = set()
    for key, min_id in pairs:
        check_value(key, "stream key")
        if isinstance(key, (int, float)):
            raise InvalidType(f"a stream key must be str or bytes, not {key!r}")
        if wire(key) in seen:
            raise InvalidValue(f"stream key {key_text(key)!r} is given twice")
        seen.add(wire(key))
        result[key] = min_id
    return result


def _name(value: Any, what: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, bytes)):
        raise InvalidType(f"a {what} must be str or bytes, not {type(value).__name__}")
    if not value:
        raise InvalidValue(f"a {what} cannot be empty")
    return value


def _pending_entry(entry: Any) -> dict[str, Any]:
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

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            with super()._errors():
                yield
        except CommandError as exc:
            if isinstance(exc, WrongType):
                raise
            raise group_error(exc, self.group.name, [self.key]) from exc

    def _id(self, value: Any) -> Any:
        """An id given by the user, as sent (TimeSeries converts datetimes)."""
        return _checked_id(value, _ID, "stream message id")

    def _bound(self, value: Any) -> Any:
        return _checked_id(value, _PENDING_BOUND, "pending range bound")

    def _wrap(self, messages: list[Message]) -> list[Any]:
        """Messages as this stream returns them (TimeSeries: Message objects)."""
        return messages

    # -- the group's view ---------------------------------------------------------
    def read(
        self, count: int | None = None, block: int | None = None, last_id: Any = None
    ) -> list[Any]:
        """Messages for this consumer (XREADGROUP): by default ``'>'``, those
        never delivered to the group; an id reads this consumer's pending
        messages after it. ``block`` waits that many ms (0: forever). One trip."""
        after = ">" if last_id is None else self._id(last_id)
        count = _positive(count, "count")
        block = _positive(block, "block", zero=True)
        commands = self._commands("read")
        with self._errors():
            reply = commands.xreadgroup(
                self.group.name,
                self.group.consumer_name,
                {self.key: after},
                count=count,
                block=block,
            )
        found = read_reply(reply)
        return self._wrap(found[0][1]) if found else []

    def ack(self, *ids: Any, missing_ok: bool = False) -> int:
        """Acknowledge messages (XACK); the number acknowledged. Ids the group
        does not have pending raise :class:`NotPending` (after the others are
        acknowledged) unless ``missing_ok``. O(1) each; one round trip."""
        checked = [self._id(i) for i in ids]
        commands = self._commands("ack")
        if not checked:
            return 0
        with self._errors():
            done = int(commands.xack(self.key, self.group.name, *checked))
        if done < len(checked) and not missing_ok:
            with self._errors():  # error path only: does the group exist?
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
        with self._errors():
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
        name = (
            self.group.consumer_name
            if consumer is None
            else _name(consumer, "consumer name")
        )
        idle = _positive(min_idle_time, "min_idle_time", zero=True)
        start = self._id(start_id)
        count = _positive(count, "count")
        commands = self._commands("autoclaim")
        with self._errors():
            reply = commands.xautoclaim(
                self.key, self.group.name, name, idle or 0, start, count=count
            )
        messages = self._wrap(_messages(reply[1]))
        if justid:
            messages = [self._message_id(m) for m in messages]
        return AutoClaim(reply[0], messages)

    def _message_id(self, message: Any) -> Any:
        return message[0]

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
        who = None if consumer is None else _name(consumer, "consumer name")
        idle = _positive(idle, "idle", zero=True)
        commands = self._commands("pending")
        with self._errors():
            reply = commands.xpending_range(
                self.key,
                self.group.name,
                low,
                high,
                limit or 0,
                consumername=who,
                idle=idle,
            )
        return [self._pending(_pending_entry(entry)) for entry in reply or ()]

    def _pending(self, entry: dict[str, Any]) -> Any:
        return entry

    def set_id(self, id: Any = "$") -> bool:
        """Set the group's last delivered id on this stream (XGROUP SETID):
        ``'$'`` marks everything read, ``'0'`` nothing. One round trip."""
        value = _checked_id(id, _SET_ID, "group last id") if id == "$" else self._id(id)
        commands = self._commands("set_id")
        with self._errors():
            return bool(commands.xgroup_setid(self.key, self.group.name, value))

    def consumers_info(self, group: Any = None) -> list[dict[str, Any]]:
        """One dict per consumer of the group (XINFO CONSUMERS). One round trip."""
        return super().consumers_info(self.group.name if group is None else group)

    def create_consumer(self, consumer: Any = None) -> bool:
        """Register a consumer (this one by default) without reading
        (XGROUP CREATECONSUMER, Redis 6.2+); False if it existed. One trip."""
        name = (
            self.group.consumer_name
            if consumer is None
            else _name(consumer, "consumer name")
        )
        commands = self._commands("create_consumer")
        with self._errors():
            return bool(commands.xgroup_createconsumer(self.key, self.group.name, name))

    def delete_consumer(self, consumer: Any = None) -> int:
        """Remove a consumer (this one by default) from the group (XGROUP
        DELCONSUMER); the number of messages it had pending, which are no
        longer pending for anyone. One round trip."""
        name = (
            self.group.consumer_name
            if consumer is None
            else _name(consumer, "consumer name")
        )
        commands = self._commands("delete_consumer")
        with self._errors():
            return int(commands.xgroup_delconsumer(self.key, self.group.name, name))


class ConsumerGroup:
    """A consumer group named ``name`` over the streams ``keys``, read as
    ``consumer`` (``'<name>.c1'`` by default).

    ``keys`` is a key, a list of keys or ``{key: min_id}`` (the id after which
    the group starts reading when :meth:`create` makes it; ``'0-0'`` by default,
    ``'$'`` for only new messages). Each stream is ``cg.streams[key]`` and an
    attribute named after its key made an identifier; a name that would
    shadow a method or that two keys share gets no attribute
    (:class:`StreamNameWarning`).
    """

    stream_class: type[ConsumerGroupStream] = ConsumerGroupStream

    def __init__(
        self, database: Driver, name: Any, keys: Any, consumer: Any = None
    ) -> None:
        self.database = database
        self.name = _name(name, "consumer group name")
        self.keys = normalize_keys(keys)
        if consumer is None:
            consumer = (
                self.name + b".c1"
                if isinstance(self.name, bytes)
                else f"{self.name}.c1"
            )
        self.consumer_name = _name(consumer, "consumer name")
        self.streams = StreamMap(
            (key, self.stream_class(database, self, key)) for key in self.keys
        )
        self._ambiguous: dict[str, list[Any]] = {}
        self._attach_streams()

    def _attach_streams(self) -> None:
        reserved = set(dir(type(self))) | set(vars(self))
        by_name: dict[str, list[Any]] = {}
        for key in self.keys:
            by_name.setdefault(_identifier(key), []).append(key)
        for attr, keys in by_name.items():
            if len(keys) > 1:
                self._ambiguous[attr] = keys
                warnings.warn(
                    f"stream keys {', '.join(repr(key_text(k)) for k in keys)} all "
                    f"map to the attribute {attr!r}: use cg.streams[key] instead",
                    StreamNameWarning,
                    stacklevel=3,
                )
            elif attr in reserved or attr.startswith("__"):
                warnings.warn(
                    f"stream key {key_text(keys[0])!r} would shadow "
                    f"ConsumerGroup.{attr}: use cg.streams[{key_text(keys[0])!r}]",
                    StreamNameWarning,
                    stacklevel=3,
                )
            else:
                setattr(self, attr, self.streams[keys[0]])

    def __getattr__(self, attr: str) -> Any:
        ambiguous = self.__dict__.get("_ambiguous", {})
        if attr in ambiguous:
            keys = ", ".join(repr(key_text(k)) for k in ambiguous[attr])
            raise AttributeError(
                f"{attr!r} is ambiguous (streams {keys}): use cg.streams[key]"
            )
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {attr!r} "
            "(streams are in .streams)"
        )

    def __repr__(self) -> str:
        keys = ", ".join(repr(key_text(k)) for k in self.keys)
        return (
            f"<{type(self).__name__} {key_text(self.name)!r} [{keys}] "
            f"consumer={key_text(self.consumer_name)!r}>"
        )

    def consumer(self, name: Any) -> ConsumerGroup:
        """The same group (and streams) read as the consumer ``name``; no I/O."""
        return type(self)(self.database, self.name, dict(self.keys), name)

    # -- plumbing ------------------------------------------------------------------
    def _run(self, operation: str, calls: Any, tolerate: str = "") -> list[Any]:
        """Run one command per stream in one pipeline; results in key order.

        Error replies raise the walrus exception for them, except those whose
        text contains ``tolerate``, which come back as exceptions.
        """
        first = next(iter(self.streams.values()))
        first._commands(operation)  # UnsupportedOperation without streams
        pipe = self.database.pipeline(transaction=False)
        for key in self.keys:
            calls(pipe, key)
        try:
            results = pipe.execute(raise_on_error=False)
        except ResponseError as exc:  # a driver raising anyway
            raise group_error(exc, self.name, list(self.keys)) from exc
        for key, result in zip(self.keys, results, strict=True):
            if isinstance(result, ResponseError):
                if tolerate and tolerate in str(result):
                    continue
                raise self._error(key, result) from result
        return list(results)

    def _error(self, key: Any, exc: ResponseError) -> WalrusError:
        if "WRONGTYPE" in str(exc):
            return self.streams[key]._wrong_type(exc)
        return group_error(exc, self.name, [key])

    # -- the group -----------------------------------------------------------------
    def create(
        self, ensure_keys_exist: bool = True, mkstream: bool = False
    ) -> dict[Any, bool]:
        """Create the group on every stream (XGROUP CREATE), starting after
        each key's min id; ``{key: True if created, False if it existed}``.
        Missing streams are created empty (MKSTREAM) unless both flags are
        false, when they raise :class:`MissingKey`. On an error nothing is
        left created. One round trip (k streams: one pipeline)."""
        make = ensure_keys_exist or mkstream
        stream = next(iter(self.streams.values()))
        commands = stream._commands("create")
        pipe = self.database.pipeline(transaction=False)
        for key, min_id in self.keys.items():
            pipe.exists(key)
            pipe.xgroup_create(key, self.name, min_id, mkstream=make)
        try:
            results = pipe.execute(raise_on_error=False)
        except ResponseError as exc:
            raise group_error(exc, self.name, list(self.keys)) from exc
        created: dict[Any, bool] = {}
        failure: tuple[Any, ResponseError] | None = None
        existed: dict[Any, bool] = {}
        for index, key in enumerate(self.keys):
            present, result = results[2 * index], results[2 * index + 1]
            existed[key] = bool(present) and not isinstance(present, Exception)
            if isinstance(result, ResponseError):
                if "BUSYGROUP" in str(result):
                    created[key] = False
                elif failure is None:
                    failure = (key, result)
            else:
                created[key] = True
        if failure is not None:  # undo what this call made, then raise
            undo = commands.pipeline(transaction=False)
            for key, made in created.items():
                if made:
                    undo.xgroup_destroy(key, self.name)
                    if not existed[key]:
                        undo.delete(key)
            undo.execute(raise_on_error=False)
            raise self._error(*failure) from failure[1]
        return created

    def destroy(self) -> dict[Any, bool]:
        """Delete the group from every stream (XGROUP DESTROY);
        ``{key: True if it existed}``. One round trip."""
        results = self._run(
            "destroy",
            lambda pipe, key: pipe.xgroup_destroy(key, self.name),
            tolerate="requires the key to exist",
        )
        return {
            key: not isinstance(r, Exception) and bool(r)
            for key, r in zip(self.keys, results, strict=True)
        }

    def set_id(self, id: Any = "$") -> dict[Any, bool]:
        """Set the group's last delivered id on every stream (XGROUP SETID):
        ``'$'`` marks everything read. ``{key: True}``; one round trip."""
        value = self._set_id_value(id)
        results = self._run(
            "set_id", lambda pipe, key: pipe.xgroup_setid(key, self.name, value)
        )
        return {key: bool(r) for key, r in zip(self.keys, results, strict=True)}

    def _set_id_value(self, id: Any) -> Any:
        if id == "$":
            return id
        return next(iter(self.streams.values()))._id(id)

    def reset(self) -> dict[Any, bool]:
        """Mark every message unread for the group (XGROUP SETID 0). One trip."""
        return self.set_id("0")

    def read(
        self, count: int | None = None, block: int | None = None, consumer: Any = None
    ) -> list[Any]:
        """Messages never delivered to the group, from every stream
        (XREADGROUP ``>``): ``[[key, [(id, fields), ...]], ...]`` for the
        streams that had some, each key as the server returns it (bytes, or
        str when decoding), as in walrus 0.9; ``cg.streams[key]`` takes that
        form too. At most ``count`` per stream; ``block`` waits that many ms
        (0: forever). One round trip."""
        return self._read(count, block, consumer)

    def _read(
        self,
        count: int | None,
        block: int | None,
        consumer: Any,
        ids: dict[Any, Any] | None = None,
    ) -> list[Any]:
        count = _positive(count, "count")
        block = _positive(block, "block", zero=True)
        name = (
            self.consumer_name if consumer is None else _name(consumer, "consumer name")
        )
        stream = next(iter(self.streams.values()))
        commands = stream._commands("read")
        try:
            reply = commands.xreadgroup(
                self.name,
                name,
                ids or dict.fromkeys(self.keys, ">"),
                count=count,
                block=block,
            )
        except ResponseError as exc:
            raise self._read_error(exc) from exc
        return [
            [key, self.streams[key]._wrap(messages)]
            for key, messages in read_reply(reply)
        ]

    def _read_error(self, exc: ResponseError) -> WalrusError:
        """The walrus error for a failed group read; a key of another type
        is named (error path only: one more round trip)."""
        if "WRONGTYPE" in str(exc) or "NOGROUP" in str(exc):
            pipe = self.database.pipeline(transaction=False)
            for key in self.keys:
                pipe.type(key)
            for key, kind in zip(self.keys, pipe.execute(), strict=True):
                name = kind.decode() if isinstance(kind, bytes) else kind
                if name not in ("stream", "none"):
                    return self.streams[key]._wrong_type(exc)
        return group_error(exc, self.name, list(self.keys))

    def stream_info(self) -> dict[Any, dict[str, Any]]:
        """``{key: XINFO STREAM's dict}`` for every stream. One round trip."""
        results = self._run("stream_info", lambda pipe, key: pipe.xinfo_stream(key))
        return {key: dict(r) for key, r in zip(self.keys, results, strict=True)}

    def consume(
        self,
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
    ) -> StreamWorker:
        """A :class:`~walrus.features.stream_worker.StreamWorker` consuming the
        group as this consumer: ``for message in cg.consume(): ...`` (see
        docs/streams.md for the options); no I/O until iterated."""
        from walrus.features.stream_worker import StreamWorker

        return StreamWorker(
            self,
            block=block,
            count=count,
            claim_idle=claim_idle,
            claim_every=claim_every,
            max_deliveries=max_deliveries,
            dead_letter=dead_letter,
            stop_when_empty=stop_when_empty,
            give_up_after=give_up_after,
            max_backoff=max_backoff,
        )
