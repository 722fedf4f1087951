"""Time one workload in a process of its own: on the original walrus 0.9, or
on this walrus's embedded backends.

``python -m benchmarks --original PYTHON`` runs this file with ``PYTHON``, the
interpreter of a virtual environment where walrus 0.9.8 (for the Redis
backend) or 0.9.7 with hirlite (for the rlite backends, ``--original-rlite``)
is installed::

    PYTHON benchmarks/original.py BACKEND CONNECTION SETTINGS NAME

The repository root goes at the *end* of ``sys.path``, so ``import walrus``
finds the original and the workload modules run on it unchanged: they use the
API walrus 0.9 documents. The plain client runs too, so the comparison can be
made against each run's own plain rate (the two runs happen at different
moments of a shared machine). Prints one JSON value: ``[walrus 0.9's ops/s,
plain ops/s or null]``, or the error text when the original cannot run the
workload. One workload per process: walrus 0.9 on stock hirlite can crash the
interpreter.

The embedded backends (rlite, Vedis) of this walrus run each workload this
way too, with the running interpreter: an engine in memory is as fast as its
pages are close together, so the same workload measured after others in one
process read 0.47 to 0.97 of raw rlite depending on what ran before (graph
query; each side moved with the heap's history). A fresh process gives both
sides the same start.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parents[1]))


def _backend(name: str, connection: dict[str, Any]) -> Any:
    import redis

    import walrus
    from benchmarks.harness import Backend, rlite_backend, vedis_backend

    if name == "redis":

        def open_walrus() -> Any:
            db = walrus.Database(**connection)
            db.flushdb()
            return db

        return Backend(
            name, open_walrus, lambda db, setup: redis.Redis(**connection), False
        )
    directory = connection.get("directory")
    where = Path(directory) if directory else None
    if name.startswith("vedis"):
        return vedis_backend(name, where)
    return rlite_backend(name, where)


def main(argv: list[str]) -> int:
    from benchmarks.__main__ import collect_workloads
    from benchmarks.harness import FULL, QUICK, measure

    backend_name, connection, settings_name, name = argv
    backend = _backend(backend_name, json.loads(connection))
    settings = QUICK if settings_name == "quick" else FULL
    found = [w for w in collect_workloads(None, tolerant=True) if w.name == name]
    reply: list[float | None] | str = "uses API walrus 0.9 does not have"
    if found:
        try:
            result = measure(found[0], backend, settings)
            reply = [result.walrus, result.plain]
        except Exception as error:
            reply = f"{type(error).__name__}: {error}"[:160]
    print(json.dumps(reply))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
