"""The values an in-process engine answers with (RESP2-shaped replies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Command", "ErrorReply", "Reply"]

Reply = Any  # bytes | int | None | list[Reply] | ErrorReply
Command = list[bytes]


@dataclass(frozen=True)
class ErrorReply:
    """An error reply, as a value (engines never raise for a refused command)."""

    message: str
