-- KEYS[1] lock key, KEYS[2] wake-up list, KEYS[3] fencing-token key
-- ARGV[1] owner token, ARGV[2] ms to add to the lock's ttl,
-- ARGV[3] grace in ms the fencing-token key outlives the lock
-- returns the lock's new PTTL in ms, or -2 if the token does not hold it
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -2
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  ttl = 0
end
ttl = ttl + tonumber(ARGV[2])
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
redis.call('PEXPIRE', KEYS[3], string.format('%d', ttl + tonumber(ARGV[3])))
return ttl
