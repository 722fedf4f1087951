"""The work queue: every difference, crash and foreign exception the fuzzers
know about and that is not fixed yet.

Each entry names the engines, the command pattern (see :mod:`fuzz.known`:
one command per line, ``^NAME`` matches it inside pipelines too), what the
replies show (a regex over ``repr((server, engine))``) and the reason, and
says whether it is ``"to fix"`` or ``"deliberate"`` (a documented
``UnsupportedOperation`` or embedded-engine rule). Remove an entry when its
fix lands: the fuzzers then hold the engines to it.

* :data:`DIFFERENCES`: the differential fuzzer stops comparing an engine
  for the rest of an example at a step one of these explains (the state
  may differ from there on).
* :data:`CRASHES`: steps the crash fuzzer does not send to an engine,
  because they kill the interpreter there.
* :data:`FOREIGN`: exceptions other than walrus's or redis-py's that the
  crash fuzzer accepts for now (``replies`` matches the exception's repr).
"""

from __future__ import annotations

from fuzz.known import ALL, RLITE, Known

__all__ = ["CRASHES", "DIFFERENCES", "FOREIGN"]

DIFFERENCES: list[Known] = [
    # -- every embedded engine (the shared core, emulation and Lua) -----------------
    Known(
        ALL,
        r"^SCAN .*TYPE nosuch",
        "SCAN TYPE with an unknown type name: Valkey and Redis 7.2+ answer "
        "'unknown type name'; the engines answer as Redis 7.0, an empty scan",
        "deliberate",
        replies=r"unknown type name",
    ),
    Known(
        ALL,
        r"^(BITCOUNT|BITPOS) ",
        "BITCOUNT/BITPOS with a malformed range: Valkey and Redis 7.2+ refuse it "
        "first; the engines answer as Redis 7.0, which looks the key up first "
        "(a missing key counts 0, or -1/0 for BITPOS; another type is WRONGTYPE)",
        "deliberate",
        replies=r"^\(<ResponseError: '(?!WRONGTYPE)[^>]*>, "
        r"(<ResponseError: 'WRONGTYPE|-?\d+\)$)",
    ),
    Known(
        ALL,
        r"^Z(REV)?RANK .*WITHSCORE",
        "ZRANK/ZREVRANK WITHSCORE is Redis 7.2's: the engines answer as Redis "
        "7.0 (wrong number of arguments)",
        "deliberate",
        replies=r"wrong number of arguments",
    ),
    Known(
        ALL,
        r"^LSET \S+ -?92233720368547758\d\d ",
        "LSET with an index near -2**63 or 2**63: the server answers OK and "
        "may set the first or the last element (an overflow in its index "
        "arithmetic: index 2**63-1 sets the last); the engines: 'index out of "
        "range'",
        "deliberate",
        replies=r"^\(b'OK', <ResponseError: 'index out of range",
    ),
    Known(
        ALL,
        r"^SORT .*\bBY \S+ .*\bALPHA\b.*\bSTORE ",
        "SORT ... BY pattern ALPHA STORE: the order of elements whose weights "
        "tie (missing) is not defined (Redis's sort is not stable), so the "
        "stored lists may differ (the replies without STORE are compared "
        "unordered)",
        "deliberate",
        replies=r"^\(\[\(",
    ),
    Known(
        ALL,
        r"^EVAL",
        "an error caught by pcall inside a returned string: Valkey's wording "
        "('Command arguments must be ...'); the engines keep Redis 7.0's ('Lua "
        "redis lib command arguments must be ...')",
        "deliberate",
        replies=r"Lua redis lib command arguments",
    ),
    Known(
        ALL,
        r"^(ZADD|ZINCRBY|ZUNIONSTORE|ZINTERSTORE|ZDIFFSTORE|ZRANGESTORE) ",
        "a score of -0: the engines store 0, as Valkey and Redis store it in a "
        "small sorted set (listpack); in a large one (skiplist: a member over "
        "64 bytes, or over 128 members) the server keeps -0",
        "deliberate",
        replies=r"b'-0'",
    ),
    Known(
        ALL,
        r"^EVAL",
        "a blocking command from a script (redis.call('BLPOP', k, 0)): Valkey "
        "and Redis 7.2+ run it without blocking (nil); the engines refuse it, "
        "as Redis 7.0 does",
        "deliberate",
        replies=r"^\(None, <ResponseError: 'This Redis command is not allowed",
    ),
    # -- rlite ------------------------------------------------------------------------
    Known(
        RLITE,
        r"^(ZADD|ZINCRBY|ZUNIONSTORE|ZINTERSTORE|ZDIFFSTORE|ZRANGESTORE|GEOADD)",
        "a subnormal score (4.9e-324): rlite cannot store one (it reads back as "
        "garbage), so the driver raises UnsupportedOperation before writing",
        "deliberate",
        replies=r"UnsupportedOperation",
    ),
]

CRASHES: list[Known] = []

FOREIGN: list[Known] = []
