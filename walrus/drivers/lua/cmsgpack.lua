-- cmsgpack for scripts, as Redis 7.0 ships it: pack(...), unpack(s),
-- unpack_one(s [, offset]) and unpack_limit(s, limit [, offset]). Written in
-- Lua (floats through a private Python helper) so the time limit covers it
-- and bad input raises a Lua error, never a crash.
local helpers = ...
local next, readonly = helpers.next, helpers.readonly
local float_bytes, read_float = helpers.float_bytes, helpers.read_float

local type, error, pcall, select, tonumber, rawget, setmetatable, unpack =
  type, error, pcall, select, tonumber, rawget, setmetatable, unpack
local sformat, sbyte, schar, ssub = string.format, string.byte, string.char,
  string.sub
local concat, floor, huge = table.concat, math.floor, math.huge

local MAX_NESTING = 16 -- deeper tables are packed as nil, as Redis does
local MAX_DECODE_DEPTH = 1000

local Failure = {}
local function fail(message) error(setmetatable({message}, Failure), 0) end

local function finish(ok, ...)
  if ok then return ... end
  local e = ...
  if getmetatable(e) == Failure then error(e[1], 3) end
  error(e, 0)
end

-- Big-endian bytes of a non-negative integer below 2^64.
local function be(n, size)
  local bytes = {}
  for i = size, 1, -1 do
    bytes[i] = n % 256
    n = floor(n / 256)
  end
  return schar(unpack(bytes))
end

-- The 8 bytes of a negative integer in two's complement, exactly (2^64 + n
-- is not exact in a double): the bytes of -n, inverted, plus one.
local function negative64(n)
  local bytes, m, carry = {}, -n, 1
  for i = 8, 1, -1 do
    local b = 255 - m % 256 + carry
    carry = b > 255 and 1 or 0
    bytes[i] = b % 256
    m = floor(m / 256)
  end
  return schar(unpack(bytes))
end

local function pack_integer(n)
  if n >= 0 then
    if n < 128 then return schar(n) end
    if n < 256 then return '\204' .. schar(n) end
    if n < 65536 then return '\205' .. be(n, 2) end
    if n < 4294967296 then return '\206' .. be(n, 4) end
    return '\207' .. be(n, 8)
  end
  if n >= -32 then return schar(256 + n) end
  if n >= -128 then return '\208' .. schar(256 + n) end
  if n >= -32768 then return '\209' .. be(65536 + n, 2) end
  if n >= -2147483648 then return '\210' .. be(4294967296 + n, 4) end
  return '\211' .. negative64(n)
end

local function is_int64(n)
  return n == n and n ~= huge and n ~= -huge and floor(n) == n
    and n >= -9223372036854775808 and n < 9223372036854775808
end

local pack_value

local function array_length(t)
  local count, max = 0, 0
  for k in next, t do
    if type(k) ~= 'number' or k < 1 or floor(k) ~= k then return nil end
    if k > max then max = k end
    count = count + 1
  end
  if count ~= max then return nil end
  return max
end

local function pack_table(t, out, level)
  local length = array_length(t)
  if length then
    if length < 16 then
      out[#out + 1] = schar(0x90 + length)
    elseif length < 65536 then
      out[#out + 1] = '\220' .. be(length, 2)
    else
      out[#out + 1] = '\221' .. be(length, 4)
    end
    for i = 1, length do pack_value(rawget(t, i), out, level + 1) end
    return
  end
  local count = 0
  for _ in next, t do count = count + 1 end
  if count < 16 then
    out[#out + 1] = schar(0x80 + count)
  elseif count < 65536 then
    out[#out + 1] = '\222' .. be(count, 2)
  else
    out[#out + 1] = '\223' .. be(count, 4)
  end
  for k, v in next, t do
    pack_value(k, out, level + 1)
    pack_value(v, out, level + 1)
  end
end

pack_value = function(v, out, level)
  local kind = type(v)
  if kind == 'string' then
    local n = #v
    if n < 32 then
      out[#out + 1] = schar(0xa0 + n)
    elseif n < 256 then
      out[#out + 1] = '\217' .. schar(n)
    elseif n < 65536 then
      out[#out + 1] = '\218' .. be(n, 2)
    else
      out[#out + 1] = '\219' .. be(n, 4)
    end
    out[#out + 1] = v
  elseif kind == 'number' then
    if is_int64(v) then
      out[#out + 1] = pack_integer(v)
    else
      out[#out + 1] = float_bytes(v)
    end
  elseif kind == 'boolean' then
    out[#out + 1] = v and '\195' or '\194'
  elseif kind == 'table' and level < MAX_NESTING then
    pack_table(v, out, level)
  else
    out[#out + 1] = '\192'
  end
end

local function pack(...)
  local count = select('#', ...)
  if count == 0 then
    error("bad argument #0 to 'pack' (MessagePack pack needs input.)", 2)
  end
  local out = {}
  for i = 1, count do pack_value((select(i, ...)), out, 0) end
  return concat(out)
end

-- unpack -------------------------------------------------------------------------
local data, pos -- the input and the (1-based) position of the next byte

local function take(n)
  if pos + n - 1 > #data then fail('Missing bytes in input.') end
  local s = ssub(data, pos, pos + n - 1)
  pos = pos + n
  return s
end

local function unsigned(n)
  local s = take(n)
  local value = 0
  for i = 1, n do value = value * 256 + sbyte(s, i) end
  return value
end

local function signed(n)
  if n == 8 then -- two halves, so that a negative value is exact
    local high, low = unsigned(4), unsigned(4)
    if high < 2147483648 then return high * 4294967296 + low end
    return -((4294967295 - high) * 4294967296 + (4294967295 - low) + 1)
  end
  local value = unsigned(n)
  local limit = 2 ^ (8 * n - 1)
  if value >= limit then value = value - 2 * limit end
  return value
end

local decode_value

local function decode_array(n, depth)
  local t = {}
  for i = 1, n do t[i] = decode_value(depth + 1) end
  return t
end

local function decode_map(n, depth)
  local t = {}
  for _ = 1, n do
    local k = decode_value(depth + 1)
    local v = decode_value(depth + 1)
    if k ~= nil then t[k] = v end
  end
  return t
end

decode_value = function(depth)
  if depth > MAX_DECODE_DEPTH then fail('Bad data format in input.') end
  local b = sbyte(take(1))
  if b < 0x80 then return b end
  if b >= 0xe0 then return b - 256 end
  if b < 0x90 then return decode_map(b - 0x80, depth) end
  if b < 0xa0 then return decode_array(b - 0x90, depth) end
  if b < 0xc0 then return take(b - 0xa0) end
  if b == 0xc0 then return nil end
  if b == 0xc2 then return false end
  if b == 0xc3 then return true end
  if b == 0xca or b == 0xcb then
    local size = b == 0xca and 4 or 8
    return read_float(take(size), size)
  end
  if b == 0xcc then return unsigned(1) end
  if b == 0xcd then return unsigned(2) end
  if b == 0xce then return unsigned(4) end
  if b == 0xcf then return signed(8) end -- Redis reads it as a signed value
  if b == 0xd0 then return signed(1) end
  if b == 0xd1 then return signed(2) end
  if b == 0xd2 then return signed(4) end
  if b == 0xd3 then return signed(8) end
  if b == 0xd9 then return take(unsigned(1)) end
  if b == 0xda then return take(unsigned(2)) end
  if b == 0xdb then return take(unsigned(4)) end
  if b == 0xdc then return decode_array(unsigned(2), depth) end
  if b == 0xdd then return decode_array(unsigned(4), depth) end
  if b == 0xde then return decode_map(unsigned(2), depth) end
  if b == 0xdf then return decode_map(unsigned(4), depth) end
  fail('Bad data format in input.')
end

local function check_input(s, name)
  if type(s) == 'number' then return tostring(s) end
  if type(s) ~= 'string' then
    fail(sformat("bad argument #1 to '%s' (string expected, got %s)", name, type(s)))
  end
  return s
end

-- Decode up to `limit` objects (0: all) from the 0-based `offset`; returns
-- the next offset (-1 at the end) and the objects.
local function decode_some(s, limit, offset)
  data, pos = s, offset + 1
  local values, n = {}, 0
  while pos <= #data and (limit == 0 or n < limit) do
    n = n + 1
    values[n] = decode_value(0)
  end
  local next_offset = pos <= #data and pos - 1 or -1
  data = nil
  return next_offset, values, n
end

local function unpack_all(s)
  local _, values, n = decode_some(check_input(s, 'unpack'), 0, 0)
  return unpack(values, 1, n)
end

local function offset_of(value, name, position)
  if value == nil then return 0 end
  local n = tonumber(value)
  if not n then
    fail(sformat("bad argument #%d to '%s' (number expected, got %s)", position, name,
      type(value)))
  end
  if n < 0 then fail(sformat("bad argument #%d to '%s' (offset must be non-negative)",
    position, name)) end
  return floor(n)
end

local function unpack_limited(s, limit, offset)
  local next_offset, values, n = decode_some(s, limit, offset)
  return next_offset, unpack(values, 1, n)
end

local function unpack_one(s, offset)
  s = check_input(s, 'unpack_one')
  return unpack_limited(s, 1, offset_of(offset, 'unpack_one', 2))
end

local function unpack_limit(s, limit, offset)
  s = check_input(s, 'unpack_limit')
  local n = tonumber(limit)
  if not n then
    fail(sformat("bad argument #2 to 'unpack_limit' (number expected, got %s)", type(limit)))
  end
  return unpack_limited(s, floor(n), offset_of(offset, 'unpack_limit', 3))
end

local function protected(fn)
  return function(...) return finish(pcall(fn, ...)) end
end

return readonly({
  _NAME = 'cmsgpack', _VERSION = 'lua-cmsgpack 0.4.0',
  pack = pack,
  unpack = protected(unpack_all),
  unpack_one = protected(unpack_one),
  unpack_limit = protected(unpack_limit),
})
