"""The exceptions walrus raises.

Every walrus exception derives from :class:`WalrusError`; where a builtin or a
redis-py exception fits, it is a second parent, so existing ``except`` clauses
keep working::

    WalrusError
    ├── InvalidValue (ValueError)         an argument walrus cannot accept
    ├── InvalidType (TypeError)           an argument of a type walrus cannot use
    ├── UnsupportedOperation (NotImplementedError)  a backend cannot do this
    ├── UnknownScript (KeyError)          no named operation by that name
    ├── CommandNameError (ValueError)     a custom command's name is taken
    ├── MissingKey (KeyError)             get_key() on a key that does not exist
    ├── DatabaseOpenError (OSError)       an embedded database cannot be opened
    │   └── CorruptDatabase               its file is damaged or not the engine's
    ├── EngineError (redis ConnectionError)  an embedded engine is closed or broke
    ├── OutcomeUnknown (redis ConnectionError)  a write's reply was lost: not resent
    ├── CommandError (redis ResponseError)   the engine refused a command
    │   ├── WrongType (TypeError, ValueError)  a key holds another Redis type
    │   └── UnknownGroup (LookupError)    a stream has no consumer group by that name
    ├── NotPending (LookupError)          acking ids the group does not have pending
    ├── LockNotHeld (RuntimeError)        releasing or extending a lock you do not hold
    ├── RateLimitException (RuntimeError) a rate-limited call was refused
    ├── InvalidCacheKey (InvalidType)     a cache key that is not str or bytes
    ├── SerializationError (ValueError)   a cache value cannot be (de)serialized
    │   └── TamperedValue                 a signed cache value failed its check
    ├── QueryError (ValueError)           a malformed full-text search query
    ├── SettingsMismatch (ValueError)     an index opened with other settings
    ├── UnindexedField (InvalidValue)     a model query filters on a field with no index
    ├── DuplicateKey (ValueError)         Model.create() with a primary key in use
    ├── ModelNotBound (RuntimeError)      a model class with no __database__
    └── WriteConflict (RuntimeError)      a model row kept changing during a save
"""

from __future__ import annotations

from typing import Any

from redis._parsers.base import BaseParser as _RESP_PARSER
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

__all__ = [
    "CommandError",
    "CommandNameError",
    "CorruptDatabase",
    "DatabaseOpenError",
    "DuplicateKey",
    "EngineError",
    "InvalidCacheKey",
    "InvalidType",
    "InvalidValue",
    "LockNotHeld",
    "MissingKey",
    "ModelNotBound",
    "NotPending",
    "OutcomeUnknown",
    "QueryError",
    "RateLimitException",
    "SerializationError",
    "SettingsMismatch",
    "TamperedValue",
    "UnindexedField",
    "UnknownGroup",
    "UnknownScript",
    "UnsupportedOperation",
    "WalrusError",
    "WriteConflict",
    "WrongType",
    "command_error",
]


class WalrusError(Exception):
    """Base class of every walrus exception."""


class InvalidValue(WalrusError, ValueError):
    """An argument's value is not acceptable (a negative ttl, an unknown mode ...)."""


class InvalidType(WalrusError, TypeError):
    """An argument's type cannot be used (a list where a value is stored ...)."""


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


class CorruptDatabase(DatabaseOpenError):
    """An embedded database file is damaged (truncated, torn) or not the engine's."""


class EngineError(WalrusError, RedisConnectionError):
    """An embedded engine was closed, or failed in a way that is not a reply."""


class OutcomeUnknown(WalrusError, RedisConnectionError):
    """The connection failed after a write was sent, before its reply came.

    The server may or may not have run it; walrus does not send it again
    (that could run it twice). ``command`` names what was sent.
    """

    def __init__(self, message: str, command: str = "") -> None:
        super().__init__(message)
        self.command = command


class CommandError(WalrusError, ResponseError):
    """The engine answered a command with an error reply."""


class WrongType(CommandError, TypeError, ValueError):
    """The key holds a value of another Redis type than the operation needs.

    A ``TypeError``, and a ``ValueError`` as walrus 0.9 raised for a consumer
    group on a key of another type.
    """

    def __init__(
        self, message: str, key: str | None = None, actual: str | None = None
    ) -> None:
        super().__init__(message)
        self.key = key
        self.actual = actual


class UnknownGroup(CommandError, LookupError):
    """A stream (or its key) has no consumer group by that name (NOGROUP)."""


class NotPending(WalrusError, LookupError):
    """Some ids given to ``ack()`` were not pending in the group.

    The others were acknowledged: ``acknowledged`` is their number and
    ``ids`` the ids that were given.
    """

    def __init__(self, message: str, acknowledged: int, ids: list[object]) -> None:
        super().__init__(message)
        self.acknowledged = acknowledged
        self.ids = ids

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class LockNotHeld(WalrusError, RuntimeError):
    """The lock is not held by this owner (never acquired, released or expired)."""


class RateLimitException(WalrusError, RuntimeError):
    """A call refused by ``RateLimit.rate_limited``: too many events."""


class InvalidCacheKey(InvalidType):
    """A cache key must be ``str`` or ``bytes``."""


class SerializationError(WalrusError, ValueError):
    """A value cannot be serialized for the cache, or a stored one read back."""


class TamperedValue(SerializationError):
    """A signed cache value does not carry a valid signature for the secret key."""


class QueryError(WalrusError, ValueError):
    """A search query is malformed; the message says at which column."""


class SettingsMismatch(WalrusError, ValueError):
    """A search index was opened with tokenizer settings other than its own."""


class UnindexedField(InvalidValue):
    """A model query filters on a field that has no index of the needed kind."""


class DuplicateKey(WalrusError, ValueError):
    """``Model.create()`` with a primary key another row already has."""


class ModelNotBound(WalrusError, RuntimeError):
    """A model class is used before its ``__database__`` is set."""


class WriteConflict(WalrusError, RuntimeError):
    """A model row kept changing under a save or delete; nothing was written."""


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
