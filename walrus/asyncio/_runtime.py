"""What generated async code needs beyond the standard library."""

from __future__ import annotations

import asyncio
import signal
import threading
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any, Self, TypeVar

__all__ = ["Event", "TaskLocal", "aislice", "on_signal"]

T = TypeVar("T")


async def aislice(items: AsyncIterable[T], count: int | None) -> AsyncIterator[T]:
    """The first ``count`` items of ``items`` (all of them for ``None``)."""
    if count is not None and count <= 0:
        return
    seen = 0
    async for item in items:
        yield item
        seen += 1
        if count is not None and seen >= count:
            return


class Event(asyncio.Event):
    """An :class:`asyncio.Event` whose ``wait`` takes a timeout, as
    :class:`threading.Event`'s does: True once set, False after ``timeout``."""

    async def wait(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        if timeout is None:
            return await super().wait()
        try:
            return await asyncio.wait_for(super().wait(), timeout)
        except TimeoutError:
            return self.is_set()


class TaskLocal:
    """What :class:`threading.local` is to threads, for asyncio tasks: each
    task (each thread, outside a running loop) sees its own attributes, set
    up by the subclass's ``__init__`` on first use."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        self = super().__new__(cls)
        object.__setattr__(self, "_spaces", weakref.WeakKeyDictionary())
        object.__setattr__(self, "_init", (args, kwargs))
        return self

    def _space(self) -> dict[str, Any]:
        try:
            owner: Any = asyncio.current_task() or threading.current_thread()
        except RuntimeError:  # no running loop
            owner = threading.current_thread()
        spaces = object.__getattribute__(self, "_spaces")
        space: dict[str, Any] | None = spaces.get(owner)
        if space is None:
            space = spaces[owner] = {}
            args, kwargs = object.__getattribute__(self, "_init")
            type(self).__init__(self, *args, **kwargs)
        return space

    def __getattr__(self, name: str) -> Any:
        try:
            return self._space()[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._space()[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self._space()[name]
        except KeyError:
            raise AttributeError(name) from None


def on_signal(number: int, handler: Callable[..., Any]) -> None:
    """Call ``handler(number, None)`` on the signal ``number``: through the
    running event loop (which it wakes), else as :func:`signal.signal` does."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        signal.signal(number, handler)
        return
    loop.add_signal_handler(number, handler, number, None)
