"""Async twin of :mod:`walrus.features.consumer_group`, generated from ``walrus/features/consumer_group.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
import asyncio
import math
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Unpack
from redis.exceptions import ResponseError
from walrus.exceptions import WalrusError
from walrus.features.containers.stream import Message, _positive, read_reply
from walrus.features.group_stream import (
    AutoClaim,
    check_name,
    group_error,
    slot_groups,
    wire,
)
from walrus.asyncio.features.group_stream import ConsumerGroupStream
from walrus.features.stream_worker import WorkerOptions
from walrus.asyncio.features.stream_worker import StreamWorker
from walrus.keys import key_text

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.consumer_group import (
    FIRST_POLL,
    LAST_POLL,
    StreamNameWarning,
    _identifier,
    normalize_keys,
)

__all__ = [
    "AutoClaim",
    "ConsumerGroup",
    "ConsumerGroupStream",
    "StreamMap",
    "StreamNameWarning",
    "normalize_keys",
]


class StreamMap(dict[Any, ConsumerGroupStream]):
    """``cg.streams``: each stream under its key as given, also found by the
    key's other form (bytes or str), as group reads return it."""

    def __missing__(self, key: Any) -> ConsumerGroupStream:
        if isinstance(key, (str, bytes)):
            for given, stream in self.items():
                if wire(given) == wire(key):
                    return stream
        raise KeyError(key)


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
            ((key, self.stream_class(database, self, key)) for key in self.keys)
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
                    f"stream keys {', '.join((repr(key_text(k)) for k in keys))} all map to the attribute {attr!r}: use cg.streams[key] instead",
                    StreamNameWarning,
                    stacklevel=3,
                )
            elif attr in reserved or attr.startswith("__"):
                warnings.warn(
                    f"stream key {key_text(keys[0])!r} would shadow ConsumerGroup.{attr}: use cg.streams[{key_text(keys[0])!r}]",
                    StreamNameWarning,
                    stacklevel=3,
                )
            else:
                setattr(self, attr, self.streams[keys[0]])

    def __getattr__(self, attr: str) -> Any:
        ambiguous = self.__dict__.get("_ambiguous", {})
        if attr in ambiguous:
            keys = ", ".join((repr(key_text(k)) for k in ambiguous[attr]))
            raise AttributeError(
                f"{attr!r} is ambiguous (streams {keys}): use cg.streams[key]"
            )
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {attr!r} (streams are in .streams)"
        )

    def __repr__(self) -> str:
        keys = ", ".join((repr(key_text(k)) for k in self.keys))
        return f"<{type(self).__name__} {key_text(self.name)!r} [{keys}] consumer={key_text(self.consumer_name)!r}>"

    def consumer(self, name: Any) -> ConsumerGroup:
        """The same group (and streams) read as the consumer ``name``; no I/O."""
        return type(self)(self.database, self.name, dict(self.keys), name)

    def _consumer(self, name: Any) -> Any:
        """The consumer ``name``, or this group's consumer when it is None."""
        return self.consumer_name if name is None else check_name(name, "consumer name")

    def _commands(self, operation: str) -> Driver:
        """The stream commands; UnsupportedOperation on a database without streams."""
        return next(iter(self.streams.values()))._commands(operation)

    async def _execute(self, pipe: Any, raise_on_error: bool = True) -> list[Any]:
        """Send a pipeline of commands on the group's streams; its results."""
        try:
            return list(await pipe.execute(raise_on_error=raise_on_error))
        except ResponseError as exc:
            raise group_error(exc, self.name, list(self.keys)) from exc

    async def _run(
        self, operation: str, calls: Callable[[Any, Any], Any], tolerate: str = ""
    ) -> dict[Any, Any]:
        """``calls(pipe, key)`` for every stream, in one pipeline; ``{key: result}``.

        Error replies raise the walrus exception for them, except those whose
        text contains ``tolerate``, which come back as exceptions.
        """
        self._commands(operation)
        pipe = self.database.pipeline(transaction=False)
        for key in self.keys:
            calls(pipe, key)
        results = await self._execute(pipe, raise_on_error=False)
        by_key = dict(zip(self.keys, results, strict=True))
        for key, result in by_key.items():
            if isinstance(result, ResponseError) and (
                not (tolerate and tolerate in str(result))
            ):
                raise await self._error(key, result) from result
        return by_key

    async def _error(self, key: Any, exc: ResponseError) -> WalrusError:
        if "WRONGTYPE" in str(exc):
            return await self.streams[key]._wrong_type(exc)
        return group_error(exc, self.name, [key])

    async def _read_group(
        self,
        ids: dict[Any, Any],
        count: int | None,
        block: int | None,
        consumer: Any = None,
        operation: str = "read",
        wait: Callable[[float], Any] = asyncio.sleep,
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
            return await self._poll_slots(slots, ids, count, block, name, wait)
        try:
            reply = await commands.xreadgroup(
                self.name, name, ids, count=count, block=block
            )
        except ResponseError as exc:
            raise await self._read_error(exc, list(ids)) from exc
        return read_reply(reply)

    async def _poll_slots(
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
            return await self._read_slots(slots, ids, count, consumer)
        deadline = time.monotonic() + block / 1000 if block else math.inf
        pause = FIRST_POLL
        while True:
            found = await self._read_slots(slots, ids, count, consumer)
            left = deadline - time.monotonic()
            if found or left <= 0 or await wait(min(pause, left)):
                return found
            pause = min(pause * 2, LAST_POLL)

    async def _read_slots(
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
        replies = await self._execute(pipe, raise_on_error=False)
        found: list[tuple[Any, list[Message]]] = []
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise await self._read_error(reply, list(ids)) from reply
            found += read_reply(reply)
        order = {wire(key): index for index, key in enumerate(ids)}
        found.sort(key=lambda pair: order.get(wire(pair[0]), len(order)))
        return found

    async def _read_error(self, exc: ResponseError, keys: list[Any]) -> WalrusError:
        """The walrus error for a failed read of ``keys``; a key of another
        type is named (error path only: one more round trip)."""
        if "WRONGTYPE" in str(exc) or "NOGROUP" in str(exc):
            pipe = self.database.pipeline(transaction=False)
            for key in keys:
                pipe.type(key)
            for key, kind in zip(keys, await pipe.execute(), strict=True):
                name = kind.decode() if isinstance(kind, bytes) else kind
                if name not in ("stream", "none"):
                    return await self.streams[key]._wrong_type(exc)
        return group_error(exc, self.name, keys)

    async def create(
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
        results = await self._execute(pipe, raise_on_error=False)
        created: dict[Any, bool] = {}
        failure: tuple[Any, ResponseError] | None = None
        existed: dict[Any, bool] = {}
        for index, key in enumerate(self.keys):
            present, result = (results[2 * index], results[2 * index + 1])
            existed[key] = bool(present) and (not isinstance(present, Exception))
            if isinstance(result, ResponseError):
                if "BUSYGROUP" in str(result):
                    created[key] = False
                elif failure is None:
                    failure = (key, result)
            else:
                created[key] = True
        if failure is not None:
            undo = self.database.pipeline(transaction=False)
            for key, made in created.items():
                if made:
                    undo.xgroup_destroy(key, self.name)
                    if not existed[key]:
                        undo.delete(key)
            await undo.execute(raise_on_error=False)
            raise await self._error(*failure) from failure[1]
        return created

    async def destroy(self) -> dict[Any, bool]:
        """Delete the group from every stream (XGROUP DESTROY);
        ``{key: True if it existed}``. One round trip."""
        results = await self._run(
            "destroy",
            lambda pipe, key: pipe.xgroup_destroy(key, self.name),
            tolerate="requires the key to exist",
        )
        return {
            key: not isinstance(r, Exception) and bool(r) for key, r in results.items()
        }

    async def set_id(self, id: Any = "$") -> dict[Any, bool]:
        """Set the group's last delivered id on every stream (XGROUP SETID):
        ``'$'`` marks everything read. ``{key: True}``; one round trip."""
        value = next(iter(self.streams.values()))._group_id(id)
        results = await self._run(
            "set_id", lambda pipe, key: pipe.xgroup_setid(key, self.name, value)
        )
        return {key: bool(r) for key, r in results.items()}

    async def reset(self) -> dict[Any, bool]:
        """Mark every message unread for the group (XGROUP SETID 0). One trip."""
        return await self.set_id("0")

    async def read(
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
        found = await self._read_group(
            dict.fromkeys(self.keys, ">"), count, block, consumer
        )
        return [[key, self.streams[key]._wrap(messages)] for key, messages in found]

    async def stream_info(self) -> dict[Any, dict[str, Any]]:
        """``{key: XINFO STREAM's dict}`` for every stream. One round trip."""
        results = await self._run(
            "stream_info", lambda pipe, key: pipe.xinfo_stream(key)
        )
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
