"""HyperLogLog: distinct-count estimates, on every backend and in both reply modes.

Merges use keys that share a hash tag (``{k}a``, ``{k}b``): a cluster runs
them only within one slot, every other backend ignores the braces.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from async_portal import twin
from cross_slot import cluster_only, refused_across_slots
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Backend, round_trips, run_stateful, text

from walrus import HyperLogLog, WrongType


def test_reference_example(db: Any) -> None:
    hl = db.HyperLogLog("hl")
    hl.add(*range(100))
    assert 98 <= len(hl) <= 102
    hl.add(*range(1, 100, 2))
    hl.add(*range(1, 100, 3))
    assert 98 <= len(hl) <= 103


def test_add_merge_and_in_place_union(db: Any) -> None:
    a, b, c = (db.HyperLogLog(f"{{k}}{n}") for n in "abc")
    assert a.add("x", "y") is True
    assert a.add("x") is False
    assert a.add() is False
    assert not db.exists("empty")
    b.add("y", "z", "北京")
    c.add("w")
    merged = a.merge("{k}m", b, c)
    assert isinstance(merged, HyperLogLog) and merged.key == "{k}m"
    assert len(merged) == 5
    a |= b
    assert len(a) == 4
    assert len(db.HyperLogLog("missing")) == 0


def test_keys_in_different_slots_raise_cross_slot(db: Any, backend: Backend) -> None:
    cluster_only(backend)
    a, b = db.HyperLogLog("a"), db.HyperLogLog("b")
    a.add("x")
    b.add("y")
    refused_across_slots(lambda: a.merge("{k}m", b), "a", "b", "{k}m")
    refused_across_slots(lambda: a.__ior__(b), "a", "b")
    assert len(a) == 1  # nothing was written
    assert sorted(db) == [text(db, "a"), text(db, "b")]


def test_bad_input(db: Any) -> None:
    hl = db.HyperLogLog("hl")
    with pytest.raises(TypeError, match="NoneType"):
        hl.add("a", None)
    assert not db.exists("hl")
    db.rpush("l", 1)
    with pytest.raises(WrongType, match="list"):
        db.HyperLogLog("l").add("x")


def test_round_trips(db: Any, backend: Backend) -> None:
    a, b = db.HyperLogLog("{k}a"), db.HyperLogLog("{k}b")
    b.add("q")
    for operation in (
        lambda: a.add(*range(50)),
        lambda: len(a),
        lambda: a.merge("{k}m", b),
        lambda: a.__ior__(b),
    ):
        if backend.server:
            with round_trips(db) as counter:
                operation()
            assert counter.round_trips == 1
        else:
            operation()


def test_a_plain_string_is_not_a_hyperloglog(db: Any) -> None:
    db.set("text", "hello")
    try:
        db.HyperLogLog("text").add("x")
    except WrongType as error:  # servers check the HLL header
        assert error.key == "text"
        assert "HyperLogLog" in str(error)


# Items no two of which share a HyperLogLog register (checked on Valkey when
# this list was made: every pair, and random subsets, count exactly), so the
# estimate of any subset is exact and the machine can compare with ==. With
# arbitrary items Hypothesis finds register collisions, where HLL undercounts
# by design.
POOL = [f"item:{i}" for i in range(40)]


class HyperLogLogMachine(RuleBasedStateMachine):
    """Two HyperLogLogs against Python sets, across adds and merges."""

    database: Any = None
    items = st.lists(st.sampled_from(POOL), max_size=20)

    def __init__(self) -> None:
        super().__init__()
        self.tag = uuid.uuid4().hex  # one slot for every key of the machine
        self.hll = twin(self.database, HyperLogLog)(
            self.database, f"machine:{{{self.tag}}}:hll"
        )
        self.other = twin(self.database, HyperLogLog)(
            self.database, f"machine:{{{self.tag}}}:other"
        )
        self.model: set[str] = set()
        self.other_model: set[str] = set()

    @rule(items=items)
    def add(self, items: list[str]) -> None:
        changed = self.hll.add(*items)
        if not set(items) - self.model:  # nothing new: no register can change
            assert changed is False
        self.model |= set(items)

    @rule(items=items)
    def add_other(self, items: list[str]) -> None:
        self.other.add(*items)
        self.other_model |= set(items)

    @rule()
    def merge_in_place(self) -> None:
        self.hll |= self.other
        self.model |= self.other_model

    @rule()
    def merge_into_new_key(self) -> None:
        merged = self.hll.merge(
            f"machine:{{{self.tag}}}:{uuid.uuid4().hex}", self.other
        )
        same_count(len(merged), self.model | self.other_model)

    @invariant()
    def estimates_are_close(self) -> None:
        same_count(len(self.hll), self.model)
        same_count(len(self.other), self.other_model)


def same_count(estimate: int, exact: set[str]) -> None:
    assert estimate == len(exact)


def test_stateful(db: Any) -> None:
    HyperLogLogMachine.database = db
    run_stateful(HyperLogLogMachine, db)
