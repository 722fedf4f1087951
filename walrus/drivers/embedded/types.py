"""The contract of an in-process engine: what it is asked and what it answers.

An :class:`Engine` runs one command at a time and answers with RESP2-shaped
replies (:data:`Reply`): ``bytes``, ``int``, ``None``, lists of those, or an
:class:`ErrorReply`; it never raises for a refused command.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from walrus.drivers.protocol import Capability

__all__ = ["Command", "Engine", "ErrorReply", "Reply"]

Reply = Any  # bytes | int | None | list[Reply] | ErrorReply
Command = list[bytes]


@dataclass(frozen=True)
class ErrorReply:
    """An error reply, as a value (engines never raise for a refused command)."""

    message: str


class Engine(Protocol):
    """An in-process engine; called with the core's lock held.

    Optional: ``select(index)`` switches to a numbered database (engines
    without it have database 0 only), and ``take_modified(keep)`` returns the
    ``(db, key)`` pairs really modified since its last call (``None``:
    unknown, treat every key as modified; ``keep=False``: no need to record
    until the next call); without it the core assumes a
    successful write modified the keys it names. ``quick(name)`` returns a
    function that runs command ``name`` as ``execute`` would, file units and
    commits included, with its per-name decisions taken once (None: not
    offered); the core calls it directly for plain commands
    (``EmbeddedCore.fast``).
    """

    name: str
    capabilities: frozenset[Capability]

    def execute(self, args: Command) -> Reply: ...

    def execute_many(self, commands: list[Command], atomic: bool) -> list[Reply]: ...

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold the engine against other processes during a multi-step operation."""
        ...

    def close(self) -> None: ...
