"""Child processes of the fault tests (test_durability, test_multiprocess).

Run as ``python fault_child.py MODE BACKEND PATH ...``; BACKEND is ``rlite``
(a file) or ``vedis`` (a file, ``commit_interval=0``). Modes:

* ``crash WORKLOAD ACKS GEN``: check the file against ACKS (below), print
  the verdict as one JSON line, then run WORKLOAD's operations until killed,
  appending ``GEN I`` to ACKS after operation I *returned*;
* ``check WORKLOAD ACKS``: only the check;
* ``writer KIND SECONDS``: set three keys together (KIND: ``pipeline``,
  ``atomic``, ``named``) in a loop; ``reader SECONDS``: read them in one
  transaction in a loop and print ``{"reads": n, "torn": t}``;
* ``count N``: N increments of one counter; ``lock N TOKENS``: N
  acquisitions of one lock, appending each fencing token to TOKENS while
  holding it.

Every workload's operations are a pure function of (generation, index), so
the check replays the acknowledged ones and requires the file to hold
exactly that state, or that state plus the one operation in flight when the
writer died (then written down as ``settled GEN N`` in ACKS, as the next
generation builds on it). A difference is a lost or half-applied operation.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import walrus
from walrus import IntegerField, Model, TextField

State = Any


def open_db(backend: str, path: str) -> Any:
    if backend == "rlite":
        from walrus.tusks.rlite import WalrusLite

        return WalrusLite(path)
    from walrus.tusks.vedisdb import WalrusVedis

    return WalrusVedis(path, commit_interval=0)


# -- workloads: apply(db, g, i) does operation i of generation g; expect(state, g,
# i) applies it to the model state; read(db) is the file's state -----------------
def _set_apply(db: Any, g: int, i: int) -> None:
    db.set(f"s:{(i * 7 + g) % 300}", f"{g}:{i}")


def _set_expect(state: dict[str, str], g: int, i: int) -> None:
    state[f"s:{(i * 7 + g) % 300}"] = f"{g}:{i}"


def _set_read(db: Any) -> dict[str, str]:
    keys = [f"s:{k}" for k in range(300)]
    return {
        k: v.decode() for k, v in zip(keys, db.mget(keys), strict=True) if v is not None
    }


def _hash_apply(db: Any, g: int, i: int) -> None:
    if i % 4 == 3:
        db.hset(f"h:{i % 5}", mapping={f"x{i % 13}": f"{g}:{i}", f"y{i % 13}": i})
    else:
        db.hset(f"h:{i % 5}", f"f{i % 97}", f"{g}:{i}")


def _hash_expect(state: dict[str, dict[str, str]], g: int, i: int) -> None:
    fields = state.setdefault(f"h:{i % 5}", {})
    if i % 4 == 3:
        fields.update({f"x{i % 13}": f"{g}:{i}", f"y{i % 13}": str(i)})
    else:
        fields[f"f{i % 97}"] = f"{g}:{i}"


def _hash_read(db: Any) -> dict[str, dict[str, str]]:
    found = {}
    for k in range(5):
        fields = db.hgetall(f"h:{k}")
        if fields:
            found[f"h:{k}"] = {a.decode(): b.decode() for a, b in fields.items()}
    return found


def _row_class(db: Any) -> type[Model]:
    class Row(Model):
        __database__ = db
        __namespace__ = "crash"
        id = IntegerField(primary_key=True)
        tag = TextField(index=True)
        n = IntegerField(index=True)

    return Row


def _model_apply(db: Any, g: int, i: int) -> None:
    row_class = db.fault_rows
    if i % 4 == 3:
        with contextlib.suppress(KeyError):
            row_class.load((i * 3) % 60).delete()
    else:
        row_class(id=i % 60, tag=f"t{(g + i) % 6}", n=i).save()


def _model_expect(state: dict[int, tuple[str, int]], g: int, i: int) -> None:
    if i % 4 == 3:
        state.pop((i * 3) % 60, None)
    else:
        state[i % 60] = (f"t{(g + i) % 6}", i)


def _model_read(db: Any) -> dict[int, tuple[str, int]] | str:
    row_class = db.fault_rows
    rows = {r.id: (r.tag, r.n) for r in row_class.all()}
    for tag in {t for t, _ in rows.values()} | {f"t{k}" for k in range(6)}:
        indexed = {r.id for r in row_class.query(row_class.tag == tag)}
        if indexed != {k for k, (t, _) in rows.items() if t == tag}:
            return f"the tag index of {tag!r} disagrees with the rows"
    by_n = {r.id for r in row_class.query(row_class.n >= 0)}
    if by_n != set(rows):
        return "the n index disagrees with the rows"
    return rows


def _stream_apply(db: Any, g: int, i: int) -> None:
    db.xadd("st", {"g": g, "i": i})


def _stream_expect(state: list[tuple[int, int]], g: int, i: int) -> None:
    state.append((g, i))


def _stream_read(db: Any) -> list[tuple[int, int]]:
    return [(int(f[b"g"]), int(f[b"i"])) for _, f in db.xrange("st")]


def _tx_apply(db: Any, g: int, i: int) -> None:
    pipe = db.pipeline(transaction=True)
    for key in ("tx:a", "tx:b", "tx:c"):
        pipe.set(key, f"{g}:{i}")
    pipe.incr("tx:n")
    pipe.execute()


def _tx_expect(state: dict[str, Any], g: int, i: int) -> None:
    state.update({"tx:a": f"{g}:{i}", "tx:b": f"{g}:{i}", "tx:c": f"{g}:{i}"})
    state["tx:n"] = state.get("tx:n", 0) + 1


def _tx_read(db: Any) -> dict[str, Any]:
    a, b, c, n = db.mget("tx:a", "tx:b", "tx:c", "tx:n")
    found: dict[str, Any] = {}
    for key, value in (("tx:a", a), ("tx:b", b), ("tx:c", c)):
        if value is not None:
            found[key] = value.decode()
    if n is not None:
        found["tx:n"] = int(n)
    return found


WORKLOADS: dict[
    str, tuple[Callable[..., Any], Callable[..., Any], Any, Callable[[Any], Any]]
] = {
    "set": (_set_apply, _set_expect, dict, _set_read),
    "hash": (_hash_apply, _hash_expect, dict, _hash_read),
    "model": (_model_apply, _model_expect, dict, _model_read),
    "stream": (_stream_apply, _stream_expect, list, _stream_read),
    "transaction": (_tx_apply, _tx_expect, dict, _tx_read),
}


# -- acknowledgements ------------------------------------------------------------
def read_acks(path: str) -> tuple[dict[int, int], dict[int, int]]:
    """(acknowledged operations per generation, settled counts per generation).

    A line cut by the kill (no newline yet) does not count."""
    acked: dict[int, int] = {}
    settled: dict[int, int] = {}
    if not os.path.exists(path):
        return acked, settled
    with open(path, encoding="ascii") as handle:
        for line in handle:
            if not line.endswith("\n"):
                break
            parts = line.split()
            if parts[0] == "settled":
                settled[int(parts[1])] = int(parts[2])
            else:
                g, i = int(parts[0]), int(parts[1])
                acked[g] = max(acked.get(g, 0), i + 1)
    return acked, settled


def check(db: Any, workload: str, acks: str) -> dict[str, Any]:
    """Compare the file with the acknowledged operations (see the module doc)."""
    _, expect, empty, read = WORKLOADS[workload]
    acked, settled = read_acks(acks)
    state = empty()
    verdict: dict[str, Any] = {"ok": True, "acked": sum(acked.values())}
    generations = sorted(set(acked) | set(settled))
    for g in generations:
        count = settled.get(g, acked.get(g, 0))
        if g in settled and settled[g] < acked.get(g, 0):
            return {"ok": False, "why": f"generation {g} settled below its acks"}
        for i in range(count):
            expect(state, g, i)
    found = read(db)
    if isinstance(found, str):
        return {"ok": False, "why": found}
    if found == state:
        return verdict
    last = generations[-1] if generations else None
    if last is not None and last not in settled:
        ahead = copy.deepcopy(state)
        expect(ahead, last, acked.get(last, 0))
        if found == ahead:
            verdict["in_flight_applied"] = True
            return verdict
    return {**verdict, "ok": False, "why": _difference(state, found)}


def _difference(expected: Any, found: Any) -> str:
    if isinstance(expected, dict) and isinstance(found, dict):
        lost = [k for k in expected if k not in found]
        wrong = [k for k in expected if k in found and found[k] != expected[k]]
        extra = [k for k in found if k not in expected]
        return (
            f"lost {len(lost)} {lost[:3]}, wrong {len(wrong)} "
            f"{[(k, expected[k], found[k]) for k in wrong[:3]]}, extra {extra[:3]}"
        )
    return f"expected {str(expected)[-300:]}, found {str(found)[-300:]}"


def crash(backend: str, path: str, workload: str, acks: str, gen: int) -> None:
    db = open_db(backend, path)
    db.fault_rows = _row_class(db)
    verdict = check(db, workload, acks)
    guard = getattr(db._core.engine, "_guard", None)  # rlite's journal
    verdict["rolled_back"] = guard.recovered if guard is not None else 0
    acked, settled = read_acks(acks)
    with open(acks, "a", encoding="ascii") as handle:  # settle the previous writer
        for g in sorted(acked):
            if g not in settled and g < gen:
                applied = acked[g] + (1 if verdict.get("in_flight_applied") else 0)
                handle.write(f"settled {g} {applied}\n")
    print(json.dumps(verdict), flush=True)
    if not verdict["ok"] or gen < 0:
        db.close()
        return
    apply = WORKLOADS[workload][0]
    fd = os.open(acks, os.O_WRONLY | os.O_APPEND)
    i = 0
    while True:
        apply(db, gen, i)
        os.write(fd, f"{gen} {i}\n".encode())
        i += 1


# -- isolation, counters, locks --------------------------------------------------
THREE = ("iso:a", "iso:b", "iso:c")


ROW = "crash|row:id.1"  # the model row the "named" writer saves (see _row_class)


def writer(backend: str, path: str, kind: str, seconds: float) -> None:
    db = open_db(backend, path)
    row_class = _row_class(db)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
        if kind == "pipeline":
            pipe = db.pipeline(transaction=True)
            for key in THREE:
                pipe.set(key, n)
            pipe.execute()
        elif kind == "atomic":
            with db.atomic() as pipe:
                for key in THREE:
                    pipe.set(key, n)
        else:  # a named operation: a model save moves the row and its indexes
            row_class(id=1, tag=f"t{n % 4}", n=n).save()
    print(json.dumps({"writes": n}))


def reader(backend: str, path: str, seconds: float) -> None:
    """Read the three keys, and the model row with its index entries, in one
    transaction each time; count the reads that see a write half done."""
    db = open_db(backend, path)
    end = time.monotonic() + seconds
    reads = torn = 0
    while time.monotonic() < end:
        pipe = db.pipeline(transaction=True)
        pipe.mget(*THREE)
        pipe.hmget(ROW, "tag", "n")
        pipe.zscore("crash|row:n.continuous", ROW)
        for k in range(4):
            pipe.sismember(f"crash|row:tag.absolute.t{k}", ROW)
        values, (tag, n), score, *members = pipe.execute()
        reads += 1
        if len(set(values)) > 1:
            torn += 1
        if tag is not None:
            tagged = [f"t{k}".encode() for k, m in enumerate(members) if m]
            if tagged != [tag] or score is None or int(score) != int(n):
                torn += 1
    print(json.dumps({"reads": reads, "torn": torn}))


def count(backend: str, path: str, times: int) -> None:
    db = open_db(backend, path)
    counter = db.counter("exact") if hasattr(db, "counter") else None
    for _ in range(times):
        db.incr("plain")
        if counter is not None:
            counter.incr()
    print(json.dumps({"done": times}))


def lock(backend: str, path: str, times: int, tokens: str) -> None:
    db = open_db(backend, path)
    the_lock = db.lock("shared", ttl=10_000)
    fd = os.open(tokens, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    for _ in range(times):
        with the_lock:
            os.write(fd, f"{os.getpid()} {the_lock.fence}\n".encode())
    print(json.dumps({"done": times}))


def main(argv: list[str]) -> None:
    mode, backend, path, *rest = argv
    if mode == "crash":
        crash(backend, path, rest[0], rest[1], int(rest[2]))
    elif mode == "check":
        crash(backend, path, rest[0], rest[1], -1)
    elif mode == "writer":
        writer(backend, path, rest[0], float(rest[1]))
    elif mode == "reader":
        reader(backend, path, float(rest[0]))
    elif mode == "count":
        count(backend, path, int(rest[0]))
    elif mode == "lock":
        lock(backend, path, int(rest[0]), rest[1])
    else:
        raise SystemExit(f"unknown mode {mode!r} (walrus {walrus.__version__})")


if __name__ == "__main__":
    main(sys.argv[1:])
