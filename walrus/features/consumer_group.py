"""Consumer groups: streams read by a named group of consumers, with acks.

``db.consumer_group(group, keys, consumer=None)`` gives a
:class:`ConsumerGroup` over one or more streams; each stream is a
:class:`~walrus.features.group_stream.ConsumerGroupStream` (a
:class:`~walrus.Stream` that also reads, acknowledges and claims within the
group), an attribute named after its key (``cg.stream_a`` for ``'stream-a'``)
and always ``cg.streams[key]``. ``cg.consume()`` gives a
:class:`~walrus.features.stream_worker.StreamWorker` over the group.

Every method is one round trip, whatever the number of streams (several
streams go in one pipeline). Replies are the same under RESP2 and RESP3; a
group that does not exist raises :class:`~walrus.exceptions.UnknownGroup`, a
key holding another type :class:`~walrus.exceptions.WrongType`.

On a cluster (``walrus.ClusterDatabase``) a pipeline is one round trip per
node its streams live on. A read of streams in different slots is one
XREADGROUP per slot, sent together in one plain pipeline and merged in the
group's stream order; a *blocking* read over several slots cannot block on
every node at once, so it polls: a non-blocking read of every slot, then
again after 5, 10, 20 ... up to 100 ms, until a message arrives or ``block``
ms have passed (latency up to 100 ms; one round trip per node per poll).
Streams that share a hash tag (``'{jobs}:a'``, ``'{jobs}:b'``) are in one
slot: one XREADGROUP, a true blocking read.
"""

from __future__ import annotations

import keyword
import math
import re
import time
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Unpack

from redis.exceptions import ResponseError

from walrus.exceptions import InvalidType, InvalidValue, WalrusError
from walrus.features.containers.base import check_value
from walrus.features.containers.stream import (
    _READ_ID,
    Message,
    _checked_id,
    _positive,
    read_reply,
)
from walrus.features.group_stream import (
    AutoClaim,
    ConsumerGroupStream,
    check_name,
    group_error,
    slot_groups,
    wire,
)
from walrus.features.stream_worker import StreamWorker, WorkerOptions
from walrus.keys import key_text

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = [
    "AutoClaim",
    "ConsumerGroup",
    "ConsumerGroupStream",
    "StreamMap",
    "StreamNameWarning",
    "normalize_keys",
]

FIRST_POLL = 0.005  # seconds: a blocking read over several slots polls this
LAST_POLL = 0.1  # soon at first, then twice as long each time, up to this


class StreamNameWarning(UserWarning):
    """A stream of a consumer group got no attribute (use ``cg.streams[key]``)."""


class StreamMap(dict[Any, ConsumerGroupStream]):
    """``cg.streams``: each stream under its key as given, also found by the
    key's other form (bytes or str), as group reads return it."""

    def __missing__(self, key: Any) -> ConsumerGroupStream:
        if isinstance(key, (str, bytes)):
            for given, stream in self.items():
                if wire(given) == wire(key):
                    return stream
        raise KeyError(key)


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
        self.name = check_name(name, "consumer group name")
        self.keys = normalize_keys(keys)
        if consumer is None:
            consumer = (
                self.name + b".c1"
                if isinstance(self.name, bytes)
                else f"{self.name}.c1"
            )
        self.consumer_name = check_name(consumer, "consumer name")
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
    def _consumer(self, name: Any) -> Any:
        """The consumer ``name``, or this group's consumer when it is None."""
        return self.consumer_name if name is None else check_name(name, "consumer name")

    def _commands(self, operation: str) -> Driver:
        """The stream commands; UnsupportedOperation on a database without streams."""
        return next(iter(self.streams.values()))._commands(operation)

    def _execute(self, pipe: Any, raise_on_error: bool = True) -> list[Any]:
        """Send a pipeline of commands on the group's streams; its results."""
        try:
            return list(pipe.execute(raise_on_error=raise_on_error))
        except ResponseError as exc:  # with raise_on_error, or a driver raising
            raise group_error(exc, self.name, list(self.keys)) from exc

    def _run(
        self,
        operation: str,
        calls: Callable[[Any, Any], Any],
        tolerate: str = "",
    ) -> dict[Any, Any]:
        """``calls(pipe, key)`` for every stream, in one pipeline; ``{key: result}``.

        Error replies raise the walrus exception for them, except those whose
        text contains ``tolerate``, which come back as exceptions.
        """
        self._commands(operation)
        pipe = self.database.pipeline(transaction=False)
        for key in self.keys:
            calls(pipe, key)
        results = self._execute(pipe, raise_on_error=False)
        by_key = dict(zip(self.keys, results, strict=True))
        for key, result in by_key.items():
            if isinstance(result, ResponseError) and not (
                tolerate and tolerate in str(result)
            ):
                raise self._error(key, result) from result
        return by_key

    def _error(self, key: Any, exc: ResponseError) -> WalrusError:
        if "WRONGTYPE" in str(exc):
            return self.streams[key]._wrong_type(exc)
        return group_error(exc, self.name, [key])

    def _read_group(
        self,
        ids: dict[Any, Any],
        count: int | None,
        block: int | None,
        consumer: Any = None,
        operation: str = "read",
        wait: Callable[[float], Any] = time.sleep,
    ) -> list[tuple[Any, list[Message]]]:
        """XREADGROUP of ``ids`` (``{key: '>' or an id}``) as ``consumer``:
        ``[(key as the server returns it, messages)]`` for the streams that
        had some, in the order of ``ids``. One round trip (a failed read: two).

        On a cluster, streams in several slots are read with one XREADGROUP
        per slot in one plain pipeline (one round trip per node); with
        ``block`` that read is repeated (see the module) with ``wait(seconds)``
        between two reads, until ``block`` ms passed or ``wait`` returns true
        (the worker's stop event)."""
        count = _positive(count, "count")
        block = _positive(block, "block", zero=True)
        name = self._consumer(consumer)
        commands = self._commands(operation)
        slots = slot_groups(self.database, ids)
        if len(slots) > 1:
            return self._poll_slots(slots, ids, count, block, name, wait)
        try:
            reply = commands.xreadgroup(self.name, name, ids, count=count, block=block)
        except ResponseError as exc:
            raise self._read_error(exc, list(ids)) from exc
        return read_reply(reply)

    def _poll_slots(
        self,
        slots: list[list[Any]],
        ids: dict[Any, Any],
        count: int | None,
        block: int | None,
        consumer: Any,
        wait: Callable[[float], Any],
    ) -> list[tuple[Any, list[Message]]]:
        """Non-blocking reads of every slot until one finds messages or
        ``block`` ms (None: no wait, 0: forever) passed; one pipeline each."""
        if block is None:
            return self._read_slots(slots, ids, count, consumer)
        deadline = time.monotonic() + block / 1000 if block else math.inf
        pause = FIRST_POLL
        while True:
            found = self._read_slots(slots, ids, count, consumer)
            left = deadline - time.monotonic()
            if found or left <= 0 or wait(min(pause, left)):
                return found
            pause = min(pause * 2, LAST_POLL)

    def _read_slots(
        self,
        slots: list[list[Any]],
        ids: dict[Any, Any],
        count: int | None,
        consumer: Any,
    ) -> list[tuple[Any, list[Message]]]:
        """One XREADGROUP per slot in one plain pipeline; the streams with
        messages, in the order of ``ids``. One round trip per node."""
        pipe = self.database.pipeline(transaction=False)
        for keys in slots:
            pipe.xreadgroup(
                self.name, consumer, {key: ids[key] for key in keys}, count=count
            )
        replies = self._execute(pipe, raise_on_error=False)
        found: list[tuple[Any, list[Message]]] = []
        for reply in replies:
            if isinstance(reply, ResponseError):  # named as one XREADGROUP names it
                raise self._read_error(reply, list(ids)) from reply
            found += read_reply(reply)
        order = {wire(key): index for index, key in enumerate(ids)}
        found.sort(key=lambda pair: order.get(wire(pair[0]), len(order)))
        return found

    def _read_error(self, exc: ResponseError, keys: list[Any]) -> WalrusError:
        """The walrus error for a failed read of ``keys``; a key of another
        type is named (error path only: one more round trip)."""
        if "WRONGTYPE" in str(exc) or "NOGROUP" in str(exc):
            pipe = self.database.pipeline(transaction=False)
            for key in keys:
                pipe.type(key)
            for key, kind in zip(keys, pipe.execute(), strict=True):
                name = kind.decode() if isinstance(kind, bytes) else kind
                if name not in ("stream", "none"):
                    return self.streams[key]._wrong_type(exc)
        return group_error(exc, self.name, keys)

    # -- the group -----------------------------------------------------------------
    def create(
        self, ensure_keys_exist: bool = True, mkstream: bool = False
    ) -> dict[Any, bool]:
        """Create the group on every stream (XGROUP CREATE), starting after
        each key's min id; ``{key: True if created, False if it existed}``.
        Missing streams are created empty (MKSTREAM) unless both flags are
        false, when they raise :class:`MissingKey`. On an error nothing is
        left created. One round trip (k streams: one pipeline; on a cluster,
        one round trip per node the streams live on)."""
        make = ensure_keys_exist or mkstream
        self._commands("create")
        pipe = self.database.pipeline(transaction=False)
        for key, min_id in self.keys.items():
            pipe.exists(key)
            pipe.xgroup_create(key, self.name, min_id, mkstream=make)
        results = self._execute(pipe, raise_on_error=False)
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
            undo = self.database.pipeline(transaction=False)
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
            key: not isinstance(r, Exception) and bool(r) for key, r in results.items()
        }

    def set_id(self, id: Any = "$") -> dict[Any, bool]:
        """Set the group's last delivered id on every stream (XGROUP SETID):
        ``'$'`` marks everything read. ``{key: True}``; one round trip."""
        value = next(iter(self.streams.values()))._group_id(id)
        results = self._run(
            "set_id", lambda pipe, key: pipe.xgroup_setid(key, self.name, value)
        )
        return {key: bool(r) for key, r in results.items()}

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
        (0: forever). One round trip; on a cluster, streams in several slots
        are read per slot and merged in the group's order, one round trip
        per node, and ``block`` polls (see the module)."""
        found = self._read_group(dict.fromkeys(self.keys, ">"), count, block, consumer)
        return [[key, self.streams[key]._wrap(messages)] for key, messages in found]

    def stream_info(self) -> dict[Any, dict[str, Any]]:
        """``{key: XINFO STREAM's dict}`` for every stream. One round trip."""
        results = self._run("stream_info", lambda pipe, key: pipe.xinfo_stream(key))
        return {key: dict(r) for key, r in results.items()}

    def consume(self, **options: Unpack[WorkerOptions]) -> StreamWorker:
        """A :class:`~walrus.features.stream_worker.StreamWorker` consuming the
        group as this consumer: ``for message in cg.consume(): ...``. The
        options are the worker's, by keyword (``block``, ``count``,
        ``claim_idle``, ``claim_every``, ``max_deliveries``, ``dead_letter``,
        ``stop_when_empty``, ``give_up_after``, ``max_backoff``: defaults and
        meaning in :class:`StreamWorker` and docs/streams.md). No I/O until
        iterated."""
        return StreamWorker(self, **options)
