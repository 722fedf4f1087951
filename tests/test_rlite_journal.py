"""The rlite driver's units within one process: rollback, failures, modes.

(Crashes and other processes: test_durability.py, test_multiprocess.py.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from redis.exceptions import ReadOnlyError
from support import CHILD_ENV

import walrus
from walrus import EngineError
from walrus.drivers.rlite import journal as rlite_journal
from walrus.drivers.rlite.journal import SUFFIX
from walrus.tusks.rlite import WalrusLite


def test_an_exception_inside_an_operation_undoes_it(tmp_path: Path) -> None:
    db = WalrusLite(tmp_path / "x.rld")
    db.set("a", "1")
    engine = db._core.engine
    with pytest.raises(KeyboardInterrupt), engine.exclusive():
        engine.raw([b"SET", b"a", b"2"])
        engine.raw([b"SET", b"b", b"x" * 5000])
        raise KeyboardInterrupt
    assert db.mget("a", "b") == [b"1", None]
    journal = Path(str(tmp_path / "x.rld") + SUFFIX).read_bytes()
    assert journal[rlite_journal.AT :][:4] != b"WJ01"  # empty again
    db.close()


def test_an_error_reply_keeps_what_ran_as_redis_does(tmp_path: Path) -> None:
    db = WalrusLite(tmp_path / "x.rld")
    db.set("s", "text")
    pipe = db.pipeline(transaction=False)
    pipe.set("a", "1")
    pipe.incr("s")  # an error reply, not an exception inside the unit
    pipe.set("b", "2")
    results = pipe.execute(raise_on_error=False)
    assert isinstance(results[1], Exception)
    assert db.mget("a", "b") == [b"1", b"2"]
    db.close()


def test_a_journal_that_cannot_be_written_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = WalrusLite(tmp_path / "x.rld")
    db.set("a", "1")

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rlite_journal.FileGuard, "before_commit", full)
    with pytest.raises(EngineError, match="could not journal"):
        db.set("a", "2")
    monkeypatch.undo()
    assert db.get("a") == b"2"  # rlite committed it: kept, not half undone
    db.set("c", "3")
    db.close()


def test_sync_mode_flushes_and_works(tmp_path: Path) -> None:
    db = WalrusLite(tmp_path / "x.rld", sync=True)
    with db.atomic() as pipe:
        pipe.set("a", "1")
        pipe.hset("h", mapping={"f": "v", "g": "w"})
    assert db.hgetall("h") == {b"f": b"v", b"g": b"w"}
    db.close()


def test_read_only_serves_a_snapshot_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "x.rld"
    db = WalrusLite(path)
    db.set("a", "1")
    reader = WalrusLite(path, read_only=True)
    db.set("a", "2")  # after the snapshot
    assert reader.get("a") == b"1"
    with pytest.raises(ReadOnlyError):
        reader.set("a", "3")
    with pytest.raises(ReadOnlyError):
        reader.pipeline().set("b", "1").execute()
    assert reader.get("a") == b"1" and reader.get("b") is None
    assert walrus.Capability.PERSISTENT not in reader.capabilities
    reader.close()
    db.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.rld"]


def test_a_database_opened_before_fork_is_refused_in_the_child(
    tmp_path: Path,
) -> None:
    code = (
        "import os, sys\n"
        "from walrus.tusks.rlite import WalrusLite\n"
        "db = WalrusLite(sys.argv[1]); db.set('k', 'v')\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    try:\n"
        "        db.get('k')\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__, exc, flush=True)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0); print(db.get('k'))\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "f.rld")],
        capture_output=True,
        text=True,
        env=CHILD_ENV,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    assert "EngineError" in child.stdout and "after fork()" in child.stdout
    assert child.stdout.strip().endswith("b'v'")


def test_a_torn_journal_batch_is_ignored() -> None:
    batch = rlite_journal._Batch(7, 1, 4096, 1024, [(0, b"a" * 1024)])
    data = rlite_journal._encode(batch)
    other = rlite_journal._encode(batch._replace(unit=8))
    assert rlite_journal._decode(data) == [batch]
    assert rlite_journal._decode(data[:-1]) == []  # cut by the kill
    assert rlite_journal._decode(data + data[:30]) == [batch]
    assert rlite_journal._decode(data + other) == [batch]  # an older unit's tail
    flipped = bytearray(data)
    flipped[100] ^= 1
    assert rlite_journal._decode(bytes(flipped)) == []


@pytest.mark.parametrize(
    "pages",
    [[3], [0, 1, 2, 5, 6, 9], [1, 40, 41, 200]],  # one, dense, sparse: two reads
    ids=["one", "dense", "sparse"],
)
def test_page_images_are_read_whole_and_round_trip(
    tmp_path: Path, pages: list[int]
) -> None:
    """A batch's pages are read in one read of their span when they are
    dense, one read per run otherwise: either way each image is its page."""
    size = 64
    path = tmp_path / "pages"
    path.write_bytes(b"".join(bytes([n % 251]) * size for n in range(256)))
    with path.open("rb") as file:
        images = rlite_journal._images(file.fileno(), pages, size)
    assert images == [(n, bytes([n % 251]) * size) for n in pages]
    batch = rlite_journal._Batch(7, 1, 256 * size, size, images)
    assert rlite_journal._decode(rlite_journal._encode(batch)) == [batch]
