"""The crash fuzzer's child: random and malformed input to one embedded engine.

``python tests/fuzz/crash_child.py ENGINE SEED COUNT [DIR] [--decoded]
[--only=STEPS] [--start=N]``
sends COUNT random steps (reproducible from SEED) to ENGINE (a file engine
keeps its file in DIR). It prints each step before running it, so when the
interpreter dies the parent knows the seed and the step that killed it. A
step is a command from the fuzzers' vocabulary, often malformed (unknown
name, missing or extra arguments, huge or binary values, Python values
redis-py must refuse), a Lua script (redis.call of a random command, or the
libraries' edges), a named operation (``run_script`` or WALRUS.OP) with
wrong arguments, a pipeline or transactional pipeline with MULTI, EXEC,
WATCH, DEBUG or UNSUBSCRIBE sent by hand, a pub/sub object, or
``execute_command()`` with no arguments.

Only walrus and redis-py exceptions may come out; anything else is printed
as a ``FOREIGN`` line (``KNOWN`` when :data:`FOREIGN` explains it) and the
run goes on. Steps that :data:`CRASHES` lists for this engine are not sent
(``SKIP``), unless ``WALRUS_FUZZ_UNSKIP=1`` (to see whether they are fixed).
A step still running after 60 s (``WALRUS_FUZZ_HANG``) dumps the stacks and
exits (a hang). The last line is ``survived COUNT commands: {counts}``.
"""

from __future__ import annotations

import faulthandler
import json
import os
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script: the test directory's modules
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.exceptions import RedisError

from fuzz.engines import open_engine
from fuzz.grammar import expand
from fuzz.known import find, step_text
from fuzz.known_differences import CRASHES, FOREIGN
from fuzz.vocabulary import (
    CRASH_FAMILIES,
    CRASH_SCRIPTS,
    EXTREME,
    FAMILIES,
    OPERATIONS,
    SCRIPTS,
    TOKENS,
    UNKNOWN,
)
from walrus import WalrusError

__all__ = ["main"]

HANG_SECONDS = float(os.environ.get("WALRUS_FUZZ_HANG", "60"))
SKIP_KNOWN = not os.environ.get("WALRUS_FUZZ_UNSKIP")  # 1: send known crashes too
TEMPLATES = [t for f in (*FAMILIES.values(), *CRASH_FAMILIES.values()) for t in f]
# Mostly ordinary tokens; about one draw in forty is an extreme one.
CRASH_TOKENS = {
    name: values * 8 + EXTREME.get(name, []) for name, values in TOKENS.items()
}
CRASH_TOKENS["script"] = SCRIPTS + CRASH_SCRIPTS * 2
CRASH_TOKENS["op"] = OPERATIONS
HAND = [
    ["MULTI"],
    ["EXEC"],
    ["DISCARD"],
    ["WATCH", "k1"],
    ["UNWATCH"],
    ["DEBUG", "SEGFAULT"],
    ["DEBUG", "SLEEP", "0"],
    ["UNSUBSCRIBE"],
    ["SUBSCRIBE", "news"],
    ["PUNSUBSCRIBE", "*"],
    ["SELECT", "1"],
    ["RESET"],
    ["QUIT"],
    ["SHUTDOWN", "NOSAVE"],
    ["MONITOR"],
]
SETUP = [
    ["SET", "k1", "10"],
    ["RPUSH", "k2", "a", "b", "c"],
    ["ZADD", "k3", "1", "a", "2", "b"],
    ["HSET", "ü", "f1", "v", "f2", "2"],
    ["SADD", "", "a", "b", "c"],
    ["PFADD", "p1", "a", "b"],
    ["XADD", "p2", "1-1", "f", "v"],
    ["SET", "w_1", "3"],
    ["HSET", "h_1", "f", "x"],
]


class Fuzzer:
    """Makes the random steps of one run."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def step(self) -> Any:
        roll = self.rng.random()
        if roll < 0.01:
            return ("NOARGS",)
        if roll < 0.02:
            return ("PUBSUB", self.rng.choice(["news", "ü", "*"]))
        if roll < 0.04:  # a named operation, often with the wrong arguments
            keys = [
                self.rng.choice(CRASH_TOKENS["k"])
                for _ in range(self.rng.randint(0, 3))
            ]
            args = self.command()[1:]
            return ("NAMED", self.rng.choice(OPERATIONS), keys, args)
        if roll < 0.08:
            size = self.rng.randint(1, 5)
            block = [self.command() for _ in range(size)]
            for _ in range(self.rng.randint(0, 2)):
                block.insert(self.rng.randint(0, size), self.rng.choice(HAND))
            kind = self.rng.choice(["TX", "PIPE", "WATCH"])
            if kind == "WATCH":
                return ("WATCH", ["k1"], [], block)
            return (kind, block)
        if roll < 0.18:  # a random command through Lua
            call = self.rng.choice(["redis.call", "redis.pcall"])
            return ["EVAL", f"return {call}(unpack(ARGV))", "0", *self.command()]
        return self.command()

    def command(self) -> list[Any]:
        command: list[Any] = expand(self.rng.choice(TEMPLATES), CRASH_TOKENS, self.rng)
        if self.rng.random() < 0.3:
            self.mutate(command)
        return bounded(command)

    def mutate(self, command: list[Any]) -> None:
        rng = self.rng
        how = rng.randrange(7)
        if how == 0:
            command[0] = rng.choice([*UNKNOWN, *(t.split()[0] for t in TEMPLATES)])
        elif how == 1 and len(command) > 1:
            del command[rng.randrange(1, len(command))]
        elif how == 2:
            del command[rng.randint(1, max(1, len(command) - 1)) :]
        elif how == 3:
            extreme = rng.choice(list(EXTREME.values()))
            command.insert(rng.randint(1, len(command)), rng.choice(extreme))
        elif how == 4 and len(command) > 1:
            at = rng.randrange(1, len(command))
            command[at] = rng.choice([0, -1, 2**70, 1.5, float("nan"), True, b""])
        elif how == 5:
            command.append(rng.choice([None, [1], {"a": 1}, object()]))
        else:
            values = list(CRASH_TOKENS.values())
            command.extend(rng.choice(rng.choice(values)) for _ in range(3))


# Blocking commands and the position of their timeout.
_TIMEOUT_AT = {
    **dict.fromkeys(("BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"), -1),
    **dict.fromkeys(("BRPOPLPUSH", "BLMOVE"), -1),
    **dict.fromkeys(("BLMPOP", "BZMPOP"), 1),
}


_RANDOM_PICKS = {"SRANDMEMBER", "ZRANDMEMBER", "HRANDFIELD"}


def bounded(command: list[Any]) -> list[Any]:
    """Leave out what would hang a server too: a valid timeout of 0 (forever)
    or over a second becomes 0.01 s, a random-pick count past ten million
    becomes -10,000,000 (a server takes 3 s for that many). Malformed values
    (nan, inf, x) stay: the engine must refuse them, not hang."""
    name = command[0].upper() if isinstance(command[0], str) else ""
    at = 2 if name in _RANDOM_PICKS else _TIMEOUT_AT.get(name)
    if at is None or len(command) <= max(at, 1):
        return command
    try:
        value = float(command[at])
    except (TypeError, ValueError, OverflowError):
        return command
    if name in _RANDOM_PICKS:
        if 10_000_000 < abs(value) < 2**63:
            command[at] = "-10000000"
    elif value == 0 or 1 < value < float("inf"):
        command[at] = "0.01"
    return command


def compact(step: Any) -> str:
    """``step_text`` on one line, shortened when long (printed per step)."""
    text = step_text(step).replace("\n", " ; ")
    return text if len(text) < 400 else f"{text[:200]}... ({len(text)} chars)"


def run(db: Any, step: Any) -> None:
    """Run one step; exceptions propagate to the caller, which judges them."""
    if isinstance(step, list):
        db.execute_command(*step)
    elif step[0] == "NOARGS":
        db.execute_command()
    elif step[0] == "NAMED":
        db.run_script(step[1], step[2], step[3])
    elif step[0] == "PUBSUB":
        pubsub = db.pubsub()
        try:
            if step[1] == "*":
                pubsub.psubscribe(step[1])
            else:
                pubsub.subscribe(step[1])
            db.publish("news", "hello")
            pubsub.get_message(timeout=0)
            pubsub.unsubscribe()
            pubsub.punsubscribe()
        finally:
            pubsub.close()
    else:
        pipe = db.pipeline(transaction=step[0] != "PIPE")
        try:
            if step[0] == "WATCH":
                pipe.watch(*step[1])
                pipe.multi()
            for command in step[-1]:
                pipe.execute_command(*command)
            pipe.execute(raise_on_error=False)
        finally:
            pipe.reset()


def _only(spec: str) -> set[int]:
    """``--only 5,10-12``: the step numbers to send (to narrow a failure)."""
    steps: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        steps.update(range(int(first), int(last or first) + 1))
    return steps


def main(argv: list[str]) -> Counter[str]:
    """See the module docstring; ``--only=5,10-12`` sends only those steps,
    ``--start=N`` only the steps from N on (the others are made, so the rest
    stay the same, but not sent)."""
    options = [a for a in argv if a.startswith("--")]
    decoded = "--decoded" in options
    only = next((_only(o[7:]) for o in options if o.startswith("--only=")), None)
    start = next((int(o[8:]) for o in options if o.startswith("--start=")), 0)
    engine, seed, count, *rest = [a for a in argv if not a.startswith("--")]
    directory = Path(rest[0]) if rest else Path(".")
    db = open_engine(engine, directory, raw=False, decode=decoded)
    fuzzer = Fuzzer(int(seed))
    counts: Counter[str] = Counter()
    faulthandler.enable()
    for number in range(int(count)):
        step = fuzzer.step()
        if number % 50 == 0:
            step = ("PIPE", [["FLUSHDB"], *SETUP])  # fresh data of every type
        if number < start or (only is not None and number not in only):
            continue
        text = compact(step)
        if SKIP_KNOWN and find(CRASHES, engine, step_text(step)):
            print(f"{number} SKIP {text}", flush=True)
            counts["skipped"] += 1
            continue
        print(f"{number} {text}", flush=True)
        faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
        try:
            run(db, step)
            counts["ok"] += 1
        except (WalrusError, RedisError):
            counts["error"] += 1
        except Exception as exc:
            if decoded and isinstance(exc, UnicodeDecodeError):
                counts["undecodable"] += 1  # what redis-py on a server raises too
                continue
            known = find(FOREIGN, engine, step_text(step), repr(exc))
            label = "KNOWN" if known else "FOREIGN"
            print(f"{number} {label} {type(exc).__name__}: {exc!s:.300}", flush=True)
            counts["known foreign" if known else "foreign"] += 1
        finally:
            faulthandler.cancel_dump_traceback_later()
    db.close()
    print(f"survived {count} commands: {json.dumps(counts)}", flush=True)
    return counts


if __name__ == "__main__":
    main(sys.argv[1:])
