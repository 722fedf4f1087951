"""A primary of a real 3+3 Valkey cluster fails while walrus features run on it.

A stream worker (``cg.consume()``), a lock holder and a model save loop run
in threads against a ``walrus.ClusterDatabase``; their keys share the hash tag
``{job}``, so one primary owns them all. It is killed (SIGKILL) and its
replica promoted. The test measures what happened (printed with ``-s``) and
asserts what Redis replication guarantees: it is asynchronous, so a write a
primary acknowledged survives its death only if a replica had it, which
``WAIT`` confirms. The module starts its own cluster (the failover leaves a
primary without replica).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster import ClusterProcess
from redis.crc import key_slot
from redis.exceptions import RedisError

import walrus
from walrus import IntegerField, Model, TextField
from walrus.exceptions import InvalidValue

STREAMS = ("{job}:a", "{job}:b")
BEFORE = range(0, 40)  # messages added (and replicated) before the failover
AFTER = range(10_000, 10_040)  # messages added after it
DEADLINE = 20.0  # seconds for the features to catch up after the failover


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterProcess]:
    started = ClusterProcess().start()
    try:
        yield started
    finally:
        started.stop()


def replicated(db: Any, key: str, timeout_ms: int = 2000) -> int:
    """WAIT on the primary owning ``key``: how many replicas have every write
    it acknowledged so far (redis-py's WAIT, sent to that node)."""
    node = db.get_node_from_key(key)
    return int(db.execute_command("WAIT", 1, timeout_ms, target_nodes=node))


def wait_for(what: str, check: Callable[[], bool], timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Loop(threading.Thread):
    """Runs ``step`` until stopped: when each step was acknowledged, and its
    failures by exception type (an outage is waited out and tried again)."""

    def __init__(self, step: Callable[[], None], pause: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.step, self.pause = step, pause
        self.stopping = threading.Event()
        self.done: list[float] = []
        self.failures: dict[str, int] = {}
        self.crash: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    self.step()
                    self.done.append(time.monotonic())
                except RedisError as exc:
                    name = type(exc).__name__
                    self.failures[name] = self.failures.get(name, 0) + 1
                    time.sleep(0.05)
                self.stopping.wait(self.pause)
        except BaseException as exc:  # reported by finish()
            self.crash = exc

    def finish(self) -> None:
        self.stopping.set()
        self.join(10)
        assert not self.is_alive()
        assert self.crash is None, self.crash

    def longest_gap(self) -> float:
        return max(b - a for a, b in zip(self.done, self.done[1:], strict=False))


def cut_replication(cluster: ClusterProcess, primary_port: int) -> None:
    """From now on the replica of ``primary_port`` gets none of its writes:
    its link is closed and its reconnections fail (a wrong ``masterauth``).
    Writes stay acknowledged: the window in which a primary has writes its
    replica lacks, made long enough to see."""
    primary = next(n for n in cluster.nodes if n.port == primary_port)
    (replica,) = (n for n in cluster.nodes if n.primary == primary.index)
    with replica.client() as client:
        client.config_set("masterauth", "wrong-on-purpose")
    with primary.client() as client:
        client.execute_command("CLIENT KILL TYPE replica")
    with replica.client() as client:
        wait_for(
            "the replica's link down",
            lambda: client.info("replication")["master_link_status"] == "down",
        )


def same_slot_name(slot: int) -> str:
    """A lock name other than 'job' whose keys land in ``slot``."""
    return next(
        name
        for name in (f"late{i}" for i in itertools.count())
        if key_slot(name.encode()) == slot
    )


def test_features_go_on_after_a_primary_fails(cluster: ClusterProcess) -> None:
    cluster.flush()
    db = walrus.ClusterDatabase(
        startup_nodes=cluster.startup_nodes, decode_responses=True, socket_timeout=5
    )

    class Job(Model):
        __database__ = db
        n = IntegerField(primary_key=True)
        stage = TextField()

    slot = db.keyslot(STREAMS[0])
    owner = db.get_node_from_key(STREAMS[0]).port
    index = [n.port for n in cluster.primary_nodes()].index(owner)

    # -- confirmed: writes WAIT says a replica has ----------------------------------
    cg = db.consumer_group("workers", STREAMS)
    cg.create()
    for n in BEFORE:
        cg.streams[STREAMS[n % 2]].add({"n": str(n)})
    holder = db.lock("job", ttl=30_000)
    assert holder.acquire(block=False)
    Job.create(n=-1, stage="probe")
    assert {db.keyslot(k) for k in db.keys("*")} == {slot}  # one primary owns them all

    processed: list[int] = []
    crashed: list[BaseException] = []
    worker = cg.consume(block=100, count=10, claim_idle=1000, max_backoff=0.2)

    def work() -> None:
        try:
            for message in worker:
                processed.append(int(message.data["n"]))
        except BaseException as exc:  # reported below
            crashed.append(exc)

    consumer = threading.Thread(target=work, daemon=True)
    consumer.start()
    during: list[int] = []  # messages added while the loops ran
    saves: list[int] = []  # acknowledged saves

    def produce() -> None:
        n = 1000 + len(during)
        cg.streams[STREAMS[n % 2]].add({"n": str(n)})
        during.append(n)

    def save() -> None:
        Job.create(n=len(saves), stage="saved")
        saves.append(len(saves))

    loops = {
        "produce": Loop(produce),
        "save": Loop(save),
        "extend": Loop(lambda: holder.extend(1000), 0.05),
    }
    for loop in loops.values():
        loop.start()
    wait_for("the features to run", lambda: len(processed) >= 60 and len(saves) >= 20)
    saves_confirmed, during_confirmed = len(saves), len(during)
    assert replicated(db, STREAMS[0]) == 1  # every write acknowledged before it

    # -- unconfirmed: acknowledged by the primary, not replicated -------------------
    cut_replication(cluster, owner)
    saves_cut = len(saves) + 1  # one more may have been in flight during the cut
    late = db.lock(same_slot_name(slot), ttl=30_000)
    assert late.acquire(block=False) and late.fence is not None
    wait_for("saves in the window", lambda: len(saves) >= saves_cut + 10)
    assert replicated(db, STREAMS[0], 200) == 0

    # -- the failover ----------------------------------------------------------------
    killed_at = time.monotonic()
    saves_at_kill, during_at_kill = len(saves), len(during)
    promoted = cluster.fail_primary(index)
    promoted_at = time.monotonic()
    assert promoted.port != owner
    for n in AFTER:
        cg.streams[STREAMS[n % 2]].add({"n": str(n)})

    # -- after: the features go on ---------------------------------------------------
    wait_for(
        "saves, messages and extends after the promotion",
        lambda: all(loop.done[-1] > promoted_at for loop in loops.values()),
    )
    for loop in loops.values():
        loop.finish()
    confirmed = set(BEFORE) | set(during[:during_confirmed]) | set(AFTER)
    # a message whose XREADGROUP reply the failover lost stays pending until
    # the worker claims it (idle 1 s): wait for that too, not only for the
    # confirmed messages, or the check below races the claim
    wait_for(
        "every confirmed message processed and nothing left pending",
        lambda: (confirmed <= set(processed) and _pending(cg) == 0) or bool(crashed),
    )
    caught_up = time.monotonic()
    worker.stop()
    consumer.join(10)
    assert not consumer.is_alive() and not crashed, crashed

    # the worker: every confirmed message processed, at least once
    everything = set(BEFORE) | set(during) | set(AFTER)
    assert set(processed) <= everything
    unconfirmed = set(during[during_confirmed:during_at_kill])
    never_processed = unconfirmed - set(processed)
    duplicates = len(processed) - len(set(processed))
    assert _pending(cg) == 0

    # the model: confirmed saves survive; the unconfirmed ones were lost
    stored = {job.n for job in Job.all()}
    assert len(db.keys("{job}:id.*")) == len(stored)  # no row without its index
    assert set(saves[:saves_confirmed]) <= stored
    lost = set(saves) - stored
    acked_before_promotion = sum(1 for when in loops["save"].done if when < promoted_at)
    # lost: every save acknowledged after the cut and before the kill (one in
    # flight at either end may go either way); kept: every one since
    assert set(saves[saves_cut:saves_at_kill]) <= lost
    assert lost <= set(saves[saves_confirmed:acked_before_promotion])

    # the lock: the confirmed holder still holds it; the unconfirmed acquire
    # was lost, so a second owner is told it acquired that lock too, with a
    # larger fencing token (taken from the clock: it does not go back here)
    assert db.get(holder.key) == holder.token
    assert not db.lock("job").acquire(block=False)
    assert db.get(late.key) is None
    second = db.lock(late.name, ttl=30_000)
    assert second.acquire(block=False) and second.fence is not None
    assert second.fence > late.fence
    assert not late.release()  # it no longer holds what it was told it acquired
    assert second.release() and holder.release()

    print(
        f"\nfailover: kill to promotion {promoted_at - killed_at:.2f} s; "
        f"longest gap between acknowledged saves "
        f"{loops['save'].longest_gap():.2f} s, XADDs "
        f"{loops['produce'].longest_gap():.2f} s, extends "
        f"{loops['extend'].longest_gap():.2f} s; loop failures "
        f"{ {k: v.failures for k, v in loops.items()} }; worker outages "
        f"{worker.outages}, caught up {caught_up - promoted_at:.2f} s after the "
        f"promotion; messages processed {len(processed)} ({duplicates} twice), "
        f"{len(unconfirmed)} unconfirmed of which {len(never_processed)} never "
        f"processed; saves {len(saves)}: {saves_confirmed} confirmed, "
        f"{len(lost)} unconfirmed (lost), "
        f"{len(saves) - saves_at_kill} after the kill"
    )
    db.close()


def _pending(cg: Any) -> int:
    return sum(len(stream.pending()) for stream in cg.streams.values())


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379", "memory://"])
def test_database_from_url_points_to_cluster_database(url: str) -> None:
    with pytest.raises(InvalidValue, match=r"walrus\.ClusterDatabase\.from_url\("):
        walrus.Database.from_url(url, cluster=True)


DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "cluster.md"
DOCS_BLOCK = re.compile(
    r"<!-- docs-test: skip \(needs a cluster: run by "
    r"tests/test_cluster_failover\.py\) -->\s*```python\n(?P<code>.*?)```",
    re.S,
)


def test_cluster_page_examples_run(cluster: ClusterProcess) -> None:
    blocks = [m["code"] for m in DOCS_BLOCK.finditer(DOCS_PAGE.read_text("utf-8"))]
    assert len(blocks) == 3
    node = cluster.startup_nodes[0]
    namespace: dict[str, Any] = {"__name__": "docs"}
    for number, code in enumerate(blocks, 1):
        code = code.replace("127.0.0.1:7000", f"{node.host}:{node.port}")
        exec(compile(code, f"cluster.md, example {number}", "exec"), namespace)
    db = namespace["db"]
    try:
        assert isinstance(db, walrus.ClusterDatabase)
        assert db.get("{team}:count") == b"2" and db.get("bob") == b"2"
        assert namespace["lock"].key == "lock:{reports}"
        assert not namespace["lock"].locked()
        db.delete("{team}:ann", "{team}:bob", "{team}:count")
        db.delete("ann")
        db.delete("bob")
        db.delete("{mail}:orders", "{mail}:refunds")
    finally:
        db.close()


def test_key_names_in_the_cluster_page(cluster: ClusterProcess) -> None:
    db = walrus.ClusterDatabase(startup_nodes=cluster.startup_nodes)

    class User(Model):
        __database__ = db
        name = TextField(primary_key=True)

    User.create(name="1")
    try:
        assert db.exists("{user}:id.1") and db.exists("{user}:all")
        assert db.lock("reports").key == "lock:{reports}"
        assert db.lock("reports").event == "lock.event:{reports}"
        assert db.cache("pages").make_key("home") == "{pages}:home"
    finally:
        User.load("1").delete()
        db.close()
