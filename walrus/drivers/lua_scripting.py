"""Lua scripting for every in-process engine (placeholder until the runtime lands)."""

from __future__ import annotations

from typing import Any

from walrus.drivers.embedded import Command, ErrorReply, Reply

__all__ = ["LuaScripting"]


class LuaScripting:
    """EVAL, EVALSHA, SCRIPT, FUNCTION and FCALL for one EmbeddedCore."""

    def __init__(self, core: Any) -> None:
        self.core = core

    def execute(self, args: Command) -> Reply:
        name = args[0].decode("ascii", "replace")
        return ErrorReply(f"ERR unknown command '{name}'")
