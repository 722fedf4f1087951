"""What ``redis.call`` checks before it runs a command, as Redis 7.0 does.

A script may not run commands flagged ``noscript`` (EVAL, MULTI, SUBSCRIBE,
CLIENT ..., in :mod:`walrus.drivers.command_table`), nor the blocking
commands Redis 7.0 refuses in scripts (BLPOP and its family, WAIT); a
read-only script (EVAL_RO, ``no-writes``) may not run a write command. The
messages are Redis 7.0's. Engines answer status replies (``+OK``) as plain
bytes, so :func:`is_status` says which replies Redis would have sent as a
status (a script sees them as ``{ok=...}``).
"""

from __future__ import annotations

from walrus.drivers.command_table import COMMANDS

__all__ = [
    "ARGUMENTS",
    "NO_ARGUMENTS",
    "command_name",
    "is_status",
    "nosort_on_set",
    "refusal",
    "resp3_shape",
    "sorted_instead",
    "writes",
]

NO_ARGUMENTS = "ERR Please specify at least one argument for this redis lib call"
ARGUMENTS = "ERR Lua redis lib command arguments must be strings or integers"
UNKNOWN = "ERR Unknown Redis command called from script"
ARITY = "ERR Wrong number of args calling Redis command from script"
NOT_ALLOWED = "ERR This Redis command is not allowed from script"
READ_ONLY = "ERR Write commands are not allowed from read-only scripts."

# name -> (arity, flags), for commands and "NAME SUB" subcommands
_INFO: dict[str, tuple[int, frozenset[str]]] = {
    name: (arity, frozenset(flags.split()))
    for name, (arity, flags, *_keys) in COMMANDS.items()
}
_CONTAINERS = frozenset(name.split()[0] for name in COMMANDS if " " in name)

# Blocking commands Redis 7.0 refuses inside a script (later versions run
# them once, without blocking).
_BLOCKING_REFUSED = frozenset(
    {
        "BLPOP",
        "BRPOP",
        "BRPOPLPUSH",
        "BLMOVE",
        "BZPOPMIN",
        "BZPOPMAX",
        "WAIT",
        "WAITAOF",
    }
)

# Commands whose (top-level, bytes) reply Redis sends as a status reply.
_STATUS = frozenset(
    {
        "SET",
        "SETEX",
        "PSETEX",
        "MSET",
        "LSET",
        "LTRIM",
        "RENAME",
        "FLUSHDB",
        "FLUSHALL",
        "HMSET",
        "RESTORE",
        "PFMERGE",
        "TYPE",
        "PING",
        "SELECT",
        "SWAPDB",
        "XGROUP",
        "XSETID",
        "MIGRATE",
        "READONLY",
        "READWRITE",
        "ASKING",
    }
)


def command_name(command: list[bytes]) -> str:
    return command[0].upper().decode("latin-1")


def refusal(name: str, command: list[bytes], read_only: bool) -> str | None:
    """Why a script may not run ``command`` (Redis's error), or None."""
    info = _INFO.get(name)
    if info is None:
        return UNKNOWN
    if name in _CONTAINERS:
        if len(command) < 2:
            return ARITY
        sub = f"{name} {command[1].upper().decode('latin-1')}"
        info = _INFO.get(sub)
        if info is None:
            return UNKNOWN
    arity, flags = info
    if (arity > 0 and len(command) != arity) or len(command) < -arity:
        return ARITY
    if "noscript" in flags or name in _BLOCKING_REFUSED:
        return NOT_ALLOWED
    if name in ("XREAD", "XREADGROUP") and _blocks(command):
        return f"ERR {name} command is not allowed with BLOCK option from scripts"
    if read_only and "write" in flags:
        return READ_ONLY
    return None


def writes(name: str) -> bool:
    """Whether the command is a write (for the time limit's report)."""
    info = _INFO.get(name)
    return info is not None and "write" in info[1]


def _blocks(command: list[bytes]) -> bool:
    for word in command[1:]:
        upper = word.upper()
        if upper == b"STREAMS":
            return False
        if upper == b"BLOCK":
            return True
    return False


def is_status(name: str, command: list[bytes]) -> bool:
    """Whether Redis answers ``command`` (when it answers bytes) with a status."""
    if name not in _STATUS:
        return False
    if name == "SET":
        return not any(word.upper() == b"GET" for word in command[3:])
    if name == "PING":
        return len(command) == 1
    return True


def nosort_on_set(command: list[bytes]) -> bool:
    """SORT ... BY <pattern without '*'>: unsorted, unless the key is a set
    (Redis then sorts a script's result, to keep it deterministic)."""
    upper = [word.upper() for word in command]
    return any(
        upper[i] == b"BY" and b"*" not in command[i + 1]
        for i in range(2, len(command) - 1)
    )


def sorted_instead(command: list[bytes]) -> list[bytes]:
    """The SORT command a script runs on a set with ``BY nosort``: the BY
    option dropped and ALPHA added (the members in lexicographic order)."""
    kept: list[bytes] = command[:2]
    i = 2
    while i < len(command):
        word = command[i]
        if (
            word.upper() == b"BY"
            and i + 1 < len(command)
            and b"*" not in command[i + 1]
        ):
            i += 2
            continue
        kept.append(word)
        i += 1
    if not any(word.upper() == b"ALPHA" for word in kept[2:]):
        kept.append(b"ALPHA")
    return kept


# RESP3 shapes (after redis.setresp(3)) for the commands whose reply changes.
_MAPS = frozenset({"HGETALL", "CONFIG"})
_SETS = frozenset({"SMEMBERS", "SINTER", "SUNION", "SDIFF"})
_DOUBLES = frozenset({"ZSCORE", "ZINCRBY"})


def resp3_shape(name: str) -> str | None:
    """'map', 'set' or 'double' for a command whose RESP3 reply has that type."""
    if name in _MAPS:
        return "map"
    if name in _SETS:
        return "set"
    if name in _DOUBLES:
        return "double"
    return None
