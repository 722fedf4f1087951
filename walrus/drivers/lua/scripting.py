"""Lua scripting for every in-process engine: EVAL, EVALSHA, SCRIPT, FUNCTION
and FCALL with Redis 7.0's semantics, on one sandboxed Lua 5.1 interpreter
per engine (:mod:`walrus.drivers.lua.runtime`).

The core (:class:`~walrus.drivers.embedded.core.EmbeddedCore`) sends these
commands here with its lock held, so a script is atomic: no other command of
any thread runs until it ends. A script's ``redis.call`` runs on the core
(``core.run_from_script``). Scripts are cached by SHA1 per engine, as a
server caches them (SCRIPT FLUSH empties the cache); functions live as long
as the engine (FLUSHALL keeps them, as Redis does; they are not saved).

A script that runs past :attr:`LuaScripting.time_limit` seconds (5 by
default, like Redis's busy threshold) is stopped with an error saying so;
the writes it made before are kept, since Redis never rolls a script back.
"""

from __future__ import annotations

import hashlib
from typing import Any

from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.lua.commands import (
    arity_error,
    strict_int,
    subcommand_error,
    wrong_arity,
)
from walrus.drivers.lua.functions import Functions
from walrus.drivers.lua.runtime import DEFAULT_TIME_LIMIT, ScriptRuntime

__all__ = ["LuaScripting"]

_SCRIPT_FLAGS = frozenset(
    {
        b"no-writes",
        b"allow-oom",
        b"allow-stale",
        b"no-cluster",
        b"allow-cross-slot-keys",
    }
)
_KEYED = frozenset(
    {b"EVAL", b"EVAL_RO", b"EVALSHA", b"EVALSHA_RO", b"FCALL", b"FCALL_RO"}
)
_NOT_INTEGER = ErrorReply("ERR value is not an integer or out of range")
_NOSCRIPT = ErrorReply("NOSCRIPT No matching script. Please use EVAL.")
_WRITE_FLAG_RO = ErrorReply(
    "ERR Can not execute a script with write flag using *_ro command."
)
_SCRIPT_HELP = [
    b"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"DEBUG (YES|SYNC|NO)",
    b"    Only NO is accepted here: an embedded engine has no Lua debugger.",
    b"EXISTS <sha1> [<sha1> ...]",
    b"    For each sha1, 1 if the script is cached, else 0.",
    b"FLUSH [ASYNC|SYNC]",
    b"    Empty the script cache.",
    b"KILL",
    b"    Answers NOTBUSY: a script holds the engine until it ends.",
    b"LOAD <script>",
    b"    Cache a script without running it; returns its sha1.",
    b"HELP",
    b"    Print this help.",
]


class _Script:
    """A cached script: its compiled function and whether it may write."""

    __slots__ = ("fn", "read_only", "shebang")

    def __init__(self, fn: Any, read_only: bool, shebang: bool) -> None:
        self.fn, self.read_only, self.shebang = fn, read_only, shebang


class LuaScripting:
    """EVAL, EVALSHA, SCRIPT, FUNCTION and FCALL for one EmbeddedCore."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.runtime = ScriptRuntime(core, DEFAULT_TIME_LIMIT)
        self.functions = Functions(self.runtime)
        self._scripts: dict[bytes, _Script] = {}

    @property
    def time_limit(self) -> float:
        """Seconds a script may run before it is stopped (0: no limit)."""
        return self.runtime.time_limit

    @time_limit.setter
    def time_limit(self, seconds: float) -> None:
        self.runtime.time_limit = float(seconds)

    def execute(self, args: Command) -> Reply:
        name = args[0].upper()
        if name in _KEYED:  # EVAL ..., FCALL ...: name, script, numkeys at least
            if len(args) < 3:
                return wrong_arity(name.decode().lower())
        else:
            error = arity_error(args)
            if error is not None:
                return error
        if name in (b"EVAL", b"EVAL_RO"):
            return self._eval(args, name == b"EVAL_RO")
        if name in (b"EVALSHA", b"EVALSHA_RO"):
            script = self._scripts.get(args[1].lower())
            if script is None:
                return _NOSCRIPT
            return self._run(script, args[1].lower(), args, name == b"EVALSHA_RO")
        if name == b"SCRIPT":
            return self._script(args)
        if name == b"FUNCTION":
            return self.functions.function(args)
        return self.functions.fcall(args, name == b"FCALL_RO")

    # -- EVAL ------------------------------------------------------------------
    def _eval(self, args: Command, read_only: bool) -> Reply:
        sha = hashlib.sha1(args[1]).hexdigest().encode()
        script = self._scripts.get(sha)
        if script is None:
            loaded = self._load(args[1], sha)
            if isinstance(loaded, ErrorReply):
                return loaded
            script = loaded
        return self._run(script, sha, args, read_only)

    def _run(self, script: _Script, sha: bytes, args: Command, ro: bool) -> Reply:
        numkeys = strict_int(args[2])
        if numkeys is None:
            return _NOT_INTEGER
        if numkeys < 0:
            return ErrorReply("ERR Number of keys can't be negative")
        if numkeys > len(args) - 3:
            return ErrorReply("ERR Number of keys can't be greater than number of args")
        if ro and script.shebang and not script.read_only:
            return _WRITE_FLAG_RO
        keys, argv = args[3 : 3 + numkeys], args[3 + numkeys :]
        return self.runtime.run_script(
            script.fn, sha.decode(), keys, argv, ro or script.read_only
        )

    def _load(self, code: bytes, sha: bytes) -> _Script | ErrorReply:
        """Compile a script (after its ``#!lua`` line, if any) and cache it."""
        read_only, shebang, body = False, False, code
        if code.startswith(b"#!"):
            parsed = _shebang(code)
            if isinstance(parsed, ErrorReply):
                return parsed
            read_only, body = parsed
            shebang = True
        fn = self.runtime.compile(body, b"@user_script", False)
        if isinstance(fn, bytes):
            message = fn.decode("utf-8", "replace")
            return ErrorReply(f"ERR Error compiling script (new function): {message}")
        script = _Script(fn, read_only, shebang)
        self._scripts[sha] = script
        return script

    # -- SCRIPT ----------------------------------------------------------------
    def _script(self, args: Command) -> Reply:
        sub = args[1].upper()
        if sub == b"LOAD":
            sha = hashlib.sha1(args[2]).hexdigest().encode()
            if sha not in self._scripts:
                loaded = self._load(args[2], sha)
                if isinstance(loaded, ErrorReply):
                    return loaded
            return sha
        if sub == b"EXISTS":
            return [int(sha.lower() in self._scripts) for sha in args[2:]]
        if sub == b"FLUSH":
            if len(args) > 3 or (
                len(args) == 3 and args[2].upper() not in (b"ASYNC", b"SYNC")
            ):
                return ErrorReply("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
            self._scripts.clear()
            return b"OK"
        if sub == b"KILL":
            return ErrorReply("NOTBUSY No scripts in execution right now.")
        if sub == b"DEBUG":
            mode = args[2].upper()
            if mode == b"NO":
                return b"OK"
            if mode in (b"YES", b"SYNC"):
                return ErrorReply(
                    "ERR SCRIPT DEBUG is not available: an embedded engine has no "
                    "Lua debugger"
                )
            return ErrorReply("ERR Use SCRIPT DEBUG YES/SYNC/NO")
        if sub == b"HELP":
            return list(_SCRIPT_HELP)
        return subcommand_error("SCRIPT", args[1])

    def close(self) -> None:
        self._scripts.clear()
        self.functions.flush()
        self.runtime.close()


def _shebang(code: bytes) -> tuple[bool, bytes] | ErrorReply:
    """(read only, body) for a script with a ``#!lua`` line, as Redis 7.0 reads
    it; the body keeps the line numbers (its first line is left empty)."""
    end = code.find(b"\n")
    if end < 0:
        return ErrorReply("ERR Invalid script shebang")
    parts = code[:end].split()
    if not parts:
        return ErrorReply("ERR Invalid engine in script shebang")
    if parts[0] != b"#!lua":
        engine = parts[0].decode("utf-8", "replace")
        return ErrorReply(f"ERR Unexpected engine in script shebang: {engine}")
    read_only = False
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            shown = part.decode("utf-8", "replace")
            return ErrorReply(f"ERR Unknown lua shebang option: {shown}")
        for flag in filter(None, part[6:].split(b",")):
            if flag not in _SCRIPT_FLAGS:
                shown = flag.decode("utf-8", "replace")
                return ErrorReply(f"ERR Unexpected flag in script shebang: {shown}")
            read_only = read_only or flag == b"no-writes"
    return read_only, code[end:]
