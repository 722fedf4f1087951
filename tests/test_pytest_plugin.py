"""The pytest plugin walrus ships for testing users' applications."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from walrus.pytest_plugin import open_test_database

USER_TESTS = """
import asyncio


def test_one(walrus_db):
    walrus_db.Set("users").add("huey")
    assert walrus_db.Set("users").as_set() == {b"huey"}
    assert type(walrus_db).__name__ == EXPECTED


def test_each_test_starts_empty(walrus_db):
    assert walrus_db.dbsize() == 0
    walrus_db.set("left", "over")


def test_factory_opens_decoded_databases(walrus_db_factory):
    db = walrus_db_factory(decode_responses=True)
    db.set("k", "v")
    assert db.get("k") == "v"


def test_async_db_runs_in_the_tests_own_loop(walrus_async_db):
    async def scenario():
        async with walrus_async_db as db:
            assert await db.dbsize() == 0  # fresh, even on a server
            await db.Set("users").add("huey")
            assert await db.Set("users").as_set() == {b"huey"}

    asyncio.run(scenario())
    assert type(walrus_async_db).__name__ == ASYNC_EXPECTED


def test_async_factory_opens_decoded_databases(walrus_async_db_factory):
    db = walrus_async_db_factory(decode_responses=True)

    async def scenario():
        async with db:
            await db.set("k", "v")
            assert await db.get("k") == "v"

    asyncio.run(scenario())
"""


# the walrus.asyncio database each backend's walrus_async_db is
ASYNC_NAMES = {
    "MemoryDatabase": "AsyncMemoryDatabase",
    "WalrusLite": "AsyncRliteDatabase",
    "WalrusVedis": "AsyncVedisDatabase",
    "Database": "AsyncDatabase",
}


def plugin_is_installed() -> bool:
    """True where walrus is installed (tox): pytest finds the plugin itself."""
    plugins = importlib.metadata.entry_points(group="pytest11")
    return any(p.value == "walrus.pytest_plugin" for p in plugins)


def run_user_tests(
    tmp_path: Path, expected: str, *options: str, tests: str = USER_TESTS
) -> Any:
    names = f"EXPECTED = {expected!r}\nASYNC_EXPECTED = {ASYNC_NAMES[expected]!r}\n"
    (tmp_path / "test_app.py").write_text(names + tests)
    command = [sys.executable, "-m", "pytest", "-q"]
    if not plugin_is_installed():  # a source checkout: name the plugin
        command += ["-p", "walrus.pytest_plugin"]
    command += ["-p", "no:cacheprovider", "-p", "no:valkey", *options]
    return subprocess.run(
        [*command, str(tmp_path)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("backend", "expected"),
    [("memory", "MemoryDatabase"), ("rlite", "WalrusLite"), ("vedis", "WalrusVedis")],
)
def test_users_tests_get_a_fresh_database(
    tmp_path: Path, backend: str, expected: str
) -> None:
    result = run_user_tests(tmp_path, expected, f"--walrus-backend={backend}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def server_url(redis_db: Any) -> str:
    kwargs = redis_db.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db=9"
    return f"redis://{kwargs['host']}:{kwargs['port']}/9"


def test_users_tests_on_a_server(tmp_path: Path, redis_db: Any) -> None:
    url = server_url(redis_db)
    result = run_user_tests(tmp_path, "Database", f"--walrus-backend={url}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


LEFT_OPEN = """
import asyncio


def test_forgets_to_close(walrus_async_db):
    asyncio.run(walrus_async_db.set("k", "v"))
"""


def test_an_async_server_database_left_open_is_reported(
    tmp_path: Path, redis_db: Any
) -> None:
    url = server_url(redis_db)
    result = run_user_tests(
        tmp_path, "Database", f"--walrus-backend={url}", tests=LEFT_OPEN
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed, 1 error" in result.stdout
    assert "AsyncDatabase was left open when the test's event loop closed" in (
        result.stdout
    )


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown walrus test backend 'mongo'"):
        open_test_database("mongo")
