"""The tour's asyncio section (:mod:`walrus.asyncio`): the same features with
``await``, on the tour's own backend.

The section opens the async database of the backend the tour runs on (the
same server, or another client of the same embedded engine), runs its
snippets on one event loop with top-level ``await``, and closes it.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
from typing import Any, TextIO

import redis

import walrus
from walrus.tour.runner import Section, Transcript, tour_section

SECTIONS: list[Section] = []


def open_async_twin(db: Any) -> Any:
    """The :mod:`walrus.asyncio` database on ``db``'s server, cluster or
    embedded engine (a client of its own, closed by ``aclose()``)."""
    from walrus import asyncio as aio

    for async_class in (
        aio.AsyncMemoryDatabase,
        aio.AsyncRliteDatabase,
        aio.AsyncVedisDatabase,
    ):
        if isinstance(db, async_class.sync_class):
            return async_class._over(db.client())
    if isinstance(db, walrus.ClusterDatabase):
        node: Any = db.get_default_node()  # type: ignore[no-untyped-call]
        return aio.AsyncClusterDatabase(host=node.host, port=node.port)
    if isinstance(db, redis.Redis):
        given = db.connection_pool.connection_kwargs
        names = ("host", "port", "db", "username", "password", "decode_responses")
        kwargs = {name: given[name] for name in names if name in given}
        if "path" in given:  # a unix socket
            kwargs["unix_socket_path"] = given["path"]
        return aio.AsyncDatabase(**kwargs)
    raise TypeError(f"no async twin for {type(db).__name__}")


class AsyncTranscript(Transcript):
    """A :class:`Transcript` whose snippets may ``await`` at the top level,
    run on ``runner``'s event loop."""

    def __init__(self, db: Any, out: TextIO, runner: asyncio.Runner) -> None:
        super().__init__(db, out)
        self.namespace["asyncio"] = asyncio
        self.runner = runner

    def _run(self, statement: ast.stmt) -> Any:
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        if isinstance(statement, ast.Expr):
            code = compile(ast.Expression(statement.value), "<tour>", "eval", flags)
        else:
            code = compile(ast.Module([statement], []), "<tour>", "exec", flags)
        return self.runner.run(self._inside_loop(code))

    async def _inside_loop(self, code: Any) -> Any:
        """Run ``code`` on the loop (so ``asyncio.create_task`` works in a
        snippet without an ``await``), awaiting it when it awaits."""
        value = eval(code, self.namespace)
        if code.co_flags & inspect.CO_COROUTINE:
            value = await value
        return value


@tour_section("With asyncio", into=SECTIONS)
def _asyncio(db: Any, show: Transcript) -> None:
    """walrus.asyncio has every feature with await, on every backend: methods
    keep their names, len()/in/h[k] = v become length()/contains()/setitem(),
    iteration is async for, and decorators take coroutine functions."""
    with asyncio.Runner() as runner:
        adb = runner.run(_open(db))
        transcript = AsyncTranscript(adb, show.out, runner)
        try:
            _snippets(transcript)
        finally:
            lock = transcript.namespace.get("lock")
            if lock is not None:  # its keys are outside tour:*, so here
                db.delete(lock.key, lock.event, lock.fence_key)
            runner.run(adb.aclose())


async def _open(db: Any) -> Any:
    return open_async_twin(db)  # opened inside the loop that will use it


def _snippets(show: AsyncTranscript) -> None:
    show.note(f"db is now {type(show.namespace['db']).__name__}, the same backend")
    show("h = db.Hash('tour:async:h')")
    show("await h.update(name='huey', kind='cat')")
    show("await h['name'], await h.length(), await h.contains('kind')")
    show("sorted([pair async for pair in h])")
    show("hits = db.counter('tour:async:hits')")
    show("await asyncio.gather(*(hits.incr() for _ in range(10)))")
    show("await hits.value()")
    show("""
    cache = db.cache('tour:async:cache')
    @cache.cached(timeout=60)
    async def square(x):
        await asyncio.sleep(0.01)
        return x * x
    """)
    show("await square(7), await square(7)")
    show("lock = db.lock('tour:async:lock', ttl=5000)")
    show("""
    async with lock:
        print('holding', await lock.locked())
    """)
    show.note("a blocking pop waits on the event loop: other tasks run meanwhile")
    show("""
    async def produce():
        await asyncio.sleep(0.05)
        await db.rpush('tour:async:jobs', 'job-1')
    """)
    show("producer = asyncio.create_task(produce())")
    show("await db.blpop('tour:async:jobs', timeout=5)")
    show("await producer")
