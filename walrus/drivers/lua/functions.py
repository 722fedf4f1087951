"""Redis 7.0 functions: FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/
KILL/HELP and FCALL/FCALL_RO, on an engine's Lua interpreter.

A library is ``#!lua name=<lib>`` followed by code that calls
``redis.register_function`` (by position, or with named arguments and
flags). While it loads, its globals are only that load-time ``redis`` table
(500 ms at most, as in Redis); its functions then run with the script
globals, without KEYS and ARGV. FUNCTION DUMP's payload is walrus's own
(a server's payload cannot be restored here, nor the other way round).
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.glob import glob_match
from walrus.drivers.lua.commands import strict_int, subcommand_error
from walrus.drivers.lua.runtime import ScriptRuntime

__all__ = ["Functions"]

LOAD_TIME_LIMIT = 0.5  # seconds a library's code may run while it loads
_NAME = re.compile(rb"[A-Za-z0-9_]+\Z")
_NAME_RULES = (
    "names can only contain letters, numbers, or underscores(_) and must be at "
    "least one character long"
)
# FUNCTION LIST shows the flags in this order, as Redis does.
_FLAG_ORDER = (
    b"no-writes",
    b"allow-oom",
    b"allow-stale",
    b"no-cluster",
    b"allow-cross-slot-keys",
)
_DUMP_MAGIC = b"walrus-functions\x01"
_BAD_PAYLOAD = ErrorReply("ERR DUMP payload version or checksum are wrong")
_HELP = [
    b"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"LOAD [REPLACE] <FUNCTION CODE>",
    b"    Load a library (#!lua name=<library> ...); REPLACE an existing one.",
    b"DELETE <LIBRARY NAME>",
    b"    Delete a library and its functions.",
    b"KILL",
    b"    Answers NOTBUSY: a function holds the engine until it ends.",
    b"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    b"    The libraries (matching PATTERN), their functions (and code).",
    b"FLUSH [ASYNC|SYNC]",
    b"    Delete every library.",
    b"STATS",
    b"    The number of libraries and functions.",
    b"DUMP",
    b"    Every library in one payload, for FUNCTION RESTORE.",
    b"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    b"    Load the libraries of a payload (APPEND by default).",
    b"HELP",
    b"    Print this help.",
]


@dataclass
class _Function:
    name: bytes
    fn: Any
    flags: tuple[bytes, ...]
    description: bytes | None


@dataclass
class _Library:
    name: bytes
    code: bytes
    functions: dict[bytes, _Function] = field(default_factory=dict)


class Functions:
    """The libraries loaded on one engine."""

    def __init__(self, runtime: ScriptRuntime) -> None:
        self.runtime = runtime
        self.libraries: dict[bytes, _Library] = {}
        self._index: dict[bytes, _Function] = {}  # function name -> function
        runtime.register_check = _check_function_name

    # -- FCALL -----------------------------------------------------------------
    def fcall(self, args: Command, read_only: bool) -> Reply:
        function = self._index.get(args[1])
        if function is None:
            return ErrorReply("ERR Function not found")
        numkeys = strict_int(args[2])
        if numkeys is None:
            return ErrorReply("ERR Bad number of keys provided")
        if numkeys < 0:
            return ErrorReply("ERR Number of keys can't be negative")
        if numkeys > len(args) - 3:
            return ErrorReply("ERR Number of keys can't be greater than number of args")
        no_writes = b"no-writes" in function.flags
        if read_only and not no_writes:
            return ErrorReply(
                "ERR Can not execute a script with write flag using *_ro command."
            )
        return self.runtime.run_function(
            function.fn,
            function.name.decode("utf-8", "replace"),
            args[3 : 3 + numkeys],
            args[3 + numkeys :],
            no_writes,
        )

    # -- FUNCTION --------------------------------------------------------------
    def function(self, args: Command) -> Reply:
        sub = args[1].upper()
        handler: Callable[[Command], Reply] | None = {
            b"LOAD": self._load_command,
            b"LIST": self._list,
            b"DELETE": self._delete,
            b"FLUSH": self._flush_command,
            b"DUMP": lambda a: self._dump(),
            b"RESTORE": self._restore,
            b"STATS": lambda a: self._stats(),
            b"KILL": lambda a: ErrorReply("NOTBUSY No scripts in execution right now."),
            b"HELP": lambda a: list(_HELP),
        }.get(sub)
        if handler is None:
            return subcommand_error("FUNCTION", args[1])
        return handler(args)

    def _load_command(self, args: Command) -> Reply:
        replace = False
        for option in args[2:-1]:
            if option.upper() != b"REPLACE":
                shown = option.decode("utf-8", "replace")
                return ErrorReply(f"ERR Unknown option given: {shown}")
            replace = True
        library = self._compile(args[-1], refuse_existing=not replace)
        if isinstance(library, ErrorReply):
            return library
        error = self._install([library], replace=True)
        return error if error is not None else library.name

    def _compile(
        self, code: bytes, refuse_existing: bool = False
    ) -> _Library | ErrorReply:
        """Parse a library's metadata, run its code; the library or the error
        (``refuse_existing``: a library of that name is one)."""
        if not code.startswith(b"#!"):
            return ErrorReply("ERR Missing library metadata")
        end = code.find(b"\n")
        if end < 0:
            return ErrorReply("ERR Invalid library metadata")
        parts = code[:end].split(b" ")
        engine, name = parts[0][2:], None
        for part in parts[1:]:
            if part.startswith(b"name="):
                name = part[5:]
            elif part:
                shown = part.decode("utf-8", "replace")
                return ErrorReply(f"ERR Invalid metadata value given: {shown}")
        if name is None:
            return ErrorReply("ERR Library name was not given")
        if engine.upper() != b"LUA":
            shown = engine.decode("utf-8", "replace")
            return ErrorReply(f"ERR Engine '{shown}' not found")
        if not _NAME.match(name):
            return ErrorReply(f"ERR Library {_NAME_RULES}")
        if refuse_existing and name in self.libraries:
            shown = name.decode("utf-8", "replace")
            return ErrorReply(f"ERR Library '{shown}' already exists")
        fn = self.runtime.compile(code[end:], b"@user_function", True)
        if isinstance(fn, bytes):
            message = fn.decode("utf-8", "replace")
            return ErrorReply(f"ERR Error compiling function: {message}")
        registered = self.runtime.load_library(fn, LOAD_TIME_LIMIT)
        if isinstance(registered, str):
            return ErrorReply(f"ERR Error registering functions: {registered}")
        if not registered:
            return ErrorReply("ERR No functions registered")
        library = _Library(name, code)
        for fname, callback, flags, description in registered:
            ordered = tuple(flag for flag in _FLAG_ORDER if flag in flags)
            library.functions[fname] = _Function(fname, callback, ordered, description)
        return library

    def _install(self, libraries: list[_Library], replace: bool) -> ErrorReply | None:
        """Add ``libraries`` (replacing those of the same names if ``replace``),
        unless a function name is taken by another library: all or nothing."""
        replaced = {lib.name for lib in libraries} if replace else set()
        taken = {
            fname
            for lib in self.libraries.values()
            if lib.name not in replaced
            for fname in lib.functions
        }
        for library in libraries:
            if not replace and library.name in self.libraries:
                shown = library.name.decode("utf-8", "replace")
                return ErrorReply(f"ERR Library {shown} already exists")
            for fname in library.functions:
                if fname in taken:
                    shown = fname.decode("utf-8", "replace")
                    return ErrorReply(f"ERR Function {shown} already exists")
                taken.add(fname)
        for library in libraries:
            self.libraries[library.name] = library
        self._reindex()
        return None

    def _reindex(self) -> None:
        self._index = {
            fname: function
            for lib in self.libraries.values()
            for fname, function in lib.functions.items()
        }

    def _list(self, args: Command) -> Reply:
        pattern: bytes | None = None
        with_code = False
        at = 2
        while at < len(args):
            option = args[at].upper()
            if option == b"WITHCODE" and not with_code:
                with_code = True
            elif option == b"LIBRARYNAME" and pattern is None:
                if at + 1 >= len(args):
                    return ErrorReply("ERR library name argument was not given")
                pattern = args[at + 1]
                at += 1
            else:
                shown = args[at].decode("utf-8", "replace")
                return ErrorReply(f"ERR Unknown argument {shown}")
            at += 1
        return [
            _describe(lib, with_code)
            for lib in self.libraries.values()
            if pattern is None or glob_match(pattern, lib.name)
        ]

    def _delete(self, args: Command) -> Reply:
        if self.libraries.pop(args[2], None) is None:
            return ErrorReply("ERR Library not found")
        self._reindex()
        return b"OK"

    def _flush_command(self, args: Command) -> Reply:
        if len(args) > 3:
            return ErrorReply(
                "ERR unknown subcommand or wrong number of arguments for 'FLUSH'. "
                "Try FUNCTION HELP."
            )
        if len(args) == 3 and args[2].upper() not in (b"ASYNC", b"SYNC"):
            return ErrorReply("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
        self.flush()
        return b"OK"

    def flush(self) -> None:
        self.libraries.clear()
        self._index.clear()

    def _stats(self) -> Reply:
        counts = [
            b"libraries_count",
            len(self.libraries),
            b"functions_count",
            len(self._index),
        ]
        return [b"running_script", None, b"engines", [b"LUA", counts]]

    def _dump(self) -> Reply:
        body = b"".join(
            struct.pack(">I", len(lib.code)) + lib.code
            for lib in self.libraries.values()
        )
        payload = _DUMP_MAGIC + body
        return payload + hashlib.sha1(payload).digest()[:8]

    def _restore(self, args: Command) -> Reply:
        if len(args) > 4:
            return ErrorReply(
                "ERR unknown subcommand or wrong number of arguments for 'RESTORE'. "
                "Try FUNCTION HELP."
            )
        policy = args[3].upper() if len(args) == 4 else b"APPEND"
        if policy not in (b"FLUSH", b"APPEND", b"REPLACE"):
            return ErrorReply(
                "ERR Wrong restore policy given, value should be either FLUSH, "
                "APPEND or REPLACE."
            )
        codes = _undump(args[2])
        if codes is None:
            return _BAD_PAYLOAD
        libraries: list[_Library] = []
        for code in codes:
            library = self._compile(code)
            if isinstance(library, ErrorReply):
                return library
            libraries.append(library)
        if policy == b"FLUSH":
            kept, self.libraries = self.libraries, {}
            error = self._install(libraries, replace=False)
            if error is not None:
                self.libraries = kept
                self._reindex()
                return error
            return b"OK"
        error = self._install(libraries, replace=policy == b"REPLACE")
        return error if error is not None else b"OK"


def _describe(library: _Library, with_code: bool) -> list[Reply]:
    functions = [
        [b"name", f.name, b"description", f.description, b"flags", list(f.flags)]
        for f in library.functions.values()
    ]
    described: list[Reply] = [
        b"library_name",
        library.name,
        b"engine",
        b"LUA",
        b"functions",
        functions,
    ]
    if with_code:
        described += [b"library_code", library.code]
    return described


def _undump(payload: bytes) -> list[bytes] | None:
    """The library codes of a FUNCTION DUMP payload, or None if it is damaged."""
    body, checksum = payload[:-8], payload[-8:]
    if not body.startswith(_DUMP_MAGIC) or hashlib.sha1(body).digest()[:8] != checksum:
        return None
    codes, at = [], len(_DUMP_MAGIC)
    while at < len(body):
        if at + 4 > len(body):
            return None
        (size,) = struct.unpack(">I", body[at : at + 4])
        codes.append(body[at + 4 : at + 4 + size])
        at += 4 + size
    return codes if at == len(body) else None


def _check_function_name(name: bytes) -> bytes | None:
    """Redis 7.0 checks a function's name with its library-name rules."""
    if _NAME.match(name):
        return None
    return f"ERR Library {_NAME_RULES}".encode()
