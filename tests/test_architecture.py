"""The layers of the package, as docs/architecture.md draws them.

Imports are read from the source (``ast``), so the test sees every import,
lazy ones inside functions included:

* no import cycle between modules of ``walrus`` (a cycle makes the layers
  meaningless and the import order fragile; imports for type checkers only,
  under ``if TYPE_CHECKING:``, do not count);
* features never import a driver (only ``walrus.drivers.protocol``) nor the
  tour; drivers never import features; nothing but the CLI imports the tour;
* no module is longer than 600 lines;
* every file or package docs/architecture.md names exists.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]  # the checkout: walrus/, docs/, lua/
PACKAGE = ROOT / "walrus"
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """The walrus modules ``name`` imports (a package's ``__init__`` counts
    as the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for block in ast.walk(tree):  # imports for type checkers only do not run
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
            block.body = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target in MODULES and target != name:
                yield target


GRAPH = {name: set(_imports(name, path)) for name, path in MODULES.items()}


def _cycle() -> list[str] | None:
    """One import cycle, if any (ignoring a package importing its own
    submodules, which is how a package re-exports)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in GRAPH[node]:
            if target.startswith(node + "."):
                continue  # a package's __init__ re-exporting its submodules
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if state.get(target) is None:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(GRAPH):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle() -> None:
    cycle = _cycle()
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize(
    "importer, forbidden, allowed",
    [
        ("walrus.features", "walrus.drivers", "walrus.drivers.protocol"),
        ("walrus.features", "walrus.tour", None),
        ("walrus.drivers", "walrus.features", None),
        ("walrus.drivers", "walrus.tour", None),
        ("walrus.api", "walrus.drivers", "walrus.drivers.protocol"),
    ],
)
def test_layers(importer: str, forbidden: str, allowed: str | None) -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if name == importer or name.startswith(importer + ".")
        for target in targets
        if (target == forbidden or target.startswith(forbidden + "."))
        and target != allowed
    )
    assert wrong == []


def test_only_the_cli_imports_the_tour() -> None:
    importers = sorted(
        name
        for name, targets in GRAPH.items()
        if not name.startswith("walrus.tour")
        and any(t == "walrus.tour" or t.startswith("walrus.tour.") for t in targets)
    )
    assert importers == ["walrus.cli"]


def test_modules_stay_short() -> None:
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_architecture_page_names_real_files() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w/<>.-]+(?:\.py|/))`", page))
    roots = [ROOT, PACKAGE, PACKAGE / "drivers", PACKAGE / "features"]
    missing = sorted(
        name
        for name in named
        if "<" not in name and not any((root / name).exists() for root in roots)
    )
    assert len(named) > 20
    assert missing == []
