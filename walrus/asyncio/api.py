"""Async twin of :mod:`walrus.api`, generated from ``walrus/api.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from collections.abc import AsyncIterator
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from redis.client import NEVER_DECODE
from walrus.drivers.protocol import Capability
from walrus.exceptions import InvalidType, MissingKey, UnsupportedOperation
from walrus.asyncio.features.autocomplete import AutocompleteFactories
from walrus.asyncio.features.containers import ContainerFactories, container_for_type
from walrus.asyncio.features.coordination import CoordinationFactories
from walrus.asyncio.features.graph import GraphFactories
from walrus.asyncio.features.search import SearchFactories
from walrus.asyncio.features.streams import StreamFactories
from walrus.keys import Keyspace
from walrus.scripts import lua_source
from walrus.asyncio.scripts import Scripts
from walrus.asyncio.transactions import Atomic, TransactionStack

if TYPE_CHECKING:
    from redis.client import Pipeline
    from redis.commands.core import Script
from walrus.api import SCAN_COUNT


class AsyncDatabaseAPI(
    ContainerFactories,
    CoordinationFactories,
    AutocompleteFactories,
    GraphFactories,
    SearchFactories,
    StreamFactories,
):
    """Database extras from walrus 0.9, written against the Driver protocol."""

    _script_dir: str | None
    _keyspace: Keyspace
    _scripts: Scripts
    _transaction_local: TransactionStack
    _lua_scripts: dict[str, Script]
    _lua_lock: threading.Lock
    if TYPE_CHECKING:

        def execute_command(self, *args: Any, **options: Any) -> Any: ...

        def pipeline(
            self, transaction: bool = True, shard_hint: str | None = None
        ) -> Pipeline: ...

        def scan_iter(self, *args: Any, **kwargs: Any) -> Iterator[Any]: ...

        def dbsize(self, **kwargs: Any) -> int: ...

        def type(self, name: Any) -> bytes | str: ...

        def pubsub(self, **kwargs: Any) -> Any: ...

        def register_script(self, script: Any) -> Script: ...

        def get_encoder(self) -> Any: ...

        @property
        def capabilities(self) -> frozenset[Capability]: ...

        @property
        def backend_name(self) -> str: ...

        def run_named_operation(
            self, name: str, keys: Sequence[Any], args: Sequence[Any], client: Any
        ) -> Any: ...

        def monitor_lines(self) -> Iterator[bytes | str]: ...

    def _init_walrus(self, script_dir: str | os.PathLike[str] | bool | None) -> None:
        if script_dir is True:
            raise InvalidType("script_dir must be a directory path, None or False")
        if script_dir and (not os.path.isdir(script_dir)):
            raise NotADirectoryError(f"script_dir {script_dir!r} is not a directory")
        self._script_dir = os.fspath(script_dir) if script_dir else None
        self._keyspace = Keyspace()
        self._scripts = Scripts(self)
        self._lua_scripts: dict[str, Script] = {}
        self._lua_lock = threading.Lock()
        self._transaction_local = TransactionStack()
        decodes = self.get_encoder().decode_responses
        self._bytes_replies: dict[str, Any] = {NEVER_DECODE: []} if decodes else {}

    @property
    def bytes_replies(self) -> dict[str, Any]:
        """The ``execute_command`` options that make a reply bytes in either
        reply mode: none where replies are bytes anyway (redis-py's
        ``NEVER_DECODE``, asked of a database that does not decode, costs
        2-4 µs a read for nothing). Do not change the dict."""
        return self._bytes_replies

    @property
    def keyspace(self) -> Keyspace:
        """The key-naming helper (see :mod:`walrus.keys`)."""
        return self._keyspace

    @property
    def scripts(self) -> Scripts:
        """The named atomic operations (see :mod:`walrus.scripts`)."""
        return self._scripts

    def script_source(self, name: str) -> str:
        """The Lua text of a named operation or of a script in ``script_dir``."""
        return lua_source(name, self._script_dir)

    def lua_script(self, name: str) -> Script:
        """The named script, registered once (EVALSHA, re-loaded after NOSCRIPT)."""
        script = self._lua_scripts.get(name)
        if script is None:
            with self._lua_lock:
                script = self._lua_scripts.get(name)
                if script is None:
                    script = self.register_script(self.script_source(name))
                    self._lua_scripts[name] = script
        return script

    def __aiter__(self) -> AsyncIterator[Any]:
        """Every key of the database (SCAN, 1,000 keys per round trip)."""
        return self.scan_iter(count=SCAN_COUNT)

    async def length(self) -> int:
        """The number of keys (DBSIZE). One round trip."""
        return await self.dbsize()

    def search(self, pattern: Any) -> AsyncIterator[Any]:
        """Keys matching a glob-style ``pattern`` (SCAN MATCH, batches of 1,000)."""
        return self.scan_iter(match=pattern, count=SCAN_COUNT)

    async def get_key(self, key: Any) -> Any:
        """The container object for ``key``, by its type (TYPE). One round trip."""
        kind = await self.type(key)
        if isinstance(kind, bytes):
            kind = kind.decode()
        if kind == "none":
            raise MissingKey(f"key {key!r} does not exist")
        return await container_for_type(self, key, kind)

    def get_temp_key(self) -> str:
        """A new random key name (UUID4) for temporary data."""
        return self._keyspace.temp()

    async def run_script(
        self,
        script_name: str,
        keys: Sequence[Any] | None = None,
        args: Sequence[Any] | None = None,
    ) -> Any:
        """Run a named operation or a script from ``script_dir``. One round trip."""
        return await self._scripts.run(script_name, keys or (), args or ())

    async def cas(
        self, key: Any, value: Any, new_value: Any, exact: bool = False
    ) -> bool:
        """Atomically set ``key`` to ``new_value`` if its value starts with ``value``.

        A prefix match, as in walrus 0.9 (``'v1'`` matches ``'v10'``);
        ``exact=True`` requires the whole value to equal ``value``. A missing
        key never matches. The key's TTL is kept. One round trip (a script,
        or a twin in-engine).
        """
        return await self._scripts.cas(key, value, new_value, exact)

    async def xsetid(self, name: Any, id: Any) -> bool:
        """Set the last id of the stream ``name`` (XSETID). One round trip."""
        return bool(await self.execute_command("XSETID", name, id))

    async def stream_log(
        self, callback: Callable[[Any], Any], connection_id: str = "monitor"
    ) -> None:
        """Pass every command the database runs (MONITOR) to ``callback``.

        Runs until ``callback`` returns a false value, as in walrus 0.9.
        """
        if Capability.MONITOR not in self.capabilities:
            raise UnsupportedOperation(self.backend_name, "stream_log", "no MONITOR")
        async for line in self.monitor_lines():
            if not await callback(line):
                return

    def atomic(self, transaction: bool = True) -> Atomic:
        """A block whose commands (on ``tx.pipe`` or ``db.pipe``) are sent
        together when it exits: MULTI/EXEC, one round trip. An exception
        discards them; a nested block commits on its own when it exits.
        See :mod:`walrus.transactions`."""
        return Atomic(self._transaction_local, lambda: self.pipeline(transaction))

    @property
    def pipe(self) -> Pipeline:
        """The pipeline of the innermost ``atomic()`` block of this thread."""
        pipe = self._transaction_local.pipe
        if pipe is None:
            raise RuntimeError("db.pipe is only available inside db.atomic()")
        return pipe

    def atomic_results(self) -> list[Any]:
        """The replies of this thread's last committed ``atomic()`` block."""
        return list(self._transaction_local.results)

    def get_transaction(self) -> Pipeline:
        """Open a transaction in this thread (walrus 0.9); it becomes ``db.pipe``."""
        pipe = self.pipeline()
        self._transaction_local.pipes.append(pipe)
        return pipe

    async def commit_transaction(self) -> list[Any]:
        """Send and close this thread's innermost transaction; its replies."""
        return await self._transaction_local.close("commit_transaction()", commit=True)

    async def clear_transaction(self) -> None:
        """Discard and close this thread's innermost transaction."""
        await self._transaction_local.close("clear_transaction()", commit=False)
