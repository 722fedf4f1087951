"""HyperLogLog: distinct-count estimates, on every backend and in both reply modes."""

from __future__ import annotations

from typing import Any

import pytest
from support import Backend, round_trips

from walrus import HyperLogLog, WrongType


def test_reference_example(db: Any) -> None:
    hl = db.HyperLogLog("hl")
    hl.add(*range(100))
    assert 98 <= len(hl) <= 102
    hl.add(*range(1, 100, 2))
    hl.add(*range(1, 100, 3))
    assert 98 <= len(hl) <= 103


def test_add_merge_and_in_place_union(db: Any) -> None:
    a, b, c = db.HyperLogLog("a"), db.HyperLogLog("b"), db.HyperLogLog("c")
    assert a.add("x", "y") is True
    assert a.add("x") is False
    assert a.add() is False
    assert not db.exists("empty")
    b.add("y", "z", "北京")
    c.add("w")
    merged = a.merge("m", b, c)
    assert isinstance(merged, HyperLogLog) and merged.key == "m"
    assert len(merged) == 5
    a |= b
    assert len(a) == 4
    assert len(db.HyperLogLog("missing")) == 0


def test_bad_input(db: Any) -> None:
    hl = db.HyperLogLog("hl")
    with pytest.raises(TypeError, match="NoneType"):
        hl.add("a", None)
    assert not db.exists("hl")
    db.rpush("l", 1)
    with pytest.raises(WrongType, match="list"):
        db.HyperLogLog("l").add("x")


def test_round_trips(db: Any, backend: Backend) -> None:
    a, b = db.HyperLogLog("a"), db.HyperLogLog("b")
    b.add("q")
    for operation in (
        lambda: a.add(*range(50)),
        lambda: len(a),
        lambda: a.merge("m", b),
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
