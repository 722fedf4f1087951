"""The tour section of the graph (:mod:`walrus.features.graph`)."""

from __future__ import annotations

from typing import Any

from walrus.tour.runner import Section, Transcript, tour_section

SECTIONS: list[Section] = []


@tour_section("Graph", into=SECTIONS)
def _graph(db: Any, show: Transcript) -> None:
    """A hexastore: triples stored in every order in one sorted set, so a
    query by any known parts is one ZRANGEBYLEX; search joins clauses."""
    show("graph = db.graph('tour:people')")
    show("graph.store('charlie', 'friends', 'huey')")
    show(
        "graph.store_many([\n"
        "    ('charlie', 'friends', 'zaizee'), ('charlie', 'friends', 'nuggie'),\n"
        "    ('huey', 'lives', 'Kansas'), ('zaizee', 'lives', 'Missouri'),\n"
        "    ('nuggie', 'lives', 'Kansas'),\n"
        "])"
    )
    show("[t.o for t in graph.query(s='charlie', p='friends')]")
    show("X = graph.v.X")
    show("friends = {'s': 'charlie', 'p': 'friends', 'o': X}")
    show("in_kansas = {'s': X, 'p': 'lives', 'o': 'Kansas'}")
    show("sorted(graph.search(friends, in_kansas)['X'])")
