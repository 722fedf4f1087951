-- cjson for scripts, as Redis 7.0 ships it (lua-cjson 2.1 with Redis's
-- settings): encode and decode, cjson.null, the encode/decode settings and
-- new(). Written in Lua so a script's time limit covers it and a deep or
-- huge document raises a Lua error, never a crash.
--
-- Called by the sandbox with its private helpers; returns the module (read
-- only, as every library a script sees).
local helpers = ...
local next, readonly = helpers.next, helpers.readonly

local type, error, pcall, select, tostring, tonumber, rawget, setmetatable =
  type, error, pcall, select, tostring, tonumber, rawget, setmetatable
local sformat, sbyte, schar, sfind, sgsub, ssub, slower, smatch = string.format,
  string.byte, string.char, string.find, string.gsub, string.sub, string.lower,
  string.match
local concat, floor, huge = table.concat, math.floor, math.huge

local null = newproxy(false) -- a userdata, like Redis's (a NULL light userdata)

-- An error cjson raises: re-raised by the public function at the caller's line.
local Failure = {}
local function fail(message) error(setmetatable({message}, Failure), 0) end

local function public(name, fn)
  local function finish(ok, ...)
    if ok then return ... end
    local e = ...
    if getmetatable(e) == Failure then error(e[1], 3) end
    error(e, 0) -- not ours (the time limit): unchanged
  end
  return function(...)
    if select('#', ...) ~= 1 then
      error(sformat("bad argument #1 to '%s' (expected 1 argument)", name), 2)
    end
    return finish(pcall(fn, ...))
  end
end

local ESCAPES = {['"'] = '\\"', ['\\'] = '\\\\', ['/'] = '\\/', ['\b'] = '\\b',
  ['\f'] = '\\f', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}
for code = 0, 31 do
  local char = schar(code)
  ESCAPES[char] = ESCAPES[char] or sformat('\\u%04x', code)
end
ESCAPES['\127'] = '\\u007f'

local function quote(s) return '"' .. sgsub(s, '[%c"\\/\127]', ESCAPES) .. '"' end

local function new()
  local config = {
    sparse_convert = false, sparse_ratio = 2, sparse_safe = 10,
    encode_depth = 1000, decode_depth = 1000, precision = 14,
    encode_invalid = false, decode_invalid = true, keep_buffer = true,
  }

  -- encode ---------------------------------------------------------------------
  local function number(n)
    if n ~= n or n == huge or n == -huge then
      if config.encode_invalid == 'null' then return 'null' end
      if not config.encode_invalid then
        fail('Cannot serialise number: must not be NaN or Inf')
      end
    end
    return sformat('%.' .. config.precision .. 'g', n)
  end

  local encode_value

  -- An array's length, or nil for a table to encode as an object.
  local function array_length(t)
    local max, items = 0, 0
    for k in next, t do
      if type(k) ~= 'number' or k < 1 or floor(k) ~= k then return nil end
      if k > max then max = k end
      items = items + 1
    end
    if max > items * config.sparse_ratio and max > config.sparse_safe then
      if config.sparse_convert then return nil end
      fail('Cannot serialise table: excessively sparse array')
    end
    if max == 0 then return nil end
    return max
  end

  local function encode_table(t, out, depth)
    depth = depth + 1
    if depth > config.encode_depth then
      fail(sformat('Cannot serialise, excessive nesting (%d)', depth))
    end
    local length = array_length(t)
    if length then
      out[#out + 1] = '['
      for i = 1, length do
        if i > 1 then out[#out + 1] = ',' end
        encode_value(rawget(t, i), out, depth)
      end
      out[#out + 1] = ']'
      return
    end
    out[#out + 1] = '{'
    local first = true
    for k, v in next, t do
      if not first then out[#out + 1] = ',' end
      first = false
      local kind = type(k)
      if kind == 'string' then
        out[#out + 1] = quote(k)
      elseif kind == 'number' then
        out[#out + 1] = '"' .. number(k) .. '"'
      else
        fail(sformat('Cannot serialise %s: table key must be a number or string', kind))
      end
      out[#out + 1] = ':'
      encode_value(v, out, depth)
    end
    out[#out + 1] = '}'
  end

  encode_value = function(v, out, depth)
    local kind = type(v)
    if kind == 'string' then
      out[#out + 1] = quote(v)
    elseif kind == 'number' then
      out[#out + 1] = number(v)
    elseif kind == 'boolean' then
      out[#out + 1] = v and 'true' or 'false'
    elseif kind == 'nil' or v == null then
      out[#out + 1] = 'null'
    elseif kind == 'table' then
      encode_table(v, out, depth)
    else
      fail(sformat('Cannot serialise %s: type not supported', kind))
    end
  end

  local function encode(v)
    local out = {}
    encode_value(v, out, 0)
    return concat(out)
  end

  -- decode ---------------------------------------------------------------------
  local text, at -- the document and the (1-based) position being read

  local function found(what, token, where)
    fail(sformat('Expected %s but found %s at character %d', what, token, where))
  end

  local function skip_space()
    at = sfind(text, '[^ \t\n\r]', at) or #text + 1
  end

  -- The name cjson gives the token at `at`, for error messages.
  local SINGLE = {['{'] = 'T_OBJ_BEGIN', ['}'] = 'T_OBJ_END', ['['] = 'T_ARR_BEGIN',
    [']'] = 'T_ARR_END', [','] = 'T_COMMA', [':'] = 'T_COLON', ['"'] = 'T_STRING'}
  local function token_name()
    if at > #text then return 'T_END' end
    local c = ssub(text, at, at)
    if SINGLE[c] then return SINGLE[c] end
    if sfind(c, '[%-%+%d]') then return 'T_NUMBER' end
    if sfind(text, '^true', at) or sfind(text, '^false', at) then return 'T_BOOLEAN' end
    if sfind(text, '^null', at) then return 'T_NULL' end
    return 'invalid token'
  end

  local decode_value

  local UNESCAPE = {['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f',
    n = '\n', r = '\r', t = '\t'}

  local function utf8(code)
    if code < 0x80 then return schar(code) end
    if code < 0x800 then
      return schar(0xC0 + floor(code / 0x40), 0x80 + code % 0x40)
    end
    if code < 0x10000 then
      return schar(0xE0 + floor(code / 0x1000), 0x80 + floor(code / 0x40) % 0x40,
        0x80 + code % 0x40)
    end
    return schar(0xF0 + floor(code / 0x40000), 0x80 + floor(code / 0x1000) % 0x40,
      0x80 + floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
  end

  local function decode_string()
    local parts = {}
    local pos = at + 1
    while true do
      local stop = sfind(text, '["\\]', pos)
      if not stop then found('value', 'unexpected end of string', #text + 1) end
      parts[#parts + 1] = ssub(text, pos, stop - 1)
      if sbyte(text, stop) == 34 then -- the closing quote
        at = stop + 1
        return concat(parts)
      end
      local kind = ssub(text, stop + 1, stop + 1)
      if kind == 'u' then
        local code = tonumber(smatch(text, '^%x%x%x%x', stop + 2) or '', 16)
        local length = 6
        if code and code >= 0xD800 and code <= 0xDBFF then
          local low = smatch(text, '^\\u(%x%x%x%x)', stop + 6)
          low = low and tonumber(low, 16)
          if low and low >= 0xDC00 and low <= 0xDFFF then
            code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00)
            length = 12
          else
            code = nil
          end
        elseif code and code >= 0xDC00 and code <= 0xDFFF then
          code = nil
        end
        if not code then found('value', 'invalid unicode escape code', stop) end
        parts[#parts + 1] = utf8(code)
        pos = stop + length
      elseif UNESCAPE[kind] then
        parts[#parts + 1] = UNESCAPE[kind]
        pos = stop + 2
      else
        found('value', 'invalid escape code', stop)
      end
    end
  end

  local function decode_number()
    local start = at
    local run = smatch(text, '^[%w%.%+%-]+', at)
    local value = run and tonumber(run)
    if value == nil then found('value', 'invalid number', start) end
    if not config.decode_invalid and (sfind(run, '^[%+%-]?0%d') or sfind(run, '[xXnN]')
        or sfind(run, '^%+')) then
      found('value', 'invalid number', start)
    end
    at = at + #run
    return value
  end

  local function container(depth)
    depth = depth + 1
    if depth > config.decode_depth then
      fail(sformat('Found too many nested data structures (%d) at character %d',
        depth, at))
    end
    return depth
  end

  local function decode_array(depth)
    depth = container(depth)
    local result, n = {}, 0
    at = at + 1
    skip_space()
    if ssub(text, at, at) == ']' then
      at = at + 1
      return result
    end
    while true do
      n = n + 1
      result[n] = decode_value(depth)
      skip_space()
      local c = ssub(text, at, at)
      if c == ']' then
        at = at + 1
        return result
      end
      if c ~= ',' then found('comma or array end', token_name(), at) end
      at = at + 1
    end
  end

  local function decode_object(depth)
    depth = container(depth)
    local result = {}
    at = at + 1
    skip_space()
    if ssub(text, at, at) == '}' then
      at = at + 1
      return result
    end
    while true do
      skip_space()
      if ssub(text, at, at) ~= '"' then
        found('object key string', token_name(), at)
      end
      local key = decode_string()
      skip_space()
      if ssub(text, at, at) ~= ':' then found('colon', token_name(), at) end
      at = at + 1
      result[key] = decode_value(depth)
      skip_space()
      local c = ssub(text, at, at)
      if c == '}' then
        at = at + 1
        return result
      end
      if c ~= ',' then found('comma or object end', token_name(), at) end
      at = at + 1
    end
  end

  local KEYWORDS = {t = {'true', true}, f = {'false', false}, n = {'null', null}}

  decode_value = function(depth)
    skip_space()
    local c = ssub(text, at, at)
    if c == '{' then return decode_object(depth) end
    if c == '[' then return decode_array(depth) end
    if c == '"' then return decode_string() end
    local keyword = KEYWORDS[c]
    if keyword and ssub(text, at, at + #keyword[1] - 1) == keyword[1] then
      at = at + #keyword[1]
      return keyword[2]
    end
    local word = slower(ssub(text, at, at + 2))
    if sfind(c, '[%-%+%d]') or (config.decode_invalid and (word == 'inf' or word == 'nan')) then
      return decode_number()
    end
    found('value', token_name(), at)
  end

  local function decode(document)
    if type(document) == 'number' then document = tostring(document) end
    if type(document) ~= 'string' then
      error(sformat("bad argument #1 to 'decode' (string expected, got %s)",
        type(document)), 0)
    end
    if #document >= 2 and (sbyte(document, 1) == 0 or sbyte(document, 2) == 0) then
      fail('JSON parser does not support UTF-16 or UTF-32')
    end
    text, at = document, 1
    local ok, value = pcall(decode_value, 0)
    if ok then
      skip_space()
      if at <= #text then ok, value = pcall(found, 'the end', token_name(), at) end
    end
    text = nil
    if not ok then error(value, 0) end
    return value
  end

  -- settings ---------------------------------------------------------------------
  local function setting(name, check)
    return function(...)
      local value = ...
      if select('#', ...) > 0 and value ~= nil then config[name] = check(value) end
      return config[name]
    end
  end
  local function integer_in(low, high, what)
    return function(value)
      local n = tonumber(value)
      if not n or n < low or n > high or floor(n) ~= n then
        error(sformat("bad argument #1 to '%s' (expected integer between %d and %d)",
          what, low, high), 3)
      end
      return n
    end
  end
  local function boolean(value)
    return value == true or value == 1 or value == 'on'
  end

  local module = {
    _NAME = 'cjson', _VERSION = '2.1.0', null = null, new = new,
    encode = public('encode', encode), decode = public('decode', decode),
    encode_max_depth = setting('encode_depth', integer_in(1, 2147483647, 'encode_max_depth')),
    decode_max_depth = setting('decode_depth', integer_in(1, 2147483647, 'decode_max_depth')),
    encode_number_precision = setting('precision', integer_in(1, 14, 'encode_number_precision')),
    encode_keep_buffer = setting('keep_buffer', boolean),
    decode_invalid_numbers = setting('decode_invalid', boolean),
    encode_invalid_numbers = setting('encode_invalid', function(value)
      if value == 'null' then return 'null' end
      return boolean(value)
    end),
    encode_sparse_array = function(convert, ratio, safe)
      if convert ~= nil then config.sparse_convert = boolean(convert) end
      if ratio ~= nil then config.sparse_ratio = integer_in(0, 2147483647, 'encode_sparse_array')(ratio) end
      if safe ~= nil then config.sparse_safe = integer_in(0, 2147483647, 'encode_sparse_array')(safe) end
      return config.sparse_convert, config.sparse_ratio, config.sparse_safe
    end,
  }
  return readonly(module)
end

return new()
