"""The rlite driver: an embedded Redis engine from the ``hirlite`` package.

Stock hirlite's Python wrapper kills the interpreter on every error reply
on Python 3.10+ (engines.md §2.2). This driver never uses that wrapper: it
calls the rlite C library inside hirlite's extension module directly
(``rliteConnect``, ``rliteCommandArgv``, ``rliteFreeReplyObject``; through
walrus's compiled helpers, or ``ctypes``: :mod:`.native`), so an
error reply is an ordinary value. The engine's remaining native crash
triggers are never sent (:mod:`walrus.drivers.rlite.gaps` replaces them), the
path is checked before rlite opens it, and commands rlite lacks are filled in
by that module too. One lock (in :class:`~walrus.drivers.embedded.core.EmbeddedCore`)
serializes the handle between threads. On a file, each operation is a unit
locked against other processes and journaled against crashes
(:mod:`walrus.drivers.rlite.journal`), and the file is checked before rlite
reads it (:mod:`walrus.drivers.rlite.file`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from typing import Any

from walrus.drivers.embedded.core import IN_PROCESS_CAPABILITIES, EmbeddedCore
from walrus.drivers.embedded.database import EmbeddedDatabase
from walrus.drivers.embedded.shared import shared_core
from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.emulation.engine import now_ms
from walrus.drivers.protocol import Capability
from walrus.drivers.rlite import collection_gaps as _collection_gaps  # noqa: F401
from walrus.drivers.rlite import streams as _streams  # noqa: F401
from walrus.drivers.rlite.emulated import native_in_multi, quick, route
from walrus.drivers.rlite.file import create, deep_check, open_main, resolve
from walrus.drivers.rlite.gaps import WRONGTYPE, run_guarded
from walrus.drivers.rlite.journal import FileGuard, snapshot, wal_path
from walrus.drivers.rlite.known import KnownKeys
from walrus.drivers.rlite.native import (
    WRITE_HOOK,
    Context,
    layout,
    library,
    write_pages,
)
from walrus.drivers.rlite.scan_gaps import CursorTable
from walrus.drivers.rlite.shapes import may_expire
from walrus.exceptions import DatabaseOpenError, EngineError
from walrus.scripts import TWINS

__all__ = ["RliteDatabase", "RliteEngine"]

MEMORY = ":memory:"
_NOTHING = contextlib.nullcontext()
READ_ONLY = ErrorReply("READONLY You can't write against a read only database.")


class RliteEngine:
    """One rlite handle (``:memory:`` or a file), spoken to through :mod:`.native`.

    On a file every operation is a unit (:meth:`exclusive`): locked against
    other processes and journaled so that ``kill -9`` never leaves it half
    done (:mod:`walrus.drivers.rlite.journal`). ``sync``: also flush to the
    disk before a writing unit returns. ``check``: rlite's own walk of the
    whole file, in a child process, at open (True), after rolling back a
    unit that died or finding rlite's log of a crashed writer (None), or
    never (False); an existing file that no walrus process has checked
    since its companion file appeared is checked at open too (None: the
    default). ``read_only``: serve a private snapshot of the file, taken
    (and checked) at open; writes answer READONLY.
    """

    name = "rlite"

    def __init__(
        self,
        path: str = MEMORY,
        *,
        sync: bool = False,
        check: bool | None = None,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self.cursors = CursorTable()
        self.selected = 0  # the numbered database rlite has selected
        # a key may have a TTL: a file may hold some; in memory, from the first
        # command that can set one (collection writes then keep TTLs: gaps.send)
        self.expiring = path != MEMORY
        self.known = KnownKeys()  # on a file: what checks learned (see .known)
        self.stream_engine: Any = None  # streams, emulated (rlite_streams)
        self.capabilities = IN_PROCESS_CAPABILITIES | {
            Capability.LUA,
            Capability.STREAMS,
        }
        lib = library()
        self._call = lib.call
        self._typed = lib.typed
        self._many = lib.many
        self._guard: FileGuard | None = None
        self._snapshot: str | None = None  # read-only: the copy's directory
        self._handle: int | None = None
        self._wrote = False  # rlite called the write hook during this command
        self._hook_error: BaseException | None = None
        self._hook = WRITE_HOOK(self._on_write)  # kept alive while rlite may call it
        if path == MEMORY:
            self._handle = self._connect(MEMORY)
        else:
            self._open_file(path, sync, check)
            if not read_only:
                self.capabilities |= {
                    Capability.PERSISTENT,
                    Capability.SHARED_ACROSS_PROCESSES,
                }

    def _connect(self, where: str) -> int:
        handle: int | None = library().connect(os.fsencode(where), 0)
        if not handle:
            raise DatabaseOpenError(f"rlite cannot open {self.path!r}")
        self._context = Context.from_address(handle)
        return handle

    def _open_file(self, path: str, sync: bool, check: bool | None) -> None:
        """Check, create or copy the file, recover it, then connect (see the
        class doc). Raises DatabaseOpenError (CorruptDatabase) with the reason."""
        where = resolve(path)
        if self.read_only:
            source, _ = open_main(where, writable=False)
            try:
                self._snapshot = tempfile.mkdtemp(prefix="walrus-rlite-read-only-")
                where = os.path.join(self._snapshot, os.path.basename(where))
                snapshot(resolve(path), source, where)
            except BaseException:
                self.close()
                raise
            finally:
                os.close(source)
        try:
            self._guard = self._guarded(where, sync, check)
        except BaseException:
            self.close()
            raise

    def _guarded(self, where: str, sync: bool, check: bool | None) -> FileGuard:
        """Open the file's guard, connect under it and install the write hook."""
        lib = library()
        existed = self.read_only or os.path.exists(where)
        if not existed:
            create(where, lib.touch, sync)
        main, info = open_main(where, writable=True)
        crashed_writer = os.path.exists(wal_path(where))

        def walk() -> None:  # after rolling back a unit that died
            if check is not False:
                deep_check(where, lib.path)
                guard.companion.mark_checked(guard.inode)

        try:
            mode = stat.S_IMODE(info.st_mode) & 0o666
            guard = FileGuard(where, main, mode, sync, walk, self.known.forget)
        except BaseException:
            os.close(main)
            raise
        self._guard = guard  # closed by close() if what follows fails
        with guard.unit(allow_empty=True):
            fresh = not existed or guard.read_header(allow_empty=True) is None
            self._handle = self._connect(where)
            header = guard.read_header()
            if header is None or layout(self._context) != (
                header.page_size,
                header.number_of_pages,
            ):
                raise EngineError(
                    "this build of hirlite is not the rlite 0.3 walrus knows: "
                    "its writes cannot be journaled"
                )
            companion, inode = guard.companion, guard.inode
            if fresh:
                companion.mark_checked(inode)
            elif check or (
                check is None and (crashed_writer or not companion.checked(inode))
            ):
                deep_check(where, lib.path)
                companion.mark_checked(inode)
            hook = ctypes.cast(self._hook, ctypes.c_void_p)
            self._context.writeCommand = hook.value
        return guard

    def _on_write(self, dbid: int, argc: int, argv: Any, lengths: Any) -> None:
        """rlite's write hook: a command is about to commit ``write_pages``."""
        self._wrote = True
        try:
            assert self._guard is not None  # installed with the guard only
            self._guard.before_commit(write_pages(self._context))
        except BaseException as exc:  # ctypes cannot let it through rlite
            self._hook_error = exc

    def raw(self, args: Command, check: tuple[bytes, int, int] | None = None) -> Reply:
        """Send one command to rlite as it is (the caller checked it is safe).

        ``check``: ``(kind, first, stop)``, send it only if each key
        ``args[first:stop]`` is missing or of type ``kind``, else answer
        WRONGTYPE (rlite crashes on some commands over a key of another
        type); the check and the command in one native call. On a file, a
        command sent outside :meth:`exclusive` is a unit of its own.
        """
        handle = self._handle
        if handle is None:
            raise EngineError("the rlite database is closed")
        if not self.expiring and may_expire(args):
            self.expiring = True
        if self._guard is None:  # in memory: no unit to hold, no write hook
            if check is None:
                return self._call(handle, args)
            return self._typed(handle, args, *check, WRONGTYPE)
        known = self.known
        known.before(args)
        if check is not None:
            kind, first, stop = check
            keys = args[first:stop]
            if known.typed(keys, kind):
                check = None  # checked since, and nothing wrote
        if self._guard.active:
            reply = self._send(args, check)
        else:
            with self._guard.unit():
                reply = self._send(args, check)
        if check is not None and reply is not WRONGTYPE:
            known.of_type(keys, kind)
        return reply

    def pttl_before_write(self, key: bytes) -> Reply:
        """PTTL of ``key``, which a write rlite would make drops (the TTL is
        then set again: ``gaps.send``). On a file, a key seen without a TTL
        answers -1 without asking rlite while nothing since could have given
        it one (see :mod:`.known`)."""
        if key in self.known.without_ttl:
            return -1
        ttl = self.raw([b"PTTL", key])
        if self._guard is not None and (ttl == -1 or ttl == -2):
            self.known.no_ttl(key)  # missing (-2): the write makes it, without
        return ttl

    def integer_of(self, key: bytes) -> int | None:
        """The integer this engine's last INCR (or DECR, INCRBY, DECRBY) of
        ``key`` left, while no other command may have changed it since (on a
        file; None otherwise, see :mod:`.known`): the INCR gap's check of the
        value then needs no GET unless the increment of this value would
        overflow. (A key that expired since holds 0 to rlite: no step the
        routing lets through, under 10**18, overflows from there.)"""
        return self.known.integers.get(key)

    def incremented(self, key: bytes, value: int) -> None:
        """An INCR of ``key`` left ``value`` (remembered on a file)."""
        if self._guard is not None:
            self.known.integer(key, value)

    def known_keys(self) -> frozenset[bytes] | None:
        """Every key of the selected database, while a listing since the last
        write found none with a TTL (on a file; None otherwise, see
        :mod:`.known`): rlite's KEYS would list the same keys, all live."""
        return self.known.keys

    def listed_without_ttl(self, keys: list[bytes]) -> None:
        """``keys`` is every key of the selected database, none with a TTL
        (remembered on a file)."""
        if self._guard is not None:
            self.known.listed(keys)

    def raw_many(self, commands: list[Command]) -> list[Reply]:
        """:meth:`raw` for each command, in order (in memory, one native call)."""
        handle = self._handle
        if self._guard is not None or handle is None:
            return [self.raw(command) for command in commands]
        if not self.expiring and any(may_expire(c) for c in commands):
            self.expiring = True
        return self._many(handle, commands)

    def _send(self, args: Command, check: tuple[bytes, int, int] | None) -> Reply:
        """Send a command to rlite on a file, inside a unit: a write is
        journaled first (the write hook), and refused when read-only."""
        handle = self._handle
        if handle is None:  # closed by another thread: never give rlite NULL
            raise EngineError("the rlite database is closed")
        self._wrote, self._hook_error = False, None
        if check is None:
            reply = self._call(handle, args)
        else:
            reply = self._typed(handle, args, *check, WRONGTYPE)
        if self._hook_error is not None:
            raise EngineError(
                f"rlite wrote {args[0]!r} but walrus could not journal it first "
                f"(a crash now could leave the write half done): {self._hook_error}"
            ) from self._hook_error
        if self._wrote and self.read_only and self._guard is not None:
            self._guard.rollback()
            return READ_ONLY
        return reply

    def digest(self, key: bytes) -> Reply:
        """What identifies ``key``'s value and deadline now (DUMP, native)."""
        ttl = self.raw([b"PTTL", key])
        deadline = None if not isinstance(ttl, int) or ttl < 0 else now_ms() + ttl
        return self.raw([b"DUMP", key]), deadline // 10 if deadline else deadline

    def select(self, index: int) -> None:
        """Switch to numbered database ``index`` (rlite has 16, as Redis)."""
        self.raw([b"SELECT", str(index).encode()])
        self.selected = index

    def execute(self, args: Command) -> Reply:
        if not args:
            return ErrorReply("ERR empty command")
        return route(self, args)

    def quick(self, name: str) -> Callable[[Command], Reply]:
        """How the core runs plain command ``name`` directly (see
        ``EmbeddedCore.fast``): as :meth:`execute` does, with what depends on
        the name decided once; in memory a native command is one C call."""
        handle = self._handle if self._guard is None else None
        run: Callable[[Command], Reply] = quick(self, name.encode(), handle)
        return run

    def execute_many(self, commands: list[Command], atomic: bool) -> list[Reply]:
        """Run a pipeline; in one rlite MULTI/EXEC when ``atomic`` and every
        command is native, else command by command holding the file lock
        (atomic for other processes either way)."""
        if not atomic or not all(native_in_multi(c) for c in commands):
            with self.exclusive():
                return [route(self, c) for c in commands]
        self.raw([b"MULTI"])
        queued = [run_guarded(self, c) for c in commands]
        results = self.raw([b"EXEC"])
        if isinstance(results, list) and len(results) == len(commands):
            return results
        # EXECABORT: a command was refused while queueing; nothing ran
        return [q if isinstance(q, ErrorReply) else results for q in queued]

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """One unit: hold the file against other processes, journal its writes.

        A walrus operation of several rlite commands (a pipeline, a named
        operation's twin, a Lua script, a gap the driver emulates) runs inside
        one, so other processes see it whole or not at all, and a process
        killed inside it leaves nothing half-applied (the next user of the
        file rolls it back). Re-entrant; a no-op in memory. Costs about six
        system calls, plus the journal's writes (see rlite_journal).
        """
        if self._guard is None:
            return _NOTHING
        return self._guard.unit()

    def close(self) -> None:
        """Close the handle; the companion file goes with the last process."""
        if self._handle is not None:
            self._context.writeCommand = None
            library().free(self._handle)
            self._handle = None
        guard, self._guard = self._guard, None
        try:
            if guard is not None:
                guard.close()
        finally:
            if self._snapshot is not None:
                shutil.rmtree(self._snapshot, ignore_errors=True)
                self._snapshot = None


class RliteDatabase(EmbeddedDatabase):
    """A walrus database on rlite: ``':memory:'`` (or None) or a file path.

    It has redis-py's command methods, walrus's extras and every feature
    factory, like ``walrus.Database``. Threads may share one database, and
    processes one file: each operation is atomic and isolated across them and
    survives ``kill -9`` once it returned. ``sync=True`` also makes it survive
    a power loss (about 3 disk flushes per write); ``read_only=True`` reads a
    snapshot of a file this process may not write (taken at open; writes
    raise ``ReadOnlyError``); ``check=True`` walks the whole file in a child
    process at open (default: only after a crash). See docs/drivers.md.
    """

    url_scheme = "rlite"

    @classmethod
    def _named_engine(cls, options: dict[str, Any]) -> Callable[[], EmbeddedCore]:
        return lambda: EmbeddedCore(RliteEngine(MEMORY), TWINS)

    def _attached(self) -> None:
        self.path = MEMORY

    def __init__(
        self,
        path: str | os.PathLike[str] | None = MEMORY,
        *,
        sync: bool = False,
        check: bool | None = None,
        read_only: bool = False,
        **kwargs: Any,
    ) -> None:
        where = MEMORY if path is None or path == MEMORY else os.fspath(path)

        def opener() -> EmbeddedCore:
            engine = RliteEngine(where, sync=sync, check=check, read_only=read_only)
            return EmbeddedCore(engine, TWINS)

        if where == MEMORY or read_only:
            core = opener()
        else:  # every database of this process on one file shares its engine
            mode = "sync" if sync else "rlite"
            core = shared_core(f"{mode}:{os.path.realpath(where)}", opener)
        super().__init__(core, **kwargs)
        self.path = where
