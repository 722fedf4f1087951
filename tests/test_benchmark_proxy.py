"""The delaying proxy of ``python -m benchmarks --rtt`` (benchmarks/proxy.py)."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
sys.path.insert(0, str(REPO))  # benchmarks/ is a package of the checkout

from benchmarks.proxy import DelayProxy, parse_rtt  # noqa: E402


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0.5ms", 0.0005), ("500us", 0.0005), ("0.0005s", 0.0005), ("0.002", 0.002)],
)
def test_parse_rtt(text: str, seconds: float) -> None:
    assert parse_rtt(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["fast", "-1ms", "2s", ""])
def test_parse_rtt_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="round-trip time"):
        parse_rtt(text)


@contextlib.contextmanager
def echo_server() -> Iterator[tuple[str, int]]:
    """A TCP server sending back every byte it receives, one client at a time."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with conn:
                    while data := conn.recv(1 << 16):
                        conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[:2]
    finally:
        listener.close()


def receive(sock: socket.socket, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        chunk = sock.recv(1 << 16)
        assert chunk, "the connection closed early"
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def test_the_proxy_holds_bytes_and_keeps_their_order() -> None:
    rtt = 0.05
    with echo_server() as target:
        proxy = DelayProxy(target, rtt)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        try:
            with socket.create_connection(("127.0.0.1", proxy.port)) as sock:
                started = time.perf_counter()
                sock.sendall(b"ping")
                assert receive(sock, 4) == b"ping"
                # a lower bound: the bytes were held both ways (never an upper one)
                assert time.perf_counter() - started >= rtt
                payload = bytes(range(256)) * 8192  # 2 MiB, many chunks
                sender = threading.Thread(target=sock.sendall, args=(payload,))
                sender.start()
                assert receive(sock, len(payload)) == payload
                sender.join()
                sock.shutdown(socket.SHUT_WR)
                assert sock.recv(1) == b""  # the end of stream went through too
        finally:
            proxy.close()
