"""Array: a list with O(1) indexing in a hash, on every backend and reply mode."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from async_portal import twin
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from support import Backend, round_trips, run_stateful, text

from walrus import Array, WrongType


def texts(db: Any, values: Any) -> list[Any]:
    return [text(db, str(v)) for v in values]


def test_reference_example(db: Any) -> None:
    a = db.Array("arr")
    a.extend(["foo", "bar", "baz", "nugget"])
    a[-1] = "nize"
    assert list(a) == texts(db, ["foo", "bar", "baz", "nize"])
    assert a.pop(2) == text(db, "baz")


def test_index_errors_and_negative_indexes(db: Any) -> None:
    a = twin(db, Array).from_list(db, "a", ["x", "y", "z"])
    assert a[0] == text(db, "x")
    assert a[-1] == text(db, "z")
    assert a[-3] == text(db, "x")
    for bad in (3, -4, 100):
        assert a[bad] is None  # as in walrus 0.9
        with pytest.raises(IndexError):
            a[bad] = "q"
        with pytest.raises(IndexError):
            del a[bad]
        with pytest.raises(IndexError):
            a.pop(bad)
    with pytest.raises(TypeError):
        a["0"]
    with pytest.raises(IndexError):
        db.Array("empty").pop()
    assert db.Array("empty")[0] is None
    assert a.as_list() == texts(db, ["x", "y", "z"])  # nothing was written


def test_iterates_in_index_order_past_ten(db: Any) -> None:
    a = twin(db, Array).from_list(db, "a", range(25))
    assert list(a) == texts(db, range(25))
    assert a.as_list() == texts(db, range(25))
    assert a.as_list(decode=True) == [str(i) for i in range(25)]
    assert len(a) == 25


def test_pop_and_delete_shift_items(db: Any) -> None:
    a = twin(db, Array).from_list(db, "a", "abcde")
    assert a.pop() == text(db, "e")
    assert a.pop(0) == text(db, "a")
    del a[1]
    assert list(a) == texts(db, "bd")
    assert a.append("f") == 3
    assert list(a) == texts(db, "bdf")


def test_contains_extend_from_list(db: Any) -> None:
    a = db.Array("a")
    a.extend([])
    assert not db.exists("a")
    a.extend(["北京", 1, 2.5])
    assert "北京" in a
    assert 1 in a
    assert "2.5" in a
    assert "nope" not in a
    b = twin(db, Array).from_list(db, "a", ["new"], clear=True)
    assert b.as_list(decode=True) == ["new"]
    assert twin(db, Array).from_list(db, "a", ["more"]).as_list(decode=True) == [
        "new",
        "more",
    ]


def test_reads_walrus_09_layout(db: Any) -> None:
    db.hset("old", mapping={"0": "a", "1": "b", "2": "c"})
    assert db.Array("old").as_list(decode=True) == ["a", "b", "c"]
    assert db.Array("old")[-1] == text(db, "c")


@pytest.mark.parametrize("bad", [None, [1], object(), True])
def test_bad_values(db: Any, bad: Any) -> None:
    a = db.Array("a")
    with pytest.raises(TypeError, match=type(bad).__name__):
        a.append(bad)
    with pytest.raises(TypeError, match=type(bad).__name__):
        a.extend(["ok", bad])
    assert not db.exists("a")


def test_wrong_type(db: Any) -> None:
    db.rpush("l", "x")
    a = db.Array("l")
    for operation in (lambda: a.append(1), lambda: a[0], lambda: list(a), a.pop):
        with pytest.raises(WrongType, match="list"):
            operation()


def test_concurrent_appends_lose_nothing_and_keep_order(db: Any) -> None:
    threads, per_thread = 4, 50

    def append(n: int) -> None:
        array = db.Array("shared")
        for i in range(per_thread):
            array.append(f"{n}:{i}")

    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    items = db.Array("shared").as_list(decode=True)
    assert len(items) == threads * per_thread
    for n in range(threads):
        mine = [int(v.split(":")[1]) for v in items if v.startswith(f"{n}:")]
        assert mine == list(range(per_thread))


def test_round_trips(db: Any, backend: Backend) -> None:
    a = twin(db, Array).from_list(db, "a", range(20))
    operations: list[Callable[[], Any]] = [
        lambda: a.append(1),
        lambda: a.extend([1, 2]),
        lambda: a[3],
        lambda: a[-1],
        lambda: a.__setitem__(2, "x"),
        lambda: a.__delitem__(4),
        lambda: a.pop(),
        lambda: a.pop(1),
        lambda: len(a),
        lambda: "x" in a,
        lambda: list(iter(a)),
        a.as_list,
        lambda: twin(db, Array).from_list(db, "b", [1, 2], clear=True),
    ]
    for operation in operations:
        operation()  # loads any script first
        if backend.server:
            with round_trips(db) as counter:
                operation()
            assert counter.round_trips == 1
    big = twin(db, Array).from_list(db, "big", range(2500))
    if backend.server:
        with round_trips(db) as counter:
            assert list(iter(big)) == texts(db, range(2500))
        assert counter.round_trips <= 3 + 1


class ArrayMachine(RuleBasedStateMachine):
    """An Array against a Python list of str."""

    database: Any = None
    values = st.sampled_from(["a", "b", "ü", ""])
    indexes = st.integers(-5, 5)

    def __init__(self) -> None:
        super().__init__()
        self.array = twin(self.database, Array)(
            self.database, f"machine:{uuid.uuid4().hex}"
        )
        self.model: list[str] = []

    def inside(self, index: int) -> bool:
        return -len(self.model) <= index < len(self.model)

    @rule(value=values)
    def append(self, value: str) -> None:
        assert self.array.append(value) == len(self.model) + 1
        self.model.append(value)

    @rule(values=st.lists(values, max_size=3))
    def extend(self, values: list[str]) -> None:
        self.array.extend(values)
        self.model.extend(values)

    @rule(index=indexes, value=values)
    def set(self, index: int, value: str) -> None:
        if self.inside(index):
            self.array[index] = value
            self.model[index] = value
        else:
            with pytest.raises(IndexError):
                self.array[index] = value

    @rule(index=indexes)
    def get(self, index: int) -> None:
        if self.inside(index):
            assert self.array[index] == text(self.database, self.model[index])
        else:
            assert self.array[index] is None

    @precondition(lambda self: self.model)
    @rule(index=st.one_of(st.none(), indexes))
    def pop(self, index: int | None) -> None:
        if index is None:
            assert self.array.pop() == text(self.database, self.model.pop())
        elif self.inside(index):
            assert self.array.pop(index) == text(self.database, self.model.pop(index))
        else:
            with pytest.raises(IndexError):
                self.array.pop(index)

    @rule(value=values)
    def contains(self, value: str) -> None:
        assert (value in self.array) == (value in self.model)

    @invariant()
    def same_items(self) -> None:
        expected = [text(self.database, v) for v in self.model]
        assert list(self.array) == expected
        assert self.array.as_list() == expected
        assert len(self.array) == len(self.model)

    def teardown(self) -> None:
        self.array.clear()


def test_stateful(db: Any) -> None:
    ArrayMachine.database = db
    run_stateful(ArrayMachine, db)
