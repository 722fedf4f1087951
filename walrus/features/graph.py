"""Graph: a hexastore of subject-predicate-object triples in one sorted set.

Every triple is stored six times, once per ordering of its parts (``spo``,
``sop``, ``pso``, ``pos``, ``osp``, ``ops``), as members of one sorted set
with score 0, so any combination of known parts is a prefix of one ordering
and one ZRANGEBYLEX finds every matching triple.

A member is the ordering's name and the three parts joined by ``::``, e.g.
``spo::charlie::friends::huey`` (walrus 0.9's layout). Unlike walrus 0.9,
each part is escaped (``\\`` becomes ``\\\\`` and ``:`` becomes ``\\:``), so
values may hold ``::``, any separator, non-Latin text or nothing at all, and
the lexicographic range of a prefix never spills into other values: the
range ends just before the prefix with its last ``:`` raised to ``;``, so no
``\\xff`` upper bound (which misses non-Latin UTF-8) is needed.

In :meth:`Graph.query` a part given as ``None`` is a wildcard; the empty
string is a value like any other. Values are text: they are returned as
``str`` in both reply modes (bytes given are decoded as UTF-8).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from walrus.exceptions import InvalidType, InvalidValue

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["Graph", "GraphFactories", "Triple", "Variable"]

PARTS = ("s", "p", "o")
ORDERINGS = ("spo", "sop", "pso", "pos", "osp", "ops")
SEP = "::"
CHUNK = 1000  # triples per ZADD in store_many (6,000 members)

Value = str | bytes | int | float
# A search clause: {"s": ..., "p": ..., "o": ...} or (s, p, o); values or Variables.
Condition = Mapping[str, Any] | tuple[Any, Any, Any] | list[Any]


class Triple(NamedTuple):
    """One stored relationship; ``triple['s']`` works as in walrus 0.9."""

    s: str
    p: str
    o: str

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, str):
            return getattr(self, item)
        return tuple.__getitem__(self, item)


@dataclass(frozen=True)
class Variable:
    """A named placeholder for :meth:`Graph.search` clauses."""

    name: str


class _Variables:
    """``graph.v.X`` and ``graph.v('X')`` both make the variable ``X``."""

    def __getattr__(self, name: str) -> Variable:
        if name.startswith("__"):
            raise AttributeError(name)
        return Variable(name)

    def __call__(self, name: str) -> Variable:
        return Variable(name)


def _text(value: Value) -> str:
    if type(value) is str:  # the usual case first
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InvalidType(f"graph values are text, not {type(value).__name__}")


def _escape(part: str) -> str:
    if "\\" not in part and ":" not in part:  # the usual case: nothing to escape
        return part
    return part.replace("\\", "\\\\").replace(":", "\\:")


def _split(member: str) -> list[str]:
    """The ordering's name and the three parts of an encoded member."""
    if "\\" not in member:  # nothing escaped: every ':' is a separator's
        return member.split(SEP)
    parts: list[str] = []
    current: list[str] = []
    chars = iter(member)
    for char in chars:
        if char == "\\":
            current.append(next(chars))
        elif char == ":":
            next(chars)  # the second ':' of the separator
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


_new_tuple = tuple.__new__  # a Triple without NamedTuple's Python __new__


def _triple(member: bytes | str) -> Triple:
    """The triple an encoded member holds."""
    text = member.decode() if isinstance(member, bytes) else member
    ordering, *values = _split(text)
    s, p, o = _POSITIONS[ordering]
    return _new_tuple(Triple, (values[s], values[p], values[o]))


def _members(s: str, p: str, o: str) -> list[str]:
    values = {"s": _escape(s), "p": _escape(p), "o": _escape(o)}
    return [SEP.join([name, *(values[c] for c in name)]) for name in ORDERINGS]


class Graph:
    """A hexastore named ``name``: store triples and query them by any parts."""

    def __init__(self, database: Driver, name: str) -> None:
        self.database = database
        self.name = name
        self.key = database.keyspace.group(name).key()
        self.v = _Variables()

    def store(self, s: Value, p: Value, o: Value) -> None:
        """Store one triple: ZADD of six members. O(log N); one round trip."""
        self.database.zadd(
            self.key, dict.fromkeys(_members(_text(s), _text(p), _text(o)), 0)
        )

    def store_many(self, items: Iterable[tuple[Value, Value, Value]]) -> None:
        """Store many triples: one ZADD per 1,000 triples, all sent in one
        MULTI/EXEC. O(n log N); one round trip."""
        batches: list[dict[str, int]] = []
        for index, (s, p, o) in enumerate(items):
            if index % CHUNK == 0:
                batches.append({})
            batches[-1].update(dict.fromkeys(_members(_text(s), _text(p), _text(o)), 0))
        if not batches:
            return
        if len(batches) == 1:
            self.database.zadd(self.key, batches[0])
            return
        pipe = self.database.pipeline(transaction=True)
        for batch in batches:
            pipe.zadd(self.key, batch)
        pipe.execute()

    def delete(self, s: Value, p: Value, o: Value) -> None:
        """Remove one triple: ZREM of six members. O(log N); one round trip."""
        self.database.zrem(self.key, *_members(_text(s), _text(p), _text(o)))

    def _range(self, given: Mapping[str, str]) -> tuple[str, str]:
        """The ZRANGEBYLEX bounds of the triples whose parts are ``given``
        (the ordering starts with them)."""
        ordering = _ORDERING_OF[frozenset(given)]
        known = [_escape(given[c]) for c in ordering[: len(given)]]
        start = SEP.join([ordering, *known])
        if len(known) == len(PARTS):  # the one member of that exact triple
            return "[" + start, "[" + start
        return f"[{start}{SEP}", f"({start}:;"

    def query(
        self, s: Value | None = None, p: Value | None = None, o: Value | None = None
    ) -> list[Triple]:
        """Every triple matching the given parts (``None`` is a wildcard).

        One ZRANGEBYLEX: O(log N + M); one round trip.
        """
        given = {}
        if s is not None:
            given["s"] = _text(s)
        if p is not None:
            given["p"] = _text(p)
        if o is not None:
            given["o"] = _text(o)
        low, high = self._range(given)
        # execute_command: redis-py's zrangebylex() checks its paging options
        # and adds a key list, 1 µs of a 34 µs call on loopback
        members = self.database.execute_command("ZRANGEBYLEX", self.key, low, high)
        return [_triple(m) for m in members]

    def search(self, *conditions: Condition) -> dict[str, set[str]]:
        """Values of each variable over every solution of all ``conditions``.

        A condition maps ``s``/``p``/``o`` to a value or a :class:`Variable`
        (a missing part matches anything), or is an ``(s, p, o)`` tuple
        (``None`` matches anything). A solution binds every variable so
        that each condition is a stored triple; the result maps each variable
        name to the set of its values over all solutions. Each condition's
        candidate triples are read by one ZRANGEBYLEX, all pipelined, then
        joined here: one command per condition (as in walrus 0.9) and one
        round trip, whatever the number of results. The reads are not a
        transaction (walrus 0.9's were not either): a write landing between
        two of them may show in one condition's triples and not in another's.
        """
        clauses = [self._clause(condition) for condition in conditions]
        names = list(
            dict.fromkeys(
                v.name for c in clauses for v in c.values() if isinstance(v, Variable)
            )
        )
        pipe = self.database.pipeline(transaction=False)
        prefixes = []
        for clause in clauses:
            given = {c: v for c, v in clause.items() if isinstance(v, str)}
            low, high = self._range(given)
            prefixes.append(low[1:])  # every member of the range starts so
            pipe.zrangebylex(self.key, low, high)
        replies = pipe.execute() if clauses else []
        solutions: _Bindings = ((), {()})  # one solution, binding nothing
        for clause, prefix, reply in zip(clauses, prefixes, replies, strict=True):
            solutions = _join(solutions, _bindings(clause, prefix, reply))
            if not solutions[1]:
                break
        bound, rows = solutions
        return {
            name: {row[bound.index(name)] for row in rows} if name in bound else set()
            for name in names
        }

    @staticmethod
    def _clause(condition: Any) -> dict[str, str | Variable]:
        if isinstance(condition, tuple | list) and len(condition) == len(PARTS):
            condition = dict(zip(PARTS, condition, strict=True))
        if not isinstance(condition, Mapping):
            raise InvalidType(
                "Graph.search() takes conditions as {'s': ..., 'p': ..., 'o': ...} "
                f"or (s, p, o), not {condition!r}"
            )
        unknown = sorted(repr(k) for k in condition if k not in PARTS)
        if unknown:
            raise InvalidValue(
                "Graph.search() conditions have the keys 's', 'p' and 'o', not "
                + ", ".join(unknown)
            )
        return {
            c: v if isinstance(v, Variable) else _text(v)
            for c, v in condition.items()
            if v is not None
        }


# the known parts (a subset of PARTS) -> the ordering that starts with them,
# the known ones and then the others each in s, p, o order (``"pos"`` for p, o)
_ORDERING_OF = {
    frozenset(known): "".join(
        sorted(PARTS, key=lambda c: (c not in known, PARTS.index(c)))
    )
    for known in ("", "s", "p", "o", "sp", "so", "po", "spo")
}
# an ordering -> where its member's s, p and o are among the three parts
_POSITIONS = {name: tuple(name.index(c) for c in PARTS) for name in ORDERINGS}


# Variable bindings: the variables' names, and a set of rows of their values.
_Bindings = tuple[tuple[str, ...], set[tuple[str, ...]]]


def _picker(indexes: list[int]) -> Callable[[Sequence[str]], tuple[str, ...]]:
    """A function taking the items at ``indexes`` of a sequence, as a tuple."""
    if not indexes:
        return lambda row: ()
    if len(indexes) == 1:
        only = indexes[0]
        return lambda row: (row[only],)
    return cast("Callable[[Sequence[str]], tuple[str, ...]]", itemgetter(*indexes))


def _bindings(
    clause: Mapping[str, str | Variable], prefix: str, members: list[Any]
) -> _Bindings:
    """The bindings of the clause's variables by the ``members`` of its range.

    Every member starts with ``prefix``: the ordering's name and the
    clause's known parts. What follows it are the unknown parts, in the
    ordering's order, and only those are read. A variable used twice must
    have one value.
    """
    ordering = prefix[:3]
    unknown = [c for c in ordering if not isinstance(clause.get(c), str)]
    places: dict[str, list[int]] = {}
    for part, term in clause.items():
        if isinstance(term, Variable):
            places.setdefault(term.name, []).append(unknown.index(part))
    names = tuple(places)
    if members and isinstance(members[0], bytes):
        start = len(prefix.encode("utf-8"))
        rests = [m[start:].decode("utf-8") for m in members]
    else:
        start = len(prefix)
        rests = [m[start:] for m in members]
    if len(unknown) == 1 and names:  # one variable: the rest is its value
        return names, {(r,) if "\\" not in r else (_split(r)[0],) for r in rests}
    found = [_split(r) for r in rests]
    same = [(at[0], other) for at in places.values() for other in at[1:]]
    if same:
        found = [v for v in found if all(v[a] == v[b] for a, b in same)]
    pick = _picker([at[0] for at in places.values()])
    return names, {pick(values) for values in found}


def _join(left: _Bindings, right: _Bindings) -> _Bindings:
    """A hash join of two sets of bindings on their shared variables (the
    smaller side is hashed); the rows hold the left's variables, then the
    right's new ones."""
    left_names, left_rows = left
    right_names, right_rows = right
    shared = [n for n in right_names if n in left_names]
    left_key = _picker([left_names.index(n) for n in shared])
    right_key = _picker([right_names.index(n) for n in shared])
    added = [i for i, n in enumerate(right_names) if n not in left_names]
    new = _picker(added)
    if not added:  # the right binds nothing new: keep the left rows it agrees with
        return left_names, {row for row in left_rows if left_key(row) in right_rows}
    names = left_names + tuple(right_names[i] for i in added)
    index: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    if len(left_rows) <= len(right_rows):
        for row in left_rows:
            index.setdefault(left_key(row), []).append(row)
        return names, {
            row + new(other)
            for other in right_rows
            for row in index.get(right_key(other), ())
        }
    for other in right_rows:
        index.setdefault(right_key(other), []).append(new(other))
    return names, {
        row + extra for row in left_rows for extra in index.get(left_key(row), ())
    }


class GraphFactories:
    """The ``db.graph(name)`` factory of walrus databases."""

    def graph(self, name: str, *args: Any, **kwargs: Any) -> Graph:
        """A :class:`Graph` (hexastore) stored in the sorted set ``name``."""
        return Graph(cast("Driver", self), name, *args, **kwargs)
