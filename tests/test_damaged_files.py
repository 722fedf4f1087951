"""Damaged, foreign and unusable files: a clear error, never a crash.

Everything that could crash runs in a child process; a child killed by a
signal fails the test. Read-only places are tried as an unprivileged user
when the tests run as root (root may write anywhere).
"""

from __future__ import annotations

import ctypes
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import CHILD_ENV

from walrus import CorruptDatabase, DatabaseOpenError
from walrus.tusks.rlite import WalrusLite
from walrus.tusks.vedisdb import WalrusVedis

PAGE = 1024  # rlite's page size

# Opens each file named on the command line and prints one line per file:
# "opened" (and reads everything) or the exception's class and message.
_OPEN_EACH = """
import sys
from walrus.tusks.rlite import WalrusLite
check = {"none": None, "true": True}[sys.argv[1]]
for path in sys.argv[2:]:
    print(path, end=" ", flush=True)
    try:
        db = WalrusLite(path, check=check)
        try:
            for key in db.keys():
                db.type(key)
                db.dump(key)
            db.set("after", "x")
        finally:
            db.close()
        print("opened", flush=True)
    except Exception as exc:
        print(type(exc).__name__, str(exc).replace(chr(10), " "), flush=True)
"""


def _open_each(paths: list[Path], check: str = "none") -> dict[str, str]:
    child = subprocess.run(
        [sys.executable, "-c", _OPEN_EACH, check, *map(str, paths)],
        capture_output=True,
        text=True,
        env=CHILD_ENV,
        timeout=600,
    )
    lines = child.stdout.splitlines()
    assert child.returncode == 0, (
        f"the child died ({child.returncode}) on {lines[-1:]}\n{child.stderr[-2000:]}"
    )
    assert "Unable to read page" not in child.stderr
    return dict(line.split(" ", 1) for line in lines)


def _real_database(path: Path) -> bytes:
    db = WalrusLite(path)
    rng = random.Random(7)
    for i in range(120):
        db.set(f"s{i}", "v" * rng.randrange(1, 3000))
        db.hset(f"h{i % 9}", mapping={f"f{i}": "x" * rng.randrange(1, 500), "n": i})
        db.zadd("z", {f"m{i}": i / 3})
        db.rpush(f"l{i % 4}", "e" * rng.randrange(1, 800))
        db.sadd("set", i)
    db.close()
    return path.read_bytes()


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a real database of about 200 KB."""
    return _real_database(tmp_path_factory.mktemp("real") / "real.rld")


def test_every_truncation_is_refused(whole: bytes, tmp_path: Path) -> None:
    assert len(whole) > 150_000
    cuts = list(range(8 * PAGE, len(whole), PAGE))
    cuts += random.Random(1).sample(range(8 * PAGE, len(whole)), 40)  # mid-page
    paths = []
    for cut in cuts:
        path = tmp_path / f"cut-{cut}.rld"
        path.write_bytes(whole[:cut])
        paths.append(path)
    outcomes = _open_each(paths)
    assert len(outcomes) == len(paths)
    for path, outcome in outcomes.items():
        assert outcome.startswith("CorruptDatabase"), (path, outcome)
        assert "truncated" in outcome


def test_garbage_is_refused(whole: bytes, tmp_path: Path) -> None:
    rng = random.Random(3)
    paths = []
    for n in range(12):  # rlite's header, then pages of noise: the deep check
        path = tmp_path / f"noise-{n}.rld"
        damaged = bytearray(whole)
        for _ in range(1 + n):
            page = rng.randrange(1, len(whole) // PAGE)
            damaged[page * PAGE : (page + 1) * PAGE] = rng.randbytes(PAGE)
        path.write_bytes(bytes(damaged))
        paths.append(path)
    outcomes = _open_each(paths)  # existing files get the deep check at open
    refused = [o for o in outcomes.values() if o.startswith("CorruptDatabase")]
    assert len(refused) >= 10, outcomes  # (noise on a page nothing uses is harmless)
    foreign = [tmp_path / "text.rld", tmp_path / "random.rld", tmp_path / "head.rld"]
    foreign[0].write_text("hello, this is not a database\n")
    foreign[1].write_bytes(rng.randbytes(50_000))
    foreign[2].write_bytes(whole[:100])
    for path, outcome in _open_each(foreign).items():
        assert outcome.startswith("CorruptDatabase"), (path, outcome)


def test_damage_while_open_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "live.rld"
    db = WalrusLite(path)
    for i in range(50):
        db.set(f"k{i}", "v" * 2000)
    with open(path, "r+b") as handle:  # another program cuts the file
        handle.truncate(os.path.getsize(path) // 2)
    with pytest.raises(CorruptDatabase, match="truncated"):
        db.get("k1")
    with pytest.raises(CorruptDatabase):
        db.set("k2", "v")
    db.close()


def test_paths_that_are_not_databases(tmp_path: Path) -> None:
    cases = {
        "": "empty path",
        str(tmp_path): "a directory",
        "/dev/null": "not a regular file",
        str(tmp_path / "missing" / "x.rld"): "no directory",
    }
    for path, reason in cases.items():
        with pytest.raises(DatabaseOpenError, match=reason):
            WalrusLite(path)
    for path in ("/dev/null", str(tmp_path), str(tmp_path / "missing" / "x")):
        with pytest.raises(DatabaseOpenError):
            WalrusVedis(path)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory of our own whose permissions we may change."""
    path = Path(tempfile.mkdtemp(prefix="walrus-ro-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _drop_root_powers() -> None:
    """In the child, before it runs: give up the capabilities that let root
    read and write past file permissions (PR_CAPBSET_DROP of
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _without_root(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` bound by file permissions, even when the tests run as root."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=CHILD_ENV,
        timeout=120,
        preexec_fn=_drop_root_powers if os.geteuid() == 0 else None,
    )


_READ_ONLY_PLACES = """
import sys
from walrus import DatabaseOpenError
from walrus.tusks.rlite import WalrusLite
from walrus.tusks.vedisdb import WalrusVedis
base = sys.argv[1]
for opener, path in [
    (WalrusLite, base + "/ro-dir/db.rld"),      # existing file, read-only directory
    (WalrusLite, base + "/ro-dir/new.rld"),     # new file, read-only directory
    (WalrusLite, base + "/ro-file.rld"),        # a 0444 file
    (WalrusVedis, base + "/ro-dir/db.vdb"),
    (WalrusVedis, base + "/ro-file.vdb"),
]:
    try:
        opener(path).close()
        print("opened", path)
    except DatabaseOpenError as exc:
        print("refused", exc)
for path in (base + "/ro-dir/db.rld", base + "/ro-file.rld"):
    db = WalrusLite(path, read_only=True)
    print("read", db.get("k"), end=" ")
    try:
        db.set("k", "changed")
    except Exception as exc:
        print(type(exc).__name__, end=" ")
    print(db.get("k"))
    db.close()
"""


def test_read_only_places_get_clear_reasons(shared_dir: Path) -> None:
    ro_dir = shared_dir / "ro-dir"
    ro_dir.mkdir()
    for name in ("db.rld", "ro-file.rld"):
        db = WalrusLite((ro_dir if name == "db.rld" else shared_dir) / name)
        db.set("k", "v")
        db.close()
    for target in (ro_dir / "db.vdb", shared_dir / "ro-file.vdb"):
        WalrusVedis(target, commit_interval=0).close()
    for path in shared_dir.glob("ro-file.*"):
        path.chmod(0o444)
    ro_dir.chmod(0o555)
    before = sorted(p.name for p in shared_dir.rglob("*"))
    result = _without_root(_READ_ONLY_PLACES, str(shared_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:5]] == ["refused"] * 5, lines
    assert "directory is read-only" in lines[0] and "read_only=True" in lines[0]
    assert "read-only" in lines[1]
    assert "permission denied" in lines[2] and "read_only=True" in lines[2]
    assert "read-only" in lines[3] and "permission denied" in lines[4]
    assert lines[5:] == ["read b'v' ReadOnlyDatabase b'v'"] * 2
    assert sorted(p.name for p in shared_dir.rglob("*")) == before  # nothing written


def test_creating_is_atomic(tmp_path: Path) -> None:
    """A file appears whole or not at all (created aside, then linked)."""
    path = tmp_path / "new.rld"
    db = WalrusLite(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "new.rld",
        "new.rld.walrus-journal",
    ]
    db.close()
    assert os.path.getsize(path) == PAGE
    empty = tmp_path / "empty.rld"
    empty.touch()  # an empty file is a new database, not damage
    db = WalrusLite(empty)
    db.set("k", "v")
    db.close()
    again = WalrusLite(empty)
    assert again.get("k") == b"v"
    again.close()
