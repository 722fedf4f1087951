"""The rlite driver's short ways (issue 20), against Valkey and in children.

What makes the common rlite operations cheap must not change a reply or let
an input kill the interpreter: the type check and the command in one native
call (``typed``, the ZRANGE family and set algebra), several commands in one
(``many``), single-bit BITFIELD through GETBIT/SETBIT in one rlite MULTI,
HSET's count from HLEN, the shape checks without regular expressions, and
the scores' short form read from rlite's ``%.17g``.
"""

from __future__ import annotations

import enum
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from emulation_support import assert_replays_as, raw
from emulation_support import oracle as oracle  # a fixture
from hypothesis import given
from hypothesis import strategies as st

import walrus
from walrus.drivers.embedded.database import _pack_utf8
from walrus.drivers.embedded.types import ErrorReply
from walrus.drivers.rlite.native import compiled, library
from walrus.drivers.rlite.shapes import _decimal, plain_int
from walrus.tusks.rlite import WalrusLite

CHILD_ENV = {
    **{k: v for k, v in os.environ.items() if k != "WALRUS_RLITE_CTYPES"},
    "PYTHONPATH": str(Path(walrus.__file__).parents[1]),
}
# the compiled calls, bound (WALRUS_RLITE_CTYPES=1 leaves them unbound)
COMPILED = compiled is not None and not os.environ.get("WALRUS_RLITE_CTYPES")

# Every kind of key the typed commands may meet, as commands that make it.
KINDS = {
    "string": "SET k v",
    "empty-string": "SET k ''",
    "huge-string": None,  # 2 MB, set by the child
    "list": "RPUSH k a b",
    "set": "SADD k a b",
    "hash": "HSET k a 1",
    "zset": "ZADD k 1 a 2 b",
    "stream": "XADD k * f v",
    "missing": None,
}
TYPED = [
    "ZRANGE k 0 -1",
    "ZRANGE k 0 -1 WITHSCORES",
    "ZREVRANGE k 0 -1 WITHSCORES",
    "ZRANGEBYLEX k - +",
    "ZREVRANGEBYLEX k + -",
    "ZRANGEBYSCORE k -inf +inf WITHSCORES",
    "SUNION k other",
    "SDIFF other k",
    "SUNIONSTORE dest k other",
    "BITFIELD k GET u1 0 GET u1 7",
    "BITFIELD k SET u1 3 1 GET u1 3",
    "BITFIELD_RO k GET u1 100",
    "HSET k f 1 g 2",
    "GET k",
    "LINDEX k 0",
]

CHILD = """
import shlex, sys
from walrus.drivers.rlite.native import library
from walrus.tusks.rlite import WalrusLite
assert library().compiled == (sys.argv[2] == "compiled"), library().compiled
kinds, commands = {kinds!r}, {commands!r}
db = WalrusLite(sys.argv[1])
db.response_callbacks = {{}}
empty = db.client()
empty.response_callbacks = {{}}
for kind, make in sorted(kinds.items()):
    for line in commands:
        print(kind, line, flush=True)
        db.flushdb()
        if kind == "huge-string":
            db.set("k", b"x" * (2 << 20))
        elif make:
            db.execute_command(*shlex.split(make))
        db.execute_command("SET", "", "")  # an empty key beside it
        try:
            db.execute_command(*shlex.split(line))
        except Exception:  # an error reply: what Valkey answers is tested apart
            pass
        for empty_key in ("ZRANGE '' 0 -1", "BITFIELD '' GET u1 0", "HSET '' a 1 b 2"):
            try:
                empty.execute_command(*shlex.split(empty_key))
            except Exception:
                pass
lib = library()
handle = lib.connect(b":memory:", 0)
for args in ([b"ZRANGE", "k"], [], (b"PING",), [b"PING", 1]):
    for call in (
        lambda: lib.typed(handle, args, b"zset", 1, 2, None),
        lambda: lib.typed(handle, args, b"zset", -5, 99, None),
        lambda: lib.many(handle, [args, [b"PING"]]),
        lambda: lib.many(handle, args),
        lambda: lib.read(handle, b"", None, args),
        lambda: lib.read(handle, "x", None, args),
    ):
        try:
            call()
        except (TypeError, ValueError):
            pass
lib.free(handle)
print("ok")
"""


@pytest.mark.parametrize("path", ["compiled", "ctypes"])
@pytest.mark.parametrize("where", ["memory", "file"])
def test_typed_and_batched_calls_never_kill_the_interpreter(
    where: str, path: str, tmp_path: Path
) -> None:
    """Each short way over every kind of key (an empty key and a 2 MB value
    among them), then bad arguments to the native calls, in one child: a
    death names the step."""
    if path == "compiled" and compiled is None:
        pytest.skip("the C accelerator was not built")
    env = {**CHILD_ENV, **({"WALRUS_RLITE_CTYPES": "1"} if path == "ctypes" else {})}
    target = ":memory:" if where == "memory" else str(tmp_path / "typed.rld")
    code = CHILD.format(kinds=KINDS, commands=TYPED)
    result = subprocess.run(
        [sys.executable, "-c", code, target, path],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,  # not the checkout: the child imports the walrus tested here
    )
    last = result.stdout.strip().splitlines()[-1:] or ["(nothing)"]
    assert result.returncode == 0, (
        f"exit {result.returncode} after {last[0]}: {result.stderr[-2000:]}"
    )
    assert last == ["ok"], result.stderr[-2000:]


# Command sequences answered as Valkey answers them, reply by reply.
SEQUENCES: dict[str, list[str]] = {
    "bitfield-single-bits": [
        "SET s abc",
        "BITFIELD s GET u1 0 GET u1 1 GET u1 7 GET u1 1000",
        "BITFIELD s SET u1 3 1 GET u1 3 SET u1 3 0 SET u1 3 0",
        "GET s",
        "BITFIELD missing GET u1 100 GET u1 4294967295",
        "EXISTS missing",
        "BITFIELD grown SET u1 100 0",
        "STRLEN grown",
        "BITFIELD_RO s GET u1 1 GET u1 2",
        "BITFIELD_RO s SET u1 1 1",
        "BITFIELD s get u1 0 set u1 1 1",
        "BITFIELD s GET u1 4294967296",
        "BITFIELD s GET u1 -1",
        "BITFIELD s GET u1 01",
        "BITFIELD s GET u1 #2",
        "BITFIELD s GET U1 0",
        "BITFIELD s SET u1 0 2",
        "BITFIELD s SET u1 0 -1",
        "BITFIELD s SET u1 0 x",
        "BITFIELD s GET u1",
        "BITFIELD s",
        "BITFIELD s GET u1 0 OVERFLOW SAT SET u1 0 1",
        "GET s",
    ],
    "bitfield-other-types": [
        "RPUSH l a",
        "BITFIELD l GET u1 0",
        "BITFIELD l SET u1 0 1",
        "HSET h f v",
        "BITFIELD h GET u1 0 GET u1 1",
        "XADD st 1-1 f v",
        "BITFIELD st GET u1 0",
        "BITFIELD st SET u1 0 1",
        "XLEN st",
        "GET st",
        "SET t x EX 100",
        "BITFIELD t SET u1 0 1",
        "TTL t",
        "GET t",
    ],
    "hset-pairs": [
        "HSET h a 1 b 2 a 3",
        "HGETALL h",
        "HSET h a 1 c 2",
        "HSET h a 1 c 2",
        "HLEN h",
        "EXPIRE h 100",
        "HSET h x 1 y 2",
        "TTL h",
        "SET s v",
        "HSET s a 1 b 2",
        "RPUSH l a",
        "HSET l a 1 b 2",
        "XADD st 1-1 f v",
        "HSET st a 1 b 2",
        "XLEN st",
        "HSET h a",
        "HSET h a 1 b",
    ],
    "zset-scores": [
        "ZADD z 12345678901234567 a 1e16 b -3 c 0.1 d 1e17 e 7 f 0 g 2.5e-8 h",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZREVRANGE z 0 2 WITHSCORES",
        "ZRANGE z 0 -1 withscores",
        "ZRANGEBYSCORE z -inf +inf WITHSCORES",
        "ZSCORE z a",
        "ZSCORE z d",
        "ZINCRBY z 1 f",
        "ZPOPMIN z",
        "ZPOPMAX z",
        "ZADD ints 1 a 2 b 30 c",
        "ZRANGE ints 0 -1 WITHSCORES",
        "ZRANGE ints 0 -1",
        "ZRANGE ints 00 -1",
        "ZRANGE ints -0 1",
        "ZRANGE ints 0 ' 1'",
        "ZRANGE missing 0 -1 WITHSCORES",
    ],
    "plain-numbers": [
        "RPUSH l a b c",
        "LINDEX l 1",
        "LINDEX l 01",
        "LINDEX l -0",
        "LINDEX l ''",
        "LINDEX l 1.0",
        "LINDEX l 99999999999999999999",
        "LRANGE l 0 -1",
        "LRANGE l +1 2",
        "ZADD z 1.5 a .5 b 5. c 1E2 d",
        "ZADD z 1e400 e",
        "ZADD z 1_0 f",
        "ZADD z 0x10 g",
        "ZADD z ' 1' h",
        "ZRANGE z 0 -1 WITHSCORES",
    ],
    "set-expiry-options": [
        "SET k v PX 100000",
        "TTL k",
        "SET k v ex 100",
        "TTL k",
        "SET k v EX 0",
        "SET k v PX -1",
        "SET k v PX 01",
        "SET k v EX 9999999999999999999",
        "SET k v EX x",
        "SET k v GET 5",
        "SET k w PX 100000 GET",
        "SET k v",
        "TTL k",
    ],
}


@pytest.mark.parametrize("case", sorted(SEQUENCES))
@pytest.mark.parametrize("where", ["memory", "file"])
def test_short_ways_answer_as_valkey(
    oracle: Any, where: str, case: str, tmp_path: Path
) -> None:
    db = raw(WalrusLite(":memory:" if where == "memory" else str(tmp_path / "s.rld")))
    try:
        assert_replays_as(oracle, db, case, SEQUENCES[case])
    finally:
        db.close()


@pytest.mark.skipif(not COMPILED, reason="the compiled calls are not in use")
def test_typed_and_many_give_what_ctypes_gives() -> None:
    lib = library()
    replies: list[list[Any]] = []
    for typed, many, read in (
        (compiled.typed, compiled.many, compiled.read),
        (lib.ctypes_typed, lib.ctypes_many, lib.ctypes_read),
    ):
        handle = lib.connect(b":memory:", 0)
        try:
            wrong = ErrorReply("WRONGTYPE")
            many(handle, [[b"ZADD", b"z", b"1", b"a"], [b"RPUSH", b"l", b"x"]])
            replies.append(
                [
                    typed(handle, [b"ZRANGE", b"z", b"0", b"-1"], b"zset", 1, 2, wrong),
                    typed(handle, [b"ZRANGE", b"l", b"0", b"-1"], b"zset", 1, 2, wrong),
                    typed(handle, [b"ZRANGE", b"n", b"0", b"-1"], b"zset", 1, 2, wrong),
                    typed(handle, [b"SUNION", b"no", b"l"], b"set", 1, 3, wrong),
                    typed(handle, [b"SUNION", b"no", b"other"], b"set", 1, 3, wrong),
                    typed(handle, [b"NOSUCH", b"x"], b"zset", 1, 1, wrong),
                    many(handle, []),
                    many(
                        handle,
                        ([b"MULTI"], [b"GET", b"l"], [b"LLEN", b"l"], [b"EXEC"]),
                    ),
                    many(handle, [[b"MSETNX", b"m", b"1", b"m", b"2"], [b"GET", b"m"]]),
                    read(handle, b"a", wrong, [b"GET", b"m"]),
                    read(handle, b"1", wrong, [b"GET", b"m"]),
                    read(handle, b"1", wrong, [b"GET", b"none"]),
                    read(handle, b"", wrong, [b"LLEN", b"l"]),
                    read(handle, b"b", wrong, [b"NOSUCH"]),
                ]
            )
        finally:
            lib.free(handle)
    assert replies[0] == replies[1]
    first = replies[0]
    wrong = ErrorReply("WRONGTYPE")
    assert first[0] == [b"a"] and first[1] == wrong and first[2] == []
    assert first[3] == wrong and first[4] == []
    assert isinstance(first[5], ErrorReply) and first[6] == []
    assert first[7][-1][1] == 1 and isinstance(first[7][-1][0], ErrorReply)
    assert first[8][1] in (b"1", b"2")  # MSETNX's extra reply drained
    assert first[9] == first[8][1] and first[11] is None and first[12] == 1
    assert first[10] == (wrong if first[8][1] == b"1" else b"2")
    assert isinstance(first[13], ErrorReply)


_INT = re.compile(rb"0|-?[1-9][0-9]{0,17}")
_NUMBER = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


@given(st.binary(max_size=24) | st.from_regex(_NUMBER, fullmatch=True))
def test_shape_checks_are_the_regular_expressions_they_replace(raw: bytes) -> None:
    assert plain_int(raw) == (_INT.fullmatch(raw) is not None)
    assert _decimal(raw) == (_NUMBER.fullmatch(raw) is not None)


@pytest.mark.parametrize("digits", [b"0", b"-0", b"00", b"1" * 18, b"1" * 19, b""])
def test_plain_int_edges(digits: bytes) -> None:
    assert plain_int(digits) == (_INT.fullmatch(digits) is not None)


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
def test_zrange_shortcut_is_redis_py_zrange(decode: bool) -> None:
    db = WalrusLite(decode_responses=decode)
    try:
        db.zadd("z", {"a": 1.5, "b": 0.1, "c": 3, "d": 1e17})
        for kwargs in (
            {},
            {"withscores": True},
            {"withscores": False},
            {"withscores": 1},
            {"desc": True, "withscores": True},
            {"withscores": True, "score_cast_func": int},
            {"byscore": True},
        ):
            start, end = (0, -1) if "byscore" not in kwargs else (0, 2)
            mine = db.zrange("z", start, end, **kwargs)
            generic = redis.Redis.zrange(db, "z", start, end, **kwargs)
            assert mine == generic, kwargs
        assert db.zrange("z", 0, 1, False, True) == [
            ("b" if decode else b"b", 0.1),
            ("a" if decode else b"a", 1.5),
        ]
        db.set("s", "x")
        with pytest.raises(walrus.WrongType):
            db.zrange("s", 0, -1, withscores=True)
    finally:
        db.close()


class _Number(enum.IntEnum):
    SEVEN = 7


@pytest.mark.skipif(compiled is None, reason="the C accelerator was not built")
def test_compiled_pack_encodes_numbers_as_redis_py() -> None:
    encoder = redis.connection.Encoder("utf-8", "strict", False)
    values = (0, -1, 2**70, 1.5, -0.0, 1e-300, float("inf"), _Number.SEVEN, "é", b"\0")
    assert compiled.pack(values, encoder.encode) == [encoder.encode(v) for v in values]
    assert compiled.pack(values, encoder.encode) == _pack_utf8(values, encoder.encode)
    with pytest.raises(redis.DataError):
        compiled.pack((True,), encoder.encode)
