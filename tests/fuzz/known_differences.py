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

from fuzz.known import ALL, EMULATION, RLITE, Known

__all__ = ["CRASHES", "DIFFERENCES", "FOREIGN"]

_UNKNOWN = r"unknown command '"
# The server refused an argument; the engine answered something else.
_SERVER_REFUSED = (
    r"^\(<ResponseError: '(value is (not an integer|out of range)|bit offset"
    r"|(in|de)crement would overflow)"
)

DIFFERENCES: list[Known] = [
    # -- every embedded engine (the shared core, emulation and Lua) -----------------
    Known(
        ALL,
        r"^SCAN .*TYPE nosuch",
        "SCAN TYPE with an unknown type name: Redis answers 'unknown type name', "
        "the engines an empty scan",
        replies=r"unknown type name",
    ),
    Known(
        ALL,
        r"^(XACK|XDEL) ",
        "XACK/XDEL with a malformed ID on a missing key or group: the server "
        "answers 0 before it parses the IDs; the engines refuse the ID",
        replies=r"Invalid stream ID",
    ),
    Known(
        ALL,
        r"^LINDEX ",
        "LINDEX with a non-integer index on a missing key: the server answers "
        "nil without parsing it; the engines refuse the index",
        replies=r"^\(None, <ResponseError: 'value is not an integer",
    ),
    Known(
        ALL,
        r"^(ZADD|ZINCRBY) ",
        "a score of -0 is written '0' (in replies and ZRANGE WITHSCORES); Redis "
        "writes '-0'",
        replies=r"^\(b'-0', b'0'\)|b'-0'",
    ),
    Known(
        ALL,
        r"^(HINCRBYFLOAT|INCRBYFLOAT) ",
        "an increment that makes NaN or Infinity: another message than Redis's "
        "('value is NaN or Infinity')",
        replies=r"increment would produce NaN or Infinity",
    ),
    Known(
        ALL,
        r"^LREM ",
        "LREM with a count of -9223372036854775808 is accepted; Redis refuses it "
        "(its range is -2**63+1 .. 2**63-1)",
        replies=r"value must between",
    ),
    Known(
        ALL,
        r"^BLMPOP ",
        "BLMPOP checks the timeout before COUNT; Redis refuses COUNT 0 first",
        replies=r"count should be greater than 0'>, <ResponseError: 'timeout",
    ),
    Known(
        ALL,
        r"^Z",
        "an empty score bound ('' or a bare '(') is 0 for Redis (strtod of an "
        "empty string); the engines refuse it",
        replies=r"^\([^<]*, <ResponseError: 'min or max is not a float",
    ),
    Known(
        ALL,
        r"^[A-Z]",
        "the type is checked before the arguments: WRONGTYPE where Redis refuses "
        "a malformed argument first (ZREMRANGEBYRANK, BITPOS, BITCOUNT, ZRANGE, "
        "ZRANGESTORE, HRANDFIELD ...)",
        replies=r"^\(<ResponseError: '(?!WRONGTYPE)[^>]*>, "
        r"<ResponseError: 'WRONGTYPE",
    ),
    Known(
        ALL,
        r"^(ZADD|ZINCRBY) ",
        "a score that overflows a double (1e309) is accepted (ZADD XX ... answers "
        "0); Redis refuses the whole command: 'value is not a valid float'",
        replies=r"^\(<ResponseError: 'value is not a valid float'>, [^<]",
    ),
    Known(
        ALL,
        r"^EVAL",
        "a blocking command from a script (redis.call('BLPOP', k, 0)) is "
        "refused; Redis runs it without blocking (nil)",
        replies=r"^\(None, <ResponseError: 'This Redis command is not allowed",
    ),
    Known(
        ALL,
        r"^LPOS ",
        "LPOS with a malformed COUNT/MAXLEN/RANK: Redis answers \"COUNT can't "
        "be negative\" (its one message for any bad COUNT), the engines 'not an "
        "integer'",
        replies=r"can't be negative|can't be zero",
    ),
    Known(
        ALL,
        r"^(ZUNIONSTORE|ZINTERSTORE|ZUNION|ZINTER) .*WEIGHTS",
        "a weight that overflows a double (1e309) is accepted; Redis: 'weight "
        "value is not a float'",
        replies=r"weight value is not a float'>, [^<]",
    ),
    # -- rlite ------------------------------------------------------------------------
    Known(
        RLITE,
        r"^ZINCRBY ",
        "ZINCRBY with an empty or non-numeric increment is taken as 0; Redis "
        "refuses it",
        replies=r"^\(<ResponseError: 'value is not a valid float'>, b'",
    ),
    Known(
        RLITE,
        r"^(RENAME|RENAMENX) ",
        "RENAME/RENAMENX of a missing key answers 'unknown retval 3' (and makes "
        "a transaction abort with EXECABORT); Redis: 'no such key'",
        replies=r"unknown retval 3|Transaction discarded|'no such key'>, 0\)",
    ),
    Known(
        RLITE,
        r"^(ZADD|ZINCRBY) ",
        "a denormal score (4.9e-324) is stored as garbage (-1.6e+293)",
        replies=r"e-324",
    ),
    Known(
        RLITE,
        r"^(PEXPIREAT|EXPIREAT|SET .*(EXAT|PXAT)) ",
        "an expiry time in the past (PEXPIREAT k 0, SET k v EXAT 1 NX) keeps "
        "the key; Redis deletes it at once",
        replies=r"^\(\[[^\]]*\], \[\(",
    ),
    Known(
        RLITE,
        r"^(ZPOPMIN|ZPOPMAX) ",
        "ZPOPMIN/ZPOPMAX with a non-integer count: 'not an integer'; Redis "
        "answers 'value is out of range, must be positive'",
        replies=r"must be positive'>, <ResponseError: 'value is not an integer",
    ),
    Known(
        RLITE,
        r"^SORT .*STORE",
        "SORT ... STORE of a key of the wrong type deletes the destination; Redis "
        "answers WRONGTYPE and leaves it",
    ),
    Known(
        RLITE,
        r"^(GETRANGE|SUBSTR) ",
        "GETRANGE/SUBSTR of a missing key answers nil without parsing the "
        "range; Redis answers '' (or refuses a malformed range)",
        replies=r"^\(b'', None\)$|^\(<ResponseError: 'value is not an integer.*None\)$",
    ),
    Known(
        RLITE,
        r"^[A-Z]",
        "a malformed integer argument is a 'syntax error'; Redis: 'value is not "
        "an integer or out of range'",
        replies=r"not an integer or out of range'>, <ResponseError: 'syntax error",
    ),
    Known(
        RLITE,
        r"^[A-Z]",
        "malformed or out-of-range integers are accepted (INCRBY/DECRBY "
        "overflow, GETBIT offsets, LIMIT/LTRIM/SUBSTR/ZRANGESTORE/count "
        "arguments); Redis refuses them",
        replies=_SERVER_REFUSED + r"[^>]*>, [^<]",
    ),
    Known(
        RLITE,
        r"^Z",
        "a malformed score or lex bound ('((1', '(nan', 'nan') is accepted; "
        "Redis refuses it",
        replies=r"^\(<ResponseError: 'min or max (is not a float|not valid string "
        r"range item)'>, [^<]",
    ),
    Known(
        RLITE,
        r"^LSET ",
        "LSET on a missing key: 'No such key' (capitalized), or the index "
        "checked first; Redis: 'no such key'",
        replies=r"'No such key'|'no such key'>, <ResponseError: 'value is not",
    ),
    Known(
        RLITE,
        r"^(SET|SETEX|PSETEX|GETEX|EXPIRE|PEXPIRE|EXPIREAT|PEXPIREAT) ",
        "an expire time Redis refuses (0, negative, overflowing) is accepted, or "
        "refused with another message (issue 15)",
        replies=r"invalid expire time",
    ),
    Known(
        RLITE,
        r"^Z(REV)?RANK .*WITHSCORE",
        "ZRANK/ZREVRANK WITHSCORE (Redis 7.2) is unknown to rlite",
        replies=r"wrong number of arguments",
    ),
]

CRASHES: list[Known] = [
    Known(
        RLITE,
        r"\bSORT(_RO)?\b(?!.*\bALPHA\b)",
        "a numeric SORT of a list or set holding an empty string kills the "
        "interpreter (SIGSEGV): RPUSH l ''; SORT l",
    ),
    Known(
        RLITE,
        r"\bSETRANGE \S* 5368709\d\d\b",
        "SETRANGE k 536870912 '' makes a 512 MB string (Redis answers 0, or "
        "'string exceeds maximum allowed size'); any later read of the key "
        "runs for minutes (a hang)",
    ),
    Known(
        ALL,
        r"^EVAL .*\b(SRANDMEMBER|ZRANDMEMBER|HRANDFIELD) \S+ -10000000 WITHSCORES",
        "a script whose redis.call returns 20 million items runs for minutes "
        "inside the Lua runtime's C code (no Python frame, so the 5 s script "
        "limit cannot stop it); the server answers in 4 s (a hang)",
    ),
    Known(
        ALL,
        r"\bLCS\b",
        "LCS builds its O(n*m) table in Python with no size cap: 3,000-byte "
        "strings take 6 s, 100 KB ones run for hours, where Redis refuses at once "
        "('Insufficient memory, transient memory for LCS exceeds "
        "proto-max-bulk-len') (a hang)",
    ),
]

FOREIGN: list[Known] = [
    Known(
        ALL,
        r"\b(SRANDMEMBER|ZRANDMEMBER|HRANDFIELD) \S* -9223372036854775808",
        "SRANDMEMBER/ZRANDMEMBER k -9223372036854775808 on an existing key raises "
        "OverflowError (Python int too large to convert to C ssize_t); Redis: "
        "'value is out of range'",
        replies=r"OverflowError",
    ),
    Known(
        EMULATION,
        r"\bSCAN\b.* TYPE$",
        "SCAN ... TYPE with no type name raises IndexError; Redis: syntax error",
        replies=r"IndexError",
    ),
]
