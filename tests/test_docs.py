"""Every Python example in docs/ runs, on the backends its page names.

A page's ```python blocks run in order in one namespace, as a reader would
paste them, with ``db`` bound to a fresh database of the backend under test
(the README runs as doctests: ``test_readme.py``). A block written with
``>>>`` prompts runs as a doctest, so its printed results are checked too.

Two HTML comments (invisible on the rendered page) steer the run:

* ``<!-- docs-test: backends=memory,rlite-memory decode -->`` before the first
  block picks the backends (names from ``tests/conftest.py``, or ``all``) and,
  with ``decode``, opens them with ``decode_responses=True``. The default is
  every backend, bytes replies.
* ``<!-- docs-test: skip (why) -->`` right before a block leaves it out, for
  an example that cannot run here (a server at a fixed address, a path on the
  reader's disk); the reason is required.

Async examples (docs/asyncio.md, the "With asyncio" parts of the feature
pages): ``<!-- docs-test: async -->`` right before a block, or ``async``
before ``backends=`` in the page's settings for every block, runs it with
``db`` bound to the async database of the same backend (walrus.asyncio), on
one event loop per page, top-level ``await`` allowed. Async blocks share
their own namespace, apart from the sync blocks'.
"""

from __future__ import annotations

import ast
import asyncio
import doctest
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import BACKEND_FACTORIES
from support import ServerProcess

from walrus.scripts import TWINS

DOCS = Path(__file__).resolve().parents[1] / "docs"
_BLOCK = re.compile(
    r"(<!-- docs-test: (?:skip \((?P<why>[^)]+)\)|(?P<aio>async)) -->\s*)?"
    r"```python\n(?P<code>.*?)```",
    re.S,
)
_SETTINGS = re.compile(
    r"<!-- docs-test: (?P<aio>async )?"
    r"backends=(?P<names>[\w,-]+)(?P<decode> decode)? -->"
)


@dataclass(frozen=True)
class Page:
    path: Path
    blocks: tuple[tuple[str, bool], ...]  # (code, runs with the async API)
    backends: tuple[str, ...]
    decode: bool


def read_page(path: Path) -> Page:
    text = path.read_text(encoding="utf-8")
    settings = _SETTINGS.search(text)
    every_async = bool(settings and settings["aio"])
    blocks = tuple(
        (m["code"], every_async or bool(m["aio"]))
        for m in _BLOCK.finditer(text)
        if not m["why"]
    )
    # the pages show one server's examples; docs/cluster.md's run on a cluster
    # in tests/test_cluster_failover.py
    backends = tuple(name for name in BACKEND_FACTORIES if name != "cluster")
    decode = False
    if settings:
        if settings["names"] != "all":
            backends = tuple(settings["names"].split(","))
        decode = bool(settings["decode"])
    return Page(path, blocks, backends, decode)


def cases() -> Iterator[Any]:
    for path in sorted(DOCS.glob("*.md")):
        page = read_page(path)
        if page.blocks:
            for backend in page.backends:
                yield pytest.param(page, backend, id=f"{path.stem}-{backend}")


def run_block(code: str, namespace: dict[str, Any], name: str) -> None:
    if code.lstrip().startswith(">>>"):
        parser = doctest.DocTestParser()
        test = parser.get_doctest(code, namespace, name, name, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test, clear_globs=False)
        assert runner.failures == 0, f"{name}: a doctest failed (output above)"
    else:
        exec(compile(code, name, "exec"), namespace)


def run_async_block(
    code: str, namespace: dict[str, Any], name: str, runner: asyncio.Runner
) -> None:
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    result = eval(compile(code, name, "exec", flags=flags), namespace)
    if inspect.iscoroutine(result):  # the block awaits at top level
        runner.run(result)


async def _open_async(backend: Any, decode: bool) -> Any:
    return backend.open_async(decode_responses=decode)


@pytest.mark.parametrize(("page", "backend"), list(cases()))
def test_examples_run(
    page: Page,
    backend: str,
    servers: dict[str, ServerProcess],
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    if backend not in BACKEND_FACTORIES:
        pytest.fail(f"{page.path.name} names an unknown backend {backend!r}")
    opener = BACKEND_FACTORIES[backend](servers, tmp_path)
    monkeypatch.chdir(tmp_path)  # files an example writes land here
    monkeypatch.syspath_prepend(str(DOCS.parent))  # benchmarks/ (not installed)
    twins = dict(TWINS)  # an example may register a twin: forget it afterwards
    db = opener.open(decode_responses=page.decode)
    runner = asyncio.Runner()
    async_namespace: dict[str, Any] = {"__name__": "docs"}
    try:
        db.flushdb()
        namespace: dict[str, Any] = {"db": db, "__name__": "docs"}
        for number, (code, is_async) in enumerate(page.blocks, 1):
            name = f"{page.path.name}, example {number}"
            if not is_async:
                run_block(code, namespace, name)
                continue
            if "db" not in async_namespace:  # files of its own; a server: the same db
                (tmp_path / "async").mkdir()
                other = BACKEND_FACTORIES[backend](servers, tmp_path / "async")
                async_namespace["db"] = runner.run(_open_async(other, page.decode))
            run_async_block(code, async_namespace, name, runner)
    finally:
        if "db" in async_namespace:
            runner.run(async_namespace["db"].aclose())
        runner.close()
        TWINS.clear()
        TWINS.update(twins)
        db.flushdb()
        db.close()


def test_every_page_with_examples_is_collected() -> None:
    pages = {
        p.path.name for p in (read_page(path) for path in DOCS.glob("*.md")) if p.blocks
    }
    assert {"containers.md", "cache.md", "lock.md", "asyncio.md"} <= pages
    asyncio_page = read_page(DOCS / "asyncio.md")  # every block runs with await
    assert all(is_async for _, is_async in asyncio_page.blocks)
    containers = read_page(DOCS / "containers.md")  # a marked block, the rest sync
    assert [is_async for _, is_async in containers.blocks].count(True) == 1
