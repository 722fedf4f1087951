"""BloomFilter: membership with false positives only, on every backend and mode."""

from __future__ import annotations

from typing import Any

import pytest
from async_portal import twin
from hypothesis import given
from hypothesis import strategies as st
from support import Backend, round_trips

from walrus import BloomFilter, WrongType


def test_reference_example(db: Any) -> None:
    bf = db.bloom_filter("bf")
    data = ("foo", "bar", "baz", "nugget", "this is a test", "testing")
    for item in data:
        bf.add(item)
    for item in data:
        assert item in bf
        assert bf.contains(item)
    for item in data:
        assert item.upper() not in bf
        assert item.title() not in bf


def test_sizing(db: Any) -> None:
    default = db.bloom_filter("a")
    assert (default.size, default.bits, default.hashes) == (65536, 524288, 4)
    small = db.bloom_filter("b", size=1024)
    assert (small.size, small.bits) == (1024, 8192)
    sized = db.bloom_filter("c", capacity=1000, error_rate=0.01)
    assert sized.bits == 9586 and sized.hashes == 7
    assert db.bloom_filter("d", capacity=1000).bits == sized.bits
    for bad in (
        {"size": 0},
        {"size": 10, "capacity": 5},
        {"error_rate": 0.1},
        {"capacity": 0},
        {"capacity": 10, "error_rate": 1.5},
    ):
        with pytest.raises(ValueError):
            db.bloom_filter("e", **bad)


def test_positions_are_a_fixed_format(db: Any) -> None:
    # The stored format: changing how positions are derived breaks saved filters.
    bf = db.bloom_filter("bf")
    assert bf.positions("walrus") == bf.positions(b"walrus")
    assert bf.positions(1) == bf.positions("1")
    assert bf.positions("walrus") == [142189, 119038, 95887, 72736]
    bf.add("walrus")
    raw = db.bit_field("bf")
    assert all(raw.get_bit(p) for p in bf.positions("walrus"))
    assert raw.bit_count() == 4


def test_add_many_contains_many(db: Any) -> None:
    bf = db.bloom_filter("bf", size=4096)
    assert bf.add_many(["a", "b", "a"]) == [True, True, False]
    assert bf.add("a") is False
    assert bf.contains_many(["a", "b", "c", "北京"]) == [True, True, False, False]
    assert bf.add_many([]) == []
    assert bf.contains_many([]) == []
    bf.add("北京")
    assert "北京" in bf


def test_false_positive_rate_stays_within_the_configured_rate(db: Any) -> None:
    capacity, rate, probes = 1000, 0.01, 10_000
    bf = db.bloom_filter("fp", capacity=capacity, error_rate=rate)
    bf.add_many(f"member:{i}" for i in range(capacity))
    assert all(bf.contains_many(f"member:{i}" for i in range(capacity)))
    hits = sum(bf.contains_many(f"stranger:{i}" for i in range(probes)))
    # 10,000 probes: one standard deviation of the measured rate is 0.1%.
    assert hits / probes <= rate * 1.5, f"false-positive rate {hits / probes:.4f}"


@pytest.mark.parametrize("bad", [None, [1], object(), True])
def test_bad_items(db: Any, bad: Any) -> None:
    bf = db.bloom_filter("bf")
    with pytest.raises(TypeError, match=type(bad).__name__):
        bf.add(bad)
    with pytest.raises(TypeError, match=type(bad).__name__):
        bf.add_many(["ok", bad])
    with pytest.raises(TypeError, match=type(bad).__name__):
        bad in bf  # noqa: B015
    assert not db.exists("bf")


def test_wrong_type(db: Any) -> None:
    db.hset("h", "a", 1)
    with pytest.raises(WrongType, match="hash"):
        db.bloom_filter("h").add("x")


def test_round_trips(db: Any, backend: Backend) -> None:
    bf = db.bloom_filter("bf")
    batch = [f"item:{i}" for i in range(500)]
    for operation in (
        lambda: bf.add("x"),
        lambda: "x" in bf,
        lambda: bf.add_many(batch),
        lambda: bf.contains_many(batch),
    ):
        if backend.server:
            with round_trips(db) as counter:
                operation()
            assert (counter.round_trips, counter.commands) == (1, 1)  # one BITFIELD
        else:
            operation()


@given(items=st.lists(st.text(max_size=8), max_size=20))
def test_no_false_negatives(db: Any, items: list[str]) -> None:
    bf = twin(db, BloomFilter)(db, "property", size=256)
    bf.add_many(items)
    assert all(bf.contains_many(items))
