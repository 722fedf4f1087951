"""StreamWorker (cg.consume()): ack on success, reclaim, dead letters, stop."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from support import Backend, nodes_of, require_streams, round_trips, text

from walrus import (
    Delivery,
    InvalidType,
    InvalidValue,
    StreamWorker,
    UnknownGroup,
    WrongType,
)
from walrus.features.group_stream import slot_groups


@pytest.fixture(autouse=True)
def _needs_streams(db: Any, backend: Backend) -> None:
    require_streams(db, backend, "stream_worker")


def value(db: Any, delivery: Delivery, name: str = "n") -> str:
    raw = delivery.data[text(db, name)]
    return raw if isinstance(raw, str) else raw.decode()


def make_group(db: Any, keys: Any = "jobs", n: int = 0) -> Any:
    cg = db.consumer_group("workers", keys)
    cg.create()
    first = next(iter(cg.streams.values()))
    for i in range(n):
        first.add({"n": str(i)})
    return cg


def test_iteration_acks_each_message_after_its_body(db: Any) -> None:
    cg = make_group(db, n=5)
    worker = cg.consume(block=10, count=2, stop_when_empty=True)
    assert isinstance(worker, StreamWorker)
    seen = [value(db, d) for d in worker]
    assert seen == ["0", "1", "2", "3", "4"]
    assert worker.processed == 5
    assert cg.streams["jobs"].pending() == []


def test_an_exception_in_the_body_leaves_the_message_pending(db: Any) -> None:
    cg = make_group(db, n=3)
    with pytest.raises(RuntimeError):
        for delivery in cg.consume(block=10, count=3):
            if value(db, delivery) == "1":
                raise RuntimeError("boom")
    pending = [p["message_id"] for p in cg.streams["jobs"].pending()]
    ids = [m[0] for m in cg.streams["jobs"].range()]
    assert pending == ids[1:]  # "0" was acked; "1" failed; "2" never handled


def test_nack_keeps_a_message_pending(db: Any) -> None:
    cg = make_group(db, n=2)
    for delivery in cg.consume(block=10, stop_when_empty=True):
        if value(db, delivery) == "0":
            delivery.nack()
    [pending] = cg.streams["jobs"].pending()
    assert pending["message_id"] == cg.streams["jobs"].range()[0][0]


def test_two_consumers_share_the_work(db: Any) -> None:
    cg = make_group(db, keys=["jobs", "more"], n=20)
    for i in range(6):
        cg.streams["more"].add({"n": f"m{i}"})
    seen: dict[str, list[str]] = {"w1": [], "w2": []}
    lock = threading.Lock()

    def work(name: str) -> None:
        worker = cg.consumer(name).consume(block=50, count=3, stop_when_empty=True)

        def handle(delivery: Delivery) -> None:
            time.sleep(0.005)
            with lock:
                seen[name].append(value(db, delivery))

        worker.run(handle)

    threads = [threading.Thread(target=work, args=(n,)) for n in seen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    everything = seen["w1"] + seen["w2"]
    assert sorted(everything) == sorted(
        [str(i) for i in range(20)] + [f"m{i}" for i in range(6)]
    )
    assert seen["w1"] and seen["w2"]
    assert cg.streams["jobs"].pending() == []
    assert cg.streams["more"].pending() == []


def test_a_crashing_handler_is_retried_then_dead_lettered(db: Any) -> None:
    cg = make_group(db)
    s = cg.streams["jobs"]
    good = s.add({"n": "good"})
    bad = s.add({"n": "bad"})
    attempts: list[int] = []

    def handle(delivery: Delivery) -> None:
        if value(db, delivery) == "bad":
            attempts.append(delivery.times_delivered)
            raise ValueError("cannot handle this one")

    worker = cg.consume(
        block=10,
        claim_idle=0,
        claim_every=0,
        max_deliveries=3,
        dead_letter="jobs:dead",
        stop_when_empty=True,
    )
    assert worker.run(handle) == 1  # only "good" was acknowledged
    assert attempts == [1, 2, 3]
    assert worker.failed == 3
    assert worker.dead_lettered == 1
    assert s.pending() == []
    [(_, dead)] = db.xrange("jobs:dead")
    assert dead == {
        text(db, "n"): text(db, "bad"),
        text(db, "walrus-stream"): text(db, "jobs"),
        text(db, "walrus-id"): bad,
        text(db, "walrus-group"): text(db, "workers"),
        text(db, "walrus-deliveries"): text(db, "3"),
    }
    assert s.get(good) is not None  # acked messages stay in the stream


def test_a_dead_consumers_messages_are_reclaimed(db: Any) -> None:
    cg = make_group(db, n=3)
    taken = cg.consumer("dead").read()  # read, then the consumer "dies"
    assert len(taken[0][1]) == 3
    time.sleep(0.06)
    worker = cg.consume(block=10, claim_idle=50, stop_when_empty=True)
    got = [(value(db, d), d.times_delivered) for d in worker]
    assert got == [("0", 2), ("1", 2), ("2", 2)]
    assert cg.streams["jobs"].pending() == []
    # default dead-letter key: the group's
    assert worker.dead_letter == "workers:dead-letter"


def test_stop_from_another_thread_finishes_the_current_message(db: Any) -> None:
    cg = make_group(db, n=5)
    worker = cg.consume(block=50, count=5)
    started, finished = threading.Event(), []

    def handle(delivery: Delivery) -> None:
        started.set()
        time.sleep(0.2)
        finished.append(value(db, delivery))

    thread = threading.Thread(target=worker.run, args=(handle,))
    thread.start()
    assert started.wait(10)
    worker.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert finished == ["0"]
    assert worker.processed == 1
    assert len(cg.streams["jobs"].pending()) == 4  # read but not handled


def test_stop_while_waiting_returns_within_block(db: Any) -> None:
    cg = make_group(db)
    worker = cg.consume(block=50)
    thread = threading.Thread(target=worker.run, args=(lambda d: None,))
    thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    worker.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 2


@pytest.mark.sync_only(
    "signals reach the main thread; the portal's loop runs in another"
)
def test_stop_on_signals(db: Any) -> None:
    worker = make_group(db).consume(block=10)
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        worker.stop_on_signals(signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR1)
        assert worker.stopped
        assert list(worker) == []
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_bad_options(db: Any) -> None:
    cg = db.consumer_group("g", "s")
    for options in ({"count": 0}, {"block": -1}, {"max_deliveries": 0}):
        with pytest.raises(InvalidValue):
            cg.consume(**options)
    with pytest.raises(InvalidType):
        cg.consume(claim_idle=1.5)
    assert db.dbsize() == 0


@pytest.mark.parametrize("keys", [["jobs", "more"], ["{jobs}:a", "{jobs}:b"]])
def test_steady_state_is_one_read_and_one_ack_per_batch(
    db: Any, backend: Backend, keys: list[str]
) -> None:
    """One read and one ack per batch: on a cluster, one of each per node the
    streams are on ("jobs" and "more" are on two nodes, "{jobs}:*" on one)."""
    cg = make_group(db, keys=keys, n=6)
    for i in range(3):
        cg.streams[keys[1]].add({"n": f"m{i}"})
    worker = cg.consume(block=10, count=3, claim_idle=60_000)
    deliveries = iter(worker)
    first = [next(deliveries) for _ in range(6)]  # reclaim + read (both streams)
    assert len(first) == 6
    if backend.server:
        with round_trips(db) as sent:
            second = [next(deliveries) for _ in range(3)]
        # ack of the first batch, one read
        assert sent.round_trips == 2 * nodes_of(db, keys)
    else:
        second = [next(deliveries) for _ in range(3)]
    assert [value(db, d) for d in second] == ["3", "4", "5"]
    worker.stop()
    assert list(deliveries) == []
    assert cg.streams[keys[0]].pending() == []
    assert cg.streams[keys[1]].pending() == []


@pytest.mark.parametrize("keys", [["jobs", "more"], ["{jobs}:a", "{jobs}:b"]])
def test_a_blocking_worker_sees_every_stream_and_stops(
    db: Any, keys: list[str]
) -> None:
    """The worker blocks by default: over streams in several slots of a
    cluster it polls them all, and stop() ends the wait."""
    cg = make_group(db, keys=keys)
    worker = cg.consume(block=2000)
    seen: list[str] = []

    def handle(delivery: Delivery) -> None:
        seen.append(value(db, delivery))
        if len(seen) == len(keys):
            worker.stop()

    thread = threading.Thread(target=worker.run, args=(handle,))
    thread.start()
    for key in keys:
        time.sleep(0.1)
        db.xadd(key, {"n": key})
    thread.join(5)
    assert not thread.is_alive()
    assert seen == keys
    idle = cg.consume(block=2000)
    thread = threading.Thread(target=idle.run, args=(lambda d: None,))
    thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    idle.stop()
    thread.join(5)
    assert not thread.is_alive()
    if len(slot_groups(db, keys)) > 1:  # polling notices stop() between reads
        assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("dead_letter", ["jobs:dead", "{jobs}:dead"])
def test_a_crash_between_dead_letter_and_ack_loses_nothing(
    db: Any, dead_letter: str
) -> None:
    """The dead-letter copy and the ack are one transaction when they share
    a slot; otherwise the copy goes first, and a crash before the ack leaves
    the message pending: it is dead-lettered again, never lost."""
    cg = make_group(db, keys="{jobs}:a")
    bad = cg.streams["{jobs}:a"].add({"n": "bad"})
    worker = cg.consume(
        block=10,
        claim_idle=0,
        claim_every=0,
        max_deliveries=1,
        dead_letter=dead_letter,
        stop_when_empty=True,
        max_backoff=0.01,
    )
    execute = worker._execute
    crashed: list[int] = []

    def crash_once_after_the_copy(pipe: Any) -> Any:
        if not crashed and db.exists(dead_letter):  # the next step is not sent
            crashed.append(1)
            raise RedisConnectionError("the worker lost the server here")
        return execute(pipe)

    worker._execute = crash_once_after_the_copy  # type: ignore[method-assign]
    logging.disable(logging.ERROR)
    try:
        worker.run(lambda d: d.nack())
    finally:
        logging.disable(logging.NOTSET)
    copies = [fields for _, fields in db.xrange(dead_letter)]
    atomic = len(slot_groups(db, ["{jobs}:a", dead_letter])) == 1
    assert len(copies) == (1 if atomic else 2)  # twice, never zero
    assert {c[text(db, "walrus-id")] for c in copies} == {bad}
    assert cg.streams["{jobs}:a"].pending() == []
    assert crashed == ([] if atomic else [1])  # atomic: no step in between


def test_a_missing_group_is_a_clear_error(db: Any) -> None:
    db.xadd("s", {"a": "1"})
    with pytest.raises(UnknownGroup, match="nope"):
        list(db.consumer_group("nope", "s").consume(block=10))
    db.hset("h", "a", "1")
    with pytest.raises(WrongType):
        list(db.consumer_group("g", "h").consume(block=10))


def _worker_scenario(db: Any) -> list[Any]:
    cg = make_group(db, keys=["jobs", "more"])
    for i in range(3):
        cg.streams["jobs"].add({"n": str(i)}, id=f"{i + 1}-0")
    cg.streams["more"].add({"n": "x"}, id="1-0")
    cg.consumer("dead").read(count=1)
    seen: list[Any] = []

    def handle(delivery: Delivery) -> None:
        seen.append(
            (
                delivery.stream,
                delivery.message_id,
                delivery.data,
                delivery.times_delivered,
            )
        )
        if value(db, delivery) == "1":
            raise ValueError("boom")

    worker = cg.consume(
        block=10, claim_idle=0, claim_every=0, max_deliveries=2, stop_when_empty=True
    )
    logging.disable(logging.ERROR)
    try:
        acked = worker.run(handle)
    finally:
        logging.disable(logging.NOTSET)
    dead = [fields for _, fields in db.xrange(worker.dead_letter)]  # ids: clock
    return [seen, acked, dead, cg.read()]


def test_worker_gives_the_same_under_resp2_and_resp3(db: Any, resp3: Any) -> None:
    first = _worker_scenario(db)
    assert first[1] == 3  # "0" and "x" reclaimed from "dead", "2"; "1" buried
    assert len(first[2]) == 1
    db.flushdb()
    assert _worker_scenario(resp3) == first


# -- outages (a lost reply, simulated on every backend) ---------------------------
def test_a_lost_read_reply_is_recovered_from_pending(db: Any) -> None:
    cg = make_group(db, n=6)
    worker = cg.consume(block=10, count=3, stop_when_empty=True, max_backoff=0.01)
    read = worker._read_ids
    lost: list[Any] = []

    def reply_lost(ids: Any, block: Any) -> Any:
        batch = read(ids, block)  # the engine delivered them to this consumer
        if not lost:
            lost.append(batch)
            raise RedisConnectionError("the reply was lost")
        return batch

    worker._read_ids = reply_lost  # type: ignore[method-assign]
    seen = [value(db, d) for d in worker]
    assert len(lost[0]) == 3
    assert seen == [str(i) for i in range(6)]  # each once, none lost
    assert worker.outages == 1
    assert cg.streams["jobs"].pending() == []


def test_a_lost_ack_reply_is_not_a_second_delivery(db: Any) -> None:
    cg = make_group(db, n=4)
    worker = cg.consume(block=10, count=2, stop_when_empty=True, max_backoff=0.01)
    execute = worker._execute
    failures: list[int] = []

    def ack_reply_lost(pipe: Any) -> Any:
        result = execute(pipe)  # acknowledged by the engine
        if not failures:
            failures.append(1)
            raise RedisConnectionError("the reply was lost")
        return result

    worker._execute = ack_reply_lost  # type: ignore[method-assign]
    seen = [value(db, d) for d in worker]
    assert seen == ["0", "1", "2", "3"]
    assert worker.processed == 4
    assert cg.streams["jobs"].pending() == []


def test_the_worker_gives_up_after_the_outage_it_is_told(db: Any) -> None:
    cg = make_group(db, n=1)
    worker = cg.consume(block=10, give_up_after=0.05, max_backoff=0.01)

    def down(ids: Any, block: Any) -> Any:
        raise RedisConnectionError("down")

    worker._read_ids = down  # type: ignore[method-assign]
    with pytest.raises(RedisConnectionError):
        worker.run(lambda message: None)
    assert worker.outages == 1
    stopped = cg.consume(block=10, max_backoff=0.01)
    stopped._read_ids = down  # type: ignore[method-assign]
    threading.Timer(0.05, stopped.stop).start()
    assert stopped.run(lambda message: None) == 0  # stop() ends the waiting
    for bad in (-1, "1", True):
        with pytest.raises((InvalidValue, InvalidType)):
            cg.consume(give_up_after=bad)
        with pytest.raises((InvalidValue, InvalidType)):
            cg.consume(max_backoff=bad)
