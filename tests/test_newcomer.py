"""What a newcomer tripped over: the version, the plugin's usage error, the
tour's width, model messages and shapes, container reprs (issue 21)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from async_portal import model_base
from support import Backend
from test_pytest_plugin import plugin_is_installed

import walrus
from walrus.features.models import IntegerField, TextField
from walrus.tour import WIDTH, run_tour


def test_walrus_version(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "walrus", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(Path(walrus.__file__).resolve().parents[1])},
    )
    assert result.returncode == 0
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert result.stdout.startswith(f"walrus {walrus.__version__} on Python {version}")
    assert "rlite: hirlite 0.3" in result.stdout and "vedis: vedis" in result.stdout


def test_an_unknown_plugin_backend_is_one_usage_error(tmp_path: Path) -> None:
    (tmp_path / "test_app.py").write_text(
        "def test_one(walrus_db):\n    pass\n\ndef test_two(walrus_db):\n    pass\n"
    )
    plugin = [] if plugin_is_installed() else ["-p", "walrus.pytest_plugin"]
    options = ["-p", "no:cacheprovider", "-p", "no:valkey", "--walrus-backend=bogus"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *plugin, *options, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout
    assert result.stderr.count("unknown walrus test backend 'bogus'") == 1
    assert "test_one" not in result.stdout + result.stderr


def test_the_tour_fits_a_terminal(backend: Backend) -> None:
    """No line of the tour is wider than WIDTH; pub/sub needs no retry loop."""
    db = backend.open()
    db.flushdb()
    out = io.StringIO()
    try:
        assert run_tour(db, out) == 0, out.getvalue()
    finally:
        db.flushdb()
        db.close()
    text = out.getvalue()
    assert max(map(len, text.splitlines())) <= WIDTH
    if "pubsub" in {c.value for c in db.capabilities}:
        assert ">>> db.publish('tour:news', 'walrus says hello')\n1\n" in text
    assert "for attempt" not in text


@pytest.fixture
def pets(db: Any) -> Any:
    class Pet(model_base(db)):  # type: ignore[misc]
        __database__ = db
        __namespace__ = "newcomer"
        name = TextField(primary_key=True)
        age = IntegerField(index=True)

    for name, age in [("huey", 3), ("mickey", 3), ("zaizee", 2)]:
        Pet.create(name=name, age=age)
    return Pet


def test_model_get_says_how_many_rows_matched(pets: Any) -> None:
    assert pets.get(pets.age == 2).name == "zaizee"
    with pytest.raises(ValueError, match=r"^Got 2 or more results, expected 1\.$"):
        pets.get(pets.age == 3)
    with pytest.raises(ValueError, match=r"^Got 0 results, expected 1\.$"):
        pets.get(pets.age == 9)


def test_model_all_is_a_list_as_query_is(pets: Any) -> None:
    everyone = pets.all()
    assert isinstance(everyone, list) and isinstance(pets.query(), list)
    names = [p.name for p in everyone]
    assert [p.name for p in everyone] == names  # a second pass sees them too
    assert sorted(names) == ["huey", "mickey", "zaizee"]


def test_a_bytes_key_shows_as_bytes(db: Any) -> None:
    assert repr(db.Hash(b"\xff")) == "<Hash b'\\xff'>"
    assert repr(db.ZSet(b"scores")) == "<ZSet b'scores'>"
    assert repr(db.List("queue")) == "<List 'queue'>"
