"""The tour's machinery: sections, the transcript that runs their snippets, the runner.

A section is a function ``section(db, show)`` registered with
:func:`tour_section`; its docstring introduces it. ``show(code)`` runs a
snippet as the interactive interpreter would (``db`` in scope, names kept
between snippets of one section) and prints each statement with the value it
gave, so what the reader sees is exactly what ran::

    from walrus.tour import Transcript, tour_section

    @tour_section("Hashes")
    def _hashes(db: Any, show: Transcript) -> None:
        \"\"\"A Hash is a dict stored in one key.\"\"\"
        show("h = db.Hash('tour:h')")

:func:`run_tour` runs :data:`SECTIONS` in order. The tour's own sections live
in the modules of :mod:`walrus.tour`, which add them to ``SECTIONS`` in the
order it lists them; a section registered later with :func:`tour_section`
(``into`` left out) runs after them. Keep every key under ``tour:``: the tour
deletes them after each section.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import pprint
import reprlib
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from walrus.drivers.protocol import Capability
from walrus.exceptions import UnsupportedOperation

__all__ = [
    "KEY_PREFIX",
    "SECTIONS",
    "WIDTH",
    "Section",
    "SectionFunction",
    "Transcript",
    "run_tour",
    "tour_section",
]

KEY_PREFIX = "tour:"
WIDTH = 88  # a value printed wider than this is pretty-printed over several lines

# ``db`` is any walrus database: ``walrus.Database`` or an embedded one.
SectionFunction = Callable[[Any, "Transcript"], None]


@dataclass(frozen=True)
class Section:
    """One tour section: a title, the capabilities it needs, and its function."""

    title: str
    run: SectionFunction
    needs: frozenset[Capability]

    @property
    def intro(self) -> str:
        return inspect.cleandoc(self.run.__doc__ or "")


SECTIONS: list[Section] = []  # what run_tour runs, in this order


def tour_section(
    title: str,
    needs: Iterable[Capability] = (),
    *,
    into: list[Section] | None = None,
) -> Callable[[SectionFunction], SectionFunction]:
    """Register a tour section, skipped on backends lacking any of ``needs``.

    It is appended to ``into``, by default :data:`SECTIONS` (what
    :func:`run_tour` runs).
    """

    def register(function: SectionFunction) -> SectionFunction:
        sections = SECTIONS if into is None else into
        sections.append(Section(title, function, frozenset(needs)))
        return function

    return register


class Transcript:
    """Runs snippets against ``db`` and prints them REPL-style with their values."""

    def __init__(self, db: Any, out: TextIO) -> None:
        self.namespace: dict[str, Any] = {"db": db}
        self.out = out
        self._repr = reprlib.Repr()
        self._repr.maxlist = self._repr.maxset = self._repr.maxdict = 12
        self._repr.maxstring = self._repr.maxother = 100

    def __call__(self, code: str) -> Any:
        """Run ``code`` statement by statement; return the last expression's value."""
        source = textwrap.dedent(code).strip()
        lines = source.splitlines()
        value = None
        for statement in ast.parse(source).body:
            decorators = getattr(statement, "decorator_list", [])
            first = min([statement.lineno, *(d.lineno for d in decorators)])
            self._echo(lines[first - 1 : statement.end_lineno])
            with contextlib.redirect_stdout(self.out):  # the snippet's print()s
                value = self._run(statement)
            if value is not None:
                print(self._show(value), file=self.out)
        return value

    def _show(self, value: Any) -> str:
        """The value's short repr; a long one (not cut short) wrapped to WIDTH."""
        text = self._repr.repr(value)
        if len(text) <= WIDTH or "..." in text:
            return text
        return pprint.pformat(value, width=WIDTH, compact=True)

    def _run(self, statement: ast.stmt) -> Any:
        if isinstance(statement, ast.Expr):
            expression = ast.Expression(statement.value)
            return eval(compile(expression, "<tour>", "eval"), self.namespace)
        module = ast.Module([statement], type_ignores=[])
        exec(compile(module, "<tour>", "exec"), self.namespace)
        return None

    def note(self, text: str) -> None:
        """Print a line of explanation between snippets."""
        print(f"# {text}", file=self.out)

    def _echo(self, lines: list[str]) -> None:
        for number, line in enumerate(lines):
            print(("... " if number else ">>> ") + line, file=self.out)


def _delete_tour_keys(db: Any) -> None:
    """One DEL per key in a plain pipeline: the keys span several slots of a
    cluster, which a single DEL refuses (one request per node there). On a
    cluster, key groups are hash-tagged: ``{tour:...}...``."""
    pipe = db.pipeline(transaction=False)
    for pattern in (f"{KEY_PREFIX}*", f"{{{KEY_PREFIX}*"):
        for key in db.search(pattern):
            pipe.delete(key)
    pipe.execute()


def run_tour(db: Any, out: TextIO = sys.stdout) -> int:
    """Run every registered section on ``db``; return how many failed."""
    failures = 0
    for number, section in enumerate(SECTIONS, 1):
        heading = f"{number}. {section.title}"
        print(f"\n{heading}\n{'-' * len(heading)}", file=out)
        if section.intro:
            print(section.intro + "\n", file=out)
        missing = section.needs - db.capabilities
        if missing:
            lacking = ", ".join(sorted(c.value for c in missing))
            print(f"(skipped: the {db.backend_name} backend lacks {lacking})", file=out)
            continue
        try:
            section.run(db, Transcript(db, out))
        except UnsupportedOperation as exc:
            print(f"(the {db.backend_name} backend lacks this: {exc})", file=out)
        except Exception as exc:
            failures += 1
            print(f"!! section failed: {type(exc).__name__}: {exc}", file=out)
        finally:
            _delete_tour_keys(db)
    return failures
