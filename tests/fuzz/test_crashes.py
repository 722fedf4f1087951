"""The crash-detecting fuzzer: no input kills the interpreter or leaks a
foreign exception, on any embedded engine.

Each test runs :mod:`fuzz.crash_child` in a subprocess on one engine and
reply mode, and fails if the child died (a signal, or a hang past its
limit), naming the seed, the step it was running and how to re-send the
steps that led to it, or if an exception other than walrus's or redis-py's
escaped (each ``FOREIGN`` line, with its step).

The short profile sends 1,500 steps per engine and mode; the long one
(``HYPOTHESIS_PROFILE=fuzz-long``) 51,000 (over 100,000 per engine even
after the skipped known crashes), with a new seed each run unless
``WALRUS_FUZZ_SEED`` fixes it. ``WALRUS_FUZZ_SURVEY=FILE`` records each
run's figures, deaths and foreign exceptions in FILE instead of failing.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

import walrus
from fuzz.engines import ENGINES

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz-long"
STEPS = 51_000 if LONG else 1_500
SEED = int(
    os.environ.get("WALRUS_FUZZ_SEED") or (random.randrange(10**6) if LONG else 0)
)
CHILD = Path(__file__).with_name("crash_child.py")
SURVEY = os.environ.get("WALRUS_FUZZ_SURVEY")
# The child imports the same walrus as the tests, and this directory's modules.
CHILD_ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(
        [str(Path(walrus.__file__).parents[1]), str(CHILD.parents[1])]
    ),
}


def _run(args: list[str], log: Path) -> tuple[int, list[str], str]:
    """Run one child; its exit code, printed lines and the end of its stderr."""
    with open(log, "w", encoding="utf-8") as out:
        child = subprocess.run(
            args, stdout=out, stderr=subprocess.PIPE, env=CHILD_ENV, timeout=7200
        )
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return child.returncode, lines, child.stderr.decode(errors="replace")[-3000:]


def _death(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"exit {code} (a hang, or an error)"


@pytest.mark.parametrize("mode", ["bytes", "decoded"])
@pytest.mark.parametrize("engine", ENGINES)
def test_no_input_crashes_or_leaks_a_foreign_exception(
    engine: str, mode: str, tmp_path: Path
) -> None:
    """A child that dies is restarted after the step that killed it (on a
    fresh database), so one run reports every death among its steps."""
    seed = SEED + ENGINES.index(engine) * 2 + (mode == "decoded")
    base = [engine, str(seed), str(STEPS)]
    extra = ["--decoded"] if mode == "decoded" else []
    deaths: list[str] = []
    foreign: list[str] = []
    sent = skipped = start = 0
    while start < STEPS and len(deaths) < 20:
        directory = tmp_path / f"from-{start}"
        directory.mkdir()
        args = [*base, str(directory), *extra, f"--start={start}"]
        code, lines, stderr = _run(
            [sys.executable, str(CHILD), *args], directory / "log"
        )
        steps = [
            line.split(" ", 2) for line in lines if line.split(" ", 1)[0].isdigit()
        ]
        ran = [s for s in steps if s[1] not in ("SKIP", "FOREIGN", "KNOWN")]
        sent += len(ran)
        skipped += sum(s[1] == "SKIP" for s in steps)
        text = {s[0]: " ".join(s[1:]) for s in ran}
        foreign += [
            f"step {s[0]} {s[2][:200]} <- {text.get(s[0], '?')[:300]}"
            for s in steps
            if s[1] == "FOREIGN"
        ]
        if code == 0:
            break
        last = int(ran[-1][0]) if ran else start
        block = f"{max(start, last - last % 50)}-{last}"
        deaths.append(
            f"{_death(code)} at step {last}: {text.get(str(last), '?')[:300]}\n"
            f"  reproduce: python tests/fuzz/crash_child.py {' '.join(base)} DIR "
            f"{' '.join(extra)} --only={block}\n{stderr[-1200:]}"
        )
        start = last + 1
    if SURVEY:
        record = {"engine": engine, "mode": mode, "seed": seed, "steps": STEPS}
        record.update(sent=sent, skipped=skipped, deaths=deaths, foreign=foreign)
        with open(SURVEY, "a", encoding="utf-8") as survey:
            survey.write(json.dumps(record) + "\n")
        return
    assert not deaths, f"{engine} ({mode}, seed {seed}) died:\n" + "\n".join(deaths)
    assert not foreign, (
        f"{engine} ({mode}, seed {seed}) let {len(foreign)} foreign exceptions "
        "out:\n" + "\n".join(foreign[:30])
    )
