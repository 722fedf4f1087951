"""``db.atomic()`` as in walrus 0.9, on every backend and in both reply modes:
the ``tx`` handle (``tx.pipe``, ``commit()``, ``clear()``), ``db.pipe``,
nesting, exceptions, threads and the 0.9 transaction methods.

A block that writes several keys uses keys sharing a hash tag (``{t}k``,
``{t}n``): a cluster's transaction holds keys of one slot.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from support import Backend, round_trips, text

from walrus.exceptions import InvalidValue
from walrus.transactions import Atomic


def test_block_queues_then_commits(db: Any) -> None:
    with db.atomic() as tx:
        assert isinstance(tx, Atomic)
        tx.pipe.set("{t}k", "v")
        tx.pipe.incr("{t}n")
        assert db.get("{t}k") is None  # queued, not sent
        assert db.pipe is tx.pipe
    assert db.get("{t}k") == text(db, "v")
    assert db.get("{t}n") == text(db, "1")
    assert db.atomic_results() == [True, 1]


def test_handle_forwards_pipeline_commands(db: Any) -> None:
    with db.atomic() as tx:
        tx.set("k", 1)
        db.pipe.incrby("k", 2)
    assert db.get("k") == text(db, "3")


def test_one_round_trip_on_a_server(db: Any, backend: Backend) -> None:
    if not backend.server:
        pytest.skip("round trips are counted on a server")
    with round_trips(db) as counter, db.atomic() as tx:
        for i in range(10):
            tx.pipe.set(f"{{t}}k{i}", i)
    assert counter.round_trips == 1
    assert db.get("{t}k9") == text(db, "9")


def test_commit_and_clear_inside_the_block(db: Any) -> None:
    with db.atomic() as tx:
        tx.pipe.set("a", 1)
        assert tx.commit() == [True]
        assert db.get("a") == text(db, "1")  # sent now
        tx.pipe.set("b", 2)
        tx.clear()
        tx.pipe.set("c", 3)
        assert db.pipe is tx.pipe  # a fresh pipeline after commit/clear
    assert db.get("b") is None
    assert db.get("c") == text(db, "3")


def test_exception_discards_the_block(db: Any) -> None:
    with pytest.raises(ZeroDivisionError), db.atomic() as tx:
        tx.pipe.set("k", 1)
        1 / 0  # noqa: B018
    assert db.get("k") is None
    assert db._transaction_local.pipe is None
    with pytest.raises(RuntimeError):
        db.pipe  # noqa: B018


def test_nested_blocks_commit_when_they_exit(db: Any) -> None:
    with db.atomic() as outer:
        assert len(db._transaction_local.pipes) == 1
        with db.atomic() as inner:
            assert len(db._transaction_local.pipes) == 2
            inner.pipe.set("{t}inner", 1)
            assert db.pipe is inner.pipe
        assert db.get("{t}inner") == text(db, "1")
        assert db.pipe is outer.pipe
        outer.pipe.set("{t}outer", 1)
        with pytest.raises(KeyError), db.atomic() as failing:
            failing.pipe.set("{t}dropped", 1)
            raise KeyError("x")
        outer.pipe.set("{t}after", 1)
        assert db.get("{t}outer") is None
    assert db.exists("{t}inner", "{t}outer", "{t}after") == 3
    assert not db.exists("{t}dropped")
    assert db._transaction_local.pipes == []


def test_clear_in_a_nested_block(db: Any) -> None:
    with db.atomic() as a1:
        a1.pipe.set("k1", 1)
        with db.atomic() as a2:
            a2.pipe.set("k2", 2)
            a2.clear()
    assert db.get("k1") == text(db, "1")
    assert db.get("k2") is None


def test_handle_after_its_block(db: Any) -> None:
    with db.atomic() as tx:
        pass
    for ended in (tx.commit, tx.clear, lambda: tx.pipe):
        with pytest.raises(InvalidValue, match="atomic"):
            ended()


def test_transaction_methods_of_walrus_09(db: Any) -> None:
    pipe = db.get_transaction()
    assert db.pipe is pipe
    pipe.set("a", 1)
    assert db.commit_transaction() == [True]
    assert db.get("a") == text(db, "1")
    db.get_transaction().set("b", 1)
    db.clear_transaction()
    assert db.get("b") is None
    for method in (db.commit_transaction, db.clear_transaction):
        with pytest.raises(ValueError, match=method.__name__):
            method()


def test_each_thread_has_its_own_blocks(db: Any) -> None:
    seen: list[Any] = []
    with db.atomic() as tx:
        tx.pipe.set("main", 1)

        def other() -> None:
            seen.append(db._transaction_local.pipe)
            with db.atomic() as mine:
                mine.pipe.set("thread", 1)
                seen.append(db.pipe is mine.pipe)

        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
        assert db.get("thread") == text(db, "1")
        assert db.pipe is tx.pipe
    assert seen == [None, True]
    assert db.get("main") == text(db, "1")
