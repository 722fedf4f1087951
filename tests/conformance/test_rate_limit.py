"""RateLimit and RateLimitLua: every backend, both reply modes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from support import Backend, round_trips
from test_lock import run_processes

from walrus import Capability, RateLimit, RateLimitException, RateLimitLua
from walrus.scripts import TWINS

FACTORIES = ["rate_limit", "rate_limit_lua"]


def make(db: Any, variant: str, *args: Any, **kwargs: Any) -> RateLimit:
    factory: Callable[..., RateLimit] = getattr(db, variant)
    return factory(*args, **kwargs)


@pytest.mark.parametrize("variant", FACTORIES)
def test_reference_example(db: Any, variant: str) -> None:
    rl = make(db, variant, "mylimit", limit=2, per=60)
    assert isinstance(rl, RateLimitLua if variant == "rate_limit_lua" else RateLimit)
    assert rl.limit("user-1") is False
    assert rl.limit("user-1") is False
    assert rl.limit("user-1") is True
    assert rl.limit("user-2") is False


@pytest.mark.parametrize("variant", FACTORIES)
def test_window_slides_and_key_expires_with_it(db: Any, variant: str) -> None:
    """walrus 0.9's Lua limiter kept the key for limit*2 seconds."""
    rl = make(db, variant, "win", limit=3, per=0.3)
    assert [rl.limit("k") for _ in range(4)] == [False, False, False, True]
    key = rl.key("k")
    assert key == "win:k"
    assert 0 < db.pttl(key) <= 300
    time.sleep(0.35)
    assert db.exists(key) == 0
    assert rl.limit("k") is False


@pytest.mark.parametrize("variant", FACTORIES)
def test_status_records_nothing(db: Any, variant: str) -> None:
    rl = make(db, variant, "st", limit=2, per=10)
    assert rl.status("k") == (2, 0.0)
    assert not db.exists(rl.key("k"))
    rl.limit("k")
    assert rl.status("k").remaining == 1
    rl.limit("k")
    status = rl.status("k")
    assert status.remaining == 0
    assert 9 < status.retry_after <= 10
    assert rl.limit("k") is True
    assert rl.status("k").remaining == 0
    rl.reset("k")
    assert rl.status("k").remaining == 2


@pytest.mark.parametrize("variant", FACTORIES)
def test_rate_limited_decorator(db: Any, variant: str) -> None:
    rl = make(db, variant, "deco", limit=2, per=60)

    @rl.rate_limited(lambda user, *a: user)
    def login(user: str, password: str) -> str:
        return f"welcome {user}"

    assert login("huey", "x") == "welcome huey"
    assert login("huey", "y") == "welcome huey"
    with pytest.raises(RateLimitException):
        login("huey", "z")
    assert login("mickey", "x") == "welcome mickey"

    @rl.rate_limited()
    def by_arguments(a: int, b: int = 0) -> int:
        return a + b

    assert by_arguments(1, b=2) == 3
    assert by_arguments(1, b=2) == 3
    with pytest.raises(RateLimitException):
        by_arguments(1, b=2)
    assert by_arguments(2) == 2


@pytest.mark.parametrize("variant", FACTORIES)
def test_debug_admits_everything(db: Any, variant: str) -> None:
    rl = make(db, variant, "dbg", limit=1, per=60, debug=True)
    assert [rl.limit("k") for _ in range(5)] == [False] * 5
    assert rl.status("k").remaining == 1
    assert db.dbsize() == 0


@pytest.mark.parametrize(
    ("limit", "per"),
    [(0, 1), (-1, 1), (1.5, 1), (True, 1), (1, 0), (1, -2), (1, 0.0001), (1, "1")],
)
def test_bad_limits_are_refused(db: Any, limit: Any, per: Any) -> None:
    with pytest.raises(ValueError):
        db.rate_limit("bad", limit=limit, per=per)
    with pytest.raises(ValueError):
        db.rate_limit_lua("bad", limit=limit, per=per)
    assert db.dbsize() == 0


@pytest.mark.parametrize("variant", FACTORIES)
def test_one_round_trip(db: Any, backend: Backend, variant: str) -> None:
    rl = make(db, variant, "rt", limit=2, per=60)
    rl.limit("warm-up")  # a fresh server loads the script first (2 more)
    for _ in range(3):
        with round_trips(db) as sent:
            rl.limit("k")
        if backend.server:
            assert sent.round_trips == 1


@pytest.mark.parametrize("variant", FACTORIES)
def test_threads_get_exactly_limit_per_window(db: Any, variant: str) -> None:
    rl = make(db, variant, "hammer", limit=5, per=0.5)

    def hammer() -> None:
        admitted = []
        barrier.wait()
        for _ in range(20):
            admitted.append(not rl.limit("k"))
        counts.append(sum(admitted))

    for _window in range(2):
        counts: list[int] = []
        barrier = threading.Barrier(8)
        threads = [threading.Thread(target=hammer) for _ in range(8)]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        if time.monotonic() - start < 0.5:  # all in one window: exactly the limit
            assert sum(counts) == 5
        else:  # slow machine: never more than the limit per started window
            assert 5 <= sum(counts) <= 5 * (1 + (time.monotonic() - start) / 0.5)
        time.sleep(0.55)


def test_lua_and_twin_agree(redis_db: Any) -> None:
    """The script (on the server) and its Python twin give the same replies."""
    twin = TWINS["rate_limit"]

    def call(*command: Any) -> Any:
        return redis_db.execute_command(*command, NEVER_DECODE=[])

    for limit, per, records in [
        (3, 10_000, "11110"),
        (1, 10_000, "0110"),
        (2, 50, "11"),
    ]:
        for i, record in enumerate(records):
            args = [str(limit).encode(), str(per).encode(), record.encode()]
            lua = redis_db.scripts.run("rate_limit", [f"lua:{limit}"], args)
            python = twin(call, [f"py:{limit}".encode()], args)
            assert lua[:2] == python[:2], (limit, i)
            assert abs(lua[2] - python[2]) <= 50
        assert abs(redis_db.pttl(f"lua:{limit}") - redis_db.pttl(f"py:{limit}")) <= 50


@pytest.mark.sync_only("processes")
@pytest.mark.parametrize("variant", FACTORIES)
def test_processes_get_exactly_limit(db: Any, backend: Backend, variant: str) -> None:
    if Capability.SHARED_ACROSS_PROCESSES not in db.capabilities:
        pytest.skip(f"{backend} is used by one process (threads share it)")

    def work() -> None:
        own = db if backend.server else backend.open()  # a handle per process
        rl = make(own, variant, "procs", limit=5, per=60)
        admitted = own.counter("admitted")
        for _ in range(20):
            if not rl.limit("k"):
                admitted += 1

    run_processes(work)
    assert db.counter("admitted") == 5
