"""BitField: a string as a bitmap through BITFIELD, on every backend and reply mode."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Backend, round_trips, run_stateful

from walrus import BitFieldOperation, WrongType


def test_reference_builder_examples(db: Any) -> None:
    bf = db.bit_field("bf")
    resp = bf.set("u8", 8, 255).get("u8", 0).get("u4", 8).get("u4", 12).get("u4", 13)
    assert resp.execute() == [0, 0, 15, 15, 14]
    resp = bf.set("u8", 4, 1).get("u16", 0).set("u16", 0, 0)
    assert isinstance(resp, BitFieldOperation)
    assert list(resp) == [15, 31, 31]
    resp = (
        bf.incrby("u8", 8, 254)
        .get("u16", 0)
        .incrby("u8", 8, 2, "FAIL")
        .incrby("u8", 8, 1)
        .incrby("u8", 8, 1)
        .get("u16", 0)
    )
    assert resp.execute() == [254, 254, None, 255, None, 255]


def test_reference_slice_examples(db: Any) -> None:
    bf = db.bit_field("bits")
    bf.set("u8", 0, 166).execute()
    assert bf[:8] == 166
    assert (bf[:4], bf[4:8], bf[2:6], bf[6:10], bf[8:16]) == (10, 6, 9, 8, 0)
    bf[:8] = 89
    assert bf[:8] == 89
    bf[:8] = 255
    assert bf[:4] == 15
    del bf[2:6]
    assert bf[:8] == 195


def test_overflow_modes_and_signed_fields(db: Any) -> None:
    bf = db.bit_field("bf")
    assert bf.set("i8", 0, -5).get("i8", 0).get("u8", 0).execute() == [0, -5, 251]
    assert bf.incrby("i8", 0, -200, "SAT").execute() == [-128]
    assert bf.incrby("i8", 0, -1, "WRAP").execute() == [127]
    assert bf.incrby("u4", "#1", 20).execute() == [3]  # 15 + 20 wraps to 3
    assert bf.get("u4", 4).get("u4", "#1").get("u4", "#2").execute() == [3, 3, 0]
    assert bf.incrby("u2", 100, 1, "fail").incrby("u2", 100, 5).execute() == [1, None]
    assert bf.set("i64", 128, -1).get("i64", 128).get("u63", 129).execute() == [
        0,
        -1,
        2**63 - 1,
    ]


def test_bits_and_raw(db: Any) -> None:
    bf = db.bit_field("bf")
    assert bf.set_bit(7, 1) == 0
    assert bf.set_bit(7, 1) == 1
    assert bf.get_bit(7) == 1
    assert bf.get_bit(6) == 0
    assert bf.get_raw() == b"\x01"
    bf.set_raw(b"\xff\x00\x0f")
    assert bf.get_raw() == b"\xff\x00\x0f"
    assert bf.bit_count() == 12
    assert bf.bit_count(1, 2) == 4
    assert bf[:8] == 255
    assert db.bit_field("missing").get_raw() is None
    assert db.bit_field("missing")[:8] == 0
    assert db.bit_field("missing").bit_count() == 0


def test_bad_input(db: Any) -> None:
    bf = db.bit_field("bf")
    with pytest.raises(ValueError, match="63 bits"):
        bf[0:64]
    with pytest.raises(ValueError, match="63 bits"):
        bf[0:100] = 1
    with pytest.raises(ValueError, match="fit"):
        bf[0:4] = 16
    with pytest.raises(ValueError, match="fit"):
        bf[0:4] = -1
    with pytest.raises(ValueError):
        bf[4:2]
    with pytest.raises(ValueError):
        bf[:]
    with pytest.raises(ValueError):
        bf[0:8:2]
    with pytest.raises(ValueError, match="slice"):  # ValueError as in walrus 0.9
        bf[3]
    with pytest.raises(ValueError):
        bf.get("x8", 0)
    with pytest.raises(ValueError):
        bf.get("u64", 0)
    with pytest.raises(ValueError):
        bf.get("u8", -1)
    with pytest.raises(ValueError):
        bf.incrby("u8", 0, 1, "EXPLODE")
    with pytest.raises(TypeError, match="str"):
        bf.set("u8", 0, "1")
    with pytest.raises(TypeError, match="int"):
        bf.set_raw(5)  # type: ignore[arg-type]
    assert not db.exists("bf")
    db.rpush("l", 1)
    with pytest.raises(WrongType, match="list"):
        db.bit_field("l").get("u8", 0).execute()
    assert bf.get("u8", 0).execute() == [0]
    assert BitFieldOperation(db, "bf").execute() == []


def test_round_trips(db: Any, backend: Backend) -> None:
    bf = db.bit_field("bf")
    bf[:8] = 3
    operations = [
        lambda: bf.set("u8", 0, 1).get("u8", 0).incrby("u8", 0, 1, "SAT").execute(),
        lambda: bf[0:16],
        lambda: bf.__setitem__(slice(0, 8), 7),
        lambda: bf.__delitem__(slice(0, 4)),
        lambda: bf.get_bit(3),
        lambda: bf.set_bit(3, 1),
        bf.bit_count,
        bf.get_raw,
    ]
    for operation in operations:
        if backend.server:
            with round_trips(db) as counter:
                operation()
            assert counter.round_trips == 1
        else:
            operation()


class BitFieldMachine(RuleBasedStateMachine):
    """A BitField against a Python int holding the bits (bit 0 = the highest)."""

    database: Any = None
    widths = st.integers(1, 16)
    offsets = st.integers(0, 40)

    def __init__(self) -> None:
        super().__init__()
        self.bits = self.database.bit_field(f"machine:{uuid.uuid4().hex}")
        self.model = bytearray(8)

    def read(self, offset: int, width: int) -> int:
        value = int.from_bytes(self.model, "big")
        return (value >> (64 - offset - width)) & ((1 << width) - 1)

    def write(self, offset: int, width: int, value: int) -> None:
        whole = int.from_bytes(self.model, "big")
        mask = ((1 << width) - 1) << (64 - offset - width)
        whole = (whole & ~mask) | ((value << (64 - offset - width)) & mask)
        self.model[:] = whole.to_bytes(8, "big")

    @rule(offset=offsets, width=widths, data=st.data())
    def set_slice(self, offset: int, width: int, data: st.DataObject) -> None:
        value = data.draw(st.integers(0, (1 << width) - 1))
        self.bits[offset : offset + width] = value
        self.write(offset, width, value)

    @rule(offset=offsets, width=widths, amount=st.integers(-300, 300), data=st.data())
    def incrby(self, offset: int, width: int, amount: int, data: st.DataObject) -> None:
        mode = data.draw(st.sampled_from(["WRAP", "SAT", "FAIL"]))
        old = self.read(offset, width)
        new: int | None = old + amount
        high = (1 << width) - 1
        if not 0 <= new <= high:  # type: ignore[operator]
            new = {
                "WRAP": new % (high + 1),
                "SAT": max(0, min(high, new)),
                "FAIL": None,
            }[mode]
        got = self.bits.incrby(f"u{width}", offset, amount, mode).execute()
        assert got == [new]
        if new is not None:
            self.write(offset, width, new)

    @rule(offset=offsets, width=widths)
    def delete(self, offset: int, width: int) -> None:
        del self.bits[offset : offset + width]
        self.write(offset, width, 0)

    @invariant()
    def same_bits(self) -> None:  # one BITFIELD: four 16-bit reads
        reads = self.bits.get("u16", 0).get("u16", 16).get("u16", 32).get("u16", 48)
        assert reads.execute() == [self.read(start, 16) for start in range(0, 64, 16)]

    def teardown(self) -> None:
        self.bits.clear()


def test_stateful(db: Any) -> None:
    BitFieldMachine.database = db
    run_stateful(BitFieldMachine, db)
