"""What the rlite driver remembers of keys on a file, to spare rlite sessions.

On a file every rlite command is a session of its own (rlite opens and
locks the file, reads its header, creates and removes a write-ahead file:
about 0.2 ms whatever the command). Some commands take two, because the
driver checks the key first: a collection write reads the key's TTL
(rlite drops it), INCR and its family read the value (rlite crashes on an
empty string, reads ``7\\0`` as 7, does not check overflow), ZRANGE, SUNION
and the like read the keys' types (rlite crashes on, or ignores, a key of
another type). :class:`KnownKeys` keeps what such a check learned while
nothing can have changed it, so the next command on the key is one session:

* ``without_ttl``: keys seen without a TTL (or missing), until a command
  that sets or carries a TTL (:func:`~.shapes.may_give_a_ttl`);
* ``integers``: the value the last INCR of a key left, until any other
  command but GET and PTTL;
* ``types``: keys checked to be missing or of a type, until any command
  that may write (not flagged ``readonly`` in the command table);
* ``keys``: every key of the selected database, when a listing (KEYS,
  DBSIZE) found none with a TTL, so none can expire: until any command
  that may write. A listing is then answered without rlite's KEYS and its
  checks of each key.

Everything is forgotten when another process wrote (the journal's stamp,
see :mod:`.journal`) or a unit was rolled back. In memory, where a check
costs a microsecond, nothing is remembered.
"""

from __future__ import annotations

from walrus.drivers.command_table import COMMANDS
from walrus.drivers.embedded.types import Command
from walrus.drivers.rlite.shapes import may_give_a_ttl

__all__ = ["LIMIT", "KnownKeys"]

LIMIT = 10_000  # keys remembered per kind of fact, at most
LISTING_LIMIT = 100_000  # ... and in a remembered listing
INCREMENTS = frozenset(b"INCR DECR INCRBY DECRBY".split())
READS = frozenset(
    name.encode() for name, spec in COMMANDS.items() if "readonly" in spec[1].split()
)


class KnownKeys:
    """Facts about keys of one rlite file, as of the engine's last command."""

    __slots__ = ("integers", "keys", "types", "without_ttl")

    def __init__(self) -> None:
        self.without_ttl: set[bytes] = set()
        self.integers: dict[bytes, int] = {}
        self.types: dict[bytes, bytes] = {}
        self.keys: frozenset[bytes] | None = None

    def forget(self) -> None:
        """Another process wrote, or a unit was rolled back."""
        self.without_ttl.clear()
        self.integers.clear()
        self.types.clear()
        self.keys = None

    def before(self, args: Command) -> None:
        """``args`` is about to be sent: forget what it may change."""
        name = args[0].upper()
        if self.without_ttl and may_give_a_ttl(args):
            self.without_ttl.clear()
        if self.integers:
            if name in INCREMENTS:  # its gap notes the value it leaves
                self.integers.pop(args[1] if len(args) > 1 else b"", None)
            elif name not in (b"GET", b"PTTL"):
                self.integers.clear()
        if name not in READS:
            self.types.clear()
            self.keys = None

    def no_ttl(self, key: bytes) -> None:
        if len(self.without_ttl) >= LIMIT:
            self.without_ttl.clear()
        self.without_ttl.add(key)

    def integer(self, key: bytes, value: int) -> None:
        if len(self.integers) >= LIMIT:
            self.integers.clear()
        self.integers[key] = value

    def listed(self, keys: list[bytes]) -> None:
        """``keys`` is every key of the selected database, none with a TTL."""
        self.keys = frozenset(keys) if len(keys) <= LISTING_LIMIT else None

    def typed(self, keys: Command, kind: bytes) -> bool:
        """Whether every key of ``keys`` is known missing or of type ``kind``."""
        types = self.types
        return all(types.get(key) == kind for key in keys)

    def of_type(self, keys: Command, kind: bytes) -> None:
        if len(self.types) + len(keys) > LIMIT:
            self.types.clear()
        for key in keys:
            self.types[key] = kind
