"""Lock: mutual exclusion, ttl expiry, waiters, fencing; every backend, both modes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import pytest
from support import Backend, round_trips, skip_on_cluster_layout, slots_of

from walrus import Capability, Lock, LockNotHeld
from walrus.scripts import TWINS


def test_acquire_release_and_reference_api(db: Any) -> None:
    lock = db.lock("my-lock")
    assert isinstance(lock, Lock)
    assert lock.acquire() is True
    assert lock.locked()
    other = db.lock("my-lock")
    assert other.acquire(block=False) is False
    assert other.release() is False  # walrus 0.9: not held, nothing changes
    assert lock.locked()
    assert lock._lock_id == lock.token != other._lock_id  # 0.9's private name
    assert lock.release() is True
    assert not lock.locked()
    assert other.acquire(block=False) is True
    assert other.release() is True


def test_factory_takes_redis_py_timeout(db: Any) -> None:
    assert db.lock("a", timeout=10).ttl == 10_000  # seconds, as redis-py
    assert db.lock("a", timeout=0.25).ttl == 250
    assert db.lock("a", 500).ttl == 500  # walrus 0.9: ttl in ms
    with pytest.raises(ValueError, match="not both"):
        db.lock("a", ttl=5, timeout=5)
    with pytest.raises(TypeError, match=r"db\.lock\(\).*blocking_timeout") as raised:
        db.lock("a", timeout=1, blocking_timeout=3)
    assert "_" + "make_lock" not in str(raised.value)
    with pytest.raises(TypeError, match=r"db\.lock\(\)"):
        db.lock("a", timeout="10")
    lock = db.lock("held", timeout=5)
    assert lock.acquire()
    assert 0 < db.pttl(lock.key) <= 5000
    lock.release()


def test_keys_use_walrus_09_names(db: Any) -> None:
    skip_on_cluster_layout(db)
    lock = db.lock("name")
    assert (lock.key, lock.event) == ("lock:name", "lock.event:name")
    lock.acquire()
    assert db.get(lock.key) == (
        lock.token if db.get_encoder().decode_responses else lock.token.encode()
    )
    lock.release()


def test_cluster_lock_keys_share_one_slot(db: Any) -> None:
    if not db.keyspace.cluster:
        pytest.skip("hash tags are a cluster's layout")
    lock = db.lock("name")
    assert (lock.key, lock.event) == ("lock:{name}", "lock.event:{name}")
    assert len(slots_of([lock.key, lock.event, lock.fence_key])) == 1
    assert lock.acquire() and lock.fence is not None
    lock.release()


def test_context_manager_and_decorator(db: Any) -> None:
    lock = db.lock("ctx")
    with lock:
        assert lock.locked()
        assert db.lock("ctx").acquire(block=False) is False
    assert not lock.locked()

    @lock
    def inside() -> bool:
        return lock.locked()

    assert inside() is True
    assert inside.__name__ == "inside"
    assert not lock.locked()


def test_release_without_holding_returns_false(db: Any) -> None:
    """walrus 0.9: False, and nothing changes (no wake-up is sent)."""
    lock = db.lock("x")
    assert lock.release() is False
    assert db.dbsize() == 0
    lock.acquire()
    assert db.lock("x").release() is False
    assert lock.locked()
    assert lock.release() is True
    assert lock.release() is False


def test_strict_release_raises(db: Any) -> None:
    lock = db.lock("x")
    lock.strict = True
    with pytest.raises(LockNotHeld) as info:
        lock.release()
    assert isinstance(info.value, RuntimeError)
    lock.acquire()
    assert lock.release() is True
    with pytest.raises(LockNotHeld):
        lock.release()
    short = db.lock("short", ttl=100)
    short.strict = True
    with pytest.raises(LockNotHeld), short:  # the lock expired inside the block
        time.sleep(0.2)
    with db.lock("short", ttl=100):  # not strict: as in walrus 0.9
        time.sleep(0.2)


def test_clear_releases_whoever_holds(db: Any) -> None:
    lock = db.lock("stuck")
    assert lock.clear() is False
    lock.acquire()
    assert db.lock("stuck").clear() is True
    assert db.lock("stuck").acquire(block=False) is True
    assert lock.release() is False


def test_ttl_expires_and_release_after_expiry_is_false(db: Any) -> None:
    lock = db.lock("short", ttl=150)
    assert lock.acquire()
    assert 0 < db.pttl(lock.key) <= 150
    time.sleep(0.25)
    assert not lock.locked()
    assert lock.release() is False


def test_waiter_wakes_after_sub_second_ttl(db: Any) -> None:
    """walrus 0.9 blocked forever when the ttl was under 1000 ms."""
    holder = db.lock("dead", ttl=200)
    assert holder.acquire()
    start = time.monotonic()
    waiter = db.lock("dead", ttl=200)
    assert waiter.acquire(timeout=5) is True
    assert time.monotonic() - start < 4  # woke on the ttl, not on the timeout
    waiter.release()


def test_waiter_wakes_on_release(db: Any) -> None:
    holder = db.lock("busy")
    holder.acquire()
    got: list[bool] = []
    thread = threading.Thread(
        target=lambda: got.append(db.lock("busy").acquire(timeout=5))
    )
    thread.start()
    time.sleep(0.1)
    assert got == []
    holder.release()
    thread.join(5)
    assert got == [True]


def test_acquire_timeout(db: Any) -> None:
    holder = db.lock("t")
    holder.acquire()
    start = time.monotonic()
    assert db.lock("t").acquire(timeout=0.2) is False
    assert time.monotonic() - start >= 0.2
    assert db.lock("t").acquire(timeout=0) is False
    with pytest.raises(ValueError):
        db.lock("t").acquire(timeout=-1)
    holder.release()


def test_extend(db: Any) -> None:
    lock = db.lock("ext", ttl=300)
    lock.acquire()
    assert lock.extend(10_000) > 10_000
    time.sleep(0.4)
    assert lock.locked()
    lock.release()
    with pytest.raises(LockNotHeld):
        lock.extend(100)
    with pytest.raises(ValueError):
        lock.extend(0)
    with pytest.raises(ValueError):
        db.lock("no-ttl").extend(100)
    assert not db.exists(lock.key)


def test_fencing_tokens_increase(db: Any) -> None:
    lock = db.lock("fenced", ttl=10_000)
    fences = []
    for _ in range(5):
        lock.acquire()
        fences.append(lock.fence)
        lock.release()
    other = db.lock("fenced")
    other.acquire()
    fences.append(other.fence)
    other.clear()
    assert all(isinstance(f, int) for f in fences)
    assert fences == sorted(set(fences))


@pytest.mark.parametrize("ttl", [0, -5, 1.5, True, "100"])
def test_bad_ttl_is_refused(db: Any, ttl: Any) -> None:
    with pytest.raises(ValueError):
        db.lock("bad", ttl=ttl)
    assert db.exists("lock:bad") == 0


def test_wake_list_and_fence_key_expire(db: Any) -> None:
    lock = db.lock("expiring", ttl=1000)
    lock.wake_ttl_ms = 200
    lock.acquire()
    assert 0 < db.pttl(lock.fence_key) <= 1200
    assert not db.exists(lock.event)
    lock.release()
    assert 0 < db.pttl(lock.event) <= 200
    assert 0 < db.pttl(lock.fence_key) <= 200
    time.sleep(0.3)
    assert db.exists(lock.key, lock.event, lock.fence_key) == 0
    no_ttl = db.lock("forever")
    no_ttl.wake_ttl_ms = 200
    no_ttl.acquire()
    assert db.pttl(no_ttl.key) == -1
    no_ttl.release()
    time.sleep(0.3)
    assert db.exists(no_ttl.key, no_ttl.event, no_ttl.fence_key) == 0


def test_one_round_trip_uncontended(db: Any, backend: Backend) -> None:
    lock = db.lock("rt", ttl=5000)
    lock.acquire()  # a new server loads the scripts on first use (SCRIPT LOAD)
    lock.release()
    with round_trips(db) as sent:
        assert lock.acquire()
    with round_trips(db) as sent_release:
        lock.release()
    if backend.server:
        assert (sent.round_trips, sent_release.round_trips) == (1, 1)


def _contend(db: Any, lock_for: Any, threads: int = 8, rounds: int = 5) -> None:
    holders: list[int] = []
    overlaps: list[int] = []
    guard = threading.Lock()

    def work() -> None:
        lock = lock_for()
        for _ in range(rounds):
            with lock:
                with guard:
                    holders.append(1)
                    if len(holders) > 1:
                        overlaps.append(len(holders))
                value = int(db.get("shared") or 0)
                time.sleep(0.001)
                db.set("shared", value + 1)
                with guard:
                    holders.pop()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not any(w.is_alive() for w in workers)
    assert overlaps == []
    assert int(db.get("shared")) == threads * rounds


def test_threads_contend_with_separate_lock_objects(db: Any) -> None:
    _contend(db, lambda: db.lock("contended", ttl=10_000))


def test_threads_share_one_lock_object(db: Any) -> None:
    shared = db.lock("contended")
    _contend(db, lambda: shared)


def test_dead_holder_is_replaced_after_its_ttl(db: Any) -> None:
    dead = db.lock("crash", ttl=300)
    assert dead.acquire()  # and never released
    got: list[bool] = []

    def wait() -> None:
        got.append(db.lock("crash", ttl=300).acquire(timeout=5))

    threads = [threading.Thread(target=wait) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert got == [True] * 4  # each waiter got it once the previous one's ttl ran out


def run_processes(target: Any, count: int = 4) -> None:
    """Run ``target`` in ``count`` forked processes (they reuse ``db``: redis-py
    reconnects after a fork); each must exit cleanly."""
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=target) for _ in range(count)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0] * count


@pytest.mark.sync_only("processes")
def test_processes_contend(db: Any, backend: Backend) -> None:
    if Capability.SHARED_ACROSS_PROCESSES not in db.capabilities:
        pytest.skip(f"{backend} is used by one process (threads share it)")

    def work() -> None:
        own = db if backend.server else backend.open()  # a handle per process
        lock = own.lock("proc", ttl=10_000)
        for _ in range(5):
            with lock:
                value = int(own.get("proc-count") or 0)
                time.sleep(0.001)
                own.set("proc-count", value + 1)

    run_processes(work)
    assert int(db.get("proc-count")) == 20


def test_lua_and_twins_agree(redis_db: Any) -> None:
    """The scripts (on the server) and their Python twins give the same replies."""

    def call(*command: Any) -> Any:
        return redis_db.execute_command(*command, NEVER_DECODE=[])

    def both(name: str, args: list[Any]) -> tuple[Any, Any]:
        keys = {
            side: [f"{side}:lock", f"{side}:event", f"{side}:fence"]
            for side in ("lua", "py")
        }
        lua = redis_db.scripts.run(name, keys["lua"], args)
        python = TWINS[name](call, [k.encode() for k in keys["py"]], args)
        return lua, python

    steps = [
        ("lock_acquire", [b"a", b"1000", b"200"]),
        ("lock_acquire", [b"b", b"1000", b"200"]),
        ("lock_extend", [b"b", b"500", b"200"]),
        ("lock_extend", [b"a", b"500", b"200"]),
        ("lock_release", [b"b", b"200", b"0"]),
        ("lock_release", [b"a", b"200", b"0"]),
        ("lock_acquire", [b"c", b"0", b"200"]),
        ("lock_release", [b"x", b"200", b"1"]),
        ("lock_release", [b"x", b"200", b"1"]),
    ]
    for name, args in steps:
        lua, python = both(name, args)
        if name == "lock_acquire":
            assert lua[0] == python[0]
            assert abs(lua[1] - python[1]) <= 50  # a fencing token or a PTTL
        elif name == "lock_extend" and lua >= 0:
            assert abs(lua - python) <= 50
        else:
            assert lua == python, name
    for suffix in ("lock", "event", "fence"):
        lua_ttl, py_ttl = redis_db.pttl(f"lua:{suffix}"), redis_db.pttl(f"py:{suffix}")
        assert abs(lua_ttl - py_ttl) <= 50
