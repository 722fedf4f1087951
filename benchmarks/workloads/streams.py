"""Workloads for streams and consumer groups against the plain commands.

``Stream.add`` is timed against a bare ``XADD`` (both trimmed to about 1,000
messages), ``Stream.range`` against ``XRANGE ... COUNT 10``, and a consumer
group's add + read + ack cycle against the same three commands sent by hand.
The embedded engines' plain clients have no stream commands (and stock
hirlite crashes on the error reply an unknown command gets), so there the
plain side is not run: walrus only.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import Operation, Workload, is_server_client, plain_command

STREAM, GROUP_STREAM, GROUP = "bench:stream", "bench:group-stream", "bench:group"


def _server_command(client: Any) -> Any:
    """The plain command function of a server client; refuses the others."""
    if not is_server_client(client):
        raise NotImplementedError("no stream commands on this plain client")
    return plain_command(client)


def _setup(db: Any) -> None:
    stream = db.Stream(STREAM)
    for i in range(100):
        stream.add({"i": str(i)})
    db.consumer_group(GROUP, GROUP_STREAM).create()


def _add(db: Any) -> Operation:
    stream = db.Stream(STREAM)
    return lambda: stream.add({"a": "1"}, maxlen=1000)


def _plain_add(client: Any) -> Operation:
    command = _server_command(client)
    return lambda: command("XADD", STREAM, "MAXLEN", "~", "1000", "*", "a", "1")


def _range(db: Any) -> Operation:
    stream = db.Stream(STREAM)
    return lambda: stream.range(count=10)


def _plain_range(client: Any) -> Operation:
    command = _server_command(client)
    return lambda: command("XRANGE", STREAM, "-", "+", "COUNT", "10")


def _group_cycle(db: Any) -> Operation:
    stream = db.consumer_group(GROUP, GROUP_STREAM).streams[GROUP_STREAM]

    def cycle() -> None:
        stream.add({"job": "1"}, maxlen=1000)
        [(message_id, _)] = stream.read(count=1)
        stream.ack(message_id)

    return cycle


def _plain_group_cycle(client: Any) -> Operation:
    command = _server_command(client)

    def cycle() -> None:
        command("XADD", GROUP_STREAM, "MAXLEN", "~", "1000", "*", "job", "1")
        reply = command(
            "XREADGROUP",
            "GROUP",
            GROUP,
            "c1",
            "COUNT",
            "1",
            "STREAMS",
            GROUP_STREAM,
            ">",
        )
        [[_, [[message_id, _]]]] = reply
        command("XACK", GROUP_STREAM, GROUP, message_id)

    return cycle


WORKLOADS = [
    Workload("stream add", _setup, _add, _plain_add),
    Workload("stream range", _setup, _range, _plain_range),
    Workload("group add+read+ack", _setup, _group_cycle, _plain_group_cycle),
]
