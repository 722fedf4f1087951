"""Pops from the first non-empty of several keys: LMPOP, ZMPOP and their
blocking forms BLMPOP and BZMPOP (Redis 7.0).

``LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`` answers
``[key, [element ...]]`` and ZMPOP (``MIN|MAX``) ``[key, [[member, score]
...]]``, or nil when every key is empty. Keys are tried in order: a key of
the wrong type before the first non-empty one is WRONGTYPE. O(keys + count
* log N).

The blocking forms are registered with the embedded core, which waits and
retries the non-blocking form (:mod:`walrus.drivers.embedded.blocking`).
"""

from __future__ import annotations

from collections.abc import Callable

from walrus.drivers.embedded.blocking import Attempt, parse_timeout, register_blocking
from walrus.drivers.embedded.types import ErrorReply, Reply
from walrus.drivers.emulation.engine import (
    SYNTAX,
    EmulationEngine,
    Refused,
    command,
    format_float,
    to_int,
)
from walrus.drivers.emulation.lists import pop
from walrus.drivers.emulation.sortedset import ZSet

Args = list[bytes]
Command = list[bytes]


def _parse(args: Args, ends: tuple[bytes, bytes]) -> tuple[Args, bool, int]:
    """``numkeys key... END [COUNT n]`` from ``args[1:]``: (keys, first end?, count)."""
    numkeys = to_int(args[1], "ERR numkeys should be greater than 0")
    if numkeys <= 0:
        raise Refused("ERR numkeys should be greater than 0")
    at = 2 + numkeys  # where LEFT|RIGHT or MIN|MAX is
    if at >= len(args) or args[at].upper() not in ends:
        raise Refused(SYNTAX)
    count: int | None = None
    i = at + 1
    while i < len(args):
        if args[i].upper() == b"COUNT" and i + 1 < len(args) and count is None:
            count = to_int(args[i + 1], "ERR count should be greater than 0")
            if count <= 0:
                raise Refused("ERR count should be greater than 0")
            i += 2
        else:
            raise Refused(SYNTAX)
    return args[2:at], args[at].upper() == ends[0], 1 if count is None else count


@command("LMPOP", -4)
def lmpop(db: EmulationEngine, args: Args) -> Reply:
    keys, left, count = _parse(args, (b"LEFT", b"RIGHT"))
    for key in keys:
        entry = db.typed(key, "list")
        if entry is not None and entry.value:
            return [key, pop(db, key, count, left)]
    return None


@command("ZMPOP", -4)
def zmpop(db: EmulationEngine, args: Args) -> Reply:
    keys, lowest, count = _parse(args, (b"MIN", b"MAX"))
    for key in keys:
        entry = db.typed(key, "zset")
        if entry is None or not entry.value:
            continue
        zset: ZSet = entry.value
        if lowest:
            items = zset.slice(0, count)
        else:
            items = zset.slice_reversed(max(0, len(zset) - count), len(zset))
        for _, member in items:
            zset.discard(member)
        db.changed(key, entry, [m for _, m in items])
        return [key, [[member, format_float(score)] for score, member in items]]
    return None


def _blocking(
    pop_command: bytes,
) -> Callable[[Command], tuple[Attempt, float] | ErrorReply]:
    """BLMPOP/BZMPOP ``timeout numkeys ...``: the non-blocking pop, retried."""

    ends = (b"LEFT", b"RIGHT") if pop_command == b"LMPOP" else (b"MIN", b"MAX")

    def parse(args: Command) -> tuple[Attempt, float] | ErrorReply:
        try:  # the keys and options first, then the timeout, as Redis checks
            _parse(args[1:], ends)
        except Refused as refused:
            return ErrorReply(refused.message)
        timeout = parse_timeout(args[1])
        if isinstance(timeout, ErrorReply):
            return timeout

        def attempt(run: Callable[..., Reply]) -> Reply:
            return run(pop_command, *args[2:])

        return attempt, timeout

    return parse


register_blocking("BLMPOP", _blocking(b"LMPOP"))
register_blocking("BZMPOP", _blocking(b"ZMPOP"))
