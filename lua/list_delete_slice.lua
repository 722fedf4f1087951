-- Delete the items of a Python slice from a list (del l[start:stop:step]).
-- KEYS[1] the list
-- ARGV[1] a marker value that no item holds, ARGV[2] start, ARGV[3] stop,
-- ARGV[4] step ('' for a bound or step that is None)
-- returns the number of items deleted
local key, marker = KEYS[1], ARGV[1]
local n = redis.call('LLEN', KEYS[1])
local step = 1
if ARGV[4] ~= '' then
  step = tonumber(ARGV[4])
end
local lower, upper = 0, n
if step < 0 then
  lower, upper = -1, n - 1
end
local function bound(text, default)
  if text == '' then
    return default
  end
  local b = tonumber(text)
  if b < 0 then
    b = math.max(b + n, lower)
  else
    b = math.min(b, upper)
  end
  return b
end
local start, stop
if step > 0 then
  start, stop = bound(ARGV[2], lower), bound(ARGV[3], upper)
else
  start, stop = bound(ARGV[2], upper), bound(ARGV[3], lower)
end
if step == 1 then
  if start >= stop then
    return 0
  end
  local tail = redis.call('LRANGE', key, tostring(stop), '-1')
  if start == 0 then
    redis.call('DEL', key)
  else
    redis.call('LTRIM', key, '0', tostring(start - 1))
  end
  for first = 1, #tail, 1000 do
    redis.call('RPUSH', key, unpack(tail, first, math.min(first + 999, #tail)))
  end
  return stop - start
end
local deleted = 0
local last = stop - 1
if step < 0 then
  last = stop + 1
end
for i = start, last, step do
  redis.call('LSET', key, tostring(i), marker)
  deleted = deleted + 1
end
if deleted > 0 then
  redis.call('LREM', key, '0', marker)
end
return deleted
