"""Set: a Redis set as a MutableSet, on every backend and in both reply modes.

Set algebra between two keys uses keys that share a hash tag (``{k}a``,
``{k}b``): a cluster runs it only within one slot, every other backend
ignores the braces.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from async_portal import twin
from cross_slot import cluster_only, refused_across_slots
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Backend, one_round_trip, round_trips, run_stateful, text

from walrus import Set, WrongType


def texts(db: Any, values: Any) -> set[Any]:
    return {text(db, str(v)) for v in values}


def test_reference_example(db: Any) -> None:
    s1, s2 = db.Set("{k}s1"), db.Set("{k}s2")
    assert s1.add(*range(5)) == 5
    assert s2.add(*range(3, 8)) == 5
    assert s1 | s2 == texts(db, range(8))
    assert s1 & s2 == texts(db, [3, 4])
    assert s1 - s2 == texts(db, [0, 1, 2])
    s1 -= s2
    assert s1.members() == texts(db, [0, 1, 2])
    assert len(s1) == 3


def test_membership_and_removal(db: Any) -> None:
    s = twin(db, Set).from_set(db, "s", ["a", "b", "c"])
    assert "a" in s
    assert "z" not in s
    assert s.remove("a", "z") == 1
    assert s.remove() == 0
    s.discard("b")
    s.discard("nothing")
    del s["c"]
    assert len(s) == 0
    assert s.add() == 0
    assert not db.exists("s")
    with pytest.raises(KeyError):
        s.pop()


def test_pop_random_members_as_set(db: Any) -> None:
    s = twin(db, Set).from_set(db, "s", ["a", "b", "c"])
    assert s.random() in texts(db, "abc")
    assert set(s.random(2)) <= texts(db, "abc")
    assert s.pop() in texts(db, "abc")
    assert len(s) == 2
    assert s.as_set(decode=True) <= {"a", "b", "c"}
    assert set(iter(s)) == s.members()


def test_store_operations(db: Any) -> None:
    a = twin(db, Set).from_set(db, "{k}a", [1, 2, 3])
    b = twin(db, Set).from_set(db, "{k}b", [2, 3, 4])
    c = twin(db, Set).from_set(db, "{k}c", [3, 9])
    union = a.unionstore("{k}u", b, c)
    assert isinstance(union, Set) and union.key == "{k}u"
    assert union.as_set(decode=True) == {"1", "2", "3", "4", "9"}
    assert a.interstore("{k}i", b, c).as_set(decode=True) == {"3"}
    assert a.diffstore("{k}d", b).as_set(decode=True) == {"1"}


def test_in_place_operators(db: Any) -> None:
    a = twin(db, Set).from_set(db, "{k}a", [1, 2, 3])
    b = twin(db, Set).from_set(db, "{k}b", [3, 4])
    a |= b
    assert a.as_set(decode=True) == {"1", "2", "3", "4"}
    a &= twin(db, Set).from_set(db, "{k}c", [1, 4, 5])
    assert a.as_set(decode=True) == {"1", "4"}
    a |= ["7"]
    a &= ["7", "1", "x"]
    assert a.as_set(decode=True) == {"1", "7"}
    a -= ["1"]
    assert a.as_set(decode=True) == {"7"}
    a &= []
    assert not db.exists("{k}a")


@pytest.mark.parametrize("key", ["plain", "{t}x", "odd}name", "{}x", "a{b", ""])
def test_intersection_with_an_iterable_on_any_key_name(db: Any, key: str) -> None:
    # the temporary key lives in the set's cluster slot, whatever its name
    s = twin(db, Set).from_set(db, key, ["a", "b", "c"])
    s &= ["b", "c", "d"]
    assert s.as_set(decode=True) == {"b", "c"}
    assert sorted(db) == [text(db, key)]  # the temporary key is gone


def test_keys_in_different_slots_raise_cross_slot(db: Any, backend: Backend) -> None:
    cluster_only(backend)
    a = twin(db, Set).from_set(db, "a", [1, 2])
    b = twin(db, Set).from_set(db, "b", [2, 3])
    for operation in (lambda: a | b, lambda: a & b, lambda: a - b):
        refused_across_slots(operation, "a", "b")
    for store in (a.unionstore, a.interstore, a.diffstore):
        refused_across_slots(lambda store=store: store("{k}u", b), "a", "b", "{k}u")
    for name in ("__ior__", "__iand__", "__isub__"):
        refused_across_slots(lambda name=name: getattr(a, name)(b), "a", "b")
    assert a.as_set(decode=True) == {"1", "2"}  # nothing was written
    assert sorted(db) == [text(db, "a"), text(db, "b")]


def test_operators_with_python_sets(db: Any) -> None:
    a = twin(db, Set).from_set(db, "a", ["x", "y"])
    other = texts(db, ["y", "z"])
    assert a | other == texts(db, "xyz")
    assert a & other == texts(db, "y")
    assert a - other == texts(db, "x")


@pytest.mark.sync_only("collections.abc.Set's mixins (^, isdisjoint)")
def test_set_mixin_methods(db: Any) -> None:
    a = Set.from_set(db, "a", ["x", "y"])
    other = texts(db, ["y", "z"])
    assert a ^ other == texts(db, "xz")
    assert a.isdisjoint(texts(db, "q"))


def test_search_and_sort(db: Any) -> None:
    s = twin(db, Set).from_set(db, "s", [f"user:{i}" for i in range(30)] + ["x"])
    found = set(s.search("user:2*"))
    assert found == texts(db, ["user:2", *(f"user:{i}" for i in range(20, 30))])
    assert len(list(s.search("user:*", count=3))) == 3
    nums = twin(db, Set).from_set(db, "n", [3, 1, 2])
    assert nums.sort(alpha=False) == [text(db, v) for v in "123"]
    assert nums.sort(ordering="DESC", alpha=False) == [text(db, v) for v in "321"]


def test_from_set_clear_and_unicode(db: Any) -> None:
    twin(db, Set).from_set(db, "s", ["old"])
    s = twin(db, Set).from_set(db, "s", ["北京", "ü", 2.5], clear=True)
    assert s.as_set(decode=True) == {"北京", "ü", "2.5"}
    assert "北京" in s


@pytest.mark.parametrize("bad", [None, (1,), object(), True])
def test_bad_values_are_type_errors(db: Any, bad: Any) -> None:
    s = db.Set("s")
    with pytest.raises(TypeError, match=type(bad).__name__):
        s.add("ok", bad)
    with pytest.raises(TypeError, match=type(bad).__name__):
        bad in s  # noqa: B015
    assert not db.exists("s")


def test_wrong_type(db: Any) -> None:
    db.hset("h", "a", 1)
    with pytest.raises(WrongType, match="hash"):
        db.Set("h").add("x")
    with pytest.raises(WrongType, match="hash"):
        list(iter(db.Set("h")))


def test_get_key_returns_a_set(db: Any) -> None:
    db.sadd("s", "x")
    assert db.get_key("s") == db.Set("s")


def test_round_trips(db: Any, backend: Backend) -> None:
    s = twin(db, Set).from_set(db, "{k}s", range(20))
    t = twin(db, Set).from_set(db, "{k}t", range(10, 30))
    operations: list[Callable[[], Any]] = [
        lambda: 1 in s,
        lambda: len(s),
        lambda: list(iter(s)),
        lambda: s.add(1, 2),
        lambda: s.remove(1),
        lambda: s.random(2),
        s.members,
        s.as_set,
        lambda: list(s.search("1*")),
        lambda: s | t,
        lambda: s & t,
        lambda: s - t,
        lambda: s.__ior__(t),
        lambda: s.__iand__(t),
        lambda: s.__iand__(["1", "2"]),
        lambda: s.__isub__(t),
        lambda: s.unionstore("{k}u", t),
        lambda: s.interstore("{k}i", t),
        lambda: s.diffstore("{k}d", t),
        lambda: twin(db, Set).from_set(db, "n", [1], clear=True),
        lambda: s.sort(),
        s.pop,
    ]
    for operation in operations:
        s.add(1, 2, 3)
        one_round_trip(db, backend, operation)


def test_iteration_round_trips(db: Any, backend: Backend) -> None:
    s = twin(db, Set).from_set(db, "s", range(2500))
    if not backend.server:
        assert set(iter(s)) == texts(db, range(2500))
        return
    with round_trips(db) as counter:
        assert set(iter(s)) == texts(db, range(2500))
    assert counter.round_trips <= 3 + 1


class SetMachine(RuleBasedStateMachine):
    """A Set against a Python set of str."""

    database: Any = None
    members = st.sampled_from(["a", "b", "c", "ü", ""])

    def __init__(self) -> None:
        super().__init__()
        tag = uuid.uuid4().hex  # one slot for both sets
        self.set = twin(self.database, Set)(self.database, f"machine:{{{tag}}}:set")
        self.other = twin(self.database, Set)(self.database, f"machine:{{{tag}}}:other")
        self.model: set[str] = set()
        self.other_model: set[str] = set()

    @rule(items=st.lists(members, max_size=3))
    def add(self, items: list[str]) -> None:
        assert self.set.add(*items) == len(set(items) - self.model)
        self.model.update(items)

    @rule(items=st.lists(members, max_size=3))
    def add_other(self, items: list[str]) -> None:
        self.other.add(*items)
        self.other_model.update(items)

    @rule(items=st.lists(members, max_size=3))
    def remove(self, items: list[str]) -> None:
        assert self.set.remove(*items) == len(set(items) & self.model)
        self.model.difference_update(items)

    @rule(operator=st.sampled_from(["|=", "&=", "-="]), server=st.booleans())
    def combine(self, operator: str, server: bool) -> None:
        other: Any = self.other if server else set(self.other_model)
        if operator == "|=":
            self.set |= other
            self.model |= self.other_model
        elif operator == "&=":
            self.set &= other
            self.model &= self.other_model
        else:
            self.set -= other
            self.model -= self.other_model

    @rule()
    def pop(self) -> None:
        if self.model:
            member = self.set.pop()
            self.model.remove(self.set._decode(member))
        else:
            with pytest.raises(KeyError):
                self.set.pop()

    @invariant()
    def same_members(self) -> None:
        assert self.set.as_set(decode=True) == self.model
        assert len(self.set) == len(self.model)
        expected = {text(self.database, m) for m in self.model}
        assert set(iter(self.set)) == expected
        assert (self.set | self.other) == expected | {
            text(self.database, m) for m in self.other_model
        }

    def teardown(self) -> None:
        self.set.clear()
        self.other.clear()


def test_stateful(db: Any) -> None:
    SetMachine.database = db
    run_stateful(SetMachine, db)
