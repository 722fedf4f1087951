"""The rlite driver: an embedded Redis engine from the ``hirlite`` package.

Stock hirlite's Python wrapper kills the interpreter on every error reply
on Python 3.10+ (engines.md §2.2). This driver never uses that wrapper: it
calls the rlite C library inside hirlite's extension module directly with
``ctypes`` (``rliteConnect``, ``rliteCommandArgv``, ``rliteFreeReplyObject``),
so an error reply is an ordinary value. The engine's remaining native crash
triggers are never sent (:mod:`walrus.drivers.rlite_gaps` replaces them), the
path is checked before rlite opens it, and commands rlite lacks are filled in
by that module too. One lock (in :class:`~walrus.drivers.embedded.EmbeddedCore`)
serializes the handle between threads.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from walrus.drivers import rlite_collection_gaps as _collection_gaps  # noqa: F401
from walrus.drivers import rlite_streams as _streams  # noqa: F401
from walrus.drivers.embedded import (
    IN_PROCESS_CAPABILITIES,
    Command,
    EmbeddedCore,
    EmbeddedDatabase,
    ErrorReply,
    Reply,
)
from walrus.drivers.protocol import Capability
from walrus.drivers.rlite_gaps import GAPS, KEEPS_TTL, CursorTable, run_guarded, send
from walrus.drivers.rlite_lua import LUA_COMMANDS, LuaScripts
from walrus.exceptions import DatabaseOpenError, EngineError
from walrus.scripts import TWINS

__all__ = ["RliteDatabase", "RliteEngine"]

MEMORY = ":memory:"
_MAGIC = b"rlite"

_STRING, _ARRAY, _INTEGER, _NIL, _STATUS, _ERROR = 1, 2, 3, 4, 5, 6


class _Reply(ctypes.Structure):
    pass


_Reply._fields_ = [
    ("type", ctypes.c_int),
    ("integer", ctypes.c_longlong),
    ("len", ctypes.c_int),
    ("str", ctypes.c_void_p),
    ("elements", ctypes.c_size_t),
    ("element", ctypes.POINTER(ctypes.POINTER(_Reply))),
]


class _Context(ctypes.Structure):
    """The head of rlite's ``rliteContext``: its queue of pending replies."""

    _fields_ = [
        ("err", ctypes.c_int),
        ("errstr", ctypes.c_char * 128),
        ("path", ctypes.c_char_p),
        ("replies", ctypes.c_void_p),
        ("replyPosition", ctypes.c_int),
        ("replyLength", ctypes.c_int),
    ]


class _Library:
    """The rlite C functions, from hirlite's compiled extension module."""

    def __init__(self) -> None:
        spec = importlib.util.find_spec("hirlite.hirlite")
        if spec is None or spec.origin is None:
            raise ImportError(
                "the rlite backend needs hirlite: pip install 'walrus[rlite]'"
            )
        lib = ctypes.CDLL(spec.origin)
        lib.rliteConnect.restype = ctypes.c_void_p
        lib.rliteConnect.argtypes = [ctypes.c_char_p, ctypes.c_int]
        lib.rliteCommandArgv.restype = ctypes.POINTER(_Reply)
        lib.rliteCommandArgv.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.POINTER(ctypes.c_size_t),
        ]
        lib.rliteFreeReplyObject.argtypes = [ctypes.c_void_p]
        lib.rliteFreeReplyObject.restype = None
        lib.rliteFree.argtypes = [ctypes.c_void_p]
        lib.rliteFree.restype = None
        lib.rliteGetReply.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
        lib.rliteGetReply.restype = ctypes.c_int
        self.connect = lib.rliteConnect
        self.command = lib.rliteCommandArgv
        self.free_reply = lib.rliteFreeReplyObject
        self.free = lib.rliteFree
        self.get_reply = lib.rliteGetReply


_library: _Library | None = None


def _lib() -> _Library:
    global _library
    if _library is None:
        _library = _Library()
    return _library


@functools.lru_cache(maxsize=64)
def _arrays(count: int) -> tuple[Any, Any]:
    """The ctypes array types for a command of ``count`` arguments."""
    return ctypes.c_char_p * count, ctypes.c_size_t * count


def _convert(reply: _Reply) -> Reply:
    kind = reply.type
    if kind in (_STRING, _STATUS):
        return ctypes.string_at(reply.str, reply.len)
    if kind == _INTEGER:
        return reply.integer
    if kind == _NIL:
        return None
    if kind == _ARRAY:
        return [_convert(reply.element[i].contents) for i in range(reply.elements)]
    message = ctypes.string_at(reply.str, reply.len).decode("utf-8", "replace")
    code = message.split(" ", 1)[0]
    # rlite leaves out Redis's "ERR " prefix on some errors (arity, unknown command)
    return ErrorReply(message if code.isupper() else f"ERR {message}")


def _check_path(path: str) -> bytes:
    """Refuse what would crash rlite: a missing directory, a foreign file."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise DatabaseOpenError(f"cannot open rlite database {path!r}: no directory")
    if target.is_dir():
        raise DatabaseOpenError(f"cannot open rlite database {path!r}: a directory")
    if target.exists():
        if not os.access(target, os.R_OK | os.W_OK):
            raise DatabaseOpenError(f"cannot open rlite database {path!r}: no access")
        with open(target, "rb") as handle:
            head = handle.read(len(_MAGIC))
        if head and head != _MAGIC:
            raise DatabaseOpenError(f"{path!r} is not an rlite database")
    elif not os.access(directory, os.W_OK):
        raise DatabaseOpenError(f"cannot create rlite database {path!r}: read-only")
    return os.fsencode(target)


class RliteEngine:
    """One rlite handle (``:memory:`` or a file), spoken to through ctypes."""

    name = "rlite"

    def __init__(self, path: str = MEMORY) -> None:
        self.path = path
        self.cursors = CursorTable()
        self.lua = LuaScripts()
        self._exclusive_depth = 0
        self._lock_file: int | None = None
        encoded = b":memory:" if path == MEMORY else _check_path(path)
        lib = _lib()
        handle = lib.connect(encoded, 0)
        if not handle:
            raise DatabaseOpenError(f"cannot open rlite database {path!r}")
        self._handle: int | None = handle
        if path != MEMORY:
            self._lock_file = os.open(f"{path}.walrus-lock", os.O_RDWR | os.O_CREAT)
        self._command = lib.command
        self._free_reply = lib.free_reply
        self._context = _Context.from_address(handle)
        self.stream_engine: Any = None  # streams, emulated (rlite_streams)
        self.capabilities = IN_PROCESS_CAPABILITIES | {
            Capability.LUA,
            Capability.STREAMS,
        }
        if path != MEMORY:
            self.capabilities |= {
                Capability.PERSISTENT,
                Capability.SHARED_ACROSS_PROCESSES,
            }
        if path != MEMORY:
            reply = self.raw([b"DBSIZE"])  # make rlite read the file now
            if isinstance(reply, ErrorReply):
                self.close()
                raise DatabaseOpenError(f"cannot read rlite database {path!r}: {reply}")

    def raw(self, args: Command) -> Reply:
        """Send one command to rlite as it is (the caller checked it is safe)."""
        if self._handle is None:
            raise EngineError("the rlite database is closed")
        count = len(args)
        argv_type, lengths_type = _arrays(count)
        pointer = self._command(
            self._handle, count, argv_type(*args), lengths_type(*map(len, args))
        )
        if not pointer:
            raise EngineError(f"rlite gave no reply to {args[0]!r}")
        try:
            return _convert(pointer.contents)
        finally:
            self._free_reply(pointer)
            if self._context.replyPosition < self._context.replyLength:
                self._drain()

    def _drain(self) -> None:
        """Drop replies rlite queued beyond the one answer (some commands, e.g.
        MSETNX naming a key twice, queue two); left there, every later reply
        would belong to the command before it (found by the fuzz test)."""
        context = self._context
        while context.replyPosition < context.replyLength:
            extra = ctypes.c_void_p()
            _lib().get_reply(self._handle, ctypes.byref(extra))
            if extra.value:
                _lib().free_reply(extra.value)

    def execute(self, args: Command) -> Reply:
        if not args:
            return ErrorReply("ERR empty command")
        name = args[0].upper()
        if name in LUA_COMMANDS:
            with self.exclusive():
                return self.lua.execute(self, args)
        if name in GAPS or name in KEEPS_TTL:
            with self.exclusive():
                return send(self, args)
        return send(self, args)

    def execute_many(self, commands: list[Command], atomic: bool) -> list[Reply]:
        """Run a pipeline; native commands go in one MULTI/EXEC when ``atomic``.

        MULTI/EXEC makes the block atomic for other processes on the same file
        too. A pipeline holding a command that the driver emulates runs
        command by command instead (still atomic within this process).
        """
        if not atomic or any(
            c[0].upper() in GAPS or c[0].upper() in LUA_COMMANDS for c in commands
        ):
            return [self.execute(c) for c in commands]
        self.raw([b"MULTI"])
        queued = [run_guarded(self, c) for c in commands]
        results = self.raw([b"EXEC"])
        if isinstance(results, list) and len(results) == len(commands):
            return results
        # EXECABORT: a command was refused while queueing; nothing ran
        return [q if isinstance(q, ErrorReply) else results for q in queued]

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the file against other processes' multi-step operations.

        A named operation's twin, a Lua script and a gap the driver emulates
        take several rlite commands; rlite locks its file per command only, so
        two processes could interleave them (found by a rate-limit test with
        four processes). An advisory lock on ``<path>.walrus-lock`` makes them
        take turns. Re-entrant; a no-op in memory.
        """
        if self._lock_file is None:
            yield
            return
        if self._exclusive_depth == 0:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        self._exclusive_depth += 1
        try:
            yield
        finally:
            self._exclusive_depth -= 1
            if self._exclusive_depth == 0:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._handle is not None:
            _lib().free(self._handle)
            self._handle = None
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None


class RliteDatabase(EmbeddedDatabase):
    """A walrus database on rlite: ``':memory:'`` (or None) or a file path.

    It has redis-py's command methods, walrus's extras and every feature
    factory, like ``walrus.Database``. Threads may share one database.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = MEMORY, **kwargs: Any
    ) -> None:
        where = MEMORY if path is None or path == MEMORY else os.fspath(path)
        super().__init__(EmbeddedCore(RliteEngine(where), TWINS), **kwargs)
        self.path = where
