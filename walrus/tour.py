"""The guided tour behind ``python -m walrus tour``: sections of runnable examples.

A section is a function ``section(db, show)`` registered with
:func:`tour_section`; its docstring introduces it. ``show(code)`` runs a
snippet as the interactive interpreter would (``db`` in scope, names kept
between snippets of one section) and prints each statement with the value it
gave, so what the reader sees is exactly what ran. A feature adds its section
from its own module, with no change here or in the CLI::

    from walrus.tour import Transcript, tour_section

    @tour_section("Hashes")
    def _hashes(db: Any, show: Transcript) -> None:
        \"\"\"A Hash is a dict stored in one key.\"\"\"
        show("h = db.Hash('tour:h')")

A section registers when its module is imported. ``walrus/__init__.py``
imports every feature module, and importing this module imports ``walrus``
first, so this module's sections come first, then the features' in import
order. Keep every key under ``tour:``: the tour deletes them after each
section.
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

__all__ = ["SECTIONS", "Section", "Transcript", "run_tour", "tour_section"]

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


SECTIONS: list[Section] = []


def tour_section(
    title: str, needs: Iterable[Capability] = ()
) -> Callable[[SectionFunction], SectionFunction]:
    """Register a tour section; skipped on backends lacking any of ``needs``."""

    def register(function: SectionFunction) -> SectionFunction:
        SECTIONS.append(Section(title, function, frozenset(needs)))
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
    keys = list(db.search(f"{KEY_PREFIX}*"))
    if keys:
        db.delete(*keys)


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


# -- the Database extras -----------------------------------------------------------


@tour_section("Your database")
def _database(db: Any, show: Transcript) -> None:
    """`db` is a redis-py client: every Redis command is a method of it."""
    show("import redis")
    show("isinstance(db, redis.Redis)")
    show("db.backend_name")
    show("sorted(capability.value for capability in db.capabilities)")
    show("db.ping()")


@tour_section("Strings: set and get")
def _strings(db: Any, show: Transcript) -> None:
    """Values come back as bytes, unless the database has decode_responses=True."""
    show("db.set('tour:greeting', 'hello')")
    show("db.get('tour:greeting')")
    show("db['tour:greeting']")
    show("'tour:greeting' in db")
    show("db.incr('tour:visits')")
    show("db.incr('tour:visits', 10)")
    show("db.get('tour:missing') is None")


@tour_section("The keyspace: iteration, search and len")
def _keyspace(db: Any, show: Transcript) -> None:
    """Iterating a database SCANs its keys in batches of 1,000; it never uses KEYS."""
    show("db.mset({'tour:user:1': 'ann', 'tour:user:2': 'bob', 'tour:color': 'red'})")
    show("len(db)")
    show("sorted(db)")
    show("sorted(db.search('tour:user:*'))")


@tour_section("Temporary keys")
def _temp_keys(db: Any, show: Transcript) -> None:
    """get_temp_key() gives a fresh random key name; give the key a TTL."""
    show("key = db.get_temp_key()")
    show("key")
    show("db.set(key, 'scratch work', ex=60)")
    show("db.ttl(key)")
    show("db.delete(key)")


@tour_section("Compare-and-set")
def _cas(db: Any, show: Transcript) -> None:
    """cas() replaces a value only if it still holds the expected one, atomically."""
    show("db.set('tour:color', 'red')")
    show("db.cas('tour:color', 'red', 'green')")
    show("db.cas('tour:color', 'red', 'blue')")
    show("db.get('tour:color')")


@tour_section("Atomic blocks")
def _atomic(db: Any, show: Transcript) -> None:
    """Commands queued in an atomic() block run together when it ends, in one
    round trip; an exception leaving the block discards them."""
    show(
        """
        with db.atomic() as pipe:
            pipe.set('tour:balance', 100)
            pipe.incrby('tour:balance', 20)
        """
    )
    show("db.atomic_results()")
    show("db.get('tour:balance')")
    show.note("now a block that fails: nothing it queued is applied")
    show(
        """
        try:
            with db.atomic() as pipe:
                pipe.set('tour:balance', 0)
                raise ValueError('changed my mind')
        except ValueError as exc:
            print('discarded:', exc)
        """
    )
    show("db.get('tour:balance')")


@tour_section("Pipelines")
def _pipelines(db: Any, show: Transcript) -> None:
    """A pipeline sends many commands in one round trip and returns their replies."""
    show(
        """
        with db.pipeline() as pipe:
            pipe.set('tour:counter', 1)
            pipe.incr('tour:counter')
            pipe.get('tour:counter')
            replies = pipe.execute()
        """
    )
    show("replies")


@tour_section("Pub/sub", needs=[Capability.PUBSUB])
def _pubsub(db: Any, show: Transcript) -> None:
    """PUBLISH sends a message to every subscriber of a channel and returns how
    many got it. db.listener() runs a function for each message (in a thread
    with is_async=True); here a pubsub object reads them one at a time."""
    show("news = db.pubsub()")
    show("news.subscribe('tour:news')")
    show.note("the subscription is confirmed: from now on, messages arrive")
    show("news.get_message(timeout=5)['type']")
    show("db.publish('tour:news', 'walrus says hello')")
    show("news.get_message(timeout=5)['data']")
    show("news.close()")


@tour_section("Scripts")
def _scripts(db: Any, show: Transcript) -> None:
    """run_script() runs a named atomic operation (Lua on a server, its Python
    twin in embedded engines) or a script from your own script_dir."""
    show("db.set('tour:status', 'draft')")
    show("db.run_script('cas', keys=['tour:status'], args=['draft', 'published'])")
    show("db.get('tour:status')")
