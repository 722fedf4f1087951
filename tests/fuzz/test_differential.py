"""The differential fuzzer: every embedded engine answers like a real server.

Hypothesis generates sequences of raw commands over a few keys of every type
(:mod:`fuzz.strategies`); each sequence runs on the test's Valkey server and
on one embedded engine. Every reply (errors by class and message prefix)
must match, and so must the whole keyspace after every step (so a difference
in state shows at the step that made it), after the normalizations that
:mod:`fuzz.replies` documents. A step that :data:`DIFFERENCES` explains ends
the comparison for that example (an entry is tried on the command of a
pipeline whose replies differ first, and on the whole step).

``HYPOTHESIS_PROFILE=fuzz-long`` runs the long profile;
``WALRUS_FUZZ_SURVEY=FILE`` records every unexplained difference in FILE
(JSON lines) instead of failing, for ``cd tests; python -m fuzz.survey FILE``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from fuzz.engines import ENGINES, FILE_ENGINES, open_engine, raw_server_client
from fuzz.known import find, narrow, step_text
from fuzz.known_differences import DIFFERENCES
from fuzz.replies import outcome, snapshot
from fuzz.strategies import SEQUENCES, Step
from fuzz.survey import signature

SURVEY = os.environ.get("WALRUS_FUZZ_SURVEY")


class Candidate:
    """One embedded engine, reopened on demand (its file persists)."""

    def __init__(self, name: str, directory: Path) -> None:
        self.name, self.directory = name, directory
        self.db = open_engine(name, directory)

    def reopen(self) -> None:
        if self.name in FILE_ENGINES:
            self.db.close()
            self.db = open_engine(self.name, self.directory)


@pytest.fixture(params=ENGINES)
def candidate(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Candidate]:
    engine = Candidate(request.param, tmp_path)
    try:
        yield engine
    finally:
        engine.db.close()


@pytest.fixture
def server(redis_db: Any) -> Iterator[Any]:
    client = raw_server_client(redis_db)
    try:
        yield client
    finally:
        client.close()


def _reset(client: Any) -> None:
    client.execute_command("FLUSHDB")
    # scripts loaded by an earlier example must not answer EVALSHA
    with contextlib.suppress(Exception):  # engines without SCRIPT: nothing to do
        client.execute_command("SCRIPT", "FLUSH")


def _differ(
    engine: str,
    steps: list[Step],
    at: int,
    expected: Any,
    got: Any,
    keyspace: bool = False,
) -> None:
    """An unexplained difference: recorded in survey mode, else a failure."""
    step = steps[at] if at < len(steps) else ("REOPEN",)
    text = ("KEYSPACE AFTER\n" if keyspace else "") + step_text(step)
    before = [step_text(s) for s in steps[:at]]
    if SURVEY:
        record = {
            "signature": signature(step, expected, got, keyspace),
            "engine": engine,
            "step": text,
            "expected": repr(expected),
            "got": repr(got),
            "before": before,
        }
        with open(SURVEY, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return
    replay = "".join(f"step {i}:\n{t}\n" for i, t in enumerate(before))
    pytest.fail(
        f"{engine} differs from the server at step {at}:\n{text}\n"
        f"server: {expected!r}\n{engine}: {got!r}\n"
        "the steps before it (FLUSHDB before the first; the engine is kept):\n"
        f"{replay or '-'}\n"
        "(fix it, or add it to tests/fuzz/known_differences.py)",
        pytrace=False,
    )


def _explained(engine: str, text: str, expected: Any, got: Any) -> bool:
    known = find(DIFFERENCES, engine, text, repr((expected, got)))
    if known is not None and SURVEY:  # which entries still explain something
        with open(SURVEY, "a", encoding="utf-8") as out:
            entry = DIFFERENCES.index(known)
            out.write(json.dumps({"known": entry, "engine": engine}) + "\n")
    return known is not None


@given(steps=SEQUENCES)
def test_same_replies_as_a_server(
    server: Any, candidate: Candidate, steps: list[Step]
) -> None:
    """After each step, the replies and then the whole keyspace must match."""
    _reset(server)
    _reset(candidate.db)
    for at, step in enumerate(steps):
        if step == ("REOPEN",):
            candidate.reopen()
            if candidate.name in FILE_ENGINES:  # a restart: scripts are forgotten
                server.execute_command("SCRIPT", "FLUSH")
        else:
            expected, got = outcome(server, step), outcome(candidate.db, step)
            if got != expected:
                command, e, g = narrow(step, expected, got)
                if not (
                    _explained(candidate.name, step_text(command), e, g)
                    or _explained(candidate.name, step_text(step), expected, got)
                ):
                    _differ(candidate.name, steps, at, expected, got)
                return
        expected, got = snapshot(server), snapshot(candidate.db)
        if got != expected:
            text = f"KEYSPACE AFTER\n{step_text(step)}"
            if not _explained(candidate.name, text, expected, got):
                _differ(candidate.name, steps, at, expected, got, keyspace=True)
            return
    candidate.reopen()  # what reached a file must read back
    expected, got = snapshot(server), snapshot(candidate.db)
    if got != expected:
        _differ(candidate.name, steps, len(steps), expected, got, keyspace=True)
