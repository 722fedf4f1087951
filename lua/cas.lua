-- Compare-and-set: replace a string value only if it starts with the expected one.
-- KEYS[1] the key
-- ARGV[1] the expected value (a prefix of the current one), ARGV[2] the new value,
-- ARGV[3] '1' to require the whole current value to equal ARGV[1] (optional)
-- returns 1 if the value matched and was replaced (keeping the key's TTL), 0 if not
-- (a missing key never matches; a key of another type is a WRONGTYPE error)
local current = redis.call('GET', KEYS[1])
if not current then
  return 0
end
local expected = ARGV[1]
if ARGV[3] == '1' then
  if current ~= expected then
    return 0
  end
elseif string.sub(current, 1, string.len(expected)) ~= expected then
  return 0
end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('SET', KEYS[1], ARGV[2])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], tostring(ttl))
end
return 1
