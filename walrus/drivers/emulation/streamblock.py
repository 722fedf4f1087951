"""XREAD/XREADGROUP with BLOCK on the embedded core.

The engine's handlers never wait. :func:`register` tells the core how to
wait for them: try the command once with the core's lock held; if it
answers nil, wait (without the lock) for a write, then try again, until
``BLOCK`` milliseconds have passed (0: forever). ``$`` is resolved once,
when the call starts, to the stream's last id then. Without BLOCK (or with
malformed arguments) the command runs once, as any other.
"""

from __future__ import annotations

from collections.abc import Callable

from walrus.drivers.embedded.blocking import register_blocking
from walrus.drivers.embedded.types import ErrorReply, Reply
from walrus.drivers.emulation.engine import Refused
from walrus.drivers.emulation.streamgroups import ReadArgs, parse_read
from walrus.drivers.emulation.streamlog import format_id
from walrus.drivers.emulation.streams import decr_id

__all__ = ["register"]

Run = Callable[..., Reply]


def _resolve(run: Run, args: list[bytes], read: ReadArgs) -> list[bytes]:
    """``args`` with each ``$`` replaced by that stream's last id now (and
    each ``+`` by the id just before it, as XREAD resolves it)."""
    resolved = list(args)
    first_id = len(args) - len(read.ids)
    for n, (key, raw) in enumerate(zip(read.keys, read.ids, strict=True)):
        if raw not in (b"$", b"+"):
            continue
        info = run(b"XINFO", b"STREAM", key)
        if isinstance(info, ErrorReply):
            if "no such key" in info.message:
                resolved[first_id + n] = b"0-0"
            continue  # WRONGTYPE: the command itself will answer it
        last = info[info.index(b"last-generated-id") + 1]
        if raw == b"+":
            ms, seq = (int(part) for part in last.split(b"-"))
            last = format_id(decr_id((ms, seq)) or (0, 0))
        resolved[first_id + n] = last
    return resolved


def _sid(raw: bytes) -> tuple[int, int]:
    ms, seq = raw.split(b"-")
    return int(ms), int(seq)


def _may_serve(run: Run, read: ReadArgs, n: int) -> bool:
    """Whether XREADGROUP would answer now for stream ``n`` (an entry after the
    group's last delivered id, or an error to report), found with read-only
    commands: a retry that would only update seen times writes nothing, so
    blocked consumers do not wake each other."""
    if read.ids[n] != b">":
        return True
    groups = run(b"XINFO", b"GROUPS", read.keys[n])
    if isinstance(groups, ErrorReply):
        return True
    delivered = None
    for group in groups:
        fields = dict(zip(group[::2], group[1::2], strict=True))
        if fields[b"name"] == read.group:
            delivered = fields[b"last-delivered-id"]
    if delivered is None:
        return True  # the group is gone: the command answers NOGROUP
    info = run(b"XINFO", b"STREAM", read.keys[n])
    if isinstance(info, ErrorReply):
        return True
    last = info[info.index(b"last-entry") + 1]
    return last is not None and _sid(last[0]) > _sid(delivered)


def _parser(
    grouped: bool,
) -> Callable[[list[bytes]], tuple[Callable[[Run], Reply], float]]:
    def parse(args: list[bytes]) -> tuple[Callable[[Run], Reply], float]:
        def once(run: Run) -> Reply:
            return run(*args)

        try:
            read = parse_read(args, grouped)
        except Refused:
            return once, -1
        if read.block is None:
            return once, -1
        state: list[list[bytes]] = []

        def attempt(run: Run) -> Reply:
            if not state:
                state.append(_resolve(run, args, read) if not grouped else args)
            elif grouped and not any(
                _may_serve(run, read, n) for n in range(len(read.keys))
            ):
                return None  # nothing new: do not touch the group (seen times)
            return run(*state[0])

        return attempt, read.block / 1000

    return parse


def register() -> None:
    register_blocking("XREAD", _parser(grouped=False))
    register_blocking("XREADGROUP", _parser(grouped=True))


register()
