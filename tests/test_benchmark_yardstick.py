"""walrus/0.9 in the benchmark table: where the plain yardstick cannot count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis

REPO = Path(__file__).parents[1]


def test_searches_compare_raw_rates_with_walrus_09(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The plain search reads walrus 1.0's index keys: on walrus 0.9's data it
    finds nothing, so 0.9's plain rate is dropped and raw rates compared."""
    monkeypatch.syspath_prepend(str(REPO))  # benchmarks/ is not installed
    from benchmarks.__main__ import _yardstick, collect_workloads
    from benchmarks.harness import Result, versus_original

    workloads = collect_workloads(None)
    searches = [w for w in workloads if w.name.startswith("search ")]
    assert {w.name for w in searches if not w.plain_on_original} == {
        "search AND",
        "search OR",
        "search phrase",
    }
    result = Result("search AND", "redis", 500.0, 50.0, None)
    original = _yardstick((100.0, 400.0), workloads, result)
    assert original == (100.0, None)
    assert versus_original(result._replace(original=original)) == 5.0
    add = Result("search add", "redis", 500.0, 1000.0, None)
    assert _yardstick((100.0, 400.0), workloads, add) == (100.0, 400.0)
    assert _yardstick("fails", workloads, result) == "fails"


def test_the_plain_graph_query_finds_what_walrus_finds(
    redis_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hand-written query the graph query is timed against gives the
    same triples as ``Graph.query`` on the workload's data."""
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks.workloads import autocomplete_graph as graphs

    graphs._setup_graph(redis_db)
    settings = redis_db.connection_pool.connection_kwargs
    plain = redis.Redis(settings["host"], settings["port"], settings.get("db", 0))
    query = next(w for w in graphs.WORKLOADS if w.name == "graph query s+p")
    assert query.plain is not None
    found = query.plain(plain)()
    walrus = redis_db.graph(graphs.GRAPH).query(s="p1", p="friends")
    assert found == [tuple(t) for t in walrus] == [("p1", "friends", "p7")]
