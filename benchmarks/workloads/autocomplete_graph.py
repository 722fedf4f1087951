"""Workloads for Autocomplete and Graph.

Autocomplete: storing a title (the named operation that replaces its old
prefixes), one- and two-word searches and a boosted search over 1,000
titles. Graph: storing one triple, 1,000 triples at once, a query by two
parts (timed against a hand-written one: the ZRANGEBYLEX, its members
split into triples) and a two-clause search over a graph of 1,000 people.
Operations are steady-state: stores overwrite.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import Operation, Workload, group_key, plain_command

NAMESPACE, GRAPH = "bench:ac", "bench:graph"
WORDS = ["walrus", "tusk", "carpenter", "eye", "ocean", "ice", "python", "redis"]
PEOPLE = 1000


def _setup_autocomplete(db: Any) -> None:
    ac = db.autocomplete(namespace=NAMESPACE)
    for i in range(1000):
        title = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(4))
        ac.store(i, f"{title} {i}", data={"id": i}, obj_type="doc")


def _setup_graph(db: Any) -> None:
    db.graph(GRAPH).store_many(
        [(f"p{i}", "friends", f"p{(i * 7) % PEOPLE}") for i in range(PEOPLE)]
        + [(f"p{i}", "lives", f"city{i % 10}") for i in range(PEOPLE)]
    )


def _ac(act: Any) -> Any:
    def prepare(db: Any) -> Operation:
        ac = db.autocomplete(namespace=NAMESPACE)
        return lambda: act(ac)

    return prepare


def _graph(act: Any) -> Any:
    def prepare(db: Any) -> Operation:
        graph = db.graph(GRAPH)
        return lambda: act(graph)

    return prepare


def _plain_query(client: Any) -> Operation:
    """A hand-written hexastore query, for the same triples: the range of
    the subject and predicate, then each member split into its parts."""
    command = plain_command(client)
    key = group_key(client, GRAPH)

    def query(s: str, p: str) -> list[tuple[str, ...]]:
        prefix = f"spo::{s}::{p}:"
        members = command("ZRANGEBYLEX", key, f"[{prefix}:", f"({prefix};")
        return [tuple(m.decode().split("::")[1:]) for m in members]

    return lambda: query("p1", "friends")


def _search(graph: Any) -> object:
    x = graph.v.X
    return graph.search(
        {"s": "p1", "p": "friends", "o": x}, {"s": x, "p": "lives", "o": "city7"}
    )


# Results are consumed with list(): walrus 0.9 returns generators.
MANY = [(f"s{i}", "p", f"o{i}") for i in range(1000)]

WORKLOADS = [
    Workload(
        "autocomplete store",
        _setup_autocomplete,
        _ac(lambda ac: ac.store(1, "walrus tusk carpenter eye 1", obj_type="doc")),
    ),
    Workload(
        "autocomplete search 1 word",
        _setup_autocomplete,
        _ac(lambda ac: list(ac.search("wal", limit=10))),
    ),
    Workload(
        "autocomplete search 2 words",
        _setup_autocomplete,
        _ac(lambda ac: list(ac.search("wal car", limit=10))),
    ),
    Workload(
        "autocomplete search boosted",
        _setup_autocomplete,
        _ac(lambda ac: list(ac.search("tusk", limit=10, boosts={"7": 2.0}))),
    ),
    Workload("graph store", _setup_graph, _graph(lambda g: g.store("a", "b", "c"))),
    Workload("graph store_many 1k", _setup_graph, _graph(lambda g: g.store_many(MANY))),
    Workload(
        "graph query s+p",
        _setup_graph,
        _graph(lambda g: list(g.query(s="p1", p="friends"))),
        _plain_query,
    ),
    Workload("graph search 2 clauses", _setup_graph, _graph(_search)),
]
