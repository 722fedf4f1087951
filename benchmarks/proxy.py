"""A delaying TCP forwarder on loopback: ``python -m benchmarks --rtt 0.5ms``.

Production Redis is a network hop away, and that is where round trips cost.
:class:`DelayProxy` listens on ``127.0.0.1`` and forwards every connection to
the server, holding each chunk of bytes for half the round-trip time in each
direction: a request reaches the server ``rtt / 2`` after it was sent, its
reply reaches the client ``rtt / 2`` after the server wrote it. Chunks are
delayed independently (a link with latency, not a narrow one): a pipeline of
many commands still costs one round trip, and the bytes of one direction stay
in order.

Threads, not asyncio: an asyncio loop (and a socket timeout) waits in
``epoll``/``poll`` with millisecond timeouts, too coarse for a 0.25 ms hold.
Each direction of a connection is one thread: it waits in ``select`` (a
microsecond timeout) for either new bytes (received at once, stamped with the
moment they are due) or the moment the oldest held chunk is due (sent).
``select`` limits the proxy to file descriptors below 1024: a benchmark run
holds a few connections at a time.

The benchmark runs the proxy in a process of its own (so its threads never
take the benchmark's GIL), pinned to the server's CPU::

    python -m benchmarks.proxy HOST PORT RTT_SECONDS

prints the port it listens on, then forwards until its standard input closes;
each line it reads there is a new round-trip time (seconds). :func:`delayed`
runs it and calibrates the hold: forwarding costs thread wake-ups of its own
(about 0.1 ms per direction on a small VM), so the hold is the asked RTT less
that cost, measured with PINGs through the proxy and direct ones.
"""

from __future__ import annotations

import contextlib
import select
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["DelayProxy", "delayed", "parse_rtt"]

CHUNK = 1 << 16


def parse_rtt(text: str) -> float:
    """Seconds from ``"0.5ms"``, ``"500us"``, ``"0.0005s"`` or ``"0.0005"``."""
    units = {"ms": 1e-3, "us": 1e-6, "µs": 1e-6, "s": 1.0}
    value = text.strip().lower()
    scale = 1.0
    for suffix, factor in units.items():  # "ms" and "us" before "s"
        if value.endswith(suffix):
            value, scale = value[: -len(suffix)], factor
            break
    try:
        seconds = float(value) * scale
    except ValueError:
        raise ValueError(f"a round-trip time like 0.5ms, not {text!r}") from None
    if not 0 <= seconds <= 1:
        raise ValueError(f"a round-trip time between 0 and 1 s, not {text!r}")
    return seconds


class DelayProxy:
    """Forwards connections on ``127.0.0.1`` to ``target``, each direction
    delayed by ``rtt / 2`` seconds."""

    def __init__(self, target: tuple[str, int], rtt: float) -> None:
        self.target = target
        self.half = rtt / 2
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False

    def serve_forever(self) -> None:
        """Accept and forward connections until :meth:`close`."""
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._closed:
                    client.close()
                    server.close()
                    return
                self._sockets += [client, server]
            done = threading.Semaphore(0)  # released by each direction's end
            self._pump(client, server, done)
            self._pump(server, client, done)
            threading.Thread(
                target=self._release, args=(done, client, server), daemon=True
            ).start()

    def _release(self, done: threading.Semaphore, *sockets: socket.socket) -> None:
        """Close a connection's two sockets once both directions ended."""
        done.acquire()
        done.acquire()
        with self._lock:
            for sock in sockets:
                sock.close()
                with contextlib.suppress(ValueError):
                    self._sockets.remove(sock)

    def _pump(
        self, source: socket.socket, sink: socket.socket, done: threading.Semaphore
    ) -> None:
        """A daemon thread carrying ``source``'s bytes to ``sink``, late."""

        def pump() -> None:
            pending: deque[tuple[float, bytes]] = deque()  # (when due, bytes)
            reading = True
            try:
                while reading or pending:
                    timeout = None
                    if pending:
                        timeout = max(0.0, pending[0][0] - time.perf_counter())
                    watched = [source] if reading else []
                    if watched or timeout is None:
                        readable, _, _ = select.select(watched, [], [], timeout)
                    else:
                        time.sleep(timeout)
                        readable = []
                    if readable:
                        chunk = source.recv(CHUNK)
                        if chunk:
                            pending.append((time.perf_counter() + self.half, chunk))
                        else:
                            reading = False
                        continue
                    while pending and pending[0][0] <= time.perf_counter():
                        sink.sendall(pending.popleft()[1])
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_RDWR)  # the other direction ends too
            finally:
                done.release()

        threading.Thread(target=pump, daemon=True).start()

    def close(self) -> None:
        """Stop accepting and close every forwarded connection."""
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        self._listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()


def _ping_seconds(*connections: dict[str, Any], times: int = 300) -> list[float]:
    """The median time of a PING on each of ``connections`` (fresh redis-py
    clients), their PINGs interleaved so a slow spell hits them alike."""
    import redis

    clients = [redis.Redis(**connection) for connection in connections]
    try:
        samples: list[list[float]] = [[] for _ in clients]
        for _ in range(times):
            for client, found in zip(clients, samples, strict=True):
                started = time.perf_counter()
                client.ping()
                found.append(time.perf_counter() - started)
        return [statistics.median(found[10:]) for found in samples]  # warmed up
    finally:
        for client in clients:
            client.close()


@contextlib.contextmanager
def delayed(
    connection: dict[str, Any], rtt: float, pin: Callable[[int], None] | None = None
) -> Iterator[tuple[dict[str, Any], str]]:
    """A proxy process in front of the server at ``connection`` adding ``rtt``
    to each round trip: the connection kwargs through it, and a description.

    Forwarding costs a few thread wake-ups of its own: PINGs through the
    proxy (holding ``rtt``) and direct ones measure that cost, then the hold
    becomes ``rtt`` less it, so a PING through the proxy takes about ``rtt``
    more than a direct one. ``pin(pid)`` places the proxy process.
    """
    command = [sys.executable, "-m", "benchmarks.proxy"]
    command += [connection["host"], str(connection["port"]), repr(rtt)]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        port = int(process.stdout.readline())
        if pin is not None:
            pin(process.pid)
        proxied = {**connection, "host": "127.0.0.1", "port": port}
        direct, forwarded = _ping_seconds(connection, proxied)
        overhead = forwarded - direct - rtt  # what forwarding adds to the hold
        process.stdin.write(f"{max(0.0, rtt - overhead)!r}\n")
        process.stdin.flush()
        direct, through = _ping_seconds(connection, proxied)
        described = (
            f"{rtt * 1e3:g} ms RTT added by benchmarks/proxy.py "
            f"(PING {through * 1e3:.2f} ms through it, {direct * 1e3:.2f} ms direct)"
        )
        yield proxied, described
    finally:
        process.stdin.close()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: Sequence[str]) -> int:
    host, port, rtt = argv
    proxy = DelayProxy((host, int(port)), float(rtt))
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    print(proxy.port, flush=True)
    for line in sys.stdin:  # a new hold, or the end when the benchmark closes it
        proxy.half = float(line) / 2
    proxy.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
