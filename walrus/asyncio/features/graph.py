"""Async twin of :mod:`walrus.features.graph`, generated from ``walrus/features/graph.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast
from walrus.exceptions import InvalidType, InvalidValue

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.graph import (
    CHUNK,
    Condition,
    PARTS,
    SEP,
    Triple,
    Value,
    Variable,
    _Bindings,
    _ORDERING_OF,
    _Variables,
    _bindings,
    _escape,
    _join,
    _members,
    _text,
    _triple,
)

__all__ = ["Graph", "GraphFactories", "Triple", "Variable"]


class Graph:
    """A hexastore named ``name``: store triples and query them by any parts."""

    def __init__(self, database: Driver, name: str) -> None:
        self.database = database
        self.name = name
        self.key = database.keyspace.group(name).key()
        self.v = _Variables()

    async def store(self, s: Value, p: Value, o: Value) -> None:
        """Store one triple: ZADD of six members. O(log N); one round trip."""
        await self.database.zadd(
            self.key, dict.fromkeys(_members(_text(s), _text(p), _text(o)), 0)
        )

    async def store_many(self, items: Iterable[tuple[Value, Value, Value]]) -> None:
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
            await self.database.zadd(self.key, batches[0])
            return
        pipe = self.database.pipeline(transaction=True)
        for batch in batches:
            pipe.zadd(self.key, batch)
        await pipe.execute()

    async def delete(self, s: Value, p: Value, o: Value) -> None:
        """Remove one triple: ZREM of six members. O(log N); one round trip."""
        await self.database.zrem(self.key, *_members(_text(s), _text(p), _text(o)))

    def _range(self, given: Mapping[str, str]) -> tuple[str, str]:
        """The ZRANGEBYLEX bounds of the triples whose parts are ``given``
        (the ordering starts with them)."""
        ordering = _ORDERING_OF[frozenset(given)]
        known = [_escape(given[c]) for c in ordering[: len(given)]]
        start = SEP.join([ordering, *known])
        if len(known) == len(PARTS):
            return ("[" + start, "[" + start)
        return (f"[{start}{SEP}", f"({start}:;")

    async def query(
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
        members = await self.database.execute_command(
            "ZRANGEBYLEX", self.key, low, high
        )
        return [_triple(m) for m in members]

    async def search(self, *conditions: Condition) -> dict[str, set[str]]:
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
                (v.name for c in clauses for v in c.values() if isinstance(v, Variable))
            )
        )
        pipe = self.database.pipeline(transaction=False)
        prefixes = []
        for clause in clauses:
            given = {c: v for c, v in clause.items() if isinstance(v, str)}
            low, high = self._range(given)
            prefixes.append(low[1:])
            pipe.zrangebylex(self.key, low, high)
        replies = await pipe.execute() if clauses else []
        solutions: _Bindings = ((), {()})
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
                f"Graph.search() takes conditions as {{'s': ..., 'p': ..., 'o': ...}} or (s, p, o), not {condition!r}"
            )
        unknown = sorted((repr(k) for k in condition if k not in PARTS))
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


class GraphFactories:
    """The ``db.graph(name)`` factory of walrus databases."""

    def graph(self, name: str, *args: Any, **kwargs: Any) -> Graph:
        """A :class:`Graph` (hexastore) stored in the sorted set ``name``."""
        return Graph(cast("Driver", self), name, *args, **kwargs)
