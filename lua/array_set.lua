-- Replace one item of an Array (negative indexes count from the end).
-- KEYS[1] the array's hash
-- ARGV[1] the index, ARGV[2] the new value
-- returns 1, or 0 when the index is out of range
local n = redis.call('HLEN', KEYS[1])
local i = tonumber(ARGV[1])
if i < 0 then
  i = i + n
end
if i < 0 or i >= n then
  return 0
end
redis.call('HSET', KEYS[1], tostring(i), ARGV[2])
return 1
