"""The server driver's call path: the shortcuts taken for speed keep the rules.

Every command goes through the resend guard and many through named
operations; these paths skip redis-py layers for speed (issue 20). What must
still hold: the resend rule classifies a command the same whatever the form
of its name, a named operation is one EVALSHA and reloads after NOSCRIPT in
three round trips, and a request lost in flight is named in its
OutcomeUnknown (the name is built only then).
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from faults import LOST_WRITES, FaultyServer
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from support import round_trips, text

import walrus
from walrus import OutcomeUnknown
from walrus.drivers.command_table import COMMANDS
from walrus.drivers.server.resend import resend_safe
from walrus.testing import count_round_trips


@pytest.fixture
def server(servers: Any) -> dict[str, Any]:
    return dict(servers["valkey"].connection_kwargs)


def test_the_resend_rule_does_not_depend_on_how_a_name_is_written() -> None:
    # "GET" takes the table of first words; b"GET", "get" and the split form
    # of a subcommand take the general path: the two must agree
    for name in COMMANDS:
        words = name.split(" ")
        forms = [
            (name, "x"),
            (*words, "x"),
            (*(w.lower() for w in words), "x"),
            (*(w.encode() for w in words), "x"),
        ]
        verdicts = {resend_safe(args) for args in forms}
        assert len(verdicts) == 1, (name, [resend_safe(args) for args in forms])
    assert resend_safe(("GET", "k")) and not resend_safe(("SET", "k", "v"))
    assert resend_safe(("SCRIPT LOAD", "return 1"))
    assert not resend_safe(("SCRIPT", "FLUSH"))


def test_a_named_operation_is_one_evalsha_and_reloads_in_three(
    server: dict[str, Any],
) -> None:
    db = walrus.Database(**server)
    try:
        db.set("k", "a")
        assert db.cas("k", "a", "b") is True  # loads the script
        with round_trips(db) as counter:
            assert db.cas("k", "b", "c") is True
        assert (counter.round_trips, counter.commands) == (1, 1)
        db.script_flush()
        with round_trips(db) as counter:  # NOSCRIPT, SCRIPT LOAD, EVALSHA
            assert db.cas("k", "c", "d") is True
        assert (counter.round_trips, counter.commands) == (3, 3)
        assert db.get("k") == b"d"  # it ran once
    finally:
        db.flushdb()
        db.close()


def test_a_lost_transaction_is_named_in_its_error(faulty: FaultyServer) -> None:
    db = faulty.open()
    db.set("n", 0)
    pipe = db.pipeline()
    pipe.incr("n")
    pipe.set("m", 1)
    with faulty.stalled(1.5), pytest.raises(OutcomeUnknown) as info:
        pipe.execute()
    assert "MULTI/EXEC of 2 commands (INCRBY, SET)" in str(info.value)
    assert info.value.command == "MULTI/EXEC of 2 commands (INCRBY, SET)"
    assert db.get("n") == b"1"  # run once, not sent again


def test_a_lost_write_is_named_in_its_error(faulty: FaultyServer) -> None:
    db = faulty.open()
    db.set("n", 0)
    with faulty.stalled(1.5), pytest.raises(OutcomeUnknown) as info:
        db.incr("n")
    assert str(info.value).startswith("INCRBY: the connection failed")
    assert info.value.command == "INCRBY"
    assert db.get("n") == b"1"  # run once, not sent again


@pytest.mark.parametrize("spelling", list(LOST_WRITES))
def test_a_lost_write_is_not_sent_again_however_it_is_spelled(
    faulty: FaultyServer, spelling: str
) -> None:
    args, name = LOST_WRITES[spelling]
    db = faulty.open()
    db.set("n", 0)
    with faulty.stalled(1.5), pytest.raises(OutcomeUnknown) as info:
        db.execute_command(*args)
    assert info.value.command == name
    assert db.get("n") == (b"1" if name == "INCRBY" else b"0")  # run once
    assert db.xinfo_groups("s") if name != "INCRBY" else True  # ran, once


def test_a_write_to_a_server_that_is_down_is_retried(faulty: FaultyServer) -> None:
    """Nothing was sent while connecting: redis-py's retry applies."""
    db = faulty.open(retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 30))
    faulty.kill()
    faulty.later(0.3, faulty.restart)
    assert db.incr("n") == 1  # sent once the server was up, once
    assert db.incr("n") == 2
    db.close()


def test_tx_methods_follow_the_blocks_pipeline(db: Any) -> None:
    # tx.set is looked up once per pipeline: after commit() and clear() it
    # queues on the block's new pipeline, never on the one sent or discarded
    with db.atomic() as tx:
        tx.set("a", 1)
        first = tx.pipe
        assert tx.commit() == [True]
        assert tx.pipe is not first
        tx.set("b", 2)
        tx.clear()
        tx.set("c", 3)
    assert db.atomic_results() == [True]
    assert [db.get(k) for k in ("a", "b", "c")] == [text(db, "1"), None, text(db, "3")]
    with db.atomic() as tx:  # a new block: a new pipeline
        tx.incr("a")
    assert db.atomic_results() == [2]


# -- redis-py's per-command extras -------------------------------------------------
@pytest.fixture
def recorder() -> Any:
    from walrus.drivers.server import database

    if database._recorder is None:
        pytest.skip("a redis-py without 8.2's metrics recorder: its own path")
    return database._recorder


@pytest.fixture
def took_redis_py_path(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the commands sent by redis-py's own execute_command."""
    full = redis.Redis.execute_command
    took: list[str] = []

    def counted(client: Any, *args: Any, **options: Any) -> Any:
        took.append(args[0])
        return full(client, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    return took


def test_redis_metrics_are_recorded_while_they_are_on(
    server: dict[str, Any],
    recorder: Any,
    took_redis_py_path: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While redis-py records metrics every command takes redis-py's own
    ``execute_command`` and is recorded; once its recorder has found none to
    record, walrus's shorter path, which records nothing and sends the same
    commands."""
    recorded: list[str] = []

    class Collector:
        def record_operation_duration(self, command_name: str, **rest: Any) -> None:
            recorded.append(command_name)

    # not looked for yet: redis-py looks on the first command, and finds one
    monkeypatch.setattr(recorder, "_metrics_collector", None)
    monkeypatch.setattr(recorder, "_collector_resolved", False)
    monkeypatch.setattr(recorder, "_get_or_create_collector", Collector)
    db = walrus.Database(**server)
    db.set("metered", "1")
    monkeypatch.setattr(recorder, "_metrics_collector", Collector())
    monkeypatch.setattr(recorder, "_collector_resolved", True)  # found one
    assert db.get("metered") == b"1"
    assert recorded == took_redis_py_path == ["SET", "GET"]
    monkeypatch.setattr(recorder, "_metrics_collector", None)  # found none
    with count_round_trips() as sent:
        assert db.incr("metered") == 2
    assert (sent.commands, sent.round_trips) == (1, 1)
    assert recorded == took_redis_py_path == ["SET", "GET"]  # the short path
    db.close()


def test_a_single_connection_client_takes_redis_py_path(
    server: dict[str, Any], recorder: Any, took_redis_py_path: list[str]
) -> None:
    """redis-py's lock around its one connection is kept."""
    db = walrus.Database(single_connection_client=True, **server)
    db.set("one", "1")
    assert recorder._collector_resolved and recorder._metrics_collector is None
    assert db.incr("one") == 2
    assert took_redis_py_path == ["SET", "INCRBY"]
    db.close()


def test_a_retried_read_is_logged_as_redis_py_logs_it(
    faulty: FaultyServer, recorder: Any, caplog: pytest.LogCaptureFixture
) -> None:
    db = faulty.open()
    db.set("k", "v")
    assert recorder._collector_resolved  # the short path from here
    with caplog.at_level("DEBUG", "redis.client"), faulty.stalled(1.0):
        assert db.get("k") == b"v"  # retried
    assert any("for command GET" in record.getMessage() for record in caplog.records), [
        record.getMessage() for record in caplog.records
    ]
    db.close()
