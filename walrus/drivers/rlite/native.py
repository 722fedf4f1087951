"""The rlite C library inside hirlite's extension module, through ``ctypes``.

A command is one call of :attr:`Library.call` (``call(handle, args)``: the
reply converted once, error replies as values): the compiled
``walrus.drivers.embedded._native`` when the install built it (about 1 µs a
command; ``WALRUS_RLITE_CTYPES=1`` turns it off), else the same in
``ctypes`` (about 6 µs). Neither can raise on a reply rlite gives.
:attr:`Library.typed` runs a command only over keys of its type (rlite
crashes on some commands over a key of another type), :attr:`Library.many`
a list of commands, :attr:`Library.read` a command whose string reply must
not end with a marker (a stream's): one C call each too.

Functions: ``rliteConnect``, ``rliteCommandArgv``, ``rliteGetReply``,
``rliteFreeReplyObject``, ``rliteFree``. Structures (rlite 0.3's headers,
``hirlite.h`` and ``rlite.h``): a reply; the context up to its
``writeCommand`` hook, which rlite calls after a command has run and before
it commits whenever the command left pages to write; and the database up to
its list of those pages (``write_pages``), which the driver's journal reads
(:mod:`walrus.drivers.rlite.journal`).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
from collections.abc import Callable, Sequence
from typing import Any

from walrus.drivers.embedded.types import ErrorReply, Reply
from walrus.exceptions import EngineError

compiled: Any
try:
    from walrus.drivers.embedded import _native as compiled
except ImportError:  # no C compiler when walrus was installed
    compiled = None

__all__ = [
    "WRITE_HOOK",
    "Context",
    "Library",
    "Typed",
    "convert",
    "error_reply",
    "library",
    "write_pages",
]

_STRING, _ARRAY, _INTEGER, _NIL, _STATUS, _ERROR = 1, 2, 3, 4, 5, 6

# typed(handle, args, kind, first, stop, wrong): see Library.ctypes_typed
Typed = Callable[[int, Sequence[bytes], bytes, int, int, Reply], Reply]


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

# void (*writeCommand)(int dbid, int argc, char **argv, size_t *argvlen)
WRITE_HOOK = ctypes.CFUNCTYPE(
    None,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.POINTER(ctypes.c_char_p),
    ctypes.POINTER(ctypes.c_size_t),
)


class Context(ctypes.Structure):
    """rlite's ``rliteContext`` up to its write hook."""

    _fields_ = [
        ("err", ctypes.c_int),
        ("errstr", ctypes.c_char * 128),
        ("path", ctypes.c_char_p),
        ("replies", ctypes.c_void_p),
        ("replyPosition", ctypes.c_int),
        ("replyLength", ctypes.c_int),
        ("replyAlloc", ctypes.c_int),
        ("db", ctypes.c_void_p),
        ("debugSkiplist", ctypes.c_int),
        ("cluster_enabled", ctypes.c_int),
        ("hashtableLimitEntries", ctypes.c_size_t),
        ("hashtableLimitValue", ctypes.c_size_t),
        ("inLuaScript", ctypes.c_int),
        ("writeCommand", ctypes.c_void_p),
    ]


class _Page(ctypes.Structure):
    """rlite's ``rl_page``: its number comes first."""

    _fields_ = [("page_number", ctypes.c_long)]


class _Database(ctypes.Structure):
    """rlite's ``struct rlite`` up to its pages waiting to be written."""

    _fields_ = [
        ("initial_next_empty_page", ctypes.c_long),
        ("initial_number_of_pages", ctypes.c_long),
        ("initial_number_of_databases", ctypes.c_int),
        ("initial_databases", ctypes.c_void_p),
        ("number_of_pages", ctypes.c_long),
        ("next_empty_page", ctypes.c_long),
        ("page_size", ctypes.c_long),
        ("driver", ctypes.c_void_p),
        ("driver_type", ctypes.c_int),
        ("selected_internal", ctypes.c_int),
        ("selected_database", ctypes.c_int),
        ("number_of_databases", ctypes.c_int),
        ("databases", ctypes.c_void_p),
        ("read_pages_alloc", ctypes.c_long),
        ("read_pages_len", ctypes.c_long),
        ("read_pages", ctypes.c_void_p),
        ("write_pages_alloc", ctypes.c_long),
        ("write_pages_len", ctypes.c_long),
        ("write_pages", ctypes.POINTER(ctypes.POINTER(_Page))),
    ]


def write_pages(context: Context) -> list[int]:
    """The numbers of the pages rlite is about to write (from the write hook)."""
    database = _Database.from_address(context.db)
    pages = database.write_pages
    return [pages[i].contents.page_number for i in range(database.write_pages_len)]


def layout(context: Context) -> tuple[int, int]:
    """(page size, number of pages) as the open handle has them: compared with
    the file's header when a file opens, to check the structures above."""
    database = _Database.from_address(context.db)
    return database.page_size, database.number_of_pages


class Library:
    """The rlite C functions, from hirlite's compiled extension module."""

    def __init__(self) -> None:
        spec = importlib.util.find_spec("hirlite.hirlite")
        if spec is None or spec.origin is None:
            raise ImportError(
                "the rlite backend needs hirlite: pip install 'walrus[rlite]'"
            )
        self.path: str = spec.origin
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
        self.compiled = compiled is not None and not os.environ.get(
            "WALRUS_RLITE_CTYPES"
        )
        self.call: Callable[[int, Sequence[bytes]], Reply] = self.ctypes_call
        self.typed: Typed = self.ctypes_typed
        self.many: Callable[[int, Sequence[Sequence[bytes]]], list[Reply]]
        self.many = self.ctypes_many
        self.read: Callable[[int, bytes, Reply, Sequence[bytes]], Reply]
        self.read = self.ctypes_read
        if self.compiled:
            command, free_reply, get_reply = (
                ctypes.cast(f, ctypes.c_void_p).value or 0
                for f in (self.command, self.free_reply, self.get_reply)
            )
            compiled.bind(
                command,
                free_reply,
                get_reply,
                Context.replyPosition.offset,
                Context.replyLength.offset,
                error_reply,
                EngineError,
            )
            self.call = compiled.command
            self.typed = compiled.typed
            self.many = compiled.many
            self.read = compiled.read

    def ctypes_call(self, handle: int, args: Sequence[bytes]) -> Reply:
        """One command on the context at ``handle``, through ctypes (the
        fallback of the compiled ``call``; the same replies)."""
        count = len(args)
        if count < 1:  # rlite needs a command name (as the compiled call checks)
            raise ValueError("a command needs its name")
        argv_type, lengths_type = arrays(count)
        pointer = self.command(
            handle, count, argv_type(*args), lengths_type(*map(len, args))
        )
        if not pointer:
            raise EngineError("rlite gave no reply")
        try:
            return convert(pointer.contents)
        finally:
            self.free_reply(pointer)
            context = Context.from_address(handle)
            while context.replyPosition < context.replyLength:
                # rlite queued replies beyond the one answer (MSETNX naming a
                # key twice queues two); left there, every later reply would
                # belong to the command before it (found by the fuzz test)
                extra = ctypes.c_void_p()
                self.get_reply(handle, ctypes.byref(extra))
                if not extra.value:
                    break
                self.free_reply(extra.value)

    def ctypes_read(
        self, handle: int, suffix: bytes, wrong: Reply, args: Sequence[bytes]
    ) -> Reply:
        """The reply to ``args``, except that a string ending with ``suffix``
        gives ``wrong`` (the fallback of the compiled ``read``)."""
        reply = self.ctypes_call(handle, args)
        return wrong if type(reply) is bytes and reply.endswith(suffix) else reply

    def ctypes_many(
        self, handle: int, commands: Sequence[Sequence[bytes]]
    ) -> list[Reply]:
        """Each command's reply, in order (the fallback of the compiled
        ``many``, which runs them all in one C call)."""
        return [self.ctypes_call(handle, command) for command in commands]

    def ctypes_typed(
        self,
        handle: int,
        args: Sequence[bytes],
        kind: bytes,
        first: int,
        stop: int,
        wrong: Reply,
    ) -> Reply:
        """``args`` run only if each key ``args[first:stop]`` is missing or of
        type ``kind`` (as TYPE names it), else ``wrong`` (rlite crashes on some
        commands over a key of another type): the fallback of the compiled
        ``typed``, which checks and runs in one C call."""
        for key in args[first:stop]:
            if self.ctypes_call(handle, [b"TYPE", key]) not in (b"none", kind):
                return wrong
        return self.ctypes_call(handle, args)

    def touch(self, path: str) -> None:
        """Open and close an rlite handle on ``path`` (creates a database)."""
        handle = self.connect(path.encode(), 0)
        if not handle:
            raise OSError(f"rlite cannot create {path!r}")
        self.free(handle)


@functools.cache
def library() -> Library:
    """The library, loaded on first use."""
    return Library()


@functools.lru_cache(maxsize=64)
def arrays(count: int) -> tuple[Any, Any]:
    """The ctypes array types for a command of ``count`` arguments."""
    return ctypes.c_char_p * count, ctypes.c_size_t * count


def convert(reply: _Reply) -> Reply:
    """An rlite reply as an engine reply (bytes, int, None, list, ErrorReply)."""
    kind = reply.type
    if kind in (_STRING, _STATUS):
        return ctypes.string_at(reply.str, reply.len)
    if kind == _INTEGER:
        return reply.integer
    if kind == _NIL:
        return None
    if kind == _ARRAY:
        return [convert(reply.element[i].contents) for i in range(reply.elements)]
    return error_reply(ctypes.string_at(reply.str, reply.len))


def error_reply(raw: bytes) -> ErrorReply:
    """rlite's error message as an error reply."""
    message = raw.decode("utf-8", "replace")
    code = message.split(" ", 1)[0]
    # rlite leaves out Redis's "ERR " prefix on some errors (arity, unknown command)
    return ErrorReply(message if code.isupper() else f"ERR {message}")
