"""Group the differences a survey run recorded, for the work queue.

``WALRUS_FUZZ_SURVEY=FILE pytest tests/fuzz/test_differential.py`` records
each unexplained difference instead of failing; ``cd tests;
python -m fuzz.survey FILE`` prints them grouped by signature (the differing
command and what each side answered), with the engines, counts and the
shortest sequence that showed it, after the list of known differences
with the engines each one explained in this run ("NEVER": fixed, perhaps).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from typing import Any

from fuzz.known import narrow
from fuzz.known_differences import DIFFERENCES
from fuzz.replies import Failure

__all__ = ["signature"]


def _describe(value: Any) -> str:
    if isinstance(value, Failure):
        return f"{value.kind} {value.prefix!r}"
    if isinstance(value, tuple) and len(value) == 4:  # a key of the keyspace
        return f"{value[1]!r} key{' with TTL' if value[3] else ''}"
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        return f"{len(value)} keys"
    return "nil" if value is None else type(value).__name__


def signature(step: Any, expected: Any, got: Any, keyspace: bool = False) -> str:
    """The differing command's name and the kinds of the two answers (for
    ``keyspace``: the step's, and the first key that differs)."""
    if keyspace:
        pairs = zip(expected, got, strict=False)
        e, g = next(((e, g) for e, g in pairs if e != g), (expected, got))
        name = _name(step) if isinstance(step, list) else step[0]
        return f"KEYSPACE AFTER {name}: {_describe(e)} vs {_describe(g)}"
    command, e, g = narrow(step, expected, got)
    where = "" if isinstance(step, list) or command is step else f"{step[0]}/"
    name = _name(command) if isinstance(command, list) else command[0]
    return f"{where}{name}: {_describe(e)} vs {_describe(g)}"


def _name(command: list[Any]) -> str:
    first = command[0]
    return first.decode() if isinstance(first, bytes) else str(first)


def main(path: str) -> None:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    hits: dict[int, set[str]] = defaultdict(set)
    with open(path, encoding="utf-8") as records:
        for line in records:
            record = json.loads(line)
            if "known" in record:
                hits[record["known"]].add(record["engine"])
            elif "signature" in record:
                groups[record["signature"]].append(record)
    for index, entry in enumerate(DIFFERENCES):
        engines = ", ".join(sorted(hits.get(index, ()))) or "NEVER (fixed?)"
        print(f"known {index:2}: {engines}: {entry.reason[:70]}")
    for sig, records in sorted(groups.items(), key=lambda g: -len(g[1])):
        engines = sorted({r["engine"] for r in records})
        best = min(records, key=lambda r: (len(r["before"]), len(r["step"])))
        print(f"## {sig}  [{len(records)}x; {', '.join(engines)}]")
        for before in best["before"]:
            print(f"    {before}")
        print(f"  > {best['step']}")
        print(f"    server: {best['expected'][:300]}")
        print(f"    {best['engine']}: {best['got'][:300]}")


if __name__ == "__main__":
    main(sys.argv[1])
