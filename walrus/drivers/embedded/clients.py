"""Clients of an in-process engine: their state and the commands about them.

A server keeps per-connection state: the selected database, a name, an id.
An embedded engine is shared by every :class:`EmbeddedDatabase` opened on
it in the process (several objects on one rlite or Vedis file, or on one
named ``memory://`` engine), and each such object is one *client* with its
own state, so two of them behave like two connections to one server. The
commands answered here (SELECT, CLIENT, HELLO, AUTH, RESET, QUIT) never reach
the engine; they cost no I/O.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CONNECTION_COMMANDS", "DATABASES", "Client", "ClientError", "Clients"]

DATABASES = 16  # numbered databases per engine, as a default Redis server has
_NAME = re.compile(rb"[!-~]*")  # printable ASCII, no spaces (Redis's rule)


class ClientError(Exception):
    """A refused client command; ``message`` is Redis's error reply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Client:
    """One client's connection state (one EmbeddedDatabase object)."""

    id: int
    db: int = 0
    name: bytes = b""
    lib_name: bytes = b""
    lib_ver: bytes = b""
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    last_command: bytes = b"NULL"
    killed: bool = False
    # thread id -> its MULTI/WATCH state (walrus.drivers.embedded.transactions)
    transactions: dict[int, Any] = field(default_factory=dict)

    def info_line(self) -> bytes:
        """The client as one CLIENT LIST/INFO line (Redis's field names)."""
        now = time.monotonic()
        fields = {
            "id": str(self.id),
            "addr": _addr(self).decode(),
            "laddr": "embedded:0",
            "fd": "-1",
            "name": self.name.decode("ascii"),
            "age": str(int(now - self.created)),
            "idle": str(int(now - self.last_used)),
            "flags": "N",
            "db": str(self.db),
            "sub": "0",
            "psub": "0",
            "ssub": "0",
            "multi": "-1",
            "watch": "0",
            "cmd": self.last_command.decode("ascii", "replace").lower(),
            "user": "default",
            "redir": "-1",
            "resp": "2",
            "lib-name": self.lib_name.decode("ascii", "replace"),
            "lib-ver": self.lib_ver.decode("ascii", "replace"),
        }
        return " ".join(f"{k}={v}" for k, v in fields.items()).encode() + b"\n"


def _addr(client: Client) -> bytes:
    """An embedded client's address, as CLIENT LIST shows it."""
    return f"embedded:{client.id}".encode()


def _db_index(raw: bytes) -> int:
    if not re.fullmatch(rb"-?[0-9]+", raw):
        raise ClientError("ERR value is not an integer or out of range")
    index = int(raw)
    if not 0 <= index < DATABASES:
        raise ClientError("ERR DB index is out of range")
    return index


def _arity(name: str) -> ClientError:
    return ClientError(f"ERR wrong number of arguments for '{name}' command")


class Clients:
    """The clients of one engine, and the connection commands they send."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        # re-entered when the collector closes a database while a client connects
        self._lock = threading.RLock()
        self.open: dict[int, Client] = {}

    def connect(self, db: int = 0) -> Client:
        with self._lock:
            client = Client(next(self._ids), db=db)
            self.open[client.id] = client
            return client

    def disconnect(self, client: Client) -> None:
        with self._lock:
            self.open.pop(client.id, None)

    def revive(self, client: Client, db: int) -> None:
        """A killed client's next command reconnects it, as redis-py would."""
        with self._lock:
            client.id = next(self._ids)
            client.db, client.name, client.killed = db, b"", False
            self.open[client.id] = client

    # -- commands ------------------------------------------------------------------
    def run(self, client: Client, args: list[bytes]) -> bytes | int | list[bytes]:
        """Answer a connection command for ``client``; ClientError if refused."""
        name = args[0].upper()
        handler = _HANDLERS[name]
        return handler(self, client, args)

    def _select(self, client: Client, args: list[bytes]) -> bytes:
        if len(args) != 2:
            raise _arity("select")
        client.db = _db_index(args[1])
        return b"OK"

    def _client(self, client: Client, args: list[bytes]) -> bytes | int | list[bytes]:
        if len(args) < 2:
            raise _arity("client")
        sub = args[1].upper()
        rest = args[2:]
        if sub == b"ID" and not rest:
            return client.id
        if sub == b"GETNAME" and not rest:
            return client.name or None  # type: ignore[return-value]
        if sub == b"SETNAME" and len(rest) == 1:
            if not _NAME.fullmatch(rest[0]):
                raise ClientError(
                    "ERR Client names cannot contain spaces, newlines or special "
                    "characters."
                )
            client.name = rest[0]
            return b"OK"
        if sub == b"SETINFO" and len(rest) == 2:
            attribute = rest[0].upper()
            if attribute not in (b"LIB-NAME", b"LIB-VER"):
                raise ClientError(
                    f"ERR Unrecognized option '{rest[0].decode(errors='replace')}'"
                )
            if not _NAME.fullmatch(rest[1]):
                raise ClientError(
                    f"ERR {attribute.decode().lower()} cannot contain spaces, "
                    "newlines or special characters."
                )
            if attribute == b"LIB-NAME":
                client.lib_name = rest[1]
            else:
                client.lib_ver = rest[1]
            return b"OK"
        if sub == b"INFO" and not rest:
            return client.info_line()
        if sub == b"LIST":
            return self._list(rest)
        if sub == b"KILL":
            return self._kill(client, rest)
        if sub in (b"NO-EVICT", b"NO-TOUCH", b"REPLY") and len(rest) == 1:
            allowed = (b"ON", b"OFF", b"SKIP") if sub == b"REPLY" else (b"ON", b"OFF")
            if rest[0].upper() not in allowed:
                raise ClientError("ERR syntax error")
            return b"OK"  # an embedded client always gets its reply
        if sub == b"PAUSE" and len(rest) in (1, 2):
            timeout = rest[0]
            if not re.fullmatch(rb"-?[0-9]+", timeout):
                raise ClientError("ERR timeout is not an integer or out of range")
            if int(timeout) < 0:
                raise ClientError("ERR timeout is negative")
            if len(rest) == 2 and rest[1].upper() not in (b"WRITE", b"ALL"):
                raise ClientError("ERR CLIENT PAUSE mode must be WRITE or ALL")
            return b"OK"  # one process owns the engine: nothing to pause
        if sub == b"UNPAUSE" and not rest:
            return b"OK"
        if sub == b"GETREDIR" and not rest:
            return -1
        shown = args[1].decode("utf-8", "replace")
        raise ClientError(f"ERR unknown subcommand '{shown}'. Try CLIENT HELP.")

    def _list(self, rest: list[bytes]) -> bytes:
        with self._lock:
            clients = sorted(self.open.values(), key=lambda c: c.id)
        if rest:
            option = rest[0].upper()
            if option == b"ID" and len(rest) > 1:
                try:
                    wanted = {int(r) for r in rest[1:]}
                except ValueError:
                    raise ClientError("ERR Invalid client ID") from None
                clients = [c for c in clients if c.id in wanted]
            elif option == b"TYPE" and len(rest) == 2:
                kind = rest[1].lower()
                if kind not in (b"normal", b"master", b"replica", b"pubsub", b"slave"):
                    raise ClientError(f"ERR Unknown client type '{kind.decode()}'")
                clients = clients if kind == b"normal" else []
            else:
                raise ClientError("ERR syntax error")
        return b"".join(c.info_line() for c in clients)

    def _kill(self, client: Client, rest: list[bytes]) -> bytes | int:
        if len(rest) == 1:  # the old form: CLIENT KILL addr:port
            victims = [c for c in self.open.values() if _addr(c) == rest[0]]
            if not victims:
                raise ClientError("ERR No such client")
            self._drop(victims)
            return b"OK"
        if not rest or len(rest) % 2:
            raise ClientError("ERR syntax error")
        victims = list(self.open.values())
        skip_me = True
        for option, value in zip(rest[::2], rest[1::2], strict=True):
            option = option.upper()
            if option == b"ID":
                if not re.fullmatch(rb"-?[0-9]+", value):
                    raise ClientError("ERR syntax error")
                if int(value) < 1:
                    raise ClientError("ERR client-id should be greater than 0")
                victims = [c for c in victims if c.id == int(value)]
            elif option == b"SKIPME":
                if value.lower() not in (b"yes", b"no"):
                    raise ClientError("ERR syntax error")
                skip_me = value.lower() == b"yes"
            elif option in (b"ADDR", b"LADDR"):
                victims = [c for c in victims if _addr(c) == value]
            elif option == b"USER":
                if value != b"default":
                    shown = value.decode("utf-8", "replace")
                    raise ClientError(f"ERR No such user '{shown}'")
            elif option == b"TYPE":
                kind = value.lower()
                if kind not in (b"normal", b"master", b"replica", b"slave", b"pubsub"):
                    shown = value.decode("utf-8", "replace")
                    raise ClientError(f"ERR Unknown client type '{shown}'")
                victims = victims if kind == b"normal" else []
            else:
                raise ClientError("ERR syntax error")
        if skip_me:
            victims = [c for c in victims if c is not client]
        self._drop(victims)
        return len(victims)

    def _drop(self, victims: list[Client]) -> None:
        with self._lock:
            for victim in victims:
                victim.killed = True
                self.open.pop(victim.id, None)

    def _hello(self, client: Client, args: list[bytes]) -> list[bytes | int]:
        if len(args) > 1 and args[1] not in (b"2",):
            if args[1] == b"3":
                raise ClientError(
                    "NOPROTO embedded databases speak RESP2 only (redis-py protocol=2)"
                )
            raise ClientError("NOPROTO unsupported protocol version")
        reply: list[bytes | int] = [
            b"server",
            b"walrus-embedded",
            b"version",
            b"7.0.0",
            b"proto",
            2,
            b"id",
            client.id,
            b"mode",
            b"standalone",
            b"role",
            b"master",
        ]
        return [*reply, b"modules", []]  # type: ignore[list-item]

    def _auth(self, client: Client, args: list[bytes]) -> bytes:
        if len(args) not in (2, 3):
            raise _arity("auth")
        raise ClientError(
            "ERR AUTH <password> called without any password configured for the "
            "default user. Are you sure your configuration is correct?"
        )

    def _reset(self, client: Client, args: list[bytes]) -> bytes:
        if len(args) != 1:
            raise _arity("reset")
        client.db, client.name = 0, b""
        return b"RESET"

    def _quit(self, client: Client, args: list[bytes]) -> bytes:
        return b"OK"


_HANDLERS: dict[
    bytes, Callable[[Clients, Client, list[bytes]], bytes | int | list[bytes]]
] = {
    b"SELECT": Clients._select,
    b"CLIENT": Clients._client,
    b"HELLO": Clients._hello,  # type: ignore[dict-item]
    b"AUTH": Clients._auth,
    b"RESET": Clients._reset,
    b"QUIT": Clients._quit,
}
CONNECTION_COMMANDS = frozenset(name.decode() for name in _HANDLERS)
