"""The emulation engine: Redis commands in Python over a record store.

:class:`EmulationEngine` implements the embedded :class:`Engine` protocol.
Each command family lives in its own module and registers its handlers here
with :func:`command`; a handler gets the engine and the command's arguments
(bytes, name first) and returns a RESP2-shaped reply, raising
:class:`Refused` for an error reply. Arity is checked before a handler runs,
as Redis does. Expired keys vanish lazily: every lookup checks the deadline.
The stream family (:mod:`.streams`, :mod:`.streamgroups`, :mod:`.streamclaim`)
adds the ``stream`` kind of :class:`Entry` value (:mod:`.streamlog`).
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar, cast

from walrus.drivers.embedded.types import ErrorReply, Reply
from walrus.drivers.emulation.store import Databases, Entry, Store
from walrus.drivers.glob import glob_matcher
from walrus.drivers.protocol import Capability

__all__ = [
    "COMMANDS",
    "EmulationEngine",
    "Refused",
    "command",
    "format_float",
    "glob_matcher",
    "now_ms",
    "pick",
    "random_count",
    "to_bound",
    "to_float",
    "to_int",
    "to_range",
]

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
SYNTAX = "ERR syntax error"
NOT_POSITIVE = "ERR value is out of range, must be positive"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
LONG_DOUBLE_MAX = Fraction(2) ** 16384
LONG_DOUBLE_DIGITS = 4933  # decimal exponents a long double reaches (either way)
MAX_LONG_DOUBLE_CHARS = 5 * 1024  # Redis refuses longer numbers
OPEN_SCANS = 64  # scan snapshots kept at once (each holds references to its keys)
SCAN_BUDGET = 1_000_000  # items all kept snapshots may hold (8 MB of references)
DATABASES = 16  # numbered databases, as a default Redis server has
CONFIG = {"stream-node-max-entries": 100, "stream-node-max-bytes": 4096}
MAX_PICKS = 2**25  # repeated random picks one reply may hold (SRANDMEMBER k -N)
MODIFIED_LIMIT = 10_000  # modified keys remembered between take_modified calls

T = TypeVar("T")


class Refused(Exception):
    """A handler's error reply (turned into an :class:`ErrorReply` value)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Handler = Callable[["EmulationEngine", list[bytes]], Reply]
COMMANDS: dict[str, tuple[Handler, int]] = {}  # name -> (handler, arity)


def command(name: str, arity: int) -> Callable[[Handler], Handler]:
    """Register a handler; ``arity`` counts the name, negative means "at least"."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = (handler, arity)
        return handler

    return register


# -- argument parsing and reply formatting ----------------------------------------
_INT = re.compile(rb"0|-?[1-9][0-9]*")
_FLOAT = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# C's hexadecimal floats, which strtold reads (INCRBYFLOAT's "0x10" is 16)
_HEX_FLOAT = re.compile(
    rb"([+-]?)0[xX](?=\.?[0-9a-fA-F])([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?"
    rb"(?:[pP]([+-]?[0-9]{1,6}))?"
)
_INFINITIES = {
    b"inf": math.inf,
    b"+inf": math.inf,
    b"-inf": -math.inf,
    b"infinity": math.inf,
    b"+infinity": math.inf,
    b"-infinity": -math.inf,
}


def to_int(raw: bytes, message: str = NOT_INT) -> int:
    """Parse a 64-bit integer as Redis does (no spaces, no '+', no leading 0)."""
    if _INT.fullmatch(raw):
        value = int(raw)
        if INT64_MIN <= value <= INT64_MAX:
            return value
    raise Refused(message)


def to_float(raw: bytes, message: str = NOT_FLOAT) -> float:
    """Parse a double as Redis parses a value (a score, a weight, a
    coordinate): ``inf`` allowed; NaN, and a number too large or too small
    for a double (``1e309``, ``1e-400``), refused."""
    if _FLOAT.fullmatch(raw):
        value = float(raw)
        if math.isinf(value) or (value == 0 and raw.lstrip(b"+-.0")[:1].isdigit()):
            raise Refused(message)
        return value
    infinity = _INFINITIES.get(raw.lower())
    if infinity is None:
        raise Refused(message)
    return infinity


def to_bound(raw: bytes, message: str) -> float:
    """Parse a score range bound as Redis does: an empty bound is 0, and a
    number beyond a double's range is infinite."""
    if not raw:
        return 0.0
    if _FLOAT.fullmatch(raw):
        return float(raw)
    return to_float(raw, message)


def to_range(raw: bytes, low: int, high: int) -> int:
    """An integer argument Redis bounds (LREM's count, random-pick counts)."""
    value = to_int(raw)
    if not low <= value <= high:
        raise Refused(f"ERR value is out of range, value must between {low} and {high}")
    return value


def to_count(raw: bytes) -> int:
    """A non-negative count argument."""
    value = to_int(raw, NOT_POSITIVE)
    if value < 0:
        raise Refused(NOT_POSITIVE)
    return value


def random_count(args: list[bytes], word: bytes) -> int:
    """The count of SRANDMEMBER, HRANDFIELD or ZRANDMEMBER (``args[2]``),
    checked before the key as Redis checks it, with the optional ``word``
    (WITHVALUES, WITHSCORES) after it, which halves the range. A negative
    count beyond ``MAX_PICKS`` is refused (a reply too large to build)."""
    count = to_range(args[2], -INT64_MAX, INT64_MAX)
    if len(args) > 4 or (len(args) == 4 and args[3].upper() != word):
        raise Refused(SYNTAX)
    if len(args) == 4 and not -(INT64_MAX // 2) <= count <= INT64_MAX // 2:
        raise Refused("ERR value is out of range")
    if count < -MAX_PICKS:
        raise Refused(
            f"ERR count is out of range for an embedded engine (at most {MAX_PICKS} "
            "repeated picks in one reply)"
        )
    return count


def pick(items: list[T], count: int) -> list[T]:
    """``count`` distinct random items (all of them at most), or ``-count``
    picks that may repeat. O(|count|)."""
    if not items:
        return []
    if count >= 0:
        return random.sample(items, min(count, len(items)))
    return random.choices(items, k=-count)


def format_float(value: float) -> bytes:
    """A double as Redis/Valkey prints it (ZSCORE, INCRBYFLOAT ...).

    Integers up to 2**62 print exactly; other values print their shortest
    round-trip digits, in plain notation unless the exponent is far (as
    Valkey's fpconv does: ``0.00001``, ``1.23456789e-4``, ``1e+21``).
    Valkey's grisu2 occasionally picks a longer digit string than the
    shortest (about 1% of random doubles, never short decimals).
    """
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    if value == 0:
        return b"-0" if math.copysign(1.0, value) < 0 else b"0"
    if value.is_integer() and abs(value) <= 2**62:
        return str(int(value)).encode()
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    scale = int(exponent) + len(digit_tuple) - len(digits)  # value = digits * 10**scale
    count, neg = len(digits), "-" if sign else ""
    magnitude = abs(scale + count - 1)
    if scale >= 0 and magnitude < count + 7:
        return f"{neg}{digits}{'0' * scale}".encode()
    if scale < 0 and (scale > -7 or magnitude < 4):
        point = count + scale
        if point <= 0:
            return f"{neg}0.{'0' * -point}{digits}".encode()
        return f"{neg}{digits[:point]}.{digits[point:]}".encode()
    mantissa = digits[0] + ("." + digits[1:] if count > 1 else "")
    power = scale + count - 1
    return f"{neg}{mantissa}e{'-' if power < 0 else '+'}{abs(power)}".encode()


def _long_double(value: Fraction) -> Fraction:
    """``value`` rounded to an x87 long double (64-bit mantissa, ties to even)."""
    if value == 0:
        return value
    shift = abs(value.numerator).bit_length() - value.denominator.bit_length() - 64
    while abs(value) >= Fraction(2) ** (shift + 64):
        shift += 1
    while abs(value) < Fraction(2) ** (shift + 63):
        shift -= 1
    unit = Fraction(2) ** shift
    return round(value / unit) * unit


def to_long_double(raw: bytes, message: str) -> Fraction | float:
    """Parse a long double as Redis does (INCRBYFLOAT, HINCRBYFLOAT): exact,
    rounded to 64 bits of mantissa (C's hexadecimal floats, ``0x1.8p3``,
    included, as strtold reads them); ``inf`` comes back as a float infinity;
    NaN, a text of 5 KB or more, or a number beyond a long double's range is
    refused with ``message``."""
    if len(raw) < MAX_LONG_DOUBLE_CHARS and _FLOAT.fullmatch(raw):
        number = Decimal(raw.decode())
        if number == 0:
            return Fraction(0)
        if -LONG_DOUBLE_DIGITS < number.adjusted() < LONG_DOUBLE_DIGITS:
            value = _long_double(Fraction(number))
            if abs(value) < LONG_DOUBLE_MAX:
                return value
        raise Refused(message)
    hexadecimal = len(raw) < MAX_LONG_DOUBLE_CHARS and _HEX_FLOAT.fullmatch(raw)
    if hexadecimal:
        sign, whole, fraction, power = hexadecimal.groups()
        fraction = fraction or b""
        exact = Fraction(int(whole + fraction, 16), 16 ** len(fraction))
        exponent = int(power or 0)
        if exact == 0 or abs(exponent) < 20_000:  # beyond: out of any range
            value = _long_double(exact * Fraction(2) ** exponent)
            if abs(value) < LONG_DOUBLE_MAX:
                return -value if sign == b"-" else value
        raise Refused(message)
    infinity = _INFINITIES.get(raw.lower())
    if infinity is None:
        raise Refused(message)
    return infinity


def add_floats(current: bytes, increment: bytes, message: str) -> bytes:
    """INCRBYFLOAT's sum, in long double, printed as Redis does (``%.17Lf``).

    ``message`` refuses a current value that is not a number. O(digits);
    Python has no long double, so it is computed exactly in fractions.
    """
    base, step = to_long_double(current, message), to_long_double(increment, NOT_FLOAT)
    if isinstance(base, float) or isinstance(step, float):
        raise Refused("ERR increment would produce NaN or Infinity")
    total = _long_double(base + step)
    if abs(total) >= LONG_DOUBLE_MAX:
        raise Refused("ERR increment would produce NaN or Infinity")
    scaled = round(total * 10**17)
    digits = str(Decimal(abs(scaled))).rjust(18, "0")  # Decimal: no digit limit
    text = f"{digits[:-17]}.{digits[-17:]}".rstrip("0").rstrip(".")
    return (("-" if scaled < 0 else "") + text).encode()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def wrong_args(name: bytes) -> Refused:
    return Refused(
        f"ERR wrong number of arguments for '{name.decode().lower()}' command"
    )


class EmulationEngine:
    """Redis semantics in Python over a :class:`Store` (see the module doc).

    Numbered databases: the store given is database 0; a store that can
    open siblings (:class:`~walrus.drivers.emulation.store.Databases`) gives
    ``DATABASES`` of them, opened on first use, and :meth:`select` switches
    between them (the embedded core calls it before each client's command).
    Over any other store there is database 0 only.

    Modified keys: every real change (a write that changes nothing changes
    nothing, as in Redis) records ``(database, key)`` for
    :meth:`take_modified`, which the core's WATCH uses.
    """

    def __init__(
        self, store: Store, name: str, capabilities: frozenset[Capability]
    ) -> None:
        self.store = store
        self.name = name
        self.capabilities = capabilities
        self.index = 0  # the selected database
        self._stores: dict[int, Store] = {0: store}
        self.databases = DATABASES if callable(getattr(store, "database", 0)) else 1
        self._modified: set[tuple[int, bytes]] | None = set()
        self.last_save = int(time.time())  # LASTSAVE
        self.config = dict(CONFIG)  # CONFIG GET/SET: the settings that matter here
        self._scans: OrderedDict[int, tuple[list[Any], int]] = OrderedDict()
        self._scanned = 0  # items held by the snapshots in _scans
        self._next_cursor = 1

    # -- Engine protocol ---------------------------------------------------------
    def execute(self, args: list[bytes]) -> Reply:
        reply = self.run(args)
        self.store.flush()
        return reply

    def execute_many(self, commands: list[list[bytes]], atomic: bool) -> list[Reply]:
        """Run commands in order (the core's lock makes them atomic)."""
        replies = [self.run(args) for args in commands]
        self.store.flush()
        return replies

    def quick(self, name: str) -> Callable[[list[bytes]], Reply] | None:
        """How the embedded core runs command ``name`` (upper case) directly:
        as :meth:`execute` does, with the handler looked up once (None: no
        such command, the core's path answers the error)."""
        direct = self.direct(name)
        if direct is None:
            return None

        def run(args: list[bytes]) -> Reply:
            reply = direct(args)
            self.store.flush()
            return reply

        return run

    def direct(self, name: str) -> Callable[[list[bytes]], Reply] | None:
        """:meth:`run` for command ``name`` with its handler looked up once."""
        spec = COMMANDS.get(name)
        if spec is None:
            return None
        handler, arity = spec
        return functools.partial(self._call, handler, arity)

    def exclusive(self) -> contextlib.nullcontext[None]:
        """Nothing to do: one process owns an emulated database."""
        return contextlib.nullcontext()

    def close(self) -> None:
        for index in sorted(self._stores, reverse=True):
            self._stores[index].close()

    def run(self, args: list[bytes]) -> Reply:
        """One command, without persisting: its reply or error reply."""
        name = args[0].decode("utf-8", "replace")
        spec = COMMANDS.get(name.upper())
        if spec is None:
            shown = "".join(
                f"'{a.decode('utf-8', 'replace')[:128]}' " for a in args[1:]
            )
            message = f"ERR unknown command '{name[:128]}', with args beginning with: "
            return ErrorReply(message + shown)
        handler, arity = spec
        return self._call(handler, arity, args)

    def _call(self, handler: Handler, arity: int, args: list[bytes]) -> Reply:
        """``handler``'s reply to ``args``, or the error reply for a wrong
        argument count or a refused command."""
        if (arity > 0 and len(args) != arity) or len(args) < -arity:
            return ErrorReply(wrong_args(args[0]).message)
        try:
            return handler(self, args)
        except Refused as refused:
            return ErrorReply(refused.message)

    # -- numbered databases --------------------------------------------------------
    def select(self, index: int) -> None:
        """Make database ``index`` the current one (ValueError if out of range)."""
        if index != self.index:
            self.store = self.database(index)
            self.index = index

    def database(self, index: int) -> Store:
        """The store of database ``index``, opened on first use."""
        store = self._stores.get(index)
        if store is None:
            if not 0 <= index < self.databases:
                raise ValueError(f"no database {index} (0 to {self.databases - 1})")
            opener: Any = self._stores[0]
            store = self._stores[index] = opener.database(index)
        return store

    def swap(self, first: int, second: int) -> None:
        """SWAPDB: the keys of two databases change places."""
        store = cast(Databases, self.database(first))
        store.swap(self.database(second))

    def db_index(self, raw: bytes) -> int:
        """A database number argument (SELECT, MOVE, COPY ... DB, SWAPDB)."""
        index = to_int(raw)
        if not 0 <= index < self.databases:
            raise Refused("ERR DB index is out of range")
        return index

    @contextlib.contextmanager
    def using(self, index: int) -> Iterator[None]:
        """Run a block in database ``index``, then return to the current one."""
        current = self.index
        self.select(index)
        try:
            yield
        finally:
            self.select(current)

    # -- what changed (for WATCH) ------------------------------------------------
    def take_modified(self, keep: bool = True) -> set[tuple[int, bytes]] | None:
        """The ``(database, key)`` pairs really modified since the last call;
        ``None`` when too many to keep or not kept (treat every key as
        modified). ``keep=False``: record nothing until the next call (the
        core's WATCH does so while nobody watches: 70 ns less a write)."""
        modified, self._modified = self._modified, set() if keep else None
        return modified

    def modified(self, key: bytes, index: int | None = None) -> None:
        """Record a real change of ``key`` (in the current database)."""
        if self._modified is not None:
            self._modified.add((self.index if index is None else index, key))
            if len(self._modified) > MODIFIED_LIMIT:
                self._modified = None

    def modified_all(self, index: int) -> None:
        """Database ``index`` is about to be emptied or swapped: record its keys."""
        for key in self.database(index):
            self.modified(key, index)

    # -- keys --------------------------------------------------------------------
    def entry(self, key: bytes) -> Entry | None:
        """The live entry of ``key``; an expired one is removed first."""
        entry = self.store.get(key)
        if (
            entry is not None
            and entry.expire_at is not None
            and entry.expire_at <= now_ms()
        ):
            self.remove(key)
            return None
        return entry

    def typed(self, key: bytes, kind: str) -> Entry | None:
        """The live entry of ``key`` if it holds ``kind``; WRONGTYPE otherwise."""
        entry = self.entry(key)
        if entry is not None and entry.kind != kind:
            raise Refused(WRONGTYPE)
        return entry

    def value(self, key: bytes, kind: str, default: T) -> Any:
        """The value of ``key`` (of ``kind``), or ``default`` when missing."""
        entry = self.typed(key, kind)
        return default if entry is None else entry.value

    def container(self, key: bytes, kind: str, factory: Callable[[], Any]) -> Entry:
        """The entry of ``key``, created empty when missing (for a command
        that adds members: an empty container never outlives a command)."""
        entry = self.typed(key, kind)
        if entry is None:
            entry = Entry(kind, factory())
            self.put(key, entry)
        return entry

    def put(self, key: bytes, entry: Entry) -> None:
        """Store a new or wholly rewritten entry."""
        self.store.put(key, entry)
        self.modified(key)

    def remove(self, key: bytes) -> None:
        """Forget ``key``, which exists."""
        self.store.remove(key)
        self.modified(key)

    def changed(self, key: bytes, entry: Entry, members: Collection[Any]) -> None:
        """Persist changed members; an emptied container is deleted, as in
        Redis. No members: nothing changed, nothing is written."""
        if not entry.value:
            self.remove(key)
        elif members:
            self.store.changed(key, entry, members)
            self.modified(key)

    def replace(
        self, key: bytes, kind: str, value: Any, expire_at: int | None = None
    ) -> None:
        """Store a whole new value at ``key``; an empty container, or a
        deadline already passed (``SET ... PXAT`` in the past), deletes the
        key instead, as Redis does."""
        if (kind != "string" and not value) or (
            expire_at is not None and expire_at <= now_ms()
        ):
            self.delete(key)
        else:
            self.put(key, Entry(kind, value, expire_at))

    def delete(self, key: bytes) -> bool:
        if self.entry(key) is None:
            return False
        self.remove(key)
        return True

    def set_string(self, key: bytes, value: bytes, keep_ttl: bool = False) -> None:
        """Write a string value, keeping the TTL only when asked (as SET does)."""
        entry = self.entry(key)
        if keep_ttl and entry is not None and entry.kind == "string":
            entry.value = value
            self.put(key, entry)
        else:
            self.replace(key, "string", value)

    def set_expire(self, key: bytes, entry: Entry, expire_at: int | None) -> None:
        """Set (or drop: None) the deadline of ``key``, whose live entry is
        ``entry``; a deadline already passed deletes the key, as Redis does."""
        if expire_at is not None and expire_at <= now_ms():
            self.remove(key)
            return
        entry.expire_at = expire_at
        self.store.meta_changed(key, entry)
        self.modified(key)

    # -- cursors (SCAN, HSCAN, SSCAN, ZSCAN) -------------------------------------
    def scan(
        self, args: list[bytes], snapshot: Callable[[], list[T]]
    ) -> tuple[int, list[T], Callable[[bytes], bool] | None]:
        """One SCAN step over ``snapshot()`` taken at cursor 0.

        Returns the next cursor (0 when done), this step's items and the MATCH
        filter. The snapshot (references to the members, 8 bytes each) is kept
        per cursor, so every item present for the whole scan is returned
        exactly once. Abandoned scans are bounded: at most ``OPEN_SCANS``
        snapshots holding ``SCAN_BUDGET`` items in all (the newest is kept
        whatever its size); the oldest go first, and a cursor evicted that way
        is refused rather than ending silently.
        """
        raw_cursor = args[2] if args[0].upper() != b"SCAN" else args[1]
        options = args[3:] if args[0].upper() != b"SCAN" else args[2:]
        if not raw_cursor.isdigit():
            raise Refused("ERR invalid cursor")
        count, match = 10, None
        i = 0
        while i < len(options):
            option = options[i].upper()
            if i + 1 >= len(options):
                raise Refused(SYNTAX)
            if option == b"COUNT":
                count = to_int(options[i + 1])
                if count < 1:
                    raise Refused(SYNTAX)
            elif option == b"MATCH":
                match = None if options[i + 1] == b"*" else glob_matcher(options[i + 1])
            elif option != b"TYPE" or args[0].upper() != b"SCAN":
                raise Refused(SYNTAX)
            i += 2
        cursor = int(raw_cursor)
        if cursor == 0:
            items, position = snapshot(), 0
        else:
            state = self._scans.pop(cursor, None)
            if state is None:
                reason = "unknown, or evicted by newer scans"
                raise Refused(f"ERR invalid cursor ({reason})")
            items, position = state
            self._scanned -= len(items)
        step = items[position : position + count]
        position += count
        if position >= len(items):
            return 0, step, match
        cursor = self._next_cursor
        self._next_cursor += 1
        self._scans[cursor] = (items, position)
        self._scanned += len(items)
        while len(self._scans) > 1 and (
            len(self._scans) > OPEN_SCANS or self._scanned > SCAN_BUDGET
        ):
            _, (evicted, _) = self._scans.popitem(last=False)
            self._scanned -= len(evicted)
        return cursor, step, match
