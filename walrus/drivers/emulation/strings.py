"""String commands: GET, SET and its options, MGET/MSET, INCR*, APPEND, ..."""

from __future__ import annotations

from walrus.drivers.embedded import Reply
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


def get_string(db: EmulationEngine, key: bytes) -> bytes | None:
    """The string at ``key`` (WRONGTYPE for another type). O(1)."""
    value: bytes | None = db.value(key, "string", None)
    return value


@command("GET", 2)
def get(db: EmulationEngine, args: Args) -> Reply:
    return get_string(db, args[1])


def _deadline(name: str, option: bytes, raw: bytes) -> int:
    amount = to_int(raw)
    invalid = Refused(f"ERR invalid expire time in '{name}' command")
    if amount <= 0:
        raise invalid
    scale = 1000 if option in (b"EX", b"EXAT") else 1
    if amount > INT64_MAX // scale:
        raise invalid
    deadline = amount * scale + (now_ms() if option in (b"EX", b"PX") else 0)
    if deadline > INT64_MAX:
        raise invalid
    return deadline


@command("SET", -3)
def set_(db: EmulationEngine, args: Args) -> Reply:
    """SET with NX/XX/GET/KEEPTTL/EX/PX/EXAT/PXAT. O(1)."""
    key, value = args[1], args[2]
    flags: set[bytes] = set()
    deadline: int | None = None
    i = 3
    while i < len(args):
        option = args[i].upper()
        if option in (b"EX", b"PX", b"EXAT", b"PXAT") and i + 1 < len(args):
            if deadline is not None or b"KEEPTTL" in flags:
                raise Refused(SYNTAX)
            deadline = _deadline("set", option, args[i + 1])
            i += 1
        elif option in (b"NX", b"XX", b"GET", b"KEEPTTL"):
            flags.add(option)
        else:
            raise Refused(SYNTAX)
        i += 1
    if {b"NX", b"XX"} <= flags or (b"KEEPTTL" in flags and deadline is not None):
        raise Refused(SYNTAX)
    old = get_string(db, key) if b"GET" in flags else None
    present = db.entry(key) is not None
    if (b"NX" in flags and present) or (b"XX" in flags and not present):
        return old if b"GET" in flags else None
    db.set_string(key, value, keep_ttl=b"KEEPTTL" in flags)
    if deadline is not None:
        entry = db.entry(key)
        if entry is not None:
            db.set_expire(key, entry, deadline)
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
    if entry is not None and (persist or deadline is not None):
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
