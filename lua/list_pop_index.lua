-- Remove the item at one index of a list (Python indexing: negative counts from the end).
-- KEYS[1] the list
-- ARGV[1] the index, ARGV[2] a marker value that no item holds
-- returns the removed item, or nil when the index is out of range
local n = redis.call('LLEN', KEYS[1])
local i = tonumber(ARGV[1])
if i < 0 then
  i = i + n
end
if i < 0 or i >= n then
  return false
end
local value = redis.call('LINDEX', KEYS[1], tostring(i))
if i == 0 then
  redis.call('LPOP', KEYS[1])
elseif i == n - 1 then
  redis.call('RPOP', KEYS[1])
else
  redis.call('LSET', KEYS[1], tostring(i), ARGV[2])
  redis.call('LREM', KEYS[1], '1', ARGV[2])
end
return value
