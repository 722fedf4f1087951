"""Matching fuzzer steps against the known differences (the work queue).

A step is written as text, one command per line (a plain command is one
line; a pipeline or transaction starts with a header line ``TX``,
``RAWTX``, ``PIPE`` or ``WATCH k1 k2``), so an entry's ``pattern`` is a
regular expression searched with ``re.M``: ``^SET .* KEEPTTL`` matches a
SET with KEEPTTL wherever it is, inside a transaction too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["ALL", "Known", "find", "narrow", "step_text"]

ALL = frozenset({"memory", "vedis-memory", "vedis-file", "rlite-memory", "rlite-file"})
EMULATION = frozenset({"memory", "vedis-memory", "vedis-file"})
RLITE = frozenset({"rlite-memory", "rlite-file"})


@dataclass(frozen=True)
class Known:
    """One known difference, crash or foreign exception.

    ``status`` is ``"to fix"`` or ``"deliberate"`` (a documented
    ``UnsupportedOperation``, or a documented embedded-engine rule).
    ``replies``, when given, must also be found in ``repr((expected, got))``
    (differential) or in the exception's ``repr`` (crash fuzzer).
    """

    engines: frozenset[str]
    pattern: str
    reason: str
    status: str = "to fix"
    replies: str = ""

    def matches(self, engine: str, text: str, replies: str = "") -> bool:
        return (
            engine in self.engines
            and re.search(self.pattern, text, re.M) is not None
            and (not self.replies or re.search(self.replies, replies) is not None)
        )


def find(
    entries: Iterable[Known], engine: str, text: str, replies: str = ""
) -> Known | None:
    """The first entry that explains this step on this engine, if any."""
    return next((k for k in entries if k.matches(engine, text, replies)), None)


def narrow(step: Any, expected: Any, got: Any) -> tuple[Any, Any, Any]:
    """The command of a pipeline or transaction whose replies differ first,
    with the two replies (or the whole step, when the replies are not both
    lists: a transaction that failed as a whole)."""
    if isinstance(step, list) or step[0] == "REOPEN":
        return step, expected, got
    if step[0] == "WATCH":
        _, _, outside, block = step
        if expected[0] != got[0]:
            return narrow(("PIPE", outside), expected[0], got[0])
        return narrow(("TX", block), expected[1], got[1])
    block = step[1] if step[0] != "RAWTX" else [["MULTI"], *step[1], [step[2]]]
    if isinstance(expected, list) and isinstance(got, list):
        for command, e, g in zip(block, expected, got, strict=False):
            if e != g:
                if command == ["EXEC"]:  # a hand-sent MULTI: the queued command
                    return narrow(("TX", step[1]), e, g)
                return command, e, g
    return step, expected, got


def _arg(arg: Any) -> str:
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "backslashreplace")
    return str(arg)


def _line(command: list[Any]) -> str:
    return " ".join(_arg(a) for a in command)


def step_text(step: Any) -> str:
    """The step as text (see the module docstring)."""
    if isinstance(step, list):
        return _line(step)
    kind = step[0]
    if kind == "WATCH":
        _, keys, outside, block = step
        lines = [f"WATCH {' '.join(keys)}", "OUTSIDE", *map(_line, outside)]
        return "\n".join([*lines, "TX", *map(_line, block)])
    if kind == "RAWTX":
        return "\n".join(["RAWTX", "MULTI", *map(_line, step[1]), step[2]])
    if kind in ("TX", "PIPE"):
        return "\n".join([kind, *map(_line, step[1])])
    if kind == "NAMED":
        return f"NAMED {_arg(step[1])} KEYS {_line(step[2])} ARGS {_line(step[3])}"
    return " ".join(map(_arg, step))
