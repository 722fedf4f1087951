"""Run fuzzer steps on a client and reduce the outcome to what must match.

Both sides are raw RESP2 clients (no reply callbacks), so replies are
compared as the engine gave them. Documented differences are normalized
here, and only these:

* members of unordered replies (sets, hash fields, KEYS, SCAN batches) are
  sorted, since Redis's order depends on its encodings;
* SORT ... BY pattern ALPHA leaves ties (elements whose weight is
  missing) in no defined order, so its rows are sorted (with LIMIT, which
  rows fall in the window is not defined either: compared by count);
* random picks (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER with a count,
  RANDOMKEY) are compared by shape: how many, never which;
* time: a positive TTL/PTTL/EXPIRETIME is "positive", TIME is its shape,
  stream IDs made from the clock (``*``) are ``<auto-id>``, and the idle
  times of XPENDING's extended form are dropped;
* HyperLogLog bytes are each engine's own format (``HYLL...`` is Redis's,
  ``walrus-hll...`` the emulation's): ``<hll>``, and the final keyspace
  compares a HyperLogLog by its count;
* errors compare by redis-py exception class and message prefix (the text
  before the first ``:``, ``'`` or ``(``), with Redis's "script: on
  @user_script" location removed, and Valkey's wording of six script errors
  ("This Valkey command ...") read as Redis 7's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import WatchError

from fuzz.strategies import Step

__all__ = ["Failure", "outcome", "snapshot"]

_UNORDERED = {"SMEMBERS", "SINTER", "SUNION", "SDIFF", "HKEYS", "HVALS", "KEYS"}
_SHAPE_ONLY = {"SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER", "RANDOMKEY", "TIME"}
_TIMES = {"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"}
_AUTO_ID = re.compile(rb"^\d{13,}-\d+$")


@dataclass(frozen=True)
class Failure:
    """An error or exception: equal when class and message prefix are."""

    kind: str
    prefix: str
    message: str = field(compare=False)

    def __repr__(self) -> str:
        return f"<{self.kind}: {self.message[:160]!r}>"


def failure(exc: BaseException) -> Failure:
    """``exc`` as the nearest redis-py exception class and its message."""
    kind = next(
        (c.__name__ for c in type(exc).__mro__ if c.__module__.startswith("redis")),
        type(exc).__name__,
    )
    message = re.sub(r"^Command # \d+ \(.*?\) of pipeline caused error: ", "", str(exc))
    return Failure(kind, error_prefix(message), message)


# Valkey's wording where Redis 7 (what the engines follow) says otherwise.
_WORDING = [
    (re.compile(r"This Valkey command"), "This Redis command"),
    (re.compile(r"^Lua redis lib command arguments"), "Command arguments"),
    (re.compile(r"calling Redis command from script"), "calling command from script"),
    (re.compile(r"^No matching script\. Please use EVAL\."), "No matching script."),
    (re.compile(r"for this redis lib call"), "for this call"),
    (re.compile(r"^Unknown Redis command called"), "Unknown command called"),
]


def error_prefix(message: str) -> str:
    for pattern, redis_wording in _WORDING:
        message = pattern.sub(redis_wording, message)
    text = re.sub(r" script: .*$", "", message, flags=re.S)
    text = re.sub(r"@?user_script:\d+: ", "", text)
    return re.split(r"[:'(]", text, maxsplit=1)[0].strip()


def outcome(client: Any, step: Step) -> Any:
    """Run ``step`` on ``client`` and return its normalized result. WATCH's
    outside commands go through ``client`` itself: on a server another
    connection of its pool (the pipeline holds its own), on an embedded
    engine the same engine, as another client would."""
    if isinstance(step, list):
        try:
            reply = client.execute_command(*step)
        except Exception as exc:
            return failure(exc)
        return normalize(step, reply)
    kind = step[0]
    if kind == "WATCH":
        _, keys, outside, block = step
        pipe = client.pipeline(transaction=True)
        try:
            pipe.watch(*keys)
            before = [outcome(client, command) for command in outside]
            pipe.multi()
            return before, _pipeline(pipe, block)
        finally:
            pipe.reset()
    if kind == "RAWTX":
        _, block, end = step
        pipe = client.pipeline(transaction=False)
        return _pipeline(pipe, [["MULTI"], *block, [end]])
    return _pipeline(client.pipeline(transaction=kind == "TX"), step[1])


def _pipeline(pipe: Any, block: list[list[Any]]) -> Any:
    for command in block:
        pipe.execute_command(*command)
    try:
        replies = pipe.execute(raise_on_error=False)
    except WatchError:
        return "watch failed"
    except Exception as exc:
        return failure(exc)
    if not isinstance(replies, list) or len(replies) != len(block):
        return ("replies", _clean(replies))
    results, queued = [], []
    for command, reply in zip(block, replies, strict=True):
        name = _text(command[0]).upper()
        if name == "EXEC" and isinstance(reply, list):  # a hand-sent MULTI's
            reply = [_one(c, r) for c, r in zip(queued, reply, strict=False)]
        queued = [] if name == "MULTI" else [*queued, command]
        results.append(_one(command, reply))
    return results


def _one(command: list[Any], reply: Any) -> Any:
    return (
        failure(reply)
        if isinstance(reply, BaseException)
        else normalize(command, reply)
    )


def normalize(command: list[Any], reply: Any) -> Any:
    """Reduce one reply to what the engines must agree on (see the module)."""
    name = _text(command[0]).upper()
    reply = _clean(reply)
    if name in _SHAPE_ONLY or (name == "SPOP" and len(command) < 3):
        return _shape(reply)
    if name in _TIMES and isinstance(reply, int):
        return "positive" if reply > 0 else reply
    if isinstance(reply, list):
        upper = [_text(a).upper() for a in command]
        if name in _UNORDERED or "NOSORT" in upper:
            return sorted(reply, key=repr)
        if name.startswith("SORT") and "BY" in upper and "ALPHA" in upper:
            if "LIMIT" in upper:  # which tied rows fall in the window: any
                return _shape(reply)
            width = max(1, upper.count("GET"))  # ties (missing weights) unordered
            rows = [reply[i : i + width] for i in range(0, len(reply), width)]
            return sorted(rows, key=repr)
        if name == "SPOP":
            return sorted(reply, key=repr)
        if name == "HGETALL":
            return sorted(zip(reply[::2], reply[1::2], strict=False), key=repr)
        if name in ("SCAN", "SSCAN", "HSCAN", "ZSCAN") and len(reply) == 2:
            items = reply[1] if isinstance(reply[1], list) else []
            if name in ("HSCAN", "ZSCAN"):
                items = list(zip(items[::2], items[1::2], strict=False))
            return [reply[0], sorted(items, key=repr)]
        if name == "XPENDING" and len(command) > 3:
            return [e[:2] + e[3:] if isinstance(e, list) else e for e in reply]
    return reply


def _clean(reply: Any) -> Any:
    """Clock-made stream IDs, HyperLogLog bytes and exceptions, anywhere."""
    if isinstance(reply, bytes):
        if reply.startswith((b"HYLL", b"walrus-hll")):
            return b"<hll>"
        return b"<auto-id>" if _AUTO_ID.match(reply) else reply
    if isinstance(reply, list):
        return [_clean(r) for r in reply]
    if isinstance(reply, BaseException):
        return failure(reply)
    return reply


def _shape(reply: Any) -> Any:
    if isinstance(reply, list):
        return ("list of", len(reply))
    return ("single", type(reply).__name__)


def _text(arg: Any) -> str:
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


_READ = {
    b"string": ["GET"],
    b"hash": ["HGETALL"],
    b"list": ["LRANGE", "0", "-1"],
    b"set": ["SMEMBERS"],
    b"zset": ["ZRANGE", "0", "-1", "WITHSCORES"],
    b"stream": ["XRANGE", "-", "+"],
}
_STREAM_FIELDS = (b"length", b"last-generated-id", b"max-deleted-entry-id")


def snapshot(client: Any) -> list[Any]:
    """Every key: its type, value (a HyperLogLog's count, a stream's entries,
    length, last ID and groups) and whether it has a TTL."""
    found = []
    for key in sorted(client.execute_command("KEYS", "*")):
        kind = client.execute_command("TYPE", key)
        read = _READ.get(kind, ["TYPE"])
        value = outcome(client, [read[0], key, *read[1:]])
        if value == b"<hll>":
            value = ("hll", outcome(client, ["PFCOUNT", key]))
        if kind == b"stream":
            info = client.execute_command("XINFO", "STREAM", key)
            fields = dict(zip(info[::2], info[1::2], strict=False))
            value = [value, [_clean(fields.get(f)) for f in _STREAM_FIELDS]]
            value.append(outcome(client, ["XINFO", "GROUPS", key]))
        ttl = client.execute_command("PTTL", key)
        found.append((key, kind, value, ttl > 0))
    return found
