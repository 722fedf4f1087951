"""Numbered databases and server commands: SWAPDB, MOVE, FLUSHDB/FLUSHALL,
DBSIZE, RANDOMKEY, INFO, SAVE/BGSAVE/LASTSAVE, CONFIG, PING, ECHO.

SELECT is the embedded core's (each client has its own database; the core
calls :meth:`EmulationEngine.select` before running a client's command).
Saving is synchronous: an embedded engine has no background process, so
BGSAVE saves at once and says it started, as Redis does.
"""

from __future__ import annotations

import re
import time

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation.engine import (
    SYNTAX,
    EmulationEngine,
    Refused,
    command,
    glob_matcher,
    to_int,
    wrong_args,
)
from walrus.drivers.emulation.store import Entry

Args = list[bytes]


@command("SWAPDB", 3)
def swapdb(db: EmulationEngine, args: Args) -> Reply:
    """Exchange two databases' keys. O(1) in memory, O(keys) on Vedis."""
    first = to_int(args[1], "ERR invalid first DB index")
    second = to_int(args[2], "ERR invalid second DB index")
    if not (0 <= first < db.databases and 0 <= second < db.databases):
        raise Refused("ERR DB index is out of range")
    if first != second:
        # A watched key is touched if it exists in either database (Redis's rule).
        names = set(db.database(first)) | set(db.database(second))
        for key in names:
            db.modified(key, first)
            db.modified(key, second)
        db.swap(first, second)
    return b"OK"


@command("MOVE", 3)
def move(db: EmulationEngine, args: Args) -> Reply:
    """Move a key (with its TTL) to another database. O(members) on Vedis."""
    target = db.db_index(args[2])
    if target == db.index:
        raise Refused("ERR source and destination objects are the same")
    entry = db.entry(args[1])
    if entry is None:
        return 0
    with db.using(target):
        if db.entry(args[1]) is not None:
            return 0
    db.remove(args[1])
    with db.using(target):
        db.put(args[1], Entry(entry.kind, entry.value, entry.expire_at))
    return 1


def _flush_mode(args: Args) -> None:
    if len(args) > 2 or (len(args) == 2 and args[1].upper() not in (b"SYNC", b"ASYNC")):
        raise Refused(SYNTAX)


@command("FLUSHDB", -1)
def flushdb(db: EmulationEngine, args: Args) -> Reply:
    """Empty the current database. O(keys)."""
    _flush_mode(args)
    db.modified_all(db.index)
    db.store.clear()
    return b"OK"


@command("FLUSHALL", -1)
def flushall(db: EmulationEngine, args: Args) -> Reply:
    """Empty every database. O(keys)."""
    _flush_mode(args)
    for index in range(db.databases):
        db.modified_all(index)
        db.database(index).clear()
    return b"OK"


@command("DBSIZE", 1)
def dbsize(db: EmulationEngine, args: Args) -> Reply:
    return len(db.store)


@command("RANDOMKEY", 1)
def randomkey(db: EmulationEngine, args: Args) -> Reply:
    for _ in range(100):
        key = db.store.random_key()
        if key is None or db.entry(key) is not None:
            return key
    return None


@command("INFO", -1)
def info(db: EmulationEngine, args: Args) -> Reply:
    """A few sections of Redis's INFO: server, persistence and keyspace. O(keys)."""
    lines = [
        "# Server",
        "redis_version:7.0.0",
        f"walrus_engine:{db.name}",
        "# Persistence",
        "rdb_bgsave_in_progress:0",
        f"rdb_last_save_time:{db.last_save}",
        "# Keyspace",
    ]
    for index in range(db.databases):
        with db.using(index):
            live = [e for e in map(db.entry, list(db.store)) if e is not None]
        if live:
            expires = sum(e.expire_at is not None for e in live)
            lines.append(f"db{index}:keys={len(live)},expires={expires},avg_ttl=0")
    return ("\r\n".join(lines) + "\r\n").encode()


def _save(db: EmulationEngine) -> None:
    db.store.save()  # every database of a store is saved together
    db.last_save = int(time.time())


@command("SAVE", 1)
def save(db: EmulationEngine, args: Args) -> Reply:
    """Persist everything now (nothing to do in memory)."""
    _save(db)
    return b"OK"


@command("BGSAVE", -1)
def bgsave(db: EmulationEngine, args: Args) -> Reply:
    """BGSAVE [SCHEDULE]: saved at once (no background process here)."""
    if len(args) > 2 or (len(args) == 2 and args[1].upper() != b"SCHEDULE"):
        raise Refused(SYNTAX)
    _save(db)
    return b"Background saving started"


@command("LASTSAVE", 1)
def lastsave(db: EmulationEngine, args: Args) -> Reply:
    """When the last SAVE or BGSAVE ran (the engine's start before any), in
    seconds since the epoch."""
    return db.last_save


@command("PING", -1)
def ping(db: EmulationEngine, args: Args) -> Reply:
    if len(args) > 2:
        raise wrong_args(args[0])
    return args[1] if len(args) == 2 else b"PONG"


@command("ECHO", 2)
def echo(db: EmulationEngine, args: Args) -> Reply:
    return args[1]


_MEMORY_UNITS = {b"": 1, b"b": 1, b"k": 1000, b"kb": 1024, b"m": 10**6, b"mb": 2**20}
_MEMORY_UNITS |= {b"g": 10**9, b"gb": 2**30}
_MEMORY = re.compile(rb"([0-9]+)([a-z]*)")


def _setting(name: str, raw: bytes) -> int:
    """A CONFIG SET value, checked as Redis checks it (bytes take units)."""
    failed = f"ERR CONFIG SET failed (possibly related to argument '{name}') - "
    if name.endswith("-bytes"):
        memory = _MEMORY.fullmatch(raw.lower())
        if memory is None or memory.group(2) not in _MEMORY_UNITS:
            raise Refused(failed + "argument must be a memory value")
        return int(memory.group(1)) * _MEMORY_UNITS[memory.group(2)]
    value = to_int(raw, failed + "argument couldn't be parsed into an integer")
    if value < 0:
        raise Refused(
            failed + "argument must be between 0 and 9223372036854775807 inclusive"
        )
    return value


@command("CONFIG", -2)
def config(db: EmulationEngine, args: Args) -> Reply:
    """CONFIG GET pattern..., CONFIG SET name value ..., CONFIG RESETSTAT: the
    settings that change what this engine does (stream-node-max-entries and
    -bytes); any other name is unknown here, as Redis answers for one."""
    sub = args[1].upper()
    if sub == b"GET":
        if len(args) < 3:
            raise wrong_args(b"config|get")
        matchers = [glob_matcher(p.lower()) for p in args[2:]]
        return [
            part
            for name, value in db.config.items()
            if any(match(name.encode()) for match in matchers)
            for part in (name.encode(), str(value).encode())
        ]
    if sub == b"SET":
        if len(args) < 4 or len(args) % 2:
            raise wrong_args(b"config|set")
        changes = {}
        for raw_name, raw in zip(args[2::2], args[3::2], strict=True):
            name = raw_name.decode("utf-8", "replace").lower()
            if name not in db.config:
                raise Refused(
                    "ERR Unknown option or number of arguments for CONFIG SET - "
                    f"'{name}'"
                )
            changes[name] = _setting(name, raw)
        db.config.update(changes)  # all or nothing, as in Redis
        return b"OK"
    if sub == b"RESETSTAT" and len(args) == 2:
        return b"OK"
    shown = args[1].decode("utf-8", "replace")
    raise Refused(f"ERR unknown subcommand '{shown}'. Try CONFIG HELP.")
