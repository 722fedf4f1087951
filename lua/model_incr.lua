-- Add to a model row's number field and move its index entries, atomically.
-- KEYS[1] the row's hash (also the member stored in the indexes),
--   KEYS[2] the field's equality key prefix (the value is appended; never a
--   key itself), KEYS[3] the field's range index (optional)
-- ARGV[1] field, ARGV[2] amount, ARGV[3] "int" or "float",
--   ARGV[4] "1" when the field has an equality index, else "0"
-- returns the new stored value, or nil when the row does not exist
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local field = ARGV[1]
local old = redis.call('HGET', KEYS[1], field)
local new
if ARGV[3] == 'int' then
  redis.call('HINCRBY', KEYS[1], field, ARGV[2])
  new = redis.call('HGET', KEYS[1], field)
else
  local start = tonumber(old or '0')
  if start == nil then
    return redis.error_reply('ERR hash value is not a float')
  end
  local x = start + tonumber(ARGV[2])
  if x ~= x or x == math.huge or x == -math.huge then
    return redis.error_reply('ERR increment would produce NaN or Infinity')
  end
  new = string.format('%.17g', x)
  for digits = 1, 17 do
    local text = string.format('%.' .. digits .. 'g', x)
    if tonumber(text) == x then
      new = text
      break
    end
  end
  redis.call('HSET', KEYS[1], field, new)
end
if ARGV[4] == '1' then
  if old then
    redis.call('SREM', KEYS[2] .. old, KEYS[1])
  end
  redis.call('SADD', KEYS[2] .. new, KEYS[1])
end
if KEYS[3] then
  redis.call('ZADD', KEYS[3], new, KEYS[1])
end
return new
