"""Run walrus's async API through the sync tests: one test source, both APIs.

In the conformance suite's ``async`` mode the ``db`` fixture is a
:class:`Portal` over an async database. A portal forwards every attribute
and call to the async object it wraps and runs what comes back on its event
loop: a coroutine is awaited, an async iterator is iterated, an async
walrus object is wrapped in a portal too. The sync spellings a test uses map
to the async API's: ``obj[k]`` awaits ``obj[k]``, ``obj[k] = v`` awaits
``obj.setitem(k, v)``, ``del obj[k]`` ``obj.delitem(k)``, ``k in obj``
``obj.contains(k)``, ``len(obj)`` ``obj.length()``, iteration ``async for``,
``with obj`` ``async with obj``. A plain function a test hands to the async
API (a handler, a function to cache) is passed as a coroutine function.

So the code under test is the async code itself; the portal only awaits it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import sys
import threading
from collections.abc import Callable, ItemsView, Iterator, ValuesView
from pathlib import Path
from typing import Any

import walrus
from walrus.asyncio import Model as AsyncModel
from walrus.asyncio._runtime import TaskLocal

__all__ = ["Portal", "is_async_walrus", "model_base", "twin", "unwrap"]

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from async_analysis import AWAITED_CALLABLES
from generate_async import DUNDER_NAMES


def twin(db: Any, cls: Any) -> Any:
    """``cls`` for a sync database; for a portal, its async twin behind a portal
    (``twin(db, Hash).from_dict(db, ...)`` runs walrus.asyncio's Hash)."""
    if not isinstance(db, Portal):
        return cls
    module = sys.modules[cls.__module__.replace("walrus.", "walrus.asyncio.", 1)]
    runner = object.__getattribute__(db, "_runner")
    return runner.portal(getattr(module, cls.__name__))


def _check_caller(value: Any) -> None:
    """A portal serves tests, never sync walrus code: a sync feature object
    built on a portal would test the sync code, not the async one."""
    caller = sys._getframe(2).f_globals.get("__name__", "")
    if (
        caller.startswith("walrus.")
        and not caller.startswith("walrus.asyncio")
        and inspect.iscoroutinefunction(value)
    ):
        raise AssertionError(
            f"sync walrus code ({caller}) called an async database's portal: "
            "build the object with twin(db, cls) or a db factory"
        )


def is_async_walrus(value: Any) -> bool:
    """Whether ``value`` is an object of walrus's async API (a test's async
    model and its rows included)."""
    kind = value if isinstance(value, type) else type(value)
    return kind.__module__.startswith("walrus.asyncio") or issubclass(kind, AsyncModel)


def model_base(db: Any) -> Any:
    """The base of a test's models: ``walrus.Model`` for a sync database; for a
    portal, an async model base whose subclasses come back as portals (so
    ``class User(model_base(db))`` runs walrus.asyncio's Model through the
    same test code)."""
    if not isinstance(db, Portal):
        return walrus.Model
    runner = object.__getattribute__(db, "_runner")

    class PortalModelMeta(type(AsyncModel)):  # type: ignore[misc]
        def __new__(
            mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]
        ) -> Any:
            if isinstance(namespace.get("__database__"), Portal):
                namespace["__database__"] = _plain(namespace["__database__"])
            cls = super().__new__(mcs, name, bases, namespace)
            return cls if namespace.get("_portal_base") else runner.portal(cls)

    return PortalModelMeta("PortalModel", (AsyncModel,), {"_portal_base": True})


class Runner:
    """The event loop the portals of one database run on, in a thread of its own.

    Each thread of the test (the main one, a test's worker threads, a
    callback's thread) gets a *session*: one task on the loop that awaits
    that thread's calls in order. A test's threads are so many concurrent
    tasks, and state kept per task (``db.atomic()`` blocks) lasts across
    the calls of one thread, as it would in one coroutine.
    """

    TIMEOUT = 120.0  # a call taking longer fails the test instead of hanging it

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sessions: dict[int, asyncio.Queue[Any]] = {}
        self.tasks: list[asyncio.Future[None]] = []  # the sessions' tasks
        self.portals: dict[int, tuple[Any, Portal]] = {}  # one per object: `is` holds

    def portal(self, target: Any) -> Portal:
        known = self.portals.get(id(target))
        if known is None or known[0] is not target:
            known = (target, Portal(target, self))
            self.portals[id(target)] = known
        return known[1]

    def run(self, awaitable: Any) -> Any:
        if threading.current_thread() is self.thread:
            raise AssertionError("a portal call from inside the event loop")
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.loop.call_soon_threadsafe(self._session().put_nowait, (awaitable, done))
        return done.result(self.TIMEOUT)

    def _session(self) -> asyncio.Queue[Any]:
        ident = threading.get_ident()
        queue = self.sessions.get(ident)
        if queue is None:

            async def start() -> asyncio.Queue[Any]:
                calls: asyncio.Queue[Any] = asyncio.Queue()
                self.tasks.append(asyncio.ensure_future(self._serve(calls)))
                return calls

            queue = asyncio.run_coroutine_threadsafe(start(), self.loop).result()
            self.sessions[ident] = queue
        return queue

    @staticmethod
    async def _serve(calls: asyncio.Queue[Any]) -> None:
        while True:
            awaitable, done = await calls.get()
            if awaitable is None:
                return
            try:
                done.set_result(await awaitable)
            except BaseException as exc:
                done.set_exception(exc)

    def close(self) -> None:
        async def stop() -> None:
            for calls in self.sessions.values():
                calls.put_nowait((None, None))
            await self.loop.shutdown_asyncgens()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(self.TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(self.TIMEOUT)
        self.loop.close()


def unwrap(value: Any) -> Any:
    """``value`` as the async API takes it: portals unwrapped (:func:`_plain`),
    a plain function made a coroutine function (run in a thread: it may call
    the database through a portal)."""
    if inspect.isfunction(value) and not inspect.iscoroutinefunction(value):
        fn = value

        @functools.wraps(fn)
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(fn, *args, **kwargs)

        return call
    return _plain(value)


def _args(
    target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, Any]:
    """The arguments as the async ``target`` takes them: a plain function
    passed for a parameter the async API awaits (the generator's
    AWAITED_CALLABLES) made a coroutine function, portals unwrapped."""
    try:
        bound = inspect.signature(target).bind_partial(*args, **kwargs).arguments
    except (TypeError, ValueError):
        bound = {}
    awaited = {id(v) for k, v in bound.items() if k in AWAITED_CALLABLES}
    out = tuple(unwrap(a) if id(a) in awaited else _plain(a) for a in args)
    named = {k: unwrap(v) if id(v) in awaited else _plain(v) for k, v in kwargs.items()}
    return out, named


def _plain(value: Any) -> Any:
    """``value`` with portals (alone, or in a list or tuple) unwrapped."""
    if isinstance(value, Portal):
        return object.__getattribute__(value, "_target")
    if type(value) in (list, tuple) and any(isinstance(v, Portal) for v in value):
        return type(value)(_plain(v) for v in value)
    return value


def sync(value: Any, runner: Runner) -> Any:
    """What the sync API would give for ``value``, an async API result."""
    if inspect.iscoroutine(value):  # not any awaitable: a pipeline is one
        value = runner.run(value)
    if hasattr(value, "__anext__"):
        return _iterate(value, runner)
    if is_async_walrus(value):
        return runner.portal(value)
    if (inspect.ismethod(value) or inspect.isbuiltin(value)) and is_async_walrus(
        getattr(value, "__self__", None)
    ):
        return Portal(value, runner)
    if isinstance(value, (ValuesView, ItemsView)):  # of an async StreamMap ...
        return [sync(v, runner) for v in value]
    if isinstance(value, functools.partial) and is_async_walrus(value.func):
        return Portal(value, runner)
    if inspect.iscoroutinefunction(value) or (
        inspect.isfunction(value) and value.__module__.startswith("walrus.asyncio")
    ):
        return Portal(value, runner)
    if type(value) in (list, tuple) and any(is_async_walrus(v) for v in value):
        return type(value)(sync(v, runner) for v in value)
    return value


async def _read(target: Any, name: str) -> Any:
    return getattr(target, name)


async def _call(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    result = target(*args, **kwargs)
    if inspect.iscoroutine(result):
        result = await result
    return result


def _iterate(items: Any, runner: Runner) -> Iterator[Any]:
    try:
        while True:
            try:
                item = runner.run(items.__anext__())
            except StopAsyncIteration:
                return
            yield sync(item, runner)
    finally:
        close = getattr(items, "aclose", None)
        if close is not None and runner.loop.is_running():
            runner.run(close())


class Portal:
    """A sync view of one async walrus object (see the module)."""

    __slots__ = ("_runner", "_target")

    def __init__(self, target: Any, runner: Runner) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_runner", runner)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        """The sync class the target twins, so ``isinstance(h, walrus.Hash)``
        holds for a portal over ``walrus.asyncio.Hash``."""
        kind = type(object.__getattribute__(self, "_target"))
        twin = kind.__module__.replace("walrus.asyncio.", "walrus.", 1)
        found = getattr(sys.modules.get(twin), kind.__name__, None)
        return found if isinstance(found, type) else Portal

    def _run(self, awaitable: Any) -> Any:
        return sync(awaitable, object.__getattribute__(self, "_runner"))

    def __getattr__(self, name: str) -> Any:
        target = object.__getattribute__(self, "_target")
        if isinstance(target, TaskLocal) or isinstance(
            getattr(type(target), name, None), property
        ):
            # a property may read per-task state (db.pipe): read it in the session
            return self._run(_read(target, name))
        value = getattr(target, name)
        _check_caller(value)
        return self._run(value)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_target"), name, unwrap(value))

    def __delattr__(self, name: str) -> None:
        delattr(object.__getattribute__(self, "_target"), name)

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        """A portal in a class body (a cached method) binds as its target does."""
        target = object.__getattribute__(self, "_target")
        if not hasattr(type(target), "__get__"):
            return self
        return self._run(target.__get__(instance, owner))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        target = object.__getattribute__(self, "_target")
        args, kwargs = _args(target, args, kwargs)
        # called in the session, so per-task state is the session's
        return self._run(_call(target, args, kwargs))

    def _method(self, name: str) -> Callable[..., Any]:
        return getattr(object.__getattribute__(self, "_target"), name)  # type: ignore[no-any-return]

    def __getitem__(self, key: Any) -> Any:
        return self._run(self._method("__getitem__")(unwrap(key)))

    def __setitem__(self, key: Any, value: Any) -> None:
        self._run(self._method(DUNDER_NAMES["__setitem__"])(unwrap(key), unwrap(value)))

    def __delitem__(self, key: Any) -> None:
        self._run(self._method(DUNDER_NAMES["__delitem__"])(unwrap(key)))

    def __contains__(self, key: Any) -> bool:
        return bool(self._run(self._method(DUNDER_NAMES["__contains__"])(unwrap(key))))

    def __len__(self) -> int:
        target = object.__getattribute__(self, "_target")
        length = getattr(target, DUNDER_NAMES["__len__"], None)
        if length is None:
            raise TypeError(f"{type(target).__name__} has no length")
        return int(self._run(length()))

    def __iter__(self) -> Iterator[Any]:
        target = object.__getattribute__(self, "_target")
        if hasattr(target, "__aiter__"):
            return iter(self._run(target.__aiter__()))
        return iter(target)

    def __enter__(self) -> Any:
        return self._run(self._method("__aenter__")())

    def __exit__(self, *exc: Any) -> Any:
        return self._run(self._method("__aexit__")(*exc))

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[Any, ...]:
        return (object.__getattribute__(self, "_target"),)  # class Admin(User)

    def __instancecheck__(self, value: Any) -> bool:
        return isinstance(_plain(value), object.__getattribute__(self, "_target"))

    def __subclasscheck__(self, kind: Any) -> bool:
        return issubclass(_plain(kind), object.__getattribute__(self, "_target"))

    def __eq__(self, other: object) -> bool:
        return bool(object.__getattribute__(self, "_target") == unwrap(other))

    def __hash__(self) -> int:
        return hash(object.__getattribute__(self, "_target"))

    def __repr__(self) -> str:
        return repr(object.__getattribute__(self, "_target"))

    def _operator(self, name: str, other: Any) -> Any:
        return self._run(self._method(DUNDER_NAMES[name])(unwrap(other)))

    def __or__(self, other: Any) -> Any:
        return self._operator("__or__", other)

    def __and__(self, other: Any) -> Any:
        return self._operator("__and__", other)

    def __sub__(self, other: Any) -> Any:
        return self._operator("__sub__", other)

    def __ior__(self, other: Any) -> Any:
        self._operator("__ior__", other)
        return self

    def __iand__(self, other: Any) -> Any:
        self._operator("__iand__", other)
        return self

    def __isub__(self, other: Any) -> Any:
        self._operator("__isub__", other)
        return self
