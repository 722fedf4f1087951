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
"""


def plugin_is_installed() -> bool:
    """True where walrus is installed (tox): pytest finds the plugin itself."""
    plugins = importlib.metadata.entry_points(group="pytest11")
    return any(p.value == "walrus.pytest_plugin" for p in plugins)


def run_user_tests(tmp_path: Path, expected: str, *options: str) -> Any:
    (tmp_path / "test_app.py").write_text(f"EXPECTED = {expected!r}\n{USER_TESTS}")
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
    assert "3 passed" in result.stdout


def test_users_tests_on_a_server(tmp_path: Path, redis_db: Any) -> None:
    kwargs = redis_db.connection_pool.connection_kwargs
    url = f"unix://{kwargs['path']}?db=9" if "path" in kwargs else None
    if url is None:
        url = f"redis://{kwargs['host']}:{kwargs['port']}/9"
    result = run_user_tests(tmp_path, "Database", f"--walrus-backend={url}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown walrus test backend 'mongo'"):
        open_test_database("mongo")
