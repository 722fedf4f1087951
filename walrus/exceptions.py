"""The exceptions walrus raises.

Every walrus exception derives from :class:`WalrusError`; where a builtin or a
redis-py exception fits, it is a second parent, so existing ``except`` clauses
keep working. An error reply to a command is the same class on every backend
(a server's through walrus's reply parser, an embedded engine's through
:func:`command_error`): a walrus class that is also the redis-py class
redis-py would raise (``docs/database.md`` has the table)::

    WalrusError
    ├── InvalidValue (ValueError)         an argument walrus cannot accept
    ├── InvalidType (TypeError)           an argument of a type walrus cannot use
    ├── UnsupportedOperation (NotImplementedError)  a backend cannot do this
    ├── UnknownScript (KeyError)          no named operation by that name
    ├── CommandNameError (ValueError)     a custom command's name is taken
    ├── MissingKey (KeyError)             get_key() on a key that does not exist
    ├── DatabaseOpenError (OSError)       an embedded database cannot be opened
    │   └── CorruptDatabase               its file is damaged or not the engine's
    ├── EngineNotInstalled (ImportError)  an embedded engine's package is missing
    ├── EngineError (redis ConnectionError)  an embedded engine is closed or broke
    ├── OutcomeUnknown (redis ConnectionError)  a write's reply was lost: not resent
    ├── ServerRefused (redis ConnectionError)   a server refused the connection
    │   ├── TooManyClients (redis MaxClientsReachedError)  ERR max number of clients
    │   ├── AuthenticationFailed (redis AuthenticationError)  WRONGPASS, NOAUTH ...
    │   ├── ExternalAuthFailed (redis ExternalAuthProviderError)  ERR ... LDAP ...
    │   └── DatasetLoading (redis BusyLoadingError)  LOADING
    ├── CommandError (redis ResponseError)   the engine refused a command (ERR ...)
    │   ├── WrongType (TypeError, ValueError)  WRONGTYPE: a key of another type
    │   ├── UnknownGroup (LookupError)    NOGROUP: no consumer group by that name
    │   ├── ScriptNotFound (redis NoScriptError)       NOSCRIPT
    │   ├── ScriptBusy                    BUSY: a script or function is running
    │   ├── TransactionDiscarded (redis ExecAbortError)  EXECABORT
    │   ├── ReadOnlyDatabase (redis ReadOnlyError)     READONLY
    │   ├── PermissionDenied (redis NoPermissionError) NOPERM
    │   ├── OutOfMemory (redis OutOfMemoryError)       OOM
    │   ├── AuthenticationArity (redis AuthenticationWrongNumberOfArgsError)
    │   ├── ModuleFailed (redis ModuleError)           ERR (module load/unload)
    │   ├── UnknownFieldset (redis NoSuchFieldsetError)  ERR no such fieldset
    │   └── cluster replies: Moved (redis MovedError), Ask (AskError), TryAgain
    │       (TryAgainError), CrossSlot (ClusterCrossSlotError), ClusterDown
    │       (ClusterDownError) and its MasterDown (MasterDownError)
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

from redis import exceptions as redis_errors
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

__all__ = [
    "REPLY_ERRORS",
    "Ask",
    "AuthenticationArity",
    "AuthenticationFailed",
    "ClusterDown",
    "CommandError",
    "CommandNameError",
    "CorruptDatabase",
    "CrossSlot",
    "DatabaseOpenError",
    "DatasetLoading",
    "DuplicateKey",
    "EngineError",
    "EngineNotInstalled",
    "ExternalAuthFailed",
    "InvalidCacheKey",
    "InvalidType",
    "InvalidValue",
    "LockNotHeld",
    "MasterDown",
    "MissingKey",
    "ModelNotBound",
    "ModuleFailed",
    "Moved",
    "NotPending",
    "OutOfMemory",
    "OutcomeUnknown",
    "PermissionDenied",
    "QueryError",
    "RateLimitException",
    "ReadOnlyDatabase",
    "ScriptBusy",
    "ScriptNotFound",
    "SerializationError",
    "ServerRefused",
    "SettingsMismatch",
    "TamperedValue",
    "TooManyClients",
    "TransactionDiscarded",
    "TryAgain",
    "UnindexedField",
    "UnknownFieldset",
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


def _unquoted(error: BaseException) -> str:
    """The message as it was given (``KeyError``'s own ``str`` quotes it)."""
    return str(error.args[0]) if error.args else ""


class UnknownScript(WalrusError, KeyError):
    """No named atomic operation (or script file) has this name."""

    __str__ = _unquoted


class CommandNameError(WalrusError, ValueError):
    """A custom command's name is already a method or command of the database."""


class MissingKey(WalrusError, KeyError):
    """The key does not exist."""

    __str__ = _unquoted


class DatabaseOpenError(WalrusError, OSError):
    """An embedded database file cannot be opened or created."""


class CorruptDatabase(DatabaseOpenError):
    """An embedded database file is damaged (truncated, torn) or not the engine's."""


class EngineNotInstalled(WalrusError, ImportError):
    """An embedded engine's package is not installed; the message says how."""


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


class ServerRefused(WalrusError, RedisConnectionError):
    """A server refused the connection with an error reply (``ERR max number of
    clients reached``); redis-py treats these replies as connection failures."""


# redis-py 8.2 added MaxClientsReachedError (a ConnectionError); 8.1 has none.
_MAX_CLIENTS: type[RedisConnectionError] = getattr(
    redis_errors, "MaxClientsReachedError", RedisConnectionError
)


class TooManyClients(ServerRefused, _MAX_CLIENTS):  # type: ignore[misc,valid-type]
    """``ERR max number of clients reached``: the server has maxclients clients."""


class AuthenticationFailed(ServerRefused, redis_errors.AuthenticationError):
    """WRONGPASS, NOAUTH, or AUTH refused (``invalid password``, no password set)."""


class ExternalAuthFailed(ServerRefused, redis_errors.ExternalAuthProviderError):
    """The server's external authentication provider failed (LDAP)."""


class DatasetLoading(ServerRefused, redis_errors.BusyLoadingError):
    """LOADING: the server is still loading its dataset into memory."""


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


class ScriptNotFound(CommandError, redis_errors.NoScriptError):
    """NOSCRIPT: no script with that SHA1 is loaded (EVALSHA)."""


class ScriptBusy(CommandError):
    """BUSY: a script or function is running; only SCRIPT/FUNCTION KILL answer."""


class TransactionDiscarded(CommandError, redis_errors.ExecAbortError):
    """EXECABORT: a command was refused while queued, so EXEC ran nothing."""


class ReadOnlyDatabase(CommandError, redis_errors.ReadOnlyError):
    """READONLY: a write to a replica or a database opened read-only."""


class PermissionDenied(CommandError, redis_errors.NoPermissionError):
    """NOPERM: the user's ACL does not allow this command or key."""


class OutOfMemory(CommandError, redis_errors.OutOfMemoryError):
    """OOM: the server is at ``maxmemory`` and refuses writes."""


class AuthenticationArity(
    CommandError, redis_errors.AuthenticationWrongNumberOfArgsError
):
    """AUTH with a user name on a server that only takes a password (< 6.0)."""


class ModuleFailed(CommandError, redis_errors.ModuleError):
    """A server module could not be loaded or unloaded."""


class UnknownFieldset(CommandError, redis_errors.NoSuchFieldsetError):
    """HIMPORT on a fieldset this connection has not prepared."""


class Moved(CommandError, redis_errors.MovedError):
    """MOVED: a cluster node says the key's slot lives on another node."""


class Ask(CommandError, redis_errors.AskError):
    """ASK: a cluster slot is migrating; ask the named node this once."""


class TryAgain(CommandError, redis_errors.TryAgainError):
    """TRYAGAIN: a multi-key command during a cluster slot migration."""


class CrossSlot(CommandError, redis_errors.ClusterCrossSlotError):
    """CROSSSLOT: keys of one command in different cluster slots."""


class ClusterDown(CommandError, redis_errors.ClusterDownError):
    """CLUSTERDOWN: the cluster cannot serve the slot."""


class MasterDown(ClusterDown, redis_errors.MasterDownError):
    """MASTERDOWN: a replica lost its primary and does not serve stale data."""


class NotPending(WalrusError, LookupError):
    """Some ids given to ``ack()`` were not pending in the group.

    The others were acknowledged: ``acknowledged`` is their number and
    ``ids`` the ids that were given.
    """

    def __init__(self, message: str, acknowledged: int, ids: list[object]) -> None:
        super().__init__(message)
        self.acknowledged = acknowledged
        self.ids = ids


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


# Error codes redis-py's parser knows, with walrus's class for each (for ERR, by
# the rest of the message). Like redis-py, the message loses these codes.
REPLY_ERRORS: dict[str, type[RedisError] | dict[str, type[RedisError]]] = {
    "ERR": {
        "max number of clients reached": TooManyClients,
        "invalid password": AuthenticationFailed,
        "wrong number of arguments for 'auth' command": AuthenticationArity,
        "wrong number of arguments for 'AUTH' command": AuthenticationArity,
        "AUTH <password> called without any password configured for the default "
        "user. Are you sure your configuration is correct?": AuthenticationFailed,
        "Client sent AUTH, but no password is set": AuthenticationFailed,
        "problem with LDAP service": ExternalAuthFailed,
        "no such fieldset": UnknownFieldset,
        "Error loading the extension. Please check the server logs.": ModuleFailed,
        "Error unloading module: no such module with that name": ModuleFailed,
        "Error unloading module: operation not possible.": ModuleFailed,
        "Error unloading module: the module exports one or more module-side "
        "data types, can't unload": ModuleFailed,
    },
    "OOM": OutOfMemory,
    "WRONGPASS": AuthenticationFailed,
    "EXECABORT": TransactionDiscarded,
    "LOADING": DatasetLoading,
    "NOSCRIPT": ScriptNotFound,
    "READONLY": ReadOnlyDatabase,
    "NOAUTH": AuthenticationFailed,
    "NOPERM": PermissionDenied,
    "ASK": Ask,
    "TRYAGAIN": TryAgain,
    "MOVED": Moved,
    "CLUSTERDOWN": ClusterDown,
    "CROSSSLOT": CrossSlot,
    "MASTERDOWN": MasterDown,
}

# Codes redis-py leaves to ResponseError, message and all.
_KEPT_CODES: dict[str, type[CommandError]] = {
    "NOGROUP": UnknownGroup,
    "BUSY": ScriptBusy,
}


def command_error(message: str, key: str | None = None) -> RedisError:
    """The exception for an error reply, on every backend.

    The class comes from the reply's code (its first word): see the module
    docstring; an unknown code gives :class:`CommandError`. The message is
    what redis-py would give: without the code for the codes redis-py knows
    (``ERR``, ``NOSCRIPT`` ...), whole for the others (``WRONGTYPE ...``).
    ``key`` (embedded engines know it) is added to a WRONGTYPE message.
    """
    code, _, rest = message.partition(" ")
    status = code if code.isupper() else None
    known = REPLY_ERRORS.get(code)
    if known is not None:
        if isinstance(known, dict):
            known = known.get(rest, CommandError)
        return known(rest, status_code=status)
    if code == "WRONGTYPE":
        error = WrongType(message if key is None else f"{message} (key {key!r})", key)
        error.status_code = status
        return error
    return _KEPT_CODES.get(code, CommandError)(message, status_code=status)
