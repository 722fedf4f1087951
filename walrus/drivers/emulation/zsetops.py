"""Sorted-set algebra: ZUNION/ZINTER/ZDIFF, their STORE forms, ZINTERCARD.

Inputs may be sets (every member scores 1), as in Redis. O(sum of input
sizes) plus O(M log M) to order the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation.engine import (
    SYNTAX,
    WRONGTYPE,
    EmulationEngine,
    Refused,
    command,
    to_float,
    to_int,
)
from walrus.drivers.emulation.sets import card_limit
from walrus.drivers.emulation.sortedset import ZSet
from walrus.drivers.emulation.zsets import with_scores

Args = list[bytes]
Inputs = list[dict[bytes, float]]


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
) -> tuple[dict[bytes, float], bool]:
    """Parse ``numkeys key... [WEIGHTS] [AGGREGATE] [WITHSCORES]`` at ``first``.

    Returns the result's scores by member and whether WITHSCORES was given.
    """
    inputs, rest = _inputs(db, args, first)
    weights = [1.0] * len(inputs)
    aggregate: Callable[[float, float], float] = _add
    scores = False
    i = 0
    while i < len(rest):
        option = rest[i].upper()
        if option == b"WEIGHTS" and operation != "diff" and i + len(inputs) < len(rest):
            weights = [
                to_float(w, "ERR weight value is not a float")
                for w in rest[i + 1 : i + 1 + len(inputs)]
            ]
            i += len(inputs)
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
    if operation == "diff":
        result = {
            m: s for m, s in inputs[0].items() if not any(m in o for o in inputs[1:])
        }
    elif operation == "union":
        result = _union(inputs, weights, aggregate)
    else:
        result = _inter(inputs, weights, aggregate)
    return result, scores


def _inputs(db: EmulationEngine, args: Args, first: int) -> tuple[Inputs, Args]:
    """``numkeys key...`` at ``first``: the inputs' scores (type-checked before
    any option, as Redis does) and the arguments after the keys."""
    name = args[0].decode().lower()
    numkeys = to_int(args[first])
    if numkeys <= 0:
        raise Refused(f"ERR at least 1 input key is needed for '{name}' command")
    keys = args[first + 1 : first + 1 + numkeys]
    if len(keys) < numkeys:
        raise Refused(SYNTAX)
    return [_scores(db, key) for key in keys], args[first + 1 + numkeys :]


# Redis visits the inputs smallest first, and that order decides where a sum
# of infinities becomes NaN (stored as 0): so do we.


def _ordered(
    inputs: Inputs, weights: list[float]
) -> list[tuple[dict[bytes, float], float]]:
    return sorted(zip(inputs, weights, strict=True), key=lambda pair: len(pair[0]))


def _union(
    inputs: Inputs, weights: list[float], aggregate: Callable[[float, float], float]
) -> dict[bytes, float]:
    result: dict[bytes, float] = {}
    for source, weight in _ordered(inputs, weights):
        for member, score in source.items():
            value = _weighted(score, weight)
            result[member] = (
                aggregate(result[member], value) if member in result else value
            )
    return result


def _inter(
    inputs: Inputs, weights: list[float], aggregate: Callable[[float, float], float]
) -> dict[bytes, float]:
    """Only the first product is cleared of NaN (and the sum), as in Redis."""
    (first, weight), *others = _ordered(inputs, weights)
    result: dict[bytes, float] = {}
    for member, score in first.items():
        total = _weighted(score, weight)
        for source, other_weight in others:
            if member not in source:
                break
            total = aggregate(total, source[member] * other_weight)
        else:
            result[member] = total
    return result


def _weighted(score: float, weight: float) -> float:
    value = score * weight
    return 0.0 if math.isnan(value) else value


_OPERATIONS = {b"ZUNION": "union", b"ZINTER": "inter", b"ZDIFF": "diff"}


@command("ZUNIONSTORE", -4)
@command("ZINTERSTORE", -4)
@command("ZDIFFSTORE", -4)
def zunionstore(db: EmulationEngine, args: Args) -> Reply:
    result, _ = combine(db, args, 2, _OPERATIONS[args[0].upper()[:-5]], store=True)
    zset = ZSet()
    for member, score in result.items():
        zset.add(member, score)
    db.replace(args[1], "zset", zset)
    return len(zset)


@command("ZUNION", -3)
@command("ZINTER", -3)
@command("ZDIFF", -3)
def zunion(db: EmulationEngine, args: Args) -> Reply:
    """The reply keeps a score of -0, which a stored set would keep as 0."""
    result, scores = combine(db, args, 1, _OPERATIONS[args[0].upper()], store=False)
    return with_scores(sorted((s, m) for m, s in result.items()), scores)


@command("ZINTERCARD", -3)
def zintercard(db: EmulationEngine, args: Args) -> Reply:
    """ZINTERCARD numkeys key... [LIMIT limit]: the size of the intersection,
    counting stops at ``limit`` (0: no limit). O(N * keys) for the smallest N."""
    inputs, rest = _inputs(db, args, 1)
    limit = card_limit(rest)
    inputs.sort(key=len)
    found = 0
    for member in inputs[0]:
        if all(member in other for other in inputs[1:]):
            found += 1
            if found == limit:
                break
    return found
