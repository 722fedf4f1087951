"""The ledisdb driver's I/O-free core: Redis commands as plans of ledisdb commands.

:func:`walrus.drivers.ledis.commands.translate` turns one Redis command (a
list of ``bytes``, as redis-py packs it) into a :class:`Plan`: a generator
that yields *batches* of ledisdb commands, receives their raw replies, and
returns the reply Redis would have given, in RESP2 shape (``bytes``, ``int``,
``None``, lists, or a ``ResponseError`` value), so redis-py's response
callbacks see what a Redis server would send. Each plan has a :class:`Kind`:

* ``PASS``: the same command (ledisdb answers it like Redis);
* ``REWRITE``: other ledisdb commands, one round trip (``HSET`` with several
  pairs -> ``HEXISTS``... + ``HMSET``; ``PEXPIRE`` ms -> seconds rounded up);
* ``DISPATCH``: ledisdb keeps each type in its own namespace and its
  ``DEL``/``EXPIRE``/``TTL``... act on strings only, so the command is sent
  once per type (``DEL``, ``HCLEAR``, ``LCLEAR``, ``SCLEAR``, ``ZCLEAR``...);
* ``EMULATE``: client-side steps, often over several round trips (``SPOP``,
  ``LREM``, ``ZADD NX``...): **not atomic**, another client may write in
  between.

Commands ledisdb cannot serve raise :class:`~walrus.exceptions.UnsupportedOperation`
from ``translate``, before anything is sent. :func:`drive` and
:func:`drive_many` (the executor: a loop over a plan's batches) run plans
over any ``send(batch) -> replies`` function; the driver
(:mod:`walrus.drivers.ledis.database`) gives them a connection, the tests a script.
This module also holds the helpers the command map is built from.
"""

from __future__ import annotations

import enum
import math
import random
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import ResponseError

from walrus.drivers.glob import glob_match
from walrus.exceptions import UnsupportedOperation, command_error

__all__ = [
    "TYPES",
    "Args",
    "Builder",
    "Command",
    "Context",
    "Kind",
    "Plan",
    "Raw",
    "Send",
    "drive",
    "drive_many",
]

BACKEND = "ledis"

Raw = Any  # bytes | int | None | list[Raw] | ResponseError
Command = tuple[bytes, ...]
Steps = Generator[list[Command], list[Raw], Raw]
Send = Callable[[list[Command]], list[Raw]]
Args = list[bytes]


class Kind(enum.StrEnum):
    """How a Redis command maps onto ledisdb."""

    PASS = "pass-through"
    REWRITE = "rewritten"
    DISPATCH = "type-dispatched"
    EMULATE = "emulated"


@dataclass
class Plan:
    """One Redis command as ledisdb steps; single use.

    ``steps`` yields batches of commands and returns the Redis reply;
    ``one_round`` plans yield at most one batch (pipelines merge them).
    ``local`` is set instead for a named operation's Python twin, run
    client-side with ``local(call)``.
    """

    kind: Kind
    steps: Steps | None
    one_round: bool
    local: Callable[[Callable[..., Raw]], Raw] | None = field(default=None)


@dataclass(frozen=True)
class Context:
    """What a plan may need besides the command: randomness and the clock."""

    rng: random.Random = field(default_factory=random.Random)
    now: Callable[[], float] = time.time


Builder = Callable[[Args, Context], Plan]


class BadArgument(Exception):
    """A malformed argument: the plan answers with this error, sending nothing."""


# -- the five ledisdb namespaces ----------------------------------------------
@dataclass(frozen=True)
class TypeVerbs:
    """The per-type verbs ledisdb has instead of Redis's type-agnostic ones."""

    name: bytes  # what TYPE answers
    scan: bytes  # the XSCAN data type
    exists: bytes
    clear: bytes
    expire: bytes
    expireat: bytes
    ttl: bytes
    persist: bytes
    dump: bytes


def _verbs(name: str, scan: str, prefix: str, clear: str) -> TypeVerbs:
    p = prefix.encode()
    return TypeVerbs(
        name=name.encode(),
        scan=scan.encode(),
        exists=b"EXISTS" if not p else p + b"KEYEXISTS",
        clear=clear.encode(),
        expire=p + b"EXPIRE",
        expireat=p + b"EXPIREAT",
        ttl=p + b"TTL",
        persist=p + b"PERSIST",
        dump=p + b"DUMP",
    )


TYPES: tuple[TypeVerbs, ...] = (
    _verbs("string", "KV", "", "DEL"),
    _verbs("hash", "HASH", "H", "HCLEAR"),
    _verbs("list", "LIST", "L", "LCLEAR"),
    _verbs("set", "SET", "S", "SCLEAR"),
    _verbs("zset", "ZSET", "Z", "ZCLEAR"),
)
SORTABLE = {b"list": b"XLSORT", b"set": b"XSSORT", b"zset": b"XZSORT"}


# -- building plans -----------------------------------------------------------
def one(
    kind: Kind,
    batch: Sequence[Command],
    finish: Callable[[list[Raw]], Raw] | None = None,
) -> Plan:
    """A plan of one round trip: ``finish(replies)`` (default: the first reply)."""

    def run() -> Steps:
        replies = yield list(batch)
        return replies[0] if finish is None else finish(replies)

    return Plan(kind, run(), one_round=True)


def steps(kind: Kind, run: Steps) -> Plan:
    """A plan of several round trips, from a generator."""
    return Plan(kind, run, one_round=False)


def answer(reply: Raw) -> Plan:
    """A plan that sends nothing (an argument error, or an empty request)."""

    def run() -> Steps:
        return reply
        yield []  # pragma: no cover - makes this a generator

    return Plan(Kind.EMULATE, run(), one_round=True)


def cmd(*parts: bytes | int | str) -> Command:
    """A ledisdb command, every part as bytes."""
    return tuple(p if isinstance(p, bytes) else str(p).encode() for p in parts)


def unsupported(name: str, reason: str) -> UnsupportedOperation:
    return UnsupportedOperation(BACKEND, name, reason)


# -- parsing arguments --------------------------------------------------------
def as_int(raw: bytes, what: str = "value") -> int:
    try:
        return int(raw)
    except ValueError:
        raise BadArgument(f"ERR {what} is not an integer or out of range") from None


def as_float(raw: bytes) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise BadArgument("ERR value is not a valid float") from None
    if math.isnan(value):
        raise BadArgument("ERR value is not a valid float")
    return value


INT64 = 2**63


def int_score(raw: bytes, command: str) -> bytes:
    """A zset score or weight as ledisdb's int64; anything else is unsupported.

    ledisdb stores scores as int64: a non-integral or infinite score cannot
    be stored, and truncating it would silently reorder the set.
    """
    try:
        value = int(raw)
    except ValueError:
        number = as_float(raw)
        if not math.isfinite(number) or not number.is_integer():
            raise unsupported(
                command, f"score {raw!r}: ledisdb sorted-set scores are int64"
            ) from None
        value = int(number)
    if not -INT64 <= value < INT64:
        raise unsupported(command, f"score {raw!r} is outside int64")
    return str(value).encode()


def score_bound(raw: bytes, lower: bool) -> bytes:
    """A ZRANGEBYSCORE-style bound for int64 scores, with the same meaning.

    Over integers a non-integral bound is the nearest integer inside the
    range (``1.5`` as a minimum is ``2``), so no score bound is unsupported.
    """
    text = raw.lower()
    if text in (b"-inf", b"+inf", b"inf"):
        return b"-inf" if text == b"-inf" else b"+inf"
    exclusive = raw.startswith(b"(")
    body = raw[1:] if exclusive else raw
    try:
        return (b"(" if exclusive else b"") + str(int(body)).encode()
    except ValueError:
        value = as_float(body)
    if math.isinf(value):
        return b"-inf" if value < 0 else b"+inf"
    if value.is_integer():
        return (b"(" if exclusive else b"") + str(int(value)).encode()
    return str(math.ceil(value) if lower else math.floor(value)).encode()


def ceil_seconds(ms: int) -> int:
    """Milliseconds as ledisdb's whole seconds, rounded up (never expire early)."""
    return -(-ms // 1000)


def format_float(value: float) -> bytes:
    """A float as Redis prints INCRBYFLOAT results (no exponent, no ``.0``)."""
    text = repr(value)
    if "e" in text or "E" in text:
        text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.encode()


def error_of(replies: Sequence[Raw]) -> ResponseError | None:
    """The first error reply of a batch, if any."""
    return next((r for r in replies if isinstance(r, ResponseError)), None)


def bulk(reply: Raw) -> Raw:
    """An integer reply as the bulk string Redis sends for scores."""
    return str(reply).encode() if isinstance(reply, int) else reply


# -- cursors: ledisdb cursors are keys, Redis cursors are integers ------------
def encode_cursor(slot: int, position: bytes) -> bytes:
    """A Redis integer cursor holding a type slot and a ledisdb key cursor.

    The integer's bytes are ``slot + 1`` followed by the key, so the cursor
    needs no state on the client; 0 stays "start" and "done".
    """
    return str(int.from_bytes(bytes([slot + 1]) + position, "big")).encode()


def decode_cursor(raw: bytes) -> tuple[int, bytes]:
    number = as_int(raw, "cursor")
    if number <= 0:
        return 0, b""
    data = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return data[0] - 1, data[1:]


def scan_options(args: Sequence[bytes]) -> tuple[bytes | None, int, bytes | None]:
    """``MATCH``, ``COUNT`` and ``TYPE`` of a SCAN-family command's tail."""
    match, count, kind = None, 10, None
    upper = [a.upper() for a in args]
    for i in range(0, len(args) - 1, 2):
        if upper[i] == b"MATCH":
            match = args[i + 1]
        elif upper[i] == b"COUNT":
            count = max(1, as_int(args[i + 1]))
        elif upper[i] == b"TYPE":
            kind = args[i + 1].lower()
        else:
            raise BadArgument("ERR syntax error")
    if len(args) % 2:
        raise BadArgument("ERR syntax error")
    return match, count, kind


def xscan(verb: bytes, head: Sequence[bytes], position: bytes, count: int) -> Command:
    """A ledisdb X*SCAN; MATCH is not sent (ledisdb's is a regexp, not a glob)."""
    return cmd(verb, *head, position, b"COUNT", count)


def page(reply: Raw, position: bytes, width: int = 1) -> tuple[bytes, list[bytes]]:
    """The next ledisdb cursor and items of an X*SCAN reply.

    An entry (``width`` items: 2 for field-value pairs) whose key equals the
    cursor sent is dropped, in case the server's cursor is inclusive (not
    verified against a real ledisdb).
    """
    following, items = reply[0], list(reply[1])
    if position and items and items[0] == position:
        items = items[width:]
    return following or b"", items


def filtered(items: list[bytes], match: bytes | None) -> list[bytes]:
    return items if match is None else [i for i in items if glob_match(match, i)]


# -- running plans ------------------------------------------------------------
Translate = Callable[[Sequence[bytes]], Plan]


def drive(plan: Plan, send: Send, translate: Translate) -> Raw:
    """Run one plan to its Redis reply. An error reply ends the plan with it."""
    if plan.local is not None:
        try:
            return plan.local(lambda *args: call(cmd(*args), send, translate))
        except ResponseError as exc:  # an error reply inside a twin is its reply
            return exc
    assert plan.steps is not None
    run = plan.steps
    try:
        batch = next(run)
    except StopIteration as stop:
        return stop.value
    while True:
        replies = send(batch)
        error = error_of(replies)
        if error is not None:
            run.close()
            return error
        try:
            batch = run.send(replies)
        except StopIteration as stop:
            return stop.value
        except BadArgument as exc:  # e.g. INCRBYFLOAT on a non-number
            return command_error(str(exc))


def call(args: Sequence[bytes], send: Send, translate: Translate) -> Raw:
    """One Redis command's raw reply, raising error replies (for twins)."""
    reply = drive(translate(list(args)), send, translate)
    if isinstance(reply, ResponseError):
        raise reply
    return reply


def drive_many(plans: Sequence[Plan], send: Send, translate: Translate) -> list[Raw]:
    """Run plans in order (a pipeline); consecutive one-round plans share a batch.

    A run of one-round plans costs one round trip; every other plan runs
    alone, after the ones before it, so the order of effects is kept.
    """
    results: list[Raw] = [None] * len(plans)
    i = 0
    while i < len(plans):
        if not plans[i].one_round:
            results[i] = drive(plans[i], send, translate)
            i += 1
            continue
        batches: dict[int, list[Command]] = {}
        j = i
        while j < len(plans) and plans[j].one_round:
            run = plans[j].steps
            assert run is not None
            try:
                batches[j] = next(run)
            except StopIteration as stop:
                results[j] = stop.value
            j += 1
        flat = [command for batch in batches.values() for command in batch]
        replies = send(flat) if flat else []
        start = 0
        for k, batch in batches.items():
            part = replies[start : start + len(batch)]
            start += len(batch)
            results[k] = _finish_one(plans[k], part)
        i = j
    return results


def _finish_one(plan: Plan, replies: list[Raw]) -> Raw:
    run = plan.steps
    assert run is not None
    error = error_of(replies)
    if error is not None:
        run.close()
        return error
    try:
        run.send(replies)
    except StopIteration as stop:
        return stop.value
    except BadArgument as exc:
        return command_error(str(exc))
    raise RuntimeError("a one-round ledis plan asked for a second round")


def fail(message: str) -> Plan:
    """A plan answering with an error reply, sending nothing."""
    return answer(command_error(message))
