"""Throw random, unknown, wrong-arity and wrong-type commands at WalrusLite.

Run as a script (``python tests/rlite_fuzz.py SEED COUNT [PATH]``) by
``test_rlite.py``, in a subprocess: it prints each command before sending
it, so if the engine ever killed the interpreter the parent sees the exit
signal and the last command. Every command must return a value or raise a
walrus exception (or redis-py's DataError for an argument it cannot encode).
"""

from __future__ import annotations

import random
import sys

from redis.exceptions import DataError, ResponseError

from walrus import WalrusError
from walrus.tusks.rlite import WalrusLite

COMMANDS = """
GET SET SETNX SETEX PSETEX MGET MSET MSETNX INCR INCRBY INCRBYFLOAT DECR
DECRBY APPEND GETRANGE SETRANGE STRLEN GETSET GETDEL GETBIT SETBIT BITCOUNT
BITOP BITPOS BITFIELD DEL UNLINK EXISTS EXPIRE EXPIREAT PEXPIRE PEXPIREAT
TTL PTTL PERSIST TYPE KEYS SCAN RENAME RENAMENX DUMP RESTORE RANDOMKEY
OBJECT SORT MOVE COPY TOUCH HSET HGET HMGET HMSET HDEL HEXISTS HGETALL HKEYS
HVALS HLEN HINCRBY HINCRBYFLOAT HSETNX HSCAN HSTRLEN HRANDFIELD LPUSH RPUSH
LPOP RPOP LLEN LRANGE LINDEX LSET LREM LTRIM LINSERT RPOPLPUSH LMOVE LPUSHX
RPUSHX LPOS SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER
SINTER SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN SMOVE ZADD ZREM
ZSCORE ZMSCORE ZINCRBY ZCARD ZCOUNT ZRANK ZREVRANK ZRANGE ZREVRANGE
ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZLEXCOUNT
ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZINTERSTORE ZUNIONSTORE
ZSCAN ZPOPMIN ZPOPMAX ZRANGESTORE PFADD PFCOUNT PFMERGE EVAL EVALSHA SCRIPT
MULTI EXEC DISCARD WATCH UNWATCH PUBLISH PING ECHO DBSIZE INFO TIME SELECT
CONFIG CLIENT COMMAND XADD XRANGE XLEN NOSUCHCOMMAND
""".split()  # noqa: SIM905

WORDS = [
    "k",
    "e",
    "h",
    "l",
    "s",
    "z",
    "n",
    "0",
    "1",
    "-1",
    "2",
    "10",
    "1.5",
    "-inf",
    "+inf",
    "(1",
    "[a",
    "-",
    "+",
    "*",
    "WITHSCORES",
    "LIMIT",
    "NX",
    "XX",
    "GT",
    "CH",
    "INCR",
    "BYSCORE",
    "REV",
    "GET",
    "STORE",
    "BY",
    "ALPHA",
    "DESC",
    "MATCH",
    "COUNT",
    "TYPE",
    "WEIGHTS",
    "AGGREGATE",
    "SUM",
    "MAX",
    "BEFORE",
    "AFTER",
    "LEFT",
    "RIGHT",
    "EX",
    "PX",
    "KEEPTTL",
    "FLUSH",
    "LOAD",
    "u8",
    "i16",
    "OVERFLOW",
    "FAIL",
    "ü",
    "",
    "\x00",
    "x" * 300,
    "9223372036854775807",
    "nan",
]
SETUP = [
    ("SET", "k", "hello"),
    ("SET", "e", ""),
    ("SET", "n", "10"),
    ("HSET", "h", "f", "v"),
    ("RPUSH", "l", "a", "b", "c"),
    ("SADD", "s", "a", "b"),
    ("ZADD", "z", "1", "a"),
    ("PFADD", "p", "a"),
]


def main() -> None:
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    path = sys.argv[3] if len(sys.argv) > 3 else ":memory:"
    rng = random.Random(seed)
    db = WalrusLite(path)
    outcomes = {"ok": 0, "error": 0}
    for step in range(count):
        if step % 50 == 0:
            db.delete(*[command[1] for command in SETUP])
            for command in SETUP:
                db.execute_command(*command)
        command = [rng.choice(COMMANDS)] + [
            rng.choice(WORDS) for _ in range(rng.randint(0, 6))
        ]
        if rng.random() < 0.2:  # the same command from inside a Lua script
            call = rng.choice(["redis.call", "redis.pcall"])
            command = ["EVAL", f"return {call}(unpack(ARGV))", "0", *command]
        print(repr(command), flush=True)
        try:
            db.execute_command(*command)
            outcomes["ok"] += 1
        except (WalrusError, ResponseError, DataError):
            outcomes["error"] += 1
    db.close()
    print(f"survived {count} commands: {outcomes}", flush=True)


if __name__ == "__main__":
    main()
