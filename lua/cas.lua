-- Compare-and-set: replace a string value only if it is the expected one.
-- KEYS[1] the key
-- ARGV[1] the expected current value, ARGV[2] the new value
-- returns 1 if the value matched and was replaced (keeping the key's TTL), 0 if not
local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then
  return 0
end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('SET', KEYS[1], ARGV[2])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
