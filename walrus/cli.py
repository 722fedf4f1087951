"""The ``walrus`` command: ``tour``, ``shell``, ``install`` and ``--version``.

Embedded backends are a registry, :data:`BACKENDS`: a backend is offered
when its database class imports and its engine's package is installed, so a
new driver adds one :func:`register_backend` line here and
``walrus tour --backend`` runs on it. ``walrus install rlite vedis`` builds
the engines' packages on any supported Python (:mod:`walrus.install`).
"""

from __future__ import annotations

import argparse
import code
import contextlib
import importlib
import importlib.metadata
import platform
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

import walrus
from walrus.exceptions import EngineNotInstalled
from walrus.install import ENGINES, engine_installed, install_engines, require_engine
from walrus.tour import run_tour

__all__ = ["BACKENDS", "EmbeddedBackend", "main", "register_backend"]

MEMORY = ":memory:"


@dataclass(frozen=True)
class EmbeddedBackend:
    """How to open an embedded backend for the tour.

    ``target`` is ``"module:Class"``; the class is called with ``path``:
    ``":memory:"``, a file name (created in a temporary directory), or
    nothing when ``path`` is None. ``engine`` names the package it needs
    (a key of :data:`walrus.install.ENGINES`), if any.
    """

    name: str
    target: str
    path: str | None
    description: str
    engine: str | None = None

    def load(self) -> Any:
        """The database class; ImportError when the backend is not installed."""
        if self.engine is not None:
            require_engine(self.engine)
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def available(self) -> bool:
        """Whether the engine's package is installed and the class imports."""
        try:
            self.load()
        except ImportError:
            return False
        return True

    def open(self, scratch: Path) -> Any:
        factory = self.load()
        if self.path is None:
            return factory()
        return factory(self.path if self.path == MEMORY else str(scratch / self.path))


BACKENDS: dict[str, EmbeddedBackend] = {}


def register_backend(backend: EmbeddedBackend) -> None:
    """Offer an embedded backend to ``walrus tour --backend``."""
    BACKENDS[backend.name] = backend


register_backend(
    EmbeddedBackend(
        "rlite",
        "walrus.tusks.rlite:WalrusLite",
        "tour.rld",
        "a temporary rlite file",
        engine="rlite",
    )
)
register_backend(
    EmbeddedBackend(
        "rlite-memory",
        "walrus.tusks.rlite:WalrusLite",
        MEMORY,
        "rlite in memory",
        engine="rlite",
    )
)
register_backend(
    EmbeddedBackend(
        "memory", "walrus.drivers.memory:MemoryDatabase", None, "the memory engine"
    )
)
register_backend(
    EmbeddedBackend(
        "vedis",
        "walrus.tusks.vedisdb:WalrusVedis",
        "tour.vdb",
        "a temporary Vedis file",
        engine="vedis",
    )
)


def _safe_url(url: str) -> str:
    """``url`` with its password hidden, for printing."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _describe(db: Any, where: str) -> str:
    return f"{type(db).__name__} ({db.backend_name}), {where}"


def _open_url(url: str) -> Any:
    """A ``walrus.ClusterDatabase`` when the server at ``url`` runs in
    cluster mode (one ``INFO cluster`` on a plain connection), else a
    ``walrus.Database``."""
    probe = redis.Redis.from_url(url)
    try:
        clustered = probe.info("cluster").get("cluster_enabled") == 1
    finally:
        probe.close()
    if clustered:
        return walrus.ClusterDatabase.from_url(url)
    return walrus.Database.from_url(url)


@contextlib.contextmanager
def _open_tour_database(args: argparse.Namespace) -> Iterator[tuple[Any, str]]:
    if args.url:
        server = _open_url(args.url)
        try:
            yield server, _describe(server, _safe_url(args.url))
        finally:
            server.close()
        return
    backend = BACKENDS[args.backend]
    with tempfile.TemporaryDirectory(prefix="walrus-tour-") as scratch:
        try:
            db = backend.open(Path(scratch))
        except ImportError as exc:
            raise SystemExit(
                f"walrus tour: {exc}\nBackends installed here: "
                f"{', '.join(_available())} (walrus tour --backend NAME)"
            ) from None
        try:
            yield db, _describe(db, backend.description)
        finally:
            db.close()


def _available() -> list[str]:
    return [name for name, backend in BACKENDS.items() if backend.available()]


def tour(args: argparse.Namespace) -> int:
    """Run every tour section; 0 if all of them worked."""
    with _open_tour_database(args) as (db, description):
        if args.url and len(db) and not args.force:
            print(
                f"walrus tour: {_safe_url(args.url)} holds {len(db)} key(s). The "
                "tour shows every key and deletes the tour:* keys it writes; use an "
                "empty database (e.g. /15 at the end of the URL) or pass --force.",
                file=sys.stderr,
            )
            return 2
        print(f"walrus {walrus.__version__} tour: db is {description}")
        failures = run_tour(db)
    print(f"\nThe tour is over{f': {failures} section(s) failed' if failures else ''}.")
    return 1 if failures else 0


def install(args: argparse.Namespace) -> int:
    """Build and install the named engines' packages (see walrus.install)."""
    install_engines(args.engines, dry_run=args.dry_run)
    return 0


def version_text() -> str:
    """walrus's version, Python's, and each embedded engine's package."""
    engines = []
    for name, engine in ENGINES.items():
        found = "not installed"
        if engine_installed(name):
            try:
                found = f"{engine.module} {importlib.metadata.version(engine.module)}"
            except importlib.metadata.PackageNotFoundError:  # importable, no metadata
                found = engine.module
        engines.append(f"{name}: {found}")
    return (
        f"walrus {walrus.__version__} on Python {platform.python_version()} "
        f"({'; '.join(engines)})"
    )


def shell(args: argparse.Namespace) -> int:
    """An interactive Python prompt with ``db`` bound."""
    if args.url:
        db: Any = _open_url(args.url)
        db.ping()  # fail now, not at the first command typed
        where = _safe_url(args.url)
    else:
        from walrus.tusks.rlite import WalrusLite

        db = WalrusLite(args.file or MEMORY)
        where = f"file {args.file}" if args.file else "in memory (lost on exit)"
    if sys.stdin.isatty():
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
    banner = f"walrus {walrus.__version__} shell: db is {_describe(db, where)}"
    try:
        code.interact(banner=banner, local={"db": db, "walrus": walrus}, exitmsg="")
    finally:
        db.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="walrus",
        description="Pythonic objects over Redis and Redis-like engines.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # --version unwrapped
    )
    parser.add_argument(
        "--version",
        action="version",
        version=version_text(),
        help="show walrus's version (and Python's, and the engines') and exit",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tour_parser = commands.add_parser(
        "tour",
        help="a guided tour: runs every capability and shows what comes back",
        description="Walk through walrus on an embedded database (a temporary rlite "
        "file by default) or on a Redis server.",
    )
    where = tour_parser.add_mutually_exclusive_group()
    where.add_argument(
        "--url", help="a Redis/Valkey server, e.g. redis://localhost:6379/15"
    )
    where.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default="rlite",
        help="an embedded backend (default: rlite, a temporary file)",
    )
    tour_parser.add_argument(
        "--force",
        action="store_true",
        help="run on a server database that is not empty",
    )
    tour_parser.set_defaults(run=tour)

    shell_parser = commands.add_parser(
        "shell",
        help="a Python prompt with db bound to a database",
        description="An interactive Python prompt with `db` bound (rlite in memory by "
        "default).",
    )
    target = shell_parser.add_mutually_exclusive_group()
    target.add_argument(
        "--url", help="a Redis/Valkey server, e.g. redis://localhost:6379"
    )
    target.add_argument("--file", help="an rlite database file (created if missing)")
    shell_parser.set_defaults(run=shell)

    install_parser = commands.add_parser(
        "install",
        help="build and install the embedded engines (rlite, vedis) for this Python",
        description="Install the package of each named embedded engine into this "
        "Python's environment with pip, building it the way this Python needs: "
        "hirlite (rlite) needs the removed `imp` module on 3.12+, and vedis needs "
        "Cython 0.29 (3.11, 3.12) or a one-line directive for Cython 3 (3.13+).",
    )
    install_parser.add_argument("engines", nargs="+", choices=list(ENGINES))
    install_parser.add_argument(
        "--dry-run", action="store_true", help="print the steps, run nothing"
    )
    install_parser.set_defaults(run=install)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: ``walrus COMMAND [options]``."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except (redis.ConnectionError, OSError, EngineNotInstalled) as exc:
        print(f"walrus {args.command}: {exc}", file=sys.stderr)  # one line, no trace
        return 1
    except subprocess.CalledProcessError as exc:  # walrus install: a pip step
        command = " ".join(map(str, exc.cmd))
        print(
            f"walrus {args.command}: failed ({exc.returncode}): {command}",
            file=sys.stderr,
        )
        return 1
    return result
