"""The Vedis driver: the emulation engine over a Vedis file or memory.

Vedis's own Redis-like commands are not used (they differ from Redis in
most ways); every command runs in :mod:`walrus.drivers.emulation` over a
:class:`~walrus.drivers.emulation.vedisstore.VedisStore`, whose module doc
gives the storage encoding and commit policy. ``import vedis`` happens when
a database is opened, so the package stays an optional extra.

Users' own commands (walrus 0.9's ``@db.command('NAME')``) are Python
functions run atomically under the database lock with a :class:`VedisContext`
for string keys; they are not registered with Vedis (its registry is global
to the process and its argument protocol is lossy).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any

from walrus.drivers.embedded import (
    IN_PROCESS_CAPABILITIES,
    EmbeddedCore,
    EmbeddedDatabase,
)
from walrus.drivers.emulation import EmulationEngine
from walrus.drivers.emulation.vedisstore import VedisStore, vedis_reason
from walrus.drivers.protocol import Capability
from walrus.exceptions import (
    CommandError,
    CommandNameError,
    DatabaseOpenError,
    EngineError,
    WalrusError,
)
from walrus.scripts import TWINS

__all__ = ["VedisContext", "VedisDatabase"]

INSTALL_HINT = (
    "the Vedis backend needs the 'vedis' package: echo 'cython<3' > bc.txt; "
    "PIP_CONSTRAINT=bc.txt PIP_BUILD_CONSTRAINT=bc.txt pip install 'walrus[vedis]'"
)
MEMORY_PATHS = (None, "", ":memory:", ":mem:")


# Vedis allows one writer per file, so the databases a process opens on one
# file share one engine: absolute path -> (core, number of open databases).
_SHARED: dict[str, tuple[EmbeddedCore, int]] = {}
_SHARED_LOCK = threading.Lock()


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
        raise DatabaseOpenError(
            f"{target!r} cannot be used as a Vedis database: {vedis_reason(exc)}"
        ) from exc


def _open_core(path: str | None, commit_interval: float) -> EmbeddedCore:
    store = _open_vedis(path, commit_interval)
    capabilities = IN_PROCESS_CAPABILITIES | {Capability.STREAMS}
    if path not in MEMORY_PATHS:
        capabilities = capabilities | {Capability.PERSISTENT}
    name = "vedis-memory" if path in MEMORY_PATHS else "vedis-file"
    core = EmbeddedCore(VedisEngine(store, name, capabilities), TWINS)
    store.lock = core.lock
    return core


def _release(path: str | None, core: EmbeddedCore) -> bool:
    """One database lets go of ``core``; True if others still use it."""
    with _SHARED_LOCK:
        shared = _SHARED.get(path or "")
        if shared is not None and shared[0] is core:
            if shared[1] > 1:
                _SHARED[path or ""] = (core, shared[1] - 1)
                return True
            del _SHARED[path or ""]
        core.close()
        return False


class VedisEngine(EmulationEngine):
    """The emulation engine on a Vedis store; Vedis failures become EngineError."""

    store: VedisStore

    def run(self, args: list[bytes]) -> Any:
        try:
            return super().run(args)
        except Exception as exc:
            if isinstance(exc, WalrusError):
                raise
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
    uncommitted; 0 commits after every writing command (about 750/s here).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = ":memory:",
        decode_responses: bool = False,
        script_dir: str | None = None,
        commit_interval: float = 1.0,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
    ) -> None:
        raw = None if path is None else os.fspath(path)
        self._shared_path = None if raw in MEMORY_PATHS else os.path.abspath(str(raw))
        with _SHARED_LOCK:
            shared = _SHARED.get(self._shared_path or "")
            core = shared[0] if shared else _open_core(raw, commit_interval)
            if self._shared_path is not None:
                _SHARED[self._shared_path] = (core, shared[1] + 1 if shared else 1)
        self._custom: dict[str, Callable[..., Any]] = {}
        try:
            super().__init__(
                core,
                decode_responses=decode_responses,
                encoding=encoding,
                encoding_errors=encoding_errors,
                script_dir=script_dir,
            )
        except BaseException:
            _release(self._shared_path, core)
            raise

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
                with self._core.lock:
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

    def close(self) -> None:
        """Close this database; the file closes with the last one open on it."""
        core = getattr(self, "_core", None)
        if core is None or core.closed:
            return
        if _release(self._shared_path, core):
            self._core = EmbeddedCore(core.engine, core.twins)
            self._core.closed = True  # this handle only; the file stays open

    def delete_command(self, name: str) -> None:
        """Forget a custom command defined with :meth:`command`."""
        if self._custom.pop(name, None) is not None:
            delattr(self, name)
