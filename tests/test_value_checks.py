"""The checks at the containers' boundary: ``check_pairs`` flattens a mapping
the same way with the compiled ``storable_pairs`` and with its Python twin,
and refuses what ``check_mapping`` refuses, naming the same culprit."""

from __future__ import annotations

import enum
import types
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from walrus import InvalidType
from walrus.features.containers import base
from walrus.features.containers.base import check_mapping, check_pairs


class Text(str):
    pass


class Number(enum.IntEnum):
    ONE = 1


SCALARS = (
    st.text(max_size=5)
    | st.binary(max_size=5)
    | st.integers()
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.none()
    | st.builds(Text, st.text(max_size=3))
    | st.sampled_from([Number.ONE, [1], (1,), {1}])
)
KEYS = st.text(max_size=5) | st.binary(max_size=5) | st.integers() | st.none()


@pytest.fixture(params=["compiled", "python"])
def twin(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python":
        monkeypatch.setattr(base, "_storable_pairs", base._flat_storable)
    elif base._storable_pairs is base._flat_storable:
        pytest.skip("walrus was built without a C compiler")
    return str(request.param)


def _outcome(call: Any) -> Any:
    try:
        return call()
    except InvalidType as exc:
        return f"InvalidType: {exc}"


@given(st.dictionaries(KEYS, SCALARS, max_size=4))
def test_check_pairs_flattens_what_check_mapping_accepts(
    twin: str, data: dict[Any, Any]
) -> None:
    expected = _outcome(
        lambda: [item for pair in check_mapping(data).items() for item in pair]
    )
    got = _outcome(lambda: check_pairs(data))
    assert got == expected
    if not isinstance(got, str):  # the same objects, in the dict's order
        assert [type(x) for x in got] == [type(x) for x in expected]
    assert _outcome(lambda: check_pairs(types.MappingProxyType(data))) == expected


VALUES = ["s", b"b", 0, -1, 2**70, 1.5, True, None, Text("t"), Number.ONE, (1,)]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_check_pairs_with_each_kind_of_value(twin: str, value: Any) -> None:
    for data in ({"k": value}, {value: "v"}, {"a": 1, value: value}):
        expected = _outcome(
            lambda d=data: [x for pair in check_mapping(d).items() for x in pair]
        )
        assert _outcome(lambda d=data: check_pairs(d)) == expected


def test_the_compiled_flattening_takes_exact_storable_types_only() -> None:
    flatten = base._storable_pairs
    if flatten is base._flat_storable:
        pytest.skip("walrus was built without a C compiler")
    assert flatten({"a": 1, b"b": 2.5, 3: "c"}) == ["a", 1, b"b", 2.5, 3, "c"]
    assert flatten({}) == []
    for odd in (True, None, Text("t"), Number.ONE, (1,)):
        assert flatten({"k": odd}) is None
        assert flatten({odd: "v"}) is None
    assert flatten(types.MappingProxyType({"a": 1})) is None  # not a dict
    assert flatten([("a", 1)]) is None
