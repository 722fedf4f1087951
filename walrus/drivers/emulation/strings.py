"""String commands: GET, SET and its options, MGET/MSET, INCR*, APPEND, LCS, ..."""

from __future__ import annotations

from array import array

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation.engine import (
    INT64_MAX,
    INT64_MIN,
    SYNTAX,
    EmulationEngine,
    Refused,
    add_floats,
    command,
    now_ms,
    to_int,
    wrong_args,
)

Args = list[bytes]
MAX_STRING = 512 * 1024 * 1024
LCS_MAX_CELLS = 4_000_000  # (len(a) + 1) * (len(b) + 1): LCS's table in Python


def get_string(db: EmulationEngine, key: bytes) -> bytes | None:
    """The string at ``key`` (WRONGTYPE for another type). O(1)."""
    value: bytes | None = db.value(key, "string", None)
    return value


@command("GET", 2)
def get(db: EmulationEngine, args: Args) -> Reply:
    return get_string(db, args[1])


def _deadline(name: str, option: bytes, raw: bytes) -> int:
    amount = to_int(raw)
    scale = 1000 if option in (b"EX", b"EXAT") else 1
    if 0 < amount <= INT64_MAX // scale:
        deadline = amount * scale + (now_ms() if option in (b"EX", b"PX") else 0)
        if deadline <= INT64_MAX:
            return deadline
    raise Refused(f"ERR invalid expire time in '{name}' command")


_EXPIRY_OPTIONS = frozenset({b"EX", b"PX", b"EXAT", b"PXAT"})
_FLAGS = frozenset({b"NX", b"XX", b"GET", b"KEEPTTL"})
_NX_XX = frozenset({b"NX", b"XX"})


@command("SET", -3)
def set_(db: EmulationEngine, args: Args) -> Reply:
    """SET with NX/XX/GET/KEEPTTL/EX/PX/EXAT/PXAT. O(1)."""
    key, value = args[1], args[2]
    if len(args) == 3:  # no option: what set_string does, one lookup less
        db.replace(key, "string", value)
        return b"OK"
    flags: set[bytes] = set()
    deadline: int | None = None
    i, count = 3, len(args)
    while i < count:
        option = args[i].upper()
        if option in _EXPIRY_OPTIONS and i + 1 < count:
            if deadline is not None or b"KEEPTTL" in flags:
                raise Refused(SYNTAX)
            deadline = _deadline("set", option, args[i + 1])
            i += 2
        elif option in _FLAGS:
            flags.add(option)
            i += 1
        else:
            raise Refused(SYNTAX)
    if not flags:  # only an expiry (a cache's write): no flag to honour
        db.replace(key, "string", value, deadline)
        return b"OK"
    if flags >= _NX_XX or (b"KEEPTTL" in flags and deadline is not None):
        raise Refused(SYNTAX)
    old = get_string(db, key) if b"GET" in flags else None
    if b"NX" in flags or b"XX" in flags:
        present = db.entry(key) is not None
        if (b"NX" in flags and present) or (b"XX" in flags and not present):
            return old if b"GET" in flags else None
    if deadline is None:
        db.set_string(key, value, keep_ttl=b"KEEPTTL" in flags)
    else:  # value and deadline in one write
        db.replace(key, "string", value, deadline)
    return old if b"GET" in flags else b"OK"


@command("SETNX", 3)
def setnx(db: EmulationEngine, args: Args) -> Reply:
    if db.entry(args[1]) is not None:
        return 0
    db.set_string(args[1], args[2])
    return 1


@command("SETEX", 4)
@command("PSETEX", 4)
def setex(db: EmulationEngine, args: Args) -> Reply:
    name = args[0].decode().lower()
    deadline = _deadline(name, b"EX" if name == "setex" else b"PX", args[2])
    db.replace(args[1], "string", args[3], deadline)
    return b"OK"


@command("GETSET", 3)
def getset(db: EmulationEngine, args: Args) -> Reply:
    old = get_string(db, args[1])
    db.set_string(args[1], args[2])
    return old


@command("GETDEL", 2)
def getdel(db: EmulationEngine, args: Args) -> Reply:
    old = get_string(db, args[1])
    if old is not None:
        db.delete(args[1])
    return old


@command("GETEX", -2)
def getex(db: EmulationEngine, args: Args) -> Reply:
    key = args[1]
    options = [a.upper() for a in args[2:]]
    deadline: int | None = None
    persist = False
    if options == [b"PERSIST"]:
        persist = True
    elif len(options) == 2 and options[0] in (b"EX", b"PX", b"EXAT", b"PXAT"):
        deadline = _deadline("getex", options[0], args[3])
    elif options:
        raise Refused(SYNTAX)
    value = get_string(db, key)
    entry = db.entry(key)
    if entry is None:
        return None
    dropped = persist and entry.expire_at is not None
    if deadline is not None or dropped:
        db.set_expire(key, entry, deadline)
    return value


@command("MGET", -2)
def mget(db: EmulationEngine, args: Args) -> Reply:
    replies = []
    for key in args[1:]:
        entry = db.entry(key)
        replies.append(
            entry.value if entry is not None and entry.kind == "string" else None
        )
    return replies


@command("MSET", -3)
@command("MSETNX", -3)
def mset(db: EmulationEngine, args: Args) -> Reply:
    if len(args) % 2 == 0:
        raise wrong_args(args[0])
    pairs = list(zip(args[1::2], args[2::2], strict=True))
    if args[0].upper() == b"MSETNX":
        if any(db.entry(key) is not None for key, _ in pairs):
            return 0
        for key, value in pairs:
            db.set_string(key, value)
        return 1
    for key, value in pairs:
        db.set_string(key, value)
    return b"OK"


def increment(db: EmulationEngine, key: bytes, amount: int) -> Reply:
    """Add ``amount`` to the integer at ``key``, keeping its TTL. O(1)."""
    current = get_string(db, key)
    number = 0 if current is None else to_int(current)
    total = number + amount
    if not INT64_MIN <= total <= INT64_MAX:
        raise Refused("ERR increment or decrement would overflow")
    db.set_string(key, str(total).encode(), keep_ttl=True)
    return total


@command("INCR", 2)
def incr(db: EmulationEngine, args: Args) -> Reply:
    return increment(db, args[1], 1)


@command("DECR", 2)
def decr(db: EmulationEngine, args: Args) -> Reply:
    return increment(db, args[1], -1)


@command("INCRBY", 3)
def incrby(db: EmulationEngine, args: Args) -> Reply:
    return increment(db, args[1], to_int(args[2]))


@command("DECRBY", 3)
def decrby(db: EmulationEngine, args: Args) -> Reply:
    amount = to_int(args[2])
    if amount == INT64_MIN:
        raise Refused("ERR decrement would overflow")
    return increment(db, args[1], -amount)


@command("INCRBYFLOAT", 3)
def incrbyfloat(db: EmulationEngine, args: Args) -> Reply:
    current = get_string(db, args[1])
    total = add_floats(
        b"0" if current is None else current, args[2], "ERR value is not a valid float"
    )
    db.set_string(args[1], total, keep_ttl=True)
    return total


@command("APPEND", 3)
def append(db: EmulationEngine, args: Args) -> Reply:
    value = (get_string(db, args[1]) or b"") + args[2]
    if len(value) > MAX_STRING:
        raise Refused("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    db.set_string(args[1], value, keep_ttl=True)
    return len(value)


@command("STRLEN", 2)
def strlen(db: EmulationEngine, args: Args) -> Reply:
    return len(get_string(db, args[1]) or b"")


# -- LCS ------------------------------------------------------------------------------
@command("LCS", -3)
def lcs(db: EmulationEngine, args: Args) -> Reply:
    """LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest
    common subsequence of two strings (a missing key is empty), its length,
    or its matching ranges (last first, as Redis lists them). O(N * M) time
    and memory, as in Redis; refused beyond ``LCS_MAX_CELLS`` (about a second
    of Python here), where Redis refuses beyond 2**27 cells."""
    values = [db.entry(key) for key in args[1:3]]
    if any(e is not None and e.kind != "string" for e in values):
        raise Refused("ERR The specified keys must contain string values")
    a, b = (b"" if e is None else e.value for e in values)
    want_idx = want_len = with_len = False
    min_len = 0
    i = 3
    while i < len(args):
        option = args[i].upper()
        if option == b"IDX":
            want_idx = True
        elif option == b"LEN":
            want_len = True
        elif option == b"WITHMATCHLEN":
            with_len = True
        elif option == b"MINMATCHLEN" and i + 1 < len(args):
            min_len = max(0, to_int(args[i + 1]))
            i += 1
        else:
            raise Refused(SYNTAX)
        i += 1
    if want_idx and want_len:
        raise Refused(
            "ERR If you want both the length and indexes, please just use IDX."
        )
    cells = (len(a) + 1) * (len(b) + 1)
    if cells > LCS_MAX_CELLS:
        raise Refused(
            f"ERR LCS refused: its table would have {cells} cells, more than the "
            f"embedded engines' limit of {LCS_MAX_CELLS} (about 2,000 by 2,000 "
            "bytes; Redis's own limit is 134,217,728)"
        )
    table = _lcs_table(a, b)
    length = table[len(a)][len(b)]
    if want_len:
        return length
    common, ranges = _lcs_walk(a, b, table)
    if not want_idx:
        return common
    matches: list[Reply] = []
    for (a_start, a_end), (b_start, b_end) in ranges:
        size = a_end - a_start + 1
        if size >= min_len:
            match: list[Reply] = [[a_start, a_end], [b_start, b_end]]
            matches.append([*match, size] if with_len else match)
    return [b"matches", matches, b"len", length]


def _lcs_table(a: bytes, b: bytes) -> list[array[int]]:
    """``table[i][j]``: the LCS length of ``a[:i]`` and ``b[:j]``."""
    table = [array("I", bytes(4 * (len(b) + 1)))]
    for i in range(1, len(a) + 1):
        above, row = table[-1], array("I", bytes(4 * (len(b) + 1)))
        byte = a[i - 1]
        for j in range(1, len(b) + 1):
            if byte == b[j - 1]:
                row[j] = above[j - 1] + 1
            else:
                row[j] = max(above[j], row[j - 1])
        table.append(row)
    return table


Range = tuple[tuple[int, int], tuple[int, int]]


def _lcs_walk(a: bytes, b: bytes, table: list[array[int]]) -> tuple[bytes, list[Range]]:
    """Walk back from the end as Redis does (on a tie, drop from ``b``):
    the common subsequence and its contiguous ranges, last first."""
    common = bytearray()
    ranges: list[Range] = []
    i, j = len(a), len(b)
    start: tuple[int, int] | None = None  # where the current range starts
    end = (0, 0)
    while i > 0 and j > 0:
        if a[i - 1] == b[j - 1]:
            common.append(a[i - 1])
            if start is None:
                end = (i - 1, j - 1)
            start = (i - 1, j - 1)
            i, j = i - 1, j - 1
            if i == 0 or j == 0:  # matched a first byte: the walk ends here
                ranges.append(((start[0], end[0]), (start[1], end[1])))
        else:
            if table[i - 1][j] > table[i][j - 1]:
                i -= 1
            else:
                j -= 1
            if start is not None:
                ranges.append(((start[0], end[0]), (start[1], end[1])))
                start = None
    common.reverse()
    return bytes(common), ranges
