"""The ``walrus`` command: ``walrus tour`` and ``walrus shell`` (see ``--help``).

Embedded backends are a registry, :data:`BACKENDS`: a backend is offered
when its database class imports, so a new driver adds one
:func:`register_backend` line here and ``walrus tour --backend`` runs on it.
"""

from __future__ import annotations

import argparse
import code
import contextlib
import importlib
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

import walrus
from walrus.tour import run_tour

__all__ = ["BACKENDS", "EmbeddedBackend", "main", "register_backend"]

MEMORY = ":memory:"


@dataclass(frozen=True)
class EmbeddedBackend:
    """How to open an embedded backend for the tour.

    ``target`` is ``"module:Class"``; the class is called with ``path``:
    ``":memory:"``, a file name (created in a temporary directory), or
    nothing when ``path`` is None.
    """

    name: str
    target: str
    path: str | None
    description: str

    def load(self) -> Any:
        """The database class; ImportError when the backend is not installed."""
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def available(self) -> bool:
        """Whether the database class imports."""
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
        "rlite", "walrus.tusks.rlite:WalrusLite", "tour.rld", "a temporary rlite file"
    )
)
register_backend(
    EmbeddedBackend(
        "rlite-memory", "walrus.tusks.rlite:WalrusLite", MEMORY, "rlite in memory"
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


@contextlib.contextmanager
def _open_tour_database(args: argparse.Namespace) -> Iterator[tuple[Any, str]]:
    if args.url:
        server = walrus.Database.from_url(args.url)
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
                f"walrus tour: the {backend.name} backend is not installed ({exc}); "
                f"installed: {', '.join(_available())}"
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


def shell(args: argparse.Namespace) -> int:
    """An interactive Python prompt with ``db`` bound."""
    if args.url:
        db: Any = walrus.Database.from_url(args.url)
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
        prog="walrus", description="Pythonic objects over Redis and Redis-like engines."
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: ``walrus COMMAND [options]``."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except (redis.ConnectionError, OSError) as exc:  # no server, unusable file
        print(f"walrus {args.command}: {exc}", file=sys.stderr)
        return 1
    return result
