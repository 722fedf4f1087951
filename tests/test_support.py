"""The request-batch counter used for round-trip budgets counts what is sent."""

from __future__ import annotations

from typing import Any

import pytest
from support import round_trips


@pytest.fixture
def server_db(redis_db: Any) -> Any:
    return redis_db


def test_one_command_is_one_batch(server_db: Any) -> None:
    with round_trips(server_db) as counter:
        server_db.set("k", "v")
    assert (counter.round_trips, counter.commands) == (1, 1)


def test_a_pipeline_is_one_batch_of_its_commands(server_db: Any) -> None:
    with round_trips(server_db) as counter:
        server_db.pipeline(transaction=False).set("a", 1).set("b", 2).get("a").execute()
    assert (counter.round_trips, counter.commands) == (1, 3)


def test_a_transaction_counts_multi_and_exec(server_db: Any) -> None:
    with round_trips(server_db) as counter:
        server_db.pipeline().set("a", 1).incr("a").execute()
    assert (counter.round_trips, counter.commands) == (1, 4)


def test_separate_commands_are_separate_batches(server_db: Any) -> None:
    with round_trips(server_db) as counter:
        for i in range(5):
            server_db.get(f"k{i}")
    assert (counter.round_trips, counter.commands) == (5, 5)


def test_nothing_sent_outside_the_block(server_db: Any) -> None:
    with round_trips(server_db) as counter:
        pass
    server_db.get("k")
    assert (counter.round_trips, counter.commands) == (0, 0)
