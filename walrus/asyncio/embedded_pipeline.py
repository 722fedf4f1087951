"""The pipeline of the async embedded databases.

:class:`AsyncEmbeddedPipeline` is a ``redis.asyncio`` pipeline whose state
(the queued commands, the scripts to load, WATCH) lives in the sync
:class:`~walrus.drivers.embedded.database.EmbeddedPipeline` of the same
client: command methods queue and return the pipeline, as in redis.asyncio,
and ``await execute()`` runs the queue as the sync pipeline does, in one
call under the engine lock (a transaction is one engine operation). No
network: no round trip; nothing here waits on the loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import redis.asyncio.client

from walrus.drivers.embedded.database import EmbeddedPipeline

if TYPE_CHECKING:
    from walrus.asyncio.embedded import AsyncEmbeddedDatabase

__all__ = ["AsyncEmbeddedPipeline"]


class AsyncEmbeddedPipeline(redis.asyncio.client.Pipeline):
    """Queues commands; ``await execute()`` runs them under the engine lock."""

    def __init__(self, db: AsyncEmbeddedDatabase, transaction: bool) -> None:
        self._db = db
        self._sync = EmbeddedPipeline(db._sync, transaction)
        init: Any = super().__init__
        init(db.connection_pool, db.response_callbacks, transaction, None)

    # The state redis.asyncio's methods (multi, __len__, execute_command, the
    # scripts' registration) read and write is the sync pipeline's.
    @property
    def command_stack(self) -> Any:
        return self._sync.command_stack

    @command_stack.setter
    def command_stack(self, value: Any) -> None:
        self._sync.command_stack = value

    @property
    def scripts(self) -> Any:
        return self._sync.scripts

    @scripts.setter
    def scripts(self, value: Any) -> None:
        self._sync.scripts = value

    @property
    def watching(self) -> bool:
        return bool(self._sync.watching)

    @watching.setter
    def watching(self, value: bool) -> None:
        self._sync.watching = value

    @property
    def explicit_transaction(self) -> bool:
        return bool(self._sync.explicit_transaction)

    @explicit_transaction.setter
    def explicit_transaction(self, value: bool) -> None:
        self._sync.explicit_transaction = value

    async def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        """A command run at once (WATCH, and commands after WATCH before
        ``multi()``): WATCH and UNWATCH by the sync pipeline, others by the
        database (a blocking one waits on the loop)."""
        if str(args[0]).upper() in ("WATCH", "UNWATCH"):
            return self._sync.immediate_execute_command(*args, **options)
        return await self._db.execute_command(*args, **options)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Run the queued commands (a transaction: atomically, under the
        engine lock; WatchError if a watched key changed) and reset."""
        try:
            return self._sync.execute(raise_on_error)
        finally:
            self._db._wake_waiters()

    async def reset(self) -> None:  # type: ignore[override]
        """Forget the queued commands and stop watching."""
        self._sync.reset()

    def __repr__(self) -> str:
        return f"<AsyncEmbeddedPipeline {self._db.backend_name}>"
