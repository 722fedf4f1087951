"""SORT (and SORT_RO) of lists, sets and sorted sets, with BY, GET, LIMIT, STORE.

Patterns replace the first ``*`` with the element; ``key->field`` reads a
hash field; ``#`` is the element itself. O(N log N + N * patterns).
"""

from __future__ import annotations

import functools
from collections import deque
from typing import Any

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

Args = list[bytes]
NOT_DOUBLE = "ERR One or more scores can't be converted into double"


def _lookup(db: EmulationEngine, pattern: bytes, element: bytes) -> bytes | None:
    """The value a BY/GET pattern names for ``element`` (None if missing)."""
    if pattern == b"#":
        return element
    if b"*" not in pattern:
        return None
    star = pattern.index(b"*")
    arrow = pattern.find(b"->", star)
    if arrow == -1:
        key, field = pattern.replace(b"*", element, 1), b""
    else:
        key, field = pattern[:arrow].replace(b"*", element, 1), pattern[arrow + 2 :]
    entry = db.entry(key)
    if entry is None:
        return None
    if field:
        return entry.value.get(field) if entry.kind == "hash" else None
    return entry.value if entry.kind == "string" else None


def _elements(db: EmulationEngine, key: bytes) -> list[bytes]:
    entry = db.entry(key)
    if entry is None:
        return []
    if entry.kind == "list":
        return list(entry.value)
    if entry.kind == "set":
        return list(entry.value)
    if entry.kind == "zset":
        return [member for _, member in entry.value]
    raise Refused(WRONGTYPE)


@command("SORT", -2)
@command("SORT_RO", -2)
def sort(db: EmulationEngine, args: Args) -> Reply:
    by: bytes | None = None
    gets: list[bytes] = []
    limit: tuple[int, int] | None = None
    desc = alpha = False
    store: bytes | None = None
    i = 2
    while i < len(args):
        option = args[i].upper()
        if option in (b"ASC", b"DESC"):
            desc = option == b"DESC"
        elif option == b"ALPHA":
            alpha = True
        elif option == b"LIMIT" and i + 2 < len(args):
            limit = (to_int(args[i + 1]), to_int(args[i + 2]))
            i += 2
        elif option == b"BY" and i + 1 < len(args):
            by = args[i + 1]
            i += 1
        elif option == b"GET" and i + 1 < len(args):
            gets.append(args[i + 1])
            i += 1
        elif option == b"STORE" and i + 1 < len(args) and args[0].upper() == b"SORT":
            store = args[i + 1]
            i += 1
        else:
            raise Refused(SYNTAX)
        i += 1
    elements = _elements(db, args[1])
    entry = db.entry(args[1])
    sorting = by is None or b"*" in by
    if not sorting and store is not None and entry is not None and entry.kind == "set":
        sorting, alpha, by = True, True, None  # stored: an order that does not vary
    if sorting:
        keyed = [(e, e if by is None else _lookup(db, by, e)) for e in elements]
        if not alpha:
            keyed_numbers = [
                (e, 0.0 if v is None else to_float(v, NOT_DOUBLE)) for e, v in keyed
            ]
            elements = _ordered(keyed_numbers, desc)
        else:
            elements = _ordered([(e, v or b"") for e, v in keyed], desc)
    elif entry is not None and entry.kind in ("list", "zset") and desc:
        elements.reverse()  # natural order, reversed (a set's has no direction)
    if limit is not None:
        offset, count = limit
        offset = max(0, offset)
        elements = (
            elements[offset : offset + count] if count >= 0 else elements[offset:]
        )
    if gets:
        result: list[bytes | None] = [_lookup(db, p, e) for e in elements for p in gets]
    else:
        result = list(elements)
    if store is not None:
        db.replace(store, "list", deque(v or b"" for v in result))
        return len(result)
    return result


def _ordered(keyed: list[tuple[bytes, Any]], desc: bool) -> list[bytes]:
    """Order by sort key, ties by the element's bytes (as Redis does)."""

    def compare(a: tuple[bytes, Any], b: tuple[bytes, Any]) -> int:
        result = (a[1] > b[1]) - (a[1] < b[1]) or (a[0] > b[0]) - (a[0] < b[0])
        return -result if desc else result

    return [e for e, _ in sorted(keyed, key=functools.cmp_to_key(compare))]
