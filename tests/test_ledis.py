"""The ledisdb driver's command mapping, tested without a server.

No ledisdb server can be installed here (engines.md §1.3), so these tests
check the pure translation layer: for each Redis command, which ledisdb
commands are sent in which round trips, and what reply comes back from given
ledisdb replies. The ledisdb replies fed in are what its documentation says
it answers; they were never observed from a real server. A few tests run
``LedisDatabase`` itself with its ``send_batch`` replaced by such a script,
to check the redis-py side (callbacks, decoding, pipelines), and one test
runs the transport on the suite's Valkey server (not ledisdb).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest
from redis.exceptions import ResponseError
from support import EXTERNAL_URL

from walrus import UnsupportedOperation
from walrus.drivers.ledis.commands import PASS_THROUGH, translate
from walrus.drivers.ledis.commands import UNSUPPORTED as UNSUPPORTED_NAMES
from walrus.drivers.ledis.database import LedisDatabase
from walrus.drivers.ledis.plan import (
    Context,
    Kind,
    decode_cursor,
    drive,
    drive_many,
    encode_cursor,
    int_score,
    score_bound,
)
from walrus.tusks.ledisdb import WalrusLedis

NOW = 1_000_000.0
CTX = Context(rng=random.Random(7), now=lambda: NOW)

Round = tuple[list[str], list[Any]]  # the commands sent (space-separated), replies


def words(command: str) -> tuple[bytes, ...]:
    return tuple(w.encode() for w in command.split(" "))


def run(command: str | Sequence[bytes], rounds: Sequence[Round]) -> tuple[Kind, Any]:
    """Drive the plan of ``command``, checking each batch sent; (kind, reply)."""
    args = list(words(command)) if isinstance(command, str) else list(command)
    plan = translate(args, CTX)
    script = iter(rounds)

    def send(batch: list[tuple[bytes, ...]]) -> list[Any]:
        expected, replies = next(script)
        assert batch == [words(c) for c in expected]
        assert len(replies) == len(batch)
        return list(replies)

    reply = drive(plan, send, lambda a: translate(a, CTX))
    assert next(script, None) is None, "fewer round trips than expected"
    return plan.kind, reply


def clears(key: str) -> list[str]:
    return [f"{verb} {key}" for verb in ("DEL", "HCLEAR", "LCLEAR", "SCLEAR", "ZCLEAR")]


def probes(key: str) -> list[str]:
    verbs = ("EXISTS", "HKEYEXISTS", "LKEYEXISTS", "SKEYEXISTS", "ZKEYEXISTS")
    return [f"{verb} {key}" for verb in verbs]


def per_type(verb: str, key: str, *rest: str) -> list[str]:
    tail = " ".join(rest)
    return [f"{p}{verb} {key} {tail}".strip() for p in ("", "H", "L", "S", "Z")]


P, R, D, E = Kind.PASS, Kind.REWRITE, Kind.DISPATCH, Kind.EMULATE
OK = b"OK"

# (Redis command, kind, rounds, reply)
TABLE: list[tuple[str, Kind, list[Round], Any]] = [
    # -- pass-through
    ("GET k", P, [(["GET k"], [b"v"])], b"v"),
    ("LPUSH l a b", P, [(["LPUSH l a b"], [2])], 2),
    ("SADD s a", P, [(["SADD s a"], [1])], 1),
    ("HSET h f v", P, [(["HSET h f v"], [1])], 1),
    ("ZSCORE z a", P, [(["ZSCORE z a"], [3])], b"3"),
    ("ZRANK z a", P, [(["ZRANK z a"], [0])], 0),
    ("LPOP l", P, [(["LPOP l"], [b"a"])], b"a"),
    ("BLPOP l 0", P, [(["BLPOP l 0"], [[b"l", b"a"]])], [b"l", b"a"]),
    ("ZRANGE z 0 -1 WITHSCORES", P, [(["ZRANGE z 0 -1 WITHSCORES"], [[]])], []),
    # -- keyspace, one command per type namespace
    ("DEL a b", D, [([*clears("a"), *clears("b")], [0, 2, 0, 0, 0, 0] + [0] * 4)], 1),
    ("UNLINK a", D, [(clears("a"), [1, 0, 0, 0, 3])], 1),
    ("EXISTS a a", D, [([*probes("a"), *probes("a")], [0, 0, 1, 0, 0] * 2)], 2),
    ("TYPE k", D, [(probes("k"), [0, 0, 0, 1, 0])], b"set"),
    ("TYPE k", D, [(probes("k"), [0] * 5)], b"none"),
    (
        "TTL k",
        D,
        [(probes("k") + per_type("TTL", "k"), [0, 1, 0, 0, 0, -1, 9, -1, -1, -1])],
        9,
    ),
    (
        "TTL k",
        D,
        [(probes("k") + per_type("TTL", "k"), [0, 1, 0, 0, 0] + [-1] * 5)],
        -1,
    ),
    ("TTL k", D, [(probes("k") + per_type("TTL", "k"), [0] * 5 + [-1] * 5)], -2),
    (
        "PTTL k",
        D,
        [(probes("k") + per_type("TTL", "k"), [1, 0, 0, 0, 0, 3, 0, 0, 0, 0])],
        3000,
    ),
    ("PERSIST k", D, [(per_type("PERSIST", "k"), [0, 0, 1, 0, 0])], 1),
    ("EXPIRE k 10", D, [(per_type("EXPIRE", "k", "10"), [0, 1, 0, 0, 0])], 1),
    ("PEXPIRE k 1500", D, [(per_type("EXPIRE", "k", "2"), [0] * 5)], 0),
    ("PEXPIRE k 1", D, [(per_type("EXPIRE", "k", "1"), [1, 0, 0, 0, 0])], 1),
    ("EXPIRE k 0", D, [(clears("k"), [0, 4, 0, 0, 0])], 1),
    (
        "EXPIREAT k 1000010",
        D,
        [(per_type("EXPIREAT", "k", "1000010"), [1] + [0] * 4)],
        1,
    ),
    ("PEXPIREAT k 1000010001", D, [(per_type("EXPIREAT", "k", "1000011"), [0] * 5)], 0),
    ("EXPIREAT k 999999", D, [(clears("k"), [1, 0, 0, 0, 0])], 1),
    ("DUMP k", D, [(probes("k"), [0, 0, 1, 0, 0]), (["LDUMP k"], [b"x"])], b"x"),
    ("DUMP k", D, [(probes("k"), [0] * 5)], None),
    (
        "SORT l ALPHA DESC",
        D,
        [
            (["LKEYEXISTS l", "SKEYEXISTS l", "ZKEYEXISTS l"], [0, 1, 0]),
            (["XSSORT l ALPHA DESC"], [[b"b", b"a"]]),
        ],
        [b"b", b"a"],
    ),
    ("SORT l", D, [(["LKEYEXISTS l", "SKEYEXISTS l", "ZKEYEXISTS l"], [0, 0, 0])], []),
    # -- expiry options, emulated from a TTL probe
    (
        "EXPIRE k 5 NX",
        E,
        [
            (probes("k") + per_type("TTL", "k"), [0, 1, 0, 0, 0] + [-1] * 5),
            (per_type("EXPIRE", "k", "5"), [0, 1, 0, 0, 0]),
        ],
        1,
    ),
    (
        "EXPIRE k 5 GT",
        E,
        [(probes("k") + per_type("TTL", "k"), [0, 1, 0, 0, 0, -1, 9, -1, -1, -1])],
        0,
    ),
    (
        "EXPIRE k 5 LT",
        E,
        [
            (probes("k") + per_type("TTL", "k"), [0, 1, 0, 0, 0, -1, 9, -1, -1, -1]),
            (per_type("EXPIRE", "k", "5"), [0, 1, 0, 0, 0]),
        ],
        1,
    ),
    ("EXPIRE k 5 XX", E, [(probes("k") + per_type("TTL", "k"), [0] * 5 + [-1] * 5)], 0),
    # -- strings
    ("SET k v", R, [(["SET k v", "PERSIST k"], [OK, 0])], OK),
    ("SET k v EX 10", R, [(["SETEX k 10 v"], [OK])], OK),
    ("SET k v PX 1001", R, [(["SETEX k 2 v"], [OK])], OK),
    ("SET k v EXAT 1000100", R, [(["SET k v", "EXPIREAT k 1000100"], [OK, 1])], OK),
    ("SET k v NX", E, [(["SETNX k v"], [1])], OK),
    ("SET k v NX PX 2500", E, [(["SETNX k v"], [1]), (["EXPIRE k 3"], [1])], OK),
    ("SET k v NX EX 9", E, [(["SETNX k v"], [0])], None),
    ("SET k v XX", E, [(["EXISTS k", "GET k", "TTL k"], [0, None, -1])], None),
    (
        "SET k v XX GET",
        E,
        [
            (["EXISTS k", "GET k", "TTL k"], [1, b"old", -1]),
            (["SET k v", "PERSIST k"], [OK, 0]),
        ],
        b"old",
    ),
    (
        "SET k v KEEPTTL",
        E,
        [(["EXISTS k", "GET k", "TTL k"], [1, b"o", 40]), (["SETEX k 40 v"], [OK])],
        OK,
    ),
    ("PSETEX k 1 v", R, [(["SETEX k 1 v"], [OK])], OK),
    ("MSET a 1 b 2", R, [(["MSET a 1 b 2", "PERSIST a", "PERSIST b"], [OK, 0, 0])], OK),
    ("MSETNX a 1 b 2", E, [(["EXISTS a", "EXISTS b"], [0, 1])], 0),
    (
        "MSETNX a 1",
        E,
        [(["EXISTS a"], [0]), (["MSET a 1", "PERSIST a"], [OK, 0])],
        1,
    ),
    ("GETSET k v", R, [(["GETSET k v", "PERSIST k"], [b"o", 0])], b"o"),
    ("GETDEL k", R, [(["GET k", "DEL k"], [b"v", 1])], b"v"),
    ("GETEX k PX 1200", R, [(["GET k", "EXPIRE k 2"], [b"v", 1])], b"v"),
    ("GETEX k PERSIST", R, [(["GET k", "PERSIST k"], [b"v", 1])], b"v"),
    (
        "INCRBYFLOAT k 0.5",
        E,
        [(["GET k", "TTL k"], [b"10", 7]), (["SETEX k 7 10.5"], [OK])],
        b"10.5",
    ),
    (
        "INCRBYFLOAT k 2",
        E,
        [(["GET k", "TTL k"], [None, -1]), (["SET k 2", "PERSIST k"], [OK, 0])],
        b"2",
    ),
    # -- hashes
    (
        "HSET h a 1 b 2 a 3",
        R,
        [(["HEXISTS h a", "HEXISTS h b", "HMSET h a 1 b 2 a 3"], [1, 0, OK])],
        1,
    ),
    ("HSETNX h f v", E, [(["HEXISTS h f"], [0]), (["HSET h f v"], [1])], 1),
    ("HSETNX h f v", E, [(["HEXISTS h f"], [1])], 0),
    (
        "HINCRBYFLOAT h f 1.25",
        E,
        [(["HGET h f"], [b"1"]), (["HSET h f 2.25"], [0])],
        b"2.25",
    ),
    ("HSTRLEN h f", R, [(["HGET h f"], [b"four"])], 4),
    ("HSTRLEN h f", R, [(["HGET h f"], [None])], 0),
    (
        "HSCAN h 0 MATCH a* COUNT 100",
        R,
        [(["XHSCAN h  COUNT 100"], [[b"b", [b"ab", b"1", b"b", b"2"]]])],
        [encode_cursor(0, b"b"), [b"ab", b"1"]],
    ),
    (
        "HSCAN h 0 NOVALUES",
        R,
        [(["XHSCAN h  COUNT 10"], [[b"", [b"a", b"1"]]])],
        [b"0", [b"a"]],
    ),
    # -- lists
    (
        "LPOP l 2",
        E,
        [(["LRANGE l 0 1", "LTRIM l 2 -1"], [[b"a", b"b"], OK])],
        [b"a", b"b"],
    ),
    ("LPOP l 2", E, [(["LRANGE l 0 1", "LTRIM l 2 -1"], [[], OK])], None),
    (
        "RPOP l 2",
        E,
        [(["LRANGE l -2 -1", "LTRIM l 0 -3"], [[b"b", b"c"], OK])],
        [b"c", b"b"],
    ),
    ("LPUSHX l a", E, [(["LKEYEXISTS l"], [0])], 0),
    ("RPUSHX l a", E, [(["LKEYEXISTS l"], [1]), (["RPUSH l a"], [3])], 3),
    (
        "LREM l -1 a",
        E,
        [
            (["LRANGE l 0 -1", "LTTL l"], [[b"a", b"b", b"a"], 30]),
            (["LCLEAR l", "RPUSH l a b", "LEXPIRE l 30"], [3, 2, 1]),
        ],
        1,
    ),
    ("LREM l 0 z", E, [(["LRANGE l 0 -1", "LTTL l"], [[b"a"], -1])], 0),
    (
        "LREM l 0 a",
        E,
        [(["LRANGE l 0 -1", "LTTL l"], [[b"a"], -1]), (["LCLEAR l"], [1])],
        1,
    ),
    (
        "LINSERT l AFTER a x",
        E,
        [
            (["LRANGE l 0 -1", "LTTL l"], [[b"a", b"b"], -1]),
            (["LCLEAR l", "RPUSH l a x b"], [2, 3]),
        ],
        3,
    ),
    ("LINSERT l BEFORE z x", E, [(["LRANGE l 0 -1", "LTTL l"], [[b"a"], -1])], -1),
    ("LINSERT l BEFORE z x", E, [(["LRANGE l 0 -1", "LTTL l"], [[], -1])], 0),
    ("LPOS l a", E, [(["LRANGE l 0 -1"], [[b"b", b"a", b"a"]])], 1),
    (
        "LPOS l a RANK -1 COUNT 0",
        E,
        [(["LRANGE l 0 -1"], [[b"a", b"b", b"a"]])],
        [2, 0],
    ),
    ("LMOVE a b RIGHT LEFT", R, [(["RPOPLPUSH a b"], [b"x"])], b"x"),
    ("BLMOVE a b RIGHT LEFT 0", R, [(["BRPOPLPUSH a b 0"], [b"x"])], b"x"),
    ("LMOVE a b LEFT RIGHT", E, [(["LPOP a"], [b"x"]), (["RPUSH b x"], [1])], b"x"),
    ("LMOVE a b LEFT RIGHT", E, [(["LPOP a"], [None])], None),
    # -- sets
    ("SPOP s", E, [(["SMEMBERS s"], [[b"a"]]), (["SREM s a"], [1])], b"a"),
    ("SPOP s", E, [(["SMEMBERS s"], [[]])], None),
    ("SPOP s 5", E, [(["SMEMBERS s"], [[b"a"]]), (["SREM s a"], [1])], [b"a"]),
    ("SRANDMEMBER s", E, [(["SMEMBERS s"], [[b"a"]])], b"a"),
    ("SRANDMEMBER s -2", E, [(["SMEMBERS s"], [[b"a"]])], [b"a", b"a"]),
    ("SRANDMEMBER s 3", E, [(["SMEMBERS s"], [[]])], []),
    (
        "SMOVE a b m",
        E,
        [(["SISMEMBER a m"], [1]), (["SREM a m", "SADD b m"], [1, 1])],
        1,
    ),
    ("SMOVE a b m", E, [(["SISMEMBER a m"], [0])], 0),
    ("SMISMEMBER s a b", R, [(["SISMEMBER s a", "SISMEMBER s b"], [1, 0])], [1, 0]),
    ("SSCAN s 0", R, [(["XSSCAN s  COUNT 10"], [[b"", [b"a"]]])], [b"0", [b"a"]]),
    # -- sorted sets
    ("ZADD z 1 a 2.0 b", R, [(["ZADD z 1 a 2 b"], [2])], 2),
    ("ZADD z 1e3 a", R, [(["ZADD z 1000 a"], [1])], 1),
    (
        "ZADD z NX 1 a 2 b",
        E,
        [(["ZSCORE z a", "ZSCORE z b"], [b"5", None]), (["ZADD z 2 b"], [1])],
        1,
    ),
    ("ZADD z XX 1 a", E, [(["ZSCORE z a"], [None])], 0),
    (
        "ZADD z XX CH 1 a",
        E,
        [(["ZSCORE z a"], [b"4"]), (["ZADD z 1 a"], [0])],
        1,
    ),
    ("ZADD z GT 1 a", E, [(["ZSCORE z a"], [b"4"])], 0),
    ("ZADD z LT CH 1 a", E, [(["ZSCORE z a"], [b"4"]), (["ZADD z 1 a"], [0])], 1),
    ("ZADD z INCR 3 a", E, [(["ZSCORE z a"], [b"4"]), (["ZADD z 7 a"], [0])], b"7"),
    ("ZADD z NX INCR 3 a", E, [(["ZSCORE z a"], [b"4"])], None),
    ("ZINCRBY z 2.0 a", R, [(["ZINCRBY z 2 a"], [5])], b"5"),
    ("ZMSCORE z a b", R, [(["ZSCORE z a", "ZSCORE z b"], [b"1", None])], [b"1", None]),
    ("ZRANK z a WITHSCORE", R, [(["ZRANK z a", "ZSCORE z a"], [2, b"9"])], [2, b"9"]),
    (
        "ZREVRANK z a WITHSCORE",
        R,
        [(["ZREVRANK z a", "ZSCORE z a"], [None, None])],
        None,
    ),
    ("ZCOUNT z (1.5 2.5", R, [(["ZCOUNT z 2 2"], [1])], 1),
    ("ZCOUNT z (1 +inf", P, [(["ZCOUNT z (1 +inf"], [1])], 1),
    ("ZCOUNT z -inf inf", R, [(["ZCOUNT z -inf +inf"], [1])], 1),
    ("ZCOUNT z 1 2", P, [(["ZCOUNT z 1 2"], [1])], 1),
    ("ZREMRANGEBYSCORE z 0.5 (3.0", R, [(["ZREMRANGEBYSCORE z 1 (3"], [2])], 2),
    (
        "ZRANGEBYSCORE z -inf (2.5 WITHSCORES LIMIT 0 5",
        R,
        [(["ZRANGEBYSCORE z -inf 2 WITHSCORES LIMIT 0 5"], [[b"a", b"1"]])],
        [b"a", b"1"],
    ),
    ("ZREVRANGEBYSCORE z 2.5 0.5", R, [(["ZREVRANGEBYSCORE z 2 1"], [[]])], []),
    ("ZRANGE z 0 -1 REV WITHSCORES", R, [(["ZREVRANGE z 0 -1 WITHSCORES"], [[]])], []),
    (
        "ZRANGE z 1 5.5 BYSCORE LIMIT 1 2",
        R,
        [(["ZRANGEBYSCORE z 1 5 LIMIT 1 2"], [[b"b"]])],
        [b"b"],
    ),
    ("ZRANGE z (5 1 BYSCORE REV", R, [(["ZREVRANGEBYSCORE z (5 1"], [[]])], []),
    ("ZRANGE z [a [c BYLEX", R, [(["ZRANGEBYLEX z [a [c"], [[b"a"]])], [b"a"]),
    (
        "ZRANGE z [c [a BYLEX REV LIMIT 1 1",
        E,
        [(["ZRANGEBYLEX z [a [c"], [[b"a", b"b", b"c"]])],
        [b"b"],
    ),
    (
        "ZREVRANGEBYLEX z + -",
        E,
        [(["ZRANGEBYLEX z - +"], [[b"a", b"b"]])],
        [b"b", b"a"],
    ),
    (
        "ZPOPMIN z 2",
        E,
        [(["ZRANGE z 0 1 WITHSCORES", "ZREMRANGEBYRANK z 0 1"], [[b"a", 1], 1])],
        [b"a", b"1"],
    ),
    (
        "ZPOPMAX z",
        E,
        [(["ZREVRANGE z 0 0 WITHSCORES", "ZREMRANGEBYRANK z -1 -1"], [[], 0])],
        [],
    ),
    (
        "ZUNIONSTORE d 2 a b WEIGHTS 1 2.0 AGGREGATE MAX",
        R,
        [(["ZUNIONSTORE d 2 a b WEIGHTS 1 2 AGGREGATE MAX"], [3])],
        3,
    ),
    ("ZINTERSTORE d 2 a b", P, [(["ZINTERSTORE d 2 a b"], [0])], 0),
    (
        "ZSCAN z 0 MATCH b",
        R,
        [(["XZSCAN z  COUNT 10"], [[b"", [b"a", 1, b"b", 2]]])],
        [b"0", [b"b", b"2"]],
    ),
    # -- keyspace scans
    (
        "SCAN 0 COUNT 5",
        E,
        [(["XSCAN KV  COUNT 5"], [[b"k9", [b"k1", b"k9"]]])],
        [encode_cursor(0, b"k9"), [b"k1", b"k9"]],
    ),
    (
        "KEYS *",
        E,
        [
            (["XSCAN KV  COUNT 1000"], [[b"", [b"a"]]]),
            (["XSCAN HASH  COUNT 1000"], [[b"", [b"a", b"h"]]]),
            (["XSCAN LIST  COUNT 1000"], [[b"", []]]),
            (["XSCAN SET  COUNT 1000"], [[b"", []]]),
            (["XSCAN ZSET  COUNT 1000"], [[b"", [b"z"]]]),
        ],
        [b"a", b"h", b"z"],
    ),
    (
        "DBSIZE",
        E,
        [
            (["XSCAN KV  COUNT 1000"], [[b"a", [b"a"]]]),
            (["XSCAN KV a COUNT 1000"], [[b"", [b"b"]]]),
            (["XSCAN HASH  COUNT 1000"], [[b"", [b"a"]]]),
            (["XSCAN LIST  COUNT 1000"], [[b"", []]]),
            (["XSCAN SET  COUNT 1000"], [[b"", []]]),
            (["XSCAN ZSET  COUNT 1000"], [[b"", []]]),
        ],
        2,
    ),
]


@pytest.mark.parametrize(
    ("command", "kind", "rounds", "reply"), TABLE, ids=[t[0] for t in TABLE]
)
def test_translation(command: str, kind: Kind, rounds: list[Round], reply: Any) -> None:
    got_kind, got = run(command, rounds)
    assert got == reply
    assert got_kind == kind


UNSUPPORTED = [
    ("XADD s * a 1", "streams"),
    ("PFADD h a", "HyperLogLog"),
    ("PUBLISH c m", "pub/sub"),
    ("MULTI", "transactions"),
    ("WATCH k", "transactions"),
    ("BITFIELD b GET u8 0", "BITFIELD"),
    ("BZPOPMIN z 0", "blocking"),
    ("HEXPIRE h 10 FIELDS 1 f", "hash-field expiry"),
    ("RENAME a b", "rename"),
    ("OBJECT ENCODING k", "rename"),
    ("NOSUCHCOMMAND k", "command map"),
    ("ZADD z 1.5 a", "int64"),
    ("ZADD z inf a", "int64"),
    ("ZADD z NX 0.25 a", "int64"),
    (f"ZADD z {2**63} a", "outside int64"),
    ("ZINCRBY z 0.5 a", "int64"),
    ("ZUNIONSTORE d 2 a b WEIGHTS 1 0.5", "int64"),
    ("BLMOVE a b LEFT RIGHT 0", "RIGHT LEFT"),
]


@pytest.mark.parametrize(
    ("command", "reason"), UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED]
)
def test_unsupported_commands_raise_before_sending(command: str, reason: str) -> None:
    with pytest.raises(UnsupportedOperation, match=reason) as caught:
        translate(list(words(command)), CTX)
    assert caught.value.backend == "ledis"


ERRORS = [
    ("SET k v EX 0", "invalid expire"),
    ("SET k v BOGUS", "syntax"),
    ("HSET h f", "wrong number"),
    ("TYPE", "wrong number"),
    ("ZADD z NX XX 1 a", "not compatible"),
    ("ZADD z INCR 1 a 2 b", "INCR"),
    ("ZADD z 1", "syntax"),
    ("ZADD z x a", "not a valid float"),
    ("ZRANGE z 0 1 LIMIT 0 1", "LIMIT"),
    ("ZRANGE z 0 1 BOGUS", "syntax"),
    ("LPOP l -1", "out of range"),
    ("LINSERT l MIDDLE a b", "syntax"),
    ("LPOS l a RANK 0", "RANK"),
    ("EXPIRE k 10 NX XX", "not compatible"),
    ("EXPIRE k ten", "not an integer"),
    ("SCAN x", "cursor"),
    ("SCAN 0 COUNT", "syntax"),
    ("WALRUS.OP nothing 0", "no named operation"),
]


@pytest.mark.parametrize(("command", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_arguments_answer_an_error_without_sending(
    command: str, message: str
) -> None:
    _kind, reply = run(command, [])
    assert isinstance(reply, ResponseError)
    assert message in str(reply)


def test_an_error_reply_ends_a_plan() -> None:
    _, reply = run("HSETNX h f v", [(["HEXISTS h f"], [ResponseError("ERR boom")])])
    assert isinstance(reply, ResponseError)
    assert str(reply) == "ERR boom"


@pytest.mark.parametrize(
    ("raw", "lower", "bound"),
    [
        (b"1", True, b"1"),
        (b"(1", True, b"(1"),
        (b"1.5", True, b"2"),
        (b"1.5", False, b"1"),
        (b"(1.5", True, b"2"),
        (b"(1.5", False, b"1"),
        (b"-1.5", True, b"-1"),
        (b"-1.5", False, b"-2"),
        (b"2.0", True, b"2"),
        (b"(2.0", False, b"(2"),
        (b"-INF", True, b"-inf"),
        (b"inf", False, b"+inf"),
        (b"(1e400", False, b"+inf"),
    ],
)
def test_score_bounds_keep_their_meaning_over_integers(
    raw: bytes, lower: bool, bound: bytes
) -> None:
    assert score_bound(raw, lower) == bound


def test_integral_scores_are_normalized() -> None:
    assert int_score(b"3", "ZADD") == b"3"
    assert int_score(b"-3.0", "ZADD") == b"-3"
    assert int_score(b"1e18", "ZADD") == b"1000000000000000000"
    assert int_score(str(2**63 - 1).encode(), "ZADD") == str(2**63 - 1).encode()


@pytest.mark.parametrize(
    ("slot", "position"), [(0, b""), (0, b"a"), (4, b"\x00key\xff"), (2, b"\x00")]
)
def test_cursors_round_trip_through_integers(slot: int, position: bytes) -> None:
    cursor = encode_cursor(slot, position)
    assert int(cursor) > 0
    assert decode_cursor(cursor) == (slot, position)
    assert decode_cursor(b"0") == (0, b"")


def test_scan_walks_every_namespace_then_ends() -> None:
    cursor, seen = b"0", []
    pages = {b"KV": [b"a"], b"HASH": [b"h"], b"LIST": [], b"SET": [b"s"], b"ZSET": []}
    for _ in range(5):
        plan = translate([b"SCAN", cursor, b"MATCH", b"[ahz]"], CTX)

        def send(batch: list[tuple[bytes, ...]]) -> list[Any]:
            (command,) = batch
            return [[b"", pages[command[1]]]]

        cursor, keys = drive(plan, send, translate)
        seen += keys
    assert cursor == b"0"
    assert seen == [b"a", b"h"]


def test_scan_with_a_type_reads_one_namespace() -> None:
    _kind, reply = run(
        "SCAN 0 TYPE zset COUNT 50", [(["XSCAN ZSET  COUNT 50"], [[b"", [b"z"]]])]
    )
    assert reply == [b"0", [b"z"]]
    assert run("SCAN 0 TYPE stream", [])[1] == [b"0", []]


def test_scan_drops_the_cursor_key_if_the_server_repeats_it() -> None:
    cursor = encode_cursor(0, b"k1")
    plan = translate([b"SCAN", cursor], CTX)
    reply = drive(plan, lambda batch: [[b"", [b"k1", b"k2"]]], translate)
    assert reply == [encode_cursor(1, b""), [b"k2"]]


def test_dbsize_counts_keys_across_namespaces_once() -> None:
    def send(batch: list[tuple[bytes, ...]]) -> list[Any]:
        return [[b"", [b"a", b"b"]]]

    assert drive(translate([b"DBSIZE"], CTX), send, translate) == 2


def test_pipelines_merge_one_round_plans_and_keep_order() -> None:
    plans = [
        translate(list(words(c)), CTX)
        for c in ("GET a", "SET b 1", "DEL c", "SPOP s", "HLEN h", "LLEN l")
    ]
    sent: list[list[tuple[bytes, ...]]] = []
    answers = iter(
        [
            [b"1", OK, 0, 0, 0, 0, 0, 0],
            [[b"m"]],
            [1],
            [2, 3],
        ]
    )

    def send(batch: list[tuple[bytes, ...]]) -> list[Any]:
        sent.append(batch)
        return next(answers)

    assert drive_many(plans, send, translate) == [b"1", OK, 0, b"m", 2, 3]
    assert [len(b) for b in sent] == [8, 1, 1, 2]
    assert sent[2] == [(b"SREM", b"s", b"m")]


def test_named_operations_run_their_twin_through_the_translation() -> None:
    kind, reply = run(
        "WALRUS.OP cas 1 k old new",
        [
            (["GET k"], [b"old"]),
            (["EXISTS k", "GET k", "TTL k"], [1, b"old", 5]),  # SET KEEPTTL
            (["SETEX k 5 new"], [OK]),
        ],
    )
    assert (kind, reply) == (Kind.EMULATE, 1)


# -- the database: redis-py's side, over a scripted send_batch ------------------
class Scripted:
    """Answers each ledisdb command from a table; records what was sent."""

    def __init__(self, replies: dict[str, Any]) -> None:
        self.replies = replies
        self.round_trips: list[list[str]] = []

    def __call__(self, batch: list[tuple[bytes, ...]]) -> list[Any]:
        lines = [b" ".join(c).decode() for c in batch]
        self.round_trips.append(lines)
        return [self.replies[line] for line in lines]


def scripted(replies: dict[str, Any], **kwargs: Any) -> tuple[LedisDatabase, Scripted]:
    db = WalrusLedis(**kwargs)
    fake = Scripted(replies)
    db.send_batch = fake  # type: ignore[method-assign]
    return db, fake


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
def test_redis_py_methods_return_what_a_server_gives(decode: bool) -> None:
    db, fake = scripted(
        {
            "HEXISTS h a": 0,
            "HEXISTS h b": 1,
            "HMSET h a 1 b 2": OK,
            "EXISTS k": 0,
            "HKEYEXISTS k": 1,
            "LKEYEXISTS k": 0,
            "SKEYEXISTS k": 0,
            "ZKEYEXISTS k": 0,
            "ZRANGE z 0 -1 WITHSCORES": [b"a", b"1", b"b", b"2"],
            "SET s v": OK,
            "PERSIST s": 0,
            "ZSCORE z a": b"1",
            "ZINCRBY z 2 a": b"3",
        },
        decode_responses=decode,
    )
    text = (lambda s: s) if decode else (lambda s: s.encode())
    assert db.hset("h", mapping={"a": 1, "b": 2}) == 1
    assert db.type("k") == text("hash")
    assert db.zrange("z", 0, -1, withscores=True) == [
        (text("a"), 1.0),
        (text("b"), 2.0),
    ]
    assert db.set("s", "v") is True
    assert db.zscore("z", "a") == 1.0
    assert db.zincrby("z", 2, "a") == 3.0
    assert fake.round_trips[0] == ["HEXISTS h a", "HEXISTS h b", "HMSET h a 1 b 2"]


def test_unsupported_commands_send_nothing() -> None:
    db, fake = scripted({})
    with pytest.raises(UnsupportedOperation, match="streams"):
        db.xadd("s", {"a": 1})
    with pytest.raises(UnsupportedOperation, match="int64"):
        db.zadd("z", {"a": 0.5})
    with pytest.raises(UnsupportedOperation, match="pub/sub"):
        db.pubsub()
    with pytest.raises(UnsupportedOperation, match="MONITOR"):
        db.stream_log(lambda line: False)
    assert fake.round_trips == []


def test_error_replies_raise_redis_errors() -> None:
    db, _ = scripted({"INCRBY k 1": ResponseError("ERR value is not an integer")})
    with pytest.raises(ResponseError, match="not an integer"):
        db.incr("k")


def test_transactions_are_refused_unless_opened_non_atomic() -> None:
    db, fake = scripted({"GET a": b"1", "SET b 2": OK, "PERSIST b": 0})
    with pytest.raises(UnsupportedOperation, match="MULTI"):
        db.pipeline()
    with pytest.raises(UnsupportedOperation), db.atomic():
        pass
    pipe = db.pipeline(transaction=False)
    with pytest.raises(UnsupportedOperation, match="WATCH"):
        pipe.watch("a")
    with pytest.raises(UnsupportedOperation):
        pipe.multi()
    pipe.get("a")
    pipe.set("b", 2)
    assert pipe.execute() == [b"1", True]
    assert fake.round_trips == [["GET a", "SET b 2", "PERSIST b"]]

    relaxed, fake = scripted(
        {"SET b 2": OK, "PERSIST b": 0}, non_atomic_transactions=True
    )
    with relaxed.atomic() as atomic:
        atomic.set("b", 2)
    assert relaxed.atomic_results() == [True]


def test_pipeline_errors_are_reported_in_place() -> None:
    db, _ = scripted({"GET a": b"1", "INCRBY b 1": ResponseError("ERR not an integer")})
    pipe = db.pipeline(transaction=False)
    pipe.get("a")
    pipe.incr("b")
    first, second = pipe.execute(raise_on_error=False)
    assert first == b"1"
    assert isinstance(second, ResponseError)


def test_named_operations_and_scripts() -> None:
    db, fake = scripted(
        {
            "GET k": b"x",
            "EVAL return 1 1 k": 1,
        }
    )
    assert db.cas("k", "other", "new") is False
    assert fake.round_trips == [["GET k"]]
    assert db.eval("return 1", 1, "k") == 1


def test_user_scripts_without_a_twin_go_to_ledisdb_lua(tmp_path: Any) -> None:
    (tmp_path / "mine.lua").write_text("return 7\n")
    db, _fake = scripted({"EVAL return 7\n 0": 7}, script_dir=str(tmp_path))
    assert db.run_script("mine") == 7


def test_construction_and_urls() -> None:
    db = WalrusLedis.from_url("ledis://example:6399/3", decode_responses=True)
    kwargs = db.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("example", 6399, 3)
    assert kwargs["protocol"] == 2
    assert db.backend_name == "ledis"
    default = WalrusLedis().connection_pool.connection_kwargs
    assert (default["host"], default["port"], default["db"]) == ("localhost", 6380, 0)
    with pytest.raises(ValueError, match="RESP2"):
        WalrusLedis(protocol=3)
    native, _fake = scripted({"HCLEAR h": 2})
    assert native.ledis_command("HCLEAR", "h") == 2


def test_a_database_from_a_url_closes_its_connections(redis_db: Any) -> None:
    """``close()`` disconnects the pool ``from_url`` made (a Valkey server
    answers the native PING the driver sends as it is)."""
    kwargs = redis_db.connection_pool.connection_kwargs
    db = WalrusLedis.from_url(f"redis://{kwargs['host']}:{kwargs['port']}/0")
    assert db.ledis_command("PING") in (b"PONG", "PONG", True)
    (connection,) = db.connection_pool._available_connections
    assert connection._sock is not None
    db.close()
    assert connection._sock is None


def test_an_error_inside_a_twin_is_its_reply() -> None:
    _, reply = run("WALRUS.OP cas 1 k a b", [(["GET k"], [ResponseError("ERR no")])])
    assert isinstance(reply, ResponseError)


def test_the_database_satisfies_the_driver_protocol() -> None:
    from walrus.drivers.protocol import Capability, Driver

    db = WalrusLedis()
    assert isinstance(db, Driver)
    assert Capability.TRANSACTIONS not in db.capabilities
    assert Capability.WATCH not in db.capabilities
    assert Capability.PUBSUB not in db.capabilities


def test_a_bad_stored_value_is_an_error_reply() -> None:
    _, reply = run("INCRBYFLOAT k 1", [(["GET k", "TTL k"], [b"abc", -1])])
    assert isinstance(reply, ResponseError)
    assert "not a valid float" in str(reply)
    _, reply = run("LPOS l a", [(["LRANGE l 0 -1"], [[b"a"]])])
    assert reply == 0


def test_member_scans_drop_a_repeated_cursor_pair() -> None:
    cursor = encode_cursor(0, b"f1")
    plan = translate([b"HSCAN", b"h", cursor], CTX)
    reply = drive(plan, lambda batch: [[b"", [b"f1", b"1", b"f2", b"2"]]], translate)
    assert reply == [b"0", [b"f2", b"2"]]


def test_every_mapped_command_has_a_table_case() -> None:
    from walrus.drivers.ledis.commands import BUILDERS

    tabled = {c.split(" ")[0] for c, *_ in TABLE} | {"WALRUS.OP"}
    assert set(BUILDERS) - tabled == set()


@pytest.mark.parametrize("name", sorted(PASS_THROUGH))
def test_pass_through_commands_are_sent_as_they_are(name: str) -> None:
    plan = translate([name.lower().encode(), b"k", b"v"], CTX)
    assert plan.kind == Kind.PASS
    assert drive(plan, lambda batch: [batch[0]], translate) == (
        name.encode(),
        b"k",
        b"v",
    )


@pytest.mark.parametrize("name", sorted(UNSUPPORTED_NAMES))
def test_every_unsupported_command_names_its_reason(name: str) -> None:
    with pytest.raises(UnsupportedOperation) as caught:
        translate([name.encode(), b"k"], CTX)
    assert caught.value.reason == UNSUPPORTED_NAMES[name]


def test_the_transport_over_a_real_resp_server(servers: dict[str, Any]) -> None:
    """send_batch on a Valkey server (not ledisdb): one write, raw replies in
    order, error replies as values, the connection still usable after them."""
    if EXTERNAL_URL:
        db = WalrusLedis.from_url(EXTERNAL_URL, decode_responses=True)
    else:
        db = WalrusLedis(**servers["valkey"].connection_kwargs, decode_responses=True)
    db.flushdb()
    try:
        replies = db.send_batch(
            [
                (b"SET", b"t", b"1"),
                (b"NOSUCH",),
                (b"INCRBY", b"t", b"2"),
                (b"GET", b"t"),
            ]
        )
        assert replies[0] == b"OK"
        assert isinstance(replies[1], ResponseError)
        assert replies[2:] == [3, b"3"]
        assert db.ledis_command("GET", "t") == "3"
        pipe = db.pipeline(transaction=False)
        pipe.get("t")
        pipe.lpush("l", "a", "b")
        pipe.lrange("l", 0, -1)
        assert pipe.execute() == ["3", 2, ["b", "a"]]
    finally:
        db.flushdb()
        db.close()
