"""redis-py's connection API over an embedded engine.

An :class:`~walrus.drivers.embedded.database.EmbeddedDatabase` runs its
commands on the engine directly, but code written for redis-py sometimes
drives a connection by hand (``db.connection_pool.get_connection()``, then
``send_command`` and ``read_response``). Here each such connection is a
client of the engine of its own, with the state a server connection has:
its selected database, name, MULTI/WATCH, and CLIENT REPLY ON/OFF/SKIP
(replies are queued when a command is sent and handed out in order).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import redis
from redis._parsers import Encoder

from walrus.drivers.embedded.types import ErrorReply, Reply
from walrus.exceptions import EngineError, command_error

if TYPE_CHECKING:
    from walrus.drivers.embedded.clients import Client
    from walrus.drivers.embedded.core import EmbeddedCore

__all__ = ["EmbeddedConnection", "EmbeddedConnectionPool"]

_NOTHING = object()  # a reply CLIENT REPLY OFF/SKIP suppressed


class EmbeddedConnection:
    """One redis-py connection: a client of the engine (see the module doc)."""

    def __init__(
        self,
        core: EmbeddedCore,
        db: int = 0,
        decode_responses: bool = False,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        **_: Any,
    ) -> None:
        self._core = core
        self.db = db
        make: Any = Encoder
        self.encoder = make(encoding, encoding_errors, decode_responses)
        self.pid = os.getpid()
        self._client: Client | None = None
        self._replies: deque[Reply] = deque()
        self._reply_mode = b"ON"

    def connect(self) -> None:
        if self._client is None or self._client.killed:
            self._client = self._core.connect(self.db)

    def disconnect(self, *args: Any, **kwargs: Any) -> None:
        if self._client is not None and not self._core.closed:
            self._core.release(self._client)
        self._client = None
        self._replies.clear()
        self._reply_mode = b"ON"

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        """Run the command now; its reply waits for :meth:`read_response`."""
        self.connect()
        assert self._client is not None
        encode: Any = self.encoder.encode
        packed = [encode(a) for a in _flat(args)]
        reply = self._core.execute(packed, self._client)
        mode = self._reply_setting(packed)
        if mode == b"ON":
            self._reply_mode = b"ON"
        elif mode is not None:
            self._reply_mode = mode
            return  # CLIENT REPLY OFF/SKIP has no reply of its own
        if self._reply_mode == b"SKIP":
            self._reply_mode = b"ON"
        elif self._reply_mode == b"ON":
            self._replies.append(reply)

    @staticmethod
    def _reply_setting(packed: list[bytes]) -> bytes | None:
        if len(packed) == 3 and [p.upper() for p in packed[:2]] == [
            b"CLIENT",
            b"REPLY",
        ]:
            mode = packed[2].upper()
            return mode if mode in (b"ON", b"OFF", b"SKIP") else None
        return None

    def read_response(self, disable_decoding: bool = False, **kwargs: Any) -> Any:
        """The next reply, decoded as redis-py's parser would."""
        if not self._replies:
            raise redis.exceptions.TimeoutError(
                "no reply is pending on this embedded connection"
            )
        reply = self._replies.popleft()
        if isinstance(reply, ErrorReply):
            return self._raise(reply)
        return self._decode(reply, disable_decoding)

    def _decode(self, reply: Reply, raw: bool) -> Any:
        if isinstance(reply, ErrorReply):
            return command_error(reply.message)
        if isinstance(reply, list):
            return [self._decode(item, raw) for item in reply]
        if isinstance(reply, bytes) and not raw:
            decode: Any = self.encoder.decode
            return decode(reply)
        return reply

    @staticmethod
    def _raise(reply: ErrorReply) -> Any:
        raise command_error(reply.message)

    def can_read(self, timeout: float | None = 0) -> bool:
        return bool(self._replies)

    def check_health(self) -> None:
        if self._core.closed:
            raise EngineError("the embedded database is closed")

    def on_connect(self) -> None:
        self.connect()

    def get_protocol(self) -> int:
        return 2

    def __repr__(self) -> str:
        return f"<EmbeddedConnection {self._core.engine.name} db={self.db}>"


def _flat(args: Iterable[Any]) -> list[Any]:
    """redis-py's convention: a first argument with spaces is several words."""
    out: list[Any] = []
    for i, arg in enumerate(args):
        if i == 0 and isinstance(arg, str) and " " in arg:
            out += arg.split()
        else:
            out.append(arg)
    return out


class EmbeddedConnectionPool(redis.ConnectionPool):
    """A redis-py connection pool whose connections are engine clients: each
    ``get_connection()`` gives a fresh one (a new client, as a new socket
    would be); ``release`` keeps it for the next caller."""

    def __init__(self, core: EmbeddedCore, **connection_kwargs: Any) -> None:
        self._idle: list[EmbeddedConnection] = []
        self._every: list[EmbeddedConnection] = []
        init: Any = super().__init__
        init(
            connection_class=EmbeddedConnection,
            core=core,
            protocol=2,
            **connection_kwargs,
        )

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if self._idle:
            return self._idle.pop()
        connection = EmbeddedConnection(**self.connection_kwargs)
        self._every.append(connection)
        return connection

    def release(self, connection: Any) -> None:
        if connection in self._every and connection not in self._idle:
            self._idle.append(connection)

    def disconnect(self, inuse_connections: bool = True) -> None:
        for connection in self._every:
            connection.disconnect()

    def reset(self) -> None:
        self.disconnect()
        self._idle, self._every = [], []

    def close(self) -> None:
        self.reset()
