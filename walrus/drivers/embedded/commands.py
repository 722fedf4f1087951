"""How the embedded core sorts the commands it is sent.

Which commands the core answers itself (connection, scripting, pub/sub,
TIME, the named operations' ``WALRUS.OP``) rather than the engine, which
ones an embedded engine never takes as plain commands, which keys a
successful write names (for WATCH), which commands a transaction runs one by
one through the core, and the line MONITOR shows for a command. All of it
is pure: nothing here touches an engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from walrus.drivers.command_table import COMMANDS, WRITE_KEYS
from walrus.drivers.embedded.blocking import BLOCKING
from walrus.drivers.embedded.clients import CONNECTION_COMMANDS
from walrus.drivers.embedded.transactions import NEVER
from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.glob import glob_match

__all__ = [
    "LOCAL_COMMANDS",
    "NOT_PLAIN",
    "SCRIPTING_COMMANDS",
    "SCRIPT_TIME",
    "STREAM_COMMANDS",
    "arity_error",
    "command_name",
    "monitor_line",
    "per_command",
    "script_time_setting",
    "writes",
    "written_keys",
]

# Commands a client object cannot take as plain commands: subscriptions come
# from pubsub(), the rest is never available on an embedded engine.
NOT_PLAIN = NEVER | frozenset(
    (  # noqa: SIM905
        "SUBSCRIBE PSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SSUBSCRIBE SUNSUBSCRIBE"
    ).split()
)

STREAM_COMMANDS = frozenset(
    (  # noqa: SIM905
        "XADD XLEN XRANGE XREVRANGE XREAD XREADGROUP XGROUP XACK XPENDING XCLAIM "
        "XAUTOCLAIM XTRIM XDEL XINFO XSETID "
    ).split()
)

# Answered by the core's Lua runtime on every engine (walrus.drivers.lua.scripting).
SCRIPTING_COMMANDS = frozenset(
    {
        "EVAL",
        "EVALSHA",
        "EVAL_RO",
        "EVALSHA_RO",
        "SCRIPT",
        "FUNCTION",
        "FCALL",
        "FCALL_RO",
    }
)
# Answered by the core itself, never by the engine.
_CORE_COMMANDS = (
    SCRIPTING_COMMANDS
    | CONNECTION_COMMANDS
    | {
        "WALRUS.OP",
        "PUBLISH",
        "SPUBLISH",
        "PUBSUB",
    }
)
_OTHER_WRITES = {"SORT", "XGROUP"}  # writes whose keys written_keys finds itself


def command_name(args: Command) -> str:
    """The command's name, upper case."""
    return args[0].upper().decode("ascii", "replace")


def written_keys(name: str, args: Command) -> list[bytes] | None:
    """Keys a successful write names; ``None`` means any key may have changed."""
    if name == "XGROUP":  # the table lists its subcommands: XGROUP CREATE key ...
        return args[2:3]
    if name == "SORT":
        upper = [a.upper() for a in args]
        at = upper.index(b"STORE") + 1 if b"STORE" in upper else len(args)
        return args[at : at + 1]
    first, last, step = WRITE_KEYS[name]
    if first == 0:
        return None
    end = len(args) + last + 1 if last < 0 else last + 1
    return args[first:end:step]


def writes(name: str) -> bool:
    """Whether an engine command may write (scripts and twins are tracked
    through the commands they run)."""
    return name in WRITE_KEYS or name in _OTHER_WRITES


def arity_error(name: str, args: Command) -> ErrorReply | None:
    """The error Redis answers when ``args`` has the wrong number of arguments."""
    info = COMMANDS.get(name)
    if info is not None:
        arity = info[0]
        if (arity > 0 and len(args) != arity) or len(args) < -arity:
            return ErrorReply(
                f"ERR wrong number of arguments for '{name.lower()}' command"
            )
    return None


# CONFIG settings the core answers: the Lua runtime's time limit, in ms.
SCRIPT_TIME = (b"lua-time-limit", b"busy-reply-threshold")


def script_time_setting(args: Command) -> bool:
    """CONFIG SET naming the script time limit, or CONFIG GET that may match it."""
    if len(args) < 3:
        return False
    sub = args[1].upper()
    if sub == b"SET":
        return any(k.lower() in SCRIPT_TIME for k in args[2::2])
    return sub == b"GET" and any(
        glob_match(p.lower(), name) for p in args[2:] for name in SCRIPT_TIME
    )


def _time(args: Command) -> Reply:
    """TIME: this machine's clock, as Redis answers it."""
    now = time.time_ns() // 1000
    return [str(now // 1_000_000).encode(), str(now % 1_000_000).encode()]


# Commands answered the same on every engine, without the engine.
LOCAL_COMMANDS: dict[str, Callable[[Command], Reply]] = {"TIME": _time}


def per_command(name: str) -> bool:
    """Whether a transaction runs this command through the core, not in the
    engine's own MULTI: the core answers it, or it blocks elsewhere."""
    return (
        name in _CORE_COMMANDS
        or name in LOCAL_COMMANDS
        or name in BLOCKING
        or name == "CONFIG"
    )


def monitor_line(args: Command) -> bytes:
    """The line MONITOR shows for a command run now."""
    quoted = " ".join('"' + a.decode("utf-8", "backslashreplace") + '"' for a in args)
    return f"{time.time():.6f} [0 embedded] {quoted}".encode()
