"""Sorted-set algebra: ZUNION/ZINTER/ZDIFF and their STORE forms.

Inputs may be sets (every member scores 1), as in Redis. O(sum of input
sizes) plus O(M log M) to order the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from walrus.drivers.embedded import Reply
from walrus.drivers.emulation.engine import (
    SYNTAX,
    WRONGTYPE,
    EmulationEngine,
    Refused,
    command,
    to_float,
    to_int,
)
from walrus.drivers.emulation.sortedset import ZSet
from walrus.drivers.emulation.zsets import with_scores

Args = list[bytes]


def _scores(db: EmulationEngine, key: bytes) -> dict[bytes, float]:
    entry = db.entry(key)
    if entry is None:
        return {}
    if entry.kind == "zset":
        scores: dict[bytes, float] = entry.value.scores
        return scores
    if entry.kind == "set":
        return dict.fromkeys(entry.value, 1.0)
    raise Refused(WRONGTYPE)


def _add(a: float, b: float) -> float:
    total = a + b
    return 0.0 if math.isnan(total) else total


_AGGREGATES: dict[bytes, Callable[[float, float], float]] = {
    b"SUM": _add,
    b"MIN": min,
    b"MAX": max,
}


def combine(
    db: EmulationEngine, args: Args, first: int, operation: str, store: bool
) -> tuple[ZSet, bool]:
    """Parse ``numkeys key... [WEIGHTS] [AGGREGATE] [WITHSCORES]`` at ``first``.

    Returns the result and whether WITHSCORES was given.
    """
    name = args[0].decode().lower()
    numkeys = to_int(args[first])
    if numkeys <= 0:
        raise Refused(f"ERR at least 1 input key is needed for '{name}' command")
    keys = args[first + 1 : first + 1 + numkeys]
    if len(keys) < numkeys:
        raise Refused(SYNTAX)
    weights = [1.0] * numkeys
    aggregate: Callable[[float, float], float] = _add
    scores = False
    rest = args[first + 1 + numkeys :]
    i = 0
    while i < len(rest):
        option = rest[i].upper()
        if option == b"WEIGHTS" and operation != "diff" and i + numkeys < len(rest):
            weights = [
                to_float(w, "ERR weight value is not a float")
                for w in rest[i + 1 : i + 1 + numkeys]
            ]
            i += numkeys
        elif option == b"AGGREGATE" and operation != "diff" and i + 1 < len(rest):
            found = _AGGREGATES.get(rest[i + 1].upper())
            if found is None:
                raise Refused(SYNTAX)
            aggregate = found
            i += 1
        elif option == b"WITHSCORES" and not store:
            scores = True
        else:
            raise Refused(SYNTAX)
        i += 1
    inputs = [_scores(db, key) for key in keys]
    result: dict[bytes, float] = {}
    if operation == "diff":
        result = {
            m: s for m, s in inputs[0].items() if not any(m in o for o in inputs[1:])
        }
    elif operation == "union":
        for source, weight in zip(inputs, weights, strict=True):
            for member, score in source.items():
                value = _weighted(score, weight)
                result[member] = (
                    aggregate(result[member], value) if member in result else value
                )
    else:
        smallest = min(range(numkeys), key=lambda k: len(inputs[k]))
        for member in inputs[smallest]:
            if all(member in source for source in inputs):
                values = [
                    _weighted(s[member], w)
                    for s, w in zip(inputs, weights, strict=True)
                ]
                total = values[0]
                for value in values[1:]:
                    total = aggregate(total, value)
                result[member] = total
    zset = ZSet()
    for member, score in result.items():
        zset.add(member, score)
    return zset, scores


def _weighted(score: float, weight: float) -> float:
    value = score * weight
    return 0.0 if math.isnan(value) else value


_OPERATIONS = {b"ZUNION": "union", b"ZINTER": "inter", b"ZDIFF": "diff"}


@command("ZUNIONSTORE", -4)
@command("ZINTERSTORE", -4)
@command("ZDIFFSTORE", -4)
def zunionstore(db: EmulationEngine, args: Args) -> Reply:
    zset, _ = combine(db, args, 2, _OPERATIONS[args[0].upper()[:-5]], store=True)
    db.replace(args[1], "zset", zset)
    return len(zset)


@command("ZUNION", -3)
@command("ZINTER", -3)
@command("ZDIFF", -3)
def zunion(db: EmulationEngine, args: Args) -> Reply:
    zset, scores = combine(db, args, 1, _OPERATIONS[args[0].upper()], store=False)
    return with_scores(list(zset), scores)
