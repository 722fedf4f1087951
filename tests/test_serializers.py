"""The default serializer's fast paths and reused picklers.

Every pickle is the one a fresh pickler writes, whatever was pickled before,
in which thread, or from inside another pickling. The compiled checks that
send plain data to ``pickle.dumps`` and ``pickle.loads`` agree with
references built here from the pickle opcode table and the types, on
pickles, damaged pickles and random bytes; the serializer gives the same
pickles and values with them and without them.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import pickle
import pickletools
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import CHILD_ENV, run_child

from walrus import SerializationError, serializers
from walrus.serializers import PickleSerializer

SERIALIZER = PickleSerializer()

PLAIN = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20)
    | st.datetimes()
    | st.decimals(allow_nan=False)
    | st.uuids(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.frozensets(st.integers(), max_size=4)
    ),
    max_leaves=12,
)


def fresh(value: Any) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


@pytest.fixture(autouse=True, params=["compiled checks", "no checks"])
def checks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test with the compiled checks of plain data and without them
    (what a build without a C compiler runs)."""
    if request.param == "no checks":
        monkeypatch.setattr(serializers, "_plain_value", serializers._never)
        monkeypatch.setattr(serializers, "_plain_data", serializers._never)
    elif serializers._plain_data is serializers._never:
        pytest.skip("walrus was built without a C compiler")
    return str(request.param)


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


@given(st.lists(PLAIN, min_size=1, max_size=5))
def test_each_pickle_is_a_fresh_picklers(values: list[Any]) -> None:
    for value in values:
        assert SERIALIZER.dumps(value) == fresh(value)
        assert SERIALIZER.loads(SERIALIZER.dumps(value)) == value


def test_an_object_pickled_before_is_written_out_again() -> None:
    shared = ["shared", {"inner": 1}]
    first = SERIALIZER.dumps([shared, shared])
    assert SERIALIZER.dumps([shared]) == fresh([shared])  # no reference to before
    assert first == fresh([shared, shared])  # within one value: one copy, as pickle
    assert SERIALIZER.loads(SERIALIZER.dumps([shared])) == [shared]


def test_a_refused_value_leaves_the_next_whole() -> None:
    for value in ([1, "a", Point(1)], {"k": [Point(2)]}, (1, Point(3))):
        with pytest.raises(SerializationError, match="plain data"):
            SERIALIZER.dumps(value)
        after = {"after": [1, 2, decimal.Decimal("1.5")], "id": uuid.UUID(int=7)}
        assert SERIALIZER.dumps(after) == fresh(after)


RE_ENTERED = """
import datetime, pickle, uuid
from walrus.serializers import PickleSerializer

serializer = PickleSerializer()
value = {"ids": [uuid.UUID(int=n) for n in range(3)], "after": "tail"}
inner = {"inner": [datetime.date(2020, 1, 2)]}
expected = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
expected_inner = pickle.dumps(inner, pickle.HIGHEST_PROTOCOL)
original = uuid.UUID.__getstate__
seen = []

def getstate(self):
    seen.append(serializer.dumps(inner))
    return original(self)

uuid.UUID.__getstate__ = getstate
assert serializer.dumps(value) == expected
assert seen == [expected_inner] * 3, seen
print("whole")
"""


def test_a_pickle_re_entered_from_inside_a_pickle() -> None:
    """UUID's ``__getstate__`` is Python, run by the pickler mid-value: one
    that pickles another value there (as a finalizer or a signal handler
    could) leaves both pickles whole. In a child: CPython's pickler
    re-entered on the same object crashes the interpreter."""
    assert run_child(RE_ENTERED, env=CHILD_ENV) == "whole"


THREADS = """
import datetime, pickle, threading
from walrus.serializers import PickleSerializer

serializer = PickleSerializer()
wrong = []

def work(thread):
    for i in range(2000):
        value = {"thread": thread, "i": i, "when": [datetime.date(2020, 1, 1)]}
        if serializer.dumps(value) != pickle.dumps(value, pickle.HIGHEST_PROTOCOL):
            wrong.append(value)

threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(len(wrong))
"""


def test_threads_pickle_at_once() -> None:
    """In a child: CPython's pickler shared by two threads crashes."""
    assert run_child(THREADS, env=CHILD_ENV) == "0"


def test_a_large_value_leaves_no_large_buffer_behind() -> None:
    big = ["x" * 1_000_000, datetime.date(2020, 1, 1)]  # pickled by a pickler
    assert SERIALIZER.loads(SERIALIZER.dumps(big)) == big
    assert all(sys.getsizeof(idle.buffer) < 1 << 17 for idle in serializers._IDLE)


# -- the compiled checks against their references ---------------------------------
PLAIN_OPCODES = {
    *("PROTO", "FRAME", "STOP", "MARK", "POP", "POP_MARK", "DUP", "MEMOIZE"),
    *("BINPUT", "LONG_BINPUT", "BINGET", "LONG_BINGET", "NONE", "NEWTRUE"),
    *("NEWFALSE", "BININT", "BININT1", "BININT2", "LONG1", "LONG4", "BINFLOAT"),
    *("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "SHORT_BINBYTES"),
    *("BINBYTES", "BINBYTES8", "BYTEARRAY8", "EMPTY_LIST", "LIST", "APPEND"),
    *("APPENDS", "EMPTY_DICT", "DICT", "SETITEM", "SETITEMS", "EMPTY_TUPLE"),
    *("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_SET", "ADDITEMS", "FROZENSET"),
}
OPCODES = {op.code.encode("latin-1")[0]: op for op in pickletools.opcodes}
# an argument whose length comes first: (bytes of the length, signed)
LENGTHS = {
    pickletools.TAKEN_FROM_ARGUMENT1: (1, False),
    pickletools.TAKEN_FROM_ARGUMENT4: (4, True),
    pickletools.TAKEN_FROM_ARGUMENT4U: (4, False),
    pickletools.TAKEN_FROM_ARGUMENT8U: (8, False),
}


def plain_pickle(data: bytes) -> bool:
    """The reference: the opcodes are plain ones (pickletools' table gives
    each one's argument), each FRAME where no frame is left to read, no
    opcode reaching past its frame's end, and STOP ends the data."""
    at = frame_end = 0
    while at < len(data):
        start = at
        op = OPCODES.get(data[at])
        at += 1
        if op is None or op.name not in PLAIN_OPCODES:
            return False
        if op.name == "STOP":
            return at == len(data)
        if op.name == "FRAME" and start < frame_end:
            return False
        size = 0 if op.arg is None else op.arg.n
        if size < 0:
            width, signed = LENGTHS[size]
            if len(data) - at < width:
                return False
            size = int.from_bytes(data[at : at + width], "little", signed=signed)
            at += width
            if size < 0:
                return False
        if op.name == "FRAME":  # its argument: the length of what follows
            if len(data) - at < size:
                return False
            frame_end = at + size + int.from_bytes(data[at : at + size], "little")
            at, size = at + size, 0
            if frame_end > len(data):
                return False
        if len(data) - at < size:
            return False
        at += size
        if start < frame_end < at:
            return False
    return False


PLAIN_TYPES = (type(None), bool, int, float, str, bytes)


def plain_value(value: Any, depth: int = 0, budget: list[int] | None = None) -> bool:
    """The reference: builtin scalars and lists, tuples and dicts of them
    (exact types), at most 100 deep and 10,000 objects."""
    budget = [10_000] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0 or depth > 100:
        return False
    if type(value) in PLAIN_TYPES:
        return True
    if type(value) in (list, tuple):
        return all(plain_value(item, depth + 1, budget) for item in value)
    if type(value) is dict:
        return all(
            plain_value(k, depth + 1, budget) and plain_value(v, depth + 1, budget)
            for k, v in value.items()
        )
    return False


@pytest.fixture
def native(checks: str) -> Any:
    if checks == "no checks":
        pytest.skip("the compiled checks themselves")
    from walrus.drivers.embedded import _native

    return _native


def _pickles(value: Any) -> Iterator[bytes]:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        yield pickle.dumps(value, protocol)


def test_each_opcode_is_classified_as_the_reference_does(native: Any) -> None:
    """Every opcode, with an argument of the right length, in a pickle."""
    for code, op in OPCODES.items():
        size = 0 if op.arg is None else op.arg.n
        if size >= 0:
            args = [b"\x01" * size]
        elif size == pickletools.UP_TO_NEWLINE:
            args = [b"1\n"]
        else:
            width = LENGTHS[size][0]
            args = [(n).to_bytes(width, "little") + b"a" * n for n in (0, 1, 3)]
        for arg in args:
            for data in (bytes([code]) + arg + b".", b"\x80\x05" + bytes([code]) + arg):
                assert native.plain_pickle(data) is plain_pickle(data), (op.name, data)
    assert native.plain_pickle(b"\x80\x05N.") is True
    assert native.plain_pickle(b"\x80\x05N.trailing") is False
    assert native.plain_pickle(b"\x80\x05N") is False
    assert native.plain_pickle(b"") is False


def test_frames_are_read_as_pickle_writes_them(native: Any) -> None:
    """A frame shorter than its opcodes, or a FRAME inside a frame, is read
    one way by pickle.loads and another by an unpickler reading a file (the
    plain one): such a pickle takes the plain unpickler's path. A large
    bytes value written outside any frame, as pickle writes it, is plain."""
    data = fresh([None, "text", 1.5])
    assert data[2] == 0x95 and native.plain_pickle(data) is True
    length = int.from_bytes(data[3:11], "little")
    shorter = data[:3] + (length - 3).to_bytes(8, "little") + data[11:]
    nested = data[:11] + data[2:11] + data[11:]
    for damaged in (shorter, nested):
        assert native.plain_pickle(damaged) is plain_pickle(damaged) is False
        with pytest.raises(SerializationError):
            SERIALIZER.loads(damaged)
    large = ["x", b"y" * 70_000, "z"]
    data = fresh(large)
    assert native.plain_pickle(data) is plain_pickle(data) is True
    assert SERIALIZER.loads(data) == large


MUTATIONS = st.lists(
    st.tuples(
        st.integers(0, 10_000), st.sampled_from(sorted(OPCODES)) | st.integers(0, 255)
    ),
    max_size=3,
)


@given(PLAIN, MUTATIONS, st.integers(0, 10_000), st.binary(max_size=40))
def test_plain_pickle_agrees_with_its_reference(
    native: Any, value: Any, changes: list[tuple[int, int]], cut: int, noise: bytes
) -> None:
    """Pickles of every protocol, with bytes changed and cut short, and
    random bytes; where the check says plain, pickle.loads builds the value
    the plain unpickler builds, or fails as it does."""
    for data in [*_pickles(value), noise]:
        damaged = bytearray(data)
        for at, byte in changes if data else ():
            damaged[at % len(damaged)] = byte
        for candidate in (data, bytes(damaged), data[: cut % (len(data) + 1)]):
            verdict = native.plain_pickle(candidate)
            assert verdict is plain_pickle(candidate), candidate
            if verdict:
                _same_load(candidate)


def _same_load(data: bytes) -> None:
    try:
        fast: Any = pickle.loads(data)
    except Exception as exc:
        fast = type(exc)
    try:
        slow: Any = serializers._load_plain(data)
    except Exception as exc:
        slow = type(exc)
    assert repr(fast) == repr(slow)


class Text(str):
    pass


class Colour(enum.IntEnum):
    RED = 1


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


ODD_VALUES = [
    Text("a"),
    Colour.RED,
    {1, 2},
    frozenset(),
    bytearray(b"x"),
    datetime.date(2020, 1, 1),
    decimal.Decimal(1),
    {"a": [Point(1)]},
    [Text("a")],
    {Text("k"): 1},
    _nested(100),
    _nested(101),
    ["x"] * 9_999,
    ["x"] * 10_000,
    {"k": ["x"] * 4_998},
    {"k": ["x"] * 4_999},
]


@pytest.mark.parametrize("value", ODD_VALUES, ids=lambda v: type(v).__name__)
def test_plain_value_agrees_with_its_reference(native: Any, value: Any) -> None:
    assert native.plain_value(value) is plain_value(value)


@given(PLAIN)
def test_plain_value_agrees_on_plain_data(native: Any, value: Any) -> None:
    assert native.plain_value(value) is plain_value(value)


def test_a_value_that_contains_itself_is_not_plain(native: Any) -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert native.plain_value(loop) is False
    back = SERIALIZER.loads(SERIALIZER.dumps(loop))  # through the pickler
    assert type(back) is list and back[0] is back


def test_a_plain_check_passed_before_the_value_changed(
    native: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What another thread adds to a value after the check is caught in its
    pickle: the pickler takes the value again, and refuses what it must."""
    monkeypatch.setattr(serializers, "_plain_value", lambda value: True)
    with pytest.raises(SerializationError, match="plain data"):
        SERIALIZER.dumps({"p": Point(1)})
    dated = {"when": datetime.date(2020, 1, 1)}
    assert SERIALIZER.dumps(dated) == fresh(dated)
