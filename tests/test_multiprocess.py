"""Several processes on one file: isolation, exact counters, fencing tokens,
the companion file's life, and the journal rolling back a unit that died.

The long profile (``WALRUS_FAULTS_LONG=1``) runs the isolation readers for
10 seconds instead of 2.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import CHILD_ENV

from walrus import DatabaseOpenError
from walrus.drivers.rlite.journal import SUFFIX
from walrus.tusks.rlite import WalrusLite
from walrus.tusks.vedisdb import WalrusVedis

CHILD = Path(__file__).with_name("fault_child.py")
SECONDS = 10.0 if os.environ.get("WALRUS_FAULTS_LONG") else 2.0


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CHILD_ENV,
    )


def _result(child: subprocess.Popen[str]) -> dict[str, int]:
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, f"exit {child.returncode}\n{err[-3000:]}"
    result: dict[str, int] = json.loads(out.splitlines()[-1])
    return result


@pytest.mark.parametrize("kind", ["pipeline", "atomic", "named"])
def test_readers_never_see_a_write_half_done(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "shared.rld"
    WalrusLite(path).close()
    writer = _spawn("writer", "rlite", path, kind, SECONDS + 1)
    readers = [_spawn("reader", "rlite", path, SECONDS) for _ in range(2)]
    seen = [_result(r) for r in readers]
    writes = _result(writer)["writes"]
    reads = sum(r["reads"] for r in seen)
    assert writes > 20 and reads > 20, (writes, seen)
    assert sum(r["torn"] for r in seen) == 0, seen
    if os.environ.get("WALRUS_FAULTS_LONG"):
        print(f"\n{kind}: {writes} writes, {reads} reads, 0 torn")


def test_counters_are_exact_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "count.rld"
    WalrusLite(path).close()
    children = [_spawn("count", "rlite", path, 150) for _ in range(3)]
    for child in children:
        _result(child)
    db = WalrusLite(path)
    assert int(db.get("plain")) == 450
    assert db.counter("exact").value() == 450
    db.close()


def test_fencing_tokens_increase_strictly_across_processes(tmp_path: Path) -> None:
    path, tokens = tmp_path / "lock.rld", tmp_path / "tokens"
    WalrusLite(path).close()
    children = [_spawn("lock", "rlite", path, 25, tokens) for _ in range(3)]
    for child in children:
        _result(child)
    lines = tokens.read_text().split("\n")[:-1]
    fences = [int(line.split()[1]) for line in lines]
    assert len(fences) == 75
    assert len({line.split()[0] for line in lines}) == 3
    assert all(a < b for a, b in itertools.pairwise(fences)), fences


def test_the_companion_file_goes_with_the_last_process(tmp_path: Path) -> None:
    path = tmp_path / "c.rld"
    companion = Path(str(path) + SUFFIX)
    db = WalrusLite(path)
    db.set("k", "v")
    assert companion.exists()
    os.chmod(path, 0o600)
    other = subprocess.run(  # another process opens and closes it meanwhile
        [sys.executable, "-c", _OPEN_CLOSE, str(path)],
        env=CHILD_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 0, other.stderr
    assert companion.exists()  # still in use here
    db.close()
    assert not companion.exists()
    again = WalrusLite(path)
    assert oct(os.stat(companion).st_mode & 0o777) == oct(0o600)  # the file's mode
    assert again.get("k") == b"v"
    again.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.rld"]


_OPEN_CLOSE = (
    "import sys; from walrus.tusks.rlite import WalrusLite; "
    "db = WalrusLite(sys.argv[1]); assert db.get('k') == b'v'; db.close()"
)

# A process that dies inside a unit, after rlite committed some of its writes:
# the next process must find none of them (the unit is rolled back whole).
_DIE_IN_UNIT = """
import os, signal, sys
from walrus.tusks.rlite import WalrusLite
db = WalrusLite(sys.argv[1])
engine = db._core.engine
with engine.exclusive():
    engine.raw([b"SET", b"a", b"2"])
    engine.raw([b"SET", b"b", b"x" * 50000])
    engine.raw([b"DEL", b"c"])
    if sys.argv[2] == "tear":  # as if rlite's page writes stopped halfway
        with open(sys.argv[1], "r+b") as f:
            f.seek(1024)
            f.write(os.urandom(8192))
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("how", ["committed", "tear"])
def test_a_unit_that_died_is_rolled_back_whole(how: str, tmp_path: Path) -> None:
    path = tmp_path / "u.rld"
    db = WalrusLite(path)
    db.mset({"a": "1", "b": "1", "c": "1"})
    db.close()
    size = os.path.getsize(path)
    child = subprocess.run(
        [sys.executable, "-c", _DIE_IN_UNIT, str(path), how],
        env=CHILD_ENV,
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert os.path.getsize(path) > size  # the dead unit did reach the file
    db = WalrusLite(path)  # rolls it back, then checks the whole file
    assert db.mget("a", "b", "c") == [b"1", b"1", b"1"]
    assert os.path.getsize(path) == size
    db.set("d", "after")
    db.close()
    checked = WalrusLite(path, check=True)
    assert checked.get("d") == b"after"
    checked.close()


def test_vedis_keeps_a_file_to_one_process(tmp_path: Path) -> None:
    path = tmp_path / "one.vdb"
    db = WalrusVedis(path, commit_interval=0)
    db.set("before", "1")
    second = subprocess.run(
        [sys.executable, "-c", _VEDIS_SECOND, str(path)],
        env=CHILD_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 3, second.stderr  # refused, not crashed
    assert "another process has it open" in second.stdout
    for _ in range(50):  # the holder keeps working; nothing is lost
        db.incr("n")
    db.set("after", "2")
    db.close()
    again = WalrusVedis(path)
    assert again.mget("before", "after", "n") == [b"1", b"2", b"50"]
    again.close()


_VEDIS_SECOND = """
import sys
from walrus import DatabaseOpenError
from walrus.tusks.vedisdb import WalrusVedis
try:
    WalrusVedis(sys.argv[1])
except DatabaseOpenError as exc:
    print(exc)
    sys.exit(3)
"""


def test_vedis_opens_again_in_the_same_process(tmp_path: Path) -> None:
    path = tmp_path / "same.vdb"
    first = WalrusVedis(path)
    second = WalrusVedis(path)  # one engine per file and process: shared
    first.set("k", "v")
    assert second.get("k") == b"v"
    second.close()
    first.close()
    with pytest.raises(DatabaseOpenError, match="a directory"):
        WalrusVedis(tmp_path)
