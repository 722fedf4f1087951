"""The async API is generated from the sync source: it must be current, and the
generator's rules must hold on small examples (tools/generate_async.py)."""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def generator() -> ModuleType:
    sys.path.insert(0, str(ROOT / "tools"))  # it imports async_analysis
    spec = importlib.util.spec_from_file_location(
        "generate_async", ROOT / "tools" / "generate_async.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_async"] = module
    spec.loader.exec_module(module)
    return module


GENERATOR = generator()
OUTPUTS = GENERATOR.outputs()  # every generated file and the text it should hold


def test_generated_modules_are_current() -> None:
    """Fails when a sync feature changed and ``python tools/generate_async.py``
    was not run (compared as syntax trees: formatting does not matter)."""
    stale = []
    for path, text in OUTPUTS.items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if not current or ast.dump(ast.parse(current)) != ast.dump(ast.parse(text)):
            stale.append(str(path.relative_to(ROOT)))
    assert stale == [], "run: python tools/generate_async.py"


def test_no_generated_module_is_left_over() -> None:
    """A module whose sync source went away does not linger."""
    expected = set(OUTPUTS)
    generated = {
        path
        for path in (ROOT / "walrus" / "asyncio").rglob("*.py")
        if "generated from" in path.read_text(encoding="utf-8")[:300]
        or path.read_text(encoding="utf-8").startswith('"""Generated package')
    }
    assert generated - expected == set()


# one module per test process: pytest-xdist's workers convert at the same time
EXAMPLE_MODULE = f"walrus.features._generator_example_{os.getpid()}"


def convert(source: str) -> str:
    """The async twin of a one-module feature ``source`` (as walrus.features.x)."""
    path = ROOT.joinpath(*EXAMPLE_MODULE.split(".")).with_suffix(".py")
    path.write_text(source, encoding="utf-8")
    try:
        graph = GENERATOR.Graph([str(path.relative_to(ROOT))])
        module = graph.modules[EXAMPLE_MODULE]
        return str(GENERATOR.generate(graph, module))
    finally:
        path.unlink()


EXAMPLE = """
from __future__ import annotations
import time
from typing import Any, Iterator

class Box:
    def __init__(self, database: Any, key: str) -> None:
        self.database = database
        self.key = key

    def __len__(self) -> int:
        return self.database.llen(self.key)

    def __contains__(self, item: Any) -> bool:
        return item in self.items()

    def items(self) -> list[Any]:
        return self.database.lrange(self.key, 0, -1)

    def __iter__(self) -> Iterator[Any]:
        yield from self.items()

    def __int__(self) -> int:
        return len(self)

    def empty(self) -> bool:
        time.sleep(0.1)
        return len(self) == 0

    def pipe(self) -> Any:
        return self.database.pipeline()

    def name(self) -> str:
        return self.key.upper()
"""


def test_calls_to_the_database_are_awaited_and_dunders_renamed() -> None:
    tree = ast.parse(convert(EXAMPLE))
    box = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    methods = {n.name: n for n in box.body if hasattr(n, "name")}
    asynchronous = {
        name for name, n in methods.items() if isinstance(n, ast.AsyncFunctionDef)
    }
    assert asynchronous == {"length", "contains", "items", "__aiter__", "empty"}
    assert "__int__" not in methods  # no async form: left out
    assert isinstance(methods["pipe"], ast.FunctionDef)  # pipeline() is sync
    assert isinstance(methods["name"], ast.FunctionDef)
    text = ast.unparse(box)
    assert "await self.database.llen(self.key)" in text
    assert "await asyncio.sleep(0.1)" in text
    assert "await self.length() == 0" in text
    assert "item in await self.items()" in text  # a list: a plain `in`
    assert "async for" not in ast.unparse(methods["__aiter__"])  # a list
    assert "for _item in await self.items()" in ast.unparse(methods["__aiter__"])


def test_a_definition_without_io_is_imported_not_copied() -> None:
    source = EXAMPLE + "\n\ndef helper(x: int) -> int:\n    return x + 1\n"
    source += "\n\ndef uses(box: Box) -> int:\n    return helper(len(box))\n"
    tree = ast.parse(convert(source))
    names = {getattr(n, "name", None) for n in tree.body}
    assert "helper" not in names and "uses" in names
    imported = [
        a.name
        for n in tree.body
        if isinstance(n, ast.ImportFrom) and n.module == EXAMPLE_MODULE
        for a in n.names
    ]
    assert imported == ["helper"]
