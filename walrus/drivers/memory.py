"""The pure-Python ``memory`` backend: the emulation engine over a dict.

For users' tests on any Python version: no server, no native code. Each
:class:`MemoryDatabase` is its own empty keyspace, shared by the threads that
use it (one lock), and gone when the process ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from walrus.drivers.embedded.core import IN_PROCESS_CAPABILITIES, EmbeddedCore
from walrus.drivers.embedded.database import EmbeddedDatabase
from walrus.drivers.emulation import EmulationEngine, MemoryStore
from walrus.drivers.protocol import Capability
from walrus.scripts import TWINS

__all__ = ["MemoryDatabase", "memory_engine"]


def memory_engine() -> EmulationEngine:
    """A new, empty in-memory engine."""
    capabilities = IN_PROCESS_CAPABILITIES | {Capability.STREAMS}
    return EmulationEngine(MemoryStore(), "memory", capabilities)


class MemoryDatabase(EmbeddedDatabase):
    """A walrus database held in this process's memory.

    ``MemoryDatabase(decode_responses=False, script_dir=None, db=0)``; every
    redis-py command method and every walrus feature works on it. More
    clients of the same engine: :meth:`client`, or ``from_url('memory://name')``
    for an engine shared by name.
    """

    url_scheme = "memory"

    @classmethod
    def _named_engine(cls, options: dict[str, Any]) -> Callable[[], EmbeddedCore]:
        return lambda: EmbeddedCore(memory_engine(), TWINS)

    def __init__(
        self,
        decode_responses: bool = False,
        script_dir: str | None = None,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        db: int = 0,
    ) -> None:
        super().__init__(
            EmbeddedCore(memory_engine(), TWINS),
            db=db,
            decode_responses=decode_responses,
            encoding=encoding,
            encoding_errors=encoding_errors,
            script_dir=script_dir,
        )
