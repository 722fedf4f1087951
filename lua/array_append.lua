-- Append values to an Array (a hash whose fields are the indexes 0..n-1).
-- KEYS[1] the array's hash
-- ARGV[1] '1' to remove every item first, '0' to keep them; ARGV[2..] the
-- values to append, in order
-- returns the new length
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[1])
end
local n = redis.call('HLEN', KEYS[1])
for i = 2, #ARGV do
  redis.call('HSET', KEYS[1], tostring(n + i - 2), ARGV[i])
end
return n + #ARGV - 1
