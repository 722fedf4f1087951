"""Blocking commands on the embedded core: how each one waits.

Engines never wait. A blocking command (BLPOP, BZPOPMIN, BLMOVE, XREAD
BLOCK, ...) is described to the core as ``(attempt, timeout)``:
``attempt(run)`` tries the non-blocking form once through ``run`` and returns
the reply, or ``None`` to keep waiting; the core retries after every write
(and every poll interval, for writes by other processes) until the timeout
in seconds passes (0: forever). A negative timeout means "do not block": the
command runs once (XREAD without BLOCK). Inside MULTI and in scripts every
blocking command runs once, as Redis does. A malformed timeout is an error
reply, with Redis's message, before anything runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from walrus.drivers.embedded.types import Command, ErrorReply, Reply

__all__ = ["BLOCKING", "Attempt", "Blocking", "parse_timeout", "register_blocking"]

Attempt = Callable[[Callable[..., Reply]], Reply]
Blocking = Callable[[Command], "tuple[Attempt, float] | ErrorReply"]

_DECIMAL = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(
    rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
)
_INFINITY = re.compile(rb"[+-]?inf(?:inity)?", re.IGNORECASE)


def parse_timeout(raw: bytes) -> float | ErrorReply:
    """A blocking command's timeout in seconds, checked as Redis checks it."""
    if _DECIMAL.fullmatch(raw):
        value = float(raw)
    elif _HEX.fullmatch(raw):
        sign = -1.0 if raw.startswith(b"-") else 1.0
        value = sign * float.fromhex(raw.lstrip(b"+-").decode())
    elif _INFINITY.fullmatch(raw):
        value = -math.inf if raw.startswith(b"-") else math.inf
    else:
        return ErrorReply("ERR timeout is not a float or out of range")
    if value < 0:
        return ErrorReply("ERR timeout is negative")
    if math.isinf(value) or value * 1000 >= 2**63:
        return ErrorReply("ERR timeout is out of range")
    return value


def _pop_each(pop: bytes, with_key: bool) -> Blocking:
    """BLPOP/BRPOP/BZPOPMIN/BZPOPMAX: the first non-empty key, in order."""

    def parse(args: Command) -> tuple[Attempt, float] | ErrorReply:
        keys = args[1:-1]
        timeout = parse_timeout(args[-1])
        if isinstance(timeout, ErrorReply):
            return timeout

        def attempt(run: Callable[..., Reply]) -> Reply:
            for key in keys:
                reply = run(pop, key)
                if isinstance(reply, ErrorReply):
                    return reply
                if reply is not None and reply != []:
                    if not with_key:
                        return reply
                    return [key, *reply] if isinstance(reply, list) else [key, reply]
            return None

        return attempt, timeout

    return parse


def _move(args: Command) -> tuple[Attempt, float] | ErrorReply:
    """BRPOPLPUSH and BLMOVE: one move, when the source has an element."""
    if args[0].upper() == b"BRPOPLPUSH":
        command, raw = [b"RPOPLPUSH", args[1], args[2]], args[3]
    else:  # BLMOVE src dst LEFT|RIGHT LEFT|RIGHT timeout
        command, raw = [b"LMOVE", *args[1:5]], args[5]
    timeout = parse_timeout(raw)
    if isinstance(timeout, ErrorReply):
        return timeout

    def attempt(run: Callable[..., Reply]) -> Reply:
        return run(*command)

    return attempt, timeout


BLOCKING: dict[str, Blocking] = {
    "BLPOP": _pop_each(b"LPOP", True),
    "BRPOP": _pop_each(b"RPOP", True),
    "BZPOPMIN": _pop_each(b"ZPOPMIN", True),
    "BZPOPMAX": _pop_each(b"ZPOPMAX", True),
    "BRPOPLPUSH": _move,
    "BLMOVE": _move,
}


def register_blocking(name: str, blocking: Any) -> None:
    """Add a blocking command: ``blocking(args)`` gives ``(attempt, timeout)``
    or an error reply (see the module doc)."""
    BLOCKING[name] = blocking
