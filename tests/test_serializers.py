"""The default serializer's reused picklers: every pickle is the one a fresh
pickler writes, whatever was pickled before, in which thread, or from inside
another pickling."""

from __future__ import annotations

import decimal
import pickle
import sys
import uuid
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
    big = ["x" * 1_000_000]
    assert SERIALIZER.loads(SERIALIZER.dumps(big)) == big
    assert all(sys.getsizeof(idle.buffer) < 1 << 17 for idle in serializers._IDLE)
