"""Query expressions over model fields, compiled into index commands.

``User.age >= 18``, ``(A == 1) | (B < 2)``, ``Note.text.search('a OR b')``
build an :class:`Expression` tree. :class:`Compiler` turns a tree into the
commands of one MULTI/EXEC: each leaf is an index key (an equality set used
as it is) or a temporary key (ZRANGESTORE of a range, SDIFFSTORE for ``!=``,
ZINTERSTORE/ZUNIONSTORE of full-text terms), each ``&``/``|`` one
ZINTERSTORE/ZUNIONSTORE of its parts' keys. Temporary keys get a 60 s TTL
in the same transaction and are deleted at its end, so the whole tree costs
one round trip whatever its depth, and nothing is copied member by member.

Full-text leaves are scored by term counts (weight 1); other leaves weigh 0,
so a result's score is its relevance. A phrase matches rows holding all of
its words (positions are not stored).

Limits (module constants, read when a filter is built): a filter combines
at most :data:`MAX_FILTER_TERMS` comparisons and searches, and nests ``&``
inside ``|`` inside ``&`` ... at most :data:`MAX_FILTER_DEPTH` levels (a run
of one operator, ``a | b | c | ...``, is one level); beyond, combining
raises :class:`~walrus.exceptions.QueryError`. A ``search()`` query has the
limits of :mod:`walrus.features.text.query`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from walrus.exceptions import InvalidType, InvalidValue, QueryError, UnindexedField

if TYPE_CHECKING:
    from walrus.features.models.fields import Field, TextField
    from walrus.features.models.layout import ModelKeys

__all__ = [
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_TERMS",
    "And",
    "Compare",
    "Compiler",
    "Expression",
    "Match",
    "Or",
    "Ordering",
]

TEMP_TTL = 60  # seconds; temporary keys are also deleted when the query ends
MAX_FILTER_TERMS = 1_000  # comparisons and searches combined in one filter
MAX_FILTER_DEPTH = 32  # levels of & and | nested in each other


class Expression:
    """A filter; combine with ``&`` and ``|``."""

    size = 1  # comparisons and searches in the filter
    depth = 0  # levels of & and | nested in each other

    def __and__(self, other: Expression) -> Expression:
        return And(_check(self), _check(other))

    def __or__(self, other: Expression) -> Expression:
        return Or(_check(self), _check(other))

    def __bool__(self) -> bool:
        raise InvalidType(
            "a query expression has no truth value: combine expressions with & "
            "and |, not 'and'/'or', and compare fields outside 'if'"
        )

    def fields(self) -> Iterator[Field[Any]]:
        """Every field the expression filters on."""
        for leaf in _leaves(self):
            yield from leaf.fields()


def _check(value: Any) -> Expression:
    if not isinstance(value, Expression):
        raise InvalidType(f"expected a query expression, not {type(value).__name__}")
    return value


@dataclass(frozen=True, eq=False)
class _Leaf(Expression):
    """A filter on one field: a comparison or a search."""

    field: Field[Any]

    def fields(self) -> Iterator[Field[Any]]:
        yield self.field


@dataclass(frozen=True, eq=False)
class Compare(_Leaf):
    """``field <op> value``; op is eq, ne, lt, le, gt, ge or between."""

    op: str
    value: Any

    def __repr__(self) -> str:
        return f"({self.field.name} {self.op} {self.value!r})"


@dataclass(frozen=True, eq=False)
class Match(_Leaf):
    """Rows whose text has every term of ``term`` (full-text index)."""

    field: TextField
    term: str


@dataclass(frozen=True, eq=False)
class Search(_Leaf):
    """A full-text query (words, phrases, AND, OR, parentheses); a blank
    query filters nothing out, as in walrus 0.9."""

    field: TextField
    query: str
    default_conjunction: str = "and"


@dataclass(frozen=True, eq=False)
class _Combined(Expression):
    """``left`` and ``right`` joined by an operator (checked against the limits)."""

    left: Expression
    right: Expression
    symbol = ""

    def __post_init__(self) -> None:
        left, right = _check(self.left), _check(self.right)
        size = left.size + right.size
        depth = max(self._level(left), self._level(right))
        if size > MAX_FILTER_TERMS:
            raise QueryError(
                f"a filter combines more than {MAX_FILTER_TERMS} comparisons "
                "(the limit: walrus.features.models.expressions.MAX_FILTER_TERMS)"
            )
        if depth > MAX_FILTER_DEPTH:
            raise QueryError(
                f"a filter nests & and | more than {MAX_FILTER_DEPTH} levels deep "
                "(the limit: walrus.features.models.expressions.MAX_FILTER_DEPTH)"
            )
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "depth", depth)

    def _level(self, part: Expression) -> int:
        nested = isinstance(part, _Combined) and type(part) is not type(self)
        return part.depth + int(nested)

    def parts(self) -> list[Expression]:
        """The operands of this run of one operator, flattened, in order."""
        kind = type(self)
        parts: list[Expression] = []
        stack: list[Expression] = [self]
        while stack:
            item = stack.pop()
            if type(item) is kind:
                assert isinstance(item, _Combined)
                stack += [item.right, item.left]
            else:
                parts.append(item)
        return parts

    def __repr__(self) -> str:
        return "(" + f" {self.symbol} ".join(map(repr, self.parts())) + ")"


@dataclass(frozen=True, eq=False, repr=False)
class And(_Combined):
    """Rows matching both."""

    symbol = "&"


@dataclass(frozen=True, eq=False, repr=False)
class Or(_Combined):
    """Rows matching either."""

    symbol = "|"


def _leaves(expr: Expression) -> Iterator[Expression]:
    """The comparisons and searches of ``expr``, left to right (no recursion)."""
    stack = [expr]
    while stack:
        item = stack.pop()
        if isinstance(item, _Combined):
            stack += [item.right, item.left]
        else:
            yield item


@dataclass(frozen=True, eq=False)
class Ordering:
    """``order_by=field`` (ascending) or ``field.desc()``."""

    field: Field[Any]
    descending: bool = False


@dataclass(frozen=True)
class Result:
    """A compiled node: its key, whether it is a plain set, whether scored."""

    key: bytes
    is_set: bool
    scored: bool


@dataclass
class Compiler:
    """Compiles expressions of one model into commands for one MULTI/EXEC."""

    keys: ModelKeys
    commands: list[tuple[Any, ...]] = field(default_factory=list)
    temps: list[bytes] = field(default_factory=list)

    def temp(self) -> bytes:
        key = self.keys.temp()
        self.temps.append(key)
        return key

    def store(self, *command: Any) -> bytes:
        """Run a *STORE command into a new temporary key (with its TTL)."""
        key = self.temp()
        self.commands.append((command[0], key, *command[1:]))
        self.commands.append(("EXPIRE", key, TEMP_TTL))
        return key

    def compile(self, expr: Expression) -> Result:
        if isinstance(expr, Compare):
            return self._compare(expr)
        if isinstance(expr, Match | Search):
            node = self._text(expr)
            return node or Result(self.temp(), True, False)  # a key never written
        if isinstance(expr, And | Or):
            parts = expr.parts()
            if isinstance(expr, And):
                return self.combine("ZINTERSTORE", self._and_parts(parts))
            return self.combine("ZUNIONSTORE", [self.compile(p) for p in parts])
        raise InvalidType(f"expected a query expression, not {type(expr).__name__}")

    def combine(self, command: str, parts: list[Result]) -> Result:
        if len(parts) == 1:
            return parts[0]
        weights = [1 if p.scored else 0 for p in parts]
        key = self.store(
            command, len(parts), *(p.key for p in parts), "WEIGHTS", *weights
        )
        return Result(key, False, any(p.scored for p in parts))

    def _compare(self, expr: Compare) -> Result:
        f, op, value = expr.field, expr.op, expr.value
        name = f.name
        _check_index(f, ranged=op not in ("eq", "ne"))
        if op in ("eq", "ne"):
            if value is None:
                raise InvalidValue(f"cannot filter {name} on None: None is not indexed")
            key = self.keys.absolute(name, f.to_db(value))
            if op == "eq":
                return Result(key, True, False)
            return Result(self.store("SDIFFSTORE", self.keys.all, key), True, False)
        return self._range(f, _interval(expr))

    def _range(self, f: Field[Any], interval: Interval) -> Result:
        """ZRANGESTORE of the field's range index: only the matching members
        are copied, by the engine."""
        (low, low_open), (high, high_open) = interval
        bounds = [
            "-inf" if low == -math.inf else ("(" if low_open else "") + repr(low),
            "+inf" if high == math.inf else ("(" if high_open else "") + repr(high),
        ]
        key = self.store(
            "ZRANGESTORE", self.keys.continuous(f.name), *bounds, "BYSCORE"
        )
        return Result(key, False, False)

    def _and_parts(self, parts: list[Expression]) -> list[Result]:
        """Compile the parts of an AND; range filters on one field become one
        range (``(f >= a) & (f < b)`` reads only ``[a, b)``)."""
        ranges: dict[int, tuple[Field[Any], Interval]] = {}
        others: list[Expression] = []
        for part in parts:
            if isinstance(part, Compare) and part.op in RANGE_OPS:
                _check_index(part.field, ranged=True)
                interval = _interval(part)
                if id(part.field) in ranges:
                    interval = _narrow(ranges[id(part.field)][1], interval)
                ranges[id(part.field)] = (part.field, interval)
            else:
                others.append(part)
        results = [self._range(f, interval) for f, interval in ranges.values()]
        return results + [self.compile(p) for p in others]

    def _text(self, expr: Match | Search) -> Result | None:
        f = expr.field
        if not getattr(f, "fts", False):
            raise UnindexedField(
                f"{f!r} has no full-text index: declare it TextField(fts=True)"
            )
        tokenizer = f.tokenizer

        def terms(command: str, found: Iterable[str]) -> Result | None:
            index = [Result(self.keys.fts(f.name, t), False, True) for t in found]
            return self._combine_found(command, index)

        if isinstance(expr, Match):
            if not isinstance(expr.term, str):
                raise InvalidType(f"match() takes text, not {type(expr.term).__name__}")
            return terms("ZINTERSTORE", dict.fromkeys(tokenizer.tokenize(expr.term)))
        if isinstance(expr.query, str) and not expr.query.strip():
            return Result(self.keys.all, True, False)  # no words: every row (0.9)
        from walrus.features.text import query as q

        def walk(node: q.Node) -> Result | None:
            if isinstance(node, q.Word):
                return terms("ZUNIONSTORE", tokenizer.query_terms(node.text))
            if isinstance(node, q.Phrase):
                words = [walk(q.Word(w)) for w in node.words]
                return self._combine_found("ZINTERSTORE", words)
            command = "ZINTERSTORE" if isinstance(node, q.And) else "ZUNIONSTORE"
            return self._combine_found(command, [walk(part) for part in node.parts])

        return walk(q.parse_query(expr.query, expr.default_conjunction))

    def _combine_found(
        self, command: str, parts: Iterable[Result | None]
    ) -> Result | None:
        """``combine`` of the parts that match something (None if none does)."""
        kept = [p for p in parts if p is not None]
        return self.combine(command, kept) if kept else None


RANGE_OPS = frozenset({"lt", "le", "gt", "ge", "between"})
Bound = tuple[float, bool]  # (score, excluded)
Interval = tuple[Bound, Bound]


def _check_index(f: Field[Any], ranged: bool) -> None:
    """UnindexedField unless ``f`` has the index a comparison needs."""
    if not f.index:
        raise UnindexedField(
            f"{f!r} has no index: declare it with index=True to filter on it"
        )
    if ranged and not f.continuous:
        raise UnindexedField(
            f"{f!r} has no range index: only numbers, dates and datetimes "
            "support <, <=, >, >= and between"
        )


def _score(f: Field[Any], value: Any) -> float:
    if value is None:
        raise InvalidValue(f"cannot compare {f.name} with None")
    return f.score(value)


def _interval(expr: Compare) -> Interval:
    f, op, value = expr.field, expr.op, expr.value
    if op == "between":
        low, high = value
        return (_score(f, low), False), (_score(f, high), False)
    if op in ("lt", "le"):
        return (-math.inf, False), (_score(f, value), op == "lt")
    if op in ("gt", "ge"):
        return (_score(f, value), op == "gt"), (math.inf, False)
    raise InvalidValue(f"unknown comparison {op!r}")


def _narrow(a: Interval, b: Interval) -> Interval:
    """The intersection of two intervals."""
    low = max(a[0], b[0])  # at equal scores an excluded bound is narrower
    high = min(a[1], b[1], key=lambda bound: (bound[0], not bound[1]))
    return low, high
