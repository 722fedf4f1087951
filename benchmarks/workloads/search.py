"""Workloads for the full-text search Index.

1,000 documents of eight words each (from a vocabulary of 100, so a word is
in about 80 documents) plus a word of their own. Timed: adding a document
(steady state: it overwrites itself), adding a longer one of 50 words (42
distinct index terms), and AND, OR and phrase searches that fetch their hits.
The plain side does the least a hand-written search on the same keys must do:
read the postings of the query's words, combine them in Python (no ranking,
no phrase positions) and HGETALL each hit, one command at a time. walrus 0.9
keeps its index under other keys, where that plain search finds nothing: the
searches are compared with walrus 0.9 by raw rates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.harness import Operation, Workload, group_key, plain_command

NAME = "bench:search"
VOCABULARY = [f"w{n}" for n in range(100)]
DOCUMENTS = 1000


def _content(i: int) -> str:
    return " ".join(VOCABULARY[(i + 13 * k) % 100] for k in range(8)) + f" doc{i}"


# 50 words of the vocabulary and of English (42 distinct index terms)
ENGLISH = "the walrus and the carpenter were walking close at hand they wept like"
LONG = " ".join(VOCABULARY[(7 * k) % 100] for k in range(30))
LONG += f" {ENGLISH} anything to see such quantities of sand"


def _setup(db: Any) -> None:
    index = db.Index(NAME)
    for i in range(DOCUMENTS):
        index.add(str(i), _content(i), n=str(i))


def _index(act: Callable[[Any], object]) -> Callable[[Any], Operation]:
    def prepare(db: Any) -> Operation:
        index = db.Index(NAME)
        return lambda: act(index)

    return prepare


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(reply: Any) -> set[str]:
    if isinstance(reply, dict):
        return {_text(k) for k in reply}
    return {_text(k) for k in list(reply or [])[::2]}  # flat field/value list


def _plain_search(words: list[str], combine: str) -> Callable[[Any], Operation]:
    def prepare(client: Any) -> Operation:
        command = plain_command(client)

        def run() -> object:
            found = [
                _fields(command("HGETALL", group_key(client, NAME, f":w:{w}")))
                for w in words
            ]
            hits = set.intersection(*found) if combine == "and" else set.union(*found)
            return [
                command("HGETALL", group_key(client, NAME, f":doc:{hit}"))
                for hit in sorted(hits)
            ]

        return run

    return prepare


def _plain_add(client: Any) -> Operation:
    command = plain_command(client)
    return lambda: command(
        "HSET", group_key(client, NAME, ":doc:1"), "content", _content(1)
    )


# Results are consumed with list(): walrus 0.9 may return generators.
WORKLOADS = [
    Workload(
        "search add",
        _setup,
        _index(lambda index: index.add("1", _content(1), n="1")),
        _plain_add,
    ),
    Workload(
        "search add 50 words",
        _setup,
        _index(lambda index: index.add("long", LONG, n="1")),
        _plain_add,
    ),
    Workload(
        "search AND",
        _setup,
        _index(lambda index: list(index.search("w0 w13"))),
        _plain_search(["w0", "w13"], "and"),
        plain_on_original=False,
    ),
    Workload(
        "search OR",
        _setup,
        _index(lambda index: list(index.search("w0 OR w50"))),
        _plain_search(["w0", "w50"], "or"),
        plain_on_original=False,
    ),
    Workload(
        "search phrase",
        _setup,
        _index(lambda index: list(index.search('"w0 w13 w26"'))),
        _plain_search(["w0", "w13", "w26"], "and"),
        plain_on_original=False,
    ),
]
