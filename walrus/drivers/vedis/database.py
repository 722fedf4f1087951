"""The Vedis driver: the emulation engine over a Vedis file or memory.

Vedis's own Redis-like commands are not used (they differ from Redis in
most ways); every command runs in :mod:`walrus.drivers.emulation` over a
:class:`~walrus.drivers.vedis.store.VedisStore`, whose module doc
gives the storage encoding and commit policy. ``import vedis`` happens when
a database is opened, so the package stays an optional extra.

Users' own commands (walrus 0.9's ``@db.command('NAME')``) are Python
functions run atomically under the database lock with a :class:`VedisContext`
for string keys; they are not registered with Vedis (its registry is global
to the process and its argument protocol is lossy).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import stat
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from walrus.drivers.embedded.core import IN_PROCESS_CAPABILITIES, EmbeddedCore
from walrus.drivers.embedded.database import EmbeddedDatabase
from walrus.drivers.embedded.shared import shared_core
from walrus.drivers.emulation import EmulationEngine
from walrus.drivers.protocol import Capability
from walrus.drivers.vedis.store import VedisStore, vedis_reason
from walrus.exceptions import (
    CommandError,
    CommandNameError,
    DatabaseOpenError,
    EngineError,
    WalrusError,
)
from walrus.scripts import TWINS

__all__ = ["VedisContext", "VedisDatabase", "open_core"]

INSTALL_HINT = (
    "the Vedis backend needs the 'vedis' package: echo 'cython<3' > bc.txt; "
    "PIP_CONSTRAINT=bc.txt PIP_BUILD_CONSTRAINT=bc.txt pip install 'walrus[vedis]'"
)
MEMORY_PATHS = (None, "", ":memory:", ":mem:")
_FORKS = [0]  # fork()s this process came out of (cheaper to check than getpid)


def _forked() -> None:
    _FORKS[0] += 1


os.register_at_fork(after_in_child=_forked)


def _open_vedis(path: str | None, commit_interval: float) -> VedisStore:
    try:
        import vedis
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    in_memory = path in MEMORY_PATHS
    target = ":mem:" if in_memory else os.fspath(path or "")
    try:
        handle = vedis.Vedis(target)
    except Exception as exc:  # Vedis raises bare Exception/OSError
        raise DatabaseOpenError(
            f"cannot open Vedis database {target!r}: {exc}"
        ) from exc
    try:
        return VedisStore(handle, commit_interval, persistent=not in_memory)
    except Exception as exc:
        handle.close()
        if isinstance(exc, DatabaseOpenError):  # a damaged or unknown walrus file
            raise
        raise DatabaseOpenError(
            f"{target!r} cannot be used as a Vedis database: {vedis_reason(exc)}"
        ) from exc


def _claim(path: str) -> int:
    """Open the file at ``path`` for this process alone, creating it empty if
    it does not exist (Vedis takes an empty file as a new database).

    Vedis allows one process per file: a second one used to make the first
    one's writes fail or vanish, or crash it. So the file is locked
    (``flock``, released when the process closes it or dies) and a second
    process gets :class:`DatabaseOpenError`. Also refused with the reason: a
    missing directory, a directory, a device file, a read-only directory
    (Vedis writes its journal beside the file) or file.
    """
    shown = repr(path)
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise DatabaseOpenError(f"cannot open Vedis database {shown}: a directory")
    if not os.path.isdir(directory):
        raise DatabaseOpenError(f"cannot open Vedis database {shown}: no directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DatabaseOpenError(
            f"cannot open Vedis database {shown}: its directory is read-only "
            "(Vedis writes a journal beside the file)"
        )
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        denied = exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
        reason = "permission denied" if denied else (exc.strerror or str(exc))
        raise DatabaseOpenError(
            f"cannot open Vedis database {shown}: {reason}"
        ) from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise DatabaseOpenError(
                f"cannot open Vedis database {shown}: not a regular file"
            )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseOpenError(
                f"cannot open Vedis database {shown}: another process has it open "
                "(Vedis allows one process per file)"
            ) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_core(path: str | None, commit_interval: float) -> EmbeddedCore:
    """An engine on a Vedis file (or in memory for None/":memory:")."""
    owner = None if path in MEMORY_PATHS else _claim(os.fspath(path or ""))
    try:
        store = _open_vedis(path, commit_interval)
    except BaseException:
        if owner is not None:
            os.close(owner)
        raise
    capabilities = IN_PROCESS_CAPABILITIES | {Capability.STREAMS}
    if path not in MEMORY_PATHS:
        capabilities = capabilities | {Capability.PERSISTENT}
    name = "vedis-memory" if path in MEMORY_PATHS else "vedis-file"
    core = EmbeddedCore(VedisEngine(store, name, capabilities, owner), TWINS)
    store.lock = core.lock
    return core


class VedisEngine(EmulationEngine):
    """The emulation engine on a Vedis store; Vedis failures become EngineError.

    Every operation (a command, a pipeline, a named operation, a script, a
    custom command) is one unit: its writes reach the file in one Vedis
    commit when it ends (when ``commit_interval`` says so), so a crash never
    leaves an operation half written. ``owner``: the locked file descriptor
    that keeps other processes out (:func:`_claim`), closed with the engine.
    """

    store: VedisStore

    def __init__(
        self,
        store: VedisStore,
        name: str,
        capabilities: frozenset[Capability],
        owner: int | None = None,
    ) -> None:
        super().__init__(store, name, capabilities)
        self._owner = owner
        self._pid = os.getpid()
        self._forks = _FORKS[0]
        self._depth = 0

    def execute(self, args: list[bytes]) -> Any:
        return self.run(args) if self._depth else super().execute(args)

    def quick(self, name: str) -> Callable[[list[bytes]], Any] | None:
        """How the core runs command ``name`` directly: one unit, as
        :meth:`execute` inside :meth:`exclusive`, the handler looked up once."""
        direct = self.direct(name)
        if direct is None:
            return None

        def run(args: list[bytes]) -> Any:
            if _FORKS[0] != self._forks:
                with self.exclusive():  # refuses a database opened before fork()
                    return self.execute(args)
            if self._depth:  # a command inside a unit (a named operation's)
                return self.run(args)
            try:
                reply = direct(args)
            except Exception as exc:
                self._failed(args, exc)
            self.store.flush()
            return reply

        return run

    def execute_many(self, commands: list[list[bytes]], atomic: bool) -> list[Any]:
        if self._depth:
            return [self.run(args) for args in commands]
        return super().execute_many(commands, atomic)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:  # type: ignore[override]
        """One unit: commit (per ``commit_interval``) only when it ends."""
        if os.getpid() != self._pid:
            raise EngineError(
                "this Vedis database was opened before fork(), in the parent "
                "process: open databases after fork()"
            )
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if not self._depth:
                self.store.flush()

    def close(self) -> None:
        """Commit what is pending and close; raises if the commit fails."""
        try:
            super().close()
        finally:
            if self._owner is not None:
                os.close(self._owner)
                self._owner = None

    def run(self, args: list[bytes]) -> Any:
        try:
            return super().run(args)
        except Exception as exc:
            self._failed(args, exc)

    def _failed(self, args: list[bytes], exc: Exception) -> NoReturn:
        """Vedis failed inside a command: forget what is cached, raise."""
        if isinstance(exc, WalrusError):
            raise exc
        self.store.reload()
        message = f"Vedis failed while running {args[0]!r}: {vedis_reason(exc)}"
        raise EngineError(message) from exc


class VedisContext:
    """String-key access for a custom command, inside the database lock.

    Values read are bytes (str when the database decodes responses); a
    missing key reads as ``None``. Writes made through the context are undone
    if the command raises.
    """

    def __init__(self, db: VedisDatabase) -> None:
        self._db = db
        self._undo: list[tuple[bytes, Any, Any]] = []

    def _call(self, *args: Any) -> Any:
        return self._db._core.call(*self._db.pack(args))

    def _remember(self, key: Any) -> None:
        packed = self._db.pack([key])[0]
        self._undo.append((packed, self._call("GET", key), self._call("PTTL", key)))

    def rollback(self) -> None:
        """Restore every key the context wrote, newest write first."""
        for key, value, ttl in reversed(self._undo):
            if value is None:
                self._call("DEL", key)
            elif ttl > 0:
                self._call("SET", key, value, "PX", ttl)
            else:
                self._call("SET", key, value)
        self._undo.clear()

    def fetch(self, key: Any) -> Any:
        value = self._call("GET", key)
        encoder: Any = self._db.get_encoder()  # decodes when decode_responses is on
        return encoder.decode(value) if value is not None else None

    def store(self, key: Any, value: Any) -> bool:
        self._remember(key)
        self._call("SET", key, value)
        return True

    def delete(self, key: Any) -> bool:
        self._remember(key)
        return bool(self._call("DEL", key))

    def exists(self, key: Any) -> bool:
        return bool(self._call("EXISTS", key))

    def append(self, key: Any, value: Any) -> int:
        self._remember(key)
        return int(self._call("APPEND", key, value))

    __getitem__ = fetch
    __contains__ = exists

    def __setitem__(self, key: Any, value: Any) -> None:
        self.store(key, value)

    def __delitem__(self, key: Any) -> None:
        self.delete(key)


class VedisDatabase(EmbeddedDatabase):
    """A walrus database on Vedis: ``VedisDatabase(':memory:')`` or a file path.

    ``commit_interval`` (seconds) bounds how long a write may stay
    uncommitted. With the default 1.0, a crash (``kill -9``, power loss)
    loses the writes of the last second; ``close()`` commits them (or
    raises). 0 commits when each operation ends (about 750 writes/s here):
    nothing acknowledged is lost. Either way an operation (a pipeline, a
    model save, a named operation) is committed whole or not at all. One
    process at a time may open a file: another gets ``DatabaseOpenError``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = ":memory:",
        decode_responses: bool = False,
        script_dir: str | None = None,
        commit_interval: float = 1.0,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        db: int = 0,
    ) -> None:
        raw = None if path is None else os.fspath(path)
        if raw in MEMORY_PATHS:
            core = open_core(raw, commit_interval)
        else:  # one writer per file: every database of this process shares it
            core = shared_core(
                f"vedis:{os.path.realpath(str(raw))}",
                lambda: open_core(raw, commit_interval),
            )
        self._custom: dict[str, Callable[..., Any]] = {}
        super().__init__(
            core,
            db=db,
            decode_responses=decode_responses,
            encoding=encoding,
            encoding_errors=encoding_errors,
            script_dir=script_dir,
        )

    # walrus 0.9's documented decorator replaces redis-py's COMMAND method.
    def command(  # type: ignore[override]
        self, name: str
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: make ``fn(context, *args)`` callable as ``db.NAME(*args)``.

        The function runs atomically under the database lock. A name that is
        already an attribute of the database (``get``, ``hset``, ``Hash``...)
        is refused; ``SUNION`` is fine because redis-py's method is ``sunion``.
        """
        if name in self._custom or hasattr(type(self), name) or name in vars(self):
            raise CommandNameError(
                f"cannot define command {name!r}: the database already has {name!r}"
            )

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(fn)
            def run(*args: Any) -> Any:
                with self._core.lock, self._core.engine.exclusive():
                    context = VedisContext(self)
                    try:
                        return fn(context, *args)
                    except Exception as exc:
                        context.rollback()
                        if isinstance(exc, WalrusError):
                            raise
                        raise CommandError(
                            f"custom command {name!r} failed: {exc!r}"
                        ) from exc

            self._custom[name] = run
            setattr(self, name, run)
            return fn

        return decorator

    url_scheme = "vedis"

    @classmethod
    def _named_engine(cls, options: dict[str, Any]) -> Callable[[], EmbeddedCore]:
        interval = options.pop("commit_interval", 1.0)
        return lambda: open_core(None, interval)

    def _attached(self) -> None:
        self._custom = {}

    def delete_command(self, name: str) -> None:
        """Forget a custom command defined with :meth:`command`."""
        if self._custom.pop(name, None) is not None:
            delattr(self, name)
