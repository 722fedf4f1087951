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
How a plan steps (:func:`advance`), how a pipeline is scheduled
(:func:`pipeline_rounds`) and how a twin runs without a blocking ``call``
(:func:`twin_steps`) are I/O-free, so the async executors
(:mod:`walrus.asyncio.ledis`) share them.
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
    "advance",
    "drive",
    "drive_many",
    "pipeline_rounds",
    "twin_steps",
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
# The stepping logic is here, I/O-free; the sync executors below and the async
# ones (walrus.asyncio.ledis) only send the batches it asks for.
Translate = Callable[[Sequence[bytes]], Plan]
Local = Callable[[Callable[..., Raw]], Raw]


Step = tuple[list[Command] | None, Raw]


def advance(run: Steps, replies: list[Raw] | None) -> Step:
    """One step of a plan's ``run``: start it (``replies`` None) or give it
    the replies of its last batch. ``(next batch, None)``, or ``(None, the
    Redis reply)`` when it ends; an error reply ends it with that error."""
    try:
        if replies is None:
            return next(run), None
        error = error_of(replies)
        if error is not None:
            run.close()
            return None, error
        return run.send(replies), None
    except StopIteration as stop:
        return None, stop.value
    except BadArgument as exc:  # e.g. INCRBYFLOAT on a non-number
        return None, command_error(str(exc))


def drive(plan: Plan, send: Send, translate: Translate) -> Raw:
    """Run one plan to its Redis reply. An error reply ends the plan with it."""
    if plan.local is not None:
        try:
            return plan.local(lambda *args: call(cmd(*args), send, translate))
        except ResponseError as exc:  # an error reply inside a twin is its reply
            return exc
    assert plan.steps is not None
    run = plan.steps
    batch, reply = advance(run, None)
    while batch is not None:
        batch, reply = advance(run, send(batch))
    return reply


def call(args: Sequence[bytes], send: Send, translate: Translate) -> Raw:
    """One Redis command's raw reply, raising error replies (for twins)."""
    reply = drive(translate(list(args)), send, translate)
    if isinstance(reply, ResponseError):
        raise reply
    return reply


Rounds = Generator[list[Command] | Plan, Raw, list[Raw]]


def pipeline_rounds(plans: Sequence[Plan]) -> Rounds:
    """The schedule of a pipeline, I/O-free: yields a batch (send it, send
    back its replies) or a plan of several rounds (run it alone, send back its
    Redis reply); returns the Redis replies in order.

    Consecutive one-round plans share one batch; every other plan runs
    alone, after the ones before it, so the order of effects is kept.
    """
    results: list[Raw] = [None] * len(plans)
    i = 0
    while i < len(plans):
        if not plans[i].one_round:
            results[i] = yield plans[i]
            i += 1
            continue
        batches: dict[int, list[Command]] = {}
        j = i
        while j < len(plans) and plans[j].one_round:
            batch, results[j] = advance(_steps_of(plans[j]), None)
            if batch is not None:
                batches[j] = batch
            j += 1
        flat = [command for batch in batches.values() for command in batch]
        replies = (yield flat) if flat else []
        start = 0
        for k, sent in batches.items():
            part = replies[start : start + len(sent)]
            start += len(sent)
            batch, results[k] = advance(_steps_of(plans[k]), part)
            if batch is not None:
                raise RuntimeError("a one-round ledis plan asked for a second round")
        i = j
    return results


def _steps_of(plan: Plan) -> Steps:
    assert plan.steps is not None
    return plan.steps


def drive_many(plans: Sequence[Plan], send: Send, translate: Translate) -> list[Raw]:
    """Run plans in order (a pipeline), as :func:`pipeline_rounds` schedules
    them: a run of one-round plans costs one round trip."""
    rounds = pipeline_rounds(plans)
    answer: Raw = None
    try:
        while True:
            work = rounds.send(answer)
            if isinstance(work, Plan):
                answer = drive(work, send, translate)
            else:
                answer = send(work)
    except StopIteration as stop:
        results: list[Raw] = stop.value
        return results


class _NoReplyYet(BaseException):
    """A replayed twin called a command whose reply is not known yet.

    A BaseException, so that a twin's own ``except Exception`` cannot catch it.
    """


def twin_steps(local: Local) -> Generator[Command, Raw, Raw]:
    """A named operation's twin (``plan.local``) as steps, for an executor
    that cannot call it with a ``call`` doing I/O (the async one): yields each
    command the twin calls, receives its raw reply (an error reply as a
    value, raised inside the twin), returns the twin's reply (an error it
    raises as a value), with the round trips of :func:`drive`.

    A twin is plain code that calls ``call``, so it is run again from the
    start for each new command, the replies known so far given back in order:
    a twin is a function of its arguments and replies (it reads the clock
    with TIME, a command), so each run repeats the calls of the one before.
    A twin calling other commands on a later run raises RuntimeError. CPU:
    a twin of n commands runs n + 1 times.
    """
    asked: list[tuple[Any, ...]] = []
    replies: list[Raw] = []
    while True:
        position = 0
        wanted: tuple[Any, ...] = ()

        def replay(*args: Any) -> Raw:
            nonlocal position, wanted
            if position == len(replies):
                wanted = args
                raise _NoReplyYet
            if args != asked[position]:
                raise RuntimeError(
                    f"a named operation's twin is not deterministic: it called "
                    f"{args!r:.80} where it called {asked[position]!r:.80} before"
                )
            reply = replies[position]
            position += 1
            if isinstance(reply, ResponseError):
                raise reply
            return reply

        try:
            return local(replay)
        except _NoReplyYet:
            pass
        except ResponseError as exc:  # an error reply inside a twin is its reply
            return exc
        asked.append(wanted)
        replies.append((yield cmd(*wanted)))


def fail(message: str) -> Plan:
    """A plan answering with an error reply, sending nothing."""
    return answer(command_error(message))
