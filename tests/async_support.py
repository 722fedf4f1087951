"""Running ``async def`` tests without pytest-asyncio."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an ``async def`` test with ``asyncio.run`` (its fixtures stay sync:
    open databases inside the test, on its event loop). A fixture with a
    ``close_after_test`` coroutine method has it awaited on that loop when
    the test ends, passed or failed (a failed test leaves no open sockets to
    warn in a later test)."""

    async def body(*args: Any, **kwargs: Any) -> None:
        try:
            await test(*args, **kwargs)
        finally:
            for value in kwargs.values():
                closer = getattr(value, "close_after_test", None)
                if closer is not None:
                    await closer()

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(body(*args, **kwargs))

    return run
