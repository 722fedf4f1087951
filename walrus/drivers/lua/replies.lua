-- How a run ends, for the sandbox: the message handler that finds where in
-- the user's code an error happened, and the RESP2 text of a script's result
-- or failure (parsed by walrus.drivers.lua.runtime), with Redis 7.0's
-- conversions and messages.
local helpers = ...
local SOURCE, MAX_DEPTH = helpers.source, helpers.max_depth

local type, tostring, rawget, next = type, tostring, rawget, next
local getinfo = debug.getinfo
local sformat, sgsub = string.format, string.gsub
local concat = table.concat

-- The message handler: where (in the user's code) the error happened.
local function handler(e)
  local message
  if type(e) == 'table' then
    message = rawget(e, 'err')
    if type(message) == 'number' then message = tostring(message) end
    if type(message) ~= 'string' then message = 'ERR unknown error' end
  else
    message = 'ERR ' .. tostring(e)
  end
  local level = 2
  while true do
    local info = getinfo(level, 'Sl')
    if not info then return {err = message} end
    if info.what ~= 'C' and info.what ~= 'tail' and info.source ~= SOURCE then
      return {err = message, source = info.source, line = info.currentline}
    end
    level = level + 1
  end
end

local INT_MIN = '-9223372036854775808'

local function integer(n)
  if n ~= n or n >= 9223372036854775807 or n < -9223372036854775808 then
    return INT_MIN
  end
  return sformat('%d', n)
end

local function one_line(text) return (sgsub(text, '[\r\n]', ' ')) end

local encode -- (value, out, depth): append value's RESP2 form to out

local function encode_array(t, out, depth)
  local at = #out + 1
  out[at] = false -- the header, once the length is known
  local n = 0
  while true do
    local item = rawget(t, n + 1)
    if item == nil then break end
    n = n + 1
    encode(item, out, depth + 1)
  end
  out[at] = '*' .. n .. '\r\n'
end

local function encode_pairs(t, out, depth, with_values)
  local at = #out + 1
  out[at] = false
  local n = 0
  for k, v in next, t do
    encode(k, out, depth + 1)
    n = n + 1
    if with_values then
      encode(v, out, depth + 1)
      n = n + 1
    end
  end
  out[at] = '*' .. n .. '\r\n'
end

encode = function(v, out, depth)
  local kind = type(v)
  if kind == 'string' then
    out[#out + 1] = '$' .. #v .. '\r\n' .. v .. '\r\n'
  elseif kind == 'number' then
    out[#out + 1] = ':' .. integer(v) .. '\r\n'
  elseif kind == 'boolean' then
    out[#out + 1] = v and ':1\r\n' or '$-1\r\n'
  elseif kind == 'table' then
    if depth > MAX_DEPTH then
      out[#out + 1] = '-ERR reached lua stack limit\r\n'
      return
    end
    local field = rawget(v, 'err')
    if type(field) == 'string' then
      out[#out + 1] = '-' .. one_line(field) .. '\r\n'
      return
    end
    field = rawget(v, 'ok')
    if type(field) == 'string' then
      out[#out + 1] = '+' .. one_line(field) .. '\r\n'
      return
    end
    field = rawget(v, 'double')
    if type(field) == 'number' then
      local text = sformat('%.17g', field)
      out[#out + 1] = '$' .. #text .. '\r\n' .. text .. '\r\n'
      return
    end
    field = rawget(v, 'big_number')
    if type(field) == 'string' then return encode(field, out, depth) end
    field = rawget(v, 'map')
    if type(field) == 'table' then return encode_pairs(field, out, depth, true) end
    field = rawget(v, 'set')
    if type(field) == 'table' then return encode_pairs(field, out, depth, false) end
    field = rawget(v, 'verbatim_string')
    if type(field) == 'table' and type(rawget(field, 'string')) == 'string' then
      return encode(rawget(field, 'string'), out, depth)
    end
    encode_array(v, out, depth)
  else
    out[#out + 1] = '$-1\r\n'
  end
end

local function reply(value)
  local out = {}
  encode(value, out, 0)
  return concat(out)
end

-- The reply for a script that failed: Redis's message, and where it failed.
local function failure(name, e)
  if type(e) ~= 'table' then -- out of memory, or an error in the handler
    return '-' .. one_line(sformat('ERR Error running script %s, %.100s',
      name, tostring(e))) .. '\r\n'
  end
  local message = e.err
  if e.source and e.line then
    message = sformat('%s script: %s, on %s:%s.', message, name, e.source, e.line)
  end
  return '-' .. one_line(message) .. '\r\n'
end

local function finish(name, ok, value)
  if ok then return reply(value) end
  return failure(name, value)
end

return {handler = handler, finish = finish}
