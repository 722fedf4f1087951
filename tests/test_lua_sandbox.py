"""Lua scripting on the embedded engines: the sandbox, crash triggers (each in a
child process), the time limit and atomicity. The semantics, compared with a
real server, are in test_lua_scripting.py (whose fixtures these tests use).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest
import redis
from test_lua_scripting import _plain, embedded_name, engine, pair

__all__ = ["embedded_name", "engine", "pair"]  # fixtures, used by name


# -- the sandbox ---------------------------------------------------------------
ESCAPES = [
    # no Python: lupa's module, and no Python object to reach through pcall
    "return rawget(_G, 'python')",
    "local ok, e = pcall(redis.call, {}) return type(e)",
    "local ok, e = pcall(struct.pack, 'i', {}) return type(e)",
    "local ok, e = pcall(bit.band, {}) return type(e)",
    "return type(getmetatable(redis.call))",
    "return type(getmetatable(cjson.null))",
    "return type(rawget(_G, 'debug'))",
    # the string metatable and the libraries stay as they were
    "pcall(function() getmetatable('').__index = {} end) return ('x'):upper()",
    "pcall(rawset, string, 'upper', function() return 'pwned' end)"
    " return ('x'):upper()",
    "pcall(table.insert, table, 1) return #table",
    "pcall(setmetatable, string, {}) return string.upper('x')",
    "local mt = getmetatable('') pcall(rawset, mt, '__index', {}) return ('x'):upper()",
    "for k, v in pairs(redis) do pcall(function() redis[k] = nil end) end"
    " return type(redis.call)",
    "local f = loadstring('return _G') return f() == _G",
    "local f = loadstring('return rawget(_G, \"python\")') return f()",
    "local n = 0 local f = load(function() n = n + 1 if n == 1 then return "
    "'return debug' end end) return pcall(f)",
    "return coroutine.wrap(function() return rawget(_G, 'python') end)()",
    "return select('#', pcall(string.dump, redis.call))",
    "collectgarbage('stop') return collectgarbage('count') > 0",
]


@pytest.mark.parametrize("script", ESCAPES)
def test_sandbox_has_no_way_out(engine: Any, script: str) -> None:
    try:
        reply = engine.eval(script, 0)
    except redis.ResponseError:
        reply = None
    assert reply in (
        None,
        0,
        1,
        2,
        b"X",
        "X",
        b"table",
        "table",
        b"nil",
        "nil",
        b"string",
        "string",
        b"function",
        "function",
    )
    assert reply not in (b"userdata", "userdata", b"pwned", "pwned")
    # nothing a script did is visible to the next one
    assert engine.eval(
        "return {('x'):upper(), type(redis.call), #table,"
        " type(string.upper), type(rawget(_G, 'python'))}",
        0,
    ) in (
        [b"X", b"function", 0, b"function", b"nil"],
        ["X", "function", 0, "function", "nil"],
    )


def test_bytecode_is_never_loaded(engine: Any) -> None:
    script = """
    local dumped = string.dump(function() return 1 end)
    local a, e1 = loadstring(dumped)
    local n = 0
    local b, e2 = load(function() n = n + 1 if n == 1 then return dumped end end)
    return {tostring(a), e1, tostring(b), e2}
    """
    reply = _plain(engine.eval(script, 0))
    reply = [r.encode() if isinstance(r, str) else r for r in reply]
    assert reply[0] == b"nil" and b"unexpected symbol near 'char(27)'" in reply[1]
    assert reply[2] == b"nil" and b"unexpected symbol near 'char(27)'" in reply[3]


# -- crashes: each trigger runs in a child process -----------------------------
CRASH_TRIGGERS = [
    "return string.find(string.rep('a', 2000000), string.rep('a?', 1000000))",
    "return string.gsub(string.rep('a', 2000000), string.rep('a-', 1000000), '')",
    "return string.match(string.rep('a', 400000), string.rep('(a)', 100000))",
    "return ('x'):rep(1e15)",
    "return string.rep('', 1e15)",
    "local s = 'x' for i = 1, 40 do s = s .. s end return #s",
    "local t = {} for i = 1, 1e9 do t[i] = i end return #t",
    "local function f() return f() + 1 end return f()",
    "local function f() coroutine.wrap(f)() end f()",
    "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x",
    "return loadstring('return ' .. string.rep('(', 1e5) .. '1' .. string.rep(')',"
    " 1e5))",
    "return {struct.unpack('bc0', '\\255abc')}",
    "return {struct.unpack('i32', string.rep('\\255', 32))}",
    "return struct.pack('c2147483647', 'x')",
    "return {struct.unpack('c2147483647', 'x')}",
    "return struct.pack(string.rep('i', 1e6), 1)",
    "return bit.tohex(1, -2147483648)",
    "return bit.tohex(-2147483648, -2147483648)",
    "return cjson.decode(string.rep('[', 100000))",
    "return cjson.decode(string.rep('{\"a\":', 100000))",
    "local t = {} local c = t for i = 1, 100000 do c[1] = {} c = c[1] end"
    " return cjson.encode(t)",
    "return cmsgpack.unpack(string.rep('\\145', 1000000))",
    "local t = {} t[1] = t return t",
    "local t = {} local c = t for i = 1, 100000 do c[1] = {} c = c[1] end return t",
    "return string.format('%99999d', 1)",
    "return string.format(string.rep('%s', 100000), 1)",
    "return unpack({}, 1, 1e8)",
    "return select(2^31, 1)",
    "return table.concat({}, 'x', 1, 2^40)",
    "local co = coroutine.create(function() end) for i = 1, 100 do"
    " coroutine.resume(co) end return 1",
    "return redis.call('SET', 'k', string.rep('x', 10))",
    "return redis.call('SRANDMEMBER', 's', -10000000)",
    "redis.call('ZADD', 'hz', 1, 'a', 2, 'b')"
    " return redis.call('ZRANDMEMBER', 'hz', -10000000, 'WITHSCORES')",
    "return debug and debug.getupvalue(redis.call, 1)",
]

_CHILD = """
import sys
from walrus.drivers.memory import MemoryDatabase
from walrus.tusks.rlite import WalrusLite
for db in (MemoryDatabase(), WalrusLite(":memory:")):
    db._core.scripting.time_limit = 2
    for number, script in enumerate(sys.argv[1:]):
        print("running", number, flush=True)
        try:
            db.eval(script, 0)
        except Exception as exc:
            print(type(exc).__name__, str(exc)[:120], flush=True)
        assert db.eval("return redis.call('PING')", 0) in (b"PONG", "PONG")
print("survived", flush=True)
"""


def test_no_script_kills_the_interpreter() -> None:
    """Every trigger in one child (one interpreter start): a death names the
    script that was running."""
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHILD), *CRASH_TRIGGERS],
        capture_output=True,
        text=True,
        timeout=600,
    )
    started = [line for line in child.stdout.splitlines() if line.startswith("running")]
    last = CRASH_TRIGGERS[int(started[-1].split()[1])] if started else None
    assert child.returncode == 0, (child.returncode, last, child.stderr[-2000:])
    assert "survived" in child.stdout


def test_a_script_receives_a_bounded_reply(engine: Any) -> None:
    """lupa converts a reply in C, where the time limit cannot stop it: a
    reply of more than MAX_CALL_REPLY items is an error for the script."""
    engine.zadd("z", {"a": 1, "b": 2})
    script = "return redis.pcall('ZRANDMEMBER', 'z', -%d, 'WITHSCORES')"
    assert len(engine.eval(script % 1000, 0)) == 2000
    caught = engine.eval(
        "local r = " + (script % 600_000)[len("return ") :] + " return r.err", 0
    )
    message = caught.decode() if isinstance(caught, bytes) else caught
    assert message == (
        "ERR the reply is too large for a script on an embedded engine (more than "
        "1000000 items)"
    )


# -- the time limit ------------------------------------------------------------
LOOPS = [
    "while true do end",
    "while true do pcall(function() while true do end end) end",
    "local co = coroutine.wrap(function() while true do end end) co()",
    "while true do redis.call('INCR', 'counter') end",
    "local t = {} while true do t[#t % 10 + 1] = redis.pcall('GET', 'x') end",
    "while true do local ok = pcall(cjson.decode, '[1, 2, 3]') end",
]


@pytest.mark.parametrize("script", LOOPS)
def test_time_limit_stops_a_script(engine: Any, script: str) -> None:
    engine._core.scripting.time_limit = 0.2
    started = time.monotonic()
    with pytest.raises(redis.ResponseError, match="script time limit") as stopped:
        engine.eval(script, 0)
    assert time.monotonic() - started < 30  # a generous bound: stopped, not hung
    if "INCR" in script:
        assert "writes it made before were kept" in str(stopped.value)
        assert int(engine.get("counter")) > 0  # kept: Redis never rolls back
    else:
        assert "written nothing" in str(stopped.value)
    assert engine.eval("return redis.call('SET', 'after', 'ok')", 0) in (b"OK", "OK")
    assert engine.eval("local n = 0 for i = 1, 1000 do n = n + i end return n", 0) == (
        500500
    )


def test_time_limit_counts_instructions_not_calls(engine: Any) -> None:
    """A long but finite script is not stopped under the limit."""
    engine._core.scripting.time_limit = 30
    assert engine.eval("local n = 0 for i = 1, 3e6 do n = n + 1 end return n", 0) == (
        3_000_000
    )


# -- atomicity -----------------------------------------------------------------
def test_scripts_are_atomic_among_threads(engine: Any) -> None:
    """Read-modify-write in a script never loses an update to another thread."""
    script = engine.register_script(
        "local v = tonumber(redis.call('GET', KEYS[1]) or '0')"
        " for i = 1, 200 do local x = i * i end"
        " redis.call('SET', KEYS[1], v + 1) return v + 1"
    )
    script(keys=["n"])  # loaded once: the threads run EVALSHA

    def work() -> None:
        for _ in range(100):
            script(keys=["n"])
            engine.incr("direct")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert int(engine.get("n")) == 401
    assert int(engine.get("direct")) == 400


def test_script_writes_break_a_watch(engine: Any) -> None:
    with engine.pipeline() as pipe:
        pipe.watch("w")
        engine.eval("redis.call('SET', 'w', 1)", 0)
        pipe.multi()
        pipe.set("w", 2)
        with pytest.raises(redis.WatchError):
            pipe.execute()


def test_interrupt_stops_the_script_and_is_raised(engine: Any) -> None:
    """A KeyboardInterrupt inside a script's Python callback stops the script
    (a script cannot catch it) and reaches the caller."""

    class Interrupting(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise KeyboardInterrupt

    logger = logging.getLogger("walrus.lua")
    handler = Interrupting()
    logger.addHandler(handler)
    engine._core.scripting.time_limit = 60
    try:
        with pytest.raises(KeyboardInterrupt):
            engine.eval("pcall(redis.log, redis.LOG_WARNING, 'x') while true do end", 0)
    finally:
        logger.removeHandler(handler)
    assert engine.eval("return 1", 0) == 1
