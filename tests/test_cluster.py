"""walrus.ClusterDatabase on a real 3+3 Valkey cluster, and the test cluster itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cluster import CLUSTER, ClusterProcess, reap_orphans
from redis.cluster import ClusterNode, RedisCluster

import walrus
from walrus.exceptions import (
    CommandError,
    CrossSlot,
    InvalidType,
    InvalidValue,
    OutcomeUnknown,
    ScriptNotFound,
    UnsupportedOperation,
    WrongType,
)
from walrus.testing import count_round_trips

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[ClusterProcess]:
    """The session's cluster when the cluster backend runs, else one for this module."""
    if CLUSTER:
        yield request.getfixturevalue("servers")["cluster"]
        return
    started = ClusterProcess().start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(params=[False, True], ids=["bytes", "decoded"])
def cdb(cluster: ClusterProcess, request: pytest.FixtureRequest) -> Iterator[Any]:
    db = walrus.ClusterDatabase(
        startup_nodes=cluster.startup_nodes, decode_responses=request.param
    )
    db.flushdb()
    try:
        yield db
    finally:
        db.flushdb()
        db.close()


def keys_on_every_primary(db: Any) -> list[str]:
    """One key owned by each primary."""
    found: dict[str, str] = {}
    n = 0
    while len(found) < 3:
        key = f"key-{n}"
        found.setdefault(db.get_node_from_key(key).name, key)
        n += 1
    return list(found.values())


def _pids_alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive.append(pid)
    return alive


# -- the test cluster ---------------------------------------------------------------
def test_cluster_starts_fails_over_and_stops_everything() -> None:
    cluster = ClusterProcess().start()
    try:
        assert cluster.startup_seconds < 30
        directory = cluster.directory
        assert directory is not None
        pids = [n.pid for n in cluster.nodes if n.pid is not None]
        assert len(pids) == 6 and len(_pids_alive(pids)) == 6
        recorded = json.loads((directory / "servers.json").read_text())
        assert sorted(e["pid"] for e in recorded) == sorted(pids)
        db = walrus.ClusterDatabase(startup_nodes=cluster.startup_nodes)
        assert len(db.get_primaries()) == 3 and len(db.get_replicas()) == 3
        key = keys_on_every_primary(db)[0]
        db.set(key, "before")
        owner_node = db.get_node_from_key(key)
        # replication is asynchronous: wait until the replica has the write
        assert db.execute_command("WAIT", 1, 5000, target_nodes=owner_node) == 1
        owner = owner_node.port
        index = [n.port for n in cluster.primary_nodes()].index(owner)
        promoted = cluster.fail_primary(index)
        assert promoted.port != owner and promoted.primary is None
        assert db.get(key) == b"before"  # the replica had it
        db.set(key, "after")
        assert db.get_node_from_key(key).port == promoted.port
        assert db.get(key) == b"after"
        db.close()
    finally:
        cluster.stop()
    assert _pids_alive(pids) == []
    assert not directory.exists()
    cluster.stop()  # again: nothing left to do


def test_servers_of_a_killed_test_process_are_reaped(tmp_path: Path) -> None:
    child = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(TESTS)!r})
        from cluster import ClusterProcess
        cluster = ClusterProcess(primaries=3, replicas=0).start()
        print(cluster.directory, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == -9, result.stderr
    directory = Path(result.stdout.strip())
    pids = [e["pid"] for e in json.loads((directory / "servers.json").read_text())]
    assert len(_pids_alive(pids)) == 3  # left behind by the killed process
    assert reap_orphans() >= 3
    deadline = time.monotonic() + 10
    while _pids_alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _pids_alive(pids) == []
    assert not directory.exists()


# -- construction ---------------------------------------------------------------------
def test_ways_to_open_a_cluster_database(cluster: ClusterProcess) -> None:
    node = cluster.nodes[0]
    for db in (
        walrus.ClusterDatabase(startup_nodes=cluster.startup_nodes),
        walrus.ClusterDatabase(startup_nodes=[f"127.0.0.1:{node.port}"]),
        walrus.ClusterDatabase(startup_nodes=[("127.0.0.1", node.port)]),
        walrus.ClusterDatabase(
            startup_nodes=[{"host": "127.0.0.1", "port": node.port}]
        ),
        walrus.ClusterDatabase(host="127.0.0.1", port=node.port),
        walrus.ClusterDatabase(**cluster.connection_kwargs),
        walrus.ClusterDatabase.from_url(cluster.url),
        walrus.ClusterDatabase.from_url(cluster.url + "/0"),
    ):
        assert isinstance(db, RedisCluster) and isinstance(db, walrus.Driver)
        assert db.keyspace.cluster and db.backend_name == "cluster"
        assert db.keyspace.group("m").key("row") == "{m}:row"
        db.set("{t}open", "1")
        assert db.get("{t}open") == b"1"
        assert len(db.get_primaries()) == 3
        db.delete("{t}open")
        db.close()
    decoded = walrus.ClusterDatabase.from_url(cluster.url, decode_responses=True)
    decoded.set("{t}open", "é")
    assert decoded.get("{t}open") == "é"
    decoded.delete("{t}open")
    decoded.close()
    assert walrus.ClusterDatabase is walrus.drivers.server.ClusterDatabase


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, InvalidValue),
        ({"startup_nodes": ["no-port"]}, InvalidValue),
        ({"startup_nodes": [3]}, InvalidType),
        ({"host": "127.0.0.1", "db": 1}, InvalidValue),
        ({"host": "127.0.0.1", "unix_socket_path": "/tmp/x.sock"}, InvalidValue),
        ({"host": "127.0.0.1", "topology_refresh_min_interval": -1}, InvalidValue),
    ],
)
def test_bad_arguments_are_walrus_errors(kwargs: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        walrus.ClusterDatabase(**kwargs)


@pytest.mark.parametrize("url", ["memory://", "unix:///tmp/x.sock", "rlite://x.rld"])
def test_from_url_takes_server_urls_only(url: str) -> None:
    with pytest.raises(InvalidValue, match="redis://"):
        walrus.ClusterDatabase.from_url(url)


def test_from_url_refuses_another_database(cluster: ClusterProcess) -> None:
    with pytest.raises(InvalidValue):
        walrus.ClusterDatabase.from_url(cluster.url + "/3")


def test_an_unreachable_cluster_is_not_a_bad_argument() -> None:
    from support import free_port

    with pytest.raises(redis.exceptions.RedisClusterException) as info:
        walrus.ClusterDatabase(host="127.0.0.1", port=free_port())
    assert not isinstance(info.value, InvalidValue)


# -- errors ---------------------------------------------------------------------------
def test_cross_slot_use_raises_walrus_errors_and_writes_nothing(cdb: Any) -> None:
    a, b, c = keys_on_every_primary(cdb)
    cdb.sadd(a, "x")
    with pytest.raises(CrossSlot, match="hash tag"):
        cdb.sunionstore(c, [a, b])
    with pytest.raises(CrossSlot, match="hash tag"):
        cdb.eval("return redis.call('SET', KEYS[2], 1)", 2, a, b)
    with pytest.raises(CrossSlot, match="hash tag"):
        cdb.execute_command("RENAME", a, b)
    with pytest.raises(CrossSlot, match="hash tag"), cdb.atomic() as tx:
        tx.pipe.set(b, 1)
        tx.pipe.set(c, 1)
    pipe = cdb.pipeline(transaction=True)
    pipe.set(b, 1)
    pipe.set(c, 1)
    with pytest.raises(CrossSlot):
        pipe.execute()
    assert cdb.exists(b) == 0 and cdb.exists(c) == 0
    assert isinstance(CrossSlot("x"), redis.exceptions.ClusterCrossSlotError)


def test_error_replies_are_walrus_exceptions(cdb: Any) -> None:
    for key in keys_on_every_primary(cdb):
        cdb.set(key, "v")
        with pytest.raises(WrongType):
            cdb.lpush(key, "x")
    with pytest.raises(ScriptNotFound):
        cdb.evalsha("0" * 40, 1, "k")


def test_hand_sent_multi_is_unsupported(cdb: Any) -> None:
    """MULTI/EXEC/DISCARD/UNWATCH by hand have no one connection on a
    cluster; a transaction's unknown command fails as in a single server's
    pipeline."""
    for word in ("MULTI", "EXEC", "DISCARD", "UNWATCH"):
        with pytest.raises(UnsupportedOperation, match=r"db\.atomic\(\)"):
            cdb.execute_command(word)
    pipe = cdb.pipeline()
    pipe.execute_command("NO-SUCH-COMMAND")
    with pytest.raises(CommandError, match="unknown command"):
        pipe.execute()
    with pytest.raises(CommandError, match="unknown command"):
        cdb.execute_command("NO-SUCH-COMMAND")
    # a keyless command redis-py has no default node for names target_nodes
    with pytest.raises(UnsupportedOperation, match="target_nodes"):
        cdb.execute_command("ROLE")
    assert cdb.execute_command("ROLE", target_nodes=cdb.get_primaries()[0])


# -- pipelines, scripts ---------------------------------------------------------------
def test_single_slot_transaction_is_one_round_trip(cdb: Any) -> None:
    group = cdb.keyspace.group("tx")
    cdb.ping()
    pipe = cdb.pipeline(transaction=True)
    pipe.get(group.key("n"))  # warms the connection to the slot's node
    pipe.execute()
    with count_round_trips() as sent:
        pipe = cdb.pipeline(transaction=True)
        pipe.set(group.key("n"), 1)
        pipe.incr(group.key("n"))
        pipe.hset(group.key("h"), "f", "v")
        replies = pipe.execute()
    assert sent.round_trips == 1
    assert replies == [True, 2, 1]
    with count_round_trips() as sent, cdb.atomic() as tx:
        tx.pipe.incr(group.key("n"))
        tx.pipe.hget(group.key("h"), "f")
    assert sent.round_trips == 1
    value = "v" if cdb.get_encoder().decode_responses else b"v"
    assert cdb.atomic_results() == [3, value]
    with count_round_trips() as sent:
        pipe = cdb.pipeline(transaction=False)
        pipe.incr(group.key("n"))
        pipe.get(group.key("n"))
        plain = pipe.execute()
    assert sent.round_trips == 1 and plain[0] == 4


def test_plain_pipeline_spans_slots(cdb: Any) -> None:
    keys = keys_on_every_primary(cdb)
    pipe = cdb.pipeline(transaction=False)
    for n, key in enumerate(keys):
        pipe.set(key, n)
    for key in keys:
        pipe.incr(key)
    assert pipe.execute() == [True] * 3 + [1, 2, 3]


def test_key_commands_of_several_slots_run_per_slot(cdb: Any) -> None:
    """delete, exists, unlink, touch and redis-py's *_nonatomic helpers send
    one command per slot (not atomic across slots), one command in one slot."""
    keys = keys_on_every_primary(cdb)
    cdb.mset_nonatomic({key: n for n, key in enumerate(keys)})
    assert cdb.mget_nonatomic(keys) == [
        str(n) if cdb.get_encoder().decode_responses else str(n).encode()
        for n in range(3)
    ]
    assert cdb.exists(*keys) == 3 and cdb.touch(*keys) == 3
    tag = cdb.keyspace.group("d")
    cdb.set(tag.key("a"), 1)
    cdb.set(tag.key("b"), 1)
    cdb.exists(tag.key("a"))  # warms the connection to the slot's node
    with count_round_trips() as sent:
        assert cdb.delete(tag.key("a"), tag.key("b"), tag.key("c")) == 2
    assert (sent.round_trips, sent.commands) == (1, 1)  # no MULTI around it
    assert cdb.delete(keys[0], keys[1]) == 2
    assert cdb.unlink(*keys) == 1
    assert cdb.exists(*keys) == 0


def test_watch_in_one_slot(cdb: Any) -> None:
    key = cdb.keyspace.group("w").key("n")
    cdb.set(key, 1)
    with cdb.pipeline(transaction=True) as pipe:
        pipe.watch(key)
        other = walrus.ClusterDatabase(startup_nodes=cdb.get_nodes()[:1])
        other.set(key, 5)
        other.close()
        pipe.multi()
        pipe.incr(key)
        with pytest.raises(redis.WatchError):
            pipe.execute()


def test_named_operations_run_on_the_owner_of_their_keys(cdb: Any) -> None:
    keys = keys_on_every_primary(cdb)
    cdb.cas(keys[0], "x", "y")  # loaded on first use (SCRIPT LOAD on every primary)
    for key in keys:
        cdb.set(key, "old")
        with count_round_trips() as sent:
            assert cdb.cas(key, "old", "new")
        assert sent.round_trips == 1
        assert cdb.get(key) == ("new" if cdb.get_encoder().decode_responses else b"new")
    pipe = cdb.pipeline(transaction=False)
    for key in keys:
        cdb.scripts.run("cas", [key], ["new", "newer", "1"], client=pipe)
    assert pipe.execute() == [1, 1, 1]
    key = cdb.keyspace.group("s").key("a")
    cdb.set(key, "x")
    pipe = cdb.pipeline(transaction=True)
    cdb.scripts.run("cas", [key], ["x", "y", "1"], client=pipe)
    pipe.get(key)
    assert pipe.execute()[0] == 1


def test_scripts_reload_after_a_flush(cdb: Any) -> None:
    key = keys_on_every_primary(cdb)[1]
    cdb.set(key, "a")
    assert cdb.cas(key, "a", "b")
    cdb.script_flush()  # every node forgets it: NOSCRIPT, then SCRIPT LOAD
    assert cdb.cas(key, "b", "c")


# -- the keyspace ---------------------------------------------------------------------
def test_keyspace_wide_operations_cover_every_primary(cdb: Any) -> None:
    keys = [f"spread-{n}" for n in range(30)]
    for key in keys:
        cdb.set(key, 1)
    assert len({cdb.get_node_from_key(k).name for k in keys}) == 3
    assert cdb.dbsize() == len(cdb) == 30
    assert len(cdb.keys()) == 30 and len(cdb.keys("spread-1*")) == 11
    assert len(list(cdb)) == 30 and len(list(cdb.search("spread-2*"))) == 11
    cdb.flushdb()
    assert cdb.dbsize() == 0


def test_stream_log_sees_every_primary(cdb: Any, cluster: ClusterProcess) -> None:
    assert walrus.Capability.MONITOR in cdb.capabilities
    keys = keys_on_every_primary(cdb)
    seen: list[str] = []

    def callback(line: Any) -> bool:
        seen.append(str(line))
        return not all(any(f"marker-{k}" in s for s in seen) for k in keys)

    watcher = threading.Thread(target=cdb.stream_log, args=(callback,))
    watcher.start()
    other = walrus.ClusterDatabase(startup_nodes=cluster.startup_nodes)
    deadline = time.monotonic() + 10
    while watcher.is_alive() and time.monotonic() < deadline:
        for key in keys:
            other.set(key, f"marker-{key}")
        time.sleep(0.05)
    other.close()
    watcher.join(5)
    assert not watcher.is_alive()


def test_walrus_features_use_one_slot(cdb: Any) -> None:
    lock = cdb.lock("cluster-lock", ttl=5000)
    assert lock.acquire(block=False)
    assert lock.release()
    h = cdb.Hash("h")
    h.update(a="1")
    assert h["a"] in ("1", b"1")


# -- writes are sent once -------------------------------------------------------------
# INCR, then keep the node busy for ARGV[1] loop turns: the reply comes late.
# (A script sees one TIME all along: it cannot wait for a clock. A paused
# client's write is dropped when it disconnects, so CLIENT PAUSE cannot stand
# in: the write must be running when the client gives up.)
SLOW_INCR = """
local n = redis.call('INCR', KEYS[1])
local x = 0
for i = 1, tonumber(ARGV[1]) do x = x + i end
return n
"""
RESEND_WINDOW = 0.5  # seconds: a second send would have run by then


def _lose_reply(
    db: Any, key: str, send: Callable[[int], Any]
) -> tuple[int, OutcomeUnknown]:
    """Call ``send(turns)`` (a SLOW_INCR of ``key``) with twice the turns
    until its reply comes after the client's timeout: the value ``key`` then
    settles at, and the error. Each try that was answered took under the timeout, so the
    last one takes at most about twice that: well inside the cluster's node
    timeout (a node busy for longer is failed over, losing the write)."""
    turns = 100_000
    while True:
        expected = int(db.get(key)) + 1
        try:
            send(turns)
        except OutcomeUnknown as error:
            return expected, error
        turns *= 2


def _settled(db: Any, key: str, expected: int) -> int:
    """The key's value once it reached ``expected`` (the script ran) and a
    second send had time to run too."""
    deadline = time.monotonic() + 10
    while True:
        try:
            value = int(db.get(key))
        except redis.RedisError:
            value = -1  # the node is still busy with the script
        if value >= expected or time.monotonic() > deadline:
            time.sleep(RESEND_WINDOW)
            return int(db.get(key))
        time.sleep(0.05)


def _pipelined(db: Any, key: str, transaction: bool) -> Callable[[int], Any]:
    def send(turns: int) -> Any:
        pipe = db.pipeline(transaction=transaction)
        pipe.execute_command("EVAL", SLOW_INCR, 1, key, turns)
        return pipe.execute()

    return send


def test_a_write_whose_reply_is_lost_is_not_sent_again(cluster: ClusterProcess) -> None:
    db = walrus.ClusterDatabase(startup_nodes=cluster.startup_nodes, socket_timeout=0.1)
    key = db.keyspace.group("once").key("n")
    db.set(key, 0)
    sends = [
        lambda turns: db.eval(SLOW_INCR, 1, key, turns),
        _pipelined(db, key, transaction=True),
        _pipelined(db, key, transaction=False),
    ]
    for send in sends:
        expected, error = _lose_reply(db, key, send)
        assert _settled(db, key, expected) == expected  # ran once, not sent again
        assert "EVAL" in str(error)  # names the command it gave up on
    db.delete(key)
    db.close()


def test_reads_are_retried_through_a_pause(cluster: ClusterProcess) -> None:
    db = walrus.ClusterDatabase(startup_nodes=cluster.startup_nodes, socket_timeout=0.3)
    key = db.keyspace.group("read").key("n")
    db.set(key, "1")
    cluster.pause_owner(db, key, 500)
    assert db.get(key) == b"1"
    db.delete(key)
    db.close()


def test_cluster_database_is_thread_safe_for_commands(cdb: Any) -> None:
    key = cdb.keyspace.group("threads").key("n")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                cdb.incr(key)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and int(cdb.get(key)) == 200


def test_startup_nodes_are_cluster_nodes(cluster: ClusterProcess) -> None:
    assert all(isinstance(n, ClusterNode) for n in cluster.startup_nodes)
    assert cluster.url.startswith("redis://127.0.0.1:")
