"""Async twin of :mod:`walrus.transactions`, generated from ``walrus/transactions.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from walrus.asyncio._runtime import TaskLocal
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any
from walrus.exceptions import InvalidValue

if TYPE_CHECKING:
    from redis.client import Pipeline
__all__ = ["Atomic", "TransactionStack"]


class TransactionStack(TaskLocal):
    """The open transactions of one thread, innermost last."""

    def __init__(self) -> None:
        self.pipes: list[Pipeline] = []
        self.results: list[Any] = []

    @property
    def pipe(self) -> Pipeline | None:
        """The innermost open transaction, or ``None``."""
        return self.pipes[-1] if self.pipes else None

    async def close(
        self, operation: str, commit: bool, pipe: Pipeline | None = None
    ) -> list[Any]:
        """Close ``pipe`` (the innermost transaction by default): send its
        commands (one round trip) and return the replies, or discard them.
        Transactions opened after ``pipe`` and still open are discarded."""
        if pipe is None and self.pipes:
            pipe = self.pipes[-1]
        if pipe is None or not any((p is pipe for p in self.pipes)):
            raise InvalidValue(
                f"{operation}: no open transaction (open one with db.atomic() or db.get_transaction())"
            )
        while (top := self.pipes.pop()) is not pipe:
            await top.reset()
        if not commit:
            await pipe.reset()
            return []
        self.results = await pipe.execute()
        return self.results


class Atomic:
    """What ``with db.atomic() as tx`` gives: ``tx.pipe``, ``commit()``, ``clear()``."""

    def __init__(
        self, stack: TransactionStack, new_pipeline: Callable[[], Pipeline]
    ) -> None:
        self._stack = stack
        self._new_pipeline = new_pipeline
        self._pipe: Pipeline | None = None

    @property
    def pipe(self) -> Pipeline:
        """The pipeline this block queues commands on."""
        if self._pipe is None:
            raise InvalidValue("tx.pipe is only available inside its atomic() block")
        return self._pipe

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        pipe = self.pipe
        value = getattr(pipe, name)
        if getattr(value, "__self__", None) is pipe:
            self.__dict__[name] = value
        return value

    def _forget_methods(self) -> None:
        """Drop the bound methods :meth:`__getattr__` kept (its own
        attributes start with ``_``)."""
        for name in [n for n in self.__dict__ if not n.startswith("_")]:
            del self.__dict__[name]

    async def __aenter__(self) -> Atomic:
        self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self._finish("commit", begin_new=False)
            return
        with contextlib.suppress(InvalidValue):
            await self._finish("clear", begin_new=False)

    async def commit(self, begin_new: bool = True) -> list[Any]:
        """Send the queued commands (one round trip); their replies."""
        return await self._finish("commit", begin_new)

    async def clear(self, begin_new: bool = True) -> None:
        """Discard the queued commands."""
        await self._finish("clear", begin_new)

    def _begin(self) -> None:
        self._forget_methods()
        self._pipe = self._new_pipeline()
        self._stack.pipes.append(self._pipe)

    async def _finish(self, how: str, begin_new: bool) -> list[Any]:
        pipe, self._pipe = (self._pipe, None)
        self._forget_methods()
        if pipe is None:
            raise InvalidValue(f"tx.{how}(): this atomic() block has ended")
        try:
            return await self._stack.close(f"tx.{how}()", how == "commit", pipe)
        finally:
            if begin_new:
                self._begin()
