"""The exceptions walrus raises.

Every walrus exception derives from :class:`WalrusError`; where a builtin or a
redis-py exception fits, it is a second parent, so existing ``except`` clauses
keep working::

    WalrusError
    ├── UnsupportedOperation (NotImplementedError)  a backend cannot do this
    ├── UnknownScript (KeyError)          no named operation by that name
    ├── CommandNameError (ValueError)     a custom command's name is taken
    ├── MissingKey (KeyError)             get_key() on a key that does not exist
    ├── DatabaseOpenError (OSError)       an embedded database cannot be opened
    ├── EngineError (redis ConnectionError)  an embedded engine is closed or broke
    └── CommandError (redis ResponseError)   the engine refused a command
        └── WrongType (TypeError)         a key holds another Redis type
"""

from __future__ import annotations

from typing import Any

from redis._parsers.base import BaseParser as _RESP_PARSER
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

__all__ = [
    "CommandError",
    "CommandNameError",
    "DatabaseOpenError",
    "EngineError",
    "MissingKey",
    "UnknownScript",
    "UnsupportedOperation",
    "WalrusError",
    "WrongType",
    "command_error",
]


class WalrusError(Exception):
    """Base class of every walrus exception."""


class UnsupportedOperation(WalrusError, NotImplementedError):
    """The backend cannot provide this behaviour; the message names it and why."""

    def __init__(self, backend: str, operation: str, reason: str) -> None:
        super().__init__(f"{backend} does not support {operation}: {reason}")
        self.backend = backend
        self.operation = operation
        self.reason = reason


class UnknownScript(WalrusError, KeyError):
    """No named atomic operation (or script file) has this name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CommandNameError(WalrusError, ValueError):
    """A custom command's name is already a method or command of the database."""


class MissingKey(WalrusError, KeyError):
    """The key does not exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DatabaseOpenError(WalrusError, OSError):
    """An embedded database file cannot be opened or created."""


class EngineError(WalrusError, RedisConnectionError):
    """An embedded engine was closed, or failed in a way that is not a reply."""


class CommandError(WalrusError, ResponseError):
    """The engine answered a command with an error reply."""


class WrongType(CommandError, TypeError):
    """The key holds a value of another Redis type than the operation needs."""

    def __init__(
        self, message: str, key: str | None = None, actual: str | None = None
    ) -> None:
        super().__init__(message)
        self.key = key
        self.actual = actual


def command_error(message: str, key: str | None = None) -> ResponseError:
    """The exception for an error reply, as a server's would be parsed.

    ``WRONGTYPE`` becomes :class:`WrongType`, ``ERR`` a :class:`CommandError`
    (with redis-py's ``ERR `` prefix stripping); other codes (EXECABORT,
    NOSCRIPT ...) get redis-py's own exception classes.
    """
    code, _, rest = message.partition(" ")
    if code == "WRONGTYPE":
        if key is not None:
            message = f"{message} (key {key!r})"
        return WrongType(message, key)
    if code == "ERR":
        return CommandError(rest)
    parse: Any = _RESP_PARSER.parse_error
    error: ResponseError = parse(message)
    return error
