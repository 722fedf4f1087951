"""List: a Redis list with Python list semantics, on every backend and reply mode.

Moves between lists and SORT ... STORE use keys that share a hash tag
(``{k}l``, ``{k}other``): a cluster runs them only within one slot, every
other backend ignores the braces.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from async_portal import twin
from cross_slot import cluster_only, refused_across_slots
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from support import Backend, one_round_trip, round_trips, run_stateful, text

from walrus import List, WrongType
from walrus.exceptions import CrossSlot


def texts(db: Any, values: list[str]) -> list[Any]:
    return [text(db, v) for v in values]


def test_reference_example(db: Any) -> None:
    names = db.List("names")
    assert names.extend(["charlie", "huey", "mickey", "zaizee"]) == 4
    assert names[:2] == texts(db, ["charlie", "huey"])
    assert names[-2:] == texts(db, ["mickey", "zaizee"])
    assert names.pop() == text(db, "zaizee")
    assert names.prepend("scout") == 4
    assert len(names) == 4


ITEMS = ["a", "b", "c", "d", "e"]
SLICES = [
    slice(None, 0),
    slice(0, 0),
    slice(2, 1),
    slice(None, None),
    slice(1, None),
    slice(-2, None),
    slice(None, -1),
    slice(-10, 10),
    slice(10, None),
    slice(None, -10),
    slice(None, None, 2),
    slice(None, None, -1),
    slice(4, 0, -2),
    slice(-1, -4, -1),
    slice(1, 4, 3),
]


@pytest.mark.parametrize("index", SLICES, ids=str)
def test_slices_read_like_python(db: Any, index: slice) -> None:
    lst = twin(db, List).from_list(db, "l", ITEMS)
    assert lst[index] == texts(db, ITEMS[index])


@pytest.mark.parametrize("index", SLICES, ids=str)
def test_slices_delete_like_python(db: Any, index: slice) -> None:
    lst = twin(db, List).from_list(db, "l", ITEMS)
    model = list(ITEMS)
    del lst[index]
    del model[index]
    assert lst.as_list() == texts(db, model)


def test_indexes_like_python(db: Any) -> None:
    lst = twin(db, List).from_list(db, "l", ITEMS)
    assert lst[0] == text(db, "a")
    assert lst[-1] == text(db, "e")
    assert lst[-5] == text(db, "a")
    for bad in (5, -6, 100):
        with pytest.raises(IndexError):
            lst[bad]
        with pytest.raises(IndexError):
            lst[bad] = "x"
        with pytest.raises(IndexError):
            del lst[bad]
        with pytest.raises(IndexError):
            lst.pop(bad)
    with pytest.raises(IndexError):
        db.List("empty")[0]
    with pytest.raises(IndexError):
        db.List("empty").pop()
    with pytest.raises(IndexError):
        db.List("empty")[0] = "x"
    with pytest.raises(TypeError):
        lst["a"]
    with pytest.raises(TypeError):
        lst[1:2] = ["x"]


def test_del_by_index_not_by_value(db: Any) -> None:
    lst = twin(db, List).from_list(db, "l", ["x", "1", "x", "0"])
    del lst[1]
    assert lst.as_list() == texts(db, ["x", "x", "0"])
    del lst[-3]
    assert lst.as_list() == texts(db, ["x", "0"])
    lst[-1] = "z"
    assert lst.as_list(decode=True) == ["x", "z"]


def test_insert_like_python(db: Any) -> None:
    model = ["a", "b", "c"]
    lst = twin(db, List).from_list(db, "l", model)
    for index, value in [(0, "s"), (2, "m"), (-1, "n"), (100, "e"), (-100, "f")]:
        lst.insert(index, value)
        model.insert(index, value)
    assert lst.as_list() == texts(db, model)
    db.List("new").insert(5, "only")
    assert db.List("new").as_list() == texts(db, ["only"])


def test_pop_ends_and_middle(db: Any) -> None:
    lst = twin(db, List).from_list(db, "l", ITEMS)
    assert lst.pop(0) == text(db, "a")
    assert lst.pop(1) == text(db, "c")
    assert lst.pop(-2) == text(db, "d")
    assert lst.pop() == text(db, "e")
    assert lst.popleft() == text(db, "b")
    assert lst.popleft() is None
    assert lst.popright() is None


def test_insert_like_walrus_09(db: Any) -> None:
    """insert(value, pivot, where) next to Python's insert(index, value)."""
    lst = db.List("l")
    lst.extend(["a", "c"])
    assert lst.insert("b", "c", "before") == 3
    assert lst.insert("d", "c", "AFTER") == 4
    assert lst.insert("x", "missing", "after") == -1
    assert lst.insert(0, "first") is None
    assert lst.as_list(decode=True) == ["first", "a", "b", "c", "d"]
    with pytest.raises(ValueError, match="before"):
        lst.insert("s", "c", "beside")
    assert len(lst) == 5


def test_walrus_methods(db: Any) -> None:
    lst = db.List("{k}l")
    assert lst.append("b") == 1
    assert lst.prepend("a") == 2
    assert lst.extend(["c", "d"]) == 4
    assert lst.extend([]) == 4
    assert lst.insert_before("x", "c") == 5
    assert lst.insert_after("y", "c") == 6
    assert lst.insert_after("z", "missing") == -1
    assert lst.as_list(decode=True) == ["a", "b", "x", "c", "y", "d"]
    assert lst.popright() == text(db, "d")
    assert lst.popleft() == text(db, "a")
    assert lst.move_tail("{k}other") == text(db, "y")
    assert db.List("{k}other").as_list() == texts(db, ["y"])
    assert lst.bmove_tail("{k}other", 1) == text(db, "c")
    assert "x" in lst
    assert "zz" not in lst
    assert lst.index("x") == 1
    assert lst.count("b") == 1
    assert list(reversed(lst)) == texts(db, ["x", "b"])


def test_extend_nothing_writes_nothing(db: Any) -> None:
    assert db.List("l").extend([]) == 0
    assert not db.exists("l")


def test_blocking_pops(db: Any) -> None:
    lst = twin(db, List).from_list(db, "l", ["a", "b"])
    assert lst.bpopleft(1) == text(db, "a")
    assert lst.bpopright(1) == text(db, "b")
    started = time.monotonic()
    assert lst.bpopleft(1) is None
    assert time.monotonic() - started >= 0.5

    def push() -> None:
        time.sleep(0.2)
        db.List("l").append("late")

    pusher = threading.Thread(target=push)
    pusher.start()
    assert lst.bpopright(5) == text(db, "late")
    pusher.join()


def test_sort(db: Any) -> None:
    lst = twin(db, List).from_list(db, "l", ["c", "a", "b"])
    assert lst.sort() == texts(db, ["a", "b", "c"])
    assert lst.sort(ordering="DESC", limit=2) == texts(db, ["c", "b"])
    assert lst.sort(offset=1) == texts(db, ["b", "c"])
    nums = twin(db, List).from_list(db, "{k}n", [3, 10, 2])
    assert nums.sort(alpha=False) == texts(db, ["2", "3", "10"])
    assert nums.sort(alpha=False, store="{k}sorted") == 3
    assert db.List("{k}sorted").as_list() == texts(db, ["2", "3", "10"])


def test_sort_by_and_get_other_keys_of_its_slot(db: Any) -> None:
    ids = twin(db, List).from_list(db, "{g}ids", [1, 2, 3])
    for i, (weight, name) in enumerate([(3, "c"), (1, "a"), (2, "b")], 1):
        db.set(f"{{g}}weight_{i}", weight)
        db.hset(f"{{g}}row:{i}", "name", name)
    assert ids.sort(pattern="{g}weight_*", alpha=False) == texts(db, ["2", "3", "1"])
    names = ids.sort(pattern="nosort", get_pattern="{g}row:*->name")
    assert names == texts(db, ["c", "a", "b"])


def test_keys_in_different_slots_raise_cross_slot(db: Any, backend: Backend) -> None:
    cluster_only(backend)
    a = twin(db, List).from_list(db, "a", ["1", "2"])
    refused_across_slots(lambda: a.move_tail("b"), "a", "b")
    refused_across_slots(lambda: a.bmove_tail("b", 1), "a", "b")
    refused_across_slots(lambda: a.sort(store="b"), "a", "b")
    db.set("weight_1", 1)
    for option in ("pattern", "get_pattern"):
        with pytest.raises(CrossSlot, match=r"the sorted key's hash tag, e\.g\."):
            a.sort(**{option: "weight_*"})
    assert a.as_list(decode=True) == ["1", "2"]  # nothing was written
    assert sorted(db) == [text(db, "a"), text(db, "weight_1")]


def test_from_list_and_unicode(db: Any) -> None:
    twin(db, List).from_list(db, "l", ["old"])
    lst = twin(db, List).from_list(db, "l", ["北京", "ü", 1, 2.5, b"raw"], clear=True)
    assert lst.as_list(decode=True) == ["北京", "ü", "1", "2.5", "raw"]
    assert twin(db, List).from_list(db, "l", []).as_list(decode=True)[0] == "北京"


@pytest.mark.parametrize("bad", [None, [1], object(), True])
def test_bad_values_are_type_errors(db: Any, bad: Any) -> None:
    lst = db.List("l")
    for operation in (lst.append, lst.prepend, lambda v: lst.extend(["ok", v])):
        with pytest.raises(TypeError, match=type(bad).__name__):
            operation(bad)
    assert not db.exists("l")


def test_wrong_type(db: Any) -> None:
    db.set("s", "x")
    lst = db.List("s")
    for operation in (
        lambda: lst.append(1),
        lambda: lst[0],
        lambda: lst.pop(2),
        lambda: lst.insert(1, "x"),
        lambda: lst.__delitem__(slice(1, 2)),
    ):
        with pytest.raises(WrongType, match="string"):
            operation()


def test_get_key_returns_a_list(db: Any) -> None:
    db.rpush("l", "x")
    assert db.get_key("l") == db.List("l")


def test_round_trips(db: Any, backend: Backend) -> None:
    lst = twin(db, List).from_list(db, "{k}l", range(20))

    def find() -> int | None:
        try:
            return lst.index("1", -10)
        except ValueError:
            return None

    operations: list[Callable[[], Any]] = [
        lambda: lst[3],
        lambda: lst[2:5],
        lambda: lst[::3],
        lambda: lst.__setitem__(1, "x"),
        lambda: lst.__delitem__(2),
        lambda: lst.__delitem__(slice(1, 3)),
        lambda: lst.__delitem__(slice(None, None, 4)),
        lambda: lst.insert(3, "y"),
        lambda: lst.pop(),
        lambda: lst.pop(0),
        lambda: lst.pop(2),
        lambda: lst.append(1),
        lambda: lst.prepend(1),
        lambda: lst.extend([1, 2]),
        lambda: lst.insert_before(0, "y"),
        lambda: lst.insert_after(0, "y"),
        lst.popleft,
        lst.popright,
        lambda: lst.move_tail("{k}other"),
        lambda: lst.as_list(),
        lambda: len(lst),
        lambda: twin(db, List).from_list(db, "l2", [1], clear=True),
        lambda: lst.sort(),
        lambda: "1" in lst,
        lambda: lst.count("1"),
        find,
    ]
    for operation in operations:
        operation()  # loads any script first
        one_round_trip(db, backend, operation)


def test_iteration_round_trips(db: Any, backend: Backend) -> None:
    lst = twin(db, List).from_list(db, "l", range(2500))
    if not backend.server:
        assert len(list(iter(lst))) == 2500
        return
    with round_trips(db) as counter:
        assert list(iter(lst)) == texts(db, [str(i) for i in range(2500)])
    assert counter.round_trips <= 3 + 1


class ListMachine(RuleBasedStateMachine):
    """A List against a Python list of str."""

    database: Any = None
    values = st.sampled_from(["a", "b", "ü", ""])
    indexes = st.integers(-6, 6)
    bounds = st.one_of(st.none(), st.integers(-6, 6))
    steps = st.one_of(st.none(), st.integers(-3, 3).filter(bool))

    def __init__(self) -> None:
        super().__init__()
        self.list = twin(self.database, List)(
            self.database, f"machine:{uuid.uuid4().hex}"
        )
        self.model: list[str] = []

    @rule(value=values)
    def append(self, value: str) -> None:
        self.list.append(value)
        self.model.append(value)

    @rule(value=values)
    def prepend(self, value: str) -> None:
        self.list.prepend(value)
        self.model.insert(0, value)

    @rule(values=st.lists(values, max_size=3))
    def extend(self, values: list[str]) -> None:
        self.list.extend(values)
        self.model.extend(values)

    @rule(index=indexes, value=values)
    def insert(self, index: int, value: str) -> None:
        self.list.insert(index, value)
        self.model.insert(index, value)

    @rule(index=indexes, value=values)
    def set(self, index: int, value: str) -> None:
        if -len(self.model) <= index < len(self.model):
            self.list[index] = value
            self.model[index] = value
        else:
            with pytest.raises(IndexError):
                self.list[index] = value

    @rule(index=indexes)
    def delete(self, index: int) -> None:
        if -len(self.model) <= index < len(self.model):
            del self.list[index]
            del self.model[index]
        else:
            with pytest.raises(IndexError):
                del self.list[index]

    @rule(start=bounds, stop=bounds, step=steps)
    def delete_slice(self, start: Any, stop: Any, step: Any) -> None:
        del self.list[start:stop:step]
        del self.model[start:stop:step]

    @rule(start=bounds, stop=bounds, step=steps)
    def read_slice(self, start: Any, stop: Any, step: Any) -> None:
        got = self.list[start:stop:step]
        assert got == [text(self.database, v) for v in self.model[start:stop:step]]

    @precondition(lambda self: self.model)
    @rule(index=indexes)
    def pop(self, index: int) -> None:
        if -len(self.model) <= index < len(self.model):
            assert self.list.pop(index) == text(self.database, self.model.pop(index))
        else:
            with pytest.raises(IndexError):
                self.list.pop(index)

    @invariant()
    def same_items(self) -> None:
        assert self.list.as_list() == [text(self.database, v) for v in self.model]
        assert len(self.list) == len(self.model)

    def teardown(self) -> None:
        self.list.clear()


def test_stateful(db: Any) -> None:
    ListMachine.database = db
    run_stateful(ListMachine, db)


def test_search_methods_like_python(db: Any) -> None:
    model = ["a", "b", "a", "c", "a"]
    lst = twin(db, List).from_list(db, "l", model)
    for start, stop in [(0, None), (1, None), (-2, None), (1, -1), (3, 4), (-100, 100)]:
        try:
            expected: Any = model.index("a", start, *([] if stop is None else [stop]))
        except ValueError:
            expected = ValueError
        if expected is ValueError:
            with pytest.raises(ValueError):
                lst.index("a", start, stop)
        else:
            assert lst.index("a", start, stop) == expected
    assert lst.count("a") == 3
    assert lst.count(b"a") == 3
    assert "c" in lst
    assert b"c" in lst
    assert "z" not in lst
