"""When the server driver may send a command again after a connection failure.

redis-py sends a command again when the connection fails before its reply
(a timeout, a reset), by default up to ten times. For a write that reached
the server, that runs it twice: with ``socket_timeout=1`` and a server
stalled for 4 s, one ``INCR`` added 2 and one ``XADD`` added two entries.

``walrus.Database`` keeps redis-py's retry policy for what is safe and
refuses it for the rest:

* a command is sent again if it cannot change anything: commands the server
  flags ``readonly`` (GET, HGETALL, XRANGE, EVALSHA_RO ...) and a few others
  (:data:`ALSO_SAFE`: PING, TIME, SCRIPT LOAD, WATCH ...); a pipeline or
  transaction only if every command in it is;
* a failure while connecting, before any byte of the command was sent, is
  retried as redis-py does, whatever the command;
* any other command (every write, blocking pops, XREADGROUP, scripts, a
  MULTI/EXEC holding a write) whose connection fails after it was sent
  raises :class:`~walrus.exceptions.OutcomeUnknown` (a redis-py
  ``ConnectionError``): the connection is closed, nothing is sent again, and
  the caller decides, knowing the server may or may not have run it.

Error replies (``-LOADING`` included) are not connection failures: the
server answered, so nothing ran twice, and they are raised as before.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import redis.client
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError
from redis.retry import Retry

from walrus.drivers.command_table import COMMANDS
from walrus.exceptions import OutcomeUnknown

__all__ = [
    "ALSO_SAFE",
    "GuardedPipeline",
    "NoResendRetry",
    "RefusingUnknown",
    "ResendGuard",
    "guard_retries",
    "name_of",
    "no_resend",
    "refuses_unknown",
    "refusing_unknown",
    "resend_safe",
    "unknown_outcome",
]

T = TypeVar("T")

#: Commands without the ``readonly`` flag that are safe to send twice.
ALSO_SAFE = frozenset(
    {
        "PING",
        "ECHO",
        "TIME",
        "INFO",
        "SELECT",
        "WATCH",
        "UNWATCH",
        "SCRIPT EXISTS",
        "SCRIPT LOAD",
        "CONFIG GET",
        "CLIENT GETNAME",
        "CLIENT ID",
        "CLIENT INFO",
        "CLIENT SETNAME",
        "CLIENT SETINFO",
        "COMMAND",
        "COMMAND COUNT",
        "COMMAND DOCS",
        "COMMAND INFO",
        "COMMAND LIST",
    }
)
_CONTAINERS = frozenset(name.split(" ")[0] for name in COMMANDS if " " in name)
# Exactly these mean "the connection failed": their subclasses are replies
# (LOADING, NOAUTH ...) or happen before anything is sent.
_TRANSPORT_ERRORS = (RedisConnectionError, RedisTimeoutError)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def name_of(args: Sequence[Any]) -> str:
    """``args``' command in capitals, with its subcommand (``'SCRIPT LOAD'``)."""
    if not args:
        return ""
    name = _text(args[0]).upper()
    if name in _CONTAINERS and len(args) > 1:
        name = f"{name} {_text(args[1]).upper()}"
    return name


_SAFE = ALSO_SAFE | {
    name for name, entry in COMMANDS.items() if "readonly" in entry[1].split()
}
# A command name as redis-py sends it ("GET") -> whether it may be sent twice;
# names with subcommands ("SCRIPT") are not here: name_of() reads the second word.
_SAFE_BY_NAME = {
    name: name in _SAFE
    for name in COMMANDS
    if " " not in name and name not in _CONTAINERS
}


def resend_safe(args: Sequence[Any]) -> bool:
    """Whether sending the command ``args`` twice has the effect of once."""
    if not args:
        return False
    safe = _SAFE_BY_NAME.get(args[0])  # redis-py's own calls: "GET", "SET" ...
    if safe is None:  # "SCRIPT LOAD", b"get", "script", "load" ...
        return name_of(args) in _SAFE
    return safe


def _label(commands: Iterable[Sequence[Any]], transaction: bool) -> str:
    names = [name_of(args) for args in commands]
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    kind = "MULTI/EXEC" if transaction else "pipeline"
    return f"{kind} of {len(names)} commands ({shown})"


def send_once(
    connection: Any, what: str | Callable[[], str], send: Callable[[], T]
) -> T:
    """Run ``send`` (one request on ``connection``) so that it is never resent.

    The connection is opened first, so a failure to connect (nothing sent)
    stays retryable; a transport failure after that closes the connection
    and raises :class:`OutcomeUnknown` (naming the request ``what``, or what
    ``what()`` says: only built after a failure), which
    :class:`NoResendRetry` does not retry.
    """
    _connect(connection)
    try:
        return send()
    except _TRANSPORT_ERRORS as exc:
        if type(exc) not in _TRANSPORT_ERRORS:
            raise
        raise _outcome_unknown(connection, what, exc) from exc


def _connect(connection: Any) -> None:
    """Open ``connection`` unless it is open (redis-py's ``connect()`` does
    nothing then, through its retry policy: skipped on the hot path)."""
    if getattr(connection, "_sock", None) is None:
        connection.connect()


def _outcome_unknown(
    connection: Any, what: str | Callable[[], str], exc: Exception
) -> OutcomeUnknown:
    """Close ``connection``, whose request ``what`` failed after it was sent."""
    connection.disconnect()
    return unknown_outcome(what, exc)


def unknown_outcome(what: str | Callable[[], str], exc: Exception) -> OutcomeUnknown:
    """The error for the request ``what`` (or what ``what()`` says), whose
    connection failed with ``exc`` after it was sent."""
    if not isinstance(what, str):
        what = what()
    return OutcomeUnknown(
        f"{what}: the connection failed after it was sent ({exc}); the "
        "server may or may not have run it, and walrus does not send a "
        "write twice (see docs/security.md)",
        what,
    )


class ResendGuard:
    """Mixed into a redis-py client: commands not :func:`resend_safe` are
    sent once (see the module)."""

    def _send_command_parse_response(
        self, conn: Any, command_name: str, *args: Any, **options: Any
    ) -> Any:
        # send_once's guard, inline: this is every command's path
        safe = _SAFE_BY_NAME.get(args[0]) if args else None
        listed = safe is not None
        if not listed:
            safe = resend_safe(args)
        if not safe:
            _connect(conn)
        try:
            if listed:  # a plain name, never HIMPORT SET: redis-py's two steps
                conn.send_command(*args, **options)
                return self.parse_response(conn, command_name, **options)  # type: ignore[attr-defined]
            send: Any = super()._send_command_parse_response  # type: ignore[misc]
            return send(conn, command_name, *args, **options)
        except _TRANSPORT_ERRORS as exc:
            if safe or type(exc) not in _TRANSPORT_ERRORS:
                raise
            raise _outcome_unknown(conn, lambda: name_of(args), exc) from exc


class GuardedPipeline(ResendGuard, redis.client.Pipeline):
    """redis-py's pipeline, sent again after a failure only when every
    command in it is :func:`resend_safe`."""

    def _disconnect_reset_raise_on_watching(
        self, conn: Any, error: Exception, *rest: Any
    ) -> None:
        try:
            super()._disconnect_reset_raise_on_watching(conn, error, *rest)
        except WatchError:
            unknown_not_watch(error)
            raise

    def _execute_transaction(self, connection: Any, commands: Any, *rest: Any) -> Any:
        run: Any = super()._execute_transaction
        return _send_commands(
            connection, commands, True, lambda: run(connection, commands, *rest)
        )

    def _execute_pipeline(self, connection: Any, commands: Any, *rest: Any) -> Any:
        run: Any = super()._execute_pipeline
        return _send_commands(
            connection, commands, False, lambda: run(connection, commands, *rest)
        )


def unknown_not_watch(error: BaseException) -> None:
    """Raise ``error`` again (with its cause) if it is OutcomeUnknown. For
    redis-py's failure callback of a command a pipeline sends at once after
    WATCH, which raises WatchError (retry the transaction): a retried
    transaction would send a write that may have run again."""
    if isinstance(error, OutcomeUnknown):
        raise error from error.__cause__


def _send_commands(
    connection: Any, commands: Any, transaction: bool, send: Callable[[], T]
) -> T:
    """A pipeline's request: resent only if every command in it may be."""
    argv = [args for args, _ in commands]
    if all(resend_safe(args) for args in argv):
        return send()
    return send_once(connection, lambda: _label(argv, transaction), send)


class DelegatingRetry:
    """A retry policy around ``inner``, a redis-py one: all but
    ``call_with_retry`` (the subclass's) is ``inner``'s. Mixed before redis-py's
    ``Retry`` (sync here, ``redis.asyncio``'s in walrus.asyncio)."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner._backoff, inner.get_retries(), inner._supported_errors)  # type: ignore[call-arg]
        self.inner = inner

    def get_retries(self) -> int:
        return int(self.inner.get_retries())

    def update_retries(self, value: int) -> None:
        self.inner.update_retries(value)

    def update_supported_errors(
        self, specified_errors: Iterable[type[Exception]]
    ) -> None:
        self.inner.update_supported_errors(specified_errors)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and self.inner == other.inner

    def __hash__(self) -> int:
        return hash((type(self), self.inner))


class NoResendRetry(DelegatingRetry, Retry):
    """A redis-py retry policy (``inner``) that never retries
    :class:`OutcomeUnknown`; everything else is ``inner``'s."""

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        retryable = refusing_unknown(is_retryable)
        result: T = self.inner.call_with_retry(do, fail, retryable, with_failure_count)
        return result


class RefusingUnknown:
    """An ``is_retryable`` check: never :class:`OutcomeUnknown`, and what
    ``check`` says of the rest (everything when ``check`` is None)."""

    __slots__ = ("check",)

    def __init__(self, check: Callable[[Exception], bool] | None) -> None:
        self.check = check

    def __call__(self, error: Exception) -> bool:
        if isinstance(error, OutcomeUnknown):
            return False
        return self.check is None or self.check(error)


_not_unknown = RefusingUnknown(None)


def refusing_unknown(
    is_retryable: Callable[[Exception], bool] | None,
) -> Callable[[Exception], bool]:
    """``is_retryable`` (everything when None), but never :class:`OutcomeUnknown`."""
    return _not_unknown if is_retryable is None else RefusingUnknown(is_retryable)


def no_resend(retry: Any, stock: type[Any], wrapper: type[DelegatingRetry]) -> Any:
    """``retry``, refusing :class:`OutcomeUnknown`.

    redis-py's own policy class ``stock`` (redis-py 8.2 and later) gets a copy
    whose ``is_retryable`` check refuses it: nothing of walrus's on the way
    of every command. Another policy (the user's own class, or redis-py 8.1's,
    which has no such check) is wrapped in ``wrapper``.
    """
    if type(retry) is stock and hasattr(retry, "is_retryable"):
        guarded = copy.copy(retry)
        guarded.is_retryable = RefusingUnknown(retry.is_retryable)
        return guarded
    return wrapper(retry)


def refuses_unknown(retry: Any) -> bool:
    """Whether ``retry`` never retries :class:`OutcomeUnknown` (:func:`no_resend`
    made it)."""
    return isinstance(retry, DelegatingRetry) or isinstance(
        getattr(retry, "is_retryable", None), RefusingUnknown
    )


def guard_retries(
    client: Any,
    stock: type[Any] = Retry,
    wrapper: type[DelegatingRetry] = NoResendRetry,
) -> None:
    """Make the retry policy of ``client``'s connections refuse
    :class:`OutcomeUnknown` (:func:`no_resend`; ``stock`` and ``wrapper`` are
    redis.asyncio's and walrus.asyncio's for an async client). A client made
    from a URL has no policy of its own: its connections' default (one retry
    with ``retry_on_timeout`` or ``retry_on_error``, else none) is guarded."""
    retry = client.get_retry()
    if retry is None:
        kwargs = client.connection_pool.connection_kwargs
        again = kwargs.get("retry_on_error") or kwargs.get("retry_on_timeout")
        retry = stock(NoBackoff(), 1 if again else 0)
    if not refuses_unknown(retry):
        client.set_retry(no_resend(retry, stock, wrapper))
