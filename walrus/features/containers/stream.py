"""Stream: a Redis stream used standalone (an append-only log of messages).

A message is an ``(id, fields)`` pair: the id as the server gives it (bytes,
or str with ``decode_responses=True``) and the fields as a dict. Replies are
the same under RESP2 and RESP3. Ids are checked before anything is sent
(``'ms'`` or ``'ms-seq'``, plus the special ids each command accepts); an id
the server still refuses raises :class:`~walrus.exceptions.CommandError`.

Streams work on every backend: Redis 6.2+ or Valkey, and the embedded engines
(memory, Vedis, rlite), where walrus emulates them with Redis 7's replies.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, overload

from redis.exceptions import ResponseError

from walrus.drivers.protocol import Capability
from walrus.exceptions import (
    CommandError,
    InvalidType,
    InvalidValue,
    MissingKey,
    UnsupportedOperation,
    WalrusError,
)
from walrus.features.containers.base import (
    SCAN_COUNT,
    Container,
    check_pairs,
    check_value,
)
from walrus.keys import key_text

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["Message", "Stream"]

Message = tuple[Any, dict[Any, Any]]  # (message id, fields)

_ID = re.compile(r"[0-9]+(?:-[0-9]+)?")
_ADD_ID = re.compile(r"\*|[0-9]+-\*|[0-9]+(?:-[0-9]+)?")
_BOUND = re.compile(r"[-+]|\(?[0-9]+(?:-[0-9]+)?")
_READ_ID = re.compile(r"\$|[0-9]+(?:-[0-9]+)?")
_STREAMS = Capability.STREAMS  # looked up once: a StrEnum member costs 60 ns


def _checked_id(value: Any, pattern: re.Pattern[str], what: str) -> Any:
    """``value`` if it is an id ``pattern`` accepts; InvalidValue/InvalidType if not."""
    if isinstance(value, bool) or not isinstance(value, (str, bytes, int)):
        raise InvalidType(
            f"a {what} must be str, bytes or int, not {type(value).__name__}"
        )
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    if not pattern.fullmatch(text):
        raise InvalidValue(f"{value!r} is not a valid {what}")
    return value


def _positive(value: Any, what: str, zero: bool = False) -> int | None:
    """``value`` if it is None or an int above zero (or zero itself with ``zero``)."""
    if value is None:
        return None
    if type(value) is int and value > 0:  # the usual case
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidType(f"{what} must be an int, not {type(value).__name__}")
    if value < 0 or (value == 0 and not zero):
        raise InvalidValue(f"{what} must be {'>= 0' if zero else '> 0'}, not {value}")
    return value


_PAIR, _DICT, _FIELDS = {tuple}, {dict}, operator.itemgetter(1)


def _messages(reply: Any) -> list[Message]:
    """XRANGE-style entries as ``(id, fields)`` pairs."""
    if not reply:
        return []
    if (
        type(reply) is list
        and set(map(type, reply)) == _PAIR
        and set(map(type, map(_FIELDS, reply))) == _DICT
    ):
        return reply  # redis-py's own (id, dict) pairs, made for this call
    return [(entry[0], dict(entry[1] or {})) for entry in reply]


def read_reply(reply: Any) -> list[tuple[Any, list[Message]]]:
    """XREAD/XREADGROUP replies as ``[(key, messages)]``, RESP2 or RESP3.

    RESP2 gives ``[[key, entries], ...]``, RESP3 ``{key: [entries]}`` (the
    entries of each stream wrapped once more); a key is as the server sends it.
    """
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
            entries = entries[0]  # RESP3's extra list
        result.append((key, _messages(entries)))
    return result


class Stream(Container):
    """A Redis stream, standalone: add, read by id range, block for new messages.

    ``s[id]`` is one message (``KeyError`` if missing); ``s[start:stop:count]``
    reads an inclusive id range, at most ``count`` messages; iterating yields
    every message, oldest first.
    """

    kind = "stream"

    # -- plumbing ------------------------------------------------------------------
    def _commands(self, operation: str) -> Driver:
        """The database's stream commands; UnsupportedOperation without streams."""
        if _STREAMS not in self.database.capabilities:
            name = getattr(self.database, "backend_name", type(self.database).__name__)
            raise UnsupportedOperation(
                name,
                f"Stream.{operation}",
                f"{name} has no streams and walrus does not emulate them",
            )
        return self.database

    def _error(self, exc: ResponseError) -> BaseException:
        """The exception for an error reply: WrongType naming both types,
        MissingKey, CommandError (``exc`` itself: raised as it is)."""
        error = super()._error(exc)
        if error is not exc:  # WrongType
            return error
        if str(exc) == "no such key":
            return MissingKey(f"no stream at key {key_text(self.key)!r}")
        if isinstance(exc, WalrusError):
            return exc
        return CommandError(str(exc))

    def _id(self, value: Any) -> Any:
        """A message id given by the user, as sent (TimeSeries converts datetimes)."""
        return _checked_id(value, _ID, "stream message id")

    def _bound(self, value: Any) -> Any:
        """A range bound given by the user (an id, ``'-'``, ``'+'`` or ``'(id'``)."""
        if type(value) is str and value in ("-", "+"):  # the defaults
            return value
        return _checked_id(value, _BOUND, "range bound")

    # -- writing -------------------------------------------------------------------
    def add(
        self,
        data: Mapping[Any, Any],
        id: Any = "*",
        maxlen: int | None = None,
        approximate: bool = True,
    ) -> Any:
        """Append a message (XADD) and return its id; ``'*'`` lets the server
        choose it. ``maxlen`` trims the stream as it grows (about that length
        unless ``approximate=False``). O(1), O(N) in evicted messages; one trip."""
        if type(data) is not dict and not isinstance(data, Mapping):
            raise InvalidType(
                f"message data must be a mapping, not {type(data).__name__}"
            )
        fields = check_pairs(data)
        if not fields:
            raise InvalidValue("a stream message needs at least one field")
        if type(id) is not str or id != "*":  # '*', the default, needs no check
            id = _checked_id(id, _ADD_ID, "stream message id")
        if _positive(maxlen, "maxlen", zero=True) is None:
            trim: tuple[Any, ...] = ()
        else:
            trim = ("MAXLEN", "~", maxlen) if approximate else ("MAXLEN", maxlen)
        commands = self._commands("add")
        with self._guard:
            return commands.execute_command("XADD", self.key, *trim, id, *fields)

    def delete(self, *ids: Any) -> int:
        """Delete messages by id (XDEL); the number deleted. O(1) each; one trip."""
        checked = [self._id(i) for i in ids]
        commands = self._commands("delete")
        if not checked:
            return 0
        with self._guard:
            return int(commands.xdel(self.key, *checked))

    def __delitem__(self, item: Any) -> None:
        """Delete one message or a list of them (XDEL); ids that are not in the
        stream are ignored, as in walrus 0.9. One round trip."""
        ids = list(item) if isinstance(item, (list, tuple)) else [item]
        self.delete(*ids)

    def trim(
        self,
        count: int | None = None,
        approximate: bool = True,
        minid: Any = None,
        limit: int | None = None,
    ) -> int:
        """Evict the oldest messages (XTRIM); the number removed.

        Keep about ``count`` messages (exactly with ``approximate=False``), or
        drop those with ids below ``minid``; ``limit`` caps the evictions (only
        with ``approximate``). O(N) in evicted messages; one round trip.
        """
        if (count is None) == (minid is None):
            raise InvalidValue("trim() needs exactly one of count and minid")
        count = _positive(count, "count", zero=True)
        if minid is not None:
            minid = self._id(minid)
        limit = _positive(limit, "limit", zero=True)
        if limit is not None and not approximate:
            raise InvalidValue("trim(limit=...) needs approximate=True")
        commands = self._commands("trim")
        with self._guard:
            return int(
                commands.xtrim(
                    self.key,
                    maxlen=count,
                    approximate=approximate,
                    minid=minid,
                    limit=limit,
                )
            )

    def set_id(self, id: Any) -> bool:
        """Set the stream's last id (XSETID); later ids must be greater.

        O(1); one round trip.
        """
        message_id = self._id(id)
        commands = self._commands("set_id")
        with self._guard:
            return bool(commands.xsetid(self.key, message_id))

    # -- reading -------------------------------------------------------------------
    def get(self, id: Any) -> Message | None:
        """The message with this id, or None (XRANGE id id). O(log N); one trip."""
        message_id = self._id(id)
        if isinstance(message_id, bytes):
            message_id = message_id.decode("ascii")
        message_id = str(message_id)
        if "-" not in message_id:  # a bare 'ms' means 'ms-0' here, not the whole ms
            message_id += "-0"
        commands = self._commands("get")
        with self._guard:
            found = _messages(
                commands.xrange(self.key, message_id, message_id, count=1)
            )
        return found[0] if found else None

    def range(
        self, start: Any = "-", stop: Any = "+", count: int | None = None
    ) -> list[Message]:
        """Messages with ids from ``start`` to ``stop``, both inclusive (XRANGE).

        ``'-'``/``'+'`` are the oldest/newest; ``'(id'`` excludes ``id``; at
        most ``count`` messages. O(log N + M); one round trip.
        """
        return self._range("range", start, stop, count)

    def revrange(
        self, start: Any = "+", stop: Any = "-", count: int | None = None
    ) -> list[Message]:
        """Messages from ``start`` down to ``stop``, newest first (XREVRANGE).

        O(log N + M); one round trip.
        """
        return self._range("revrange", start, stop, count)

    def _range(
        self, operation: str, start: Any, stop: Any, count: int | None
    ) -> list[Message]:
        """XRANGE, or XREVRANGE for ``operation='revrange'``, of checked bounds."""
        args = [self.key, self._bound(start), self._bound(stop)]
        if _positive(count, "count") is not None:
            args += ("COUNT", count)
        commands = self._commands(operation)
        name = "XREVRANGE" if operation == "revrange" else "XRANGE"
        with self._guard:
            return _messages(commands.execute_command(name, *args))

    @overload
    def __getitem__(self, item: slice) -> list[Message]: ...
    @overload
    def __getitem__(self, item: Any) -> Message: ...

    def __getitem__(self, item: Any) -> Any:
        """``s[id]``: one message (``KeyError`` if missing); ``s[start:stop:count]``:
        an inclusive range of at most ``count`` messages. One round trip."""
        if isinstance(item, slice):
            start = "-" if item.start is None else item.start
            stop = "+" if item.stop is None else item.stop
            return self.range(start, stop, item.step)
        message = self.get(item)
        if message is None:
            raise KeyError(item)
        return message

    def __len__(self) -> int:
        """The number of messages (XLEN). O(1); one round trip."""
        commands = self._commands("len")
        with self._guard:
            return int(commands.xlen(self.key))

    def __iter__(self) -> Iterator[Message]:
        """Every message, oldest first (XRANGE, 10,000 per round trip)."""
        return self._scan(self._commands("iter"))

    def _scan(self, commands: Driver) -> Iterator[Message]:
        start: Any = "-"
        while True:
            with self._guard:
                batch = _messages(
                    commands.xrange(self.key, start, "+", count=SCAN_COUNT)
                )
            yield from batch
            if len(batch) < SCAN_COUNT:
                return
            last = batch[-1][0]
            start = b"(" + last if isinstance(last, bytes) else f"({last}"

    def read(
        self, count: int | None = None, block: int | None = None, last_id: Any = None
    ) -> list[Message]:
        """Messages after ``last_id`` (XREAD): an exclusive bound, ``None`` for
        the start, ``'$'`` for only what arrives from now on. ``block`` waits
        that many milliseconds (0: forever) when there is nothing; a timeout
        gives ``[]``. At most ``count`` messages. O(M); one round trip."""
        after = "0-0" if last_id is None else _checked_id(last_id, _READ_ID, "last id")
        count = _positive(count, "count")
        block = _positive(block, "block", zero=True)
        commands = self._commands("read")
        with self._guard:
            found = read_reply(
                commands.xread({self.key: after}, count=count, block=block)
            )
        return found[0][1] if found else []

    # -- metadata ------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """The stream's metadata (XINFO STREAM); ``MissingKey`` if there is no
        stream. O(1); one round trip."""
        commands = self._commands("info")
        with self._guard:
            return dict(commands.xinfo_stream(self.key))

    def groups_info(self) -> list[dict[str, Any]]:
        """One dict per consumer group (XINFO GROUPS). O(groups); one round trip."""
        commands = self._commands("groups_info")
        with self._guard:
            return [dict(group) for group in commands.xinfo_groups(self.key)]

    def consumers_info(self, group: Any) -> list[dict[str, Any]]:
        """One dict per consumer of ``group`` (XINFO CONSUMERS). One round trip."""
        name = check_value(group, "group name")
        commands = self._commands("consumers_info")
        with self._guard:
            return [dict(c) for c in commands.xinfo_consumers(self.key, name)]
