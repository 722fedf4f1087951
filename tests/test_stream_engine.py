"""Streams on the embedded engines (memory, Vedis, rlite), with a real server
as the oracle.

The same stream commands run on a Valkey server (RESP2) and on each embedded
backend, raw (no redis-py reply callbacks), in bytes and decoded modes; the
replies and error texts must match exactly. Normalized, each for its reason:
idle/inactive/delivery times (clocks differ by the test's own latency) and
XINFO STREAM's ``radix-tree-nodes`` (Redis's radix tree internals are not
modelled; see docs/drivers-vedis.md). Ids given as ``*`` are the clock's, so
the differential cases use explicit ids and ``*`` is tested on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import BACKEND_FACTORIES, SERVER_BACKENDS
from hypothesis import given, settings
from hypothesis import strategies as st
from support import EXTERNAL_URL, REPLY_MODE_IDS, REPLY_MODES, Backend

from walrus import Capability, WrongType
from walrus.drivers.emulation.streamlog import IdMap

EMBEDDED = [name for name in BACKEND_FACTORIES if name not in SERVER_BACKENDS]
TIMED = {b"idle", b"inactive", b"radix-tree-nodes", "idle", "inactive"}
TIMED |= {"radix-tree-nodes"}


# -- the pair: a server and an embedded backend, both raw ------------------------------
def _oracle(servers: dict[str, Any], decode: bool) -> Any:
    client: Any
    if EXTERNAL_URL:
        client = redis.Redis.from_url(EXTERNAL_URL, protocol=2, decode_responses=decode)
    else:
        kwargs = {**servers["valkey"].connection_kwargs, "protocol": 2}
        client = redis.Redis(**kwargs, decode_responses=decode)
    client.response_callbacks = {}
    return client


@pytest.fixture(params=EMBEDDED)
def other(request: pytest.FixtureRequest, servers: Any, tmp_path: Path) -> Backend:
    return BACKEND_FACTORIES[request.param](servers, tmp_path)


@pytest.fixture(params=REPLY_MODES, ids=REPLY_MODE_IDS)
def pair(
    request: pytest.FixtureRequest, servers: Any, other: Backend
) -> Iterator[tuple[Any, Any]]:
    oracle = _oracle(servers, request.param)
    candidate = other.open(decode_responses=request.param)
    candidate.response_callbacks = {}
    oracle.flushdb()
    candidate.flushdb()
    try:
        yield oracle, candidate
    finally:
        oracle.flushdb()
        oracle.close()
        candidate.flushdb()
        candidate.close()


def run(db: Any, command: list[str]) -> Any:
    try:
        return normalize(command, db.execute_command(*command))
    except redis.ResponseError as exc:
        return ("error", str(exc))


def stamps(reply: Any) -> Any:
    """Absolute times (ms since the epoch, in XINFO STREAM FULL) blanked."""
    if isinstance(reply, list):
        return [stamps(item) for item in reply]
    return "<time>" if isinstance(reply, int) and reply > 10**12 else reply


def normalize(command: list[str], reply: Any) -> Any:
    """Times (and radix-tree-nodes) blanked: see the module doc."""
    name = command[0].upper()

    def blank(flat: list[Any]) -> list[Any]:
        out = list(flat)
        for i in range(0, len(out) - 1, 2):
            if out[i] in TIMED and out[i + 1] != -1:
                out[i + 1] = "<ms>"
        return out

    if name == "XINFO" and isinstance(reply, list):
        if command[1].upper() == "STREAM":
            return stamps(blank(reply))
        return [blank(item) for item in reply]
    if name == "XPENDING" and len(command) > 3 and isinstance(reply, list):
        return [[i[0], i[1], "<ms>", i[3]] for i in reply]
    return reply


def same_replies(pair: tuple[Any, Any], script: list[str]) -> None:
    oracle, candidate = pair
    for number, line in enumerate(script):
        command = line.split()
        expected, got = run(oracle, command), run(candidate, command)
        assert got == expected, f"step {number} {line!r}: {got!r} != {expected!r}"


# -- hand-written cases ------------------------------------------------------------
ADD_RANGE_TRIM = """
XADD s 1-1 a 1
XADD s 1-1 a 1
XADD s 0-0 a 1
XADD s 0-* a 1
XADD s 1 a 1
XADD s 1-* a 1
XADD s 5-* a 1 b 2
XADD s abc a 1
XADD s 1--1 a 1
XADD s 6-1 a
XADD s NOMKSTREAM 7-1 a 1
XADD nos NOMKSTREAM 7-1 a 1
XADD s MAXLEN 2 LIMIT 5 8-1 a 1
XADD s MAXLEN ~ 2 8-1 a 1
XADD s MAXLEN = 2 MINID 3 9-1 a 1
XADD s MAXLEN -1 9-1 a 1
XADD s LIMIT 3 9-1 a 1
XADD s MAXLEN = 3 9-1 a 1
XADD s MAXLEN 3
XLEN s
XRANGE s - +
XRANGE s (1-1 +
XRANGE s - (9-1
XRANGE s 5 5
XRANGE s - + COUNT 0
XRANGE s - + COUNT 2
XRANGE s - + COUNT -1
XRANGE s - + FOO
XRANGE s (- +
XRANGE s (18446744073709551615-18446744073709551615 +
XRANGE s - (0-0
XRANGE s 9 5
XREVRANGE s + - COUNT 2
XREVRANGE s (9-1 -
XRANGE nos - +
XRANGE nos - + COUNT 0
XLEN nos
SET str x
XADD str 1-1 a 1
XLEN str
XRANGE str - +
XTRIM str MAXLEN 1
XDEL s 5-0 100-0
XDEL s bad
XDEL nos 1-1
XTRIM s MAXLEN 1
XTRIM s
XTRIM s LIMIT 2
XTRIM s MAXLEN ~ 1 LIMIT 2
XTRIM s MINID 9-1
XTRIM nos MAXLEN 1
XINFO STREAM s
XINFO STREAM nos
XINFO STREAM str
XINFO GROUPS s
XSETID s 1-0
XSETID s 100-0
XSETID nos 1-0
XSETID str 1-0
XSETID s 200-0 ENTRIESADDED 0
XSETID s 200-0 ENTRIESADDED 50 MAXDELETEDID 150-0
XSETID s 200-0 MAXDELETEDID 250-0
XINFO STREAM s
XADD s 100-5 a 1
XADD s 200-* a 1
XDEL s 9-1 200-1
XLEN s
XINFO STREAM s
XADD e 1-1 f v
XDEL e 1-1
XLEN e
EXISTS e
XINFO STREAM e
TYPE e
TYPE s
XADD e 18446744073709551615-18446744073709551615 f v
XADD e 18446744073709551615-* f v
XINFO STREAM e
"""

GROUPS = """
XGROUP CREATE s g 0
XGROUP CREATE s g 0 MKSTREAM
XGROUP CREATE s g 0 MKSTREAM
XGROUP CREATE s g2 $ ENTRIESREAD 5
XGROUP CREATE s g3 $ ENTRIESREAD -2
XGROUP CREATE s g3 $ FOO
XGROUP CREATE s g3 bad
XGROUP FOO s g
XGROUP DESTROY s
XGROUP DESTROY s nog
XGROUP DESTROY nos g
XGROUP SETID s nog 0
XGROUP CREATECONSUMER s g c0
XGROUP CREATECONSUMER s g c0
XGROUP CREATECONSUMER s nog c0
XINFO GROUPS s
XADD s 1-1 a 1
XADD s 2-1 b 2
XADD s 3-1 c 3
XINFO GROUPS s
XREADGROUP GROUP g c1 COUNT 1 STREAMS s >
XINFO GROUPS s
XREADGROUP GROUP g c1 STREAMS s >
XREADGROUP GROUP g c1 STREAMS s >
XREADGROUP GROUP g c1 STREAMS s 0
XREADGROUP GROUP g c1 COUNT 1 STREAMS s 1-1
XREADGROUP GROUP g c2 STREAMS s 0
XREADGROUP GROUP nog c1 STREAMS s >
XREADGROUP GROUP g c1 STREAMS nos >
XREADGROUP GROUP g c1 STREAMS s $
XREADGROUP GROUP g c1 STREAMS s
XREADGROUP GROUP g c1 STREAMS s s >
XREADGROUP COUNT 1 STREAMS s >
XREAD GROUP g c1 STREAMS s >
XREAD STREAMS s >
XREAD STREAMS s 0
XREAD COUNT 2 STREAMS s nos 0 0
XREAD STREAMS s $
XREAD STREAMS s 3-1
XREAD STREAMS s 2-1
XREAD NOACK STREAMS s 0
XREAD STREAMS s bad
XREAD STREAMS s +
XREAD COUNT 5 STREAMS s nos + +
XREADGROUP GROUP g c1 STREAMS s +
XREAD COUNT x STREAMS s 0
XREAD BLOCK -1 STREAMS s 0
XREAD BLOCK 10 STREAMS s 0
XPENDING s g
XPENDING s g - + 10
XPENDING s g - + 10 c1
XPENDING s g - + 10 c9
XPENDING s g IDLE 0 - + 10
XPENDING s g (1-1 + 1
XPENDING s g - + -1
XPENDING s nog
XPENDING nos g
XPENDING s g - +
XPENDING s g - + bad
XINFO CONSUMERS s g
XINFO CONSUMERS s nog
XACK s g 1-1 9-9
XACK s g 1-1
XACK s g bad
XACK s nog 1-1
XACK nos g 1-1
XPENDING s g
XDEL s 2-1
XINFO GROUPS s
XREADGROUP GROUP g c1 STREAMS s 0
XCLAIM s g c3 0 2-1 3-1
XPENDING s g
XCLAIM s g c3 0 3-1 JUSTID
XCLAIM s g c3 0 3-1 RETRYCOUNT 7 IDLE 5
XPENDING s g - + 10
XCLAIM s g c3 0 1-1 FORCE
XCLAIM s g c3 0 1-1 FORCE
XPENDING s g - + 10
XCLAIM s g c4 100000 3-1
XCLAIM s g c4 0 3-1 BOGUS
XCLAIM s g c4 0 3-1 LASTID 50-0
XINFO GROUPS s
XCLAIM s nog c4 0 3-1
XCLAIM s g c4 abc 3-1
XADD s 4-1 d 4
XADD s 5-1 e 5
XREADGROUP GROUP g c5 STREAMS s >
XGROUP SETID s g 0
XREADGROUP GROUP g c5 COUNT 2 STREAMS s >
XPENDING s g
XAUTOCLAIM s g c6 0 0
XAUTOCLAIM s g c6 0 0 COUNT 1
XAUTOCLAIM s g c6 0 (1-1 COUNT 1 JUSTID
XAUTOCLAIM s g c6 0 0 COUNT 0
XAUTOCLAIM s g c6 0 0 FOO
XAUTOCLAIM s nog c6 0 0
XAUTOCLAIM s g c6 100000 0
XDEL s 4-1
XAUTOCLAIM s g c7 0 0 COUNT 2
XAUTOCLAIM s g c7 0 0
XINFO CONSUMERS s g
XGROUP DELCONSUMER s g c7
XGROUP DELCONSUMER s g c7
XPENDING s g
XINFO GROUPS s
XGROUP SETID s g $ ENTRIESREAD 3
XINFO GROUPS s
XGROUP DESTROY s g
XGROUP DESTROY s g
XINFO GROUPS s
XREADGROUP GROUP g2 c1 NOACK STREAMS s >
XPENDING s g2
XINFO GROUPS s
SET str x
XGROUP CREATE str g 0
XREADGROUP GROUP g c STREAMS str >
XACK str g 1-1
XPENDING str g
XINFO GROUPS str
XINFO FOO s
XINFO GROUPS nos
XCLAIM s a c8 0 0-0 JUSTID
XAUTOCLAIM s a c9 0 0-0
XCLAIM s a c10 0 bad
XAUTOCLAIM s a c11 0 0-0 COUNT 0
XINFO CONSUMERS s a
XINFO STREAM s FULL x
XINFO STREAM s FOO
XINFO STREAM s FULL COUNT x
XINFO STREAM s FULL
XGROUP CREATE s a 0
XGROUP CREATECONSUMER s a zz
XREADGROUP GROUP a c2 COUNT 1 STREAMS s >
XREADGROUP GROUP a c1 STREAMS s >
XINFO STREAM s FULL COUNT 1
XINFO STREAM s FULL COUNT 0
"""


KEYS = """
XADD s 1-1 a 1
XADD s 2-1 a 2
XGROUP CREATE s g 0
XREADGROUP GROUP g c COUNT 1 STREAMS s >
COPY s t
XADD t 3-1 b 3
XLEN s
XINFO STREAM t FULL
XINFO STREAM s FULL
RENAME t u
XINFO GROUPS u
TYPE u
EXPIRE u 100
XADD u 4-1 c 4
TTL u
XREADGROUP GROUP g c STREAMS u >
TTL u
DEL u
XLEN u
EXISTS s u
SCAN 0 TYPE stream
"""


def _many() -> str:
    """Approximate trimming over many nodes: Redis removes whole nodes only."""
    lines = [f"XADD s {i}-0 f{i % 3} {'v' * (i % 7)}{i}" for i in range(1, 251)]
    lines += ["XINFO STREAM s", "XTRIM s MAXLEN ~ 120", "XLEN s", "XINFO STREAM s"]
    lines += ["XTRIM s MAXLEN ~ 50 LIMIT 30", "XTRIM s MAXLEN ~ 50 LIMIT 200"]
    lines += [f"XDEL s {i}-0" for i in range(200, 215)]
    lines += ["XINFO STREAM s", "XTRIM s MINID ~ 230", "XTRIM s MINID 232"]
    lines += [f"XADD s MAXLEN ~ 30 {i}-0 k {'x' * (i % 90)}" for i in range(300, 420)]
    lines += ["XLEN s", "XINFO STREAM s"]
    lines += [f"XADD b {i}-0 field {'y' * 100}" for i in range(500, 700)]
    lines += ["XINFO STREAM b", "XTRIM b MAXLEN ~ 100", "XLEN b", "XINFO STREAM b"]
    lines += [f"XADD b {i}-0 a 1 b 2" for i in range(700, 800)]
    lines += ["XTRIM b MAXLEN ~ 100", "XLEN b", "XRANGE b - + COUNT 3"]
    return "\n".join(lines)


@pytest.mark.parametrize(
    "script",
    [ADD_RANGE_TRIM, GROUPS, KEYS, _many()],
    ids=["add", "groups", "keys", "nodes"],
)
def test_same_replies_as_the_server(pair: tuple[Any, Any], script: str) -> None:
    same_replies(pair, script.strip().splitlines())


# -- generated sequences -------------------------------------------------------------
ids = st.builds(lambda ms, seq: f"{ms}-{seq}", st.integers(0, 6), st.integers(0, 2))
bounds = st.one_of(ids, st.sampled_from(["-", "+", "(1-0", "(3-1"]))
keys = st.sampled_from(["s", "t"])
groups = st.sampled_from(["g", "h"])
consumers = st.sampled_from(["c1", "c2"])
counts = st.integers(0, 3).map(str)
COMMANDS = st.one_of(
    st.builds(lambda k, i: f"XADD {k} {i} f v", keys, st.one_of(ids, st.just("3-*"))),
    st.builds(
        lambda k, way, n, i: f"XADD {k} MAXLEN {way} {n} {i} f v",
        keys,
        st.sampled_from(["=", "~"]),
        counts,
        ids,
    ),
    st.builds(lambda k, i: f"XDEL {k} {i}", keys, ids),
    st.builds(lambda k, n: f"XTRIM {k} MAXLEN {n}", keys, counts),
    st.builds(lambda k, i: f"XTRIM {k} MINID {i}", keys, ids),
    st.builds(lambda k, a, b: f"XRANGE {k} {a} {b}", keys, bounds, bounds),
    st.builds(
        lambda k, a, b, n: f"XREVRANGE {k} {a} {b} COUNT {n}",
        keys,
        bounds,
        bounds,
        counts,
    ),
    st.builds(lambda k: f"XLEN {k}", keys),
    st.builds(lambda k, i: f"XREAD STREAMS {k} {i}", keys, ids),
    st.builds(lambda k, g, i: f"XGROUP CREATE {k} {g} {i} MKSTREAM", keys, groups, ids),
    st.builds(lambda k, g: f"XGROUP DESTROY {k} {g}", keys, groups),
    st.builds(lambda k, g, i: f"XGROUP SETID {k} {g} {i}", keys, groups, ids),
    st.builds(
        lambda k, g, c: f"XGROUP DELCONSUMER {k} {g} {c}", keys, groups, consumers
    ),
    st.builds(
        lambda k, g, c, n, i: f"XREADGROUP GROUP {g} {c} COUNT {n} STREAMS {k} {i}",
        keys,
        groups,
        consumers,
        counts,
        st.one_of(st.just(">"), st.just(">"), ids),
    ),
    st.builds(lambda k, g, i: f"XACK {k} {g} {i}", keys, groups, ids),
    st.builds(lambda k, g: f"XPENDING {k} {g}", keys, groups),
    st.builds(lambda k, g: f"XPENDING {k} {g} - + 10", keys, groups),
    st.builds(
        lambda k, g, c, i, j: f"XCLAIM {k} {g} {c} 0 {i} {j}",
        keys,
        groups,
        consumers,
        ids,
        st.sampled_from(["JUSTID", "FORCE", "RETRYCOUNT 4", "LASTID 9-0", "0-1"]),
    ),
    st.builds(
        lambda k, g, c, i, n: f"XAUTOCLAIM {k} {g} {c} 0 {i} COUNT {n}",
        keys,
        groups,
        consumers,
        ids,
        st.integers(1, 3),
    ),
    st.builds(lambda k: f"XINFO STREAM {k}", keys),
    st.builds(lambda k: f"XINFO GROUPS {k}", keys),
    st.builds(lambda k, g: f"XINFO CONSUMERS {k} {g}", keys, groups),
    st.builds(lambda k, i: f"XSETID {k} {i}", keys, ids),
    st.sampled_from(["SET t x", "DEL s", "TYPE s", "EXISTS s"]),
    st.builds(
        lambda k, g, i, n: f"XGROUP CREATE {k} {g} {i} ENTRIESREAD {n}",
        keys,
        groups,
        ids,
        st.integers(-1, 4),
    ),
    st.builds(
        lambda k, g, i, n: f"XGROUP SETID {k} {g} {i} ENTRIESREAD {n}",
        keys,
        groups,
        ids,
        st.integers(-1, 4),
    ),
    st.builds(
        lambda k, g, c: f"XGROUP CREATECONSUMER {k} {g} {c}", keys, groups, consumers
    ),
    st.builds(
        lambda k, g, c: f"XREADGROUP GROUP {g} {c} NOACK STREAMS {k} >",
        keys,
        groups,
        consumers,
    ),
    st.builds(lambda k, g: f"XPENDING {k} {g} IDLE 0 (0-1 + 2 c1", keys, groups),
    st.builds(lambda k, n: f"XINFO STREAM {k} FULL COUNT {n}", keys, counts),
    st.builds(
        lambda k, way, i: f"XTRIM {k} MINID {way} {i}",
        keys,
        st.sampled_from(["=", "~"]),
        ids,
    ),
    st.builds(lambda k, i: f"XADD {k} MINID {i} 9-* f v", keys, ids),
    st.builds(
        lambda k, i, n, j: f"XSETID {k} {i} ENTRIESADDED {n} MAXDELETEDID {j}",
        keys,
        ids,
        st.integers(0, 9),
        ids,
    ),
)


@settings(max_examples=15)
@given(script=st.lists(COMMANDS, min_size=1, max_size=40))
def test_generated_sequences(pair: tuple[Any, Any], script: list[str]) -> None:
    oracle, candidate = pair
    oracle.flushdb()
    candidate.flushdb()
    same_replies(pair, script)


# -- ids from the clock, blocking ----------------------------------------------------
def _id(raw: Any) -> tuple[int, int]:
    ms, seq = (raw.decode() if isinstance(raw, bytes) else raw).split("-")
    return int(ms), int(seq)


def test_generated_ids_increase(db: Any) -> None:
    assert Capability.STREAMS in db.capabilities
    made = [db.xadd("s", {"n": i}) for i in range(300)]
    parsed = [_id(m) for m in made]
    assert parsed == sorted(set(parsed))
    assert abs(parsed[-1][0] - time.time() * 1000) < 60_000
    db.xadd("s", {"n": 1}, id=f"{parsed[-1][0] + 10**6}-5")
    after = db.xadd("s", {"n": 2})
    assert _id(after) == (parsed[-1][0] + 10**6, 6)


def _later(seconds: float, action: Any) -> threading.Thread:
    def go() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=go)
    thread.start()
    return thread


@pytest.fixture(params=EMBEDDED)
def edb(request: pytest.FixtureRequest, servers: Any, tmp_path: Path) -> Iterator[Any]:
    database = BACKEND_FACTORIES[request.param](servers, tmp_path).open()
    database.flushdb()
    try:
        yield database
    finally:
        database.close()


def test_blocking_xread_waits_for_an_add(edb: Any) -> None:
    edb.xadd("s", {"a": 1}, id="1-0")
    started = time.monotonic()
    assert edb.xread({"s": "$"}) == []  # no BLOCK: never waits
    assert edb.xread({"s": "$"}, block=150) == []  # timeout: nil
    waited = time.monotonic() - started
    assert 0.14 <= waited < 1.5
    thread = _later(0.2, lambda: edb.xadd("s", {"b": 2}, id="2-0"))
    started = time.monotonic()
    reply = edb.xread({"s": "$", "missing": "$"}, block=5000)
    thread.join()
    assert reply == [[b"s", [(b"2-0", {b"b": b"2"})]]]
    assert 0.15 < time.monotonic() - started < 3
    thread = _later(0.2, lambda: edb.xadd("new", {"c": 3}, id="3-0"))
    assert edb.xread({"new": "$"}, block=0) == [[b"new", [(b"3-0", {b"c": b"3"})]]]
    thread.join()


def test_blocking_xreadgroup_waits_for_an_add(edb: Any) -> None:
    edb.xgroup_create("s", "g", "$", mkstream=True)
    assert edb.xreadgroup("g", "c", {"s": ">"}) == []
    assert edb.xreadgroup("g", "c", {"s": ">"}, block=100) == []
    thread = _later(0.2, lambda: edb.xadd("s", {"a": 1}, id="1-0"))
    reply = edb.xreadgroup("g", "c", {"s": ">"}, block=5000)
    thread.join()
    assert reply == [[b"s", [(b"1-0", {b"a": b"1"})]]]
    # history (an id, not '>') never blocks
    started = time.monotonic()
    assert edb.xreadgroup("g", "c", {"s": "0"}, block=5000) == reply
    assert time.monotonic() - started < 1
    thread = _later(0.2, lambda: edb.xgroup_destroy("s", "g"))
    with pytest.raises(redis.ResponseError, match="NOGROUP"):
        edb.xreadgroup("g", "c", {"s": ">"}, block=5000)
    thread.join()


def test_blocked_readers_do_not_hold_the_lock(edb: Any) -> None:
    results: list[Any] = []
    readers = [
        threading.Thread(
            target=lambda: results.append(edb.xread({"s": "$"}, block=3000))
        )
        for _ in range(3)
    ]
    for reader in readers:
        reader.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert edb.set("other", "x") and edb.get("other") == b"x"
    assert time.monotonic() - started < 0.5
    edb.xadd("s", {"k": "v"}, id="5-0")
    for reader in readers:
        reader.join(5)
    assert results == [[[b"s", [(b"5-0", {b"k": b"v"})]]]] * 3


def test_rlite_file_reader_sees_another_handle(tmp_path: Path) -> None:
    from walrus.drivers.rlite.database import RliteDatabase

    path = str(tmp_path / "shared.rld")
    reader, writer = RliteDatabase(path), RliteDatabase(path)
    try:
        writer.xadd("s", {"a": 1}, id="1-0")
        thread = _later(0.2, lambda: writer.xadd("s", {"b": 2}, id="2-0"))
        reply = reader.xread({"s": "$"}, block=5000)
        thread.join()
        assert reply == [[b"s", [(b"2-0", {b"b": b"2"})]]]
    finally:
        reader.close()
        writer.close()


# -- errors through walrus's exceptions -----------------------------------------------
def test_errors(db: Any) -> None:
    db.set("str", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        db.xadd("str", {"a": 1})
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        db.xrange("str")
    db.xadd("s", {"a": 1}, id="1-0")
    with pytest.raises(redis.ResponseError, match="equal or smaller"):
        db.xadd("s", {"a": 1}, id="1-0")
    db.xgroup_create("s", "g", "0")
    with pytest.raises(redis.ResponseError, match="BUSYGROUP"):
        db.xgroup_create("s", "g", "0")
    with pytest.raises(redis.ResponseError, match="NOGROUP"):
        db.xreadgroup("nog", "c", {"s": ">"})
    with pytest.raises(redis.ResponseError, match="NOGROUP"):
        db.xpending("s", "nog")
    assert db.get("str") in (b"x", "x")  # nothing else was written
    assert db.xlen("s") == 1


# -- persistence ----------------------------------------------------------------------
def _scenario(db: Any) -> None:
    for i in range(1, 160):
        db.xadd("s", {"f": "v" * (i % 5), "bin": b"\x00\"' \n\xff"}, id=f"{i}-1")
    db.xdel("s", "5-1")
    db.xgroup_create("s", "g", id="0")
    db.xgroup_create("s", "g two", id="$")
    db.xreadgroup("g", "c1", {"s": ">"}, count=3)
    db.xreadgroup("g", "c 2", {"s": ">"}, count=2)
    db.xack("s", "g", "2-1")
    db.xclaim("s", "g", "c1", 0, ["4-1"], retrycount=5)
    db.xtrim("s", maxlen=150, approximate=False)
    db.expire("s", 1000)


def _state(db: Any) -> list[Any]:
    pending = db.xpending_range("s", "g", "-", "+", 100)
    return [
        db.xrange("s"),
        db.xinfo_stream("s"),
        db.xinfo_groups("s"),
        [(p["message_id"], p["consumer"], p["times_delivered"]) for p in pending],
        [(c["name"], c["pending"]) for c in db.xinfo_consumers("s", "g")],
        db.type("s"),
        db.ttl("s") > 990,
    ]


@pytest.mark.parametrize("kind", ["vedis", "rlite"])
def test_reopened_file_has_the_same_stream(tmp_path: Path, kind: str) -> None:
    from walrus.drivers.rlite.database import RliteDatabase
    from walrus.drivers.vedis.database import VedisDatabase

    opener: Any = VedisDatabase if kind == "vedis" else RliteDatabase
    path = str(tmp_path / f"db.{kind}")
    db = opener(path)
    _scenario(db)
    before = _state(db)
    db.close()
    db = opener(path)
    try:
        assert _state(db) == before
        assert before[5] == b"stream" and before[6]
        assert len(before[0]) == 150
        db.xadd("s", {"after": "reopen"}, id="500-0")
        assert db.xreadgroup("g", "c1", {"s": ">"}, count=1)[0][1][0][0] == b"10-1"
    finally:
        db.close()


def test_vedis_writes_a_constant_number_of_records(tmp_path: Path) -> None:
    """A one-entry command writes O(1) records, whatever the stream's length."""
    from walrus.drivers.vedis.database import VedisDatabase

    db = VedisDatabase(str(tmp_path / "count.vdb"))
    try:
        store: Any = db._core.engine.store  # type: ignore[attr-defined]
        handle = store._db
        sent: list[str] = []
        real = handle.execute

        class Counting:
            def __getattr__(self, name: str) -> Any:
                return getattr(handle, name)

            def execute(self, text: str) -> Any:
                sent.append(text.split()[0])
                return real(text)

        store._db = Counting()
        db.xgroup_create("s", "g", "0", mkstream=True)
        costs = []
        for size in (10, 2000):
            while db.xlen("s") < size:
                db.xadd("s", {"f": "v"})
            sent.clear()
            db.xadd("s", {"f": "v"})
            db.xreadgroup("g", "c", {"s": ">"}, count=1)
            db.xack("s", "g", db.xpending("s", "g")["min"])
            costs.append(len(sent))
        assert costs[0] == costs[1] and costs[0] <= 12
        store._db = handle
    finally:
        db.close()


# -- rlite: a stream is an rlite key -----------------------------------------------
def test_rlite_stream_is_a_key(tmp_path: Path) -> None:
    from walrus.drivers.rlite.database import RliteDatabase

    db = RliteDatabase(str(tmp_path / "keys.rld"), decode_responses=True)
    try:
        db.xadd("s", {"a": "1"}, id="1-0")
        db.set("plain", "x")
        assert db.type("s") == "stream" and db.type("plain") == "string"
        assert db.exists("s") == 1 and sorted(db.keys()) == ["plain", "s"]
        assert db.scan(0, _type="stream") == (0, ["s"])
        assert db.expire("s", 100) and 95 <= db.ttl("s") <= 100
        db.xadd("s", {"b": "2"}, id="2-0")
        assert 95 <= db.ttl("s") <= 100  # a write keeps the TTL
        assert db.rename("s", "t") and db.xlen("t") == 2
        with pytest.raises(WrongType):
            db.xadd("plain", {"a": "1"})
        assert db.delete("t") == 1 and db.xlen("t") == 0
        db.xadd("gone", {"a": "1"}, id="1-0")
        db.pexpire("gone", 50)
        time.sleep(0.1)
        assert db.xlen("gone") == 0 and db.exists("gone") == 0
    finally:
        db.close()


# -- the id index --------------------------------------------------------------------
@settings(max_examples=20)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 3000)), max_size=400),
    st.integers(0, 3000),
    st.integers(0, 3000),
)
def test_id_map_matches_a_sorted_list(
    ops: list[tuple[bool, int]], low: int, high: int
) -> None:
    index: IdMap[int] = IdMap()
    model: dict[tuple[int, int], int] = {}
    for n in range(2000):  # enough to split chunks
        index.set((n * 2, 0), n)
        model[(n * 2, 0)] = n
    for add, value in ops:
        sid = (value, 1)
        if add:
            index.set(sid, value)
            model[sid] = value
        else:
            assert index.pop(sid) == model.pop(sid, None)
    ordered = sorted(model)
    assert list(index) == ordered and len(index) == len(model)
    lo, hi = (low, 0), (high, 1)
    assert list(index.ascending(lo, hi)) == [s for s in ordered if lo <= s <= hi]
    assert list(index.descending(hi, lo)) == [
        s for s in reversed(ordered) if lo <= s <= hi
    ]
    assert index.next_from(lo) == next((s for s in ordered if s >= lo), None)
    assert index.first() == (ordered[0] if ordered else None)
    assert index.last() == (ordered[-1] if ordered else None)


# -- robustness ------------------------------------------------------------------------
WORDS = [
    *[
        "s",
        "t",
        "g",
        "c",
        "*",
        "$",
        ">",
        "-",
        "+",
        "(",
        "(1",
        "0",
        "1",
        "1-1",
        "2-*",
        "-1",
        "f",
        "v",
        "x",
    ],
    "",
    "18446744073709551615-18446744073709551615",
    "18446744073709551616",
    *[
        "MAXLEN",
        "MINID",
        "~",
        "=",
        "LIMIT",
        "NOMKSTREAM",
        "COUNT",
        "BLOCK",
        "STREAMS",
        "GROUP",
        "NOACK",
        "CREATE",
        "SETID",
        "DESTROY",
        "CREATECONSUMER",
        "DELCONSUMER",
        "MKSTREAM",
        "ENTRIESREAD",
        "IDLE",
        "TIME",
        "RETRYCOUNT",
        "FORCE",
        "JUSTID",
        "LASTID",
        "STREAM",
        "GROUPS",
        "CONSUMERS",
        "FULL",
        "ENTRIESADDED",
        "MAXDELETEDID",
    ],
]
NAMES = [
    "XADD",
    "XLEN",
    "XRANGE",
    "XREVRANGE",
    "XREAD",
    "XREADGROUP",
    "XGROUP",
    "XACK",
    "XPENDING",
    "XCLAIM",
    "XAUTOCLAIM",
    "XTRIM",
    "XDEL",
    "XINFO",
    "XSETID",
]


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.sampled_from(NAMES), st.lists(st.sampled_from(WORDS), max_size=9)),
        max_size=30,
    )
)
def test_malformed_commands_get_error_replies(commands: list[Any]) -> None:
    """Any argument list gets a reply or an error reply, never an exception."""
    from walrus.drivers.embedded.types import ErrorReply
    from walrus.drivers.emulation import EmulationEngine, MemoryStore

    engine = EmulationEngine(MemoryStore(), "memory", frozenset())
    engine.run([b"XADD", b"s", b"1-1", b"f", b"v"])
    engine.run([b"XGROUP", b"CREATE", b"s", b"g", b"0"])
    for name, words in commands:
        reply = engine.run([name.encode(), *(w.encode() for w in words)])
        assert reply is None or isinstance(reply, bytes | int | list | ErrorReply)


def test_group_changes_break_a_watch(edb: Any) -> None:
    edb.xadd("s", {"a": 1}, id="1-0")
    with edb.pipeline() as pipe:
        pipe.watch("s")
        edb.xgroup_create("s", "g", "0")
        pipe.multi()
        pipe.xlen("s")
        with pytest.raises(redis.WatchError):
            pipe.execute()


def test_rlite_damaged_stream_is_an_error_reply(tmp_path: Path) -> None:
    from walrus.drivers.rlite.database import RliteDatabase
    from walrus.drivers.rlite.streams import MAGIC

    db = RliteDatabase(str(tmp_path / "bad.rld"))
    try:
        trailer = b"#" + b"0" * 16 + MAGIC
        db.set("s", b"walrus-stream 1\nzzz\n" + trailer)
        assert db.type("s") == b"stream"
        with pytest.raises(redis.ResponseError, match="damaged"):
            db.xlen("s")
        db.set("s", b"walrus-stream 9\n" + trailer)
        with pytest.raises(redis.ResponseError, match="newer walrus"):
            db.xlen("s")
    finally:
        db.close()


def _snapshot(db: Any) -> list[Any]:
    """Each stream in full (exact times), or its type."""
    out = []
    for key in ("s", "t"):
        try:
            out.append(db.execute_command("XINFO", "STREAM", key, "FULL", "COUNT", 0))
        except redis.ResponseError as exc:
            out.append(str(exc))
    return out


@pytest.mark.parametrize("kind", ["vedis", "rlite"])
@settings(max_examples=10)
@given(script=st.lists(COMMANDS, min_size=1, max_size=40))
def test_generated_sequences_survive_a_reopen(
    tmp_path_factory: pytest.TempPathFactory, kind: str, script: list[str]
) -> None:
    """Every record a command changes is written: a reopened file shows the
    same streams, groups, consumers and pending entries (times included)."""
    from walrus.drivers.rlite.database import RliteDatabase
    from walrus.drivers.vedis.database import VedisDatabase

    opener: Any = VedisDatabase if kind == "vedis" else RliteDatabase
    path = str(tmp_path_factory.mktemp("reopen") / f"db.{kind}")
    db = opener(path)
    db.response_callbacks = {}
    for line in script:
        run(db, line.split())
    before = _snapshot(db)
    db.close()
    db = opener(path)
    db.response_callbacks = {}
    try:
        assert _snapshot(db) == before
    finally:
        db.close()


def test_rlite_handles_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    """Each handle caches the decoded stream; a write by another one (an
    append, or a compacting rewrite) makes it read the value again."""
    from walrus.drivers.rlite.database import RliteDatabase

    path = str(tmp_path / "two.rld")
    first, second = RliteDatabase(path), RliteDatabase(path)
    try:
        first.xgroup_create("s", "g", "0", mkstream=True)
        for n in range(1, 400):  # enough appends to force compactions
            writer, reader = (first, second) if n % 3 else (second, first)
            writer.xadd("s", {"n": n}, id=f"{n}-0")
            if n % 5 == 0:
                reader.xreadgroup("g", f"c{n % 2}", {"s": ">"}, count=3)
            if n % 7 == 0:
                writer.xack("s", "g", f"{n - 6}-0")
            assert reader.xlen("s") == n
        assert first.xinfo_groups("s") == second.xinfo_groups("s")
        assert first.xpending("s", "g") == second.xpending("s", "g")
        assert first.xrange("s") == second.xrange("s")
    finally:
        first.close()
        second.close()


def test_threads_adding_at_once(edb: Any) -> None:
    def add(worker: int) -> None:
        for n in range(50):
            edb.xadd("s", {"w": worker, "n": n})

    threads = [threading.Thread(target=add, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [entry_id for entry_id, _ in edb.xrange("s")]
    assert len(ids) == 200 == edb.xlen("s") and ids == sorted(set(ids), key=_id)


def test_blocked_consumers_do_not_wake_each_other(edb: Any) -> None:
    """Two consumers blocked on one group wait quietly (no busy loop)."""
    edb.xgroup_create("s", "g", "$", mkstream=True)
    replies: list[Any] = []
    cpu_seconds: list[float] = []  # of each reader's own thread

    def read(name: str) -> None:
        started = time.thread_time()
        replies.append(edb.xreadgroup("g", name, {"s": ">"}, block=800))
        cpu_seconds.append(time.thread_time() - started)

    readers = [threading.Thread(target=read, args=(name,)) for name in ("c1", "c2")]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(5)
    assert replies == [[], []]
    assert sum(cpu_seconds) < 0.5  # a busy loop would use ~1.6 s
    idle = {c["name"]: c["idle"] for c in edb.xinfo_consumers("s", "g")}
    assert min(idle.values()) >= 700  # retries did not refresh seen times
