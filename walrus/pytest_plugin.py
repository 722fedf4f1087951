"""pytest fixtures for testing applications that use walrus.

Installed with walrus as the pytest plugin ``walrus`` (nothing to configure)::

    def test_signup(walrus_db):
        app = make_app(database=walrus_db)   # your code takes a database
        app.signup('huey')
        assert walrus_db.Set('users').as_set() == {b'huey'}

``walrus_db`` is a fresh, empty database for each test, closed afterwards.
``walrus_db_factory(decode_responses=False)`` opens more (all closed
afterwards). The backend is the in-memory engine unless chosen with the
``--walrus-backend`` option or the ``WALRUS_TEST_BACKEND`` variable:
``memory``, ``rlite`` (a file in the test's ``tmp_path``), ``vedis`` (idem),
or a ``redis://`` URL, whose database is **flushed** before and after each
test: give tests a server or a database number of their own. An unknown
backend, or one whose engine is not installed, stops the run once, as a
usage error. :func:`open_test_database` does the same outside pytest.

``walrus_async_db`` and ``walrus_async_db_factory`` are the same with
:mod:`walrus.asyncio` databases, on the same backend. They need no async
test runner: a database is not bound to an event loop until its first
command, so a plain test runs its own loop::

    def test_signup(walrus_async_db):
        async def scenario():
            async with walrus_async_db as db:   # closed in this loop
                await db.Set('users').add('huey')
                assert await db.Set('users').as_set() == {b'huey'}

        asyncio.run(scenario())

(or an ``async def`` test under pytest-asyncio or anyio). Use one event
loop per test, and close the database in it (``async with``, or ``await
db.aclose()``): a server database's connections belong to the loop that
opened them, and once that loop is closed they cannot be closed cleanly, so
the fixture reports a server database left open as an error. It closes
what remains of the others after the test.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "open_async_test_database",
    "open_test_database",
    "walrus_async_db",
    "walrus_async_db_factory",
    "walrus_db",
    "walrus_db_factory",
]

DEFAULT_BACKEND = "memory"
BACKENDS = ("memory", "rlite", "vedis")
SERVER_SCHEMES = ("redis://", "rediss://", "unix://")


def check_backend(backend: str) -> None:
    """Raise :class:`~walrus.exceptions.InvalidValue` (or
    :class:`~walrus.exceptions.EngineNotInstalled`) unless ``backend`` opens."""
    if backend.startswith(SERVER_SCHEMES) or backend == "memory":
        return
    if backend not in BACKENDS:
        from walrus.exceptions import InvalidValue

        raise InvalidValue(
            f"unknown walrus test backend {backend!r}: "
            "use memory, rlite, vedis or a redis:// URL"
        )
    from walrus.install import require_engine

    require_engine(backend)


def open_test_database(
    backend: str = DEFAULT_BACKEND,
    directory: str | os.PathLike[str] | None = None,
    decode_responses: bool = False,
) -> Any:
    """An empty database on ``backend`` (a name or a ``redis://`` URL).

    ``rlite`` and ``vedis`` use a file in ``directory`` when given, else
    memory. A server's database is flushed: it must be one for tests only.
    """
    check_backend(backend)
    if backend.startswith(SERVER_SCHEMES):
        from walrus import Database

        db = Database.from_url(backend, decode_responses=decode_responses)
        db.flushdb()
        return db
    if backend == "memory":
        from walrus.drivers.memory import MemoryDatabase

        return MemoryDatabase(decode_responses=decode_responses)
    path = _engine_path(backend, directory)
    if backend == "rlite":
        from walrus.tusks.rlite import WalrusLite

        return WalrusLite(path, decode_responses=decode_responses)
    from walrus.tusks.vedisdb import WalrusVedis

    return WalrusVedis(path, decode_responses=decode_responses)


def open_async_test_database(
    backend: str = DEFAULT_BACKEND,
    directory: str | os.PathLike[str] | None = None,
    decode_responses: bool = False,
) -> Any:
    """:func:`open_test_database` with a :mod:`walrus.asyncio` database.

    It does no I/O (a server's database is flushed through a sync client
    first), so it is bound to no event loop until its first command.
    """
    check_backend(backend)
    from walrus import asyncio as aio

    if backend.startswith(SERVER_SCHEMES):
        open_test_database(backend).close()  # flushed
        return aio.AsyncDatabase.from_url(backend, decode_responses=decode_responses)
    if backend == "memory":
        return aio.AsyncMemoryDatabase(decode_responses=decode_responses)
    engine = aio.AsyncRliteDatabase if backend == "rlite" else aio.AsyncVedisDatabase
    return engine(_engine_path(backend, directory), decode_responses=decode_responses)


def _engine_path(backend: str, directory: str | os.PathLike[str] | None) -> str:
    """A new file in ``directory`` for rlite or Vedis, else memory."""
    if directory is None:
        return ":memory:"
    suffix = ".rld" if backend == "rlite" else ".vdb"
    return str(Path(directory, f"walrus-test-{os.urandom(4).hex()}{suffix}"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--walrus-backend",
        default=None,
        help="backend of the walrus_db fixture: memory (default), rlite, vedis "
        "or a redis:// URL (flushed before and after each test); "
        "also WALRUS_TEST_BACKEND",
    )


def _chosen_backend(config: pytest.Config) -> str:
    chosen: str | None = config.getoption("--walrus-backend")
    return chosen or os.environ.get("WALRUS_TEST_BACKEND") or DEFAULT_BACKEND


def pytest_configure(config: pytest.Config) -> None:
    """Check the chosen backend once: a bad one is a usage error, not a failure
    of every test that uses ``walrus_db``."""
    from walrus.exceptions import WalrusError

    try:
        check_backend(_chosen_backend(config))
    except (WalrusError, ImportError) as exc:
        raise pytest.UsageError(f"--walrus-backend: {exc}") from None


@pytest.fixture
def walrus_db_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., Any]]:
    """``open(decode_responses=False)``: empty databases, closed after the test."""
    backend = _chosen_backend(request.config)
    opened: list[Any] = []

    def open_database(decode_responses: bool = False) -> Any:
        db = open_test_database(backend, tmp_path, decode_responses)
        opened.append(db)
        return db

    yield open_database
    from walrus import Database

    for db in opened:
        if isinstance(db, Database):  # a server: leave it empty
            db.flushdb()
        db.close()


@pytest.fixture
def walrus_db(walrus_db_factory: Callable[..., Any]) -> Any:
    """A fresh, empty walrus database (bytes replies)."""
    return walrus_db_factory()


@pytest.fixture
def walrus_async_db_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., Any]]:
    """``open(decode_responses=False)``: empty :mod:`walrus.asyncio`
    databases, closed (a server's flushed) after the test."""
    backend = _chosen_backend(request.config)
    opened: list[Any] = []

    def open_database(decode_responses: bool = False) -> Any:
        db = open_async_test_database(backend, tmp_path, decode_responses)
        opened.append(db)
        return db

    yield open_database
    try:
        for db in opened:
            _close_async(db)
    finally:
        if opened and backend.startswith(SERVER_SCHEMES):  # leave it empty
            open_test_database(backend).close()


@pytest.fixture
def walrus_async_db(walrus_async_db_factory: Callable[..., Any]) -> Any:
    """A fresh, empty :mod:`walrus.asyncio` database (bytes replies)."""
    return walrus_async_db_factory()


def _close_async(db: Any) -> None:
    """Close ``db`` after the test (closing twice is harmless)."""
    try:
        asyncio.run(db.aclose())
    except RuntimeError as exc:  # its connections belong to a closed loop
        pytest.fail(
            f"walrus_async_db: {type(db).__name__} was left open when the test's "
            f"event loop closed ({exc}): close it in that loop "
            "(async with db: ..., or await db.aclose())",
            pytrace=False,
        )
