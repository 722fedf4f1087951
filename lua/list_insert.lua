-- Insert a value before an index of a list, as Python's list.insert does.
-- KEYS[1] the list
-- ARGV[1] the index (negative counts from the end; clamped to the list),
-- ARGV[2] the value, ARGV[3] a marker value that no item holds
-- returns the new length of the list
local n = redis.call('LLEN', KEYS[1])
local i = tonumber(ARGV[1])
if i < 0 then
  i = math.max(i + n, 0)
end
if i == 0 then
  return redis.call('LPUSH', KEYS[1], ARGV[2])
end
if i >= n then
  return redis.call('RPUSH', KEYS[1], ARGV[2])
end
local old = redis.call('LINDEX', KEYS[1], tostring(i))
redis.call('LSET', KEYS[1], tostring(i), ARGV[3])
redis.call('LINSERT', KEYS[1], 'BEFORE', ARGV[3], ARGV[2])
redis.call('LSET', KEYS[1], tostring(i + 1), old)
return n + 1
