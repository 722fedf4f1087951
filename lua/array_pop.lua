-- Remove one item of an Array, moving the later items down by one.
-- KEYS[1] the array's hash
-- ARGV[1] the index (negative counts from the end; '' for the last item)
-- returns the removed item, or nil when the index is out of range
local n = redis.call('HLEN', KEYS[1])
local i = n - 1
if ARGV[1] ~= '' then
  i = tonumber(ARGV[1])
end
if i < 0 then
  i = i + n
end
if i < 0 or i >= n then
  return false
end
local value = redis.call('HGET', KEYS[1], tostring(i))
for j = i + 1, n - 1 do
  redis.call('HSET', KEYS[1], tostring(j - 1), redis.call('HGET', KEYS[1], tostring(j)))
end
redis.call('HDEL', KEYS[1], tostring(n - 1))
return value
