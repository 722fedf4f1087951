-- Read one item of an Array (negative indexes count from the end).
-- KEYS[1] the array's hash
-- ARGV[1] the index
-- returns the item, or nil when the index is out of range
local n = redis.call('HLEN', KEYS[1])
local i = tonumber(ARGV[1])
if i < 0 then
  i = i + n
end
if i < 0 or i >= n then
  return false
end
return redis.call('HGET', KEYS[1], tostring(i))
