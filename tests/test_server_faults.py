"""Server faults: writes run once, locks are never orphaned, the worker resumes.

Each test runs a Valkey server of its own (``tests/faults.py``) and stalls it
(SIGSTOP, SIGCONT a moment later) or kills it (kill -9, restart on the same
append-only file) while walrus operations are in flight. What must hold:

- a write whose reply is lost raises ``OutcomeUnknown`` and is never sent
  again (redis-py would resend it: one ``incr()`` stored 2);
- a lock acquire whose reply is lost returns holding the lock, or not
  holding it, never leaving it held by nobody who knows;
- the stream worker waits out outages of any length and resumes: every
  message a producer got an id for is handled, none twice;
- loops of model saves and cache writes fail with clear errors during the
  fault and work again after it; what was acknowledged is there.

Server-only (the embedded engines have no connection to lose). Each test
takes a few seconds; ``WALRUS_TEST_FAULTS_LONG=1`` runs longer variants.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from faults import LONG, SOCKET_TIMEOUT, FaultyServer, wait_for
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

import walrus
from walrus import AutoIncrementField, IntegerField, Model, OutcomeUnknown
from walrus.drivers.server.resend import (
    GuardedPipeline,
    NoResendRetry,
    refuses_unknown,
    resend_safe,
)

pytestmark = pytest.mark.skipif(
    bool(__import__("os").environ.get("WALRUS_TEST_URL")),
    reason="starts, stalls and kills servers of its own (not WALRUS_TEST_URL's)",
)


def eventually(read: Callable[[], Any], timeout: float = 10.0) -> Any:
    """``read()`` once the server answers again (a restart takes a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return read()
        except RedisConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# -- one write in flight --------------------------------------------------------------
# (the write, and how many times it has run)
Operation = tuple[Callable[[], Any], Callable[[], int]]


def _counter(db: Any) -> Operation:
    counter = db.counter("hits")
    return counter.incr, counter.value


def _stream_add(db: Any) -> Operation:
    stream = db.Stream("events")
    return lambda: stream.add({"n": 1}), lambda: len(stream)


def _rate_limit(db: Any) -> Operation:
    limit = db.rate_limit("api", limit=100, per=60)
    return lambda: limit.limit("client"), lambda: 100 - limit.status("client").remaining


def _model(db: Any) -> tuple[type[Any], Any]:
    class Row(Model):
        __database__ = db
        __namespace__ = "faults"
        id = AutoIncrementField()
        n = IntegerField(index=True, default=0)

    return Row, Row.create(n=0)


def _model_create(db: Any) -> Operation:
    row_class, _ = _model(db)
    return lambda: row_class.create(n=1), row_class.count


def _model_incr(db: Any) -> Operation:
    row_class, row = _model(db)
    return lambda: row.incr("n"), lambda: int(row_class.load(row.id).n)


OPERATIONS: dict[str, Callable[[Any], Operation]] = {
    "counter.incr": _counter,
    "stream.add": _stream_add,
    "rate_limit.limit": _rate_limit,
    "model.create": _model_create,
    "model.incr": _model_incr,
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_a_stalled_write_runs_once(faulty: FaultyServer, name: str) -> None:
    db = faulty.open()
    write, ran = OPERATIONS[name](db)
    write()  # scripts loaded, connection open
    before = ran()
    with faulty.stalled(1.5), pytest.raises(OutcomeUnknown) as info:
        write()  # the reply times out; redis-py would send it again
    assert "may or may not have run" in str(info.value)
    assert isinstance(info.value, RedisConnectionError)
    assert ran() == before + 1  # the server ran it once it resumed, once
    write()  # and the database works again
    assert ran() == before + 2


def test_a_database_from_a_url_sends_a_write_once(faulty: FaultyServer) -> None:
    """A URL's ``retry_on_timeout`` gives the connections redis-py's default
    policy (one retry): it is guarded as a policy passed in would be."""
    url = f"redis://127.0.0.1:{faulty.port}/0?retry_on_timeout=true"
    db = walrus.Database.from_url(url, socket_timeout=SOCKET_TIMEOUT)
    assert refuses_unknown(db.get_retry()) and db.get_retry().get_retries() == 1
    db.incr("n")
    with faulty.stalled(1.5), pytest.raises(OutcomeUnknown):
        db.incr("n")
    assert db.get("n") == b"2"  # run once, when the server resumed
    db.close()


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_a_write_killed_in_flight_is_not_resent(
    faulty: FaultyServer, name: str
) -> None:
    db = faulty.open()
    write, ran = OPERATIONS[name](db)
    write()
    before = ran()
    faulty.pause()  # the write reaches a server that never runs it
    faulty.kill_and_restart(after=0.2, down_for=0.3)
    with pytest.raises(OutcomeUnknown):
        write()
    assert eventually(ran) == before  # never ran, and was not sent again
    write()
    assert ran() == before + 1


def test_a_pipeline_command_sent_at_once_runs_once(faulty: FaultyServer) -> None:
    """After WATCH a pipeline sends each command at once, and redis-py turns
    any failure there into WatchError (retry the transaction): a write whose
    reply was lost is OutcomeUnknown instead, or the retry would run it twice."""
    db = faulty.open()
    db.set("n", 0)
    with db.pipeline() as pipe:
        pipe.watch("n")
        with faulty.stalled(1.5), pytest.raises(OutcomeUnknown, match="INCRBY"):
            pipe.incr("n")
    assert db.get("n") == b"1"
    db.close()


def test_a_read_is_retried_through_a_stall(faulty: FaultyServer) -> None:
    db = faulty.open()
    db.set("k", "v")
    with faulty.stalled(1.0):
        assert db.get("k") == b"v"  # reads are safe to send again
    pipe = db.pipeline()
    pipe.get("k").exists("k")
    with faulty.stalled(1.0):
        assert pipe.execute() == [b"v", 1]


# -- locks ---------------------------------------------------------------------------
def test_a_stalled_acquire_returns_holding_the_lock(faulty: FaultyServer) -> None:
    db = faulty.open()
    lock = db.lock("job")  # no ttl: an orphan would be held forever
    assert lock.acquire(block=False)
    lock.release()
    with faulty.stalled(1.5):
        assert lock.acquire(block=False) is True  # the server did take it
    assert db.get(lock.key) == lock.token.encode()
    assert lock.fence is not None and lock.fence > 0
    lock.release()
    assert not lock.locked()


def test_a_killed_acquire_is_settled(faulty: FaultyServer) -> None:
    db = faulty.open()
    lock = db.lock("job")
    other = db.lock("job")
    assert lock.acquire(block=False)  # connection open, script loaded
    lock.release()
    faulty.pause()
    faulty.kill_and_restart(after=0.2, down_for=0.3)
    assert lock.acquire(block=False) is True  # the lost one never ran: retried
    assert not other.acquire(block=False)
    lock.release()
    assert other.acquire(block=False)
    other.release()


def test_a_lock_unsettled_in_an_outage_is_settled_by_the_next_acquire(
    faulty: FaultyServer,
) -> None:
    db = faulty.open()
    lock = db.lock("job")
    lock.settle_timeout = 0.3  # shorter than the stall
    lock.acquire()
    lock.release()
    # the lost acquire (0.5 s), then reads tried for about 2 s: all stalled
    with faulty.stalled(3.5), pytest.raises(OutcomeUnknown, match="asks again"):
        lock.acquire(block=False)
    # the server ran the lost acquire when it resumed: this owner holds it,
    # and the next acquire finds out instead of waiting for itself
    assert db.get(lock.key) == lock.token.encode()
    assert lock.acquire(timeout=1) is True
    lock.release()
    assert not lock.locked()


def test_a_held_lock_through_a_stall_and_a_restart(faulty: FaultyServer) -> None:
    db = faulty.open()
    lock = db.lock("job", ttl=10_000)
    assert lock.acquire(block=False)
    lock.extend(1)  # the script is loaded (a lost EVALSHA of an unknown
    # script would only get NOSCRIPT when the server resumes)
    with faulty.stalled(1.5):
        ttl = lock.extend(5_000)  # lost reply: settled by reading the ttl
    assert 10_000 < ttl <= 15_000  # extended once, not twice
    assert db.pttl(lock.key) <= 15_000
    faulty.kill()
    with pytest.raises(RedisConnectionError):
        lock.locked()  # a clear error while the server is down
    faulty.restart()
    assert eventually(lock.locked)  # the append-only file kept it
    assert not db.lock("job").acquire(block=False)
    lock.release()
    assert not lock.locked()


# -- the stream worker -------------------------------------------------------------
class Consumer:
    """A worker running in a thread; ``handled`` lists the message ids."""

    def __init__(self, db: Any) -> None:
        self.group = db.consumer_group("workers", ["jobs"])
        self.group.create()
        self.worker = self.group.consume(block=100, count=5, max_backoff=0.2)
        self.handled: list[Any] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.worker.run(lambda message: self.handled.append(message.message_id))
        except BaseException as exc:  # reported by the test
            self.error = exc

    def __enter__(self) -> Consumer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.worker.stop()
        self.thread.join(15)
        assert not self.thread.is_alive()


def _produce(db: Any, count: int, ids: list[Any], pace: float = 0.0) -> None:
    """Add ``count`` messages; ``ids`` gets the id of each one the server
    acknowledged (an add whose outcome is unknown is not counted)."""
    stream = db.Stream("jobs")
    for n in range(count):
        with contextlib.suppress(RedisConnectionError):
            ids.append(stream.add({"n": n}))
        time.sleep(pace)


def _check_delivery(db: Any, consumer: Consumer, produced: list[Any]) -> None:
    wait_for(lambda: set(produced) <= set(consumer.handled), timeout=20)
    assert consumer.error is None
    assert len(consumer.handled) == len(set(consumer.handled)), "handled twice"
    wait_for(lambda: not consumer.group.jobs.pending(), timeout=10)  # all acked


def test_the_worker_resumes_after_a_stall(faulty: FaultyServer) -> None:
    db, producer = faulty.open(), faulty.open()
    produced: list[Any] = []
    _produce(producer, 20, produced)
    with Consumer(db) as consumer:
        wait_for(lambda: len(consumer.handled) >= 5)
        with faulty.stalled(3.0 if LONG else 1.5):
            time.sleep(0.3)
        _produce(producer, 20, produced)
        _check_delivery(db, consumer, produced)
    assert consumer.worker.outages >= 1


def test_the_worker_resumes_after_a_kill_and_restart(faulty: FaultyServer) -> None:
    # the long variant keeps redis-py's default retry policy (about 4.6 s),
    # which ended the worker for good before it waited outages out
    db = faulty.open(retry=redis.Redis().get_retry()) if LONG else faulty.open()
    producer = faulty.open()
    produced: list[Any] = []
    _produce(producer, 20, produced)
    with Consumer(db) as consumer:
        wait_for(lambda: len(consumer.handled) >= 5)
        # down longer than the clients' retry window (about 0.3 s here);
        # the long variant exceeds redis-py's default window (about 4.6 s) too
        faulty.kill_and_restart(after=0.0, down_for=6.0 if LONG else 1.5)
        _produce(producer, 60 if LONG else 30, produced, pace=0.05)
        eventually(producer.ping)
        _produce(producer, 10, produced)
        _check_delivery(db, consumer, produced)
    assert consumer.worker.outages >= 1


def test_the_worker_gives_up_when_told(faulty: FaultyServer) -> None:
    db = faulty.open()
    group = db.consumer_group("workers", ["jobs"])
    group.create()
    worker = group.consume(block=100, give_up_after=0.5, max_backoff=0.1)
    faulty.kill()
    started = time.monotonic()
    with pytest.raises(RedisConnectionError):
        worker.run(lambda message: None)
    assert time.monotonic() - started < 5
    with pytest.raises(walrus.InvalidValue):
        group.consume(give_up_after=-1)


# -- loops of writes during faults -------------------------------------------------
class Loop:
    """Runs ``step(i)`` in a thread until stopped, sorting the outcomes."""

    def __init__(self, step: Callable[[int], Any]) -> None:
        self.step = step
        self.done: dict[int, Any] = {}  # i -> result, acknowledged
        self.unknown: list[int] = []  # OutcomeUnknown: may or may not have run
        self.failed: list[int] = []  # other connection errors: did not run
        self.unexpected: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            try:
                self.done[i] = self.step(i)
            except OutcomeUnknown:
                self.unknown.append(i)
            except RedisConnectionError:
                self.failed.append(i)
            except BaseException as exc:
                self.unexpected.append(exc)
                return
            i += 1
            time.sleep(0.01)

    def __enter__(self) -> Loop:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(15)

    def faults(self, faulty: FaultyServer) -> None:
        """A stall, then a kill -9 and restart, with the loop running."""
        time.sleep(0.3)
        with faulty.stalled(1.5):
            time.sleep(0.2)
        time.sleep(0.5)
        faulty.kill_and_restart(after=0.0, down_for=1.0).join()
        count = len(self.done)
        wait_for(lambda: len(self.done) > count + 5)  # working again


def test_a_model_save_loop_through_faults(faulty: FaultyServer) -> None:
    db = faulty.open()
    row_class, _ = _model(db)
    with Loop(lambda i: row_class.create(n=i).id) as loop:
        loop.faults(faulty)
    assert not loop.unexpected
    assert loop.unknown or loop.failed  # the faults were seen
    ids = [row.id for row in row_class.all()]
    assert len(ids) == len(set(ids))
    for i, row_id in loop.done.items():
        assert row_class.load(row_id).n == i  # every acknowledged save is there
    # one row from before the loop, one per acknowledged save, at most one
    # per save whose outcome is unknown, none for those that failed to send
    assert len(loop.done) + 1 <= len(ids) <= len(loop.done) + 1 + len(loop.unknown)


def test_a_cache_loop_through_faults(faulty: FaultyServer) -> None:
    db = faulty.open()
    cache = db.cache("faults")

    def step(i: int) -> Any:
        cache.set(f"k{i}", {"i": i})
        return cache.get(f"k{i}")

    with Loop(step) as loop:
        loop.faults(faulty)
    assert not loop.unexpected
    assert loop.unknown or loop.failed
    assert all(value == {"i": i} for i, value in loop.done.items())
    stored = cache.get_many([f"k{i}" for i in loop.done])
    assert stored == {f"k{i}": {"i": i} for i in loop.done}


# -- the rule itself (no server needed) ---------------------------------------------
def test_which_commands_may_be_sent_again() -> None:
    safe = [
        ("GET", "k"),
        (b"hgetall", "k"),
        ("XREAD", "COUNT", 1, "STREAMS", "s", "0"),
        ("EVALSHA_RO", "sha", 0),
        ("SCRIPT LOAD", "return 1"),
        ("SCRIPT", "LOAD", "return 1"),
        ("PING",),
        ("WATCH", "k"),
    ]
    once = [
        ("SET", "k", "v"),
        ("INCRBY", "k", 1),
        ("XADD", "s", "*", "a", 1),
        ("EVALSHA", "sha", 0),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"),
        ("XACK", "s", "g", "1-0"),
        ("BLPOP", "k", 1),
        ("FLUSHDB",),
        ("NOSUCHCOMMAND",),
        (),
    ]
    assert all(resend_safe(args) for args in safe)
    assert not any(resend_safe(args) for args in once)


class OwnRetry(Retry):
    """A user's retry policy class: wrapped, not copied."""


@pytest.mark.parametrize("policy", [Retry, OwnRetry])
def test_a_database_guards_any_retry_policy(policy: type[Retry]) -> None:
    db = walrus.Database(port=1, retry=policy(NoBackoff(), 5))
    guard = db.get_retry()
    # redis-py's own policy: a copy refusing OutcomeUnknown with its own check
    # (nothing of walrus's on every command's way); any other: wrapped
    assert refuses_unknown(guard)
    assert isinstance(guard, NoResendRetry) is (policy is OwnRetry)
    assert guard.get_retries() == 5
    sent: list[int] = []

    def lost_write() -> None:
        sent.append(1)
        raise OutcomeUnknown("lost", "INCR")

    with pytest.raises(OutcomeUnknown):
        guard.call_with_retry(lost_write, lambda error: None)
    assert sent == [1]  # not sent again
    assert isinstance(db.pipeline(), GuardedPipeline)
    walrus.Database(connection_pool=db.connection_pool)  # wrapped once only
    assert db.get_retry() is guard
    db.close()
