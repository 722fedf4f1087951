"""What only async code can show: tasks, cancellation, coroutine decorators and
signals through the event loop (the rest of the async API runs the shared
conformance suite through tests/async_portal.py)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from support import memory_opener, rlite_opener

from walrus.asyncio import StreamWorker
from walrus.asyncio._runtime import TaskLocal
from walrus.exceptions import RateLimitException

OPENERS = {"memory": memory_opener(), "rlite-memory": rlite_opener(None)}


def run(test: Callable[[Any], Awaitable[None]], backend: str = "memory") -> None:
    """Run ``test(db)`` on a fresh async database of ``backend``."""

    async def main() -> None:
        db = OPENERS[backend](asynchronous=True)
        try:
            await test(db)
        finally:
            await db.aclose()

    asyncio.run(main())


@pytest.mark.parametrize("backend", sorted(OPENERS))
def test_atomic_blocks_of_concurrent_tasks_stay_apart(backend: str) -> None:
    async def test(db: Any) -> None:
        started = asyncio.Event()

        async def block(name: str, wait: bool) -> list[Any]:
            async with db.atomic() as tx:
                tx.set(name, "1")
                assert db.pipe is tx.pipe
                if wait:
                    started.set()
                    await asyncio.sleep(0.05)  # the other task opens its own block
                else:
                    await started.wait()
                assert db.pipe is tx.pipe
            return db.atomic_results()

        assert await asyncio.gather(block("a", True), block("b", False)) == [
            [True],
            [True],
        ]
        assert await db.mget("a", "b") in ([b"1", b"1"], ["1", "1"])

    run(test, backend)


def test_task_local_is_per_task_and_per_thread() -> None:
    class Stack(TaskLocal):
        def __init__(self) -> None:
            self.items: list[int] = []

    stack = Stack()
    stack.items.append(0)  # this thread, no loop

    async def push(n: int) -> list[int]:
        stack.items.append(n)
        await asyncio.sleep(0)
        return list(stack.items)

    async def main() -> list[list[int]]:
        return list(await asyncio.gather(push(1), push(2)))

    assert asyncio.run(main()) == [[1], [2]]
    assert stack.items == [0]


def test_coroutine_decorators() -> None:
    async def test(db: Any) -> None:
        cache, calls = db.cache("c"), []

        @cache.cached()
        async def square(n: int) -> int:
            calls.append(n)
            await asyncio.sleep(0)
            return n * n

        assert [await square(3), await square(3)] == [9, 9]
        assert calls == [3]

        limit = db.rate_limit("r", 1, 60)

        @limit.rate_limited()
        async def hello(name: str) -> str:
            return f"hello {name}"

        assert await hello("a") == "hello a"
        with pytest.raises(RateLimitException):
            await hello("a")

        lock = db.lock("l")

        @lock
        async def inside() -> bool:
            return bool(await lock.locked())

        assert await inside() is True
        assert not await lock.locked()

    run(test)


def test_a_blocking_pop_waits_on_the_loop_and_cancel_pops_nothing() -> None:
    async def test(db: Any) -> None:
        queue = db.List("q")
        waiting = asyncio.ensure_future(queue.bpopleft(timeout=0))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # the loop ran this coroutine meanwhile
        await queue.append("x")
        assert await asyncio.wait_for(waiting, 5) in (b"x", "x")
        cancelled = asyncio.ensure_future(queue.bpopleft(timeout=0))
        await asyncio.sleep(0.02)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        await queue.append("y")
        assert await queue.length() == 1  # the cancelled pop took nothing

    run(test, "rlite-memory")


def _group(db: Any) -> Any:
    return db.consumer_group("workers", "jobs")


def test_the_worker_acks_what_a_coroutine_handler_finished() -> None:
    async def test(db: Any) -> None:
        cg = _group(db)
        await cg.create()
        for n in range(5):
            await cg.streams["jobs"].add({"n": n})
        seen: list[Any] = []

        async def handle(delivery: Any) -> None:
            await asyncio.sleep(0)
            if delivery.data[b"n"] == b"3":
                raise ValueError("left pending")
            seen.append(delivery.data[b"n"])

        worker = cg.consume(block=10, stop_when_empty=True)
        assert isinstance(worker, StreamWorker)
        assert await worker.run(handle) == 4
        assert seen == [b"0", b"1", b"2", b"4"]
        assert len(await cg.streams["jobs"].pending()) == 1

    run(test)


def test_cancelling_a_waiting_worker_ends_it() -> None:
    async def test(db: Any) -> None:
        cg = _group(db)
        await cg.create()
        worker = cg.consume(block=50)

        async def consume() -> list[Any]:
            return [d async for d in worker]

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(test)


def test_stop_on_signals_goes_through_the_loop() -> None:
    async def test(db: Any) -> None:
        cg = _group(db)
        await cg.create()
        worker = cg.consume(block=50)
        loop = asyncio.get_running_loop()
        worker.stop_on_signals(signal.SIGUSR1)
        try:
            loop.call_later(0.1, os.kill, os.getpid(), signal.SIGUSR1)
            assert [d async for d in worker] == []  # ended by the signal
            assert worker.stopped
        finally:
            loop.remove_signal_handler(signal.SIGUSR1)

    run(test)
