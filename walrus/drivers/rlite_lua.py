"""Lua on rlite, made safe: EVAL, EVALSHA and SCRIPT through a trampoline.

rlite runs Lua, with three landmines (engines.md §2.4): a returned table of
more than four elements corrupts the heap, several Lua numbers in one
``redis.call`` overwrite each other, and a ``redis.call`` of a command that
crashes rlite natively (the ZRANGE family on a key of another type, SORT with
GET and STORE, KEYS with a pattern, INCR and DECR on an empty string) kills
the process from inside the script.
So every script runs wrapped:

* the user's script becomes the body of a function whose result is packed
  into one string (``pack``), which Python unpacks into the reply the script
  would have given; a single bulk string is always safe to return;
* ``redis.call`` and ``redis.pcall`` are replaced, once per handle, by guards
  that turn numbers into strings as Redis does (``%.17g``) and refuse the
  crashing forms with an error, which the script sees as Redis's would be.

Scripts keep their Redis SHA1 (of the user's text): the driver maps it to the
wrapped script it loaded. SCRIPT FLUSH only forgets that map: rlite's own
SCRIPT FLUSH makes the next script run crash the process.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from walrus.drivers.embedded import Command, ErrorReply, Reply

__all__ = ["LUA_COMMANDS", "LuaScripts", "unpack"]

LUA_COMMANDS = frozenset({b"EVAL", b"EVALSHA", b"EVAL_RO", b"EVALSHA_RO", b"SCRIPT"})

_GUARDS = r"""
if not rawget(redis, 'walrus_guarded') then
  local raw_call, raw_pcall = redis.call, redis.pcall
  -- command = {type its keys must have, first key, last key (nil: all after)}
  local typed = {ZRANGE={'zset', 2, 2}, ZREVRANGE={'zset', 2, 2},
                 ZRANGEBYSCORE={'zset', 2, 2}, ZREVRANGEBYSCORE={'zset', 2, 2},
                 ZRANGEBYLEX={'zset', 2, 2}, ZREVRANGEBYLEX={'zset', 2, 2},
                 ZSCAN={'zset', 2, 2}, SINTER={'set', 2}, SUNION={'set', 2},
                 SDIFF={'set', 2}, SINTERSTORE={'set', 3}, SUNIONSTORE={'set', 3},
                 SDIFFSTORE={'set', 3}}
  local increments = {INCR=1, DECR=1, INCRBY=1, DECRBY=1, INCRBYFLOAT=1}
  local refused = {EVAL=1, EVALSHA=1, SCRIPT=1, MULTI=1, EXEC=1, WATCH=1,
                   SUBSCRIBE=1, PSUBSCRIBE=1, SELECT=1, DEBUG=1, SHUTDOWN=1}
  local function check(args, count)
    if count == 0 then
      return 'ERR Please specify at least one argument for this redis lib call'
    end
    for i = 1, count do
      if type(args[i]) ~= 'string' then
        return 'ERR Lua redis lib command arguments must be strings or integers'
      end
    end
    local name = string.upper(args[1])
    if refused[name] then
      return 'ERR ' .. name .. ' is not allowed in a script on rlite'
    end
    local rule = typed[name]
    if rule then
      for i = rule[2], math.min(rule[3] or count, count) do
        local kind = raw_call('TYPE', args[i])
        if type(kind) == 'table' then kind = kind.ok end
        if kind ~= rule[1] and kind ~= 'none' then
          return 'WRONGTYPE Operation against a key holding the wrong kind of value'
        end
      end
    end
    if increments[name] and args[2] then
      local ok, value = pcall(raw_call, 'GET', args[2])
      if ok and value == '' then
        return 'ERR value is not an integer or out of range'
      end
    end
    if name == 'KEYS' and args[2] ~= '*' then
      return 'ERR KEYS with a pattern is not available in a script on rlite'
    end
    if name == 'SORT' then
      local get, store = false, false
      for i = 2, #args do
        local word = string.upper(tostring(args[i]))
        if word == 'GET' then get = true elseif word == 'STORE' then store = true end
      end
      if get and store then
        return 'ERR SORT with GET and STORE is not available in a script on rlite'
      end
    end
    return nil
  end
  local function prepare(...)
    local args, count = {...}, select('#', ...)
    for i = 1, count do
      if type(args[i]) == 'number' then args[i] = string.format('%.17g', args[i]) end
    end
    return args, count
  end
  redis.call = function(...)
    local args, count = prepare(...)
    local refusal = check(args, count)
    if refusal then error(refusal) end
    return raw_call(unpack(args, 1, count))
  end
  redis.pcall = function(...)
    local args, count = prepare(...)
    local refusal = check(args, count)
    if refusal then return {err = refusal} end
    return raw_pcall(unpack(args, 1, count))
  end
  redis.walrus_guarded = true
end
local function pack(value)
  local kind = type(value)
  if kind == 'string' then
    return 's' .. #value .. ':' .. value
  elseif kind == 'number' then
    local whole = value >= 0 and math.floor(value) or math.ceil(value)
    return 'i' .. string.format('%.0f', whole) .. ';'
  elseif kind == 'boolean' then
    return value and 'i1;' or 'n'
  elseif kind == 'table' then
    if type(value.err) == 'string' then return 'e' .. #value.err .. ':' .. value.err end
    if type(value.ok) == 'string' then return 's' .. #value.ok .. ':' .. value.ok end
    local parts, count = {}, 0
    while value[count + 1] ~= nil do
      count = count + 1
      parts[count] = pack(value[count])
    end
    return 'a' .. count .. ':' .. table.concat(parts)
  end
  return 'n'
end
"""


def wrap(script: bytes) -> bytes:
    """The script as rlite runs it: guarded calls, one packed string returned."""
    return (
        _GUARDS.encode()
        + b"local function walrus_body()\n"
        + script
        + b"\nend\nreturn pack((walrus_body()))\n"
    )


def unpack(packed: bytes) -> Reply:
    """The reply a packed script result stands for."""
    value, end = _unpack(packed, 0)
    if end != len(packed):
        return ErrorReply("ERR malformed script reply")
    return value


def _unpack(data: bytes, at: int) -> tuple[Reply, int]:
    kind = data[at : at + 1]
    if kind == b"n":
        return None, at + 1
    if kind == b"i":
        end = data.index(b";", at)
        return int(data[at + 1 : end]), end + 1
    colon = data.index(b":", at)
    size = int(data[at + 1 : colon])
    if kind == b"a":
        items: list[Reply] = []
        at = colon + 1
        for _ in range(size):
            item, at = _unpack(data, at)
            items.append(item)
        return items, at
    payload = data[colon + 1 : colon + 1 + size]
    end = colon + 1 + size
    if kind == b"e":
        return ErrorReply(payload.decode("utf-8", "replace")), end
    return payload, end


class RawEngine(Protocol):
    def raw(self, args: Command) -> Reply: ...


class LuaScripts:
    """EVAL/EVALSHA/SCRIPT for one rlite handle, through the trampoline."""

    def __init__(self) -> None:
        self._wrapped: dict[bytes, bytes] = {}  # user sha1 -> wrapped sha1

    def execute(self, engine: RawEngine, args: Command) -> Reply:
        name = args[0].upper()
        if name in (b"EVAL", b"EVAL_RO"):
            if len(args) < 3:
                return ErrorReply("ERR wrong number of arguments for 'eval' command")
            sha = self._load(engine, args[1])
            if isinstance(sha, ErrorReply):
                return sha
            return self._run(engine, [b"EVALSHA", self._wrapped[sha], *args[2:]])
        if name in (b"EVALSHA", b"EVALSHA_RO"):
            if len(args) < 3:
                return ErrorReply("ERR wrong number of arguments for 'evalsha' command")
            wrapped = self._wrapped.get(args[1].lower())
            if wrapped is None:
                return ErrorReply("NOSCRIPT No matching script. Please use EVAL.")
            return self._run(engine, [b"EVALSHA", wrapped, *args[2:]])
        if name == b"SCRIPT" and len(args) >= 2:
            return self._script(engine, args[1].upper(), args[2:])
        return ErrorReply(f"ERR unknown command '{name.decode(errors='replace')}'")

    def _load(self, engine: RawEngine, script: bytes) -> Reply:
        sha = hashlib.sha1(script).hexdigest().encode()
        if sha not in self._wrapped:
            loaded = engine.raw([b"SCRIPT", b"LOAD", wrap(script)])
            if isinstance(loaded, ErrorReply):
                return loaded
            self._wrapped[sha] = loaded
        return sha

    def _run(self, engine: RawEngine, args: Command) -> Reply:
        reply = engine.raw(args)
        return unpack(reply) if isinstance(reply, bytes) else reply

    def _script(self, engine: RawEngine, sub: bytes, rest: Command) -> Reply:
        if sub == b"LOAD" and len(rest) == 1:
            return self._load(engine, rest[0])
        if sub == b"EXISTS":
            return [int(sha.lower() in self._wrapped) for sha in rest]
        if sub == b"FLUSH":
            # rlite's own SCRIPT FLUSH crashes it natively: before any EVAL
            # (engines.md §2.2), and at the next script run after it (found
            # here). Forgetting the scripts is enough: EVALSHA answers NOSCRIPT.
            self._wrapped.clear()
            return b"OK"
        return ErrorReply("ERR unknown or unsupported SCRIPT subcommand")
