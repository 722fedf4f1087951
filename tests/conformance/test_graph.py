"""Graph: the hexastore, on every backend and in both reply modes."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import Backend, round_trips

from walrus import Graph, Triple, Variable

PEOPLE = [
    ("charlie", "friends", "huey"),
    ("charlie", "friends", "zaizee"),
    ("charlie", "friends", "nuggie"),
    ("huey", "lives", "Kansas"),
    ("zaizee", "lives", "Missouri"),
    ("nuggie", "lives", "Kansas"),
    ("mickey", "lives", "Kansas"),
]


def test_reference_example(db: Any) -> None:
    graph = db.graph("people")
    graph.store("charlie", "friends", "huey")
    graph.store_many(
        (("charlie", "friends", "zaizee"), ("charlie", "friends", "nuggie"))
    )
    graph.store_many(
        (
            ("huey", "lives", "Kansas"),
            ("zaizee", "lives", "Missouri"),
            ("nuggie", "lives", "Kansas"),
            ("mickey", "lives", "Kansas"),
        )
    )
    X = graph.v.X
    results = graph.search(
        {"s": "charlie", "p": "friends", "o": X},
        {"s": X, "p": "lives", "o": "Kansas"},
    )
    assert results == {"X": {"huey", "nuggie"}}
    friends = [result["o"] for result in graph.query(s="charlie", p="friends")]
    assert friends == ["huey", "nuggie", "zaizee"]
    assert {t["s"] for t in graph.query(p="lives", o="Kansas")} == {
        "huey",
        "nuggie",
        "mickey",
    }


def test_query_every_subset(db: Any) -> None:
    graph = db.graph("g")
    graph.store_many(PEOPLE)
    for mask in itertools.product([False, True], repeat=3):
        for triple in PEOPLE:
            given_parts = {
                c: v for c, v, m in zip("spo", triple, mask, strict=True) if m
            }
            expected = sorted(
                t
                for t in PEOPLE
                if all(t["spo".index(c)] == v for c, v in given_parts.items())
            )
            assert sorted(graph.query(**given_parts)) == expected


def test_query_results(db: Any) -> None:
    graph = db.graph("g")
    graph.store("a", "b", "c")
    (triple,) = graph.query(s="a")
    assert triple == Triple("a", "b", "c")
    assert (triple.s, triple["p"], triple[2]) == ("a", "b", "c")
    assert graph.query(s="c") == []


def test_delete(db: Any) -> None:
    graph = db.graph("g")
    graph.store_many(PEOPLE)
    graph.delete("charlie", "friends", "huey")
    assert [t.o for t in graph.query(s="charlie")] == ["nuggie", "zaizee"]
    for s, p, o in PEOPLE:
        graph.delete(s, p, o)
    assert graph.query() == []
    assert db.exists("g") == 0


AWKWARD = [
    "",
    ":",
    "::",
    "a::b",
    "\\",
    "\\:",
    "spo::x",
    "Москва",
    "東京",
    "café",
    "\x00",
    "a b\tc\n",
    "[",
    "(",
    "\xff",
    "😀",
]


def test_awkward_values(db: Any) -> None:
    graph = db.graph("g")
    triples = [(s, "p", o) for s, o in itertools.product(AWKWARD, repeat=2)]
    graph.store_many(triples)
    for value in AWKWARD:
        assert sorted(graph.query(s=value)) == sorted(
            Triple(*t) for t in triples if t[0] == value
        )
        assert sorted(graph.query(o=value, p="p")) == sorted(
            Triple(*t) for t in triples if t[2] == value
        )
    assert len(graph.query()) == len(triples)


def test_empty_string_is_a_value_not_a_wildcard(db: Any) -> None:
    graph = db.graph("g")
    graph.store_many([("a", "", "b"), ("a", "p", "c")])
    assert graph.query(s="a", p="") == [Triple("a", "", "b")]
    assert len(graph.query(s="a", p=None)) == 2
    assert len(graph.query(s="a")) == 2


def test_values_are_text(db: Any) -> None:
    graph = db.graph("g")
    graph.store(b"caf\xc3\xa9", 1, 2.5)
    assert graph.query(s="café") == [Triple("café", "1", "2.5")]
    assert graph.query(p=1) == [Triple("café", "1", "2.5")]


def test_graphs_are_independent(db: Any) -> None:
    one, two = db.graph("one"), db.graph("two")
    one.store("a", "b", "c")
    assert two.query() == []
    assert isinstance(one, Graph)


def test_variables(db: Any) -> None:
    graph = db.graph("g")
    assert graph.v.X == graph.v("X") == Variable("X")
    graph.store_many([*PEOPLE, ("huey", "friends", "huey")])
    X, Y = graph.v.X, graph.v.Y
    # A variable used twice in one clause must take one value.
    assert graph.search({"s": X, "p": "friends", "o": X}) == {"X": {"huey"}}
    # Two variables: the pairs (person, place) of charlie's friends.
    result = graph.search(
        {"s": "charlie", "p": "friends", "o": X}, {"s": X, "p": "lives", "o": Y}
    )
    assert result == {"X": {"huey", "zaizee", "nuggie"}, "Y": {"Kansas", "Missouri"}}
    # No solution: every variable maps to an empty set.
    assert graph.search(
        {"s": X, "p": "lives", "o": "Kansas"}, {"s": X, "p": "lives", "o": "Missouri"}
    ) == {"X": set()}
    # A missing part matches anything; a clause without variables filters.
    assert graph.search({"s": X, "o": "Missouri"}) == {"X": {"zaizee"}}
    assert graph.search(
        {"s": "mickey", "p": "lives", "o": "Kansas"}, {"s": X, "o": "Missouri"}
    ) == {"X": {"zaizee"}}
    assert graph.search(
        {"s": "mickey", "p": "lives", "o": "Mars"}, {"s": X, "o": "Missouri"}
    ) == {"X": set()}


def test_search_takes_walrus_09_tuples(db: Any) -> None:
    graph = db.graph("g")
    graph.store_many(PEOPLE)
    X, Y = graph.v.X, graph.v.Y
    as_tuples = graph.search(("charlie", "friends", X), (X, "lives", Y))
    as_dicts = graph.search(
        {"s": "charlie", "p": "friends", "o": X}, {"s": X, "p": "lives", "o": Y}
    )
    assert as_tuples == as_dicts
    assert graph.search([X, None, "Missouri"]) == {"X": {"zaizee"}}
    with pytest.raises(ValueError, match=r"Graph.search\(\).*'x'") as raised:
        graph.search({"s": X, "x": 1})
    assert "{" not in str(raised.value)  # names the keys, not a set
    with pytest.raises(TypeError, match=r"Graph.search\(\)"):
        graph.search(("charlie", X))


def test_budgets(db: Any, backend: Backend) -> None:
    if not backend.server:
        return
    graph = db.graph("g")
    triples = [(f"s{i}", "p", f"o{i % 7}") for i in range(2500)]
    with round_trips(db) as sent:
        graph.store_many(triples)
    assert sent.round_trips == 1
    with round_trips(db) as sent:
        graph.store("a", "b", "c")
        graph.delete("a", "b", "c")
        assert len(graph.query(p="p")) == 2500
    assert sent.round_trips == 3
    X, Y = graph.v.X, graph.v.Y
    with round_trips(db) as sent:
        result = graph.search(
            {"s": X, "p": "p", "o": Y}, {"s": X, "o": "o3"}, {"s": X, "p": "p"}
        )
    assert sent.round_trips == 1
    assert sent.commands == 3  # one ZRANGEBYLEX per condition (walrus 0.9's count)
    assert result["Y"] == {"o3"}
    assert len(result["X"]) == len([t for t in triples if t[2] == "o3"])


# -- search against a plain-Python evaluation ---------------------------------

VALUES = st.sampled_from(["a", "b", "c", "", "x::y", ":", "\\:", "ü"])
TRIPLES = st.lists(st.tuples(VALUES, VALUES, VALUES), max_size=12)
TERMS = st.one_of(VALUES, st.sampled_from(["X", "Y", "Z"]).map(Variable), st.none())
CLAUSES = st.lists(
    st.fixed_dictionaries({"s": TERMS, "p": TERMS, "o": TERMS}), min_size=1, max_size=3
)


def holds(
    stored: set[tuple[str, str, str]], clause: dict[str, Any], binding: dict[str, str]
) -> bool:
    """Whether some stored triple matches ``clause`` under ``binding``."""
    for triple in stored:
        for part, value in zip("spo", triple, strict=True):
            want = clause[part]
            if isinstance(want, Variable):
                want = binding[want.name]
            if want is not None and want != value:
                break
        else:
            return True
    return False


def evaluate(
    triples: list[tuple[str, str, str]], clauses: list[dict[str, Any]]
) -> dict[str, set[str]]:
    """The specification: try every assignment of the variables."""
    names = sorted(
        {t.name for c in clauses for t in c.values() if isinstance(t, Variable)}
    )
    universe = sorted({v for triple in triples for v in triple})
    stored = set(triples)
    result: dict[str, set[str]] = {name: set() for name in names}
    for values in itertools.product(universe, repeat=len(names)):
        binding = dict(zip(names, values, strict=True))
        if all(holds(stored, c, binding) for c in clauses):
            for name, value in binding.items():
                result[name].add(value)
    return result


@given(triples=TRIPLES, clauses=CLAUSES)
def test_search_matches_plain_python(
    db: Any, triples: list[tuple[str, str, str]], clauses: list[dict[str, Any]]
) -> None:
    graph = db.graph(f"g{uuid.uuid4().hex}")
    graph.store_many(triples)
    assert graph.search(*clauses) == evaluate(triples, clauses)
