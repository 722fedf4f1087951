"""Argument checks shared by the scripting commands, with Redis 7.0's errors."""

from __future__ import annotations

from walrus.drivers.command_table import COMMANDS
from walrus.drivers.embedded.types import Command, ErrorReply

__all__ = ["arity_error", "strict_int", "subcommand_error", "wrong_arity"]


def wrong_arity(shown: str) -> ErrorReply:
    return ErrorReply(f"ERR wrong number of arguments for '{shown}' command")


def arity_error(args: Command) -> ErrorReply | None:
    """Redis's error for a command (or ``NAME SUB`` subcommand) of the wrong
    arity, or None. An unknown subcommand is left to the caller."""
    name = args[0].upper().decode("latin-1")
    arity = COMMANDS[name][0]
    shown = name.lower()
    if len(args) > 1:
        sub = f"{name} {args[1].upper().decode('latin-1')}"
        if sub in COMMANDS:
            arity, shown = COMMANDS[sub][0], sub.lower().replace(" ", "|")
    if (arity > 0 and len(args) != arity) or len(args) < -arity:
        return wrong_arity(shown)
    return None


def subcommand_error(name: str, sub: bytes) -> ErrorReply:
    shown = sub.decode("utf-8", "replace")
    return ErrorReply(f"ERR unknown subcommand '{shown}'. Try {name} HELP.")


def strict_int(value: bytes) -> int | None:
    """An integer written as Redis accepts one (no sign '+', no leading zero,
    no spaces), or None."""
    text = value[1:] if value[:1] == b"-" else value
    if not text.isdigit() or (len(text) > 1 and text[:1] == b"0") or len(text) > 19:
        return None
    number = int(value)
    return number if -(2**63) <= number < 2**63 else None
