"""Counter: atomic integer; every backend, both reply modes."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from support import Backend, round_trips
from test_lock import run_processes

from walrus import Counter


def test_incr_decr_value(db: Any) -> None:
    counter = db.counter("hits")
    assert isinstance(counter, Counter)
    assert counter.value() == 0
    assert counter.incr() == 1
    assert counter.incr(10) == 11
    assert counter.decr() == 10
    assert counter.decr(4) == 6
    assert counter.value() == 6
    assert db.get("hits") in (b"6", "6")


@pytest.mark.sync_only("int(counter): await counter.value() in async code")
def test_int_of_a_counter(db: Any) -> None:
    counter = db.counter("hits")
    counter.incr(6)
    assert int(counter) == 6


@pytest.mark.sync_only("operators: incr(), decr() and value() in async code")
def test_in_place_operators_change_the_counter(db: Any) -> None:
    counter = db.counter("c")
    counter += 5
    assert isinstance(counter, Counter)
    counter -= 2
    assert counter.value() == 3


@pytest.mark.sync_only("operators: incr(), decr() and value() in async code")
def test_binary_operators_return_values_without_mutating(db: Any) -> None:
    """walrus 0.9's + and - changed the counter in place."""
    counter = db.counter("c")
    counter.incr(10)
    assert counter + 5 == 15
    assert counter - 3 == 7
    assert 5 + counter == 15
    assert 20 - counter == 10
    assert counter.value() == 10
    result = counter + 1
    assert type(result) is int


@pytest.mark.sync_only("operators: incr(), decr() and value() in async code")
def test_comparisons_with_ints(db: Any) -> None:
    counter = db.counter("c")
    counter.incr(3)
    assert counter == 3
    assert counter != 4
    assert counter < 4
    assert counter <= 3
    assert counter > 2
    assert counter >= 3
    assert counter > 2
    other = db.counter("d")
    other.incr(3)
    assert counter == other
    assert counter != "3"
    with pytest.raises(TypeError):
        assert counter < "4"


def test_bad_amounts_write_nothing(db: Any) -> None:
    counter = db.counter("c")
    for bad in (1.5, "2", None, True):
        with pytest.raises(TypeError):
            counter.incr(bad)
        with pytest.raises(TypeError):
            counter + bad
    assert not db.exists("c")


def test_creation_does_not_overwrite_a_concurrent_increment(db: Any) -> None:
    db.counter("c").incr(7)
    counter = db.counter("c")
    assert counter.value() == 7
    assert db.counter("c").incr() == 8


def test_one_round_trip_each(db: Any, backend: Backend) -> None:
    counter = db.counter("c")
    for op in (counter.incr, counter.decr, counter.value):
        with round_trips(db) as sent:
            op()
        if backend.server:
            assert sent.round_trips == 1


@pytest.mark.sync_only("counter += 2: an operator")
def test_threads_sum_exactly(db: Any) -> None:
    def work() -> None:
        counter = db.counter("shared")  # created while others increment
        for _ in range(50):
            counter.incr()
            counter += 2
            counter.decr()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert db.counter("shared").value() == 8 * 50 * 2


@pytest.mark.sync_only("processes")
def test_processes_sum_exactly_on_a_server(db: Any, backend: Backend) -> None:
    if not backend.server:
        pytest.skip("embedded databases are shared by threads; processes on servers")

    def work() -> None:
        counter = db.counter("shared")
        for _ in range(100):
            counter += 1

    run_processes(work)
    assert db.counter("shared") == 400


@pytest.mark.sync_only("operators: incr(), decr() and value() in async code")
def test_an_operator_is_one_round_trip(db: Any, backend: Backend) -> None:
    counter = db.counter("c")
    with round_trips(db) as sent:
        assert counter + 1 == 1
    if backend.server:
        assert sent.round_trips == 1
