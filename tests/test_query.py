"""The full-text query parser: the tree of each query, and where a malformed
one goes wrong."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from walrus import QueryError, WalrusError
from walrus.features.text.query import And, Node, Or, Phrase, Word, parse_query

a, b, c, d = Word("a"), Word("b"), Word("c"), Word("d")

TREES: list[tuple[str, Node]] = [
    ("a", a),
    ("  a  ", a),
    ("a b", And((a, b))),
    ("a AND b", And((a, b))),
    ("a & b", And((a, b))),
    ("a&b", And((a, b))),
    ("a OR b", Or((a, b))),
    ("a | b", Or((a, b))),
    ("a|b", Or((a, b))),
    ("a OR b c", Or((a, And((b, c))))),
    ("a b OR c", Or((And((a, b)), c))),
    ("a OR b AND c OR d", Or((a, And((b, c)), d))),
    ("(a OR b) c", And((Or((a, b)), c))),
    ("(a OR b) AND (c OR d)", And((Or((a, b)), Or((c, d))))),
    ("((a))", a),
    ("a (b (c OR d))", And((a, b, Or((c, d))))),
    ('"a b"', Phrase(("a", "b"))),
    ('"  a   b "', Phrase(("a", "b"))),
    ('"a" b', And((Phrase(("a",)), b))),
    ('x "a b" OR y', Or((And((Word("x"), Phrase(("a", "b")))), Word("y")))),
    ("and or", And((Word("and"), Word("or")))),  # operators only in capitals
    ("Café 東京", And((Word("Café"), Word("東京")))),
    ("e-mail c++", And((Word("e-mail"), Word("c++")))),
    ('"a(b)|c&d"', Phrase(("a(b)|c&d",))),
    # left open: closed at the end of the query, as in walrus 0.9
    ("(a", a),
    ("a (b", And((a, b))),
    ("(a OR b", Or((a, b))),
    ("(a AND (b OR c", And((a, Or((b, c))))),
    ("((a OR b) c", And((Or((a, b)), c))),
    ('"a', Phrase(("a",))),
    ('a "b c', And((a, Phrase(("b", "c"))))),
    ('(a "b c', And((a, Phrase(("b", "c"))))),
    ('a"b', And((a, Phrase(("b",))))),
]


@pytest.mark.parametrize(("query", "tree"), TREES)
def test_trees(query: str, tree: Node) -> None:
    assert parse_query(query) == tree


def test_default_conjunction() -> None:
    assert parse_query("a b", "OR") == Or((a, b))
    assert parse_query("a b", "or") == Or((a, b))
    # an implied OR keeps OR's precedence
    assert parse_query("a b AND c", "OR") == Or((a, And((b, c))))
    assert parse_query("a b AND c", "AND") == And((a, b, c))
    with pytest.raises(QueryError):
        parse_query("a", "XOR")


ERRORS = [
    ("", "empty"),
    ("   ", "empty"),
    ("a AND", "column 6"),
    ("a OR", "column 5"),
    ("AND a", "column 1"),
    ("| a", "column 1"),
    ("a OR OR b", "column 6"),
    ("a AND OR b", "column 7"),
    ("(", "column 2"),
    ("a (", "column 4"),
    ("a)", "column 2"),
    ("(a))", "column 4"),
    ("()", "column 1"),
    ("a ()", "column 3"),
    ('"', "column 1"),
    ('a "', "column 3"),
    ('a ""', "column 3"),
    ("(a OR)", "column 6"),
]


@pytest.mark.parametrize(("query", "where"), ERRORS)
def test_errors_say_where(query: str, where: str) -> None:
    with pytest.raises(QueryError, match=where) as info:
        parse_query(query)
    assert isinstance(info.value, WalrusError)
    assert isinstance(info.value, ValueError)


def test_not_text() -> None:
    with pytest.raises(QueryError):
        parse_query(b"a")  # type: ignore[arg-type]


def _words(node: Node) -> list[str]:
    if isinstance(node, Word):
        return [node.text]
    if isinstance(node, Phrase):
        return list(node.words)
    return [w for part in node.parts for w in _words(part)]


@given(st.text(alphabet='ab ()&|"ANDOR\t', max_size=30))
def test_any_text_parses_or_raises_query_error(query: str) -> None:
    try:
        tree = parse_query(query)
    except QueryError:
        return
    assert _words(tree)  # a tree always holds words


@given(st.lists(st.sampled_from(["x", "y", "z", "wörd"]), min_size=1, max_size=6))
def test_words_join_with_the_default(words: list[str]) -> None:
    tree = parse_query(" ".join(words))
    expected: Node = Word(words[0]) if len(words) == 1 else And(tuple(map(Word, words)))
    assert tree == expected
